"""The loudness cache in the station database: one row per measured file version."""

from __future__ import annotations

from radio.audio.loudness import Measurement
from radio.store.db import Database

_MIGRATIONS = [
    """
    CREATE TABLE loudness (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        integrated_lufs REAL,
        true_peak_dbtp REAL
    )
    """,
]


class SQLiteLoudnessCache:
    """A :class:`radio.audio.loudness.LoudnessCache` backed by the station database.

    A path has one row: a file whose size or mtime changed is a cache miss, and
    its new measurement replaces the old one. Raises StoreError on database
    failures.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure("loudness", _MIGRATIONS)

    def get(self, path: str, size: int, mtime_ns: int) -> Measurement | None:
        rows = self._db.query(
            "SELECT integrated_lufs, true_peak_dbtp FROM loudness"
            " WHERE path = ? AND size = ? AND mtime_ns = ?",
            (path, size, mtime_ns),
        )
        if not rows:
            return None
        return Measurement(
            integrated_lufs=rows[0]["integrated_lufs"], true_peak_dbtp=rows[0]["true_peak_dbtp"]
        )

    def put(self, path: str, size: int, mtime_ns: int, measurement: Measurement) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO loudness(path, size, mtime_ns, integrated_lufs, true_peak_dbtp)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(path) DO UPDATE SET size = excluded.size,"
                " mtime_ns = excluded.mtime_ns, integrated_lufs = excluded.integrated_lufs,"
                " true_peak_dbtp = excluded.true_peak_dbtp",
                (path, size, mtime_ns, measurement.integrated_lufs, measurement.true_peak_dbtp),
            )
