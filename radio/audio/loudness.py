"""Loudness: measure each file once (EBU R128), apply one static gain per track.

Policy: every track is played at ``target_lufs`` (integrated loudness, default
-16 LUFS) unless that would push its true peak over ``max_true_peak_dbtp``
(default -1 dBTP); then the gain is lowered so the peak lands exactly on the
ceiling (the track plays quieter than the target rather than clipping). A track
with no measurable loudness (silence, below the -70 LUFS gate) gets 0 dB.
There is no per-frame compression.

Measuring decodes the whole file through FFmpeg's ``ebur128`` filter
(``peak=true``): seconds of CPU for a long file, so it runs on the engine's
preparation thread, ahead of time, and its result is cached by
(path, size, mtime) in a :class:`LoudnessCache` (the SQLite one lives in
radio/store/loudness.py).
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass
from typing import Final, Protocol

import ffmpeg

from radio.audio.ffmpeg_cli import MEDIA_PROTOCOLS, file_url, require_regular_file, run_capture
from radio.errors import DecoderError

logger = logging.getLogger(__name__)

DEFAULT_TARGET_LUFS: Final = -16.0
DEFAULT_MAX_TRUE_PEAK_DBTP: Final = -1.0
_GATE_LUFS: Final = -70.0
#: How long measuring one file may take (a three-hour file takes about a minute).
MEASURE_TIMEOUT: Final = 900.0

_INTEGRATED = re.compile(r"Integrated loudness:\s*\n\s*I:\s*(-?[\d.]+|-?inf|nan)\s*LUFS")
_TRUE_PEAK = re.compile(r"True peak:\s*\n\s*Peak:\s*(-?[\d.]+|-?inf|nan)\s*dBFS")


@dataclass(frozen=True, slots=True)
class Measurement:
    """Integrated loudness (LUFS) and true peak (dBTP) of one file.

    ``integrated_lufs`` is None when the file is silent (below the absolute gate);
    ``true_peak_dbtp`` is None for digital silence.
    """

    integrated_lufs: float | None
    true_peak_dbtp: float | None


class LoudnessCache(Protocol):
    """Where measurements are kept, keyed by path, size and modification time."""

    def get(self, path: str, size: int, mtime_ns: int) -> Measurement | None:
        """Return the stored measurement for exactly this file version, or None."""
        ...

    def put(self, path: str, size: int, mtime_ns: int, measurement: Measurement) -> None:
        """Store ``measurement`` for this file version (replacing older versions)."""
        ...


def measure(location: str, *, timeout: float = MEASURE_TIMEOUT) -> Measurement:
    """Measure the file ``location`` with FFmpeg's ebur128 filter (true peak on).

    Blocks while FFmpeg decodes the whole file (confined to files and pipes, at
    most ``timeout`` seconds). Raises DecoderError when ``location`` is not a
    regular file, FFmpeg fails, times out (killed and reaped) or prints no summary.
    """
    require_regular_file(location, DecoderError)
    stream = ffmpeg.input(file_url(location), protocol_whitelist=MEDIA_PROTOCOLS).filter(
        "ebur128", peak="true", framelog="verbose"
    )
    args: list[str] = ffmpeg.output(stream, "-", format="null").compile()
    args[1:1] = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"]
    _, stderr = run_capture(
        args, action=f"measure the loudness of {location}", error=DecoderError, timeout=timeout
    )
    text = stderr.decode(errors="replace")
    # FFmpeg may print an empty summary first (a filter instance torn down while the
    # graph is configured): the last one is the measurement
    integrated = _INTEGRATED.findall(text)
    peak = _TRUE_PEAK.findall(text)
    if not integrated or not peak:
        last = text.strip().splitlines()[-1] if text.strip() else "no output"
        raise DecoderError(f"cannot measure loudness of {location}: {last}")
    lufs = _number(integrated[-1])
    return Measurement(
        integrated_lufs=lufs if lufs is not None and lufs > _GATE_LUFS else None,
        true_peak_dbtp=_number(peak[-1]),
    )


def gain_for(
    measured: Measurement,
    target_lufs: float = DEFAULT_TARGET_LUFS,
    max_true_peak_dbtp: float = DEFAULT_MAX_TRUE_PEAK_DBTP,
) -> float:
    """Return the static gain (dB) that brings ``measured`` to ``target_lufs``.

    The gain is limited so that ``true_peak + gain <= max_true_peak_dbtp``. A silent
    measurement gives 0 dB.
    """
    if measured.integrated_lufs is None:
        return 0.0
    gain = target_lufs - measured.integrated_lufs
    if measured.true_peak_dbtp is not None:
        gain = min(gain, max_true_peak_dbtp - measured.true_peak_dbtp)
    return gain


class LoudnessLevels:
    """The station's loudness policy: target, ceiling and a measurement cache.

    :meth:`gain_db` blocks while a file is measured (cache miss): call it from the
    engine's preparation thread, never the player thread.
    """

    def __init__(
        self,
        *,
        target_lufs: float = DEFAULT_TARGET_LUFS,
        max_true_peak_dbtp: float = DEFAULT_MAX_TRUE_PEAK_DBTP,
        cache: LoudnessCache | None = None,
    ) -> None:
        self.target_lufs = target_lufs
        self.max_true_peak_dbtp = max_true_peak_dbtp
        self.cache = cache

    def measurement(self, location: str) -> Measurement | None:
        """Return the (cached) measurement of a local file; None for streams/URLs.

        Raises DecoderError when a local file cannot be measured.
        """
        try:
            stat = os.stat(location)
        except OSError:
            if "://" in location:
                return None  # a stream: nothing to measure ahead
            raise DecoderError(f"cannot read {location}") from None
        key = (os.path.abspath(location), stat.st_size, stat.st_mtime_ns)
        if self.cache is not None:
            cached = self.cache.get(*key)
            if cached is not None:
                return cached
        measured = measure(location)
        logger.debug(
            "measured %s: %s LUFS, %s dBTP",
            location,
            measured.integrated_lufs,
            measured.true_peak_dbtp,
        )
        if self.cache is not None:
            self.cache.put(*key, measured)
        return measured

    def gain_db(self, location: str) -> float:
        """Return the gain to apply to ``location`` (0 dB for streams and silence).

        Raises DecoderError when a local file cannot be measured.
        """
        measured = self.measurement(location)
        if measured is None:
            return 0.0
        return gain_for(measured, self.target_lufs, self.max_true_peak_dbtp)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
