"""The composition root: one station on Discord, from its folder, data folder and config.

:class:`StationApp` builds, in dependency order: the SQLite database in the data
folder with the play history, the loudness cache and the request queue; the
station on air (:class:`~radio.grid.onair.OnAir`: grid, playlists, engine, an
APScheduler ``AsyncIOScheduler`` waking it at show boundaries, live reload);
the request player feeding the queue to the station; the shared simulcast feed
(one decode, one Opus encode for every room); the announcer; and the
:class:`~radio.bot.client.RadioBot` with the station's commands.

Wiring: station events → announcer (now playing, presence, topics, alerts) and
play history (the station records plays itself); an invalid grid edit → the
programmers' room; queued requests → the sequence on air (at the next track
boundary), marked finished when they end; the week's shows → Discord scheduled
events, re-mirrored when the grid changes and every hour.

Every long-running task (grid watch, recordings pruning, schedule mirror, and
through the same :class:`~radio.tasks.Supervisor` the bot's keepers and
announcements and the desk's grid relays) is restarted with backoff when it
raises, logged and counted (``diag``). The tasks that talk to Discord start once
the bot has logged in.

:meth:`StationApp.run` runs until its ``stop`` event is set or the bot fails,
then closes everything it opened. This is the only layer with the wall clock:
it is passed in (``clock`` and ``monotonic``), so tests can run the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from radio.app.catalogue import LiveCatalogue, request_check
from radio.app.controls import StationControls
from radio.app.offthread import DeferredHistory, ThreadedEventBus
from radio.app.outputs import StationOutputs
from radio.app.requests import NotifyingQueue, RequestPlayer
from radio.app.stage import StageTalkOver
from radio.app.stamps import FrameStamps
from radio.app.voices import primary_options, station_voices
from radio.app.webview import open_web, web_face
from radio.audio.loudness import LoudnessLevels
from radio.bot.announcements import Announcer, Rooms
from radio.bot.audio import SimulcastFeed
from radio.bot.client import Backoff, RadioBot
from radio.bot.commands import RadioCommands, Services
from radio.bot.config import DiscordConfig
from radio.bot.gridreport import diagnostic_line
from radio.bot.members import member_info
from radio.bot.schedule import desired_events
from radio.bot.settings_card import Deployment
from radio.clock import Clock
from radio.config.diagnostics import Diagnostic
from radio.errors import ConfigError
from radio.grid.live_slot import live_slots_near
from radio.grid.onair import OnAir
from radio.live.desk import DeskOptions, LiveDesk
from radio.live.ingest import IngestServer
from radio.live.policy import MemberInfo
from radio.live.proxied import TrustedProxies
from radio.outputs.recording import finalise_unfinished, prune
from radio.outputs.tap import RecordingTap
from radio.store.db import Database
from radio.store.live_sessions import LiveSessions
from radio.store.loudness import SQLiteLoudnessCache
from radio.store.presenters import PresenterCredentials
from radio.tasks import Supervisor, cancel_all

logger = logging.getLogger(__name__)

DATABASE_NAME = "radio.sqlite3"
FIRST_TRACK_TIMEOUT_S = 20.0
# Python's default GIL switch interval (5 ms) lets busy threads (decoder readers,
# the event loop) hold the player thread back for several ms at a track change;
# at 1 ms a 20 ms packet is never late by more than a few ms.
SWITCH_INTERVAL_S = 0.001


@dataclass(frozen=True)
class AppOptions:
    """Tunables of the application (defaults are the production values)."""

    request_quota: int = 3
    request_cooldown: timedelta = timedelta(seconds=30)
    watch_interval: float = 2.0  # seconds between checks of the station files
    mirror_interval: float = 3600.0  # seconds between scheduled-event mirrors
    normalize: bool = True  # measure loudness and level every track
    connect_timeout: float = 20.0
    poll_interval: float = 0.25
    backoff: Backoff = field(default_factory=Backoff)
    realtime_sender: bool = True  # the sender thread asks for SCHED_FIFO (RADIO_REALTIME_SENDER)
    live: bool = True  # open the presenters' mount (station.yaml's live.enabled must agree)
    live_port: int | None = None  # overrides station.yaml's live.port (0: any free port)
    web: bool = True  # serve the page, JSON, /metrics, /healthz (station.yaml's web.enabled too)
    web_port: int | None = None  # overrides station.yaml's web.port (0: any free port)
    prune_interval: float = 86400.0  # seconds between prunings of the recordings
    # At start the sender waits for the first room to be on air before it pulls
    # the programme (a kept request, the show's first track: heard from their
    # first frame), at most this long: a Discord that does not answer does not
    # hold the station's other outputs for more.
    first_room_hold: float = 10.0
    bot_options: dict[str, Any] = field(default_factory=dict)  # passed to discord.Client


def rooms_of(config: DiscordConfig) -> Rooms:
    """Where the announcer sends what, from the ``discord:`` section.

    A broadcast room (of every voice) is listed both as a stage and as a voice
    room: the client applies a topic only to a stage and a status only to a voice room.
    """
    guilds = config.guilds
    broadcast = tuple(room for voice in config.voice_plan() for room in voice.rooms.values())
    return Rooms(
        announcements=tuple(g.announcements for g in guilds if g.announcements is not None),
        stages=broadcast,
        voices=broadcast,
        programmers=tuple(g.programmers for g in guilds if g.programmers is not None),
        admins=tuple(room for g in guilds if (room := g.admin_room) is not None),
    )


class StationApp:
    """One station on Discord (see the module docstring).

    Must be made inside the running event loop (the scheduler, the bot and the
    request wake-up bind to it). Raises ConfigError when the station folder has errors and
    StoreError when the database cannot be opened; nothing is left open then.
    """

    def __init__(
        self,
        station_dir: Path,
        data_dir: Path,
        config: DiscordConfig,
        *,
        clock: Clock,
        monotonic: Callable[[], float],
        options: AppOptions | None = None,
    ) -> None:
        self.options = options = options or AppOptions()
        self.config = config
        self.clock = clock
        self.data_dir = data_dir
        self.db = Database(data_dir / DATABASE_NAME)
        try:
            self._build(station_dir, config, clock, monotonic, options)
        except BaseException:
            self.db.close()
            raise
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    def _build(
        self,
        station_dir: Path,
        config: DiscordConfig,
        clock: Clock,
        monotonic: Callable[[], float],
        options: AppOptions,
    ) -> None:
        # One supervisor for the application's, the bot's and the desk's tasks, so that
        # ``diag`` shows every failure in one place.
        self.supervisor = Supervisor(delay=options.backoff.delay, monotonic=monotonic)
        self.history = DeferredHistory(self.db)
        loudness = LoudnessLevels(cache=SQLiteLoudnessCache(self.db)) if options.normalize else None
        self.events = ThreadedEventBus()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.onair = OnAir(
            station_dir,
            clock=clock,
            scheduler=self.scheduler,
            history=self.history,
            events=self.events,
            loudness=loudness,
            on_invalid=self._grid_rejected,
            on_fixed=self._grid_fixed,
        )
        station = self.onair.station
        self.queue = NotifyingQueue(
            self.db, quota=options.request_quota, cooldown=options.request_cooldown
        )
        self.requests = RequestPlayer(self.queue, station, clock=clock)
        self.events.subscribe(self.requests.on_event)
        # Offer the request to the station once the command that queued it has
        # finished with the queue (it reads the request's place right after adding
        # it): on the loop's next turn rather than inside ``add``.
        loop = asyncio.get_running_loop()

        def requested() -> None:
            loop.call_soon_threadsafe(station.offer_requests)

        self.queue.on_added = requested
        self.controls = StationControls(station, self.queue)
        self.stamps = FrameStamps(self.onair.root, clock)
        self.feed = SimulcastFeed(self.stamps)
        bot: RadioBot | None = None

        def wake() -> None:
            if bot is not None:
                bot.wake_announcements()

        self.announcer = Announcer(
            rooms_of(config),
            station=self.onair.name,
            now_playing=config.now_playing,
            next_up=self.controls.next_up,
            notify=wake,
        )
        self.events.subscribe(self.announcer.handle)
        bot = RadioBot(
            config,
            self.feed,
            clock=clock,
            announcer=self.announcer,
            backoff=options.backoff,
            connect_timeout=options.connect_timeout,
            poll_interval=options.poll_interval,
            monotonic=monotonic,
            realtime=options.realtime_sender,
            supervisor=self.supervisor,
            first_room_hold=(
                options.first_room_hold if any(v.rooms for v in config.voice_plan()) else 0.0
            ),
            **primary_options(config),
            **options.bot_options,
        )
        self.bot = bot
        # The other bot accounts (docs/big-station.md): the same feed, more rooms.
        self.voices = station_voices(
            config,
            bot,
            station=self.onair.name,
            events=self.events,
            announcer=self.announcer,
            bot_options=options.bot_options,
        )
        self.catalogue = LiveCatalogue(self.onair)
        self.services = Services(
            config=config,
            queue=self.queue,
            catalogue=self.catalogue,
            controls=self.controls,
            rooms=self.voices,
            clock=clock,
            slot_now=self.onair.live_slot,
            announcer=self.announcer,
            history=self.history,
            diagnostics=self.diagnostics,
            station_name=self.onair.name,
            grid=lambda: self.onair.station.grid,
            request_check=request_check(self.onair, self.history),
            grid_files=self.onair,
            deployment=self.deployment,
        )
        self._build_live(config, clock, monotonic, options, bot)
        self.services.live = self.desk
        self.events.subscribe(self.desk.on_event)
        # Presenters on the stage talk over the music (docs/live.md, "On the stage").
        announcer = self.announcer

        def on_mic(user_ids: tuple[int, ...]) -> None:
            announcer.on_mic(self.stage.names(user_ids))

        self.stage = StageTalkOver(bot, config, self.onair, monotonic, on_change=on_mic)
        self.services.mic = self.stage.talkover
        self.bot_cogs = [RadioCommands(self.services), self.stage.cog]
        # The HTTP face (docs/web.md): page, now-playing JSON, /metrics, /healthz.
        self.web = (
            web_face(self, clock=clock, monotonic=monotonic, port=options.web_port)
            if options.web
            else None
        )
        # The Icecast mounts (docs/outputs.md): the station's own packets, not re-encoded.
        station_file = self.onair.setup.files.station
        self.outputs = StationOutputs(
            station_file.outputs.icecast if station_file is not None else (),
            taps=self.feed.taps,
            events=self.events,
            announcer=self.announcer,
            clock=clock,
            monotonic=monotonic,
        )

    def _build_live(
        self,
        config: DiscordConfig,
        clock: Clock,
        monotonic: Callable[[], float],
        options: AppOptions,
        bot: RadioBot,
    ) -> None:
        """The live branch's doors: the desk, the presenters' mount and the recordings."""
        settings = self.onair.live_settings
        station = self.onair.station
        root = self.onair.root
        self.recordings = (self.data_dir / settings.recordings.folder).resolve()
        if not self.recordings.is_relative_to(self.data_dir.resolve()):
            raise ConfigError(
                f"live.recordings.folder {settings.recordings.folder!r} leaves the data folder"
            )
        self.recording_tap = RecordingTap(on_air=lambda: station.takeover.live_on_air)
        self.feed.taps.add(self.recording_tap.packet)
        port = settings.port if options.live_port is None else options.live_port

        async def members(user_id: int) -> MemberInfo | None:
            return await member_info(bot, config, user_id)

        self.desk = LiveDesk(
            station.live,
            credentials=PresenterCredentials(self.db),
            sessions=LiveSessions(self.db),
            clock=clock,
            monotonic=monotonic,
            slots=lambda now: live_slots_near(station.grid, now, settings.early),
            members=members,
            events=self.events,
            options=DeskOptions(
                mount=settings.mount,
                public=settings.public or f"{settings.listen}:{port}",
                grace=settings.grace,
                tz=station.grid.tz,
                recordings=self.recordings,
            ),
            recordings=self.recording_tap,
            position=lambda: root.position,
        )
        self.ingest = (
            IngestServer(
                self.desk,
                host=settings.listen,
                port=port,
                monotonic=monotonic,
                on_refused=self.desk.mount_refused,
                trusted_proxies=TrustedProxies(settings.trusted_proxies),
            )
            if settings.enabled and options.live
            else None
        )

    def diagnostics(self) -> list[str]:
        """The owner's counters: frames sent and late, encodes, dead air, rooms."""
        feed = self.feed.stats()
        sent = self.bot.broadcaster.stats()
        root = self.onair.root
        lines = [
            f"station: {self.onair.name}, frame {root.position}",
            f"frames sent {sent.frames} ({sent.late} late, {sent.skipped} skipped as too late),"
            f" pulled with no room connected {sent.idle}, packets {sent.packets}"
            f" to {sent.rooms} room(s)",
            f"Opus encodes {feed.encoded}, station faults {feed.station_faults}",
            f"dead air: {root.dead_air_frames} frames in all" + (" (now)" if root.dead_air else ""),
            self.supervisor.summary(),
            *self.outputs.diagnostics(),
        ]
        for room in self.bot.rooms.values():
            lines.append(
                f"guild {room.guild.id}: {room.state}, {room.joins} join(s),"
                f" last close code {room.last_close_code}"
            )
        if self.voices.followers:
            lines += self.voices.diagnostics()
        return lines

    def _grid_rejected(self, problems: list[Diagnostic]) -> None:
        root = self.onair.station_dir
        self.announcer.grid_rejected([diagnostic_line(problem, root) for problem in problems])

    def _grid_fixed(self) -> None:
        self.announcer.grid_fixed()

    def deployment(self) -> Deployment:
        """What the admins' ``settings`` command shows of the deployment (never the token)."""
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        return Deployment(data_dir=self.data_dir.resolve(), log_level=level)

    async def run(
        self,
        token: str,
        stop: asyncio.Event,
        *,
        before_start: Callable[[RadioBot], None] | None = None,
    ) -> None:
        """Put the station on Discord until ``stop`` is set; close everything then.

        ``before_start`` is called with the bot before it logs in (the demo
        points it at the local Discord there). Raises what ``bot.start`` raises
        (discord.LoginFailure for a refused token, ...), after closing.
        """
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL_S))
        try:
            for cog in self.bot_cogs:
                await self.bot.add_cog(cog)
            if before_start is not None:
                before_start(self.bot)
                for voice in self.voices.followers:
                    before_start(voice.bot)
            self.scheduler.start()
            # The first track opens (probe, loudness, FFmpeg) before anyone pulls a
            # frame, so the station does not begin with dead air.
            await asyncio.to_thread(self.onair.root.wait_buffered, FIRST_TRACK_TIMEOUT_S)
            loop = asyncio.get_running_loop()
            await self._open_live()
            if self.web is not None and not await open_web(self.web, self.announcer):
                self.web = None  # told to the admins; the station plays on
            self.outputs.start()
            spawn = self.supervisor.spawn
            self._tasks.append(spawn("grid-watch", self._watch))
            self._tasks.append(spawn("recordings", self._prune_recordings))
            bot_task = loop.create_task(self._start_bot(token), name="bot")
            stopping = loop.create_task(stop.wait(), name="stop")
            done, _ = await asyncio.wait({bot_task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if bot_task in done:
                bot_task.result()  # raises why the bot stopped
                logger.warning("the bot stopped by itself")
        finally:
            await self.close()
            sys.setswitchinterval(switch_interval)
            if "bot_task" in locals() and not bot_task.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(bot_task, 10)

    async def _start_bot(self, token: str) -> None:
        """Log in, start the tasks that talk to Discord, then connect until closed.

        The tasks that wait for the bot (the schedule mirror) start only once it has
        logged in: before that, discord.py's ``wait_until_ready`` raises "Client has
        not been properly initialised". Raises what ``login`` and ``connect`` raise.
        """
        await self.bot.login(token)
        if self._closing:  # stopped while logging in: start nothing more
            return
        self._tasks.append(self.supervisor.spawn("schedule-mirror", self._mirror))
        self.voices.start()  # the other voices, each on its own (a refusal stops only it)
        await self.bot.connect()

    async def _open_live(self) -> None:
        """Seal the recordings a crash left open, then open the presenters' mount. A
        mount that cannot listen is one message to the admins; the station plays on."""
        sealed = await asyncio.to_thread(finalise_unfinished, self.recordings)
        for path in sealed:
            logger.info("recording finished after a restart: %s", path)
        self.desk.start(self.supervisor)
        if self.ingest is None:
            return
        try:
            await self.ingest.start()
        except OSError as exc:
            settings = self.onair.live_settings
            message = (
                f"The presenters' mount cannot listen on {settings.listen}:{settings.port}"
                f" ({exc.strerror or exc}); live from encoders is off until a restart."
            )
            logger.error("%s", message)
            self.announcer.alert("live", message, admins=True)
            self.ingest = None
            return
        logger.info(
            "presenters' mount: icecast://%s:%d%s",
            self.onair.live_settings.listen,
            self.ingest.port,
            self.onair.live_settings.mount,
        )

    async def _prune_recordings(self) -> None:
        """Keep the recordings within their days and size, at start and daily.

        A failure reaches the supervisor (logged, counted, tried again after a backoff).
        """
        kept = self.onair.live_settings.recordings
        max_bytes = None if kept.max_gb is None else int(kept.max_gb * 1e9)
        while True:
            gone = await asyncio.to_thread(
                prune,
                self.recordings,
                now=self.clock.now(),
                keep_days=kept.keep_days,
                max_bytes=max_bytes,
            )
            if gone:
                logger.info("recordings pruned: %d file(s)", len(gone))
            await asyncio.sleep(self.options.prune_interval)

    async def _watch(self) -> None:
        """The live reload, until cancelled; a failure reaches the supervisor."""
        await self.onair.watch(self.options.watch_interval)

    async def _mirror(self) -> None:
        """Mirror the week's shows as scheduled events at start, on each grid change
        and every ``mirror_interval`` seconds; return when the bot closes.

        Started once the bot has logged in (:meth:`_start_bot`).
        """
        await self.bot.wait_until_ready()
        mirrored: object = None
        waited = 0.0
        step = min(self.options.watch_interval, self.options.mirror_interval)
        while not self.bot.is_closed():
            grid = self.onair.station.grid
            if grid is not mirrored or waited >= self.options.mirror_interval:
                mirrored, waited = grid, 0.0
                desired = desired_events(grid, self.clock.now())
                for guild in self.config.guilds:
                    try:
                        changes = await self.bot.mirror_schedule(guild.id, desired)
                    except Exception:
                        logger.exception("mirroring the schedule in guild %d failed", guild.id)
                        continue
                    if changes:
                        logger.info(
                            "scheduled events in guild %d: %d change(s)", guild.id, len(changes)
                        )
            await asyncio.sleep(step)
            waited += step

    async def close(self) -> None:
        """Stop the bot, the tasks, the scheduler and the station; close the database.

        Idempotent. Requests that were playing stay ``taken`` and are played
        again first after the next start.
        """
        self._closing = True
        await cancel_all(self._tasks)
        if self.ingest is not None:
            await self.ingest.close()
        await self.desk.close()
        if self.web is not None:
            await self.web.close()
        await self.voices.close()  # before the primary: it stops the shared sender
        if not self.bot.is_closed():
            with contextlib.suppress(Exception):
                await self.bot.close()
        await self.outputs.close()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.feed.close()
        self.requests.close()
        self.onair.close()
        self.events.close()
        self.history.close()
        self.db.close()
