"""What the demo's listener heard in the broadcast room, frame by frame, and how loud."""

from __future__ import annotations

import math

import numpy as np

from radio.demo.runner import Demo


def heard(demo: Demo) -> list[bytes]:
    """The PCM of each frame the listener decoded in the broadcast room, in send order."""
    packets = demo.emulator.record.audio_packets(channel_id=demo.room_id)
    return [p.pcm for p in sorted(packets, key=lambda p: p.sequence) if p.pcm is not None]


def levels(frames: list[bytes], reference: slice) -> np.ndarray:
    """Each frame's RMS in dB relative to the median of the ``reference`` frames."""
    rms = np.array(
        [math.sqrt(float(np.mean(np.frombuffer(f, "<i2").astype(np.float64) ** 2))) for f in frames]
    )
    return np.array(20 * np.log10(np.maximum(rms, 1e-9) / np.median(rms[reference])))
