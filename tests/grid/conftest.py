"""A minimal valid station in a temporary folder; tests break one file at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from radio.audio import synth

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
