"""The voice adapter: one station, one Opus encoder, any number of rooms.

On air, a :class:`~radio.bot.sender.Broadcaster` thread takes the feed's
packets with :meth:`SimulcastFeed.next_packet` and sends each to every room.
The readers below (:class:`StationAudio`, one discord.py ``AudioPlayer`` per
room) remain for callers that want discord.py's own player.

discord.py gives every voice connection its own ``AudioPlayer`` thread that
calls ``source.read()`` every 20 ms and, when ``source.is_opus()`` is true,
sends the returned bytes as they are (``send_audio_packet(data, encode=False)``)
after its own per-connection DAVE and transport encryption. So encoding can be
shared: a :class:`SimulcastFeed` owns the station and one
``discord.opus.Encoder``, and each room plays a :class:`StationAudio` reader on
it.

Frame ``k`` of the station is pulled and encoded once, by whichever reader asks
for it first; the other readers get the very same packet from a small ring.
Nothing here waits: the station's ``read()`` never blocks (its contract), the
lock is held for one pull and one encode (well under a millisecond), and a
reader that fell further behind than the ring holds (a room that was
reconnecting, a starved thread) jumps to the newest frame instead of making the
others wait or replaying stale audio.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import discord
import discord.opus

from radio.audio.frames import (
    FRAME_BYTES,
    FRAME_MS,
    FRAMES_PER_SECOND,
    SAMPLES_PER_FRAME,
    SILENCE,
)
from radio.audio.source import Source

logger = logging.getLogger(__name__)

DEFAULT_CAPACITY: Final = 50  # one second of packets: covers a slow thread, not an outage
OPUS_SILENCE: Final = b"\xf8\xff\xfe"  # one 20 ms Opus frame of silence (what discord.py sends)


class OpusEncoder(Protocol):
    """What the feed needs of an encoder (``discord.opus.Encoder`` provides it)."""

    def encode(self, pcm: bytes, frame_size: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class FeedStats:
    """Counters of a feed since it was made."""

    pulled: int  # frames read from the station
    encoded: int  # Opus encodes performed
    station_faults: int  # reads that raised or returned a wrong-sized frame
    readers: int  # rooms currently attached


@dataclass(frozen=True, slots=True)
class ReaderStats:
    """Counters of one room's reader."""

    sent: int  # packets handed to discord.py
    skipped: int  # station frames this room never got because it lagged
    last_index: int | None  # station frame index of the last packet, None before the first


class SimulcastFeed:
    """One station shared by many voice connections, pulled and encoded once per frame.

    ``encoder`` defaults to a fresh ``discord.opus.Encoder()`` (128 kb/s, FEC),
    which requires libopus (see :mod:`radio.preflight`). ``capacity`` is how many
    recent packets are kept for readers that are behind. The feed does not own
    the station: :meth:`close` detaches readers but leaves the station to its owner.
    """

    def __init__(
        self,
        station: Source,
        encoder: OpusEncoder | None = None,
        *,
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        if capacity < 2:
            raise ValueError("a simulcast ring needs room for at least 2 packets")
        self._station = station
        self._encoder: OpusEncoder = encoder if encoder is not None else discord.opus.Encoder()
        self._capacity = capacity
        self._ring: list[bytes] = [b""] * capacity
        self._head = 0  # index of the next station frame to pull
        self._lock = threading.Lock()
        self._readers = 0
        self._encoded = 0
        self._read_errors = 0
        self._bad_frames = 0
        self._closed = False

    @property
    def position(self) -> int:
        """Frames pulled from the station so far (the next frame's index)."""
        return self._head

    def stats(self) -> FeedStats:
        """A snapshot of the feed's counters."""
        with self._lock:
            return FeedStats(
                self._head, self._encoded, self._read_errors + self._bad_frames, self._readers
            )

    def reader(self, name: str = "") -> StationAudio:
        """Return a new reader for one voice connection, starting at the live edge."""
        with self._lock:
            self._readers += 1
            start = self._head
        return StationAudio(self, start, name)

    def close(self) -> None:
        """Stop serving: every reader's next ``read()`` ends its player. Idempotent."""
        with self._lock:
            self._closed = True

    def packet_at(self, cursor: int) -> tuple[int, bytes, int] | None:
        """Return (frame index, packet, frames skipped) for a reader at ``cursor``.

        ``cursor`` is the index of the frame the reader wants next. Returns None
        once the feed is closed. Never blocks beyond one pull and one encode.
        """
        with self._lock:
            if self._closed:
                return None
            skipped = 0
            if cursor < self._head - self._capacity:
                # Too far behind for the ring: rejoin at the newest frame.
                skipped = self._head - 1 - cursor
                cursor = self._head - 1
            if cursor >= self._head:
                self._produce()
                cursor = self._head - 1
            return cursor, self._ring[cursor % self._capacity], skipped

    def next_packet(self) -> bytes | None:
        """Pull and encode the next frame; return its packet, or None once the feed is closed.

        For a single sender (:class:`~radio.bot.sender.Broadcaster`): every call
        is one station read and one encode. Readers see the same packets.
        """
        with self._lock:
            if self._closed:
                return None
            self._produce()
            return self._ring[(self._head - 1) % self._capacity]

    def skip(self, frames: int) -> int:
        """Pull ``frames`` frames from the station without encoding them; return how many.

        Keeps the programme in real time when nobody listens or the sender is
        late. Readers that ask for these frames get Opus silence. Nothing is
        pulled once the feed is closed.
        """
        pulled = 0
        with self._lock:
            while pulled < frames and not self._closed:
                self._produce(encode=False)
                pulled += 1
        return pulled

    def _produce(self, *, encode: bool = True) -> None:
        # Called with the lock held: pull one frame and encode it for every room.
        try:
            pcm = self._station.read()
        except Exception:
            # The station is infallible by contract; if it breaks anyway, the
            # rooms keep a steady stream of silence rather than stopping.
            self._read_errors += 1
            if _worth_logging(self._read_errors):
                logger.exception(
                    "station read failed (%d times); sending silence", self._read_errors
                )
            pcm = SILENCE
        if len(pcm) != FRAME_BYTES:
            self._bad_frames += 1
            if _worth_logging(self._bad_frames):
                logger.error(
                    "station returned %d bytes instead of %d (%d times); sending silence",
                    len(pcm),
                    FRAME_BYTES,
                    self._bad_frames,
                )
            pcm = SILENCE
        if encode:
            self._ring[self._head % self._capacity] = self._encoder.encode(pcm, SAMPLES_PER_FRAME)
            self._encoded += 1
        else:
            self._ring[self._head % self._capacity] = OPUS_SILENCE
        self._head += 1

    def keep_up(self, target: int) -> int:
        """Pull (and encode) frames until ``target`` frames have been pulled; return how many.

        For the :class:`Pacer`: it keeps the programme moving in real time while
        no room is reading (all rooms reconnecting), so that the station is at
        the grid-correct point when audio comes back.
        """
        pulled = 0
        with self._lock:
            while self._head < target and not self._closed:
                self._produce()
                pulled += 1
        return pulled

    def release(self) -> None:
        """Forget one reader (called by :meth:`StationAudio.cleanup`)."""
        with self._lock:
            self._readers -= 1


class Pacer:
    """Keeps a feed's station at real time when no room pulls it.

    Each :meth:`tick` compares the frames pulled with the frames due since the
    pacer started (by the ``monotonic`` clock passed in) and pulls what is more
    than ``slack`` frames late. Rooms that play normally stay ahead of it, so
    it costs nothing then; while every room is reconnecting it stands in for
    them. :meth:`start` runs ticks on a daemon thread every 20 ms.
    """

    def __init__(
        self, feed: SimulcastFeed, monotonic: Callable[[], float], *, slack: int = 10
    ) -> None:
        if slack < 0:
            raise ValueError("slack cannot be negative")
        self._feed = feed
        self._monotonic = monotonic
        self._slack = slack
        self._origin = monotonic()
        self._origin_frame = feed.position
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pulled = 0  # frames this pacer pulled itself

    @property
    def slack(self) -> int:
        """How many frames late the station may be before the pacer pulls."""
        return self._slack

    def due(self) -> int:
        """The number of frames the station should have produced by now."""
        elapsed = (self._monotonic() - self._origin) * FRAMES_PER_SECOND
        # The epsilon absorbs float error (249.99999 frames is 250 frames).
        return self._origin_frame + math.floor(elapsed + 1e-6)

    def tick(self) -> int:
        """Pull the frames that are overdue; return how many."""
        pulled = self._feed.keep_up(self.due() - self._slack)
        self.pulled += pulled
        return pulled

    def start(self) -> None:
        """Tick every 20 ms on a daemon thread until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="radio-pacer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread (idempotent) and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(FRAME_MS / 1000):
            try:
                self.tick()
            except Exception:
                logger.exception("the pacer failed to pull the station")


def _worth_logging(count: int) -> bool:
    # The first fault, then one line per 10 s of faults: a clear message, not a flood.
    return count == 1 or count % 500 == 0


class StationAudio(discord.AudioSource):
    """One voice connection's never-ending view of a :class:`SimulcastFeed`.

    ``read()`` returns one Opus packet per call and never blocks; it returns
    ``b''`` (which ends discord.py's player) only once the feed is closed.
    Made by :meth:`SimulcastFeed.reader`; ``cleanup()`` detaches it and leaves the
    station playing for the other rooms.
    """

    def __init__(self, feed: SimulcastFeed, start: int, name: str = "") -> None:
        self._feed = feed
        self._cursor = start
        self.name = name
        self._sent = 0
        self._skipped = 0
        self._last: int | None = None
        self._attached = True
        self._detach_lock = threading.Lock()

    def read(self) -> bytes:
        """Return the next 20 ms Opus packet of the station (b'' once the feed is closed)."""
        got = self._feed.packet_at(self._cursor)
        if got is None:
            return b""
        index, packet, skipped = got
        if skipped:
            logger.warning("room %s lagged: skipped %d frames to rejoin live", self.name, skipped)
        self._cursor = index + 1
        self._last = index
        self._sent += 1
        self._skipped += skipped
        return packet

    def is_opus(self) -> bool:
        """True: the feed hands discord.py encoded packets (one encode for all rooms)."""
        return True

    def cleanup(self) -> None:
        """Detach from the feed (idempotent). The station keeps playing for other rooms."""
        with self._detach_lock:
            if self._attached:
                self._attached = False
                self._feed.release()

    def stats(self) -> ReaderStats:
        """A snapshot of this reader's counters."""
        return ReaderStats(self._sent, self._skipped, self._last)
