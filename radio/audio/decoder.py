"""FFmpeg decoding into a bounded buffer, so the player thread never waits on a pipe.

One :class:`FFmpegDecoder` is one FFmpeg subprocess decoding one regular file
to 48 kHz stereo s16le on its stdout, confined to ``-protocol_whitelist
file,pipe`` and given the file as ``file:`` and its absolute path
(radio.audio.ffmpeg_cli): a file named ``concat:x.flac`` is a file. A
background reader thread moves the PCM into a bounded in-memory buffer;
``read()`` only ever takes from that buffer.
A second small thread drains FFmpeg's stderr (so a chatty FFmpeg can never
block on a full pipe) and keeps its last lines for the error reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import subprocess
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any, Final

import ffmpeg

from radio.audio.bytequeue import ByteQueue
from radio.audio.ffmpeg_cli import (
    MEDIA_PROTOCOLS,
    PROBE_TIMEOUT,
    file_url,
    probe_json,
    quiet,
    require_regular_file,
)
from radio.audio.frames import CHANNELS, FRAME_BYTES, SAMPLE_RATE, SAMPLES_PER_FRAME, SILENCE
from radio.errors import DecoderError

logger = logging.getLogger(__name__)

SAMPLE_BYTES: Final = CHANNELS * 2  # one stereo s16le sample instant
DEFAULT_BUFFER_FRAMES: Final = 100  # 2 s of audio, 384 kB
_READ_CHUNK: Final = 64 * FRAME_BYTES
_PIPE_BYTES: Final = 1 << 20  # FFmpeg runs ahead into the pipe; the reader drains it in bulk


@dataclass(frozen=True, slots=True)
class ProbeInfo:
    """What ffprobe says about a file: duration (s, when known) and tags."""

    duration: float | None
    tags: dict[str, str] = field(default_factory=dict)


def probe(location: str, *, timeout: float = PROBE_TIMEOUT) -> ProbeInfo:
    """Probe the file ``location`` with ffprobe (confined, at most ``timeout`` seconds).

    Blocks for as long as ffprobe runs: call it off the player thread.
    Raises DecoderError when the file is missing, unreadable or not a regular
    file (a FIFO is refused before ffprobe runs), is not a media file FFmpeg
    understands, has no audio stream, or ffprobe does not answer in time (it is
    killed and reaped).
    """
    info: dict[str, Any] = probe_json(location, error=DecoderError, timeout=timeout)
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not streams:
        raise DecoderError("no audio stream")
    fmt = info.get("format", {})
    duration = _float_or_none(fmt.get("duration")) or _float_or_none(streams[0].get("duration"))
    tags: dict[str, str] = {}
    for source in (streams[0].get("tags", {}), fmt.get("tags", {})):
        tags.update({str(k).lower(): str(v) for k, v in source.items()})
    return ProbeInfo(duration=duration, tags=tags)


class FFmpegDecoder:
    """A Source over one file or stream, decoded by an FFmpeg subprocess.

    Construction probes the location and starts FFmpeg: it blocks for the probe
    (tens of milliseconds for a file) and must happen off the player thread.
    ``gain_db`` is applied by FFmpeg (``volume`` filter, before conversion to
    s16); ``seek`` starts that many seconds in. The buffer holds at most
    ``buffer_frames`` frames; once full, the reader waits until half of it has
    been played, then refills it in big reads (fewer wake-ups than one per frame).

    Raises DecoderError when ``location`` is not a regular file (checked before
    anything opens it), when the probe fails (missing, unreadable, non-media or
    audio-less file) or FFmpeg cannot be started. A failure *after* start (FFmpeg
    exits non-zero, is killed, or decodes no audio at all) does not raise: it sets
    :attr:`failed` and :attr:`error` once the reader sees the end of the pipe,
    and whatever was decoded before stays readable.

    End of track: :meth:`read` pads the last partial frame with zeros (so as a
    plain Source it always returns whole frames). Gapless consumers use
    :meth:`read_pcm` instead, which returns the exact samples without padding.
    """

    def __init__(
        self,
        location: str,
        *,
        gain_db: float = 0.0,
        seek: float = 0.0,
        buffer_frames: int = DEFAULT_BUFFER_FRAMES,
        info: ProbeInfo | None = None,
    ) -> None:
        if buffer_frames < 1:
            raise ValueError("buffer_frames must be at least 1")
        require_regular_file(location, DecoderError)
        self.location = location
        self.gain_db = gain_db
        self.info = info if info is not None else probe(location)
        self._capacity = buffer_frames * FRAME_BYTES
        self._low_water = self._capacity // 2
        self._buffer = ByteQueue()
        self._cond = threading.Condition(threading.Lock())  # never re-entered
        self._consumed = 0  # bytes handed out
        self._decoded = 0  # bytes received from FFmpeg
        self._eof = False
        self._closed = False
        self._error: str | None = None
        self._stderr_tail: deque[str] = deque(maxlen=5)
        self._expected_samples = (
            max(0, round((self.info.duration - seek) * SAMPLE_RATE))
            if self.info.duration is not None
            else None
        )
        options: dict[str, Any] = {"protocol_whitelist": MEDIA_PROTOCOLS}
        if seek > 0:
            options["ss"] = seek
        stream = ffmpeg.input(file_url(location), **options)
        if gain_db:
            stream = stream.filter("volume", f"{gain_db:.4f}dB")
        args = quiet(
            ffmpeg.output(
                stream, "pipe:", format="s16le", acodec="pcm_s16le", ar=SAMPLE_RATE, ac=CHANNELS
            ).compile()
        )
        try:
            self._process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise DecoderError(f"cannot start ffmpeg: {exc}") from exc
        assert self._process.stdout is not None and self._process.stderr is not None
        _enlarge_pipe(self._process.stdout)
        self._errors = threading.Thread(
            target=self._drain_stderr, args=(self._process.stderr,), daemon=True
        )
        self._reader = threading.Thread(
            target=self._read_stdout, args=(self._process.stdout,), daemon=True
        )
        self._errors.start()
        self._reader.start()

    # -- Source -------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when a whole frame is buffered, or the last partial one after EOF."""
        with self._cond:
            size = len(self._buffer)
            return size >= FRAME_BYTES or (self._eof and size > 0)

    @property
    def remaining(self) -> int | None:
        """Frames left (rounded up): exact after EOF, else from the probed duration."""
        samples = self.remaining_samples
        return None if samples is None else math.ceil(samples / SAMPLES_PER_FRAME)

    def read(self) -> bytes:
        """Return one frame; the final partial frame is zero-padded; SILENCE if empty."""
        with self._cond:
            size = len(self._buffer)
            if size >= FRAME_BYTES:
                data = self._take(FRAME_BYTES)
            elif self._eof and size > 0:
                data = self._take(size)
                data += bytes(FRAME_BYTES - len(data))
            else:
                return SILENCE
        return data

    def close(self) -> None:
        """Kill FFmpeg, stop the reader and drop the buffer. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._buffer.clear()
            self._cond.notify_all()
        if self._process.poll() is None:
            self._process.kill()
        # no join: close() may run on the player thread; the reader sees EOF of the
        # killed process and exits (and reaps it) on its own

    # -- gapless access -----------------------------------------------------

    def read_pcm(self, max_bytes: int, *, whole: bool = False) -> bytes:
        """Take up to ``max_bytes`` of buffered PCM (whole samples), without padding.

        Returns fewer bytes (possibly none) when less is buffered; with ``whole``,
        returns nothing unless all ``max_bytes`` are buffered or FFmpeg's output
        has ended (an underrun then consumes nothing). Never blocks.
        """
        with self._cond:
            size = len(self._buffer)
            if whole and size < max_bytes and not self._eof:
                return b""
            count = min(max_bytes, size)
            count -= count % SAMPLE_BYTES
            return self._take(count) if count else b""

    def take(self, max_bytes: int) -> tuple[bytes, bool]:
        """``read_pcm(max_bytes, whole=True)`` and :attr:`finished`, under one lock.

        The gapless path of TrackSequence, once per frame: returns the PCM taken
        (nothing on an underrun) and whether the track is now fully consumed.
        """
        with self._cond:
            size = len(self._buffer)
            if size < max_bytes and not self._eof:
                return b"", False
            count = min(max_bytes, size)
            count -= count % SAMPLE_BYTES
            data = self._take(count) if count else b""
            return data, self._eof and len(self._buffer) == 0

    @property
    def buffered_bytes(self) -> int:
        """Bytes of PCM buffered now."""
        with self._cond:
            return len(self._buffer)

    @property
    def remaining_samples(self) -> int | None:
        """Samples left: exact once FFmpeg reached EOF, else estimated; None if unknown."""
        with self._cond:
            if self._eof:
                return len(self._buffer) // SAMPLE_BYTES
            if self._expected_samples is None:
                return None
            left = self._expected_samples - self._consumed // SAMPLE_BYTES
            # the estimate can run out before the data does: never claim the end
            # while more is buffered or on its way
            return max(left, len(self._buffer) // SAMPLE_BYTES, 1)

    @property
    def samples_read(self) -> int:
        """Samples handed out so far."""
        with self._cond:
            return self._consumed // SAMPLE_BYTES

    @property
    def eof(self) -> bool:
        """True once FFmpeg's output ended (normally or not)."""
        with self._cond:
            return self._eof

    @property
    def finished(self) -> bool:
        """True once FFmpeg's output ended and the buffer is drained."""
        with self._cond:
            return self._eof and len(self._buffer) == 0

    @property
    def failed(self) -> bool:
        """True when FFmpeg exited with an error, was killed, or decoded no audio."""
        with self._cond:
            return self._error is not None

    @property
    def error(self) -> str | None:
        """Why decoding failed (FFmpeg's last message or exit status), else None."""
        with self._cond:
            return self._error

    @property
    def pid(self) -> int:
        """The FFmpeg process id (tests kill it to simulate a crash)."""
        return self._process.pid

    def wait_buffered(self, timeout: float | None = None, *, frames: int = 1) -> bool:
        """Block until ``frames`` frames are buffered or EOF; for tools and tests only.

        Returns True when the condition holds. Never call it on the player thread.
        """
        want = min(frames * FRAME_BYTES, self._capacity)
        with self._cond:
            return self._cond.wait_for(
                lambda: self._eof or self._closed or len(self._buffer) >= want, timeout
            )

    # -- internals ----------------------------------------------------------

    def _take(self, count: int) -> bytes:
        data = self._buffer.pop(count)
        self._consumed += len(data)
        if len(self._buffer) <= self._low_water:
            self._cond.notify_all()  # the reader waits for the low-water mark
        return data

    def _read_stdout(self, pipe: IO[bytes]) -> None:
        try:
            while True:
                with self._cond:
                    if len(self._buffer) >= self._capacity:
                        # hysteresis: once full, wait until half is played, then refill
                        # in big reads; waking per frame costs more CPU than decoding
                        self._cond.wait_for(
                            lambda: self._closed or len(self._buffer) <= self._low_water
                        )
                    if self._closed:
                        break
                    room = self._capacity - len(self._buffer)
                chunk = pipe.read1(min(room, _READ_CHUNK))  # type: ignore[attr-defined]
                if not chunk:
                    break
                with self._cond:
                    if self._closed:
                        break
                    self._buffer.append(chunk)
                    self._decoded += len(chunk)
                    self._cond.notify_all()
        except (OSError, ValueError) as exc:
            with self._cond:
                if not self._closed:
                    self._error = f"reading ffmpeg output failed: {exc}"
        finally:
            pipe.close()
        returncode = self._process.wait()
        self._errors.join(timeout=1.0)
        with self._cond:
            self._eof = True
            if not self._closed and self._error is None:
                self._error = self._failure_reason(returncode)
            self._cond.notify_all()

    def _failure_reason(self, returncode: int) -> str | None:
        if returncode < 0:
            return f"ffmpeg was killed by signal {-returncode}"
        if returncode > 0:
            detail = self._stderr_tail[-1] if self._stderr_tail else "no message"
            return f"ffmpeg exited with code {returncode}: {detail}"
        if self._decoded == 0:
            return "no audio decoded (empty track)"
        return None

    def _drain_stderr(self, pipe: IO[bytes]) -> None:
        try:
            for raw in pipe:
                line = raw.decode(errors="replace").strip()
                if line:
                    self._stderr_tail.append(line)
        except (OSError, ValueError):
            pass
        finally:
            pipe.close()

    def __repr__(self) -> str:
        return f"FFmpegDecoder({self.location!r}, gain_db={self.gain_db:+.2f})"


def _enlarge_pipe(pipe: IO[bytes]) -> None:
    # A 64 kB pipe holds 0.3 s of audio: FFmpeg would wake the reader for every
    # packet it writes. With 1 MB it writes ahead and each refill is one read.
    # Best effort: not every system allows it (pipe-max-size), and it is only speed.
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _float_or_none(value: object) -> float | None:
    try:
        result = float(str(value))
    except ValueError:
        return None
    return result if math.isfinite(result) and result >= 0 else None
