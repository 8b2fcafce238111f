"""What the station says on Discord: station events rendered into Discord states.

Two halves. The rendering functions are pure: a track, a show and what comes
next in, an embed dictionary (Discord's JSON shape, ``discord.Embed.from_dict``
takes it) or a line of text out, cut to Discord's length limits and with
Markdown in titles escaped. The :class:`Announcer` turns the station's events
into *desired states* per target (the now-playing embed of each announcement
room, the bot's presence, each stage topic, each voice room status, alerts in
the programmers' and admins' rooms) and hands them out through per-target
:class:`~radio.bot.ratelimit.Coalescer`\\ s, so that a burst of track changes
or a flapping show never queues edits behind Discord's rate limits: the latest
state goes out when the budget allows.

The client (the application layer) calls :meth:`Announcer.handle` from the
station's event bus (any thread; it is quick and never raises), sends what
:meth:`Announcer.due` returns and sleeps until :meth:`Announcer.next_due`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from discord.utils import escape_markdown

from radio.audio.frames import seconds_for
from radio.audio.track import Track
from radio.bot.ratelimit import CHANNEL_EDITS, MESSAGES, PRESENCE, Budget, Coalescer
from radio.events import (
    DeadAir,
    DeadAirEnded,
    Event,
    ShowStarted,
    TrackFailed,
    TrackStarted,
)

logger = logging.getLogger(__name__)

# Discord's documented limits.
EMBED_TITLE_MAX: Final = 256
EMBED_FIELD_MAX: Final = 1024
ACTIVITY_NAME_MAX: Final = 128
STAGE_TOPIC_MAX: Final = 120
VOICE_STATUS_MAX: Final = 500
MESSAGE_MAX: Final = 2000

EMBED_COLOUR: Final = 0xE8590C
ALERTS: Final = Budget(1, MESSAGES.per)  # one alert of a kind per room per window: latest wins

NowPlayingMode = Literal["post", "edit", "off"]
AlertKind = Literal["dead_air", "track_failed", "grid", "voice"]


@dataclass(frozen=True, slots=True)
class ShowInfo:
    """The show on air, as announcements need it."""

    title: str
    presenter: str = ""

    @classmethod
    def from_event(cls, event: ShowStarted) -> ShowInfo:
        """The show of a ShowStarted event; its ``presenter`` tag names the presenter."""
        return cls(event.title, event.tags.get("presenter", ""))


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def requester_mention(track: Track) -> str:
    """Who requested ``track``, as a mention when the user ID is known; '' when nobody."""
    user_id = track.tags.get("requested_by_id", "")
    if user_id.isdigit():
        return f"<@{user_id}>"
    return escape_markdown(track.tags.get("requested_by", ""))


def now_playing_embed(
    track: Track, show: ShowInfo | None, next_up: Track | None, station: str
) -> dict[str, Any]:
    """The now-playing embed for ``track``: title, artist, show, presenter, requester, next.

    Fields without a value are left out. The track's own ``show_title`` and
    ``presenter`` tags win over the show on air (a request inside a show).
    """
    show_title = track.tags.get("show_title") or (show.title if show else "")
    presenter = track.tags.get("presenter") or (show.presenter if show else "")
    embed: dict[str, Any] = {
        "type": "rich",
        "title": clip(escape_markdown(track.title), EMBED_TITLE_MAX),
        "color": EMBED_COLOUR,
        "footer": {"text": clip(f"{station} · now playing", 2048)},
    }
    if track.artist:
        embed["description"] = clip(f"by **{escape_markdown(track.artist)}**", 4096)
    fields: list[tuple[str, str, bool]] = [
        ("Show", escape_markdown(show_title), True),
        ("Presenter", escape_markdown(presenter), True),
        ("Requested by", requester_mention(track), True),
        ("Next up", escape_markdown(next_up.display) if next_up else "", False),
    ]
    embed["fields"] = [
        {"name": name, "value": clip(value, EMBED_FIELD_MAX), "inline": inline}
        for name, value, inline in fields
        if value
    ]
    return embed


def presence_text(track: Track | None) -> str | None:
    """The name of the bot's "Listening to …" activity; None clears the presence."""
    return clip(track.display, ACTIVITY_NAME_MAX) if track is not None else None


def stage_topic(show: ShowInfo) -> str:
    """The stage instance topic for ``show`` (Discord allows 120 characters)."""
    text = f"{show.title} with {show.presenter}" if show.presenter else show.title
    return clip(text, STAGE_TOPIC_MAX)


def voice_status(show: ShowInfo) -> str:
    """The voice room status for ``show`` (Discord allows 500 characters)."""
    text = f"On air: {show.title}"
    if show.presenter:
        text += f" with {show.presenter}"
    return clip(text, VOICE_STATUS_MAX)


def dead_air_alert() -> str:
    """The alert (programmers' and admins' rooms) when the station starts sending silence."""
    return (
        "Dead air: nothing was ready to play, so the station is sending silence."
        " Check the fallback playlist and the media folder (`radio check`)."
    )


def dead_air_ended_alert(frames: int) -> str:
    """The note (programmers' and admins' rooms) when sound is back after ``frames`` of silence."""
    return f"Back on air after {seconds_for(frames):.1f} s of dead air."


def track_failed_alert(track: Track, reason: str) -> str:
    """The programmers' alert for a file that could not be played and was skipped."""
    return clip(f"Skipped `{track.location}`: {reason}", MESSAGE_MAX)


def fenced(head: str, lines: Sequence[str], limit: int = MESSAGE_MAX) -> str:
    """``head``, then ``lines`` in a code block, within ``limit`` characters.

    Lines that do not fit are replaced by one ``… and N more`` line, so a long
    list of diagnostics still makes one Discord message.
    """
    opening, closing = head + "\n```\n", "```"
    body: list[str] = []
    used = len(opening) + len(closing)
    for index, line in enumerate(lines):
        more = f"… and {len(lines) - index} more\n"
        if used + len(line) + 1 + len(more) > limit:
            body.append(more)
            break
        body.append(line.replace("```", "'''") + "\n")
        used += len(line) + 1
    return opening + "".join(body) + closing


def grid_errors_alert(lines: Sequence[str]) -> str:
    """The programmers' alert for a grid edit that failed validation (``path:line:col`` lines).

    The last good grid stays on air; the message says so. Long lists are cut
    with a count of what was left out, within one message.
    """
    return fenced("The grid edit was not applied (the last good grid stays on air):", lines)


def grid_fixed_alert() -> str:
    """The programmers' note when a valid edit follows a refused one."""
    return "The grid files are valid again: the new grid is on air."


# Close codes after which Discord does not want the bot back, and why.
REFUSED_CLOSE_CODES: Final = {
    4014: "the bot was disconnected from the channel (kicked, channel deleted or no access)",
    4021: "the bot's voice session was rate limited by Discord",
    4022: "the call was terminated by Discord",
}


def rejoin_refused_alert(channel_id: int, code: int | None) -> str:
    """The admins' alert when Discord ended the voice connection for good.

    ``code`` is the close code when it is known (4014, 4021 or 4022).
    """
    if code is None:
        why = "Discord closed the voice connection and does not want the bot back"
    else:
        meaning = REFUSED_CLOSE_CODES.get(code, "Discord asked the bot not to reconnect")
        why = f"voice close code {code}: {meaning}"
    return (
        f"Left <#{channel_id}> ({why}) and will not rejoin on its own."
        " Fix the cause, then use the join command."
    )


@dataclass(frozen=True, slots=True)
class Rooms:
    """Where announcements go, by channel ID (the client resolves stage vs voice)."""

    announcements: tuple[int, ...] = ()
    stages: tuple[int, ...] = ()
    voices: tuple[int, ...] = ()
    programmers: tuple[int, ...] = ()
    admins: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class NowPlaying:
    """Post (or edit, per ``mode``) the now-playing ``embed`` in ``channel_id``."""

    channel_id: int
    embed: dict[str, Any]
    mode: NowPlayingMode


@dataclass(frozen=True, slots=True)
class SetPresence:
    """Set the bot's "Listening to" activity (None clears it)."""

    text: str | None


@dataclass(frozen=True, slots=True)
class SetStageTopic:
    """Open or update the stage instance of ``channel_id`` with ``topic``."""

    channel_id: int
    topic: str


@dataclass(frozen=True, slots=True)
class SetVoiceStatus:
    """Set the voice room status of ``channel_id``."""

    channel_id: int
    text: str


@dataclass(frozen=True, slots=True)
class Alert:
    """Post ``content`` in ``channel_id`` (a programmers' or admins' room)."""

    channel_id: int
    kind: AlertKind
    content: str


Action = NowPlaying | SetPresence | SetStageTopic | SetVoiceStatus | Alert


class Announcer:
    """Station events in, rate-limited Discord actions out.

    ``next_up`` asks the station what plays next (for the embed). ``notify`` is
    called (from whatever thread delivered the event) whenever new actions may
    be due, so the client can wake up; it must be thread-safe and quick.
    """

    def __init__(
        self,
        rooms: Rooms,
        *,
        station: str,
        now_playing: NowPlayingMode = "post",
        next_up: Callable[[], Track | None] = lambda: None,
        notify: Callable[[], None] = lambda: None,
    ) -> None:
        self.rooms = rooms
        self.station = station
        self.mode: NowPlayingMode = now_playing
        self._next_up = next_up
        self._notify = notify
        self._lock = threading.Lock()
        self._show: ShowInfo | None = None
        self._track: Track | None = None
        self._embeds: Coalescer[int, dict[str, Any]] = Coalescer(MESSAGES)
        self._presence: Coalescer[str, str | None] = Coalescer(PRESENCE)
        self._topics: Coalescer[int, str] = Coalescer(CHANNEL_EDITS)
        self._statuses: Coalescer[int, str] = Coalescer(CHANNEL_EDITS)
        self._alerts: Coalescer[tuple[int, AlertKind], str] = Coalescer(ALERTS)

    @property
    def show(self) -> ShowInfo | None:
        """The show on air, as last announced."""
        return self._show

    @property
    def track(self) -> Track | None:
        """The track on air, as last announced."""
        return self._track

    def handle(self, event: Event) -> None:
        """Take one station event (an :data:`~radio.events.EventSink`). Never raises."""
        try:
            with self._lock:
                changed = self._apply(event)
        except Exception:
            logger.exception("announcing %r failed", event)
            return
        if changed:
            self._notify()

    def alert(self, kind: AlertKind, content: str, *, admins: bool = False) -> None:
        """Post ``content`` to the programmers' rooms (or the admins' rooms). Never raises."""
        with self._lock:
            for room in self.rooms.admins if admins else self.rooms.programmers:
                self._alerts.offer((room, kind), clip(content, MESSAGE_MAX))
        self._notify()

    def rejoin_refused(self, channel_id: int, code: int | None) -> None:
        """Tell the admins the bot left ``channel_id`` for good after close ``code``."""
        self.alert("voice", rejoin_refused_alert(channel_id, code), admins=True)

    def grid_rejected(self, lines: Sequence[str]) -> None:
        """Tell the programmers a grid edit failed validation (``path:line:col`` lines)."""
        self.alert("grid", grid_errors_alert(lines))

    def grid_fixed(self) -> None:
        """Tell the programmers the grid files are valid again and on air."""
        self.alert("grid", grid_fixed_alert())

    def due(self, now: datetime) -> list[Action]:
        """Take the actions that may be sent at ``now``, in a stable order."""
        with self._lock:
            actions: list[Action] = [
                NowPlaying(channel, embed, self.mode) for channel, embed in self._embeds.due(now)
            ]
            actions += [SetPresence(text) for _, text in self._presence.due(now)]
            actions += [SetStageTopic(channel, topic) for channel, topic in self._topics.due(now)]
            actions += [SetVoiceStatus(channel, text) for channel, text in self._statuses.due(now)]
            actions += [Alert(room, kind, text) for (room, kind), text in self._alerts.due(now)]
        return actions

    def next_due(self, now: datetime) -> datetime | None:
        """When the next pending action may go out (``now`` if one may now), or None."""
        with self._lock:
            times = [
                when
                for coalescer in (
                    self._embeds,
                    self._presence,
                    self._topics,
                    self._statuses,
                    self._alerts,
                )
                if (when := coalescer.next_due(now)) is not None
            ]
        return min(times) if times else None

    def refused(self, action: Action, retry_after: float, now: datetime) -> None:
        """Discord rate-limited ``action``: retry its latest state after ``retry_after`` s."""
        delay = timedelta(seconds=retry_after)
        with self._lock:
            match action:
                case NowPlaying(channel_id, embed, _):
                    self._embeds.refused(channel_id, embed, delay, now)
                case SetPresence(text):
                    self._presence.refused("presence", text, delay, now)
                case SetStageTopic(channel_id, topic):
                    self._topics.refused(channel_id, topic, delay, now)
                case SetVoiceStatus(channel_id, text):
                    self._statuses.refused(channel_id, text, delay, now)
                case Alert(channel_id, kind, content):
                    self._alerts.refused((channel_id, kind), content, delay, now)

    def _apply(self, event: Event) -> bool:
        match event:
            case TrackStarted(track=track):
                self._track = track
                self._presence.offer("presence", presence_text(track))
                if self.mode != "off":
                    embed = now_playing_embed(track, self._show, self._ask_next(), self.station)
                    for channel in self.rooms.announcements:
                        self._embeds.offer(channel, embed)
                return True
            case ShowStarted():
                self._show = ShowInfo.from_event(event)
                for channel in self.rooms.stages:
                    self._topics.offer(channel, stage_topic(self._show))
                for channel in self.rooms.voices:
                    self._statuses.offer(channel, voice_status(self._show))
                return True
            case DeadAir():
                self._track = None
                self._presence.offer("presence", None)
                self._offer_alert("dead_air", dead_air_alert())
                return True
            case DeadAirEnded(frames=frames):
                self._offer_alert("dead_air", dead_air_ended_alert(frames))
                return True
            case TrackFailed(track=track, reason=reason):
                self._offer_alert("track_failed", track_failed_alert(track, reason))
                return True
        return False

    def _ask_next(self) -> Track | None:
        try:
            return self._next_up()
        except Exception:
            # The embed is still worth posting without its "next up" line.
            logger.exception("asking the station what plays next failed")
            return None

    def _offer_alert(self, kind: AlertKind, content: str) -> None:
        for room in self._problem_rooms(kind):
            self._alerts.offer((room, kind), content)

    def _problem_rooms(self, kind: AlertKind) -> tuple[int, ...]:
        if kind != "dead_air":
            return self.rooms.programmers
        # Dead air is the programmers' to fix (fallback, media) and the admins' to
        # watch (the station is off air in effect): both rooms, once when they are one.
        return tuple(dict.fromkeys((*self.rooms.programmers, *self.rooms.admins)))
