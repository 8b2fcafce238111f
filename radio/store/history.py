"""Play history: what went on air when, for separation rules and play logs.

Artists and titles are compared case-insensitively, trimmed. Instants are stored
as UTC epoch seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from radio.audio.track import Track
from radio.store.db import Database

logger = logging.getLogger(__name__)

_MIGRATIONS = [
    """
    CREATE TABLE play_history (
        id INTEGER PRIMARY KEY,
        played_at REAL NOT NULL,
        location TEXT NOT NULL,
        title TEXT NOT NULL,
        artist TEXT NOT NULL,
        title_key TEXT NOT NULL,
        artist_key TEXT NOT NULL,
        playlist TEXT NOT NULL,
        show TEXT NOT NULL
    );
    CREATE INDEX play_history_artist ON play_history(artist_key, played_at);
    CREATE INDEX play_history_title ON play_history(title_key, played_at);
    CREATE INDEX play_history_time ON play_history(played_at)
    """
]


def key(text: str) -> str:
    """The comparison key of an artist or title."""
    return " ".join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class Play:
    """One row of the history."""

    played_at: datetime
    location: str
    title: str
    artist: str
    playlist: str
    show: str


class PlayHistory:
    """The ``play_history`` table of the station database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure("play_history", _MIGRATIONS)

    def record(self, track: Track, at: datetime, *, playlist: str = "", show: str = "") -> None:
        """Record that ``track`` started at ``at`` (aware). Raises StoreError on failure."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO play_history(played_at, location, title, artist, title_key,"
                " artist_key, playlist, show) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _epoch(at),
                    track.location,
                    track.title,
                    track.artist,
                    key(track.title),
                    key(track.artist),
                    playlist,
                    show,
                ),
            )

    def last_played(
        self, *, artist: str | None = None, title: str | None = None
    ) -> datetime | None:
        """When a track by ``artist`` (or called ``title``) last started, if ever."""
        if (artist is None) == (title is None):
            raise ValueError("give exactly one of artist or title")
        column, value = ("artist_key", artist) if artist is not None else ("title_key", title)
        assert value is not None
        rows = self._db.query(
            f"SELECT MAX(played_at) AS at FROM play_history WHERE {column} = ?", (key(value),)
        )
        at = rows[0]["at"] if rows else None
        return None if at is None else datetime.fromtimestamp(float(at), UTC)

    def since(self, start: datetime) -> list[Play]:
        """Every play from ``start`` on, oldest first."""
        rows = self._db.query(
            "SELECT played_at, location, title, artist, playlist, show FROM play_history"
            " WHERE played_at >= ? ORDER BY played_at, id",
            (_epoch(start),),
        )
        return [
            Play(
                datetime.fromtimestamp(float(r["played_at"]), UTC),
                r["location"],
                r["title"],
                r["artist"],
                r["playlist"],
                r["show"],
            )
            for r in rows
        ]


def _epoch(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("play history needs aware datetimes")
    return at.timestamp()
