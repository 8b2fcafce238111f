"""The listeners' request queue, in the station's SQLite file.

A request is a track a listener asked for. It is ``queued`` until the station
takes it (``taken``), then ``played`` or ``failed``. The queue as listed
(:meth:`RequestQueue.pending`: up next first, then the queued ones) is what
:meth:`~RequestQueue.cancel`, :meth:`~RequestQueue.remove`, :meth:`~RequestQueue.move`
and :meth:`~RequestQueue.clear` act on: until it starts, the request up next can be
cancelled by its requester, removed or moved by a DJ, like any queued one. It then
goes back to ``queued`` (moved) or leaves the queue, and :meth:`RequestQueue.withdrawn`
is told its number, so that the station lets go of the track it had opened. The station takes a
request when it opens it as its next track (:meth:`RequestQueue.open_next`:
*up next*, still listed by :meth:`RequestQueue.pending`, first) and says when it
starts (:meth:`RequestQueue.started`: *playing*, :meth:`RequestQueue.playing`);
:meth:`RequestQueue.take` does both at once. Each change is one committed transaction, so a request
that was acknowledged survives a crash (SIGKILL included). A request that was
``taken`` when the process died never finished playing: on the next start it
goes back to the head of the queue, in the order it was taken.

Refusals (quota, duplicate, cooldown, unknown request) raise
:class:`~radio.errors.RequestRefused` whose message can be shown to the member.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from radio.audio.track import Track
from radio.errors import RequestRefused
from radio.store.db import Database

logger = logging.getLogger(__name__)

RequestState = Literal["queued", "taken", "played", "failed", "cancelled", "removed"]

_MODULE: Final = "requests"
_MIGRATIONS: Final = [
    """
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        position INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        user_name TEXT NOT NULL DEFAULT '',
        location TEXT NOT NULL,
        title TEXT NOT NULL,
        artist TEXT NOT NULL DEFAULT '',
        album TEXT NOT NULL DEFAULT '',
        duration REAL,
        requested_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued'
            CHECK (state IN ('queued', 'taken', 'played', 'failed', 'cancelled', 'removed')),
        taken_seq INTEGER,
        finished_at TEXT
    );
    CREATE INDEX requests_by_state ON requests(state, position, id);
    CREATE INDEX requests_by_user ON requests(user_id, requested_at)
    """,
    # taken requests are up next (opened by the station) until they start playing
    "ALTER TABLE requests ADD COLUMN started INTEGER NOT NULL DEFAULT 0",
]

_COLUMNS: Final = (
    "id, position, user_id, user_name, location, title, artist, album, duration,"
    " requested_at, state"
)


@dataclass(frozen=True, slots=True)
class Request:
    """One request as stored. ``requested_at`` is aware UTC."""

    id: int
    user_id: int
    user_name: str
    track: Track
    requested_at: datetime
    state: RequestState

    def as_track(self) -> Track:
        """The track with the request's context in its tags, for the engine and announcements."""
        tags = dict(self.track.tags)
        tags.update(
            requested_by=self.user_name or str(self.user_id),
            requested_by_id=str(self.user_id),
            request_id=str(self.id),
        )
        return Track(
            location=self.track.location,
            title=self.track.title,
            artist=self.track.artist,
            album=self.track.album,
            duration=self.track.duration,
            tags=tags,
        )


class RequestQueue:
    """The request queue of one station.

    ``quota`` is how many requests one member may have waiting (queued or
    taken); ``cooldown`` is the least time between two requests by one member.
    Thread-safe (the database serialises writes). Implements the engine's
    ``TrackProvider`` through :meth:`next_track`.
    """

    def __init__(
        self, db: Database, *, quota: int = 3, cooldown: timedelta = timedelta(seconds=30)
    ) -> None:
        if quota < 1:
            raise ValueError("a request quota is at least 1")
        if cooldown < timedelta(0):
            raise ValueError("a cooldown cannot be negative")
        self._db = db
        self.quota = quota
        self.cooldown = cooldown
        db.ensure(_MODULE, _MIGRATIONS)
        self._requeue_taken()

    def add(self, user_id: int, user_name: str, track: Track, now: datetime) -> Request:
        """Queue ``track`` for ``user_id`` at the end; return the stored request.

        Durable on return. Raises RequestRefused when the track is already
        waiting, the member's quota is full, or their last request is more
        recent than the cooldown (a last request stamped after ``now``, by a
        concurrent call, counts as made at ``now``).
        """
        stamp = _stamp(now)
        with self._db.transaction() as conn:
            waiting = conn.execute(
                f"SELECT {_COLUMNS}, started FROM requests"
                " WHERE state IN ('queued', 'taken')"
                " ORDER BY state = 'queued', taken_seq, position, id"
            ).fetchall()
            listed = [row["id"] for row in waiting if not row["started"]]
            for row in waiting:
                if row["location"] == track.location:
                    where = (
                        "playing now" if row["started"] else f"number {listed.index(row['id']) + 1}"
                    )
                    raise RequestRefused(f"{track.display} is already in the queue ({where}).")
            mine = sum(1 for row in waiting if row["user_id"] == user_id)
            if mine >= self.quota:
                raise RequestRefused(
                    f"You already have {mine} requests waiting (the limit is {self.quota});"
                    " cancel one or wait until one plays."
                )
            last = conn.execute(
                "SELECT MAX(requested_at) AS last FROM requests WHERE user_id = ?", (user_id,)
            ).fetchone()["last"]
            if last is not None:
                # ``now`` was read before this transaction began: a request by the same
                # member that committed first may carry a later time. Counted as
                # made at the same instant, it never leaves a wait beyond the cooldown
                # (none at all when there is no cooldown).
                elapsed = max(timedelta(0), now - datetime.fromisoformat(last))
                wait = self.cooldown - elapsed
                if wait > timedelta(0):
                    raise RequestRefused(
                        f"Please wait {_seconds(wait)} s before your next request."
                    )
            position = conn.execute(
                "SELECT COALESCE(MAX(position), 0) + 1 AS next FROM requests"
            ).fetchone()["next"]
            cursor = conn.execute(
                "INSERT INTO requests(position, user_id, user_name, location, title, artist,"
                " album, duration, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    position,
                    user_id,
                    user_name,
                    track.location,
                    track.title,
                    track.artist,
                    track.album,
                    track.duration,
                    stamp,
                ),
            )
            request_id = int(cursor.lastrowid or 0)
        logger.info("request %d queued by %s: %s", request_id, user_name or user_id, track.display)
        return self.get(request_id)

    def get(self, request_id: int) -> Request:
        """Return request ``request_id`` in any state. Raises RequestRefused if unknown."""
        rows = self._db.query(f"SELECT {_COLUMNS} FROM requests WHERE id = ?", (request_id,))
        if not rows:
            raise RequestRefused(f"There is no request number {request_id}.")
        return _request(rows[0])

    def pending(self) -> list[Request]:
        """The requests still to play, in play order: those the station has opened
        as its next track (state ``taken``) first, then the queued ones. The one
        being played is not included."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM requests"
            " WHERE state = 'queued' OR (state = 'taken' AND started = 0)"
            " ORDER BY state = 'queued', taken_seq, position, id"
        )
        return [_request(row) for row in rows]

    def playing(self) -> Request | None:
        """The request on air: taken, started and not yet finished (the oldest)."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM requests WHERE state = 'taken' AND started = 1"
            " ORDER BY taken_seq LIMIT 1"
        )
        return _request(rows[0]) if rows else None

    def cancel(self, request_id: int, user_id: int, now: datetime) -> Request:
        """Cancel a waiting request (queued, or up next but not started) on behalf of its
        own requester.

        Raises RequestRefused when it does not exist, is not theirs, or already left the
        queue (playing, played, cancelled, removed).
        """
        return self._drop(request_id, "cancelled", now, owner=user_id)

    def remove(self, request_id: int, now: datetime) -> Request:
        """Remove a waiting request, up next included (a DJ's action). Raises
        RequestRefused when it is not waiting."""
        return self._drop(request_id, "removed", now, owner=None)

    def clear(self, now: datetime) -> int:
        """Remove every waiting request, up next included (a DJ's action); return how
        many. The one playing plays on."""
        with self._db.transaction() as conn:
            up_next = [
                int(row["id"])
                for row in conn.execute(
                    "SELECT id FROM requests WHERE state = 'taken' AND started = 0"
                )
            ]
            cursor = conn.execute(
                "UPDATE requests SET state = 'removed', finished_at = ?"
                " WHERE state = 'queued' OR (state = 'taken' AND started = 0)",
                (_stamp(now),),
            )
            count = cursor.rowcount
        logger.info("request queue cleared: %d removed", count)
        for request_id in up_next:
            self.withdrawn(request_id)
        return count

    def move(self, request_id: int, place: int) -> list[Request]:
        """Move a waiting request to ``place`` in the queue as :meth:`pending` lists it
        (1 = next to play); return the new queue.

        A place past the end moves it to the end. A request up next that is no
        longer at the head goes back to ``queued`` (and :meth:`withdrawn` is told), so
        the station opens the new head instead. Raises RequestRefused when the
        request is not waiting or ``place`` is below 1.
        """
        if place < 1:
            raise RequestRefused("Places in the queue start at 1.")
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT id, state, started FROM requests"
                " WHERE state = 'queued' OR state = 'taken'"
                " ORDER BY state = 'queued', taken_seq, position, id"
            ).fetchall()
            playing = {int(r["id"]) for r in rows if r["started"]}
            taken = [int(r["id"]) for r in rows if r["state"] == "taken" and not r["started"]]
            ids = [int(r["id"]) for r in rows if not r["started"]]
            if request_id in playing:
                raise RequestRefused(f"Request {request_id} is playing now: it cannot move.")
            if request_id not in ids:
                raise RequestRefused(f"There is no request number {request_id} in the queue.")
            ids.remove(request_id)
            ids.insert(min(place, len(ids) + 1) - 1, request_id)
            # The requests up next that are still at the head keep their place.
            kept = 0
            while kept < len(taken) and ids[kept] == taken[kept]:
                kept += 1
            withdrawn = taken[kept:]
            base = conn.execute(
                "SELECT COALESCE(MIN(position), 1) AS low FROM requests"
                " WHERE state = 'queued' OR state = 'taken'"
            ).fetchone()["low"]
            conn.executemany(
                "UPDATE requests SET position = ? WHERE id = ?",
                [(base + offset, rid) for offset, rid in enumerate(ids)],
            )
            conn.executemany(
                "UPDATE requests SET state = 'queued', taken_seq = NULL WHERE id = ?",
                [(rid,) for rid in withdrawn],
            )
        for rid in withdrawn:
            self.withdrawn(rid)
        return self.pending()

    def take(self) -> Request | None:
        """Hand the next queued request to the station to play now (``taken`` and
        started), or None."""
        return self._take(started=True)

    def open_next(self) -> Track | None:
        """Hand the next queued request to the station as its next track (``taken``,
        up next: not started until :meth:`started`); None when the queue is empty."""
        request = self._take(started=False)
        return request.as_track() if request is not None else None

    def started(self, request_id: int) -> None:
        """Record that a taken request went on air. Idempotent.

        A request moved back into the queue in the instant it started (the station
        could no longer let go of it) is playing all the same: it is taken again.
        """
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE requests SET started = 1, state = 'taken', taken_seq = COALESCE("
                "taken_seq, (SELECT COALESCE(MAX(taken_seq), 0) + 1 FROM requests))"
                " WHERE id = ? AND state IN ('taken', 'queued')",
                (request_id,),
            )

    def withdrawn(self, request_id: int) -> None:
        """Told after request ``request_id``, up next (opened by the station, not
        started), left the head of the queue: cancelled, removed, cleared or moved.
        Nothing here; the application overrides it to make the station let go."""

    def _take(self, *, started: bool) -> Request | None:
        with self._db.transaction() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE state = 'queued'"
                " ORDER BY position, id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            seq = conn.execute(
                "SELECT COALESCE(MAX(taken_seq), 0) + 1 AS next FROM requests"
            ).fetchone()["next"]
            conn.execute(
                "UPDATE requests SET state = 'taken', taken_seq = ?, started = ? WHERE id = ?",
                (seq, int(started), row["id"]),
            )
        return _request(row, state="taken")

    def next_track(self) -> Track | None:
        """TrackProvider: take the next request and return its track (tags say who asked)."""
        request = self.take()
        return request.as_track() if request is not None else None

    def finish(self, request_id: int, now: datetime, *, played: bool = True) -> None:
        """Record that a taken request played to the end (or failed). Idempotent."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE requests SET state = ?, finished_at = ? WHERE id = ? AND state = 'taken'",
                ("played" if played else "failed", _stamp(now), request_id),
            )

    def _drop(
        self, request_id: int, state: RequestState, now: datetime, *, owner: int | None
    ) -> Request:
        with self._db.transaction() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS}, started FROM requests WHERE id = ?", (request_id,)
            ).fetchone()
            if row is None or (owner is not None and row["user_id"] != owner):
                # Someone else's request reads as unknown: no need to say whose it is.
                raise RequestRefused(f"You have no request number {request_id}.")
            up_next = row["state"] == "taken" and not row["started"]
            if row["state"] != "queued" and not up_next:
                why = "playing now" if row["state"] == "taken" else row["state"]
                raise RequestRefused(f"Request {request_id} is no longer in the queue ({why}).")
            conn.execute(
                "UPDATE requests SET state = ?, finished_at = ? WHERE id = ?",
                (state, _stamp(now), request_id),
            )
        logger.info("request %d %s%s", request_id, state, " (it was up next)" if up_next else "")
        if up_next:
            self.withdrawn(request_id)
        return _request(row, state=state)

    def _requeue_taken(self) -> None:
        with self._db.transaction() as conn:
            taken = [
                int(row["id"])
                for row in conn.execute(
                    "SELECT id FROM requests WHERE state = 'taken' ORDER BY taken_seq"
                )
            ]
            if not taken:
                return
            low = conn.execute(
                "SELECT COALESCE(MIN(position), 1) AS low FROM requests WHERE state = 'queued'"
            ).fetchone()["low"]
            conn.executemany(
                "UPDATE requests SET state = 'queued', taken_seq = NULL, started = 0,"
                " position = ? WHERE id = ?",
                [(low - len(taken) + offset, rid) for offset, rid in enumerate(taken)],
            )
        logger.warning(
            "%d request(s) were playing when the station stopped; back at the head of the queue",
            len(taken),
        )


def _stamp(now: datetime) -> str:
    if now.tzinfo is None:
        raise ValueError("request times must be aware datetimes")
    # One fixed-width UTC form, so that text order in SQLite is time order.
    return now.astimezone(UTC).isoformat(timespec="microseconds")


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def _request(row: sqlite3.Row, state: RequestState | None = None) -> Request:
    track = Track(
        location=row["location"],
        title=row["title"],
        artist=row["artist"],
        album=row["album"],
        duration=row["duration"],
    )
    return Request(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        user_name=row["user_name"],
        track=track,
        requested_at=datetime.fromisoformat(row["requested_at"]),
        state=state or row["state"],
    )
