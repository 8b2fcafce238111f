"""Live reload: a valid edit goes on air, an invalid one is reported and the old grid stays."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from radio.config.diagnostics import Diagnostic
from radio.grid.check import CheckResult, check_station
from radio.grid.timeline import on_air
from radio.grid.watch import GridWatcher

from .conftest import NOW, WEEK, Station


def _touch_later(path: Path) -> None:
    # Filesystems with coarse timestamps: make the change visible by mtime too.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_valid_edit_applied_invalid_edit_rejected(
    station: Station, caplog: pytest.LogCaptureFixture
) -> None:
    station.tone("media/music/a.flac")
    applied: list[CheckResult] = []
    rejected: list[list[Diagnostic]] = []
    watcher = GridWatcher(
        station.root,
        load=lambda: check_station(station.root, NOW),
        apply=applied.append,
        invalid=rejected.append,
    )
    assert watcher.scan() is None  # nothing changed

    morning = WEEK.replace("days: [mon, tue, wed, thu, fri, sat, sun]", "days: [mon]")
    path = station.write("schedules/week.yaml", morning)
    _touch_later(path)
    assert watcher.scan() is True
    assert len(applied) == 1 and applied[0].grid is not None
    assert on_air(applied[0].grid, NOW).show_id == "allday"

    broken = station.write("schedules/week.yaml", morning.replace('"00:00"', '"25:00"'))
    _touch_later(broken)
    with caplog.at_level(logging.ERROR):
        assert watcher.scan() is False
    assert len(applied) == 1  # the last good grid stays
    assert [(d.code, d.line, d.col) for d in rejected[0]] == [("E101", 4, 12)]
    assert f"{broken}:4:12 E101" in caplog.text
    assert "the last good grid stays on air" in caplog.text
    assert watcher.scan() is None  # reported once, not at every scan

    fixed = station.write("schedules/week.yaml", morning.replace('"00:00"', '"06:00"'))
    _touch_later(fixed)
    assert watcher.scan() is True
    assert (watcher.reloads, watcher.rejected) == (2, 1)


def test_new_playlist_file_is_noticed(station: Station) -> None:
    station.tone("media/music/a.flac")
    seen: list[CheckResult] = []
    watcher = GridWatcher(
        station.root, load=lambda: check_station(station.root, NOW), apply=seen.append
    )
    station.write("playlists/more.yaml", "sources: [media/music]\n")
    assert watcher.scan() is True
    assert sorted(seen[0].tracks) == ["more", "music"]


async def test_run_polls_at_the_given_interval_until_cancelled(station: Station) -> None:
    import asyncio

    station.tone("media/music/a.flac")
    applied: list[CheckResult] = []
    watcher = GridWatcher(
        station.root, load=lambda: check_station(station.root, NOW), apply=applied.append
    )
    naps: list[float] = []

    async def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            _touch_later(station.write("playlists/more.yaml", "sources: [media/music]\n"))
        if len(naps) == 4:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await watcher.run(7.5, sleep=sleep)
    assert naps == [7.5, 7.5, 7.5, 7.5]
    assert len(applied) == 1 and "more" in applied[0].tracks
