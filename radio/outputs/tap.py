"""The recordings' tap on the station's encoded packets, off the real-time thread.

::

    SimulcastFeed ──packet()──► bounded queue ──worker thread──► Recorder (disk)

The sender thread only puts the packet it has just encoded in a queue (never
waits: a full queue drops the packet and counts it); a worker thread writes to
the recording, so a slow disk never delays a frame on Discord.

A recording is *armed* for a session (:meth:`RecordingTap.arm`) and written
while ``on_air()`` is true for the frame just encoded (the live branch holds
the air: its fade in, the presenter, its grace); the first packet after that
finishes the file. So a file is what went on air, to the frame. When the same
session takes the air again (the presenter's audio came back after a stall or
a blank stretch), the next file is opened, in the worker, from ``again``.
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
    """Finish the file in progress; with ``done``, the session too (disarm)."""

    def __init__(self, done: threading.Event | None = None) -> None:
        self.done = done


class _Open:
    """Open the next file of the session (in the worker: it touches the disk)."""

    def __init__(self, make: Callable[[], Recorder]) -> None:
        self.make = make


_Item = bytes | Recorder | _Open | _Stop


class RecordingTap:
    """Writes the station's packets to the armed session's recordings while ``on_air()``.

    :meth:`arm` and :meth:`disarm` from any thread; :meth:`packet` from the
    sender, right after the frame it encodes was read (so ``on_air()`` speaks of
    that frame). A write error ends that file with one log line (the station
    plays on).
    """

    def __init__(self, on_air: Callable[[], bool], *, capacity: int = QUEUE_PACKETS) -> None:
        self._on_air = on_air
        # Unbounded, so that control items never wait; packets are bounded by hand.
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._capacity = capacity
        self._armed = False
        self._first: Recorder | None = None  # opened by arm(), not yet on air
        self._again: Callable[[], Recorder] | None = None
        self._path: Path | None = None
        self._writing = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.written = 0

    @property
    def recording(self) -> Path | None:
        """The armed session's file (its latest), or None when nothing is armed."""
        with self._lock:
            return self._path if self._armed else None

    def arm(self, recorder: Recorder, again: Callable[[], Recorder] | None = None) -> None:
        """Record the session's next stretch on air to ``recorder``, and each later
        stretch to a new file from ``again`` (None: only the first). A session armed
        before is finished first."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="recording", daemon=True)
                self._thread.start()
            self._disarm_locked()
            self._armed = True
            self._first = recorder
            self._again = again
            self._path = recorder.path

    def disarm(self, timeout: float = 10.0) -> bool:
        """Finish the session's recording now (what is queued is written first).
        Returns False when the worker did not finish within ``timeout``."""
        with self._lock:
            if self._thread is None:
                return True
            done = self._disarm_locked()
        return done.wait(timeout)

    def packet(self, packet: bytes) -> None:
        """The station's next encoded packet (sender thread: never waits)."""
        with self._lock:
            if not self._armed:
                return
            on_air = self._on_air()
            if on_air and not self._writing:
                if self._first is not None:
                    self._queue.put_nowait(self._first)
                    self._first = None
                elif self._again is not None:
                    self._queue.put_nowait(_Open(self._again))
                else:
                    self._armed = False  # one file only, and it is written
                    return
                self._writing = True
            if on_air:
                if self._queue.qsize() < self._capacity:
                    self._queue.put_nowait(packet)
                else:
                    self.dropped += 1
                    if self.dropped == 1 or self.dropped % 500 == 0:
                        logger.warning(
                            "recording: the disk is behind, %d packet(s) lost", self.dropped
                        )
            elif self._writing:
                self._writing = False
                self._queue.put_nowait(_Stop())  # the live branch let go: this file is over

    def _disarm_locked(self) -> threading.Event:
        done = threading.Event()
        if self._first is not None:
            # armed, never on air: its file is finished empty (and so removed)
            self._queue.put_nowait(self._first)
        self._armed = False
        self._first = None
        self._again = None
        self._writing = False
        self._queue.put_nowait(_Stop(done))
        return done

    def _run(self) -> None:
        recorder: Recorder | None = None
        while True:
            item = self._queue.get()
            if isinstance(item, bytes):
                if recorder is None:
                    continue
                try:
                    recorder.write(item)
                    self.written += 1
                except OutputError as exc:
                    logger.error("recording %s stopped: %s", recorder.path, exc)
                    _finish(recorder)
                    recorder = None
            elif isinstance(item, Recorder):
                _finish(recorder)
                recorder = item
            elif isinstance(item, _Open):
                _finish(recorder)
                recorder = self._open(item)
            else:
                _finish(recorder)
                recorder = None
                if item.done is not None:
                    item.done.set()

    def _open(self, item: _Open) -> Recorder | None:
        try:
            recorder = item.make()
        except OutputError as exc:
            logger.error("recording: cannot open the next file: %s", exc)
            return None
        with self._lock:
            self._path = recorder.path
        return recorder


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
