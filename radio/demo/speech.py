"""Spoken words for the demo's station IDs and jingles, with ``espeak-ng`` when installed.

:func:`speak` runs ``espeak-ng`` (the Debian package of that name) to a WAV on
stdout and returns 48 kHz mono float samples. The demo falls back to its chime
alone when the program is missing or fails: :func:`espeak_binary` says which.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import wave
from typing import Final

import numpy as np

from radio.audio.frames import SAMPLE_RATE
from radio.demo.music import Samples
from radio.errors import SourceError

logger = logging.getLogger(__name__)

SPEAK_TIMEOUT_S: Final = 30.0
MAX_TEXT: Final = 200  # the demo's own lines are short; a bound on the work all the same


def espeak_binary() -> str | None:
    """The path of ``espeak-ng`` on PATH, or None when it is not installed."""
    return shutil.which("espeak-ng")


def speak(binary: str, text: str, *, voice: str = "en", speed: int = 150) -> Samples:
    """``text`` read by espeak-ng's ``voice`` at ``speed`` words a minute, as 48 kHz mono.

    The result peaks at full scale. Raises ValueError for an empty or over-long
    text, SourceError when espeak-ng cannot run, fails, or writes no audio.
    """
    if not text.strip() or len(text) > MAX_TEXT:
        raise ValueError(f"text must be 1 to {MAX_TEXT} characters")
    args = [binary, "-v", voice, "-s", str(speed), "--stdout", text]
    try:
        result = subprocess.run(args, capture_output=True, timeout=SPEAK_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceError(f"cannot run espeak-ng: {exc}") from exc
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise SourceError(f"espeak-ng failed ({result.returncode}): {message}")
    try:
        with wave.open(io.BytesIO(result.stdout)) as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise SourceError(f"espeak-ng wrote no readable WAV: {exc}") from exc
    if width != 2 or not raw:
        raise SourceError("espeak-ng wrote no 16-bit audio")
    pcm = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    mono = pcm.reshape(-1, channels).mean(axis=1)
    # espeak-ng speaks at 22.05 kHz: linear interpolation is plenty for a voice
    positions = np.arange(round(mono.shape[0] * SAMPLE_RATE / rate)) * (rate / SAMPLE_RATE)
    resampled = np.interp(positions, np.arange(mono.shape[0]), mono).astype(np.float32)
    peak = float(np.max(np.abs(resampled)))
    if peak == 0.0:
        raise SourceError("espeak-ng wrote silence")
    normalised: Samples = resampled / np.float32(peak)
    return normalised
