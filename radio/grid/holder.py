"""A seat in the station tree whose occupant can be changed: one show's source at a time."""

from __future__ import annotations

import threading

from radio.audio.buffering import wait_buffered
from radio.audio.frames import SILENCE
from radio.audio.source import Source


class Holder:
    """A Source that plays whatever source is seated in it (nothing: not ready, silence).

    It forwards the track-boundary calls (``hold_after_track``, ``resume``,
    ``holding``) to its occupant when the occupant has them, so that a switch can
    wait for the end of the occupant's current track (a soft start).
    """

    def __init__(self, occupant: Source | None = None) -> None:
        self._occupant = occupant
        self._lock = threading.Lock()

    @property
    def occupant(self) -> Source | None:
        with self._lock:
            return self._occupant

    def seat(self, occupant: Source | None) -> Source | None:
        """Seat ``occupant``; return the previous one (not closed: the caller decides)."""
        with self._lock:
            previous, self._occupant = self._occupant, occupant
            return previous

    @property
    def ready(self) -> bool:
        occupant = self.occupant
        return occupant is not None and occupant.ready

    @property
    def remaining(self) -> int | None:
        occupant = self.occupant
        return occupant.remaining if occupant is not None else None

    def read(self) -> bytes:
        occupant = self.occupant
        return occupant.read() if occupant is not None else SILENCE

    def close(self) -> None:
        occupant = self.seat(None)
        if occupant is not None:
            occupant.close()

    def wait_buffered(self, timeout: float | None = None) -> bool:
        occupant = self.occupant
        return True if occupant is None else wait_buffered(occupant, timeout)

    @property
    def holding(self) -> bool:
        return bool(getattr(self.occupant, "holding", False))

    def hold_after_track(self) -> None:
        method = getattr(self.occupant, "hold_after_track", None)
        if method is not None:
            method()

    def resume(self) -> None:
        method = getattr(self.occupant, "resume", None)
        if method is not None:
            method()
