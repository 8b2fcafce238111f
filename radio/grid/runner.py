"""The APScheduler runner: one date job per upcoming grid boundary, rebuilt on reload and daily.

APScheduler only *wakes* the station: the job calls ``wake(instant)`` (the
programme's ``poll``), and what plays is still decided by the pure timeline.
Jobs live in APScheduler's memory store (the YAML files are the source of truth).
For each boundary there is a ``prepare`` job ``lead`` before it (open the next
show's first track) and a ``boundary`` job at it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger

from radio.clock import Clock
from radio.grid.grid import Grid
from radio.grid.timeline import boundaries

logger = logging.getLogger(__name__)

PREFIX = "grid:"
HORIZON = timedelta(days=1, hours=2)  # rebuilt daily: two hours of overlap
REBUILD_EVERY = timedelta(days=1)


@dataclass(frozen=True, slots=True, order=True)
class PlannedJob:
    """A job the runner wants: when, what kind, for which boundary."""

    at: datetime
    kind: str  # "prepare", "boundary" or "rebuild"
    boundary: datetime | None

    @property
    def id(self) -> str:
        stamp = (self.boundary or self.at).strftime("%Y%m%dT%H%M%S.%fZ")
        return f"{PREFIX}{self.kind}:{stamp}"


def plan(
    grid: Grid, now: datetime, *, lead: timedelta, horizon: timedelta = HORIZON
) -> list[PlannedJob]:
    """The jobs for ``grid`` after ``now`` (pure): prepare/boundary pairs and one rebuild."""
    jobs: list[PlannedJob] = []
    for segment in boundaries(grid, now, now + horizon)[1:]:
        at = segment.start
        if at - lead > now:
            jobs.append(PlannedJob(at - lead, "prepare", at))
        jobs.append(PlannedJob(at, "boundary", at))
    jobs.append(PlannedJob(now + REBUILD_EVERY, "rebuild", None))
    return sorted(jobs)


class GridRunner:
    """Keeps the scheduler's ``grid:*`` jobs equal to :func:`plan` for the current grid.

    ``wake(instant)`` is called by the prepare and boundary jobs. ``clock`` gives
    ``now`` when the daily rebuild job runs.
    """

    def __init__(
        self,
        scheduler: BaseScheduler,
        *,
        clock: Clock,
        wake: Callable[[datetime], None],
        lead: timedelta = timedelta(seconds=20),
    ) -> None:
        self._scheduler = scheduler
        self._clock = clock
        self._wake = wake
        self._lead = lead
        self._grid: Grid | None = None

    def rebuild(self, grid: Grid, now: datetime) -> list[PlannedJob]:
        """Replace every ``grid:*`` job with the plan for ``grid`` after ``now``."""
        self._grid = grid
        for job in self._scheduler.get_jobs():
            if job.id.startswith(PREFIX):
                job.remove()
        planned = plan(grid, now, lead=self._lead)
        for item in planned:
            if item.kind == "rebuild":
                func: Callable[..., None] = self._daily
                args: list[object] = []
            else:
                func, args = self._wake, [item.boundary]
            self._scheduler.add_job(
                func,
                DateTrigger(run_date=item.at),
                args=args,
                id=item.id,
                name=f"{item.kind} {item.boundary or ''}".strip(),
                misfire_grace_time=60,
                coalesce=True,
                replace_existing=True,
            )
        logger.info(
            "scheduled %d grid boundaries until %s",
            sum(1 for p in planned if p.kind == "boundary"),
            (now + HORIZON).isoformat(timespec="minutes"),
        )
        return planned

    def _daily(self) -> None:
        if self._grid is not None:
            self.rebuild(self._grid, self._clock.now())
