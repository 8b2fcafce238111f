"""Conversions between frames (s16le bytes) and numpy arrays, and whole-file decoding.

Arrays are shaped ``(samples, 2)``: one row per sample instant, one column per
channel. Mixing happens in float32 (full scale = 1.0) and is converted back to
int16 with clipping, never wrap-around.
"""

from __future__ import annotations

import ffmpeg
import numpy as np
import numpy.typing as npt

from radio.audio.ffmpeg_cli import MEDIA_PROTOCOLS, file_url, require_regular_file, run_to_end
from radio.audio.frames import CHANNELS, SAMPLE_RATE
from radio.errors import DecoderError

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float32]

_SCALE = 32768.0


def to_int16(data: bytes) -> Int16Array:
    """Return ``data`` (interleaved s16le) as an int16 array of shape (n, 2)."""
    return np.frombuffer(data, dtype="<i2").reshape(-1, CHANNELS)


def to_float(data: bytes) -> FloatArray:
    """Return ``data`` (interleaved s16le) as float32 in [-1, 1), shape (n, 2)."""
    return to_int16(data).astype(np.float32) / np.float32(_SCALE)


def from_float(samples: FloatArray) -> bytes:
    """Return float samples as s16le bytes, clipped to the int16 range."""
    scaled = np.rint(samples * np.float32(_SCALE))
    return bytes(np.clip(scaled, -32768, 32767).astype("<i2").tobytes())


def decode_file(location: str, *, gain_db: float = 0.0) -> Int16Array:
    """Decode a whole file with FFmpeg to 48 kHz stereo int16, shape (n, 2).

    The same conversion the decoder uses, in one blocking call: for tests,
    benchmarks and tools, never for the player thread. Raises DecoderError when
    ``location`` is not a regular file or FFmpeg fails (confined to files and pipes).
    """
    require_regular_file(location, DecoderError)
    stream = ffmpeg.input(file_url(location), protocol_whitelist=MEDIA_PROTOCOLS)
    if gain_db:
        stream = stream.filter("volume", f"{gain_db}dB")
    args = ffmpeg.output(
        stream, "pipe:", format="s16le", acodec="pcm_s16le", ar=SAMPLE_RATE, ac=CHANNELS
    ).compile()
    pcm = run_to_end(args, action=f"decode {location}", error=DecoderError)
    return to_int16(pcm).copy()
