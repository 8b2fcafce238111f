"""The application's side of the web face: what plays, and the station's counters.

:class:`PlayLog` follows the station's events (subscribe it to the event bus) and
keeps what is on air the way listeners heard it: the programme's tracks, a
presenter's titles while live (the hidden programme's tracks are not heard, so
not logged), nothing in dead air. Each play starts at the instant its first frame
was read (:class:`~radio.app.stamps.FrameStamps`). At start it is seeded from the
play history in SQLite, so a restart keeps the recent history.

:class:`AppWebView` implements :class:`radio.web.view.StationView` over the
application's parts, and :func:`open_web` starts the server (a bind failure is
one message to the admins; the station plays on without its web face).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from radio.app.controls import StationControls
from radio.audio.track import Track
from radio.bot.announcements import Announcer
from radio.bot.audio import SimulcastFeed
from radio.bot.client import RadioBot
from radio.bot.observe import room_reports
from radio.clock import Clock
from radio.config.web import WebModel
from radio.events import (
    DeadAir,
    Event,
    LiveEnded,
    LiveStarted,
    LiveTitle,
    TrackStarted,
)
from radio.grid.onair import OnAir
from radio.grid.week import calendar_html, monday_of
from radio.station import is_request
from radio.store import history as stored
from radio.store.db import Database
from radio.store.request_counts import requests_by_state
from radio.store.requests import RequestQueue
from radio.tasks import Supervisor
from radio.web.eventcounts import EventCounts
from radio.web.server import WebServer
from radio.web.view import (
    Counters,
    LiveOnAir,
    Play,
    RoomCounters,
    SenderProgress,
    Song,
    StationCard,
    Upcoming,
)
from radio.web.view import (
    OnAir as OnAirNow,
)

if TYPE_CHECKING:
    from radio.app.station_app import StationApp

logger = logging.getLogger(__name__)

HISTORY_KEPT = 20


def shortcode(name: str) -> str:
    """AzuraCast's kind of short code for a station name: lower case, runs of anything
    but letters and digits as one underscore ("Tiny FM" → "tiny_fm"); "radio" if empty."""
    code = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")[:64]
    return code or "radio"


def song_of(track: Track) -> Song:
    """A track as listeners see it."""
    return Song(key=track.location, title=track.title, artist=track.artist, album=track.album)


def live_song(presenter: str, title: str) -> Song:
    """A live title ("Artist - Title" as encoders send it) as a song; the presenter's
    name when the encoder sent none."""
    if not title:
        return Song(key=f"live:{presenter}", title=f"Live with {presenter}", artist=presenter)
    artist, sep, rest = title.partition(" - ")
    if sep and artist.strip() and rest.strip():
        return Song(key=f"live:{presenter}:{title}", title=rest.strip(), artist=artist.strip())
    return Song(key=f"live:{presenter}:{title}", title=title)


class PlayLog:
    """What is on air and what was before (see the module docstring). An EventSink;
    thread-safe. ``instant_of(frame)`` says when a frame was read (None if unknown:
    then ``clock`` says now)."""

    def __init__(
        self,
        instant_of: Callable[[int], datetime | None],
        clock: Clock,
        *,
        keep: int = HISTORY_KEPT,
    ) -> None:
        self._instant_of = instant_of
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Play | None = None
        self._history: deque[Play] = deque(maxlen=keep)  # newest first
        self._live: LiveOnAir | None = None
        self._early_title: tuple[str, str] | None = None

    def seed(self, plays: Sequence[stored.Play]) -> None:
        """Add stored plays (oldest first) to the history, before any event."""
        with self._lock:
            for play in plays:
                self._history.appendleft(
                    Play(
                        Song(play.location, play.title, play.artist),
                        started_at=play.played_at,
                        playlist=play.playlist,
                    )
                )

    def snapshot(self) -> tuple[Play | None, tuple[Play, ...], LiveOnAir | None]:
        """The current play, the history (newest first) and the live session."""
        with self._lock:
            return self._current, tuple(self._history), self._live

    def __call__(self, event: Event) -> None:
        """Follow one station event (an EventSink). Never raises."""
        try:
            with self._lock:
                self._apply(event)
        except Exception:
            logger.exception("the web's play log failed on %r", event)

    def _at(self, frame: int) -> datetime:
        return self._instant_of(frame) or self._clock.now()

    def _begin(self, play: Play | None) -> None:
        if self._current is not None:
            self._history.appendleft(self._current)
        self._current = play

    def _apply(self, event: Event) -> None:
        match event:
            case TrackStarted(track=track) if self._live is None:
                tags = track.tags
                self._begin(
                    Play(
                        song_of(track),
                        started_at=self._at(event.frame),
                        duration=track.duration,
                        playlist=tags.get("playlist", ""),
                        is_request=is_request(track),
                    )
                )
            case LiveStarted(presenter=presenter, show=show):
                if self._live is not None and self._live.presenter == presenter:
                    return  # a reconnect within the grace: the same session goes on
                title = ""
                if self._early_title is not None and self._early_title[0] == presenter:
                    title = self._early_title[1]
                self._early_title = None
                since = self._at(event.frame)
                self._live = LiveOnAir(presenter, since, show)
                self._begin(Play(live_song(presenter, title), since, streamer=presenter))
            case LiveTitle(presenter=presenter, title=title):
                live = self._live
                if live is None or live.presenter != presenter:
                    self._early_title = (presenter, title)
                elif self._current is None or self._current.song != live_song(presenter, title):
                    play = Play(live_song(presenter, title), self._at(event.frame))
                    self._begin(Play(play.song, play.started_at, streamer=presenter))
            case LiveEnded():
                self._live = None
                self._begin(None)
            case DeadAir():
                self._begin(None)


class AppWebView:
    """:class:`radio.web.view.StationView` over the application's parts. Call its
    methods on the event loop (the bot's caches are read)."""

    def __init__(
        self,
        *,
        onair: OnAir,
        web: WebModel,
        log: PlayLog,
        controls: StationControls,
        queue: RequestQueue,
        db: Database,
        bot: RadioBot,
        feed: SimulcastFeed,
        supervisor: Supervisor,
        announcer: Announcer,
    ) -> None:
        self._onair = onair
        self._web = web
        self._log = log
        self._controls = controls
        self._queue = queue
        self._db = db
        self._bot = bot
        self._feed = feed
        self._supervisor = supervisor
        self._announcer = announcer

    def card(self) -> StationCard:
        name = self._onair.name
        return StationCard(
            name=name,
            shortcode=self._web.shortcode or shortcode(name),
            timezone=self._onair.station.grid.tz.key,
            listen_url=self._web.public_stream_url,
        )

    def on_air(self) -> OnAirNow:
        current, history, live = self._log.snapshot()
        upcoming = None
        if live is None:
            track = self._controls.next_up()
            if track is not None:
                upcoming = Upcoming(
                    song_of(track),
                    duration=track.duration,
                    playlist=track.tags.get("playlist", ""),
                    is_request=is_request(track) or "request_id" in track.tags,
                )
        listeners = sum(report.listeners or 0 for report in room_reports(self._bot))
        sender = self._bot.broadcaster
        return OnAirNow(
            current=current,
            upcoming=upcoming,
            history=history,
            live=live,
            listeners=listeners,
            online=sender.begun and not sender.ended,
        )

    def calendar_html(self, now: datetime) -> str:
        grid = self._onair.station.grid
        monday = monday_of(now.astimezone(grid.tz).date())
        return calendar_html(grid, monday, title=self._onair.name)

    def sender(self, monotonic: float) -> SenderProgress:
        sender = self._bot.broadcaster
        stats = sender.stats()
        return SenderProgress(
            begun=sender.begun,
            ended=sender.ended,
            taken=stats.frames + stats.idle + stats.skipped,
            due=sender.due(monotonic),
            rooms=stats.rooms,
        )

    def counters(self) -> Counters:
        sent = self._bot.broadcaster.stats()
        feed = self._feed.stats()
        root = self._onair.root
        watcher = self._onair.watcher
        rooms = tuple(
            RoomCounters(
                guild=r.guild,
                room=r.room,
                state=r.state,
                on_air=r.on_air,
                joins=r.joins,
                last_close_code=r.last_close_code,
                frames_sent=r.frames_sent,
                listeners=r.listeners,
            )
            for r in room_reports(self._bot)
        )
        return Counters(
            frames_encoded=sent.frames,
            frames_late=sent.late,
            frames_skipped=sent.skipped,
            send_stalls=sent.stalls,
            send_intervals=sent.intervals,
            frames_no_room=sent.idle,
            packets=sent.packets,
            station_faults=feed.station_faults,
            dead_air_frames=root.dead_air_frames,
            dead_air=root.dead_air,
            rooms=rooms,
            requests_by_state=requests_by_state(self._db),
            requests_waiting=len(self._queue.pending()),
            grid_reloads=watcher.reloads,
            grid_rejected=watcher.rejected,
            grid_broken=watcher.broken is not None,
            task_failures=dict(self._supervisor.failures),
            task_restarts=dict(self._supervisor.restarts),
        )


async def open_web(server: WebServer, announcer: Announcer) -> bool:
    """Start ``server``; True when it listens. A refused address is logged and told
    once to the admins (the station plays on without its web face)."""
    try:
        await server.start()
    except OSError as exc:
        message = (
            f"The station's web page, /metrics and /healthz cannot listen on"
            f" {server.host}:{server.wanted_port} ({exc.strerror or exc}); they are off until a"
            " restart."
        )
        logger.error("%s", message)
        announcer.alert("web", message, admins=True)
        return False
    logger.info("web: http://%s:%d/ (now playing, /metrics, /healthz)", server.host, server.port)
    return True


def web_face(
    app: StationApp, *, clock: Clock, monotonic: Callable[[], float], port: int | None
) -> WebServer | None:
    """The web server of ``app`` per station.yaml's ``web:`` (``port`` overrides its port;
    0: any free port), or None when ``web.enabled`` is false. Subscribes the play log
    (seeded with the last day's plays) and the event counts to the app's events;
    nothing listens until :func:`open_web`."""
    station = app.onair.setup.files.station
    web = station.web if station is not None else WebModel()
    if not web.enabled:
        return None
    log = PlayLog(app.stamps.instant_of, clock)
    log.seed(app.history.since(clock.now() - timedelta(days=1))[-HISTORY_KEPT:])
    app.events.subscribe(log)
    counts = EventCounts()
    app.events.subscribe(counts)
    view = AppWebView(
        onair=app.onair,
        web=web,
        log=log,
        controls=app.controls,
        queue=app.queue,
        db=app.db,
        bot=app.bot,
        feed=app.feed,
        supervisor=app.supervisor,
        announcer=app.announcer,
    )
    return WebServer(
        view,
        counts,
        clock=clock,
        monotonic=monotonic,
        host=web.listen,
        port=web.port if port is None else port,
    )
