"""Small sources and operators: Silence, Sine, Gain (ramps, fades, ducking), Mix.

Each is a Source. Generators (Silence, Sine) are always ready and endless;
operators (Gain, Mix) wrap other sources and report their readiness.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np

from radio.audio import curves
from radio.audio.buffering import wait_buffered
from radio.audio.frames import SAMPLE_RATE, SAMPLES_PER_FRAME, SILENCE
from radio.audio.pcm import from_float, to_float
from radio.audio.source import Endless, Source
from radio.audio.synth import amplitude


class Silence(Endless):
    """An endless, always-ready source of digital silence (intentional silence).

    Being ready, it ends a Fallback's search: leave it out of a station tree whose
    dead air should be detected (the Infallible root provides the silence then).
    """

    def read(self) -> bytes:
        return SILENCE

    def close(self) -> None:
        pass


class Sine(Endless):
    """An endless, always-ready stereo sine of ``freq_hz`` at peak ``level_dbfs``.

    Phase-continuous across frames: sample n (counted from the first read) is
    ``A·sin(2π·f·n / 48000)``.
    """

    def __init__(self, freq_hz: float, level_dbfs: float = -20.0) -> None:
        if freq_hz <= 0:
            raise ValueError(f"frequency must be positive, got {freq_hz}")
        self.freq_hz = freq_hz
        self.level_dbfs = level_dbfs
        self._amplitude = amplitude(level_dbfs)
        self._samples = 0

    def read(self) -> bytes:
        n = np.arange(self._samples, self._samples + SAMPLES_PER_FRAME, dtype=np.float64)
        # reduce the phase to one cycle in float64 so a sine running for days stays exact
        cycles = np.mod(n * self.freq_hz, SAMPLE_RATE) / SAMPLE_RATE
        mono = (self._amplitude * np.sin(2 * np.pi * cycles)).astype(np.float32)
        self._samples += SAMPLES_PER_FRAME
        return from_float(np.repeat(mono.reshape(-1, 1), 2, axis=1))

    def close(self) -> None:
        pass


class Gain:
    """Applies a gain to ``source``, changed with a linear ramp (fades, ducking).

    ``set_gain(db, ramp_frames)`` moves from the current gain to ``db`` over
    ``ramp_frames`` frames (0 = at the next frame); ``-inf`` dB is silence.
    Thread-safe: a command thread may duck while the player thread reads.
    """

    def __init__(self, source: Source, db: float = 0.0) -> None:
        self.source = source
        self._lock = threading.Lock()
        self._gain = _linear(db)
        self._start = self._gain
        self._target = self._gain
        self._ramp_length = 0  # samples
        self._ramp_position = 0

    @property
    def ready(self) -> bool:
        return self.source.ready

    @property
    def remaining(self) -> int | None:
        return self.source.remaining

    @property
    def gain_db(self) -> float:
        """The gain applied to the last sample read (dB; -inf when silent)."""
        with self._lock:
            return 20 * math.log10(self._gain) if self._gain > 0 else -math.inf

    def set_gain(self, db: float, ramp_frames: int = 0) -> None:
        """Ramp linearly (in amplitude) to ``db`` over ``ramp_frames`` frames."""
        with self._lock:
            self._start = self._gain
            self._target = _linear(db)
            self._ramp_length = max(0, ramp_frames) * SAMPLES_PER_FRAME
            self._ramp_position = 0
            if self._ramp_length == 0:
                self._gain = self._target

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Offline pulling: wait for the wrapped source (see radio.audio.buffering)."""
        return wait_buffered(self.source, timeout)

    def fade_out(self, frames: int) -> None:
        """Fade to silence over ``frames`` frames."""
        self.set_gain(-math.inf, frames)

    def fade_in(self, frames: int, db: float = 0.0) -> None:
        """Start from silence and ramp up to ``db`` over ``frames`` frames."""
        with self._lock:
            self._gain = 0.0
        self.set_gain(db, frames)

    def read(self) -> bytes:
        data = self.source.read()
        if self._gain == 1.0 and self._ramp_position >= self._ramp_length:
            return data  # unity and no ramp: the common case costs no lock and no copy
        with self._lock:
            if self._ramp_position < self._ramp_length:
                count = min(SAMPLES_PER_FRAME, self._ramp_length - self._ramp_position)
                column = curves.ramp(
                    self._start, self._target, self._ramp_position, count, self._ramp_length
                )
                if count < SAMPLES_PER_FRAME:
                    tail = np.full((SAMPLES_PER_FRAME - count, 1), self._target, np.float32)
                    column = np.concatenate([column, tail])
                self._ramp_position += count
                if self._ramp_position >= self._ramp_length:
                    self._gain = self._target
                else:
                    self._gain = float(column[-1, 0])
                return from_float(to_float(data) * column)
            gain = self._gain
        if gain == 1.0:
            return data
        if gain == 0.0:
            return SILENCE
        return from_float(to_float(data) * np.float32(gain))

    def close(self) -> None:
        self.source.close()


class Mix:
    """The sum of ``sources`` (e.g. a jingle over a bed), each with a static gain.

    Every child is read every frame (a child that is not ready contributes its
    silence). The sum is computed in float and clipped to full scale, so loud
    overlaps saturate instead of wrapping around. Ready when any child is ready.
    """

    def __init__(self, sources: Sequence[Source], gains_db: Sequence[float] | None = None) -> None:
        if not sources:
            raise ValueError("Mix needs at least one source")
        if gains_db is not None and len(gains_db) != len(sources):
            raise ValueError("one gain per source")
        self.sources = list(sources)
        self._gains = [np.float32(_linear(db)) for db in (gains_db or [0.0] * len(sources))]

    @property
    def ready(self) -> bool:
        return any(s.ready for s in self.sources)

    @property
    def remaining(self) -> int | None:
        return None

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Offline pulling: wait for every child (see radio.audio.buffering)."""
        return all(wait_buffered(s, timeout) for s in self.sources)

    def read(self) -> bytes:
        total = to_float(self.sources[0].read()) * self._gains[0]
        for source, gain in zip(self.sources[1:], self._gains[1:], strict=True):
            total += to_float(source.read()) * gain
        return from_float(total)

    def close(self) -> None:
        for source in self.sources:
            source.close()


def _linear(db: float) -> float:
    return 0.0 if db == -math.inf else float(10.0 ** (db / 20.0))
