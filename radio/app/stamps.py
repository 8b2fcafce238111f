"""Frame stamps: which wall-clock instant each station frame was produced at.

Station events carry stream positions (frames), not times. On air, the
application maps a frame to the instant it was read by wrapping the station
root in :class:`FrameStamps`, which notes ``clock.now()`` at every read. The
announcements, the demo's now-playing page and the end-to-end tests (did the
hard start land on its frame?) ask it.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

from radio.audio.frames import FRAME_MS
from radio.audio.root import Infallible
from radio.clock import Clock

FRAME = timedelta(milliseconds=FRAME_MS)


class FrameStamps:
    """A Source in front of the station root that remembers when each frame was read.

    Keeps the last ``keep`` stamps (default ten minutes of frames). Reading,
    readiness and closing are the root's own; only ``read`` notes the time.
    Thread-safe: the player thread reads, any thread asks.
    """

    def __init__(self, root: Infallible, clock: Clock, *, keep: int = 30_000) -> None:
        if keep < 1:
            raise ValueError("keep at least one stamp")
        self.root = root
        self._clock = clock
        self._stamps: deque[tuple[int, datetime]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.root.ready

    @property
    def remaining(self) -> int | None:
        return self.root.remaining

    @property
    def position(self) -> int:
        """The station position of the next frame."""
        return self.root.position

    def read(self) -> bytes:
        """Read one frame of the root, noting the instant it was asked for."""
        frame = self.root.position
        now = self._clock.now()
        pcm = self.root.read()
        with self._lock:
            self._stamps.append((frame, now))
        return pcm

    def close(self) -> None:
        self.root.close()

    def stamps(self) -> list[tuple[int, datetime]]:
        """The remembered (frame, instant) pairs, oldest first."""
        with self._lock:
            return list(self._stamps)

    def instant_of(self, frame: int) -> datetime | None:
        """When ``frame`` was read, or (for a frame not read yet or forgotten) the
        instant extrapolated from the nearest stamp at 20 ms per frame; None
        before the first read."""
        with self._lock:
            if not self._stamps:
                return None
            first_frame = self._stamps[0][0]
            index = frame - first_frame
            if 0 <= index < len(self._stamps) and self._stamps[index][0] == frame:
                return self._stamps[index][1]
            # Frames are consecutive unless someone else read the root too: search.
            nearest = min(self._stamps, key=lambda stamp: abs(stamp[0] - frame))
        return nearest[1] + (frame - nearest[0]) * FRAME
