"""The request queue: order, quota, cooldown, DJ actions, and crash survival."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from radio.audio.track import Track
from radio.errors import RequestRefused
from radio.store.db import Database
from radio.store.requests import RequestQueue

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def track(n: int, artist: str = "Artist") -> Track:
    return Track(location=f"/media/song{n}.flac", title=f"Song {n}", artist=artist, duration=180.0)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "radio.sqlite3")


def test_requests_play_in_order_and_carry_the_requester(db: Database) -> None:
    queue = RequestQueue(db, quota=5, cooldown=timedelta(0))
    for n in range(1, 4):
        queue.add(user_id=10 + n, user_name=f"user{n}", track=track(n), now=T0)
    assert [r.track.title for r in queue.pending()] == ["Song 1", "Song 2", "Song 3"]
    first = queue.next_track()
    assert first is not None
    assert first.title == "Song 1"
    assert first.tags["requested_by"] == "user1"
    assert first.tags["requested_by_id"] == "11"
    playing = queue.playing()
    assert playing is not None and playing.track.title == "Song 1"
    assert [r.track.title for r in queue.pending()] == ["Song 2", "Song 3"]
    queue.finish(int(first.tags["request_id"]), T0, played=True)
    assert queue.playing() is None
    assert queue.get(int(first.tags["request_id"])).state == "played"
    assert [t.title for t in iter(queue.next_track, None)] == ["Song 2", "Song 3"]
    assert queue.next_track() is None


def test_quota_counts_waiting_requests_only(db: Database) -> None:
    queue = RequestQueue(db, quota=2, cooldown=timedelta(0))
    queue.add(1, "ann", track(1), T0)
    queue.add(1, "ann", track(2), T0)
    with pytest.raises(
        RequestRefused, match=r"You already have 2 requests waiting \(the limit is 2\)"
    ):
        queue.add(1, "ann", track(3), T0)
    queue.add(2, "bob", track(3), T0)  # another member is not affected
    taken = queue.take()
    assert taken is not None and taken.user_id == 1
    # Still waiting (being played) counts against the quota ...
    with pytest.raises(RequestRefused):
        queue.add(1, "ann", track(4), T0)
    queue.finish(taken.id, T0)
    # ... and a finished one does not.
    assert queue.add(1, "ann", track(4), T0).track.title == "Song 4"


def test_duplicate_is_refused_with_its_place(db: Database) -> None:
    queue = RequestQueue(db, quota=5, cooldown=timedelta(0))
    queue.add(1, "ann", track(1), T0)
    queue.add(2, "bob", track(2), T0)
    with pytest.raises(
        RequestRefused, match=r"Artist – Song 2 is already in the queue \(number 2\)"
    ):
        queue.add(3, "cid", track(2), T0)
    queue.take()
    with pytest.raises(RequestRefused, match=r"\(playing now\)"):
        queue.add(3, "cid", track(1), T0)


def test_cooldown_uses_the_time_passed_in(db: Database) -> None:
    queue = RequestQueue(db, quota=5, cooldown=timedelta(seconds=30))
    queue.add(1, "ann", track(1), T0)
    with pytest.raises(RequestRefused, match="Please wait 21 s"):
        queue.add(1, "ann", track(2), T0 + timedelta(seconds=9, milliseconds=500))
    queue.add(1, "ann", track(2), T0 + timedelta(seconds=30))
    assert len(queue.pending()) == 2


def test_cancel_only_own_queued_requests(db: Database) -> None:
    queue = RequestQueue(db, quota=5, cooldown=timedelta(0))
    a = queue.add(1, "ann", track(1), T0)
    b = queue.add(2, "bob", track(2), T0)
    with pytest.raises(RequestRefused, match=f"You have no request number {a.id}"):
        queue.cancel(a.id, user_id=2, now=T0)
    assert queue.cancel(b.id, user_id=2, now=T0).state == "cancelled"
    assert [r.id for r in queue.pending()] == [a.id]
    with pytest.raises(RequestRefused, match="no longer in the queue"):
        queue.cancel(b.id, user_id=2, now=T0)


def test_dj_move_remove_clear(db: Database) -> None:
    queue = RequestQueue(db, quota=10, cooldown=timedelta(0))
    ids = [queue.add(n, f"u{n}", track(n), T0).id for n in range(1, 6)]
    assert [r.id for r in queue.move(ids[4], 1)] == [ids[4], ids[0], ids[1], ids[2], ids[3]]
    assert [r.id for r in queue.move(ids[4], 99)] == [ids[0], ids[1], ids[2], ids[3], ids[4]]
    assert [r.id for r in queue.move(ids[0], 3)] == [ids[1], ids[2], ids[0], ids[3], ids[4]]
    with pytest.raises(RequestRefused):
        queue.move(ids[0], 0)
    queue.remove(ids[2], T0)
    assert [r.id for r in queue.pending()] == [ids[1], ids[0], ids[3], ids[4]]
    taken = queue.take()
    assert taken is not None and taken.id == ids[1]
    with pytest.raises(RequestRefused, match="playing now"):
        queue.move(ids[1], 1)
    assert queue.clear(T0) == 3
    assert queue.pending() == []
    assert queue.playing() is not None  # clearing the queue does not stop the current one


class Watched(RequestQueue):
    """The queue with its withdrawn() hook recorded (what the application overrides)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, quota=10, cooldown=timedelta(0))
        self.let_go: list[int] = []

    def withdrawn(self, request_id: int) -> None:
        self.let_go.append(request_id)


def test_up_next_is_cancelled_removed_and_cleared_as_the_queue_shows_it(db: Database) -> None:
    queue = Watched(db)
    a, b, c, d = (queue.add(n, f"u{n}", track(n), T0) for n in range(1, 5))
    assert queue.open_next() is not None  # a is up next: listed first, not started
    assert (queue.pending()[0].id, queue.pending()[0].state) == (a.id, "taken")
    assert queue.cancel(a.id, user_id=1, now=T0).state == "cancelled"
    assert (queue.let_go, [r.id for r in queue.pending()]) == ([a.id], [b.id, c.id, d.id])
    assert queue.open_next() is not None  # b up next
    assert queue.remove(b.id, T0).state == "removed"
    assert queue.let_go == [a.id, b.id]
    assert queue.open_next() is not None  # c up next
    queue.started(c.id)  # c plays: no longer in the queue
    with pytest.raises(RequestRefused, match=r"no longer in the queue \(playing now\)"):
        queue.cancel(c.id, user_id=3, now=T0)
    assert queue.open_next() is not None  # d up next
    assert queue.clear(T0) == 1
    assert (queue.let_go, queue.pending()) == ([a.id, b.id, d.id], [])
    assert queue.playing() is not None and queue.playing().id == c.id  # type: ignore[union-attr]


def test_move_acts_on_the_places_shown(db: Database) -> None:
    queue = Watched(db)
    a, b, c = (queue.add(n, f"u{n}", track(n), T0) for n in range(1, 4))
    assert queue.open_next() is not None  # shown: 1. a (up next), 2. b, 3. c
    # c to 1: a is no longer at the head, so it goes back to the queue (let go of)
    assert [r.id for r in queue.move(c.id, 1)] == [c.id, a.id, b.id]
    assert queue.let_go == [a.id]
    assert [r.state for r in queue.pending()] == ["queued"] * 3
    opened = queue.open_next()
    assert opened is not None and opened.tags["request_id"] == str(c.id)
    # b to 2: c stays up next, nothing let go of
    assert [r.id for r in queue.move(b.id, 2)] == [c.id, b.id, a.id]
    assert queue.let_go == [a.id]
    # the one up next moves down past the end: it is let go of, the order is kept
    assert [r.id for r in queue.move(c.id, 99)] == [b.id, a.id, c.id]
    assert queue.let_go == [a.id, c.id]


def test_a_request_moved_back_as_it_started_is_playing(db: Database) -> None:
    queue = Watched(db)
    a, b = (queue.add(n, f"u{n}", track(n), T0) for n in range(1, 3))
    assert queue.open_next() is not None
    queue.move(b.id, 1)  # a back in the queue, but the station had just started it
    queue.started(a.id)
    playing = queue.playing()
    assert playing is not None and playing.id == a.id
    assert [r.id for r in queue.pending()] == [b.id]


def test_restart_keeps_queue_and_requeues_the_interrupted_one(tmp_path: Path) -> None:
    path = tmp_path / "radio.sqlite3"
    queue = RequestQueue(Database(path), quota=10, cooldown=timedelta(0))
    ids = [queue.add(n, f"u{n}", track(n), T0).id for n in range(1, 5)]
    queue.move(ids[3], 2)
    assert queue.take() is not None
    # A fresh handle, as after a restart: the interrupted request is first again.
    reopened = RequestQueue(Database(path), quota=10, cooldown=timedelta(0))
    assert [r.id for r in reopened.pending()] == [ids[0], ids[3], ids[1], ids[2]]
    assert reopened.playing() is None


_CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime, timedelta
    from radio.audio.track import Track
    from radio.store.db import Database
    from radio.store.requests import RequestQueue

    queue = RequestQueue(Database(sys.argv[1]), quota=1_000_000, cooldown=timedelta(0))
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    n = 0
    while True:  # add requests until killed; print each id once it is durable
        n += 1
        request = queue.add(n % 7, f"user{n % 7}", Track(f"/m/{n}.flac", f"T{n}"), now)
        if n == 3:
            queue.take()  # the first one is on air when the kill comes
        print(request.id, flush=True)
    """
)


def test_queue_survives_sigkill_in_order(tmp_path: Path) -> None:
    path = tmp_path / "radio.sqlite3"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    acknowledged = [int(child.stdout.readline()) for _ in range(40)]
    child.send_signal(signal.SIGKILL)  # mid-stream: it is writing more right now
    child.wait()
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    queue = RequestQueue(Database(path), quota=10, cooldown=timedelta(0))
    survived = [r.id for r in queue.pending()]
    # Every acknowledged request is there, in order, the taken one back first;
    # anything committed after the last acknowledgement follows them.
    assert survived[: len(acknowledged)] == acknowledged
    assert survived == list(range(1, len(survived) + 1))
    assert [r.track.title for r in queue.pending()[:3]] == ["T1", "T2", "T3"]
    assert db_integrity(path) == "ok"


def db_integrity(path: Path) -> str:
    rows = Database(path).query("PRAGMA integrity_check")
    return str(rows[0][0])
