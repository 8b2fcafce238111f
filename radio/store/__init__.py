"""SQLite persistence: one database file in the station's data folder (WAL)."""

from radio.store.db import Database

__all__ = ["Database"]
