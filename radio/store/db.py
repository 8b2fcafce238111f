"""The station database: one SQLite file, WAL, per-module schema migrations.

Each store module (loudness cache, play history, requests, live sessions)
declares its tables with :meth:`Database.ensure` under its own name and version,
so modules add tables without touching each other.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from radio.errors import StoreError

logger = logging.getLogger(__name__)


class Database:
    """A thread-safe handle on the station's SQLite file.

    Writes are serialised with a lock and committed immediately (durable on
    return), so what a user gave us survives a crash. ``path=":memory:"`` gives a
    private in-memory database (for tests of logic that needs a store).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10
            )
            self._conn.row_factory = sqlite3.Row
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions"
                " (module TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        self._lock = threading.RLock()

    def ensure(self, module: str, migrations: list[str]) -> None:
        """Apply ``migrations[v:]`` for ``module`` where ``v`` is its stored version.

        Each migration is one SQL script; they run in order in one transaction each.
        Raises StoreError when a migration fails.
        """
        with self._lock:
            row = self._conn.execute(
                "SELECT version FROM schema_versions WHERE module = ?", (module,)
            ).fetchone()
            current = int(row["version"]) if row else 0
            for version, script in enumerate(migrations[current:], start=current + 1):
                try:
                    self._conn.execute("BEGIN")
                    for statement in _statements(script):
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT INTO schema_versions(module, version) VALUES(?, ?)"
                        " ON CONFLICT(module) DO UPDATE SET version = excluded.version",
                        (module, version),
                    )
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._conn.execute("ROLLBACK")
                    raise StoreError(f"migration {module} v{version} failed: {exc}") from exc
                logger.debug("migrated %s to v%d", module, version)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one write transaction; commit on success, roll back on error."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreError(f"database write failed: {exc}") from exc
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"database read failed: {exc}") from exc

    def close(self) -> None:
        """Close the connection. Idempotent."""
        with self._lock:
            self._conn.close()


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
