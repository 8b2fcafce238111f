"""A station on air: its source tree, the APScheduler runner and live reload, wired together.

The application layer (the bot, the demo) creates one :class:`OnAir` with the
wall clock and its event loop's scheduler, hands :attr:`OnAir.root` to the audio
adapter, and runs :meth:`OnAir.watch` as a task.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler

from radio.audio.loudness import LoudnessLevels
from radio.audio.root import Infallible
from radio.audio.track import Track
from radio.clock import Clock
from radio.config.diagnostics import Diagnostic
from radio.config.station import LiveModel
from radio.errors import ConfigError
from radio.events import EventSink
from radio.grid.check import CheckResult, check_station
from radio.grid.live_slot import LiveSlot, live_slot_of, requestable_tracks
from radio.grid.loader import station_file
from radio.grid.runner import GridRunner
from radio.grid.watch import GridWatcher, Reload
from radio.live.source import LiveRules
from radio.playlists.library import Library
from radio.station import Station
from radio.store.history import PlayHistory

logger = logging.getLogger(__name__)


class OnAir:
    """Loads and checks ``station_dir``, builds the station, schedules its boundaries.

    Raises ConfigError (naming the first problem; every problem is logged) when
    the configuration has errors at start. Later invalid edits are refused: they
    are logged and passed to ``on_invalid`` (once per distinct broken state) and
    the last good grid stays on air; ``on_fixed`` is called when a valid edit
    follows a refused one.
    """

    def __init__(
        self,
        station_dir: Path,
        *,
        clock: Clock,
        scheduler: BaseScheduler,
        history: PlayHistory | None = None,
        events: EventSink | None = None,
        loudness: LoudnessLevels | None = None,
        on_invalid: Callable[[list[Diagnostic]], None] | None = None,
        on_fixed: Callable[[], None] | None = None,
        rng: random.Random | None = None,
        lead: timedelta = timedelta(seconds=20),
    ) -> None:
        self.station_dir = station_dir
        self._clock = clock
        # One library for the station's life: a reload re-probes only changed files.
        self._library = Library(station_file(station_dir).parent)
        result = self._check()
        if not result.ok:
            for problem in result.errors:
                logger.error("%s", problem)
            first = result.errors[0] if result.errors else "no station file"
            raise ConfigError(f"{station_dir}: the station cannot go on air: {first}")
        for warning in result.warnings:
            logger.warning("%s", warning)
        self._result = result
        settings = self.live_settings
        self.station = Station(
            result,
            clock=clock,
            rng=rng,
            history=history,
            events=events,
            loudness=loudness,
            lead=lead,
            live=LiveRules(
                fade=settings.fade,
                grace=settings.grace,
                blank_dbfs=settings.blank_dbfs,
                blank_limit=settings.blank_limit,
            ),
        )
        self.runner = GridRunner(scheduler, clock=clock, wake=self._wake, lead=lead)
        assert result.grid is not None
        self.runner.rebuild(result.grid, clock.now())
        self.watcher = GridWatcher(
            station_dir, load=self._check, apply=self._apply, invalid=on_invalid, fixed=on_fixed
        )

    @property
    def name(self) -> str:
        """The station's name (``name:`` in station.yaml)."""
        station = self._result.files.station
        return station.name if station is not None else self.station_dir.name

    @property
    def live_settings(self) -> LiveModel:
        """The ``live:`` section of station.yaml (its defaults when absent); read at start."""
        station = self._result.files.station
        return station.live if station is not None else LiveModel()

    @property
    def setup(self) -> CheckResult:
        """The configuration on air: the last one that passed the checks."""
        return self._result

    def live_slot(self) -> LiveSlot | None:
        """The show on air now with its presenters and live policy (None: the fallback)."""
        return live_slot_of(self.station.grid, self.station.programme.on_air)

    @property
    def requestable(self) -> list[Track]:
        """The tracks listeners may request (from the last good configuration)."""
        return requestable_tracks(self._result)

    @property
    def root(self) -> Infallible:
        """The station's never-silent root source (what the audio adapter reads)."""
        return self.station.root

    def check(self) -> CheckResult:
        """Check the station's files on disk now (``radio check``); nothing changes on air.

        Blocking (it may probe media): call it off the event loop.
        """
        return self.watcher.check()

    def reload(self) -> Reload:
        """Load the files now, as the watcher does on an edit: a valid grid goes on air,
        an invalid one is refused and reported, and the last good grid stays.

        Blocking (it may probe media): call it off the event loop.
        """
        return self.watcher.reload()

    async def watch(self, interval: float = 2.0) -> None:
        """Poll the files every ``interval`` seconds until cancelled (live reload)."""
        await self.watcher.run(interval)

    def close(self) -> None:
        """Stop every decoder (the scheduler belongs to the caller)."""
        self.station.close()

    def _check(self) -> CheckResult:
        return check_station(self.station_dir, self._clock.now(), library=self._library)

    def _apply(self, result: CheckResult) -> None:
        self.station.reload(result)
        self._result = result
        assert result.grid is not None
        self.runner.rebuild(result.grid, self._clock.now())

    def _wake(self, boundary: datetime | None) -> None:
        logger.debug("woken for the boundary at %s", boundary)
        self.station.programme.maintain()
