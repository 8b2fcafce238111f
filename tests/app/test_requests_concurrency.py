"""Two requests by one member at the same moment, from two threads, on a real SQLite file.

Each caller reads the time before the queue's transaction begins (as the
commands do): the later reading can commit first. That must not turn into a
"Please wait" beyond the cooldown, nor any wait without a cooldown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from radio.app.requests import NotifyingQueue
from radio.audio.track import Track
from radio.clock import SystemClock
from radio.errors import RequestRefused
from radio.store.db import Database
from radio.store.requests import Request

T0 = datetime(2026, 12, 1, 20, 0, 0, 250_000, tzinfo=UTC)
ALICE = 42
TIMEOUT_S = 30.0  # a deadlock guard, not a measure


def track(n: int) -> Track:
    return Track(location=f"/media/r{n}.flac", title=f"Song {n}", artist="Band")


def later_reading_commits_first(queue: NotifyingQueue) -> dict[str, Request | Exception]:
    """Thread A reads T0, then thread B reads T0 + 1 ms and adds first; then A adds."""
    results: dict[str, object] = {}
    a_read = threading.Event()
    b_added = threading.Event()

    def run(
        name: str, now: datetime, before: Callable[[], None], after: Callable[[], None]
    ) -> None:
        before()
        try:
            results[name] = queue.add(ALICE, "alice", track(ord(name)), now)
        except RequestRefused as exc:
            results[name] = exc
        after()

    def a() -> None:
        a_read.set()  # A has its time
        assert b_added.wait(TIMEOUT_S)

    first = threading.Thread(target=run, args=("a", T0, a, lambda: None))
    second = threading.Thread(
        target=run,
        args=("b", T0 + timedelta(milliseconds=1), lambda: a_read.wait(TIMEOUT_S), b_added.set),
    )
    first.start()
    second.start()
    first.join(TIMEOUT_S)
    second.join(TIMEOUT_S)
    assert not first.is_alive() and not second.is_alive()
    return results  # type: ignore[return-value]


def test_without_cooldown_both_are_queued(tmp_path: Path) -> None:
    db = Database(tmp_path / "radio.sqlite3")
    try:
        queue = NotifyingQueue(db, quota=3, cooldown=timedelta(0))
        results = later_reading_commits_first(queue)
        assert not isinstance(results["a"], Exception), results["a"]
        assert not isinstance(results["b"], Exception), results["b"]
        # In the order they committed.
        assert [r.track.title for r in queue.pending()] == [
            results["b"].track.title,
            results["a"].track.title,
        ]
    finally:
        db.close()


def test_with_a_cooldown_the_second_waits_the_cooldown_and_no_more(tmp_path: Path) -> None:
    db = Database(tmp_path / "radio.sqlite3")
    try:
        queue = NotifyingQueue(db, quota=3, cooldown=timedelta(seconds=30))
        results = later_reading_commits_first(queue)
        assert not isinstance(results["b"], Exception)
        refused = results["a"]
        assert isinstance(refused, RequestRefused)
        assert str(refused) == "Please wait 30 s before your next request."
    finally:
        db.close()


def test_many_at_once_without_cooldown_are_all_queued(tmp_path: Path) -> None:
    threads = 8
    db = Database(tmp_path / "radio.sqlite3")
    clock = SystemClock()
    start = threading.Barrier(threads)
    refusals: list[RequestRefused] = []
    try:
        queue = NotifyingQueue(db, quota=threads, cooldown=timedelta(0))

        def request(n: int) -> None:
            start.wait(TIMEOUT_S)
            now = clock.now()  # read before the lock, as the commands do
            try:
                queue.add(ALICE, "alice", track(n), now)
            except RequestRefused as exc:
                refusals.append(exc)

        workers = [threading.Thread(target=request, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(TIMEOUT_S)
        assert refusals == []
        assert len(queue.pending()) == threads
    finally:
        db.close()
