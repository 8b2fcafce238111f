"""The PCM buffer between a live input's decoder and the station's live branch.

A live input is pushed, not pulled: the presenter's encoder or a stream sends
audio at its own pace. Its decoder (radio.live.feed) appends PCM here from a
reader thread; the live source (radio.live.source) takes whole frames on the
player thread and never waits. The buffer is bounded: when it is full the
writer waits, which stops reading FFmpeg's output, which stops FFmpeg reading
its input, which stops us reading the socket: backpressure all the way to the
encoder, never unbounded memory.
"""

from __future__ import annotations

import threading

from radio.audio.bytequeue import ByteQueue
from radio.audio.frames import FRAME_BYTES, FRAMES_PER_SECOND

DEFAULT_CAPACITY_FRAMES = 10 * FRAMES_PER_SECOND  # 10 s: far above any latency we keep


class PcmBuffer:
    """A bounded, thread-safe FIFO of 48 kHz stereo s16le PCM with an end mark.

    One writer (:meth:`append`, :meth:`end`), one reader (:meth:`take_frame`,
    :meth:`drop_frames`). Counts every byte in and every frame out.
    """

    def __init__(self, capacity_frames: int = DEFAULT_CAPACITY_FRAMES) -> None:
        if capacity_frames < 1:
            raise ValueError("capacity_frames must be at least 1")
        self._capacity = capacity_frames * FRAME_BYTES
        self._queue = ByteQueue()
        self._cond = threading.Condition(threading.Lock())
        self._ended = False
        self._closed = False
        self.bytes_in = 0
        self.frames_out = 0
        self.frames_dropped = 0

    def append(self, pcm: bytes, timeout: float | None = None) -> bool:
        """Add ``pcm``, waiting while the buffer is full. Returns False when the
        buffer was closed (or the wait timed out): the reader no longer wants audio."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: self._closed or len(self._queue) < self._capacity, timeout
            ):
                return False
            if self._closed:
                return False
            self._queue.append(pcm)
            self.bytes_in += len(pcm)
            self._cond.notify_all()
            return True

    def end(self) -> None:
        """No more audio will come (the decoder's output ended)."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def close(self) -> None:
        """The reader is gone: drop what is buffered and release a waiting writer."""
        with self._cond:
            self._closed = True
            self._ended = True
            self._queue.clear()
            self._cond.notify_all()

    @property
    def frames(self) -> int:
        """Whole frames buffered now."""
        with self._cond:
            return len(self._queue) // FRAME_BYTES

    @property
    def ended(self) -> bool:
        """True once the writer said the end."""
        with self._cond:
            return self._ended

    @property
    def exhausted(self) -> bool:
        """True once the end was said and no whole frame is left (a partial one
        at the very end is dropped: less than 20 ms of an encoder's tail)."""
        with self._cond:
            return self._ended and len(self._queue) < FRAME_BYTES

    def take_frame(self) -> bytes | None:
        """One whole frame, or None when less than a frame is buffered. Never waits."""
        with self._cond:
            if len(self._queue) < FRAME_BYTES:
                return None
            data = self._queue.pop(FRAME_BYTES)
            self.frames_out += 1
            self._cond.notify_all()
            return data

    def drop_frames(self, count: int) -> int:
        """Drop up to ``count`` of the oldest whole frames (latency control); returns
        how many were dropped."""
        with self._cond:
            count = max(0, min(count, len(self._queue) // FRAME_BYTES))
            if count:
                self._queue.pop(count * FRAME_BYTES)
                self.frames_dropped += count
                self._cond.notify_all()
            return count

    def wait_frames(self, frames: int, timeout: float | None = None) -> bool:
        """Block until ``frames`` whole frames are buffered or the end; tests and tools
        only, never on the player thread."""
        want = min(frames * FRAME_BYTES, self._capacity)
        with self._cond:
            return self._cond.wait_for(lambda: self._ended or len(self._queue) >= want, timeout)


__all__ = ["DEFAULT_CAPACITY_FRAMES", "PcmBuffer"]
