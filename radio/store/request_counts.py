"""How many listeners' requests are in each state, for the station's metrics.

Reads the ``requests`` table of :mod:`radio.store.requests` (one indexed
``GROUP BY``); the queue's own API lists requests, it does not count them.
"""

from __future__ import annotations

from radio.store.db import Database


def requests_by_state(db: Database) -> dict[str, int]:
    """Rows of the request table per state (states without rows are left out).

    Returns an empty mapping while the table does not exist yet. Raises StoreError
    or sqlite3.Error when the database cannot be read.
    """
    exists = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'requests'")
    if not exists:
        return {}
    rows = db.query("SELECT state, COUNT(*) AS n FROM requests GROUP BY state")
    return {str(row["state"]): int(row["n"]) for row in rows}
