"""Blank detection: how long the audio has been below a level, counted in frames.

A frame is *blank* when its RMS level is below ``threshold_dbfs`` (-40 dBFS by
default: a full-scale square wave is 0 dBFS, digital silence is -inf). A
:class:`BlankDetector` counts blank frames in a row and says when the run has
reached its limit, once per run; a frame at or above the threshold starts the
count again. Nothing here reads a clock: the limit is a number of frames, so a
20 s rule is tested by pulling 1,000 frames as fast as FFmpeg decodes them.

The track sequencer feeds it what each track delivers (see
:class:`~radio.audio.sequence.TrackSequence`), to skip a track that is silent
for too long: a one-hour file of digital silence must not hold the air.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from radio.audio.frames import frames_for

DEFAULT_BLANK_DBFS: Final = -40.0
DEFAULT_BLANK_SECONDS: Final = 20.0
_FULL_SCALE_SQUARED: Final = 32768.0 * 32768.0


class BlankDetector:
    """Counts blank frames in a row (see the module docstring).

    ``seconds`` is the limit (at least one frame); ``threshold_dbfs`` the level
    below which a frame is blank. Not thread-safe: one reader feeds it. Raises
    ValueError for a limit that is not a positive finite number.
    """

    def __init__(
        self, seconds: float = DEFAULT_BLANK_SECONDS, threshold_dbfs: float = DEFAULT_BLANK_DBFS
    ) -> None:
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError("the blank limit must be a positive number of seconds")
        self.limit = max(1, frames_for(seconds))
        # compare mean squares, not decibels: no logarithm per frame
        self._floor = _FULL_SCALE_SQUARED * 10.0 ** (threshold_dbfs / 10.0)
        self.run = 0  # blank frames in a row so far

    def reset(self) -> None:
        """Start counting again (a new track)."""
        self.run = 0

    def feed(self, frame: bytes) -> bool:
        """Count ``frame``; True exactly when it makes the run reach the limit
        (so once per run: later blank frames of the same run return False)."""
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        loud = samples.size > 0 and float(np.mean(samples * samples)) >= self._floor
        if loud:
            self.run = 0
            return False
        self.run += 1
        return self.run == self.limit
