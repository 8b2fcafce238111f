"""station.yaml's blank_limit reaches the station's sequences: a blank file in the
programme is skipped after that many seconds (the real station tree, faster than
real time)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from radio.audio import synth
from radio.events import Event, TrackBlank, TrackStarted

from .conftest import Station, pull, radio_station

START = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def test_the_station_skips_a_blank_file_after_its_blank_limit(station: Station) -> None:
    station.write("station.yaml", "timezone: UTC\nfallback: music\nblank_limit: 1.5\n")
    # the fixture's week: one all-day show of the music playlist
    station.write("playlists/music.yaml", "sources: [media/music]\norder: sequential\n")
    blank = station.root / "media/music/a-blank.flac"
    synth.write_samples(blank, np.zeros((48_000 * 30, 2), dtype=np.int16))
    station.tone("media/music/b-tone.flac", 440.0, 1.0)
    events: list[Event] = []
    radio = radio_station(station, START, events)
    try:
        pull(radio, 250)
    finally:
        radio.close()
    starts = [(e.track.title, e.frame) for e in events if isinstance(e, TrackStarted)]
    blanks = [(e.track.title, e.frame, e.seconds) for e in events if isinstance(e, TrackBlank)]
    begins = [frame for title, frame in starts if title == "a-blank"]
    # each time, the 75th blank frame trips the rule and the next track starts on the
    # frame after it
    others = [type(e).__name__ for e in events if not isinstance(e, TrackStarted | TrackBlank)]
    assert blanks == [("a-blank", f + 74, 1.5) for f in begins if f + 74 < 250], (starts, others)
    assert all(("b-tone", f + 75) in starts for f in begins if f + 75 < 250)
    assert blanks
