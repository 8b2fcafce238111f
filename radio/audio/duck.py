"""Duck: talk-over, the music lowered while a presenter speaks (a broadcast desk's duck).

The envelope is a gain in dB, moved sample by sample toward a target: the
``depth`` (e.g. -15 dB) while the duck is *keyed*, 0 dB otherwise. It moves at
most ``|depth| / attack`` dB per sample going down and ``|depth| / release``
going up, so a full duck takes ``attack`` and a full return ``release`` (a
key lifted midway returns from where the envelope stood). The ramps are linear
in dB (the level falls and rises evenly to the ear), sample-exact, and
continuous across frame edges: the envelope carries over from one frame to
the next, so no frame boundary ever shows a step.

The duck is keyed while any key is on (``key_on(key, at)``: a presenter's
mic is open, or they are talking) and for ``hold`` after a key goes off
(``key_off(key, at)``), so that the gaps between words do not pump the music.
``at`` is a stream position in samples (:attr:`Duck.position` is the next
sample read): a key that changes within the frame about to be read takes effect
at its exact sample; a change in the past takes effect at once (a key_off in
the past still counts its hold from ``at``).

Time is the caller's: the duck counts the samples it produces, or follows a
``position`` function (the station root's frame counter) so that frames it was
not asked for (the live branch had the air) still move the envelope on.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radio.audio.buffering import wait_buffered
from radio.audio.frames import SAMPLE_RATE, SAMPLES_PER_FRAME
from radio.audio.pcm import from_float, to_float
from radio.audio.source import Source

DEPTH_RANGE = (-30.0, 0.0)
# Rates never fall below those of a 3 dB duck, so that a depth of 0 (off) still
# lets a duck in progress come back up.
_MIN_RATE_DB = 3.0


@dataclass(frozen=True, slots=True)
class DuckRules:
    """Depth (dB, -30 to 0) and timing (seconds) of the duck."""

    depth_db: float = -15.0
    attack: float = 0.1
    hold: float = 0.4
    release: float = 1.0

    def __post_init__(self) -> None:
        low, high = DEPTH_RANGE
        if not low <= self.depth_db <= high:
            raise ValueError(f"duck depth must be between {low:g} and {high:g} dB")
        for name in ("attack", "release"):
            if not 0.001 <= getattr(self, name) <= 10:
                raise ValueError(f"duck {name} must be between 0.001 and 10 s")
        if not 0 <= self.hold <= 30:
            raise ValueError("duck hold must be between 0 and 30 s")


class Duck:
    """Lowers ``source`` by the rules' depth while keyed (see the module docstring).

    ``position`` gives the stream position in frames of the frame about to be
    read (default: the frames this duck has read). Thread-safe: keys change
    from any thread while the player thread reads. Ready, remaining and close
    are the source's.
    """

    def __init__(
        self,
        source: Source,
        rules: DuckRules | None = None,
        *,
        position: Callable[[], int] | None = None,
    ) -> None:
        self.source = source
        self._rules = rules or DuckRules()
        self._position = position
        self._lock = threading.Lock()
        self._read_frames = 0
        self._next = 0  # the sample the envelope stands at
        self._db = 0.0  # the envelope's gain at sample ``_next`` (before it)
        self._on: dict[Hashable, int] = {}  # keys that are on -> since (sample)
        self._hold_end = 0  # keyed until this sample (keys gone off, plus hold)
        self._depth = self._rules.depth_db
        self._rates = self._rates_for(self._depth)

    # -- keys -----------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The stream position (samples) of the next sample read."""
        frames = self._position() if self._position is not None else self._read_frames
        return frames * SAMPLES_PER_FRAME

    @property
    def rules(self) -> DuckRules:
        return self._rules

    @property
    def depth_db(self) -> float:
        with self._lock:
            return self._depth

    @property
    def gain_db(self) -> float:
        """The envelope's gain at the last sample produced (dB)."""
        with self._lock:
            return self._db

    @property
    def keyed(self) -> bool:
        """Whether a key is on, or a hold runs, at the next sample read."""
        with self._lock:
            return bool(self._on) or self._hold_end > self._next

    def set_depth(self, db: float) -> None:
        """Duck by ``db`` from now on (the envelope moves to it at the new depth's
        rates). Raises ValueError outside -30..0 dB."""
        low, high = DEPTH_RANGE
        if not math.isfinite(db) or not low <= db <= high:
            raise ValueError(f"duck depth must be between {low:g} and {high:g} dB")
        with self._lock:
            self._depth = db
            self._rates = self._rates_for(db)

    def key_on(self, key: Hashable, at: int) -> None:
        """``key`` (a presenter) keys the duck from sample ``at``; a key already on stays
        on from its first ``at``."""
        with self._lock:
            self._on.setdefault(key, at)

    def key_off(self, key: Hashable, at: int) -> None:
        """``key`` stops keying at sample ``at``: the duck holds until ``at + hold``
        (or while another key is on), then releases. A key that was not on is ignored."""
        with self._lock:
            if self._on.pop(key, None) is None:
                return
            hold = round(self._rules.hold * SAMPLE_RATE)
            self._hold_end = max(self._hold_end, at + hold)

    def clear(self) -> None:
        """Lift every key and hold now (the envelope releases from where it stands)."""
        with self._lock:
            self._on.clear()
            self._hold_end = 0

    # -- Source -----------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.source.ready

    @property
    def remaining(self) -> int | None:
        return self.source.remaining

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Offline pulling: wait for the wrapped source (see radio.audio.buffering)."""
        return wait_buffered(self.source, timeout)

    def read(self) -> bytes:
        start = self.position
        data = self.source.read()
        self._read_frames += 1
        with self._lock:
            if start > self._next:  # frames went by unread: the envelope moved on too
                self._skip(self._next, start - self._next)
            self._next = start + SAMPLES_PER_FRAME
            if not self._on and self._hold_end <= start and self._db == 0.0:
                return data  # not ducked: the common case costs no copy
            gains = self._envelope(start, SAMPLES_PER_FRAME)
        column = gains.astype(np.float32).reshape(-1, 1)
        return from_float(to_float(data) * column)

    def close(self) -> None:
        self.source.close()

    # -- the envelope -------------------------------------------------------------------

    def _rates_for(self, depth: float) -> tuple[float, float]:
        size = max(abs(depth), _MIN_RATE_DB)
        return (
            size / (self._rules.attack * SAMPLE_RATE),
            size / (self._rules.release * SAMPLE_RATE),
        )

    def _skip(self, start: int, count: int) -> None:
        # Only the last stretch can still be moving (no ramp is longer than
        # attack + release); before it the envelope stood at its target.
        longest = round((self._rules.attack + self._rules.release) * SAMPLE_RATE) + 1
        if count > longest:
            start, count = start + count - longest, longest
            self._db = self._depth if self._keyed_at(start) else 0.0
        self._envelope(start, count)

    def _keyed_at(self, sample: int) -> bool:
        return self._hold_end > sample or any(since <= sample for since in self._on.values())

    def _envelope(self, start: int, count: int) -> npt.NDArray[np.float64]:
        """Advance the envelope over samples [start, start + count); return their
        linear gains. Called with the lock held."""
        edges = {0, count}
        for since in self._on.values():
            if start < since < start + count:
                edges.add(since - start)
        if start < self._hold_end < start + count:
            edges.add(self._hold_end - start)
        cuts = sorted(edges)
        out = np.empty(count, dtype=np.float64)
        down, up = self._rates
        db = self._db
        for begin, end in itertools.pairwise(cuts):
            target = self._depth if self._keyed_at(start + begin) else 0.0
            steps = np.arange(1, end - begin + 1, dtype=np.float64)
            if db > target:
                segment = np.maximum(target, db - down * steps)
            elif db < target:
                segment = np.minimum(target, db + up * steps)
            else:
                segment = np.full(end - begin, target)
            out[begin:end] = segment
            db = float(segment[-1])
        self._db = db
        return np.power(10.0, out / 20.0)


__all__ = ["DEPTH_RANGE", "Duck", "DuckRules"]
