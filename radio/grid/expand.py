"""Expanding the grid into concrete UTC occurrences over a window (pure).

Wall times go through :func:`radio.grid.dst.resolve` (gaps jump to the
transition, folds take the first reading). ``start``/``end`` shows are wall-clock
shows (07:00-10:00 is 07:00-10:00 on the clock, even on a DST day); ``duration``
(rrule, cron) is elapsed time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger

from radio.grid import rrulespec
from radio.grid.cronspec import compile_cron
from radio.grid.dst import resolve
from radio.grid.grid import Grid, Occurrence
from radio.grid.model import WEEKDAY_INDEX, ShowModel

_SLACK = timedelta(days=1)  # beyond a show's own length: DST and midnight crossings


def occurrences(grid: Grid, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence intersecting ``[start, end)`` (aware datetimes), sorted by start.

    Cancellations are applied. Raises ValueError for naive datetimes.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("occurrences() needs aware datetimes")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    result: list[Occurrence] = []
    for index, show in enumerate(grid.shows):
        for occ in _show_occurrences(grid, index, show, start, end):
            if occ.end <= start or occ.start >= end or occ.end <= occ.start:
                continue
            if index not in grid.one_off and _cancelled(grid, occ):
                continue
            result.append(occ)
    result.sort(key=lambda o: (o.start, o.index))
    return result


def _cancelled(grid: Grid, occ: Occurrence) -> bool:
    day = occ.wall_start.date()
    if day not in grid.cancelled:
        return False
    ids = grid.cancelled[day]
    return ids is None or occ.show_id in ids


def _show_occurrences(
    grid: Grid, index: int, show: ShowModel, start: datetime, end: datetime
) -> Iterator[Occurrence]:
    tz = grid.tz
    # An occurrence that began up to one show-length before the window still overlaps it.
    first_day = (start - show.length - _SLACK).astimezone(tz).date()
    last_day = (end + timedelta(days=1)).astimezone(tz).date()
    if show.days is not None or show.dates is not None:
        assert show.start is not None and show.end is not None
        if show.dates is not None:
            days: Iterator[date] = (d for d in sorted(show.dates) if first_day <= d <= last_day)
        else:
            wanted = {WEEKDAY_INDEX[d] for d in show.days or ()}
            days = (d for d in _dates(first_day, last_day) if d.weekday() in wanted)
        for day in days:
            yield _wall_occurrence(grid, index, show, day, show.start, show.end)
        return
    assert show.duration is not None
    lo = datetime.combine(first_day, time())
    hi = datetime.combine(last_day, time())
    if show.rrule is not None:
        assert show.dtstart is not None
        walls: Iterator[datetime] = rrulespec.walls(show.rrule, show.dtstart, lo, hi)
    else:
        assert show.cron is not None
        walls = _cron_walls(show.cron, lo, hi)
    for wall in walls:
        begin = resolve(wall, tz)
        yield Occurrence(
            index=index,
            show_id=show.id,
            priority=show.priority,
            start=begin.utc,
            end=begin.utc + show.duration,
            wall_start=wall,
            start_issue=begin.issue,
        )


def _wall_occurrence(
    grid: Grid, index: int, show: ShowModel, day: date, start: time, end: time
) -> Occurrence:
    wall_start = datetime.combine(day, start)
    end_day = day if (end.hour, end.minute) > (start.hour, start.minute) else day + timedelta(1)
    wall_end = datetime.combine(end_day, end)
    begin, finish = resolve(wall_start, grid.tz), resolve(wall_end, grid.tz)
    return Occurrence(
        index=index,
        show_id=show.id,
        priority=show.priority,
        start=begin.utc,
        end=finish.utc,
        wall_start=wall_start,
        start_issue=begin.issue,
        end_issue=finish.issue,
        wall_end=wall_end,
    )


def _dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _cron_walls(expr: str, lo: datetime, hi: datetime) -> Iterator[datetime]:
    spec = compile_cron(expr)
    if spec is not None:
        for wall in spec.walls(lo.date(), hi.date()):
            if lo <= wall < hi:
                yield wall
        return
    # The trigger runs on naive wall time dressed as UTC, so that DST is handled
    # by our own resolve() like every other kind of show.
    trigger = CronTrigger.from_crontab(expr, timezone=UTC)
    now = lo.replace(tzinfo=UTC)
    limit = hi.replace(tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, now)
    while fire is not None and fire < limit:
        yield fire.replace(tzinfo=None)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
