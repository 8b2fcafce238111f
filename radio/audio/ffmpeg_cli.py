"""Running FFmpeg commands that ffmpeg-python compiled: quiet, with our errors."""

from __future__ import annotations

import subprocess
from typing import Final

from radio.errors import SourceError

QUIET: Final = ("-hide_banner", "-nostdin", "-loglevel", "error")


def quiet(args: list[str]) -> list[str]:
    """``args`` (``["ffmpeg", ...]``) with no banner, no stdin and errors-only logging."""
    return [args[0], *QUIET, *args[1:]]


def run_to_end(args: list[str], *, action: str, error: type[SourceError]) -> bytes:
    """Run the quiet command ``args`` to its end and return what it wrote to stdout.

    ``action`` says what FFmpeg was asked to do (e.g. "decode song.flac"), for the
    messages. Raises ``error`` when FFmpeg cannot be started or exits non-zero,
    with FFmpeg's own message.
    """
    try:
        result = subprocess.run(quiet(args), capture_output=True, check=False)
    except OSError as exc:
        raise error(f"cannot run ffmpeg to {action}: {exc}") from exc
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise error(f"ffmpeg could not {action}: {message}")
    return result.stdout
