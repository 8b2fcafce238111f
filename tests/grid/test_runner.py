"""The APScheduler runner: a real AsyncIOScheduler holding the computed boundary jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from radio.clock import ManualClock
from radio.grid.grid import Grid
from radio.grid.model import ScheduleFile
from radio.grid.runner import GridRunner, plan

LEAD = timedelta(seconds=20)


def _grid(morning_end: str = "10:00") -> Grid:
    schedule = ScheduleFile.model_validate(
        {
            "shows": [
                {
                    "id": "morning",
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "start": "07:00",
                    "end": morning_end,
                    "rotation": [{"playlist": "music"}],
                },
                {
                    "id": "evening",
                    "days": ["mon"],
                    "start": "20:00",
                    "end": "23:00",
                    "rotation": [{"playlist": "music"}],
                },
            ]
        }
    )
    return Grid(tz=ZoneInfo("Europe/Paris"), shows=tuple(schedule.shows), fallback="music")


NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # Monday 06:00 in Paris


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_plan_has_prepare_and_boundary_jobs_for_the_next_day() -> None:
    jobs = [(j.kind, j.at) for j in plan(_grid(), NOW, lead=LEAD)]
    assert jobs == [
        ("prepare", utc(2026, 11, 23, 5, 59, 40)),
        ("boundary", utc(2026, 11, 23, 6, 0)),
        ("prepare", utc(2026, 11, 23, 8, 59, 40)),
        ("boundary", utc(2026, 11, 23, 9, 0)),
        ("prepare", utc(2026, 11, 23, 18, 59, 40)),
        ("boundary", utc(2026, 11, 23, 19, 0)),
        ("prepare", utc(2026, 11, 23, 21, 59, 40)),
        ("boundary", utc(2026, 11, 23, 22, 0)),
        ("rebuild", utc(2026, 11, 24, 5, 0)),
        ("prepare", utc(2026, 11, 24, 5, 59, 40)),
        ("boundary", utc(2026, 11, 24, 6, 0)),
    ]


async def test_scheduler_holds_exactly_the_planned_jobs_and_reload_replaces_them() -> None:
    scheduler = AsyncIOScheduler(timezone=UTC)
    woken: list[datetime] = []
    clock = ManualClock(NOW)
    runner = GridRunner(scheduler, clock=clock, wake=woken.append, lead=LEAD)
    scheduler.add_job(print, "interval", hours=1, id="someone-else")
    scheduler.start(paused=True)
    try:
        planned = runner.rebuild(_grid(), NOW)
        jobs = {j.id: j.next_run_time for j in scheduler.get_jobs() if j.id.startswith("grid:")}
        assert jobs == {p.id: p.at for p in planned}
        assert len(jobs) == 11

        # A reload (the morning show now ends at 09:30) replaces every grid job.
        planned = runner.rebuild(_grid("09:30"), NOW)
        jobs = {j.id: j.next_run_time for j in scheduler.get_jobs() if j.id.startswith("grid:")}
        assert jobs == {p.id: p.at for p in planned}
        assert utc(2026, 11, 23, 8, 30) in jobs.values()
        assert utc(2026, 11, 23, 9, 0) not in jobs.values()
        assert scheduler.get_job("someone-else") is not None

        # The jobs call wake(boundary); the daily job rebuilds from the clock's now.
        boundary_job = scheduler.get_job(planned[1].id)
        assert boundary_job is not None
        boundary_job.func(*boundary_job.args)
        assert woken == [utc(2026, 11, 23, 6, 0)]
        clock.set(utc(2026, 11, 24, 5, 0))
        rebuild_job = next(j for j in scheduler.get_jobs() if j.id.startswith("grid:rebuild"))
        rebuild_job.func()
        after = sorted(j.next_run_time for j in scheduler.get_jobs() if j.id.startswith("grid:"))
        assert after[0] == utc(2026, 11, 24, 5, 59, 40)
        assert after[-1] == utc(2026, 11, 25, 6, 0)
    finally:
        scheduler.shutdown(wait=False)
