"""Picks the engine lets go of unplayed (a show change, a request taking the slot)
go back to their deck: nothing is lost from a shuffle round or a sequential order,
and the jingle count and the hour's ID are restored."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from radio.audio.track import Track
from radio.clock import ManualClock
from radio.playlists.model import PlaylistModel
from radio.playlists.rotation import Deck, Jingles, Part, Rotation

START = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def _tracks(prefix: str, count: int, seconds: float = 180.0) -> list[Track]:
    return [
        Track(f"/music/{prefix}{i}.flac", f"{prefix}{i}", f"{prefix} artist {i}", duration=seconds)
        for i in range(count)
    ]


def _deck(deck_id: str, order: str, tracks: list[Track], rng: random.Random) -> Deck:
    return Deck(
        deck_id, PlaylistModel.model_validate({"sources": ["x"], "order": order}), tracks, rng
    )


def _pick(rotation: Rotation, seconds: float = 60.0) -> Track:
    track = rotation.next_track_in(seconds)
    assert track is not None
    return track


def test_an_unplayed_shuffle_pick_comes_back_first_and_no_track_is_lost_from_the_round() -> None:
    rng = random.Random(9)
    deck = _deck("music", "shuffle", _tracks("s", 8), rng)
    rotation = Rotation([Part(deck, 1)], clock=ManualClock(START), rng=rng)
    played = []
    for i in range(16):  # two rounds; every other pick is let go of once, unplayed
        track = _pick(rotation)
        if i % 2 == 0:
            rotation.release(track, False)
            assert _pick(rotation) == track
        played.append(track.title)
    assert sorted(played[:8]) == sorted(played[8:]) == [f"s{i}" for i in range(8)]


def test_a_sequential_pick_let_go_of_plays_next_time_and_a_started_one_is_kept() -> None:
    rng = random.Random(1)
    deck = _deck("episodes", "sequential", _tracks("e", 4), rng)
    rotation = Rotation([Part(deck, 1)], clock=ManualClock(START), rng=rng)
    assert _pick(rotation).title == "e0"
    e1 = _pick(rotation)
    rotation.release(e1, False)  # its show ended before e1 started
    assert [_pick(rotation).title for _ in range(2)] == ["e1", "e2"]
    rotation.release(_pick(rotation), True)  # e3 started, then was cut: it played
    assert _pick(rotation).title == "e0"


def test_the_jingle_count_and_the_hours_id_are_restored() -> None:
    rng = random.Random(2)
    clock = ManualClock(START)
    music = _deck("music", "sequential", _tracks("m", 5), rng)
    jingles = _deck("jingles", "sequential", _tracks("j", 2, 5.0), rng)
    ids = _deck("ids", "sequential", _tracks("id", 2, 4.0), rng)
    rotation = Rotation(
        [Part(music, 1)],
        clock=clock,
        rng=rng,
        jingles=Jingles(jingles, every=2),
        station_id=ids,
    )
    kinds = []
    for _ in range(6):
        track = _pick(rotation)
        kinds.append(track.tags["kind"])
        rotation.release(track, False)  # each pick is let go of once...
        again = _pick(rotation)  # ...and the same comes back
        assert again == track and again.tags["kind"] == track.tags["kind"]
    assert kinds == ["music", "music", "jingle", "music", "music", "jingle"]
    clock.set(START + timedelta(minutes=29))  # 06:59
    the_id = _pick(rotation, 60.0)
    assert the_id.tags["kind"] == "id"
    rotation.release(the_id, False)
    assert _pick(rotation, 60.0) == the_id  # still due: the same ID, for 07:00
    assert _pick(rotation, 64.0).tags["kind"] == "music"
    assert rotation.early_ids == 0
