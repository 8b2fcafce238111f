"""Media generation with FFmpeg's lavfi sources (tones, chords, noise) and from numpy samples.

Used by the tests, the demo and the grid helper to make audio files locally
(nothing is ever downloaded, nothing generated is committed).

Levels are honest: ``level_dbfs`` is the *peak* sample level of the signal in
dBFS. For a 1 kHz stereo sine, EBU R128 integrated loudness equals the peak level
(the -0.691 dB constant of BS.1770 cancels the K-weighting gain at 1 kHz), so
``tone(p, 1000, 5, level_dbfs=-30)`` measures -30 LUFS within a few tenths of a
LU. Other frequencies differ by the K-weighting curve (about -0.7 dB at 440 Hz,
+4 dB at 5 kHz).

The container and codec follow the file suffix:

=========  ==========================================
``.wav``   PCM s16le
``.flac``  FLAC
``.ogg``   Vorbis (``codec="opus"`` gives Opus in Ogg)
``.opus``  Opus
``.mp3``   MP3 (libmp3lame), when this FFmpeg has it
=========  ==========================================

Every file is 48 kHz stereo and exactly ``round(seconds * 48000)`` samples long
before encoding (lossy codecs may add their own priming/padding).
"""

from __future__ import annotations

import functools
import logging
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ffmpeg
import numpy as np
import numpy.typing as npt

from radio.audio.ffmpeg_cli import quiet, run_to_end
from radio.audio.frames import SAMPLE_RATE
from radio.errors import SourceError

logger = logging.getLogger(__name__)

_CODECS: dict[str, str] = {
    ".wav": "pcm_s16le",
    ".flac": "flac",
    ".ogg": "libvorbis",
    ".opus": "libopus",
    ".mp3": "libmp3lame",
}


def amplitude(level_dbfs: float) -> float:
    """Return the linear peak amplitude (full scale = 1.0) of ``level_dbfs``."""
    return float(10.0 ** (level_dbfs / 20.0))


def tone(
    path: Path,
    freq_hz: float,
    seconds: float,
    *,
    level_dbfs: float = -20.0,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    codec: str | None = None,
) -> Path:
    """Write a stereo 48 kHz sine of ``freq_hz`` with peak level ``level_dbfs``.

    Both channels carry the same sine. Returns ``path``. Raises ValueError for a
    non-positive duration or frequency, SourceError when the suffix is unknown,
    the encoder is missing, or FFmpeg fails.
    """
    if freq_hz <= 0:
        raise ValueError(f"frequency must be positive, got {freq_hz}")
    return chord(
        path,
        [freq_hz],
        seconds,
        level_dbfs=level_dbfs,
        title=title,
        artist=artist,
        album=album,
        codec=codec,
    )


def chord(
    path: Path,
    freqs_hz: Sequence[float],
    seconds: float,
    *,
    level_dbfs: float = -20.0,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    codec: str | None = None,
) -> Path:
    """Write the sum of sines at ``freqs_hz``, each at ``level_dbfs`` minus 20·log10(n).

    The peak of the sum never exceeds ``level_dbfs``. Returns ``path``; raises
    like :func:`tone`.
    """
    if not freqs_hz or any(f <= 0 for f in freqs_hz):
        raise ValueError(f"frequencies must be positive, got {list(freqs_hz)}")
    each = amplitude(level_dbfs) / len(freqs_hz)
    expr = "+".join(f"{each:.10f}*sin(2*PI*{f:.6f}*t)" for f in freqs_hz)
    source = f"aevalsrc={expr}|{expr}:s={SAMPLE_RATE}:d={seconds + 0.1:.6f}"
    return _write(path, source, seconds, title, artist, album, codec)


def noise(
    path: Path,
    seconds: float,
    *,
    level_dbfs: float = -20.0,
    color: str = "pink",
    seed: int = 1,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    codec: str | None = None,
) -> Path:
    """Write stereo noise (FFmpeg ``anoisesrc``) with amplitude ``level_dbfs``.

    ``color`` is one of FFmpeg's noise colours (white, pink, brown, ...); ``seed``
    makes it reproducible. Both channels carry the same noise. Returns ``path``;
    raises like :func:`tone`.
    """
    source = (
        f"anoisesrc=a={amplitude(level_dbfs):.10f}:c={color}:seed={seed}"
        f":r={SAMPLE_RATE}:d={seconds + 0.1:.6f}"
    )
    return _write(path, source, seconds, title, artist, album, codec, mono=True)


def _write(
    path: Path,
    lavfi: str,
    seconds: float,
    title: str | None,
    artist: str | None,
    album: str | None,
    codec: str | None,
    *,
    mono: bool = False,
) -> Path:
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {seconds}")
    path = Path(path)
    suffix = path.suffix.lower()
    acodec = _codec_for(suffix, codec)
    samples = round(seconds * SAMPLE_RATE)
    stream = ffmpeg.input(lavfi, f="lavfi")
    if mono:
        # duplicate a mono source into both channels at unity gain (FFmpeg's own
        # mono-to-stereo upmix would lower it by 3 dB and make the level dishonest)
        halves = stream.filter_multi_output("asplit", 2)
        stream = ffmpeg.filter([halves[0], halves[1]], "amerge", inputs=2)
    stream = stream.filter("atrim", end_sample=samples)
    options: dict[str, Any] = {"acodec": acodec, "ar": SAMPLE_RATE, "ac": 2}
    if suffix == ".ogg" or suffix == ".opus":
        options["f"] = "ogg"
    tags = {"title": title, "artist": artist, "album": album}
    for index, (key, value) in enumerate((k, v) for k, v in tags.items() if v is not None):
        options[f"metadata:g:{index}"] = f"{key}={value}"
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ffmpeg.output(stream, str(path), **options).compile(overwrite_output=True)
    run_to_end(args, action=f"write {path}", error=SourceError)
    logger.debug("wrote %s (%d samples, %s)", path, samples, acodec)
    return path


def _codec_for(suffix: str, codec: str | None) -> str:
    if codec is not None:
        wanted = {"opus": "libopus", "vorbis": "libvorbis", "mp3": "libmp3lame"}.get(codec, codec)
    elif suffix in _CODECS:
        wanted = _CODECS[suffix]
    else:
        raise SourceError(f"no codec known for suffix {suffix!r} (use one of {sorted(_CODECS)})")
    if wanted not in _encoders():
        raise SourceError(f"this ffmpeg has no {wanted} encoder")
    return wanted


@functools.cache
def _encoders() -> frozenset[str]:
    try:
        out = subprocess.run(
            ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, check=True
        ).stdout.decode(errors="replace")
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SourceError(f"cannot list ffmpeg encoders: {exc}") from exc
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "AVS":
            names.add(parts[1])
    return frozenset(names)


def write_samples(
    path: Path,
    samples: npt.NDArray[np.floating[Any]] | npt.NDArray[np.int16],
    *,
    title: str | None = None,
    artist: str | None = None,
    album: str | None = None,
    codec: str | None = None,
) -> Path:
    """Write ``samples`` (48 kHz; shape ``(n,)`` mono or ``(n, 2)`` stereo) as a stereo file.

    Float samples are full scale at 1.0 and clipped to [-1, 1]; int16 samples are
    written as they are. Mono is copied into both channels at unity gain. The
    container and codec follow the suffix as for :func:`tone` (FLAC is written at
    its fastest compression level: the files are generated, not archived).
    Returns ``path``. Raises ValueError for an empty or wrongly shaped array,
    SourceError when the suffix is unknown, the encoder is missing, or FFmpeg fails.
    """
    data = np.asarray(samples)
    if data.ndim == 1:
        data = np.repeat(data[:, None], 2, axis=1)
    if data.ndim != 2 or data.shape[1] != 2 or data.shape[0] == 0:
        raise ValueError(f"samples must be (n,) or (n, 2) with n > 0, got shape {data.shape}")
    if data.dtype != np.int16:
        data = np.round(np.clip(data, -1.0, 1.0) * 32767.0).astype(np.int16)
    path = Path(path)
    suffix = path.suffix.lower()
    acodec = _codec_for(suffix, codec)
    args = ["ffmpeg", "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "2", "-i", "pipe:0"]
    args += ["-c:a", acodec, "-ar", str(SAMPLE_RATE), "-ac", "2"]
    if acodec == "flac":
        args += ["-compression_level", "0"]
    if suffix in (".ogg", ".opus"):
        args += ["-f", "ogg"]
    for key, value in (("title", title), ("artist", artist), ("album", album)):
        if value is not None:
            args += ["-metadata", f"{key}={value}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    args += ["-y", str(path)]
    try:
        result = subprocess.run(
            quiet(args), input=data.astype("<i2").tobytes(), capture_output=True, check=False
        )
    except OSError as exc:
        raise SourceError(f"cannot run ffmpeg to write {path}: {exc}") from exc
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise SourceError(f"ffmpeg could not write {path}: {message}")
    logger.debug("wrote %s (%d samples, %s)", path, data.shape[0], acodec)
    return path
