"""Requests on air: the SQLite request queue feeding the station's sequences.

:class:`RequestPlayer` hands the :class:`~radio.store.requests.RequestQueue`
to the station (:meth:`~radio.station.Station.set_requests`): the sequence on
air takes the next request as its next track, so a request plays at the next
track boundary, gapless or crossfaded like any track change, never cutting the
song everyone is hearing (a DJ's skip makes it audible at once). A queued request
is offered at once (:meth:`~radio.station.Station.offer_requests`): its decoder
opens while the current track still plays, in place of the rotation's pick,
which plays after the requests. Each request is ``taken`` when the station opens
it (up next: still listed by the queue, first), playing from its TrackStarted,
and ``played`` when its track ends (``failed`` when it could not be played).
Because every change is a committed SQLite transaction, the queue survives a
crash: a request that was taken (open or playing) goes back to the head on the
next start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from radio.audio.track import Track
from radio.clock import Clock
from radio.events import Event, TrackEnded, TrackFailed, TrackStarted
from radio.station import Station
from radio.store.db import Database
from radio.store.requests import Request, RequestQueue

logger = logging.getLogger(__name__)


class NotifyingQueue(RequestQueue):
    """A :class:`RequestQueue` that calls ``on_added`` after each accepted request.

    The station asks the queue only when it needs a next track; being told at
    once lets it open the request while the current track still plays.
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


class _UpNext:
    """The queue as the station's request provider: a request the station opens is
    ``taken`` (up next) until its TrackStarted says it plays."""

    def __init__(self, queue: RequestQueue) -> None:
        self._queue = queue

    def next_track(self) -> Track | None:
        return self._queue.open_next()


class RequestPlayer:
    """Feeds ``queue`` to ``station`` and records how each request ended.

    :meth:`on_event` must be subscribed to the station's events (off the player
    thread) to mark requests finished. ``queue.on_added`` is set to offer the
    requests to the station at once (the application may wrap it to run later).
    Call :meth:`close` to stop handing requests to the station.
    """

    def __init__(self, queue: NotifyingQueue, station: Station, *, clock: Clock) -> None:
        self.queue = queue
        self._station = station
        self._clock = clock
        queue.on_added = station.offer_requests
        station.set_requests(_UpNext(queue))

    def on_event(self, event: Event) -> None:
        """Take one station event: a request's start and end are written to the queue."""
        match event:
            case TrackStarted(track=track):
                number = request_id(track)
                if number is not None:
                    try:
                        self.queue.started(number)
                    except Exception:
                        logger.exception("cannot mark request %d as playing", number)
            case TrackEnded(track=track, skipped=skipped):
                self._finish(track, played=True, how="skipped" if skipped else "played")
            case TrackFailed(track=track, reason=reason):
                self._finish(track, played=False, how=f"failed: {reason}")

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
        """Stop handing requests to the station (those it opened stay taken)."""
        self._station.set_requests(None)
