"""Keeping slow work off the player thread.

Station events are emitted on discord.py's player thread, in the middle of a
20 ms frame: whatever a subscriber does there (SQLite writes, rendering an
embed, asking the queue what is next) delays the packet. :class:`ThreadedEventBus`
hands each event to one worker thread that delivers it to the subscribers in
order; :class:`DeferredHistory` writes plays to SQLite on a worker thread too
(reads, for the rotation's separation rules, stay direct).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from radio.audio.track import Track
from radio.events import Event, EventBus
from radio.store.db import Database
from radio.store.history import PlayHistory

logger = logging.getLogger(__name__)


class _Worker:
    """One daemon thread running submitted calls in order until :meth:`close`."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    def submit(self, call: Callable[[], None]) -> None:
        if not self._closed:
            self._calls.put(call)

    def close(self, timeout: float = 5.0) -> None:
        """Run what was submitted, then stop. Idempotent."""
        if not self._closed:
            self._closed = True
            self._calls.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            try:
                call()
            except Exception:
                logger.exception("a deferred call failed")


class ThreadedEventBus(EventBus):
    """An :class:`EventBus` whose subscribers run on its own worker thread, in order.

    Calling the bus (the producers' side) only queues the event. :meth:`close`
    delivers what is queued, then stops.
    """

    def __init__(self) -> None:
        super().__init__()
        self._worker = _Worker("radio-events")

    def __call__(self, event: Event) -> None:
        """Queue ``event`` for the subscribers. Quick, never raises."""
        self._worker.submit(lambda: EventBus.__call__(self, event))

    def close(self) -> None:
        self._worker.close()


class DeferredHistory(PlayHistory):
    """A :class:`PlayHistory` whose :meth:`record` writes on a worker thread."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._worker = _Worker("radio-history")

    def record(self, track: Track, at: datetime, *, playlist: str = "", show: str = "") -> None:
        """Queue the play for writing (errors are logged by the worker)."""
        write = super().record
        self._worker.submit(lambda: write(track, at, playlist=playlist, show=show))

    def close(self) -> None:
        """Write what is queued, then stop."""
        self._worker.close()
