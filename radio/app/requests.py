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

The request up next can still be cancelled, removed or moved away from the head
until it starts: the queue then tells (``withdrawn``) and the station lets go of
the track it had opened (:meth:`~radio.station.Station.release_requests`) and
opens the new head of the queue, or the rotation's pick, in its place.
"""

from __future__ import annotations

import logging
import threading
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
    """A :class:`RequestQueue` that calls ``on_added`` after each accepted request,
    and ``on_withdrawn`` after a request up next left the head of the queue.

    The station asks the queue only when it needs a next track; being told at
    once lets it open the request while the current track still plays, or let go
    of one that is no longer wanted (:meth:`wanted` says which, from memory: it
    may be asked on the player thread).
    """

    def __init__(
        self,
        db: Database,
        *,
        quota: int = 3,
        cooldown: timedelta = timedelta(seconds=30),
        on_added: Callable[[], None] = lambda: None,
    ) -> None:
        self._lock = threading.Lock()
        self._withdrawn: set[int] = set()  # up next once, then cancelled/removed/moved
        super().__init__(db, quota=quota, cooldown=cooldown)
        self.on_added = on_added
        self.on_withdrawn: Callable[[], None] = lambda: None

    def add(self, user_id: int, user_name: str, track: Track, now: datetime) -> Request:
        """Queue ``track`` (see :meth:`RequestQueue.add`), then notify. Raises RequestRefused."""
        request = super().add(user_id, user_name, track, now)
        self.on_added()
        return request

    def open_next(self) -> Track | None:
        """See :meth:`RequestQueue.open_next`; the request opened is wanted again."""
        track = super().open_next()
        number = request_id(track) if track is not None else None
        if number is not None:
            with self._lock:
                self._withdrawn.discard(number)
        return track

    def withdrawn(self, request_id: int) -> None:
        """A request up next left the head of the queue: remember it, tell the station."""
        with self._lock:
            self._withdrawn.add(request_id)
        self.on_withdrawn()

    def wanted(self, track: Track) -> bool:
        """False for a request the station opened that has since been withdrawn."""
        number = request_id(track)
        with self._lock:
            return number is None or number not in self._withdrawn


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
    requests to the station at once (the application may wrap it to run later),
    ``queue.on_withdrawn`` to make the station let go of a request withdrawn while
    up next.
    Call :meth:`close` to stop handing requests to the station.
    """

    def __init__(self, queue: NotifyingQueue, station: Station, *, clock: Clock) -> None:
        self.queue = queue
        self._station = station
        self._clock = clock
        queue.on_added = station.offer_requests
        queue.on_withdrawn = lambda: station.release_requests(queue.wanted)
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
