"""A clock driven by the stream position: offline time is start + frames × 20 ms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from radio.audio.frames import FRAME_DURATION


class FrameClock:
    """``now()`` is the instant of the frame about to be produced.

    ``position()`` returns the stream position (frames produced so far), e.g. the
    Infallible root's ``position``. Used to render a window of the programme
    offline with exactly the code that runs on air.
    """

    def __init__(self, start: datetime, position: Callable[[], int]) -> None:
        if start.tzinfo is None:
            raise ValueError("FrameClock needs an aware start")
        self.start = start.astimezone(UTC)
        self._position = position

    def now(self) -> datetime:
        return self.start + self._position() * FRAME_DURATION

    def frame_of(self, instant: datetime) -> int:
        """The first frame whose start is at or after ``instant``."""
        offset = instant.astimezone(UTC) - self.start
        return -(-offset // FRAME_DURATION)
