"""The station root: infallible, never blocking, counting the stream position."""

from __future__ import annotations

import logging
import threading

from radio.audio.buffering import wait_buffered
from radio.audio.frames import FRAME_BYTES, SILENCE
from radio.audio.source import Endless, Source
from radio.events import DeadAir, DeadAirEnded, Event, EventSink

logger = logging.getLogger(__name__)


class Infallible(Endless):
    """Wraps the station tree so that every read returns one whole frame.

    When ``source`` is not ready the root sends silence (without reading it) and
    emits DeadAir once; when content comes back it emits DeadAirEnded with the
    number of silent frames. A child that raises or returns a wrong-sized frame is
    logged (once per kind) and replaced by silence or padding: the player thread
    never sees an exception or a short frame (discord.py stops on an empty read).

    :attr:`position` is the stream position: frames returned so far; events carry
    the position of the frame they describe.
    """

    def __init__(self, source: Source, events: EventSink | None = None) -> None:
        self.source = source
        self._events = events
        self._position = 0
        self._dead_since: int | None = None
        self._dead_frames = 0
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    @property
    def position(self) -> int:
        """Frames returned so far (the stream position of the next frame)."""
        return self._position

    @property
    def dead_air(self) -> bool:
        """True while the root is sending filler silence."""
        return self._dead_since is not None

    @property
    def dead_air_frames(self) -> int:
        """Total frames of filler silence sent since the start."""
        return self._dead_frames

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Offline pulling: wait for the tree's buffers (see radio.audio.buffering)."""
        return wait_buffered(self.source, timeout)

    def read(self) -> bytes:
        """Return exactly one frame; never raises, never blocks on I/O."""
        with self._lock:
            event: Event | None = None
            try:
                data = self.source.read() if self.source.ready else None
            except Exception:
                if "raise" not in self._warned:
                    self._warned.add("raise")
                    logger.exception("the station source failed; sending silence")
                data = None
            if data is None:
                self._dead_frames += 1
                if self._dead_since is None:
                    self._dead_since = self._position
                    event = DeadAir(frame=self._position)
                data = SILENCE
            else:
                if len(data) != FRAME_BYTES:
                    self._warn_once("size", f"the station source returned {len(data)} bytes")
                    data = (data + SILENCE)[:FRAME_BYTES]
                if self._dead_since is not None:
                    event = DeadAirEnded(
                        frame=self._position, frames=self._position - self._dead_since
                    )
                    self._dead_since = None
            self._position += 1
        if event is not None and self._events is not None:
            try:
                self._events(event)
            except Exception:
                logger.exception("event sink failed on %r", event)
        return data

    def close(self) -> None:
        self.source.close()

    def _warn_once(self, kind: str, message: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        logger.error(message)
