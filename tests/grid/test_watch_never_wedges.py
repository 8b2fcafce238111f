"""The watcher never wedges: a slow check holds no lock a command needs; ``grid reload``
answers "still checking" instead of blocking, and the polling loop skips a poll."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from radio.bot.gridreport import format_reload
from radio.grid.check import CheckResult, check_station
from radio.grid.grid import Grid
from radio.grid.watch import GridWatcher, Reload

from .conftest import NOW, WEEK, Station


class SlowLoad:
    """check_station, except that the first call waits until ``release`` is set."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> CheckResult:
        with self._lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            self.entered.set()
            assert self.release.wait(60), "the test never released the slow load"
        return check_station(self.root, NOW, media=False)


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_reload_answers_still_checking_while_a_scan_is_running(station: Station) -> None:
    station.tone("media/music/a.flac")
    load = SlowLoad(station.root)
    applied: list[CheckResult] = []
    watcher = GridWatcher(station.root, load=load, apply=applied.append)
    _touch_later(station.write("schedules/week.yaml", WEEK.replace(", sun]", "]")))
    scans: list[bool | None] = []
    scanner = threading.Thread(target=lambda: scans.append(watcher.scan()), daemon=True)
    scanner.start()
    assert load.entered.wait(60)

    # the scan is stuck in its check: a reload answers instead of waiting for it
    outcome = watcher.reload(wait=0.05)
    assert outcome.busy and not outcome.applied and outcome.result is None
    assert format_reload(_grid(station), outcome, NOW, station.root) == (
        "Still checking the files (a check was already running); the previous grid"
        " stays on air. Ask again in a moment."
    )
    # a check changes nothing on air: it needs no lock and runs now
    assert watcher.check().ok
    # a second poll does not queue behind the first
    assert watcher.scan() is None
    assert applied == []

    load.release.set()
    scanner.join(60)
    assert scans == [True] and len(applied) == 1
    # once the scan is done, a reload goes through
    outcome = watcher.reload(wait=60)
    assert outcome.applied and not outcome.busy and len(applied) == 2


def test_a_reload_in_progress_makes_the_poll_skip_not_wait(station: Station) -> None:
    station.tone("media/music/a.flac")
    load = SlowLoad(station.root)
    watcher = GridWatcher(station.root, load=load, apply=lambda result: None)
    outcomes: list[Reload] = []
    reloader = threading.Thread(target=lambda: outcomes.append(watcher.reload()), daemon=True)
    reloader.start()
    assert load.entered.wait(60)
    _touch_later(station.write("schedules/week.yaml", WEEK.replace(", sun]", "]")))
    assert watcher.scan() is None  # skipped while the reload runs
    load.release.set()
    reloader.join(60)
    assert [o.applied for o in outcomes] == [True]
    assert watcher.scan() is True  # the edit made during the reload is not lost


def _grid(station: Station) -> Grid:
    result = check_station(station.root, NOW, media=False)
    assert result.grid is not None
    return result.grid
