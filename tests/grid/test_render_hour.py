"""A rendered hour of programme: hard start mid-track, soft start, jingles and the hourly ID."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from radio.audio.frames import SAMPLES_PER_FRAME
from radio.events import Event, ShowStarted, TrackEnded, TrackStarted
from radio.grid.frameclock import FrameClock
from radio.grid.render_window import render_window

from .conftest import Station

WEEK = """\
shows:
  - id: breakfast
    days: [mon]
    start: "06:47"
    end: "07:13"
    rotation:
      - playlist: breakfast
    jingles: {playlist: jingles, every: 3}
  - id: talk
    days: [mon]
    start: "07:13"
    end: "08:00"
    start_mode: soft
    max_wait: 3m
    rotation:
      - playlist: talk
"""

START = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)  # Monday 06:30 in Paris
END = START + timedelta(hours=1)
HARD_AT = datetime(2026, 11, 23, 5, 47, tzinfo=UTC)
SOFT_AT = datetime(2026, 11, 23, 6, 13, tzinfo=UTC)
TOP_OF_HOUR = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
# TrackEnded carries the frame holding the held track's last samples; a soft
# start takes the very next frame.
SOFT_START_AFTER_END = 1


def _silent_frames(path: Path) -> list[int]:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    frames = np.frombuffer(raw, dtype="<i2").reshape(-1, SAMPLES_PER_FRAME * 2)
    return [int(i) for i in np.where(~frames.any(axis=1))[0]]


@pytest.mark.e2e
@pytest.mark.timeout(600)  # an hour of audio through FFmpeg: a deadlock guard, not a measure
def test_a_rendered_hour(station: Station, tmp_path: Path) -> None:
    station.write("station.yaml", "timezone: Europe/Paris\nfallback: filler\nstation_id: ids\n")
    station.write("schedules/week.yaml", WEEK)
    (station.root / "playlists/music.yaml").unlink()
    for pid, freq, seconds, count in (
        ("filler", 300.0, 100.0, 3),  # 06:30 + 17 min = 10.2 tracks: 06:47 is mid-track
        ("breakfast", 500.0, 130.0, 4),
        ("talk", 700.0, 90.0, 3),
        ("jingles", 1500.0, 3.0, 2),
        ("ids", 1800.0, 4.0, 1),
    ):
        station.write(f"playlists/{pid}.yaml", f"sources: [media/{pid}]\norder: sequential\n")
        for i in range(count):
            station.tone(f"media/{pid}/{pid}{i}.flac", freq + 10 * i, seconds)

    events: list[Event] = []
    result = render_window(station.root, START, END, tmp_path / "hour.flac", events=events.append)
    clock = FrameClock(START, lambda: 0)
    assert result.frames == 180_000

    shows = [(e.show_id, e.frame) for e in events if isinstance(e, ShowStarted)]
    assert [s for s, _ in shows] == ["", "breakfast", "talk"]
    started = [e for e in events if isinstance(e, TrackStarted)]

    # Hard start: mid-track, on the frame of 06:47:00 exactly.
    hard_frame = clock.frame_of(HARD_AT)
    assert dict(shows)["breakfast"] == hard_frame
    assert next(e for e in started if e.track.tags.get("show") == "breakfast").frame == hard_frame
    filler_before = [e for e in started if e.frame < hard_frame]
    assert (hard_frame - filler_before[-1].frame) % 5000 != 0  # the filler track was cut

    # Soft start: at the end of the breakfast track playing at 07:13.
    soft_frame = dict(shows)["talk"]
    assert clock.frame_of(SOFT_AT) < soft_frame <= clock.frame_of(SOFT_AT + timedelta(minutes=3))
    ends = [
        e.frame
        for e in events
        if isinstance(e, TrackEnded) and e.track.tags.get("show") == "breakfast"
    ]
    assert soft_frame - max(f for f in ends if f <= soft_frame) == SOFT_START_AFTER_END
    # No dead air anywhere, not even at the soft start.
    assert _silent_frames(result.path) == []

    # Jingles: one after every 3 breakfast tracks; the ID at the first change after 07:00.
    kinds = [e.track.tags["kind"] for e in started if e.track.tags.get("show") == "breakfast"]
    music_runs = "".join({"music": "m", "jingle": "j", "id": "i"}[k] for k in kinds)
    assert "j" in music_runs and "mmmm" not in music_runs.replace("i", "")
    ids = [e for e in started if e.track.tags.get("kind") == "id"]
    assert len(ids) == 1
    # the ID is picked ahead (the engine's 10 s preload) for its expected start
    assert ids[0].frame >= clock.frame_of(TOP_OF_HOUR) - 2
    previous_start = max(e.frame for e in started if e.frame < ids[0].frame)
    assert previous_start < clock.frame_of(TOP_OF_HOUR)  # the first change after 07:00
