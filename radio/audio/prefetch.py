"""Prefetch: produce frames in small bursts to amortise a cold 50 Hz loop.

discord.py's player thread sleeps 20 ms between reads; after each sleep the
interpreter runs cold (caches evicted), and one read of a station tree costs
about five times what the same read costs warm (BENCHMARKS.md). Reading a burst
of ``frames`` frames at once pays that penalty once per burst: with 5 frames the
engine's CPU per audio second roughly halves.

The price is latency: a change made between bursts (a skip, a switch, a live
takeover) is heard up to ``frames - 1`` frames (80 ms for 5) later, and events
carry the position at which a frame was *produced*, up to ``frames - 1`` frames
ahead of what the listener hears at that instant.
"""

from __future__ import annotations

from collections import deque

from radio.audio.buffering import wait_buffered
from radio.audio.source import Source


class Prefetch:
    """Reads ``source`` ``frames`` frames at a time; hands them out one per read.

    Put it on top of the infallible root (the source must always return whole
    frames); only one thread may read it. Never blocks: a burst is ``frames``
    non-blocking reads.
    """

    def __init__(self, source: Source, frames: int = 5) -> None:
        if frames < 1:
            raise ValueError("frames must be at least 1")
        self.source = source
        self.frames = frames
        self._queue: deque[bytes] = deque()

    @property
    def ready(self) -> bool:
        return bool(self._queue) or self.source.ready

    @property
    def remaining(self) -> int | None:
        left = self.source.remaining
        return None if left is None else left + len(self._queue)

    @property
    def queued(self) -> int:
        """Frames produced but not yet handed out."""
        return len(self._queue)

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Offline pulling: nothing to wait for while frames are queued."""
        return bool(self._queue) or wait_buffered(self.source, timeout)

    def read(self) -> bytes:
        queue = self._queue
        if not queue:
            read = self.source.read
            queue.extend([read() for _ in range(self.frames)])
        return queue.popleft()

    def close(self) -> None:
        self._queue.clear()
        self.source.close()
