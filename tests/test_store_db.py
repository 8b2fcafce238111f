from pathlib import Path

import pytest

from radio.errors import StoreError
from radio.store import Database


def test_migrations_apply_once_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "station.db"
    migrations = [
        "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)",
        "ALTER TABLE things ADD COLUMN colour TEXT",
    ]
    db = Database(path)
    db.ensure("things", migrations[:1])
    db.ensure("things", migrations)
    db.ensure("things", migrations)  # already at v2: nothing runs twice
    with db.transaction() as conn:
        conn.execute("INSERT INTO things(name, colour) VALUES ('a', 'red')")
    db.close()

    reopened = Database(path)
    rows = reopened.query("SELECT name, colour FROM things")
    assert [tuple(r) for r in rows] == [("a", "red")]
    versions = reopened.query("SELECT version FROM schema_versions WHERE module='things'")
    assert versions[0]["version"] == 2
    assert reopened.query("PRAGMA journal_mode")[0][0] == "wal"


def test_failed_write_rolls_back_and_raises_store_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    db.ensure("t", ["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"])
    with pytest.raises(StoreError), db.transaction() as conn:
        conn.execute("INSERT INTO t(v) VALUES ('kept?')")
        conn.execute("INSERT INTO t(v) VALUES (NULL)")
    assert db.query("SELECT count(*) FROM t")[0][0] == 0


def test_bad_migration_is_a_store_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    with pytest.raises(StoreError, match="migration broken v1"):
        db.ensure("broken", ["CREATE TABLE nope ("])
