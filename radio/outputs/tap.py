"""The recordings' tap on the station's encoded packets, off the real-time thread.

::

    SimulcastFeed ──packet()──► bounded queue ──worker thread──► Recorder (disk)

The sender thread only puts the packet it has just encoded in a queue (never
waits: a full queue drops the packet and counts it); a worker thread writes to
the recording, so a slow disk never delays a frame on Discord.

A recording is *armed* for a session (:meth:`RecordingTap.arm`) and written
while ``on_air()`` is true for the frame just encoded (the live branch holds
the air: its fade in, the presenter, its grace); the first packet after that
finishes it. So the file is what went on air, to the frame.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

from radio.errors import OutputError
from radio.outputs.recording import Recorder

logger = logging.getLogger(__name__)

QUEUE_PACKETS: Final = 1500  # 30 s of packets: far more than any disk hiccup


class _Stop:
    def __init__(self, done: threading.Event) -> None:
        self.done = done


class RecordingTap:
    """Writes the station's packets to the armed recording while ``on_air()``.

    :meth:`arm` and :meth:`disarm` from any thread; :meth:`packet` from the
    sender, right after the frame it encodes was read (so ``on_air()`` speaks of
    that frame). A write error ends that recording with one log line (the
    station plays on).
    """

    def __init__(self, on_air: Callable[[], bool], *, capacity: int = QUEUE_PACKETS) -> None:
        self._on_air = on_air
        # Unbounded, so that control items never wait; packets are bounded by hand.
        self._queue: queue.Queue[bytes | Recorder | _Stop] = queue.Queue()
        self._capacity = capacity
        self._armed: Recorder | None = None
        self._writing = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.written = 0

    @property
    def armed(self) -> Recorder | None:
        """The recording waiting for, or being written from, the air."""
        with self._lock:
            return self._armed

    def arm(self, recorder: Recorder) -> None:
        """Record the next stretch on air to ``recorder`` (an armed or running
        recording is finished first)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="recording", daemon=True)
                self._thread.start()
            self._finish_locked()
            self._armed = recorder

    def disarm(self, timeout: float = 10.0) -> bool:
        """Finish the recording now (what is queued is written first). Returns False
        when the worker did not finish within ``timeout``."""
        with self._lock:
            if self._thread is None:
                return True
            done = self._finish_locked()
        return done.wait(timeout)

    def packet(self, packet: bytes) -> None:
        """The station's next encoded packet (sender thread: never waits)."""
        with self._lock:
            if self._armed is None:
                return
            if not self._on_air():
                if self._writing:
                    self._finish_locked()  # the live branch let go: the session is over
                return
            if not self._writing:
                self._writing = True
                self._put(self._armed)
            self._put(packet)

    def _put(self, item: bytes | Recorder) -> None:
        if isinstance(item, Recorder) or self._queue.qsize() < self._capacity:
            self._queue.put_nowait(item)
        else:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 500 == 0:
                logger.warning("recording: the disk is behind, %d packet(s) lost", self.dropped)

    def _finish_locked(self) -> threading.Event:
        done = threading.Event()
        if self._armed is not None and not self._writing:
            # armed, never on air: nothing was written, nothing to keep
            armed = self._armed
            self._queue.put(armed)
        self._armed = None
        self._writing = False
        self._queue.put(_Stop(done))
        return done

    def _run(self) -> None:
        recorder: Recorder | None = None
        while True:
            item = self._queue.get()
            if isinstance(item, Recorder):
                _finish(recorder)
                recorder = item
            elif isinstance(item, _Stop):
                _finish(recorder)
                recorder = None
                item.done.set()
            elif recorder is not None:
                try:
                    recorder.write(item)
                    self.written += 1
                except OutputError as exc:
                    logger.error("recording %s stopped: %s", recorder.path, exc)
                    _finish(recorder)
                    recorder = None


def _finish(recorder: Recorder | None) -> Path | None:
    if recorder is None:
        return None
    try:
        recorder.close()
    except OutputError as exc:
        logger.error("recording %s could not be finished: %s", recorder.path, exc)
    else:
        logger.info("recording finished: %s (%d frames)", recorder.path, recorder.frames)
    return recorder.path


__all__ = ["RecordingTap"]
