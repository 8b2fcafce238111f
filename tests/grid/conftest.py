"""A minimal valid station in a temporary folder; tests break one file at a time.

:func:`radio_station` puts a folder on air offline (the real station tree on a
FrameClock) and :func:`pull` takes its frames, faster than real time."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from radio.audio import synth
from radio.audio.buffering import wait_buffered
from radio.audio.frames import SAMPLES_PER_FRAME
from radio.events import Event
from radio.grid.check import check_station
from radio.grid.frameclock import FrameClock
from radio.station import Station as RadioStation

STATION = """\
timezone: Europe/Paris
fallback: music
"""

MUSIC = """\
sources:
  - media/music
"""

WEEK = """\
shows:
  - id: allday
    days: [mon, tue, wed, thu, fri, sat, sun]
    start: "00:00"
    end: "24:00"
    rotation:
      - playlist: music
"""

# A Monday in a week without DST changes.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Station:
    """A station folder under test."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def tone(self, relative: str, freq: float = 440.0, seconds: float = 0.5) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return synth.tone(path, freq, seconds, title=path.stem, artist="Test")


@pytest.fixture
def station(tmp_path: Path) -> Station:
    s = Station(tmp_path)
    s.write("station.yaml", STATION)
    s.write("playlists/music.yaml", MUSIC)
    s.write("schedules/week.yaml", WEEK)
    return s


def radio_station(
    station: Station, start: datetime, events: list[Event], *, seed: int = 1, **options: Any
) -> RadioStation:
    """The station tree of ``station``'s folder, checked at ``start`` (asserted valid), on
    a FrameClock that starts there and moves with the frames pulled; its events go to
    ``events``, its rng is seeded with ``seed``, ``options`` go to it (``history``,
    ``live``, ...). The caller closes it."""
    setup = check_station(station.root, start)
    assert setup.ok, setup.errors
    holder: list[RadioStation] = []
    clock = FrameClock(start, lambda: holder[0].root.position if holder else 0)
    radio = RadioStation(
        setup, clock=clock, rng=random.Random(seed), events=events.append, **options
    )
    holder.append(radio)
    return radio


def pull(radio: RadioStation, frames: int) -> list[bytes]:
    """The station's next ``frames`` frames, each waited for up to 30 s (a deadlock guard)."""
    out = []
    for _ in range(frames):
        assert wait_buffered(radio.root, 30)
        out.append(radio.root.read())
    return out


def dominant(frame: bytes) -> float:
    """The strongest frequency of a frame's left channel, to the FFT's 50 Hz bin."""
    left = np.frombuffer(frame, dtype="<i2").reshape(-1, 2)[:, 0].astype(np.float64)
    return float(np.argmax(np.abs(np.fft.rfft(left))) * 48_000 / SAMPLES_PER_FRAME)
