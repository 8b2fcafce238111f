"""The station tree: the show on air > the fallback, never silent by accident.

Requests (played at track boundaries): tests/app/test_requests_boundary.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from radio.events import Event, ShowStarted, TrackStarted
from radio.grid.check import check_station
from radio.station import Station as RadioStation
from radio.store.db import Database
from radio.store.history import PlayHistory

from .conftest import Station, dominant, pull, radio_station

START = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday noon in Paris: the show is on
SHOW_HZ, FILLER_HZ = 600.0, 300.0


def _build(station: Station, events: list[Event]) -> tuple[RadioStation, PlayHistory]:
    station.write("station.yaml", "timezone: Europe/Paris\nfallback: filler\n")
    station.write("playlists/music.yaml", "sources: [media/music]\norder: sequential\n")
    station.write("playlists/filler.yaml", "sources: [media/filler]\n")
    station.tone("media/music/a.flac", SHOW_HZ, 2.0)
    station.tone("media/music/b.flac", SHOW_HZ, 2.0)
    station.tone("media/filler/f.flac", FILLER_HZ, 2.0)
    history = PlayHistory(Database(":memory:"))
    return radio_station(station, START, events, history=history), history


def test_show_plays_and_history_is_written(station: Station) -> None:
    events: list[Event] = []
    radio, history = _build(station, events)
    try:
        frames = pull(radio, 150)  # 3 s: both show tracks start
        assert {dominant(f) for f in frames[5:95]} == {SHOW_HZ}
        assert [e.show_id for e in events if isinstance(e, ShowStarted)] == ["allday"]
        plays = history.since(START)
        assert [(p.title, p.show, p.playlist) for p in plays] == [
            ("a", "allday", "music"),
            ("b", "allday", "music"),
        ]
        assert [p.played_at for p in plays] == [START, START + timedelta(seconds=2)]
        assert radio.root.dead_air_frames == 0
    finally:
        radio.close()


def test_a_show_whose_media_vanished_falls_back_to_the_fallback(station: Station) -> None:
    events: list[Event] = []
    radio, _ = _build(station, events)
    try:
        for name in ("a", "b"):
            (station.root / f"media/music/{name}.flac").unlink()
        frames = pull(radio, 100)
        assert {dominant(f) for f in frames} == {FILLER_HZ}
        assert radio.root.dead_air_frames == 0
        assert radio.programme.on_air is not None  # the grid still says the show is on
    finally:
        radio.close()


def test_reload_keeps_the_decks_of_unchanged_playlists(station: Station) -> None:
    radio, _ = _build(station, [])
    try:
        before = radio.decks
        radio.reload(check_station(station.root, START))
        after = radio.decks
        assert after["music"] is before["music"] and after["filler"] is before["filler"]
        station.write("playlists/music.yaml", "sources: [media/music]\norder: random\n")
        radio.reload(check_station(station.root, START))
        assert radio.decks["music"] is not before["music"]
        assert radio.decks["music"].model.order == "random"
        assert radio.decks["filler"] is before["filler"]
    finally:
        radio.close()


def test_listeners_are_told_titles_not_ids(station: Station) -> None:
    """The show's title and the fallback playlist's title reach the events, not their ids."""
    station.write("station.yaml", "timezone: Europe/Paris\nfallback: filler\n")
    station.write(
        "schedules/week.yaml",
        "shows:\n  - id: noon\n    title: The Noon Show\n    days: [mon]\n"
        '    start: "12:00"\n    end: "13:00"\n    rotation: [{playlist: music}]\n',
    )
    station.write("playlists/music.yaml", "sources: [media/music]\n")
    station.write("playlists/filler.yaml", "title: Night Owls\nsources: [media/filler]\n")
    station.tone("media/music/a.flac", SHOW_HZ, 2.0)
    station.tone("media/filler/f.flac", FILLER_HZ, 2.0)
    before_show = START - timedelta(seconds=1)  # 11:59:59 in Paris: the fallback plays
    events: list[Event] = []
    radio = radio_station(station, before_show, events)
    try:
        pull(radio, 150)  # 1 s of fallback, then the show
        shows = [(e.show_id, e.title) for e in events if isinstance(e, ShowStarted)]
        assert shows == [("", "Night Owls"), ("noon", "The Noon Show")]
        started = [e.track.tags for e in events if isinstance(e, TrackStarted)]
        assert [(t["show_title"], t.get("show", "")) for t in started] == [
            ("Night Owls", ""),
            ("The Noon Show", "noon"),
        ]
    finally:
        radio.close()
