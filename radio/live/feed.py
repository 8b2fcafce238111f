"""A live input's decoder: bytes pushed from the network into FFmpeg, PCM out.

::

    encoder ──TCP──► ingest / relay ──write()──► FFmpeg stdin
                                                 FFmpeg stdout ──reader thread──► PcmBuffer

FFmpeg reads nothing but its standard input (``-protocol_whitelist pipe``, the
input is ``pipe:0``), so nothing a client sends can make it open a file or a
URL; the demuxer is named from the content type, so FFmpeg does not guess one.
Probing is kept short (``-probesize``/``-analyzeduration``) so the first audio
comes out within a few hundred milliseconds of the encoder's first bytes,
instead of the seconds FFmpeg spends by default analysing a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import threading
from collections import deque
from typing import IO, Final

from radio.audio.frames import CHANNELS, SAMPLE_RATE
from radio.errors import DecoderError, LiveRefused
from radio.live.pcm_buffer import PcmBuffer

logger = logging.getLogger(__name__)

# The content types encoders send, and FFmpeg's demuxer for each.
DEMUXERS: Final[dict[str, str]] = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "application/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/aac": "aac",
    "audio/aacp": "aac",
    "audio/x-aac": "aac",
    "audio/webm": "matroska",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
}
_READ_CHUNK: Final = 16 * 1024  # about 40 ms of PCM: small reads keep the latency low
_PROBE_BYTES: Final = 32  # the least FFmpeg takes: it starts decoding at the first packet
# How a write to a decoder that is gone is reported: "<STOPPED>: <why>" (the
# metrics count these as live decoder failures: radio.web.eventcounts).
STOPPED: Final = "the live decoder stopped"
# How long a failed write waits for FFmpeg's exit status (it is dead or closing its
# input: the wait is short; the bound guards a reader held up by a full buffer).
_EXIT_WAIT_S: Final = 2.0


def demuxer_for(content_type: str) -> str:
    """FFmpeg's demuxer for ``content_type`` (lower-case, no parameters).

    Raises LiveRefused(403) for a type we do not decode (Icecast's answer to an
    unsupported content type)."""
    demuxer = DEMUXERS.get(content_type)
    if demuxer is None:
        raise LiveRefused(403, f"Content-type not supported: {content_type[:80]!r}")
    return demuxer


def ffmpeg_args(demuxer: str) -> list[str]:
    """The FFmpeg command that decodes ``demuxer`` from stdin to station PCM on stdout."""
    return [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "pipe",
        "-probesize",
        str(_PROBE_BYTES),
        "-analyzeduration",
        "0",
        "-f",
        demuxer,
        "-i",
        "pipe:0",
        "-vn",
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-ar",
        str(SAMPLE_RATE),
        "-ac",
        str(CHANNELS),
        "pipe:1",
    ]


class LiveFeed:
    """One FFmpeg process decoding a pushed stream of ``content_type`` into ``buffer``.

    :meth:`write` and :meth:`end` are for the event loop (the pipe is written
    without blocking; a decoder that is behind makes :meth:`write` wait, which
    slows the encoder down, never the loop). ``buffer.end()`` is called when FFmpeg's output ends,
    whatever the reason; :attr:`error` then says why if it failed.

    Raises LiveRefused(403) for an unsupported content type and DecoderError when
    FFmpeg cannot be started.
    """

    def __init__(self, content_type: str, buffer: PcmBuffer, *, name: str = "live") -> None:
        demuxer = demuxer_for(content_type)
        self.name = name
        self.buffer = buffer
        self.bytes_in = 0
        self._stderr_tail: deque[str] = deque(maxlen=5)
        self._error: str | None = None
        self._closed = False
        self._write_lock = asyncio.Lock()
        try:
            self._process = subprocess.Popen(
                ffmpeg_args(demuxer),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise DecoderError(f"cannot start ffmpeg: {exc}") from exc
        assert self._process.stdin is not None
        assert self._process.stdout is not None and self._process.stderr is not None
        self._stdin = self._process.stdin
        # Written from the event loop without a thread hop per chunk: the pipe is
        # non-blocking, and a full pipe (FFmpeg is behind) waits for the loop's
        # "writable" callback instead.
        self._stdin_fd = self._stdin.fileno()
        os.set_blocking(self._stdin_fd, False)
        self._errors = threading.Thread(
            target=self._drain_stderr, args=(self._process.stderr,), daemon=True
        )
        self._reader = threading.Thread(
            target=self._read_stdout, args=(self._process.stdout,), daemon=True, name=name
        )
        self._errors.start()
        self._reader.start()

    @property
    def pid(self) -> int:
        """FFmpeg's process id."""
        return self._process.pid

    @property
    def error(self) -> str | None:
        """Why decoding failed (FFmpeg's last message or exit status), else None."""
        return self._error

    @property
    def running(self) -> bool:
        """True while FFmpeg runs."""
        return self._process.poll() is None

    async def write(self, data: bytes) -> None:
        """Pass ``data`` to FFmpeg, waiting while it is behind.

        Raises DecoderError when FFmpeg is gone (it failed on what it was given,
        or was killed: ``"the live decoder stopped: <why>"``, with FFmpeg's exit
        status when it is known within a short wait), or the feed was closed."""
        if not data:
            return
        async with self._write_lock:
            if self._closed:
                raise DecoderError("the live decoder was closed")
            view = memoryview(data)
            try:
                while view:
                    try:
                        view = view[os.write(self._stdin_fd, view) :]
                    except BlockingIOError:
                        await self._writable()
            except (BrokenPipeError, ValueError, OSError) as exc:
                reason = await self._why_stopped(str(exc))
                raise DecoderError(f"{STOPPED}: {reason}") from None
            self.bytes_in += len(data)

    async def end(self) -> None:
        """No more input: FFmpeg decodes what it has, then its output ends."""
        async with self._write_lock:
            with contextlib.suppress(OSError, ValueError):
                self._stdin.close()  # nothing is buffered in it: closing never waits

    def close(self) -> None:
        """Kill FFmpeg and drop what it decoded. Idempotent; any thread."""
        self._closed = True
        self.buffer.close()
        if self._process.poll() is None:
            self._process.kill()
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until FFmpeg has exited and been reaped (tests, shutdown)."""
        self._reader.join(timeout)
        return not self._reader.is_alive()

    # -- internals ------------------------------------------------------------

    async def _why_stopped(self, fallback: str) -> str:
        """Why FFmpeg no longer takes input. A killed FFmpeg breaks the pipe before
        the reader thread has seen it exit: wait (off the loop, briefly) for the
        reader to record the exit status; else FFmpeg's last message, else
        ``fallback`` (the write's error)."""
        if self._error is None:
            await asyncio.to_thread(self._reader.join, _EXIT_WAIT_S)
        return self._error or _last(self._stderr_tail) or fallback

    async def _writable(self) -> None:
        """Wait until FFmpeg's stdin pipe has room again (or the feed is closed)."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_writer(self._stdin_fd, wake)
        try:
            # A closed feed's pipe is closed too: the next write says so. The timeout
            # only guards against a wake-up lost to a close racing the registration.
            await asyncio.wait_for(ready, 1.0)
        except TimeoutError:
            pass
        finally:
            loop.remove_writer(self._stdin_fd)

    def _read_stdout(self, pipe: IO[bytes]) -> None:
        try:
            while True:
                chunk = pipe.read1(_READ_CHUNK)  # type: ignore[attr-defined]
                if not chunk:
                    break
                if not self.buffer.append(chunk):
                    break  # the reader is gone: stop decoding
        except (OSError, ValueError) as exc:
            if not self._closed:
                self._error = f"reading ffmpeg output failed: {exc}"
        finally:
            pipe.close()
            if self._process.poll() is None and self.buffer.ended:
                self._process.kill()
        returncode = self._process.wait()
        self._errors.join(timeout=1.0)
        if not self._closed and self._error is None and returncode != 0:
            detail = _last(self._stderr_tail) or "no message"
            self._error = (
                f"ffmpeg was killed by signal {-returncode}"
                if returncode < 0
                else f"ffmpeg exited with code {returncode}: {detail}"
            )
        if self._error is not None:
            logger.info("%s: %s", self.name, self._error)
        self.buffer.end()

    def _drain_stderr(self, pipe: IO[bytes]) -> None:
        try:
            for raw in pipe:
                line = raw.decode(errors="replace").strip()
                if line:
                    self._stderr_tail.append(line[:300])
        except (OSError, ValueError):
            pass
        finally:
            pipe.close()


def _last(lines: deque[str]) -> str:
    return lines[-1] if lines else ""


__all__ = ["DEMUXERS", "STOPPED", "LiveFeed", "demuxer_for", "ffmpeg_args"]
