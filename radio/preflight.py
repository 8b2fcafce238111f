"""Start-up checks: is every native part the station needs here and working?

The bot cannot broadcast without FFmpeg (decoding), libopus (encoding, loaded
by discord.py through ctypes) and ``davey`` (DAVE end-to-end encryption, which
Discord requires on voice since March 2026). Each check runs the real thing
(``ffmpeg -version``, one Opus encode, an import) and reports exactly which
part is missing and how to install it, instead of failing later in the audio
thread.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from radio.audio.frames import SAMPLES_PER_FRAME, SILENCE
from radio.errors import PreflightError

logger = logging.getLogger(__name__)

_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check: ``detail`` is a version when ok, else the fix."""

    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'MISSING'} ({self.detail})"


def check_executable(name: str, executable: str | None = None) -> CheckResult:
    """Run ``executable -version`` and report its first line.

    ``name`` is what the person knows it as ("ffmpeg"); ``executable`` defaults
    to it (tests pass a path that does not exist). Never raises.
    """
    command = executable or name
    try:
        done = subprocess.run(
            [command, "-version"],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        return CheckResult(
            name, False, f"{command} not found on PATH; install it: apt-get install ffmpeg"
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult(name, False, f"{command} cannot run: {exc}")
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return CheckResult(name, False, f"{command} -version exited {done.returncode}: {tail[0]}")
    first = done.stdout.strip().splitlines()[:1] or ["(no version line)"]
    return CheckResult(name, True, first[0])


def check_libopus(library: str | None = None) -> CheckResult:
    """Load libopus the way discord.py does and encode one frame of silence.

    ``library`` names a shared object to load explicitly (``discord.opus.load_opus``);
    by default discord.py finds it itself. Never raises.
    """
    import discord.opus

    from radio.bot.audio import music_encoder

    try:
        if library is not None:
            discord.opus.load_opus(library)
        encoder = music_encoder()  # the station's own settings
        packet = encoder.encode(SILENCE, SAMPLES_PER_FRAME)
    except (OSError, discord.opus.OpusNotLoaded) as exc:
        where = library or "the system library path"
        return CheckResult(
            "libopus",
            False,
            f"cannot load libopus from {where} ({exc.__class__.__name__}: {exc});"
            " install it: apt-get install libopus0",
        )
    except discord.opus.OpusError as exc:
        return CheckResult("libopus", False, f"libopus loaded but cannot encode: {exc}")
    if not packet:
        return CheckResult("libopus", False, "libopus produced an empty packet for silence")
    return CheckResult("libopus", True, f"encodes ({len(packet)}-byte packet for a silent frame)")


def check_module(name: str, install_hint: str) -> CheckResult:
    """Import Python module ``name`` and report its distribution version. Never raises."""
    try:
        importlib.import_module(name)
    except Exception as exc:  # a broken native wheel raises ImportError, OSError, ...
        return CheckResult(
            name, False, f"cannot import {name} ({exc.__class__.__name__}: {exc}); {install_hint}"
        )
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = "version unknown"
    return CheckResult(name, True, version)


def run_checks() -> list[CheckResult]:
    """Run every start-up check, in a fixed order, and return all results."""
    return [
        check_module("davey", "install the voice extra: pip install 'discord.py[voice]>=2.7.1'"),
        check_libopus(),
        check_executable("ffmpeg"),
        check_executable("ffprobe"),
    ]


def require(results: Sequence[CheckResult]) -> None:
    """Log each result; raise :class:`PreflightError` naming every failed one."""
    for result in results:
        if result.ok:
            logger.info("preflight %s", result)
    failed = [result for result in results if not result.ok]
    if failed:
        raise PreflightError(
            "the station cannot start, missing: "
            + ", ".join(result.name for result in failed)
            + "\n"
            + "\n".join(f"  {result}" for result in failed)
        )
