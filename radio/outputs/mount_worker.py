"""The reconnect loop an Icecast mount's worker thread runs (the Ogg and the MP3 outputs).

A session connects to the mount and streams until a stop (STOPPED), until the
connection breaks after it streamed (BROKE), or fails to connect (REFUSED).
Between sessions the worker waits ``min(cap, base * 2**attempt)`` s; a session
that broke after streaming starts the backoff over. An unexpected exception is
logged and counted as a failed session: the worker never dies in silence.
Each change of state is one log line and one :class:`IcecastChange` (re-exported
by :mod:`radio.outputs.icecast`).

The outputs keep what differs: what they stream (:meth:`MountWorker._stream`)
and how they wait between sessions (:meth:`MountWorker._wait`).
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from radio.errors import OutputError
from radio.events import Event
from radio.outputs.icecast_client import IcecastMount, IcecastSource, SourceInfo
from radio.outputs.titles import StreamTitle, stream_title

STOPPED: Final = object()  # a session's outcomes
BROKE: Final = object()
REFUSED: Final = object()


class Stop:
    """The item :meth:`MountWorker.close` queues: the worker stops when it takes it."""


@dataclass(frozen=True, slots=True)
class IcecastChange:
    """The output went up (``up``) or down (``reason`` says why)."""

    mount: str
    up: bool
    reason: str = ""


class MountWorker(ABC):
    """An output's queue and worker thread: sessions, backoff, up/down state.

    ``kind`` ("icecast", "mp3") begins each log line, written to ``log`` (the
    output's module logger). The counters ``_connections`` and ``_failures``
    and the state ``_up`` are guarded by ``_lock``; ``_received`` and
    ``_dropped`` are written by the sender's thread only. The worker drains
    ``_items`` every ``interval`` s (sooner once ``_wake`` is set).
    """

    def __init__(
        self,
        kind: str,
        log: logging.Logger,
        mount: IcecastMount,
        password: str,
        info: SourceInfo,
        *,
        on_change: Callable[[IcecastChange], None] | None,
        backoff: tuple[float, float],
        timeouts: tuple[float, float],
        capacity: int,
        interval: float,
    ) -> None:
        self.mount = mount
        self._kind = kind
        self._log = log
        self._password = password
        self._info = info
        self._on_change = on_change
        self._backoff = backoff  # (base, cap) in seconds
        self._timeouts = timeouts  # (connect, send) in seconds
        self._lock = threading.Lock()  # the worker's counters and state, read by stats()
        self._up = False
        self._connections = 0
        self._failures = 0
        self._capacity = capacity
        self._interval = interval
        # The sender appends and the worker pops (both atomic in a deque): no lock and
        # no wake-up per packet; the worker drains it every interval.
        self._items: deque[bytes | StreamTitle | Stop] = deque()
        self._wake = threading.Event()  # set by close(): the worker drains at once
        self._thread: threading.Thread | None = None
        self._received = 0
        self._dropped = 0

    # --- the producers' side and life ------------------------------------------

    def title(self, title: StreamTitle) -> None:
        """Set the mount's title from the next packet on (the Ogg mount: a new chained stream)."""
        self._items.append(title)

    def on_event(self, event: Event) -> None:
        """A station event: a track or live change sets the title (see :func:`stream_title`)."""
        title = stream_title(event)
        if title is not None:
            self.title(title)

    def packet(self, packet: bytes) -> None:
        """The station's next encoded packet (sender thread): queued, or dropped when full.

        An append to a deque: no lock, no wake-up of the worker (it drains the
        queue every interval), so the sender pays well under a microsecond.
        """
        if len(self._items) < self._capacity:
            self._items.append(packet)
            self._received += 1  # written by the sender's thread only
            return
        self._dropped += 1
        dropped = self._dropped
        if dropped == 1 or dropped % 500 == 0:
            self._log.warning(
                "%s %s: the output is behind, %d packet(s) dropped", self._kind, self.mount, dropped
            )

    def start(self) -> None:
        """Start the worker thread (connects, streams, reconnects). Idempotent."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"{self._kind}{self.mount.mount}", daemon=True
            )
            self._thread.start()

    def close(self, timeout: float = 15.0) -> bool:
        """End the stream and stop the worker; False if it did not stop within ``timeout``."""
        thread = self._thread
        if thread is None:
            return True
        self._items.append(Stop())
        self._wake.set()
        thread.join(timeout)
        return not thread.is_alive()

    # --- the worker ----------------------------------------------------------------

    @abstractmethod
    def _stream(self, source: IcecastSource) -> None:
        """Stream to ``source`` until a stop; raises OutputError when Icecast fails."""

    @abstractmethod
    def _wait(self, delay: float) -> bool:
        """Wait ``delay`` s between sessions; True if the output was stopped meanwhile."""

    def _run(self) -> None:
        attempt = 0
        while True:
            try:
                outcome = self._session()
            except Exception as exc:  # never die in silence: anything else is a failed session
                self._log.exception("%s %s: unexpected failure", self._kind, self.mount)
                self._down(f"unexpected failure: {exc}")
                outcome = REFUSED
            if outcome is STOPPED:
                return
            if outcome is BROKE:
                attempt = 0  # it was streaming: start the backoff over
            delay = min(self._backoff[1], self._backoff[0] * 2**attempt)
            attempt += 1
            if self._wait(delay):
                return

    def _session(self) -> object:
        """Connect, then stream: STOPPED, BROKE (it streamed, then failed) or REFUSED."""
        connect_timeout, send_timeout = self._timeouts
        try:
            source = IcecastSource.connect(
                self.mount,
                self._password,
                self._info,
                timeout=connect_timeout,
                send_timeout=send_timeout,
            )
        except OutputError as exc:
            self._down(str(exc))
            return REFUSED
        with self._lock:
            self._connections += 1
            self._up = True
        self._log.info("%s %s: streaming", self._kind, self.mount)
        self._notify(IcecastChange(str(self.mount), up=True))
        try:
            self._stream(source)
        except OutputError as exc:
            self._down(str(exc))
            return BROKE
        finally:
            source.close()
        return STOPPED

    def _down(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            was_up = self._up
            first = self._failures == 1
            self._up = False
        if was_up or first:
            self._log.warning(
                "%s %s: down, reconnecting with backoff: %s", self._kind, self.mount, reason
            )
            self._notify(IcecastChange(str(self.mount), up=False, reason=reason))
        else:
            self._log.debug("%s %s: still down: %s", self._kind, self.mount, reason)

    def _notify(self, change: IcecastChange) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(change)
        except Exception:
            self._log.exception("%s %s: the state callback failed", self._kind, self.mount)


__all__ = ["BROKE", "REFUSED", "STOPPED", "IcecastChange", "MountWorker", "Stop"]
