"""The MP3 mount for old players: the station's packets decoded, encoded once more by FFmpeg.

::

    SimulcastFeed ──packet()──► bounded queue ──worker thread──► libopus decode ──► FFmpeg stdin
    (sender thread: never waits)   (full: dropped, counted)      (20 ms → PCM)      (libmp3lame)
    station events ──title()──────┘ (in order with the packets)                         │
                                                                                        ▼
    Icecast ◄── HTTP PUT audio/mpeg (IcecastSource) ◄── whole MP3 frames ◄──── FFmpeg stdout
    Icecast ◄── GET /admin/metadata?mode=updinfo ◄── the title, once its first frame is sent

Where the PCM comes from: the feed fans out its encoded packets only (its
:class:`~radio.bot.audio.PacketTaps`), after the one encode; there is no PCM
fan-out. So the worker decodes the station's own Opus packets with libopus
(:class:`~radio.outputs.opus_decoder.OpusPcmDecoder`, handed in by the
application): what the MP3 mount carries is exactly what Discord's listeners
hear, and the sender thread pays what it pays for the Ogg mount, a deque
append per packet. The decode costs the worker a fraction of FFmpeg's encode
(BENCHMARKS.md, "The MP3 mount").

The worker wakes every ``interval_ms`` (200 ms), decodes what the queue holds,
writes the PCM to FFmpeg's stdin, reads the frames FFmpeg has written meanwhile
and sends them: a frame reaches Icecast 0.2–0.4 s after its packet was encoded,
plus the encoder's own delay (1,105 samples, 23 ms).

Titles: an MP3 stream has no room for one; Icecast keeps the mount's title and
puts it in its listeners' streams (ICY metadata, see
:mod:`radio.outputs.icecast_metadata`). A title change is sent right after the
frame that holds the first sample of its track (counted through FFmpeg's
frames: 1,152 samples each), so Icecast takes it with that frame, to within
the frame and Icecast's own metadata interval; at each connection the current
title follows the first frame.

Failures, two of them, each with exponential backoff (``backoff_base`` s,
doubling, at most ``backoff_cap`` s):

* Icecast: as for the Ogg mount (:class:`~radio.outputs.icecast.IcecastOutput`):
  one log line and one :class:`~radio.outputs.icecast.IcecastChange` per change
  of state; packets that arrive while the mount is down are discarded (not
  decoded), the latest title is kept. FFmpeg runs only while the mount is up.
* FFmpeg (it exited, or took no input for 5 s): one warning with its exit
  status and last message, counted (``encoder_failures``), and a new FFmpeg
  after the backoff; the mount stays connected meanwhile (Icecast drops a
  source that sends nothing for its ``source-timeout``, which is then an
  Icecast failure as above). The backoff starts over once an FFmpeg has
  encoded a minute of audio.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from radio.audio.frames import CHANNELS, SAMPLE_RATE, SILENCE
from radio.errors import OutputError
from radio.outputs.icecast import (
    BACKOFF_BASE_S,
    BACKOFF_CAP_S,
    PAGE_MS,
    QUEUE_PACKETS,
    IcecastChange,
)
from radio.outputs.icecast_client import IcecastMount, IcecastSource, SourceInfo
from radio.outputs.icecast_metadata import song, update_title
from radio.outputs.mount_worker import MountWorker, Stop
from radio.outputs.mp3encoder import Mp3Encoder, encoder_args
from radio.outputs.mp3frames import SAMPLES_PER_FRAME, Mp3Frames
from radio.outputs.titles import StreamTitle

logger = logging.getLogger(__name__)

BITRATE_KBPS: Final = 128
MP3_RATE: Final = 48_000  # 48 kHz MP3 is valid MPEG-1 and needs no resampling
ENCODER_DELAY: Final = 576 + 529  # libmp3lame's delay and the decoder's, in output samples
ENCODER_RESET_S: Final = 60.0  # an FFmpeg that encoded this much: its failure starts over
METADATA_TIMEOUT_S: Final = 5.0
FINISH_TIMEOUT_S: Final = 2.0  # for FFmpeg's last frames at a clean stop
_BYTES_PER_SAMPLE: Final = CHANNELS * 2


class OpusDecoder(Protocol):
    """What the output needs of a decoder (OpusPcmDecoder; ``discord.opus.Decoder`` too)."""

    def decode(self, data: bytes, *, fec: bool) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Mp3Stats:
    """Counters of an MP3 output since it started."""

    received: int  # packets taken from the feed into the queue
    dropped: int  # packets the feed offered while the queue was full
    discarded: int  # packets that arrived while the mount was down or FFmpeg restarting
    encoded: int  # packets decoded and given to FFmpeg
    frames: int  # MP3 frames sent to Icecast
    titles: int  # title updates Icecast took
    title_failures: int
    connections: int  # successful logins
    failures: int  # failed logins and broken connections
    encoder_starts: int
    encoder_failures: int  # FFmpeg exits, stalls and failed starts
    decode_errors: int  # packets libopus refused (sent as silence)
    up: bool
    encoder_pid: int | None  # the running FFmpeg's process id


class _Encoding:
    """One FFmpeg's run: its decoder, its frames, and the titles waiting for their frame."""

    def __init__(self, encoder: Mp3Encoder, decoder: OpusDecoder, rate: int) -> None:
        self.encoder = encoder
        self.decoder = decoder
        self.rate = rate
        self.frames = Mp3Frames()
        self.fed = 0  # samples (48 kHz) given to FFmpeg
        self.out = 0  # samples (at ``rate``) of the frames sent
        self.titles: deque[tuple[int, StreamTitle]] = deque()  # (first output sample, title)

    def position(self, more_bytes: int) -> int:
        """The output sample where the input sample after ``more_bytes`` more bytes lands."""
        samples = self.fed + more_bytes // _BYTES_PER_SAMPLE
        return samples * self.rate // SAMPLE_RATE + ENCODER_DELAY


class Mp3Output(MountWorker):
    """Publishes the station's audio as MP3 to one Icecast mount (see the module docstring).

    :meth:`packet` is the feed's tap (the sender thread; never waits);
    :meth:`title` and :meth:`on_event` may be called from any thread.
    :meth:`start` starts the worker thread; :meth:`close` stops it (FFmpeg's
    last frames are sent first). ``decoder`` makes a fresh Opus decoder (one
    per FFmpeg run); ``monotonic`` is the clock the backoff waits are measured
    with. Raises ValueError for an invalid bitrate, rate, queue or backoff.
    """

    def __init__(
        self,
        mount: IcecastMount,
        password: str,
        *,
        decoder: Callable[[], OpusDecoder],
        monotonic: Callable[[], float],
        info: SourceInfo | None = None,
        on_change: Callable[[IcecastChange], None] | None = None,
        bitrate_kbps: int = BITRATE_KBPS,
        sample_rate: int = MP3_RATE,
        capacity: int = QUEUE_PACKETS,
        interval_ms: int = PAGE_MS,
        backoff_base: float = BACKOFF_BASE_S,
        backoff_cap: float = BACKOFF_CAP_S,
        connect_timeout: float = 10.0,
        send_timeout: float = 10.0,
        ffmpeg: str = "ffmpeg",
    ) -> None:
        if capacity < 1 or interval_ms < 20 or backoff_base <= 0 or backoff_cap < backoff_base:
            raise ValueError("invalid queue, interval or backoff settings")
        if sample_rate not in (44_100, 48_000) or not 32 <= bitrate_kbps <= 320:
            raise ValueError("an MP3 mount is 44.1 or 48 kHz, 32 to 320 kb/s")
        base = info or SourceInfo()
        super().__init__(
            "mp3",
            logger,
            mount,
            password,
            dataclasses.replace(base, content_type="audio/mpeg"),
            on_change=on_change,
            backoff=(backoff_base, backoff_cap),
            timeouts=(connect_timeout, send_timeout),
            capacity=capacity,
            interval=interval_ms / 1000,
        )
        self._new_decoder = decoder
        self._monotonic = monotonic
        self._args = encoder_args(bitrate_kbps, sample_rate, binary=ffmpeg)
        self._rate = sample_rate
        self._title: StreamTitle | None = None  # the worker's latest title
        self._encoder_attempt = 0
        self._encoder_due = float("-inf")  # when the next FFmpeg may start
        self._discarded = 0
        self._encoded = 0
        self._frames = 0
        self._titles = 0
        self._title_failures = 0
        self._encoder_starts = 0
        self._encoder_failures = 0
        self._decode_errors = 0
        self._encoder_pid: int | None = None

    # --- the producers' side -------------------------------------------------

    # --- life ------------------------------------------------------------------

    def stats(self) -> Mp3Stats:
        """A snapshot of the counters."""
        with self._lock:
            return Mp3Stats(
                received=self._received,
                dropped=self._dropped,
                discarded=self._discarded,
                encoded=self._encoded,
                frames=self._frames,
                titles=self._titles,
                title_failures=self._title_failures,
                connections=self._connections,
                failures=self._failures,
                encoder_starts=self._encoder_starts,
                encoder_failures=self._encoder_failures,
                decode_errors=self._decode_errors,
                up=self._up,
                encoder_pid=self._encoder_pid,
            )

    # --- the worker: connections ---------------------------------------------------

    def _stream(self, source: IcecastSource) -> None:
        """Decode, encode and send until a stop; raises OutputError when Icecast fails."""
        encoding = self._start_encoding()
        if self._title is not None:
            if encoding is not None:
                encoding.titles.append((0, self._title))  # after the first frame
            else:
                self._send_title(self._title)
        pcm = bytearray()
        try:
            while True:
                self._wake.wait(self._interval)
                if encoding is None:
                    encoding = self._start_encoding()
                stop = self._take(encoding, pcm, source)
                if encoding is not None:
                    encoding = self._encode(encoding, pcm, source, stop=stop)
                pcm.clear()
                if stop:
                    return
                source.poll()  # what did Icecast say meanwhile? (a closed connection raises)
        finally:
            if encoding is not None:
                encoding.encoder.close()
                with self._lock:
                    self._encoder_pid = None

    def _take(self, encoding: _Encoding | None, pcm: bytearray, source: IcecastSource) -> bool:
        """Drain the queue as it is now into ``pcm`` (decoded); True when a stop came."""
        decoded = 0
        discarded = 0
        try:
            for _ in range(len(self._items)):
                item = self._items.popleft()
                if isinstance(item, bytes):
                    if encoding is None:
                        discarded += 1
                    else:
                        pcm += self._decode(encoding, item)
                        decoded += 1
                elif isinstance(item, StreamTitle):
                    if item == self._title:
                        continue
                    self._title = item
                    if encoding is not None:
                        encoding.titles.append((encoding.position(len(pcm)), item))
                    else:
                        self._send_title(item)
                else:
                    return True
            return False
        finally:
            with self._lock:
                self._encoded += decoded
                self._discarded += discarded

    def _decode(self, encoding: _Encoding, packet: bytes) -> bytes:
        try:
            return encoding.decoder.decode(packet, fec=False)
        except Exception:  # a packet libopus refuses (never one of ours): its 20 ms of silence
            with self._lock:
                self._decode_errors += 1
                errors = self._decode_errors
            if errors == 1 or errors % 500 == 0:
                logger.exception("mp3 %s: a packet could not be decoded (%d)", self.mount, errors)
            return SILENCE

    # --- the worker: FFmpeg --------------------------------------------------------

    def _start_encoding(self) -> _Encoding | None:
        """A new FFmpeg and Opus decoder, unless FFmpeg's backoff is still running."""
        if self._monotonic() < self._encoder_due:
            return None
        try:
            encoder = Mp3Encoder(self._args)
        except OutputError as exc:
            self._encoder_failed(None, str(exc))
            return None
        try:
            decoder = self._new_decoder()
        except Exception as exc:
            encoder.close()
            self._encoder_failed(None, f"no Opus decoder: {exc}")
            return None
        with self._lock:
            self._encoder_starts += 1
            self._encoder_pid = encoder.pid
        logger.debug("mp3 %s: FFmpeg started (pid %d)", self.mount, encoder.pid)
        return _Encoding(encoder, decoder, self._rate)

    def _encode(
        self, encoding: _Encoding, pcm: bytearray, source: IcecastSource, *, stop: bool
    ) -> _Encoding | None:
        """Give FFmpeg ``pcm``, send the frames it made; the encoding, or None if FFmpeg failed.

        Raises OutputError when Icecast fails (FFmpeg's own failures are handled here).
        """
        encoder = encoding.encoder
        try:
            encoder.write(pcm)
            encoding.fed += len(pcm) // _BYTES_PER_SAMPLE
            data = encoder.finish(FINISH_TIMEOUT_S, self._monotonic) if stop else encoder.read()
        except OutputError as exc:
            self._encoder_failed(encoding, str(exc))
            if encoding.titles:
                self._send_title(encoding.titles[-1][1])  # its frame will not come: now
            return None
        self._send_frames(source, encoding, encoding.frames.feed(data))
        return encoding

    def _send_frames(self, source: IcecastSource, encoding: _Encoding, frames: list[bytes]) -> None:
        """Send ``frames``, each title right after the frame that holds its first sample."""
        start = 0
        titles = encoding.titles
        for index in range(len(frames)):
            encoding.out += SAMPLES_PER_FRAME
            if titles and encoding.out > titles[0][0]:
                source.send(b"".join(frames[start : index + 1]))
                start = index + 1
                latest = titles.popleft()[1]
                while titles and encoding.out > titles[0][0]:
                    latest = titles.popleft()[1]
                self._send_title(latest)
        if start < len(frames):
            source.send(b"".join(frames[start:]))
        with self._lock:
            self._frames += len(frames)

    def _encoder_failed(self, encoding: _Encoding | None, reason: str) -> None:
        if encoding is not None:
            encoding.encoder.close()
            if encoding.out >= ENCODER_RESET_S * encoding.rate:
                self._encoder_attempt = 0  # it ran well for a while: an isolated failure
        delay = min(self._backoff[1], self._backoff[0] * 2**self._encoder_attempt)
        self._encoder_attempt += 1
        self._encoder_due = self._monotonic() + delay
        with self._lock:
            self._encoder_failures += 1
            self._encoder_pid = None
            failures = self._encoder_failures
        logger.warning(
            "mp3 %s: %s; a new FFmpeg in %.1f s (%d failure(s))",
            self.mount,
            reason,
            delay,
            failures,
        )

    # --- the worker: titles, waits, state ---------------------------------------------

    def _send_title(self, title: StreamTitle) -> None:
        """Tell Icecast the mount's title; a refusal is logged and counted, never raised."""
        try:
            update_title(
                self.mount,
                self._password,
                song(title.title, title.artist),
                timeout=METADATA_TIMEOUT_S,
            )
        except OutputError as exc:
            with self._lock:
                self._title_failures += 1
            logger.warning("mp3 %s: %s", self.mount, exc)
            return
        with self._lock:
            self._titles += 1

    def _wait(self, delay: float) -> bool:
        """Wait ``delay`` s, discarding packets but keeping the latest title; True if stopped."""
        end = self._monotonic() + delay
        while True:
            discarded = 0
            for _ in range(len(self._items)):
                item = self._items.popleft()
                if isinstance(item, Stop):
                    return True
                if isinstance(item, StreamTitle):
                    self._title = item
                else:
                    discarded += 1
            with self._lock:
                self._discarded += discarded
            left = end - self._monotonic()
            if left <= 0:
                return False
            self._wake.wait(min(self._interval, left))


__all__ = ["BITRATE_KBPS", "MP3_RATE", "Mp3Output", "Mp3Stats", "OpusDecoder"]
