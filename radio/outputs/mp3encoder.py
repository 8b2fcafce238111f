"""One FFmpeg process encoding the station's PCM to MP3: stdin in, stdout out, nothing else.

::

    s16le 48 kHz stereo ──write()──► FFmpeg stdin   (libmp3lame)
                      ◄──read()─── FFmpeg stdout   MPEG-1 Layer III frames, nothing else

FFmpeg is confined the way the project's other FFmpeg processes are: the input
is ``pipe:0`` under ``-protocol_whitelist pipe`` and the output ``pipe:1``, so
it opens no file and no URL; the project talks to Icecast itself. It writes
no ID3v2 tag and no Xing header (a stream has no end to seek to), only frames,
and flushes each one as it is made (``-flush_packets 1``) instead of holding
32 KB (two seconds of a 128 kb/s stream) in its output buffer. Its input is
raw PCM whose format it is told, so it is not probed (``-probesize 32
-analyzeduration 0``): otherwise FFmpeg reads a second of audio before it
encodes the first frame.

The three pipes are non-blocking: the output's worker writes what the pipe
takes and keeps the rest for its next turn, and reads what FFmpeg has written
so far, so a slow or stuck FFmpeg never holds the worker. FFmpeg's messages
(``-loglevel error``) are kept, the last few lines, for the log line that says
why it stopped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
from collections import deque
from collections.abc import Callable
from typing import IO, Final

from radio.audio.frames import CHANNELS, SAMPLE_RATE
from radio.errors import OutputError

logger = logging.getLogger(__name__)

_READ_BYTES: Final = 65_536
_STDERR_LINES: Final = 5
_EXIT_WAIT_S: Final = 1.0  # for the exit status of an FFmpeg that closed its pipes
# Input FFmpeg has not taken yet, beyond which it is taken to be stuck: 5 s of PCM.
MAX_PENDING: Final = 5 * SAMPLE_RATE * CHANNELS * 2


def encoder_args(bitrate_kbps: int, sample_rate: int, *, binary: str = "ffmpeg") -> list[str]:
    """The FFmpeg command: station PCM on stdin, MP3 (``bitrate_kbps``, ``sample_rate``) out."""
    return [
        binary,
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "pipe",
        "-probesize",
        "32",
        "-analyzeduration",
        "0",
        "-f",
        "s16le",
        "-ar",
        str(SAMPLE_RATE),
        "-ac",
        str(CHANNELS),
        "-i",
        "pipe:0",
        "-c:a",
        "libmp3lame",
        "-b:a",
        f"{bitrate_kbps}k",
        "-ar",
        str(sample_rate),
        "-ac",
        str(CHANNELS),
        "-id3v2_version",
        "0",
        "-write_xing",
        "0",
        "-flush_packets",
        "1",
        "-f",
        "mp3",
        "pipe:1",
    ]


class Mp3Encoder:
    """A running FFmpeg MP3 encoder (see the module docstring). One thread uses it.

    Raises OutputError when FFmpeg cannot be started. :meth:`write` and
    :meth:`read` raise OutputError, saying why (its exit status and last
    message), once FFmpeg has stopped; :meth:`close` kills and reaps it.
    """

    def __init__(self, args: list[str]) -> None:
        try:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise OutputError(f"cannot start FFmpeg: {exc.strerror or exc}") from exc
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        assert process.stderr is not None
        self._stdin: IO[bytes] | None = process.stdin
        self._stdout = process.stdout
        self._stderr = process.stderr
        for stream in (process.stdin, process.stdout, process.stderr):
            os.set_blocking(stream.fileno(), False)
        self._pending = bytearray()
        self._messages: deque[str] = deque(maxlen=_STDERR_LINES)
        self._partial = b""  # an unfinished line of FFmpeg's messages
        self._closed = False
        self.written = 0  # bytes of PCM FFmpeg has taken

    @property
    def pid(self) -> int:
        """FFmpeg's process id."""
        return self._process.pid

    @property
    def pending(self) -> int:
        """Bytes of PCM given to :meth:`write` that FFmpeg has not taken yet."""
        return len(self._pending)

    def write(self, pcm: bytes | bytearray) -> None:
        """Give FFmpeg ``pcm``: what its pipe takes now, the rest at the next call.

        Never waits. Raises OutputError when FFmpeg has stopped, or when it has
        left more than :data:`MAX_PENDING` bytes (5 s of audio) untaken: stuck.
        """
        stdin = self._stdin
        if stdin is None:
            raise OutputError("the MP3 encoder's input is closed")
        self._pending += pcm
        descriptor = stdin.fileno()
        try:
            while self._pending:
                taken = os.write(descriptor, self._pending)
                del self._pending[:taken]
                self.written += taken
        except BlockingIOError:
            pass
        except OSError as exc:  # BrokenPipeError: FFmpeg is gone
            raise OutputError(self._why(f"its input broke ({exc.strerror or exc})")) from None
        if len(self._pending) > MAX_PENDING:
            raise OutputError(
                f"FFmpeg took no input for {MAX_PENDING // (SAMPLE_RATE * CHANNELS * 2)} s of audio"
            )

    def read(self) -> bytes:
        """What FFmpeg has written since the last call (maybe nothing); never waits.

        Raises OutputError once its output has ended (FFmpeg stopped).
        """
        self._read_messages()
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(self._stdout.fileno(), _READ_BYTES)
            except BlockingIOError:
                break
            except OSError as exc:
                raise OutputError(self._why(f"its output broke ({exc.strerror or exc})")) from None
            if not chunk:
                if chunks:
                    break  # hand over the last bytes first; the end is seen at the next call
                raise OutputError(self._why("it stopped"))
            chunks.append(chunk)
            if len(chunk) < _READ_BYTES:
                break
        return b"".join(chunks)

    def finish(self, timeout: float, monotonic: Callable[[], float]) -> bytes:
        """End the input and return what FFmpeg writes until it exits (within ``timeout`` s).

        For a clean stop: the last frames of the audio given. Never raises; the
        process is killed and reaped afterwards whatever happened.
        """
        out: list[bytes] = []
        end = monotonic() + timeout
        try:
            while self._pending and monotonic() < end:
                self.write(b"")
                if self._pending:
                    select.select([], [self._stdin_fd()], [], max(0.0, end - monotonic()))
            self._close_stdin()
            descriptor = self._stdout.fileno()
            while (left := end - monotonic()) > 0:
                readable, _, _ = select.select([descriptor], [], [], left)
                if not readable:
                    break
                chunk = os.read(descriptor, _READ_BYTES)
                if not chunk:
                    break
                out.append(chunk)
        except (OSError, OutputError, ValueError):
            pass
        self.close()
        return b"".join(out)

    def close(self) -> None:
        """Kill FFmpeg, reap it and close its pipes. Idempotent, never raises."""
        if self._closed:
            return
        self._closed = True
        if self._process.poll() is None:
            self._process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(10)
        self._close_stdin()
        for stream in (self._stdout, self._stderr):
            with contextlib.suppress(OSError):
                stream.close()

    # --- inside ------------------------------------------------------------------

    def _stdin_fd(self) -> int:
        return -1 if self._stdin is None else self._stdin.fileno()

    def _close_stdin(self) -> None:
        stdin, self._stdin = self._stdin, None
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()

    def _read_messages(self) -> None:
        try:
            data = os.read(self._stderr.fileno(), _READ_BYTES)
        except (BlockingIOError, OSError, ValueError):
            return
        if not data:
            return
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-1000:]
        for line in lines:
            text = line.decode("utf-8", "replace").strip()
            if text:
                self._messages.append(text[:300])

    def _why(self, what: str) -> str:
        # FFmpeg's exit status (it has closed its pipes: the wait is short) and last words.
        try:
            status: int | None = self._process.wait(_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            status = None
        self._read_messages()
        if self._partial.strip():
            self._messages.append(self._partial.decode("utf-8", "replace").strip()[:300])
            self._partial = b""
        reason = f"FFmpeg: {what}"
        if status is not None:
            reason += f", exit status {status}"
        if self._messages:  # the cause is often the line before FFmpeg's last
            reason += ": " + " / ".join(list(self._messages)[-2:])
        return reason


__all__ = ["MAX_PENDING", "Mp3Encoder", "encoder_args"]
