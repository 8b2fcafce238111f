"""The station's feed: one station, one Opus encoder, any number of rooms.

A :class:`SimulcastFeed` owns the station's one ``discord.opus.Encoder``. On
air, the station's :class:`~radio.bot.sender.Broadcaster` (one sender thread)
takes a packet with :meth:`SimulcastFeed.next_packet` once per frame and sends
that same packet to every room, so a frame is pulled and encoded once whatever
the number of rooms. When nobody listens or the sender is late,
:meth:`SimulcastFeed.skip` keeps the programme in real time without encoding.

Nothing here waits: the station's ``read()`` never blocks (its contract) and
the lock is held for one pull and one encode (well under a millisecond). A
station that breaks its contract (raises, or returns a wrong-sized frame) is
sent as silence, and the fault is logged and counted.

Every packet encoded is also handed to the feed's :class:`PacketTaps` (the
recordings, the Icecast mounts): each subscriber takes it in its own bounded
queue and returns at once, so the sender never waits on a disk or a socket.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import discord
import discord.opus

from radio.audio.frames import FRAME_BYTES, SAMPLES_PER_FRAME, SILENCE
from radio.audio.source import Source

logger = logging.getLogger(__name__)

OPUS_SILENCE: Final = b"\xf8\xff\xfe"  # one 20 ms Opus frame of silence (what discord.py sends)
OPUS_BITRATE_KBPS: Final = 128  # discord.py's default, and what Discord's boosted rooms allow


def music_encoder(bitrate_kbps: int = OPUS_BITRATE_KBPS) -> discord.opus.Encoder:
    """The station's Opus encoder: CELT (libopus's music mode), no in-band FEC.

    discord.py's defaults (``fec=True``, 15 % expected loss) make libopus code
    every frame in hybrid mode (SILK, its speech codec, plus CELT) because
    in-band FEC exists only in SILK: about three times the CPU of CELT for
    music, with no protection worth having (see docs/sender.md). Raises
    ``discord.opus.OpusNotLoaded`` when libopus cannot be loaded and
    ValueError for a bitrate outside 16–512 kb/s.
    """
    return discord.opus.Encoder(bitrate=bitrate_kbps, fec=False, signal_type="music")


class OpusEncoder(Protocol):
    """What the feed needs of an encoder (``discord.opus.Encoder`` provides it)."""

    def encode(self, pcm: bytes, frame_size: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class FeedStats:
    """Counters of a feed since it was made."""

    pulled: int  # frames read from the station
    encoded: int  # Opus encodes performed
    station_faults: int  # reads that raised or returned a wrong-sized frame


class PacketTaps:
    """The subscribers to every packet the feed encodes: recordings, Icecast mounts.

    Called from the sender thread with the feed's lock held, so a subscriber
    must return at once (put the packet in its own bounded queue; never wait).
    A subscriber that raises is logged (once, then every 500 failures) and the
    others still get the packet. Subscribing and unsubscribing are safe from
    any thread: the sender reads an immutable tuple.

    A subscriber added with ``every_frame`` needs a continuous stream (a mount
    that listeners play in real time): while one is subscribed, the feed
    encodes the frames it would otherwise only pull (no room connected, or the
    sender skipping ahead), so those packets reach the subscribers too.
    """

    def __init__(self) -> None:
        self._taps: tuple[tuple[Callable[[bytes], None], bool], ...] = ()
        self._lock = threading.Lock()
        self.failures = 0

    @property
    def every_frame(self) -> bool:
        """True while a subscriber that needs every frame is subscribed."""
        return any(every for _, every in self._taps)

    def __len__(self) -> int:
        return len(self._taps)

    def add(self, tap: Callable[[bytes], None], *, every_frame: bool = False) -> Callable[[], None]:
        """Subscribe ``tap``; return a function that unsubscribes it (idempotent)."""
        entry = (tap, every_frame)
        with self._lock:
            self._taps = (*self._taps, entry)

        def remove() -> None:
            with self._lock:
                self._taps = tuple(t for t in self._taps if t is not entry)

        return remove

    def __call__(self, packet: bytes) -> None:
        """Hand ``packet`` to every subscriber, in subscription order. Never raises."""
        for tap, _ in self._taps:
            try:
                tap(packet)
            except Exception:
                self.failures += 1
                if _worth_logging(self.failures):
                    logger.exception("a packet tap failed (%d times)", self.failures)


class SimulcastFeed:
    """One station shared by many voice connections, pulled and encoded once per frame.

    ``encoder`` defaults to a fresh :func:`music_encoder` (128 kb/s, CELT, no
    FEC), which requires libopus (see :mod:`radio.preflight`). Safe to call from
    several threads (one lock). The feed does not own the station: :meth:`close`
    stops the feed but leaves the station to its owner.

    ``batch`` frames are pulled and encoded together when :meth:`next_packet`
    finds none ready: with 2, every other call does two frames back to back and
    the next call returns the second at once. A sender woken every 20 ms finds
    the CPU's caches cold, and the second frame of a pair costs about half the
    first (BENCHMARKS.md, "On Discord"); the price is that the programme is
    pulled up to ``batch - 1`` frames (20 ms each) before it is sent. Raises
    ValueError when ``batch`` is less than 1.

    :attr:`taps` receives every packet encoded (see :class:`PacketTaps`).
    """

    def __init__(
        self, station: Source, encoder: OpusEncoder | None = None, *, batch: int = 1
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least one frame")
        self._station = station
        self._encoder: OpusEncoder = encoder if encoder is not None else music_encoder()
        self._batch = batch
        self._ahead: deque[bytes] = deque()  # packets encoded, not yet handed out
        self._head = 0  # index of the next station frame to pull
        self._lock = threading.Lock()
        self._encoded = 0
        self._read_errors = 0
        self._bad_frames = 0
        self._closed = False
        # Given every packet encoded (recordings, mounts): each must not wait.
        self.taps = PacketTaps()

    @property
    def position(self) -> int:
        """Frames pulled from the station so far (the next frame's index).

        With a ``batch`` above 1 this runs up to ``batch - 1`` frames ahead of
        the packets handed out.
        """
        return self._head

    def stats(self) -> FeedStats:
        """A snapshot of the feed's counters."""
        with self._lock:
            return FeedStats(self._head, self._encoded, self._read_errors + self._bad_frames)

    def close(self) -> None:
        """Stop serving: :meth:`next_packet` returns None from now on. Idempotent."""
        with self._lock:
            self._closed = True
            self._ahead.clear()

    def next_packet(self) -> bytes | None:
        """Pull and encode the next frame; return its packet, or None once the feed is closed.

        For the station's single sender (:class:`~radio.bot.sender.Broadcaster`),
        which sends the packet to every room: every frame is one station read and
        one encode (``batch`` of them at once when none is ready).
        """
        with self._lock:
            if self._closed:
                return None
            if self._ahead:
                return self._ahead.popleft()
            packet = self._encode()
            for _ in range(self._batch - 1):
                self._ahead.append(self._encode())
            return packet

    def prepare(self) -> bool:
        """Pull and encode the next frame now, if none is ready; True if one was made.

        The next :meth:`next_packet` then returns it at once. A sender calls it
        after its sends, so that a frame's pull and encode do not delay the
        sends of the next tick (see :class:`~radio.bot.sendloop.SendLoop`); the
        programme is then pulled one frame (20 ms) before it is sent.
        """
        with self._lock:
            if self._closed or self._ahead:
                return False
            self._ahead.append(self._encode())
            return True

    def skip(self, frames: int) -> int:
        """Pull ``frames`` frames from the station without encoding them; return how many.

        Keeps the programme in real time when nobody listens or the sender is
        late. Packets already encoded ahead are dropped first (their frames
        were pulled). While a tap needs every frame (:attr:`PacketTaps.every_frame`:
        an Icecast mount), the frames are encoded for the taps all the same.
        Nothing is pulled once the feed is closed.
        """
        pulled = 0
        with self._lock:
            encode = self.taps.every_frame
            while pulled < frames and not self._closed:
                if self._ahead:
                    self._ahead.popleft()
                elif encode:
                    self._encode()
                else:
                    self._pull()
                pulled += 1
        return pulled

    def _encode(self) -> bytes:
        # Called with the lock held: pull the next frame and encode it.
        packet = self._encoder.encode(self._pull(), SAMPLES_PER_FRAME)
        self._encoded += 1
        if self.taps:
            self.taps(packet)
        return packet

    def _pull(self) -> bytes:
        # Called with the lock held: one frame of the station, silence if it broke.
        self._head += 1  # counted even when the read fails: the programme moved on
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
            return SILENCE
        if len(pcm) != FRAME_BYTES:
            self._bad_frames += 1
            if _worth_logging(self._bad_frames):
                logger.error(
                    "station returned %d bytes instead of %d (%d times); sending silence",
                    len(pcm),
                    FRAME_BYTES,
                    self._bad_frames,
                )
            return SILENCE
        return pcm


def _worth_logging(count: int) -> bool:
    # The first fault, then one line per 10 s of faults: a clear message, not a flood.
    return count == 1 or count % 500 == 0
