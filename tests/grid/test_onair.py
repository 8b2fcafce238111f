"""OnAir: the station, its scheduler jobs and live reload wired together."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from radio.clock import ManualClock
from radio.config.diagnostics import Diagnostic
from radio.errors import ConfigError
from radio.grid.onair import OnAir

from .conftest import NOW, WEEK, Station

PART_TIME = WEEK.replace('"00:00"', '"07:00"').replace('"24:00"', '"10:00"')


def _save(station: Station, text: str) -> None:
    path = station.write("schedules/week.yaml", text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


async def test_reload_rebuilds_jobs_and_invalid_edit_keeps_the_grid(station: Station) -> None:
    station.tone("media/music/a.flac")
    _save(station, PART_TIME)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    refused: list[list[Diagnostic]] = []
    onair = OnAir(
        station.root, clock=ManualClock(NOW), scheduler=scheduler, on_invalid=refused.append
    )
    try:

        def boundaries() -> list[datetime]:
            return sorted(
                j.next_run_time for j in scheduler.get_jobs() if j.id.startswith("grid:boundary")
            )

        # Monday 13:00 in Paris: the next boundaries are 07:00 and 10:00 on Tuesday.
        assert boundaries() == [
            datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        ]
        _save(station, PART_TIME.replace('"10:00"', '"11:00"'))
        assert onair.watcher.scan() is True
        assert boundaries()[-1] == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
        assert onair.station.grid.shows[0].end is not None
        assert onair.station.grid.shows[0].end.hour == 11

        _save(station, PART_TIME.replace('"10:00"', '"1100"'))
        assert onair.watcher.scan() is False
        assert [d.code for d in refused[0]] == ["E101"]
        assert onair.station.grid.shows[0].end.hour == 11  # the last good grid stays
        assert boundaries()[-1] == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    finally:
        onair.close()
        scheduler.shutdown(wait=False)


def test_an_invalid_station_does_not_go_on_air(station: Station) -> None:
    scheduler = AsyncIOScheduler(timezone=UTC)
    with pytest.raises(ConfigError, match="E303 playlist 'music' has no playable track"):
        OnAir(station.root, clock=ManualClock(NOW), scheduler=scheduler)
