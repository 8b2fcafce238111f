"""Rendering a window of the programme offline: ``radio render --from ... --to ...``.

The station tree is the one that plays on air (radio.station.Station), driven by a
FrameClock: the instant of each frame is ``start + n × 20 ms``, so hard starts,
soft starts, jingles and top-of-hour IDs happen where they would on air. Plays go
to a private in-memory history, not the station's play log.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from radio.audio.frames import FRAME_DURATION
from radio.audio.loudness import LoudnessLevels
from radio.errors import ConfigError
from radio.events import EventSink
from radio.grid.check import check_station
from radio.grid.dst import resolve
from radio.grid.frameclock import FrameClock
from radio.grid.loader import load_station
from radio.render import RenderResult, render_source
from radio.station import Station
from radio.store.db import Database
from radio.store.history import PlayHistory

logger = logging.getLogger(__name__)


@dataclass
class _Cell:
    station: Station | None = None

    def position(self) -> int:
        return self.station.root.position if self.station is not None else 0


def parse_window(station_dir: Path, start: str, end: str) -> tuple[datetime, datetime]:
    """``--from``/``--to`` texts (``YYYY-MM-DD HH:MM``, station time unless an offset is
    given) → aware UTC instants. Raises ConfigError for a bad time or station file."""
    files = load_station(station_dir)
    if files.station is None:
        problems = "; ".join(str(d) for d in files.diagnostics[:3])
        raise ConfigError(f"cannot read the station's time zone: {problems}")
    tz = ZoneInfo(files.station.timezone)

    def instant(text: str, flag: str) -> datetime:
        try:
            value = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ConfigError(f'bad {flag} {text!r}: write e.g. "2026-11-24 21:00"') from None
        if value.tzinfo is None:
            return resolve(value, tz).utc
        return value.astimezone(UTC)

    return instant(start, "--from"), instant(end, "--to")


def render_window(
    station_dir: Path,
    start: datetime,
    end: datetime,
    out: Path,
    *,
    progress: bool = False,
    seed: int = 0,
    loudness: LoudnessLevels | None = None,
    events: EventSink | None = None,
    lead: timedelta = timedelta(seconds=20),
) -> RenderResult:
    """Render the programme of ``station_dir`` from ``start`` to ``end`` (aware) into ``out``.

    Raises ConfigError when the window is empty or the station has errors (the
    first error is in the message; ``radio check`` lists them all), SourceError
    when the output cannot be written.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ConfigError("--from and --to need a time zone (or the station's is used)")
    if end <= start:
        raise ConfigError("the window is empty: --to must be after --from")
    setup = check_station(station_dir, start, horizon=end - start + timedelta(days=1))
    cell = _Cell()
    clock = FrameClock(start, cell.position)
    history = PlayHistory(Database(":memory:"))
    station = Station(
        setup,
        clock=clock,
        rng=random.Random(seed),
        history=history,
        events=events,
        loudness=loudness,
        lead=lead,
    )
    cell.station = station
    frames = -(-(end - start) // FRAME_DURATION)
    try:
        return render_source(station.root, frames, out, progress=progress)
    finally:
        station.close()
