"""The play history in SQLite: last plays by artist and title, in order, surviving a reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from radio.audio.track import Track
from radio.store.db import Database
from radio.store.history import PlayHistory

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_last_played_is_case_and_space_insensitive(tmp_path: Path) -> None:
    history = PlayHistory(Database(tmp_path / "station.db"))
    history.record(Track("/a.flac", "Sunrise", "The Early Birds"), T0, playlist="hits", show="am")
    history.record(Track("/b.flac", "Dusk", "Alba"), T0 + timedelta(minutes=4))
    history.record(Track("/c.flac", "sunrise ", "ALBA"), T0 + timedelta(minutes=8))

    assert history.last_played(artist="the early  birds") == T0
    assert history.last_played(artist="Alba") == T0 + timedelta(minutes=8)
    assert history.last_played(title="SUNRISE") == T0 + timedelta(minutes=8)
    assert history.last_played(artist="Nobody") is None
    with pytest.raises(ValueError):
        history.last_played()

    reopened = PlayHistory(Database(tmp_path / "station.db"))
    plays = reopened.since(T0 + timedelta(minutes=1))
    assert [(p.title, p.artist, p.played_at) for p in plays] == [
        ("Dusk", "Alba", T0 + timedelta(minutes=4)),
        ("sunrise ", "ALBA", T0 + timedelta(minutes=8)),
    ]
    first = reopened.since(T0)[0]
    assert (first.playlist, first.show) == ("hits", "am")


def test_naive_instants_are_refused() -> None:
    history = PlayHistory(Database(":memory:"))
    with pytest.raises(ValueError):
        history.record(Track("/a.flac", "A"), datetime(2026, 1, 1))
