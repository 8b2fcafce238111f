"""The log of live sessions, in the station's SQLite file.

One row per live session: who went live (their Discord user id and name), in
which show, how (``encoder``: an Icecast source client on a mount; ``relay``: a
stream URL), when it started and ended (ISO instants in UTC, passed in: nothing
here reads the clock), why it ended, how much came in and where it was recorded.

A session is written when it starts and completed when it ends; each is one
committed transaction. A session still open when the station starts again was
cut by a crash: :meth:`LiveSessions.open_sessions` lists them and
:meth:`LiveSessions.end_open` ends them (the application does, with the reason
``interrupted``), keeping whatever counters were last stored.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from radio.errors import StoreError
from radio.store.db import Database

logger = logging.getLogger(__name__)

Via = Literal["encoder", "relay"]
INTERRUPTED: Final = "interrupted"

_MODULE: Final = "live_sessions"
_MIGRATIONS: Final = [
    """
    CREATE TABLE live_sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        presenter_id INTEGER NOT NULL,
        presenter_name TEXT NOT NULL,
        show_id TEXT,
        via TEXT NOT NULL CHECK (via IN ('encoder', 'relay')),
        source TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        end_reason TEXT,
        bytes_in INTEGER NOT NULL DEFAULT 0,
        frames_in INTEGER NOT NULL DEFAULT 0,
        recording TEXT
    );
    CREATE INDEX live_sessions_open ON live_sessions(ended_at, id)
    """,
]
_COLUMNS: Final = (
    "id, presenter_id, presenter_name, show_id, via, source, started_at, ended_at,"
    " end_reason, bytes_in, frames_in, recording"
)


@dataclass(frozen=True, slots=True)
class LiveSession:
    """One live session as stored. ``started_at``/``ended_at`` are ISO instants in UTC;
    ``ended_at`` and ``end_reason`` are None while it is open; ``show_id`` is None
    when nobody's show was on air (an admin's rescue); ``source`` is the mount or URL."""

    id: int
    presenter_id: int
    presenter_name: str
    show_id: str | None
    via: Via
    source: str
    started_at: str
    ended_at: str | None
    end_reason: str | None
    bytes_in: int
    frames_in: int
    recording: str | None

    @property
    def open(self) -> bool:
        """Whether the session has not been ended (on air, or cut by a crash)."""
        return self.ended_at is None


class LiveSessions:
    """The live sessions of one station. Thread-safe (the database serialises writes).

    Every method raises StoreError when the database cannot be read or written,
    and ValueError when an instant is not an ISO string with a UTC offset of zero.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure(_MODULE, _MIGRATIONS)

    def start(
        self,
        *,
        presenter_id: int,
        presenter_name: str,
        show_id: str | None,
        via: Via,
        source: str,
        at: str,
        recording: str | None = None,
    ) -> int:
        """Record that a session started ``at``; return its id. Durable on return."""
        _check_utc(at)
        if via not in ("encoder", "relay"):
            raise ValueError(f"a live session is via 'encoder' or 'relay', not {via!r}")
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO live_sessions(presenter_id, presenter_name, show_id, via, source,"
                " started_at, recording) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (presenter_id, presenter_name, show_id, via, source, at, recording),
            )
            session_id = int(cursor.lastrowid or 0)
        logger.info(
            "live session %d started: %s via %s (%s)", session_id, presenter_name, via, source
        )
        return session_id

    def progress(self, session_id: int, *, bytes_in: int, frames_in: int) -> None:
        """Store the counters of an open session so far (what a crash would keep).
        Does nothing once the session has ended."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE live_sessions SET bytes_in = ?, frames_in = ?"
                " WHERE id = ? AND ended_at IS NULL",
                (bytes_in, frames_in, session_id),
            )

    def end(
        self,
        session_id: int,
        *,
        at: str,
        reason: str,
        bytes_in: int,
        frames_in: int,
        recording: str | None = None,
    ) -> bool:
        """Record that session ``session_id`` ended ``at`` for ``reason``, with its final
        counters (and its recording's path when given: None keeps the stored one).

        Returns False, changing nothing, when it had already ended (the first end
        counts). Raises StoreError when there is no such session.
        """
        _check_utc(at)
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE live_sessions SET ended_at = ?, end_reason = ?, bytes_in = ?,"
                " frames_in = ?, recording = COALESCE(?, recording)"
                " WHERE id = ? AND ended_at IS NULL",
                (at, reason, bytes_in, frames_in, recording, session_id),
            )
            if cursor.rowcount == 0:
                known = conn.execute(
                    "SELECT 1 FROM live_sessions WHERE id = ?", (session_id,)
                ).fetchone()
                if known is None:
                    raise StoreError(f"there is no live session {session_id}")
                return False
        logger.info("live session %d ended: %s", session_id, reason)
        return True

    def open_sessions(self) -> list[LiveSession]:
        """Sessions not ended, oldest first: on air now, or cut by a crash when the
        station has just started."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM live_sessions WHERE ended_at IS NULL ORDER BY id"
        )
        return [_session(row) for row in rows]

    def end_open(self, at: str, reason: str = INTERRUPTED) -> list[LiveSession]:
        """End every open session ``at`` for ``reason`` (at start-up: those a crash
        cut), keeping their stored counters; return them as they now are."""
        _check_utc(at)
        with self._db.transaction() as conn:
            ids = [
                int(row["id"])
                for row in conn.execute(
                    "SELECT id FROM live_sessions WHERE ended_at IS NULL ORDER BY id"
                )
            ]
            conn.executemany(
                "UPDATE live_sessions SET ended_at = ?, end_reason = ? WHERE id = ?",
                [(at, reason, session_id) for session_id in ids],
            )
        if ids:
            logger.warning("%d live session(s) left open ended as %s", len(ids), reason)
        return [self.get(session_id) for session_id in ids]

    def get(self, session_id: int) -> LiveSession:
        """Session ``session_id``. Raises StoreError when there is none."""
        rows = self._db.query(f"SELECT {_COLUMNS} FROM live_sessions WHERE id = ?", (session_id,))
        if not rows:
            raise StoreError(f"there is no live session {session_id}")
        return _session(rows[0])

    def recent(self, limit: int = 10) -> list[LiveSession]:
        """The ``limit`` latest sessions, newest (last started) first, open ones included."""
        if limit < 1:
            return []
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM live_sessions ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [_session(row) for row in rows]


def _check_utc(at: str) -> None:
    try:
        instant = datetime.fromisoformat(at)
    except ValueError:
        raise ValueError(f"{at!r} is not an ISO instant") from None
    if instant.utcoffset() != timedelta(0):
        raise ValueError(f"{at!r} is not in UTC (give it with +00:00)")


def _session(row: sqlite3.Row) -> LiveSession:
    via: Via = "relay" if row["via"] == "relay" else "encoder"
    return LiveSession(
        id=int(row["id"]),
        presenter_id=int(row["presenter_id"]),
        presenter_name=str(row["presenter_name"]),
        show_id=row["show_id"],
        via=via,
        source=str(row["source"]),
        started_at=str(row["started_at"]),
        ended_at=row["ended_at"],
        end_reason=row["end_reason"],
        bytes_in=int(row["bytes_in"]),
        frames_in=int(row["frames_in"]),
        recording=row["recording"],
    )
