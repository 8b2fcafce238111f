"""The live sessions log in a real SQLite file: start, end, and what a crash leaves open."""

from __future__ import annotations

from pathlib import Path

import pytest

from radio.errors import StoreError
from radio.store.db import Database
from radio.store.live_sessions import LiveSession, LiveSessions

T0 = "2026-11-23T20:00:00+00:00"
T1 = "2026-11-23T21:00:00+00:00"
T2 = "2026-11-23T21:30:00+00:00"
T3 = "2026-11-23T22:00:00+00:00"


def start_encoder(sessions: LiveSessions, at: str = T0) -> int:
    return sessions.start(
        presenter_id=111,
        presenter_name="Alice",
        show_id="evening",
        via="encoder",
        source="/live",
        at=at,
        recording="recordings/evening-2026-11-23.ogg",
    )


def test_a_session_starts_and_ends(tmp_path: Path) -> None:
    sessions = LiveSessions(Database(tmp_path / "x.sqlite3"))
    session_id = start_encoder(sessions)
    assert [s.id for s in sessions.open_sessions()] == [session_id]
    assert sessions.get(session_id).open
    ended = sessions.end(
        session_id, at=T1, reason="encoder disconnected", bytes_in=1_234_567, frames_in=180_000
    )
    assert ended
    assert sessions.open_sessions() == []
    assert sessions.get(session_id) == LiveSession(
        id=session_id,
        presenter_id=111,
        presenter_name="Alice",
        show_id="evening",
        via="encoder",
        source="/live",
        started_at=T0,
        ended_at=T1,
        end_reason="encoder disconnected",
        bytes_in=1_234_567,
        frames_in=180_000,
        recording="recordings/evening-2026-11-23.ogg",
    )


def test_the_first_end_counts(tmp_path: Path) -> None:
    sessions = LiveSessions(Database(tmp_path / "x.sqlite3"))
    session_id = start_encoder(sessions)
    assert sessions.end(session_id, at=T1, reason="stopped", bytes_in=10, frames_in=1)
    assert not sessions.end(session_id, at=T2, reason="again", bytes_in=99, frames_in=9)
    again = sessions.get(session_id)
    assert (again.ended_at, again.end_reason, again.bytes_in) == (T1, "stopped", 10)
    with pytest.raises(StoreError):
        sessions.end(9999, at=T1, reason="x", bytes_in=0, frames_in=0)


def test_a_relay_without_show_or_recording(tmp_path: Path) -> None:
    sessions = LiveSessions(Database(tmp_path / "x.sqlite3"))
    session_id = sessions.start(
        presenter_id=333,
        presenter_name="Carol",
        show_id=None,
        via="relay",
        source="https://stream.example.org/live.mp3",
        at=T0,
    )
    sessions.end(
        session_id,
        at=T1,
        reason="stopped by Carol",
        bytes_in=5,
        frames_in=2,
        recording="recordings/rescue.ogg",
    )
    session = sessions.get(session_id)
    assert (session.via, session.show_id, session.recording) == (
        "relay",
        None,
        "recordings/rescue.ogg",
    )


def test_sessions_left_open_by_a_crash_are_found_and_ended(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    before = LiveSessions(Database(path))
    done = start_encoder(before, T0)
    before.end(done, at=T1, reason="encoder disconnected", bytes_in=1, frames_in=1)
    cut = start_encoder(before, T2)
    before.progress(cut, bytes_in=4096, frames_in=50)
    # The process dies here: nothing ends the session. The next start opens the file again.
    after = LiveSessions(Database(path))
    [left] = after.open_sessions()
    assert (left.id, left.started_at, left.bytes_in, left.frames_in) == (cut, T2, 4096, 50)
    [ended] = after.end_open(T3)
    assert (ended.id, ended.ended_at, ended.end_reason) == (cut, T3, "interrupted")
    assert (ended.bytes_in, ended.frames_in) == (4096, 50)
    assert after.open_sessions() == []
    assert after.end_open(T3) == []
    assert after.get(done).end_reason == "encoder disconnected"


def test_progress_after_the_end_changes_nothing(tmp_path: Path) -> None:
    sessions = LiveSessions(Database(tmp_path / "x.sqlite3"))
    session_id = start_encoder(sessions)
    sessions.end(session_id, at=T1, reason="stopped", bytes_in=10, frames_in=1)
    sessions.progress(session_id, bytes_in=999, frames_in=999)
    assert sessions.get(session_id).bytes_in == 10


def test_recent_lists_the_latest_first(tmp_path: Path) -> None:
    sessions = LiveSessions(Database(tmp_path / "x.sqlite3"))
    ids = [start_encoder(sessions, at) for at in (T0, T1, T2)]
    assert [s.id for s in sessions.recent(2)] == [ids[2], ids[1]]
    assert [s.id for s in sessions.recent(10)] == ids[::-1]
    assert sessions.recent(0) == []


def test_instants_must_be_utc(tmp_path: Path) -> None:
    sessions = LiveSessions(Database(tmp_path / "x.sqlite3"))
    for bad in ("yesterday", "2026-11-23T21:00:00", "2026-11-23T21:00:00+01:00"):
        with pytest.raises(ValueError):
            start_encoder(sessions, bad)
    assert sessions.recent(10) == []
    session_id = start_encoder(sessions)
    with pytest.raises(ValueError):
        sessions.end(session_id, at="2026-11-23T21:00:00", reason="x", bytes_in=0, frames_in=0)
    assert sessions.get(session_id).open
    with pytest.raises(StoreError):
        sessions.get(9999)
