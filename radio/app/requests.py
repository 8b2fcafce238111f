"""Requests on air: the SQLite request queue seated in the station's requests slot.

The station tree has a requests :class:`~radio.grid.holder.Holder` above the
programme. :class:`RequestPlayer` seats a :class:`~radio.audio.sequence.TrackSequence`
over the :class:`~radio.store.requests.RequestQueue` in it: the sequence takes
the next queued request whenever it needs a track, so a request cuts in as soon
as it is buffered (the station's fallback switch gives way with a 50 ms fade)
and the queue plays in order; when the queue is empty the sequence is not ready
and the programme comes back where it left off. Each request is marked
``played`` when its track ends (``failed`` when it could not be played).
Because every change is a committed SQLite transaction, the queue survives a
crash: a request that was playing goes back to the head on the next start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from radio.audio.loudness import LoudnessLevels
from radio.audio.sequence import TrackSequence
from radio.audio.track import Track
from radio.clock import Clock
from radio.events import Event, TrackEnded, TrackFailed
from radio.station import Station
from radio.store.db import Database
from radio.store.requests import Request, RequestQueue

logger = logging.getLogger(__name__)


class NotifyingQueue(RequestQueue):
    """A :class:`RequestQueue` that calls ``on_added`` after each accepted request.

    The request sequence asks the queue only when it needs a track; being told
    at once makes a request audible within a frame or two of being queued.
    """

    def __init__(
        self,
        db: Database,
        *,
        quota: int = 3,
        cooldown: timedelta = timedelta(seconds=30),
        on_added: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(db, quota=quota, cooldown=cooldown)
        self.on_added = on_added

    def add(self, user_id: int, user_name: str, track: Track, now: datetime) -> Request:
        """Queue ``track`` (see :meth:`RequestQueue.add`), then notify. Raises RequestRefused."""
        request = super().add(user_id, user_name, track, now)
        self.on_added()
        return request


def request_id(track: Track) -> int | None:
    """The request number a track carries in its tags (None: not a request)."""
    raw = track.tags.get("request_id", "")
    return int(raw) if raw.isdigit() else None


class RequestPlayer:
    """Plays ``queue`` in ``station``'s requests slot and records how each request ended.

    Events of the request sequence go to ``station.emit`` (announcements, play
    history); :meth:`on_event` must be subscribed to the station's events to mark
    requests finished. Call :meth:`close` to stop its decoder.
    """

    def __init__(
        self,
        queue: NotifyingQueue,
        station: Station,
        *,
        clock: Clock,
        loudness: LoudnessLevels | None = None,
        gave_back: Callable[[int], None] = lambda frame: None,
    ) -> None:
        self.queue = queue
        self._gave_back = gave_back
        self._station = station
        self._clock = clock
        self.sequence = TrackSequence(
            queue,
            loudness=loudness,
            events=station.emit,
            name="requests",
            position=lambda: station.root.position,
        )
        queue.on_added = self.sequence.wake
        previous = station.requests.seat(self.sequence)
        if previous is not None:
            previous.close()

    def on_event(self, event: Event) -> None:
        """Take one station event (subscribe it to the station's bus, off the player
        thread): a request's end is written to the queue."""
        match event:
            case TrackEnded(track=track, skipped=skipped):
                self._finish(track, played=True, how="skipped" if skipped else "played")
            case TrackFailed(track=track, reason=reason):
                self._finish(track, played=False, how=f"failed: {reason}")
        if (
            isinstance(event, TrackEnded)
            and request_id(event.track) is not None
            and self.sequence.preloaded is None
            and not self.queue.pending()
        ):
            # No request follows: the programme plays again from where it stopped.
            self._gave_back(event.frame)

    def _finish(self, track: Track, *, played: bool, how: str) -> None:
        number = request_id(track)
        if number is None:
            return
        try:
            self.queue.finish(number, self._clock.now(), played=played)
        except Exception:
            # The audio thread must go on; the request stays 'taken' and is
            # played again after the next restart rather than lost.
            logger.exception("cannot mark request %d as finished", number)
            return
        logger.info("request %d %s: %s", number, how, track.display)

    def close(self) -> None:
        """Empty the requests slot and stop the sequence's decoder."""
        if self._station.requests.seat(None) is self.sequence:
            self.sequence.close()
