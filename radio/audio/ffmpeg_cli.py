"""Running FFmpeg and ffprobe on files: confined, quiet, bounded, with our errors.

Confinement: FFmpeg reads a name such as ``concat:a.flac`` or ``http:x.flac`` as
a protocol, not a file. Every file goes to FFmpeg as :func:`file_url` (``file:``
and an absolute path) behind ``-protocol_whitelist file,pipe``
(:data:`MEDIA_PROTOCOLS`), so a media file can never make FFmpeg open another
file list, a device or the network. Only regular files are handed over
(:func:`require_regular_file`): a FIFO or a device is refused from ``os.stat``,
before anything opens it.

Bounded: :func:`run_to_end` and :func:`probe_json` wait at most ``timeout``
seconds; on a timeout, an error or an interruption the child is killed and
reaped before the error is raised, so no FFmpeg or ffprobe outlives its call.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from typing import Any, Final

from radio.errors import SourceError
from radio.filekind import special_kind as special_kind  # playlists/library.py takes it here

QUIET: Final = ("-hide_banner", "-nostdin", "-loglevel", "error")
#: The protocols FFmpeg may use for media files (a file, or our own pipes).
MEDIA_PROTOCOLS: Final = "file,pipe"
#: How long ffprobe may take on one file before it is killed.
PROBE_TIMEOUT: Final = 30.0


def quiet(args: list[str]) -> list[str]:
    """``args`` (``["ffmpeg", ...]``) with no banner, no stdin and errors-only logging."""
    return [args[0], *QUIET, *args[1:]]


def file_url(location: str | os.PathLike[str]) -> str:
    """``location`` as FFmpeg must read it: ``file:`` and the absolute path.

    ``concat:a.flac`` becomes ``file:/station/media/concat:a.flac``: a file name.
    """
    return "file:" + os.path.abspath(os.fspath(location))


def require_regular_file(location: str | os.PathLike[str], error: type[SourceError]) -> None:
    """Raise ``error`` unless ``location`` is a regular file (following symlinks).

    Checked with ``os.stat``, without opening it: a FIFO would block the reader.
    """
    try:
        mode = os.stat(location).st_mode
    except OSError as exc:
        raise error(f"{os.fspath(location)}: cannot read the file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise error(f"{os.fspath(location)}: not a regular file ({special_kind(mode)})")


def run_to_end(
    args: list[str],
    *,
    action: str,
    error: type[SourceError],
    timeout: float | None = None,
) -> bytes:
    """Run the quiet command ``args`` to its end and return what it wrote to stdout.

    ``action`` says what FFmpeg was asked to do (e.g. "decode song.flac"), for the
    messages. Raises ``error`` when FFmpeg cannot be started, exits non-zero (with
    FFmpeg's own message) or runs longer than ``timeout`` seconds; the process is
    killed and reaped first.
    """
    return run_bounded(quiet(args), action=action, error=error, timeout=timeout)


def run_bounded(
    args: list[str], *, action: str, error: type[SourceError], timeout: float | None
) -> bytes:
    """Run ``args`` as given (see :func:`run_to_end`); no child is left on any failure."""
    return run_capture(args, action=action, error=error, timeout=timeout)[0]


def run_capture(
    args: list[str], *, action: str, error: type[SourceError], timeout: float | None
) -> tuple[bytes, bytes]:
    """Run ``args`` as given; return its stdout and stderr (see :func:`run_to_end`)."""
    try:
        # run() kills and waits for the child on a timeout or any exception
        result = subprocess.run(
            args, capture_output=True, check=False, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise error(f"{args[0]} could not {action}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise error(f"cannot run {args[0]} to {action}: {exc}") from exc
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise error(f"{args[0]} could not {action}: {message or result.returncode}")
    return result.stdout, result.stderr


def probe_json(
    location: str | os.PathLike[str],
    *,
    error: type[SourceError],
    timeout: float = PROBE_TIMEOUT,
) -> dict[str, Any]:
    """ffprobe's JSON (format and streams) for the regular file ``location``.

    Raises ``error`` when it is not a regular file (before ffprobe runs), when
    ffprobe fails or answers nothing parseable, or after ``timeout`` seconds.
    """
    require_regular_file(location, error)
    args = [
        "ffprobe",
        "-v",
        "error",
        "-protocol_whitelist",
        MEDIA_PROTOCOLS,
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        file_url(location),
    ]
    out = run_bounded(args, action=f"read {os.fspath(location)}", error=error, timeout=timeout)
    try:
        info = json.loads(out.decode(errors="replace"))
    except ValueError:
        raise error(f"{os.fspath(location)}: ffprobe gave no readable answer") from None
    if not isinstance(info, dict):
        raise error(f"{os.fspath(location)}: ffprobe gave no readable answer")
    return info
