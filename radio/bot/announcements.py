"""What the station says on Discord: station events rendered into Discord states.

Two halves. The rendering functions are pure: a track, a show and what comes
next in, an embed dictionary (Discord's JSON shape, ``discord.Embed.from_dict``
takes it) or a line of text out, cut to Discord's length limits and with
Markdown in titles escaped. Text from outside the station's files (a
presenter's name, an encoder's metadata, a relayed stream's ICY title, the user
name an encoder tried) is untrusted: it is flattened to one line, its mentions
are neutralised and, where Discord renders Markdown, its Markdown is escaped.
The :class:`Announcer` turns the station's events into *desired states* per
target (the now-playing embed of each announcement room, the bot's presence,
each stage topic, each voice room status, alerts in the programmers' and
admins' rooms; while a presenter is live, the live embed and the live
presenter in presence, topic and status) and hands them out through per-target
:class:`~radio.bot.ratelimit.Coalescer`\\ s, so that a burst of track changes
or a flapping show never queues edits behind Discord's rate limits: the latest
state goes out when the budget allows.

Live: between LiveStarted and LiveEnded the announcer is *live*. The programme
is not heard then, so its TrackStarted events are not announced. A live title
(LiveTitle) edits the live embed and the presence, never the stage topic or
the voice status: Discord allows two channel edits per ten minutes, and those
are kept for going live and coming back. LiveEnded posts a "back to the
programme" line; when the next track's embed catches it still unsent, the
line rides on that embed instead, so nothing is lost to coalescing. Live
problems (LiveProblem) reach the programmers' rooms as one digest per room at
most once per minute, each who and detail with a count, so an encoder retrying
every second cannot flood the room.

The client (the application layer) calls :meth:`Announcer.handle` from the
station's event bus (any thread; it is quick and never raises), sends what
:meth:`Announcer.due` returns and sleeps until :meth:`Announcer.next_due`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from discord.utils import escape_markdown, escape_mentions

from radio.audio.frames import seconds_for
from radio.audio.track import Track
from radio.bot.ratelimit import CHANNEL_EDITS, MESSAGES, PRESENCE, Budget, Coalescer
from radio.events import (
    DeadAir,
    DeadAirEnded,
    Event,
    LiveEnded,
    LiveProblem,
    LiveStarted,
    LiveTitle,
    ShowStarted,
    TrackBlank,
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
EMBED_AUTHOR_MAX: Final = 256
EMBED_DESCRIPTION_MAX: Final = 4096
EMBED_FOOTER_MAX: Final = 2048

# Our own bound on one piece of untrusted text (a name, a title) before it is placed.
UNTRUSTED_MAX: Final = 200

EMBED_COLOUR: Final = 0xE8590C
LIVE_COLOUR: Final = 0xE03131
ALERTS: Final = Budget(1, MESSAGES.per)  # one alert of a kind per room per window: latest wins
LIVE_PROBLEMS_EVERY: Final = timedelta(minutes=1)  # one live-problems digest per room per minute
LIVE_PROBLEMS_KEPT: Final = 20  # distinct who+detail counted by name in one digest
SHOWS_KEPT: Final = 256  # show titles remembered by show id (for the live embed)

NowPlayingMode = Literal["post", "edit", "off"]
AlertKind = Literal["dead_air", "track_failed", "blank", "grid", "voice", "live", "web", "outputs"]


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
    track: Track,
    show: ShowInfo | None,
    next_up: Track | None,
    station: str,
    on_mic: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The now-playing embed for ``track``: title, artist, show, presenter, requester,
    who talks over it on the stage (``on_mic``: "🎙 … is on air"), next.

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
        ("On the stage", on_mic_line(on_mic), False),
        ("Next up", escape_markdown(next_up.display) if next_up else "", False),
    ]
    embed["fields"] = [
        {"name": name, "value": clip(value, EMBED_FIELD_MAX), "inline": inline}
        for name, value, inline in fields
        if value
    ]
    return embed


def presence_text(track: Track | None, on_mic: tuple[str, ...] = ()) -> str | None:
    """The name of the bot's "Listening to …" activity ("🎙 <presenter> is on air"
    while a presenter talks over the music); None clears the presence."""
    if on_mic:
        return clip(f"🎙 {one_line(', '.join(on_mic))} on air", ACTIVITY_NAME_MAX)
    return clip(track.display, ACTIVITY_NAME_MAX) if track is not None else None


def on_mic_line(on_mic: tuple[str, ...]) -> str:
    """ "🎙 alice is on air" (names escaped); '' when nobody is on mic."""
    if not on_mic:
        return ""
    names = ", ".join(escaped(name) for name in on_mic)
    return f"🎙 {names} {'is' if len(on_mic) == 1 else 'are'} on air"


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


@dataclass(frozen=True, slots=True)
class LiveInfo:
    """The live session on air, as announcements need it.

    ``presenter`` and ``title`` come from outside (the presenter's account, the
    encoder's metadata, the stream's ICY title) and are rendered as untrusted;
    ``show`` is the show the session belongs to, when its title is known.
    """

    presenter: str
    via: str
    show: ShowInfo | None = None
    title: str = ""


_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")
_MENTION_LIKE = re.compile(r"<(?=[@#/&])")

# LiveEnded's reasons, worded for listeners.
LIVE_ENDED_WHY: Final = {
    "ended": "the presenter stopped",
    "blank": "the live source went silent",
    "stalled": "the stream stalled",
    "stopped": "live was stopped",
}


def one_line(text: str, limit: int = UNTRUSTED_MAX) -> str:
    """Untrusted ``text`` flattened to one line (control characters and runs of white
    space become one space), with mentions neutralised, within ``limit`` characters.

    For surfaces that show text as it is (presence, stage topic, code blocks):
    no Markdown escaping, which would show as backslashes there.
    """
    flat = _SPACES.sub(" ", text).strip()
    return clip(_MENTION_LIKE.sub("<\u200b", escape_mentions(flat)), limit)


def escaped(text: str, limit: int = UNTRUSTED_MAX) -> str:
    """Untrusted ``text`` as :func:`one_line`, then with its Markdown escaped, for
    surfaces that render Markdown (embeds, messages, voice room status)."""
    return escape_markdown(one_line(text, limit))


def live_embed(live: LiveInfo, station: str) -> dict[str, Any]:
    """The live now-playing embed: 🔴 LIVE and the presenter, "Now: <title>" when the
    source says what plays, the show when its title is known, and how it arrives."""
    embed: dict[str, Any] = {
        "type": "rich",
        "title": clip(f"🔴 LIVE: {escaped(live.presenter)}", EMBED_TITLE_MAX),
        "color": LIVE_COLOUR,
        "footer": {"text": clip(f"{station} · live via {one_line(live.via)}", EMBED_FOOTER_MAX)},
    }
    if live.title.strip():
        embed["description"] = clip(f"Now: {escaped(live.title)}", EMBED_DESCRIPTION_MAX)
    fields = [
        ("Show", escape_markdown(live.show.title) if live.show else "", True),
        ("Presenter", escaped(live.presenter), True),
    ]
    embed["fields"] = [
        {"name": name, "value": clip(value, EMBED_FIELD_MAX), "inline": inline}
        for name, value, inline in fields
        if value
    ]
    return embed


def live_presence_text(live: LiveInfo) -> str:
    """The bot's activity while ``live``: "🔴 Live: <presenter>", then " – <title>"."""
    text = f"🔴 Live: {one_line(live.presenter)}"
    if live.title.strip():
        text += f" – {one_line(live.title)}"
    return clip(text, ACTIVITY_NAME_MAX)


def _live_on_air(live: LiveInfo, name: Callable[[str], str]) -> str:
    if live.show is not None:
        return f"🔴 Live: {live.show.title} with {name(live.presenter)}"
    return f"🔴 Live: {name(live.presenter)}"


def live_stage_topic(live: LiveInfo) -> str:
    """The stage topic while ``live``: the live presenter and the show (no title: the
    topic may change twice per ten minutes)."""
    return clip(_live_on_air(live, one_line), STAGE_TOPIC_MAX)


def live_voice_status(live: LiveInfo) -> str:
    """The voice room status while ``live`` (as the stage topic; Markdown escaped)."""
    return clip(_live_on_air(live, escaped), VOICE_STATUS_MAX)


def back_to_programme_line(reason: str) -> str:
    """The line that says live has let go of the air, with LiveEnded's ``reason`` in words."""
    why = LIVE_ENDED_WHY.get(reason, "live ended")
    return f"⏹ Back to the programme: {why}."


def back_to_programme_embed(line: str, presenter: str, station: str) -> dict[str, Any]:
    """The short embed posted when live ends: ``line``, and whose live it was."""
    return {
        "type": "rich",
        "description": clip(line, EMBED_DESCRIPTION_MAX),
        "color": EMBED_COLOUR,
        "footer": {
            "text": clip(f"{station} · live with {one_line(presenter)} ended", EMBED_FOOTER_MAX)
        },
    }


def with_note(embed: dict[str, Any], note: str) -> dict[str, Any]:
    """``embed`` with ``note`` as its author line (the small line above its title)."""
    return {**embed, "author": {"name": clip(note, EMBED_AUTHOR_MAX)}}


def live_problems_alert(problems: Sequence[tuple[str, str, int]], others: int = 0) -> str:
    """The programmers' alert for refused or failed live connections.

    ``problems`` are (who, detail, count) in arrival order; ``others`` counts
    problems beyond those named. Who and detail are untrusted: they go in a code
    block, one line each, so nothing in them renders or mentions anyone.
    """
    lines = [
        f"{one_line(who)}: {one_line(detail)}" + (f" ({count} times)" if count > 1 else "")
        for who, detail, count in problems
    ]
    if others:
        lines.append(f"and {others} other problem{'s' if others > 1 else ''}")
    return fenced("Live connections refused or failed:", lines)


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


def blank_alert(track: Track, seconds: float) -> str:
    """The programmers' alert for a track skipped because it stayed blank too long."""
    return clip(
        f"Skipped `{track.location}`: blank (below -40 dBFS) for {seconds:g} s on air;"
        " check the file (silence, a wrong channel, a very quiet master)",
        MESSAGE_MAX,
    )


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


class ProblemDigest:
    """Live problems for one room: the first told at once, then at most one digest per
    ``every``, each distinct (who, detail) once with how often it happened.

    At most ``kept`` distinct problems are named in a digest; more are counted as
    "others", so neither the room nor memory grows with an encoder trying a new
    user name every second. Time is passed in. Not thread-safe (the announcer's
    lock guards it).
    """

    def __init__(
        self, every: timedelta = LIVE_PROBLEMS_EVERY, kept: int = LIVE_PROBLEMS_KEPT
    ) -> None:
        self.every = every
        self.kept = kept
        self._counts: dict[tuple[str, str], int] = {}  # not told yet, in arrival order
        self._others = 0
        self._told: tuple[dict[tuple[str, str], int], int] = ({}, 0)  # the last digest taken
        self._last_told: datetime | None = None
        self._held_until: datetime | None = None

    def add(self, who: str, detail: str) -> None:
        """Count one occurrence of ``detail`` for ``who``."""
        self._count((who, detail), 1)

    def due(self, now: datetime) -> str | None:
        """The digest to post at ``now``, or None (nothing to tell, or not yet).

        A returned digest counts as told at ``now``: post it or call :meth:`refused`.
        """
        if not self._counts and not self._others:
            return None
        if self._slot(now) > now:
            return None
        self._told = (self._counts, self._others)
        self._counts, self._others = {}, 0
        self._last_told = now
        counted = [(who, detail, count) for (who, detail), count in self._told[0].items()]
        return live_problems_alert(counted, self._told[1])

    def next_due(self, now: datetime) -> datetime | None:
        """When the next digest may go out (``now`` if it may now), or None."""
        if not self._counts and not self._others:
            return None
        return max(self._slot(now), now)

    def refused(self, retry_after: timedelta, now: datetime) -> None:
        """Discord refused the last digest: count its problems again; retry after ``retry_after``.

        Problems counted since are told in the same digest, after the refused ones.
        """
        (told, told_others), self._told = self._told, ({}, 0)
        newer, self._counts = self._counts, {}
        for key, count in [*told.items(), *newer.items()]:  # the older problems first
            self._count(key, count)
        self._others += told_others
        self._held_until = now + retry_after

    def _count(self, key: tuple[str, str], count: int) -> None:
        if key in self._counts or len(self._counts) < self.kept:
            self._counts[key] = self._counts.get(key, 0) + count
        else:
            self._others += count

    def _slot(self, now: datetime) -> datetime:
        slot = now if self._last_told is None else self._last_told + self.every
        if self._held_until is not None and self._held_until > slot:
            slot = self._held_until
        return slot


class Announcer:
    """Station events in, rate-limited Discord actions out.

    ``next_up`` asks the station what plays next (for the embed). ``notify`` is
    called (from whatever thread delivered the event) whenever new actions may
    be due, so the client can wake up; it must be thread-safe and quick.

    While a presenter is live (between LiveStarted and LiveEnded) the programme's
    TrackStarted events are not announced, and :attr:`track` is None; see the
    module docstring for what going live and coming back announce.
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
        self._shows: dict[str, ShowInfo] = {}  # show id → its last ShowStarted, for live
        self._track: Track | None = None
        self._live: LiveInfo | None = None
        # A live title that came before its presenter's LiveStarted: (presenter, title).
        self._early_title: tuple[str, str] | None = None
        self._back: dict[str, Any] | None = None  # the back-to-the-programme embed, until a track
        # The embed and how it goes out: a live title edits the live embed even in "post" mode.
        self._embeds: Coalescer[int, tuple[dict[str, Any], NowPlayingMode]] = Coalescer(MESSAGES)
        self._presence: Coalescer[str, str | None] = Coalescer(PRESENCE)
        self._topics: Coalescer[int, str] = Coalescer(CHANNEL_EDITS)
        self._statuses: Coalescer[int, str] = Coalescer(CHANNEL_EDITS)
        self._alerts: Coalescer[tuple[int, AlertKind], str] = Coalescer(ALERTS)
        self._live_problems: dict[int, ProblemDigest] = {}
        self._on_mic: tuple[str, ...] = ()  # presenters talking over the music on the stage

    @property
    def show(self) -> ShowInfo | None:
        """The show on air, as last announced."""
        return self._show

    @property
    def track(self) -> Track | None:
        """The track on air, as last announced (None while live)."""
        return self._track

    @property
    def live(self) -> LiveInfo | None:
        """The live session on air, as last announced; None when the programme is."""
        return self._live

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

    def on_mic(self, names: tuple[str, ...]) -> None:
        """The presenters on mic on the stage changed (the talk-over's answer): the
        presence and the track's now-playing embed say "🎙 … on air" while they talk
        (while live, the live card speaks for itself). Never raises."""
        with self._lock:
            if names == self._on_mic:
                return
            self._on_mic = names
            track = self._track
            if self._live is not None or track is None:
                return
            self._presence.offer("presence", presence_text(track, names))
            if self.mode != "off":
                embed = now_playing_embed(track, self._show, self._ask_next(), self.station, names)
                self._offer_embed(embed, post=False)
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
                NowPlaying(channel, embed, mode) for channel, (embed, mode) in self._embeds.due(now)
            ]
            actions += [SetPresence(text) for _, text in self._presence.due(now)]
            actions += [SetStageTopic(channel, topic) for channel, topic in self._topics.due(now)]
            actions += [SetVoiceStatus(channel, text) for channel, text in self._statuses.due(now)]
            actions += [Alert(room, kind, text) for (room, kind), text in self._alerts.due(now)]
            actions += [
                Alert(room, "live", text)
                for room, digest in self._live_problems.items()
                if (text := digest.due(now)) is not None
            ]
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
            times += [
                when
                for digest in self._live_problems.values()
                if (when := digest.next_due(now)) is not None
            ]
        return min(times) if times else None

    def refused(self, action: Action, retry_after: float, now: datetime) -> None:
        """Discord rate-limited ``action``: retry its latest state after ``retry_after`` s."""
        delay = timedelta(seconds=retry_after)
        with self._lock:
            match action:
                case NowPlaying(channel_id, embed, mode):
                    self._embeds.refused(channel_id, (embed, mode), delay, now)
                case SetPresence(text):
                    self._presence.refused("presence", text, delay, now)
                case SetStageTopic(channel_id, topic):
                    self._topics.refused(channel_id, topic, delay, now)
                case SetVoiceStatus(channel_id, text):
                    self._statuses.refused(channel_id, text, delay, now)
                case Alert(channel_id, "live", _) if channel_id in self._live_problems:
                    self._live_problems[channel_id].refused(delay, now)
                case Alert(channel_id, kind, content):
                    self._alerts.refused((channel_id, kind), content, delay, now)

    def _apply(self, event: Event) -> bool:
        match event:
            case TrackStarted(track=track):
                if self._live is not None:
                    # The programme is not heard while live: nothing to announce.
                    logger.debug("not announcing %r: live is on air", track.title)
                    return False
                self._track = track
                self._presence.offer("presence", presence_text(track, self._on_mic))
                if self.mode != "off":
                    embed = now_playing_embed(
                        track, self._show, self._ask_next(), self.station, self._on_mic
                    )
                    self._offer_embed(embed, post=True, carry_back=True)
                self._back = None
                return True
            case ShowStarted():
                self._show = ShowInfo.from_event(event)
                self._remember_show(event.show_id, self._show)
                if self._live is None:  # while live, the topic names the presenter until the end
                    self._offer_show_states(self._show)
                return True
            case LiveStarted():
                return self._live_started(event)
            case LiveTitle(presenter=presenter, title=title):
                return self._live_title(presenter, title)
            case LiveEnded(presenter=presenter, reason=reason):
                return self._live_ended(presenter, reason)
            case LiveProblem(who=who, detail=detail):
                for room in self.rooms.programmers:
                    self._live_problems.setdefault(room, ProblemDigest()).add(who, detail)
                return bool(self.rooms.programmers)
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
            case TrackBlank(track=track, seconds=seconds):
                self._offer_alert("blank", blank_alert(track, seconds))
                return True
        return False

    def _live_started(self, event: LiveStarted) -> bool:
        show = self._shows.get(event.show) if event.show else None
        before = self._live
        title = ""
        if before is not None and before.presenter == event.presenter:
            title = before.title  # a reconnect within the grace: the same session goes on
        elif self._early_title is not None and self._early_title[0] == event.presenter:
            title = self._early_title[1]
        self._early_title = None
        live = LiveInfo(event.presenter, event.via, show, title)
        if live == before:
            return False
        self._live = live
        self._track = None
        self._back = None
        # A new presenter gets a new post; the same one (via or show changed) an edit.
        new_presenter = before is None or before.presenter != live.presenter
        self._offer_embed(live_embed(live, self.station), post=new_presenter)
        self._presence.offer("presence", live_presence_text(live))
        # Equal to what a room shows already, an offer costs nothing (the coalescer drops it).
        for channel in self.rooms.stages:
            self._topics.offer(channel, live_stage_topic(live))
        for channel in self.rooms.voices:
            self._statuses.offer(channel, live_voice_status(live))
        return True

    def _live_title(self, presenter: str, title: str) -> bool:
        live = self._live
        if live is None or live.presenter != presenter:
            # Metadata before the source holds the air (or the next presenter's, still
            # in their prebuffer): kept for their LiveStarted.
            self._early_title = (presenter, title)
            return False
        if title == live.title:
            return False  # encoders repeat their metadata
        self._live = live = LiveInfo(live.presenter, live.via, live.show, title)
        self._offer_embed(live_embed(live, self.station), post=False)
        self._presence.offer("presence", live_presence_text(live))
        return True

    def _live_ended(self, presenter: str, reason: str) -> bool:
        if self._live is None:
            return False
        self._live = None
        self._early_title = None
        line = back_to_programme_line(reason)
        self._back = back_to_programme_embed(line, presenter, self.station)
        self._offer_embed(self._back, post=True)
        self._presence.offer("presence", None)  # until the programme's next track
        self._offer_show_states(self._show or ShowInfo(self.station))
        return True

    def _offer_embed(self, embed: dict[str, Any], *, post: bool, carry_back: bool = False) -> None:
        """Offer ``embed`` to every announcement room (nothing when now-playing is off).

        In "post" mode ``post=False`` edits the last post (a live title on the
        live embed), unless a post is still waiting: then the newer embed takes
        its place and is still posted. With ``carry_back``, a room whose
        back-to-the-programme embed has not gone out yet gets ``embed`` with that
        line on top instead (latest wins, the line is not lost).
        """
        if self.mode == "off":
            return
        for channel in self.rooms.announcements:
            waiting = self._embeds.pending(channel)
            mode: NowPlayingMode = "edit" if self.mode == "edit" else "post"
            if not post and mode == "post":
                mode = "post" if waiting is not None and waiting[1] == "post" else "edit"
            shown = embed
            back = self._back
            if carry_back and back is not None and waiting is not None and waiting[0] is back:
                shown = with_note(embed, str(back["description"]))
            self._embeds.offer(channel, (shown, mode))

    def _offer_show_states(self, show: ShowInfo) -> None:
        for channel in self.rooms.stages:
            self._topics.offer(channel, stage_topic(show))
        for channel in self.rooms.voices:
            self._statuses.offer(channel, voice_status(show))

    def _remember_show(self, show_id: str, show: ShowInfo) -> None:
        self._shows.pop(show_id, None)
        self._shows[show_id] = show  # the newest last
        while len(self._shows) > SHOWS_KEPT:
            del self._shows[next(iter(self._shows))]

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
