"""One sender per station: pull and encode each frame once, send it to every room.

discord.py gives every voice connection its own ``AudioPlayer`` thread that
wakes 50 times a second; with many rooms or stations those wake-ups cost more
than the audio (see BENCHMARKS.md, "On Discord"), and a late player catches up
by sending back to back. A :class:`Broadcaster` replaces them for one
:class:`~radio.bot.audio.SimulcastFeed`: one step per frame, one pull and one
Opus encode, then discord.py's public
``VoiceClient.send_audio_packet(packet, encode=False)`` for each connected room
(it adds that room's RTP header, DAVE and transport encryption). The steps of
every station of a process run on one thread, a
:class:`~radio.bot.sendloop.SendLoop`. The broadcaster takes its packets from
any :class:`PacketSource`: the station's feed encodes them, a relay node's
(:mod:`radio.relay`) takes them ready-made from an Icecast mount.

Timing (:class:`SendSchedule`): frame ``n`` is due at ``start + n × 20 ms`` on
the monotonic clock passed in, so small delays never accumulate. A late frame
is sent at once, but two sends are never closer than ``min_gap`` (12 ms): the
sender catches up gradually instead of in a burst, which listeners hear as
jitter. A sender more than ``max_late`` frames (100 ms) behind skips ahead:
the overdue frames are pulled from the station (so the programme stays where
the grid says) but not encoded or sent.

Stalls: a frame sent more than ``stall`` (60 ms) after its deadline has missed
a listener's jitter buffer (Discord clients keep a few tens of milliseconds;
the local Discord's recorder keeps 60): the listener hears a dropout even
though no frame is lost (discord.py numbers packets as they are sent, so RTP
sequence and timestamp stay contiguous). Each run of such frames is one stall,
counted (``radio_send_stalls_total``) and logged at WARNING with how late it
was. On a busy machine they come from a sender thread that is not at real-time
priority (see :mod:`radio.bot.sendloop`). The time between each two
consecutive frames taken off the schedule (sent, or pulled with no room
connected) is counted in a :class:`~radio.histogram.Histogram`
(``radio_send_interval_seconds``): plain integers on the sender thread, read at
scrape time.

What an ``AudioPlayer`` does that matters is kept: a room is told it is
speaking when it is attached and again after every reconnect; nothing is sent
while a room is disconnected; detaching a connected room sends five Opus
silence frames (so the listeners' decoders do not interpolate) and clears the
speaking flag. With no room connected the sender still pulls the station in
real time (without encoding), so the programme is at the grid-correct point
when a room comes back.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from dataclasses import dataclass
from typing import Final, Protocol

import discord
from discord.enums import SpeakingState

from radio.audio.frames import FRAME_MS
from radio.bot.audio import OPUS_SILENCE
from radio.histogram import Histogram, HistogramSnapshot

logger = logging.getLogger(__name__)

PERIOD_S: Final = FRAME_MS / 1000
MIN_GAP_S: Final = 0.012  # above the 10 ms floor, with room for the network's jitter
MAX_LATE_FRAMES: Final = 5  # 100 ms behind: skip ahead rather than send a backlog
STALL_S: Final = 0.060  # later than this, a listener's jitter buffer has run dry
STALLS_LOGGED: Final = 10  # stalls logged one by one; then one line per 100
STOP_SILENCE_FRAMES: Final = 5  # what discord.py's player sends when it stops
# Float error on deadlines computed from sums (0.06 - 0.04 != 0.02).
_EPSILON: Final = 1e-9
# Upper bounds (seconds) of the send-interval histogram: fine around the 20 ms
# period (a frame on time is 20 ms after the last), coarse out to a stall.
INTERVAL_BUCKETS: Final = (
    0.005, 0.010, 0.015, 0.019, 0.020, 0.021, 0.025, 0.030, 0.040, 0.060, 0.100, 0.250, 1.0,
)  # fmt: skip


class SendSchedule:
    """When each frame is sent: absolute deadlines, a minimum gap, skip-ahead when far behind.

    Pure arithmetic on the instants passed in (seconds of a monotonic clock);
    no thread, no clock of its own. :meth:`wait` says how long until the next
    send may happen; :meth:`take` records a send at ``now`` and says how many
    frames to skip before it. :attr:`intervals` counts the time between each
    two consecutive takes (:data:`INTERVAL_BUCKETS`; plain integers, no lock).
    """

    def __init__(
        self,
        start: float,
        *,
        period: float = PERIOD_S,
        min_gap: float = MIN_GAP_S,
        max_late: int = MAX_LATE_FRAMES,
        stall: float = STALL_S,
    ) -> None:
        if period <= 0:
            raise ValueError("the period must be positive")
        if not 0 <= min_gap <= period:
            raise ValueError("min_gap must be between 0 and the period")
        if max_late < 1:
            raise ValueError("max_late must be at least one frame")
        self.start = start
        self.period = period
        self.min_gap = min_gap
        self.max_late = max_late
        self.next = 0  # index of the next frame to send
        self.sent = 0  # frames sent
        self.skipped = 0  # frames skipped ahead (pulled, not sent)
        self.late = 0  # frames sent after their deadline plus half a period
        self.stall = stall
        self.stalls = 0  # runs of frames sent (or skipped) more than ``stall`` late
        self.stall_worst = 0.0  # seconds: how late the worst frame of the last stall was
        self._stalled = False  # the last frame taken was part of a stall
        self._last: float | None = None  # instant of the last send
        self.intervals = Histogram(INTERVAL_BUCKETS)  # seconds between consecutive takes

    def deadline(self, frame: int) -> float:
        """The instant frame ``frame`` is due."""
        return self.start + frame * self.period

    def send_at(self) -> float:
        """The earliest instant the next frame may be sent."""
        at = self.deadline(self.next)
        if self._last is not None:
            at = max(at, self._last + self.min_gap)
        return at

    def wait(self, now: float) -> float:
        """Seconds from ``now`` until the next send may happen; never negative."""
        return max(0.0, self.send_at() - now)

    def take(self, now: float) -> int:
        """Record that the next frame is sent at ``now``; return how many frames to skip first.

        Raises ValueError when ``now`` is before :meth:`send_at` (the caller
        must :meth:`wait`). The skipped frames are the ones whose deadline is
        more than ``max_late`` periods past: after a skip, the frame sent is
        the newest one already due.
        """
        if now + _EPSILON < self.send_at():
            raise ValueError("a frame may not be sent before its time")
        skip = 0
        lateness = now - self.deadline(self.next)
        if lateness > self.stall + _EPSILON:
            if not self._stalled:
                self.stalls += 1
                self.stall_worst = 0.0
            self._stalled = True
            self.stall_worst = max(self.stall_worst, lateness)
        else:
            self._stalled = False
        behind = lateness / self.period
        if behind > self.max_late + 1e-6:  # float error must not turn "on the bound" into "past"
            newest_due = math.floor((now - self.start) / self.period + _EPSILON)
            skip = newest_due - self.next
            self.next = newest_due
            self.skipped += skip
        elif behind > 0.5:
            self.late += 1
        self.next += 1
        self.sent += 1
        if self._last is not None:
            self.intervals.observe(now - self._last)
        self._last = now
        return skip


class PacketSource(Protocol):
    """Where a :class:`Broadcaster` takes one Opus packet of 20 ms per frame.

    :class:`~radio.bot.audio.SimulcastFeed` (the station: pull and encode) and
    :class:`~radio.relay.feed.RelayFeed` (a relay node: packets read from an
    Icecast mount) provide it. Every method is called from the sender thread
    and must return at once.
    """

    def next_packet(self) -> bytes | None:
        """The next frame's packet, or None once the source is closed for good."""
        ...

    def prepare(self) -> bool:
        """Make the next packet ready ahead, if that costs something; True if one was made."""
        ...

    def skip(self, frames: int) -> int:
        """Move on ``frames`` frames without sending them; return how many (0 once closed)."""
        ...


class Link(Protocol):
    """What the broadcaster needs of one voice connection (see :class:`VoiceLink`)."""

    name: str

    def is_connected(self) -> bool:
        """True while packets can be sent."""
        ...

    def session(self) -> object:
        """An object that changes when the connection is re-established (its voice WebSocket)."""
        ...

    def send(self, packet: bytes) -> None:
        """Send one Opus packet; raises on a connection failure."""
        ...

    def speak(self, speaking: bool) -> None:
        """Set the speaking flag (from any thread; does not wait)."""
        ...


class VoiceLink:
    """A :class:`Link` over a ``discord.VoiceClient``, through its public API."""

    def __init__(self, vc: discord.VoiceClient, name: str = "") -> None:
        self.vc = vc
        self.name = name or str(vc.channel)

    def is_connected(self) -> bool:
        """True while discord.py says the voice connection is up."""
        return self.vc.is_connected()

    def session(self) -> object:
        """The connection's current voice WebSocket (a new one after a reconnect)."""
        return self.vc.ws

    def send(self, packet: bytes) -> None:
        """Hand the Opus packet to discord.py (RTP header, encryption, UDP send)."""
        self.vc.send_audio_packet(packet, encode=False)

    def speak(self, speaking: bool) -> None:
        """Schedule the speaking flag on the client's event loop, as discord.py's player does."""
        state = SpeakingState.voice if speaking else SpeakingState.none
        try:
            asyncio.run_coroutine_threadsafe(self.vc.ws.speak(state), self.vc.loop)
        except Exception:
            # The loop is closed or the socket is gone: the connection is ending anyway.
            logger.debug("speaking flag for %s not sent", self.name, exc_info=True)


@dataclass(slots=True)
class _Room:
    link: Link
    session: object | None = None  # the session we last said "speaking" on
    sent: int = 0
    failures: int = 0


@dataclass(frozen=True, slots=True)
class BroadcastStats:
    """Counters of a broadcaster since it was made."""

    frames: int  # frames sent (each pulled and encoded once)
    idle: int  # frames pulled while no room was connected (not encoded)
    skipped: int  # frames pulled but not sent because the sender was too late
    late: int  # frames sent more than half a period after their deadline
    stalls: int  # runs of frames sent more than 60 ms late: dropouts for listeners
    rooms: int  # rooms attached now
    packets: int  # packets sent over all rooms (silence included)
    intervals: HistogramSnapshot  # seconds between consecutive frames taken (sent or idle)


class Broadcaster:
    """The sender of a feed: each 20 ms, one packet for every connected room.

    :meth:`step` is one scheduling decision at the instant passed in (seconds
    of a monotonic clock); a :class:`~radio.bot.sendloop.SendLoop` runs the
    steps of every station of the process on one thread. ``name`` names the
    station in logs.
    """

    def __init__(
        self,
        feed: PacketSource,
        *,
        name: str = "radio-sender",
        min_gap: float = MIN_GAP_S,
        max_late: int = MAX_LATE_FRAMES,
        hold: float = 0.0,
    ) -> None:
        self._feed = feed
        self.name = name
        self._min_gap = min_gap
        self._max_late = max_late
        self._hold = hold
        self._offered: float | None = None  # the first start offered to begin()
        self._schedule: SendSchedule | None = None
        self._rooms: dict[object, _Room] = {}
        # Held for a frame's fan-out and for attach/detach: discord.py's packet
        # counters are not thread-safe, so one thread at a time sends to a room.
        self._lock = threading.Lock()
        self._frames = 0
        self._idle = 0
        self._packets = 0
        self._skip_events = 0
        self._ended = False

    # -- rooms -----------------------------------------------------------------

    def attach(self, key: object, link: Link) -> bool:
        """Serve ``link`` under ``key`` (say, its VoiceClient); False if already served.

        The room is told it is speaking before its first packet.
        """
        with self._lock:
            if key in self._rooms:
                return False
            self._rooms[key] = _Room(link)
        logger.info("room %s attached to %s", link.name, self.name)
        return True

    def is_attached(self, key: object) -> bool:
        """True while ``key`` is served."""
        with self._lock:
            return key in self._rooms

    def detach(self, key: object) -> None:
        """Stop serving ``key`` (idempotent): five silence frames and not speaking, if connected.

        Call it before disconnecting, so that the silence goes out first.
        """
        with self._lock:
            room = self._rooms.pop(key, None)
            if room is not None:
                self._hush(room)

    def _hush(self, room: _Room) -> None:
        # Called with the lock held.
        if room.session is not None and room.link.is_connected():
            try:
                for _ in range(STOP_SILENCE_FRAMES):
                    room.link.send(OPUS_SILENCE)
                    room.sent += 1
                    self._packets += 1
            except Exception:
                # Inconsequential: the connection is going away anyway.
                logger.debug("silence to %s not sent", room.link.name, exc_info=True)
            room.link.speak(False)
        room.session = None

    # -- sending ---------------------------------------------------------------

    def begin(self, start: float) -> None:
        """Make frame 0 due at ``start`` (the send loop's grid); no-op once begun.

        With a ``hold`` (seconds), the schedule begins only once a room is
        connected, or when the start offered is ``hold`` past the first one
        offered: until then nothing is pulled, so the station's first frame
        goes to a listener rather than to no one while the first room joins.
        """
        if self._schedule is not None:
            return
        if self._hold > 0:
            if self._offered is None:
                self._offered = start
            if start - self._offered < self._hold:
                with self._lock:
                    if not any(room.link.is_connected() for room in self._rooms.values()):
                        return
        self._schedule = SendSchedule(start, min_gap=self._min_gap, max_late=self._max_late)

    @property
    def begun(self) -> bool:
        """True once the schedule has a start (:meth:`begin` or the first :meth:`step`)."""
        return self._schedule is not None

    def step(self, now: float) -> float:
        """Send the next frame if it is due at ``now``; return seconds until the next one is.

        A frame is pulled from the feed (and encoded only when a room is
        connected), then sent to every connected room. The first step begins
        the schedule at ``now`` unless :meth:`begin` was called. Returns 0 when
        the feed is closed (see :attr:`ended`). While a ``hold`` keeps the
        schedule from beginning, nothing is pulled and a period is returned.
        """
        if self._ended:
            return 0.0
        self.begin(now)
        schedule = self._schedule
        if schedule is None:
            return PERIOD_S  # held: no room yet (see begin)
        wait = schedule.wait(now)
        if wait > 0:
            return wait
        stalls = schedule.stalls
        skip = schedule.take(now)
        if schedule.stalls != stalls:
            self._stalled(schedule)
        if skip:
            self._skip_events += 1
            # The first time, then one line per 100 skips: a clear message, not a flood.
            if self._skip_events == 1 or self._skip_events % 100 == 0:
                logger.warning(
                    "%s was %d frames late: skipped them to stay on time"
                    " (%d skips, %d frames in all)",
                    self.name,
                    skip,
                    self._skip_events,
                    schedule.skipped,
                )
            self._feed.skip(skip)
        with self._lock:
            live = [room for room in self._rooms.values() if room.link.is_connected()]
            if not live:
                if self._feed.skip(1):
                    self._idle += 1
                    return schedule.wait(now)
                packet = None  # the feed is closed
            else:
                packet = self._feed.next_packet()
            if packet is None:
                for room in self._rooms.values():
                    self._hush(room)
                self._ended = True
                logger.info("%s: the feed is closed, sending stopped", self.name)
                return 0.0
            self._frames += 1
            for room in live:
                self._send(room, packet)
        return schedule.wait(now)

    def _stalled(self, schedule: SendSchedule) -> None:
        count = schedule.stalls
        if count <= STALLS_LOGGED or count % 100 == 0:
            logger.warning(
                "%s sent a frame %.0f ms late, past the listeners' %.0f ms jitter buffer:"
                " they hear a dropout (%d stalls so far); on a busy machine, give the"
                " sender real-time priority (docs/engine.md)",
                self.name,
                schedule.stall_worst * 1000,
                schedule.stall * 1000,
                count,
            )

    def prepare(self) -> bool:
        """Encode the next frame ahead if a room is connected; True if one was made.

        With no room connected nothing is encoded (the next step keeps time
        with the source's ``skip``).
        """
        if self._ended:
            return False
        with self._lock:
            if not any(room.link.is_connected() for room in self._rooms.values()):
                return False
            return self._feed.prepare()

    def _send(self, room: _Room, packet: bytes) -> None:
        # Called with the lock held.
        session = room.link.session()
        if session is not room.session:
            # First packet, or the connection was re-established: a new voice
            # WebSocket has not heard that we speak.
            room.link.speak(True)
            room.session = session
        try:
            room.link.send(packet)
        except Exception:
            room.failures += 1
            if room.failures == 1 or room.failures % 500 == 0:
                logger.exception("sending to %s failed (%d times)", room.link.name, room.failures)
            return
        room.sent += 1
        self._packets += 1

    def due(self, now: float) -> int:
        """How many frames are due by ``now`` since the first step (0 before it)."""
        schedule = self._schedule
        if schedule is None:
            return 0
        return max(0, math.floor((now - schedule.start) / schedule.period + _EPSILON) + 1)

    @property
    def ended(self) -> bool:
        """True once the feed was found closed: nothing more is sent."""
        return self._ended

    def stats(self) -> BroadcastStats:
        """A snapshot of the counters."""
        with self._lock:
            schedule = self._schedule
            return BroadcastStats(
                frames=self._frames,
                idle=self._idle,
                skipped=schedule.skipped if schedule is not None else 0,
                late=schedule.late if schedule is not None else 0,
                stalls=schedule.stalls if schedule is not None else 0,
                rooms=len(self._rooms),
                packets=self._packets,
                intervals=(
                    schedule.intervals.snapshot()
                    if schedule is not None
                    else HistogramSnapshot.empty(INTERVAL_BUCKETS)
                ),
            )

    def room_packets(self, key: object) -> int | None:
        """Packets sent to the room under ``key`` (silence included), None if not attached."""
        with self._lock:
            room = self._rooms.get(key)
            return None if room is None else room.sent

    def stop(self) -> None:
        """Detach every room (five silence frames and not speaking, if connected); idempotent.

        Remove the broadcaster from its send loop first, so that no frame
        follows the silence.
        """
        with self._lock:
            rooms, self._rooms = list(self._rooms.values()), {}
            for room in rooms:
                self._hush(room)
