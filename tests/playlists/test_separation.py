"""Can a playlist keep its own separation rules? The bound, at its exact edge, and on air."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from radio.audio.track import Track
from radio.clock import ManualClock
from radio.demo.media import DEMO_LIBRARY
from radio.grid.loader import load_station
from radio.playlists.rotation import Deck, Part, Rotation
from radio.playlists.separation import Shortfall, shortfalls
from radio.store.db import Database
from radio.store.history import PlayHistory

from .catalogue import make_model, make_tracks

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def test_artist_rule_holds_exactly_when_one_track_per_artist_fills_it() -> None:
    # 6 tracks of 40 s by 4 artists: a round of one track per artist lasts 160 s.
    tracks = make_tracks("m", 6, 4, 40.0)
    assert shortfalls(make_model(separation={"artist": "160s"}), tracks) == []
    assert shortfalls(make_model(separation={"artist": "161s"}), tracks) == [
        Shortfall("artist", timedelta(seconds=161), 6, 4, timedelta(seconds=160))
    ]


def test_the_longest_track_of_each_artist_counts() -> None:
    tracks = [
        Track("/a1.flac", "a1", "A", duration=30.0),
        Track("/a2.flac", "a2", "a ", duration=90.0),  # the same artist, by the history's key
        Track("/b1.flac", "b1", "B", duration=60.0),
    ]
    assert shortfalls(make_model(separation={"artist": "150s"}), tracks) == []
    (short,) = shortfalls(make_model(separation={"artist": "151s"}), tracks)
    assert (short.tracks, short.distinct, short.round) == (3, 2, timedelta(seconds=150))


def test_title_rule_and_the_message_give_the_numbers() -> None:
    tracks = make_tracks("i", 5, 5, 45.0)
    (short,) = shortfalls(make_model(separation={"title": "1h", "artist": "3m"}), tracks)
    assert short.kind == "title"
    assert short.describe() == (
        "separation title 1h cannot hold: 5 track(s) with 5 titles, and one track per title "
        "lasts at most 3m45s in all, less than 1h (add titles or shorten the rule)"
    )


def test_tracks_free_of_the_rule_or_of_unknown_length_make_it_hold() -> None:
    no_artist = [*make_tracks("x", 2, 1, 40.0), Track("/y.flac", "y", "", duration=40.0)]
    assert shortfalls(make_model(separation={"artist": "1h"}), no_artist) == []
    stream = [*make_tracks("x", 2, 1, 40.0), Track("http://s/live", "live", "S")]
    assert shortfalls(make_model(separation={"artist": "1h"}), stream) == []
    assert shortfalls(make_model(separation={"artist": "1h"}), []) == []
    assert shortfalls(make_model(), make_tracks("x", 2, 1, 1.0)) == []


def _relaxed_after(rule: str, picks: int) -> int:
    rng = random.Random(7)
    clock = ManualClock(START)
    history = PlayHistory(Database(":memory:"))
    deck = Deck("m", make_model(separation={"artist": rule}), make_tracks("m", 6, 4, 40.0), rng)
    rotation = Rotation([Part(deck, 1)], clock=clock, rng=rng, history=history)
    for _ in range(picks):
        track = rotation.next_track()
        assert track is not None
        clock.advance(timedelta(seconds=track.duration or 0))
    return rotation.relaxed


def test_the_bound_agrees_with_the_rotation() -> None:
    # What the checker says is what happens on air: a rule within the round is never
    # bent over 500 picks; a rule longer than the round is bent again and again.
    assert _relaxed_after("120s", 500) == 0
    assert _relaxed_after("20m", 500) > 100


def test_the_example_playlists_keep_their_own_rules_at_the_demo_lengths() -> None:
    # Each shipped playlist, with the demo library's real lengths and tags, alone on
    # air for 2,000 picks: the checker finds nothing and the rotation bends no rule.
    files = load_station(REPO)
    checked = 0
    for pid, playlist in files.playlists.items():
        folders = [source.removeprefix("media/").split("/")[0] for source in playlist.model.sources]
        tracks = [
            Track(f"/media/{item.path}", item.title, item.artist, duration=item.seconds)
            for item in DEMO_LIBRARY
            if item.path.split("/")[0] in folders
        ]
        assert tracks, pid
        assert shortfalls(playlist.model, tracks) == [], pid
        if playlist.model.separation.artist or playlist.model.separation.title:
            rng = random.Random(pid)
            clock = ManualClock(START)
            history = PlayHistory(Database(":memory:"))
            deck = Deck(pid, playlist.model, tracks, rng)
            rotation = Rotation([Part(deck, 1)], clock=clock, rng=rng, history=history)
            for _ in range(2000):
                track = rotation.next_track()
                assert track is not None
                clock.advance(timedelta(seconds=track.duration or 0))
            assert rotation.relaxed == 0, pid
            checked += 1
    assert checked == 3  # morning-hits, indie, evening
