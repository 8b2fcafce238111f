"""The cron fast path agrees with APScheduler's CronTrigger, fire for fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger

from radio.grid.cronspec import compile_cron

LINES = [
    "0 7 * * mon-fri",
    "30 */3 * * *",
    "0,15,30,45 6-9 * * sat,sun",
    "5 12 1,15 * *",
    "0 20 * jan-mar,dec fri",
    "10-20/5 0 * * tue",
    "0 9 13 * fri",
    "0 5/6 * * *",
]


def _reference(expr: str, start: datetime, end: datetime) -> list[datetime]:
    trigger = CronTrigger.from_crontab(expr, timezone=UTC)
    fires = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        fires.append(fire.replace(tzinfo=None))
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return fires


@pytest.mark.parametrize("expr", LINES)
def test_fast_path_matches_apscheduler_over_a_year(expr: str) -> None:
    spec = compile_cron(expr)
    assert spec is not None
    start, end = datetime(2026, 1, 1), datetime(2027, 1, 1)
    fast = [w for w in spec.walls(start.date(), end.date()) if start <= w < end]
    assert fast == _reference(expr, start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))


@pytest.mark.parametrize("expr", ["0 7 L * *", "0 7 * * mon#2", "0 7 * * last fri"])
def test_unusual_lines_use_the_full_trigger(expr: str) -> None:
    assert compile_cron(expr) is None
