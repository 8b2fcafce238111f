"""The one frame format of the station.

A frame is 20 ms of 48 kHz stereo signed 16-bit little-endian PCM: 960 samples
per channel, 3,840 bytes. discord.py's ``AudioSource.read()`` expects exactly this.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

SAMPLE_RATE: Final = 48_000
CHANNELS: Final = 2
SAMPLE_WIDTH: Final = 2  # bytes, s16le
FRAME_MS: Final = 20
SAMPLES_PER_FRAME: Final = SAMPLE_RATE * FRAME_MS // 1000  # per channel: 960
FRAME_BYTES: Final = SAMPLES_PER_FRAME * CHANNELS * SAMPLE_WIDTH  # 3840
FRAMES_PER_SECOND: Final = 1000 // FRAME_MS  # 50
FRAME_DURATION: Final = timedelta(milliseconds=FRAME_MS)

SILENCE: Final = bytes(FRAME_BYTES)


def frames_for(seconds: float) -> int:
    """Return the number of whole frames in ``seconds`` (rounded to nearest)."""
    return round(seconds * FRAMES_PER_SECOND)


def seconds_for(frames: int) -> float:
    """Return the duration of ``frames`` frames in seconds."""
    return frames / FRAMES_PER_SECOND
