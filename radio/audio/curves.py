"""Gain curves for transitions, evaluated per sample.

Every curve is sampled at the *middle* of each sample interval:
``t_k = (k + 0.5) / length`` for sample ``k`` of a transition ``length`` samples
long, so a transition is symmetric and never contains a sample at exactly 0 or 1.

Crossfade (equal power): ``out(t) = cos(π/2 · t)``, ``in(t) = sin(π/2 · t)``.
``out² + in² = 1`` at every sample, so two uncorrelated tracks keep a constant
power through the transition (no dip in the middle, unlike a linear crossfade).

Ramps (fades and gain changes) are linear in amplitude from the start gain to the
end gain: ``g(t) = start + (end - start) · t``.
"""

from __future__ import annotations

import numpy as np

from radio.audio.pcm import FloatArray


def positions(start: int, count: int, length: int) -> FloatArray:
    """Return ``t_k = (k + 0.5) / length`` for k in [start, start + count), as a column."""
    k = np.arange(start, start + count, dtype=np.float64)
    return ((k + 0.5) / length).astype(np.float32).reshape(-1, 1)


def equal_power(start: int, count: int, length: int) -> tuple[FloatArray, FloatArray]:
    """Return (outgoing, incoming) gain columns for samples start..start+count-1."""
    t = positions(start, count, length)
    angle = t * np.float32(np.pi / 2)
    return np.cos(angle), np.sin(angle)


def ramp(start_gain: float, end_gain: float, start: int, count: int, length: int) -> FloatArray:
    """Return a linear ramp's gain column for samples start..start+count-1."""
    t = positions(start, count, length)
    return np.float32(start_gain) + np.float32(end_gain - start_gain) * t
