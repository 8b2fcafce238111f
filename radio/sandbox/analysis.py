"""Measuring what the listener heard: tone frequencies, their order, and arrival gaps.

For tests (here and in the station's end-to-end tests): make tones with FFmpeg,
play them through the bot, then ask :func:`tone_runs` which tones arrived in
which order and :func:`arrival_gaps` whether the packets came every 20 ms.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radio.sandbox.record import SAMPLE_RATE, PacketRecord

# Zero-padding to this many points resolves a pure tone's peak to ~0.05 Hz.
_FFT_POINTS = 1 << 20


def mono(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    """Average an (n, channels) int16 array to float mono in [-1, 1)."""
    data = samples.astype(np.float64) / 32768.0
    return data.mean(axis=1) if data.ndim == 2 else data


def peak_frequency(signal: npt.NDArray[np.float64], rate: int = SAMPLE_RATE) -> float:
    """Return the frequency (Hz) of the strongest spectral peak of ``signal``.

    Hann-windowed and zero-padded, so a steady tone of a few hundred
    milliseconds is located well within 1 Hz. Raises ValueError on an empty
    signal.
    """
    if signal.size == 0:
        raise ValueError("cannot find the peak of an empty signal")
    windowed = (signal - signal.mean()) * np.hanning(signal.size)
    points = max(_FFT_POINTS, signal.size)
    spectrum = np.abs(np.fft.rfft(windowed, n=points))
    return float(np.argmax(spectrum)) * rate / points


def rms(signal: npt.NDArray[np.float64]) -> float:
    """Root mean square level of ``signal`` (1.0 = full scale square wave)."""
    return float(np.sqrt(np.mean(np.square(signal)))) if signal.size else 0.0


@dataclass(frozen=True)
class ToneRun:
    """A stretch of one steady tone: where it starts and ends (samples) and its pitch."""

    start: int
    stop: int
    frequency: float

    @property
    def seconds(self) -> float:
        return (self.stop - self.start) / SAMPLE_RATE


def tone_runs(
    samples: npt.NDArray[np.int16],
    *,
    window_seconds: float = 0.05,
    tolerance_hz: float = 25.0,
    min_windows: int = 3,
    silence_rms: float = 0.01,
    rate: int = SAMPLE_RATE,
) -> list[ToneRun]:
    """Split audio into runs of one steady tone, in order.

    The audio is cut into windows; a window is silent below ``silence_rms`` or
    else has a coarse peak. Consecutive windows within ``tolerance_hz`` of each
    other form a run; runs shorter than ``min_windows`` (transitions, clicks)
    are dropped. Each run's frequency is then measured precisely over its
    inner part (one window trimmed at each end, away from the transitions).
    """
    signal = mono(samples)
    size = max(1, round(window_seconds * rate))
    coarse: list[float | None] = []
    for begin in range(0, signal.size - size + 1, size):
        window = signal[begin : begin + size]
        coarse.append(None if rms(window) < silence_rms else peak_frequency(window, rate))
    runs: list[ToneRun] = []
    index = 0
    while index < len(coarse):
        first = coarse[index]
        end = index + 1
        if first is not None:
            while end < len(coarse):
                value = coarse[end]
                if value is None or abs(value - first) > tolerance_hz:
                    break
                end += 1
            if end - index >= min_windows:
                inner = signal[(index + 1) * size : (end - 1) * size]
                runs.append(ToneRun(index * size, end * size, peak_frequency(inner, rate)))
        index = end
    return runs


def arrival_gaps(packets: Sequence[PacketRecord]) -> list[float]:
    """Seconds between consecutive packet arrivals, in order."""
    return [b.arrival - a.arrival for a, b in itertools.pairwise(packets)]


def missing_sequences(packets: Sequence[PacketRecord]) -> list[int]:
    """RTP sequence numbers absent between the first and last packet (mod 2**16)."""
    if not packets:
        return []
    missing: list[int] = []
    for a, b in itertools.pairwise(packets):
        step = (b.sequence - a.sequence) % 65536
        missing.extend((a.sequence + k) % 65536 for k in range(1, step))
    return missing
