"""A rendered window of the programme: hard starts on their frame, soft starts at a track end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from radio.audio.frames import SAMPLES_PER_FRAME
from radio.events import Event, ShowStarted, TrackEnded, TrackStarted
from radio.grid.frameclock import FrameClock
from radio.grid.render_window import render_window

from .conftest import Station

STATION = """\
timezone: Europe/Paris
fallback: filler
"""

WEEK = """\
shows:
  - id: hard
    days: [mon]
    start: "07:00"
    end: "07:01"
    rotation:
      - playlist: hard-music
  - id: soft
    days: [mon]
    start: "07:01"
    end: "08:00"
    start_mode: soft
    max_wait: 1m
    rotation:
      - playlist: soft-music
"""

# Monday 23 November 2026, 07:00 in Paris is 06:00 UTC. The render starts 10.01 s
# before, so the hard start falls in the middle of a frame (frame 500.5).
START = datetime(2026, 11, 23, 5, 59, 49, 990000, tzinfo=UTC)
HARD_AT = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
SOFT_AT = datetime(2026, 11, 23, 6, 1, tzinfo=UTC)
FILLER_HZ, HARD_HZ, SOFT_HZ = 300.0, 600.0, 900.0
# TrackEnded carries the frame holding the held track's last samples; a soft
# start takes the very next frame.
SOFT_START_AFTER_END = 1


def _energy(samples: np.ndarray, frame: int, freq: float) -> float:
    """Amplitude of ``freq`` in one frame of the left channel (a one-bin DFT)."""
    chunk = samples[frame * SAMPLES_PER_FRAME : (frame + 1) * SAMPLES_PER_FRAME]
    t = np.arange(len(chunk)) / 48_000
    return float(abs(np.dot(chunk, np.exp(-2j * np.pi * freq * t))) * 2 / len(chunk))


def _decode(path: Path) -> np.ndarray:
    import subprocess

    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "2", "-ar", "48000", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").reshape(-1, 2)[:, 0].astype(np.float64) / 32768


@pytest.fixture
def programme_station(station: Station) -> Station:
    station.write("station.yaml", STATION)
    station.write("schedules/week.yaml", WEEK)
    for pid in ("filler", "hard-music", "soft-music"):
        station.write(f"playlists/{pid}.yaml", f"sources: [media/{pid}]\norder: sequential\n")
    (station.root / "playlists/music.yaml").unlink()
    # The filler's tracks last 7 s: the hard start at 10.01 s cuts one mid-track.
    for i in range(3):
        station.tone(f"media/filler/f{i}.flac", FILLER_HZ, 7.0)
    # The hard show's tracks last 25 s: at 07:01 (70.01 s) its third track plays
    # until about 85 s, where the soft show must start.
    for i in range(4):
        station.tone(f"media/hard-music/h{i}.flac", HARD_HZ, 25.0)
    for i in range(2):
        station.tone(f"media/soft-music/s{i}.flac", SOFT_HZ, 20.0)
    return station


def test_hard_start_on_its_frame_and_soft_start_at_the_track_end(
    programme_station: Station, tmp_path: Path
) -> None:
    events: list[Event] = []
    end = datetime(2026, 11, 23, 6, 1, 40, tzinfo=UTC)
    out = tmp_path / "window.wav"
    result = render_window(programme_station.root, START, end, out, events=events.append)

    clock = FrameClock(START, lambda: 0)
    hard_frame = clock.frame_of(HARD_AT)
    assert hard_frame == 501  # 10.01 s = 500.5 frames: the first frame at or after it
    assert result.frames == clock.frame_of(end) == 5501

    shows = [(e.show_id, e.frame) for e in events if isinstance(e, ShowStarted)]
    assert shows[0] == ("", 0)  # the fallback at the start of the render
    assert shows[1] == ("hard", hard_frame)
    started = [e for e in events if isinstance(e, TrackStarted)]
    first_hard = next(e for e in started if e.track.tags.get("show") == "hard")
    assert first_hard.frame == hard_frame

    # Soft start: the show waits for the end of the hard show's current track.
    hard_ends = [
        e.frame
        for e in events
        if isinstance(e, TrackEnded) and e.track.tags.get("show") == "hard" and not e.skipped
    ]
    soft_frame = next(frame for show, frame in shows if show == "soft")
    assert soft_frame > clock.frame_of(SOFT_AT)
    ended_before = max(f for f in hard_ends if f <= soft_frame)
    assert soft_frame - ended_before == SOFT_START_AFTER_END
    # three 25 s tracks from the hard start's frame (501, at 10.02 s) end exactly on
    # the boundary of frame 4251, 75 s later: the soft show takes that frame.
    assert soft_frame == clock.frame_of(HARD_AT + timedelta(seconds=75))

    # What a listener hears: filler before the hard start, the show from that frame.
    audio = _decode(out)
    level = _energy(audio, 100, FILLER_HZ)
    assert level > 0.05
    assert _energy(audio, hard_frame - 1, HARD_HZ) < 0.01 * level
    assert _energy(audio, hard_frame - 1, FILLER_HZ) > 0.5 * level
    assert _energy(audio, hard_frame + 3, HARD_HZ) > 0.5 * level
    assert _energy(audio, hard_frame + 3, FILLER_HZ) < 0.01 * level
    assert _energy(audio, soft_frame - 2, HARD_HZ) > 0.5 * level
    assert _energy(audio, soft_frame + 1, SOFT_HZ) > 0.5 * level
    assert _energy(audio, soft_frame + 1, HARD_HZ) < 0.01 * level
