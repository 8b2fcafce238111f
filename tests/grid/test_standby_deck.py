"""The standby fallback holds a track ready without taking it from the programme: a
sequential playlist plays in its order whether a show or the fallback plays it
(the real station tree, faster than real time)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from radio.events import Event, TrackStarted

from .conftest import Station, pull, radio_station

START = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
ORDER = ["a", "b", "c", "d"]


@pytest.mark.parametrize("week", ["shows: []\n", None], ids=["fallback on air", "a show"])
def test_a_sequential_playlist_plays_in_order_beside_the_standby(
    station: Station, week: str | None
) -> None:
    station.write("station.yaml", "timezone: UTC\nfallback: music\n")
    station.write("playlists/music.yaml", "sources: [media/music]\norder: sequential\n")
    if week is not None:
        station.write("schedules/week.yaml", week)  # else the fixture's all-day show
    for stem in ORDER:
        station.tone(f"media/music/{stem}.flac", 440.0, 0.4)  # 20 frames each
    events: list[Event] = []
    radio = radio_station(station, START, events)
    try:
        pull(radio, 20 * 9 + 5)
    finally:
        radio.close()
    heard = [e.track.title for e in events if isinstance(e, TrackStarted)]
    # The standby's ready track (its own deck's first) is never missing from it.
    assert heard == (ORDER * 3)[:10], heard
