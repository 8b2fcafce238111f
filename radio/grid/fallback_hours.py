"""The fallback's own hours: where a gap in the grid is the plan, not a mistake (pure).

A station may leave some hours to its fallback on purpose (station.yaml's
``fallback_hours``, e.g. ``["23:00-07:00"]``: the fallback is the overnight
programme). :func:`unexpected` takes a gap (a UTC interval with no show) and
returns the parts of it outside those wall-clock hours: only they are W401.

Each window is wall time on every day; it is turned into UTC day by day with
:func:`radio.grid.dst.resolve`, so a window keeps its wall times across a DST
change (a window edge that falls in a DST gap moves to the jump, as a show's does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from radio.grid.dst import resolve

Window = tuple[time, time]
Interval = tuple[datetime, datetime]


def describe(windows: Sequence[Window]) -> str:
    """The windows as written: ``23:00-07:00, 12:00-13:00`` (an end at midnight is 24:00)."""
    return ", ".join(
        f"{start:%H:%M}-{'24:00' if end == time(0) else f'{end:%H:%M}'}" for start, end in windows
    )


def windows_between(
    windows: Sequence[Window], tz: ZoneInfo, start: datetime, end: datetime
) -> list[Interval]:
    """Every occurrence (UTC) of ``windows`` that may touch ``[start, end)``, sorted.

    A window whose end is at or before its start ends the next day.
    """
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    found: list[Interval] = []
    day = first
    while day <= last:
        for w_start, w_end in windows:
            wall_start = datetime.combine(day, w_start)
            wall_end = datetime.combine(day + timedelta(days=1 if w_end <= w_start else 0), w_end)
            a, b = resolve(wall_start, tz).utc, resolve(wall_end, tz).utc
            if a < b:
                found.append((a, b))
        day += timedelta(days=1)
    found.sort()
    return found


def unexpected(
    gap_start: datetime, gap_end: datetime, windows: Sequence[Window], tz: ZoneInfo
) -> list[Interval]:
    """The parts of the gap ``[gap_start, gap_end)`` outside every window, in order.

    With no windows the whole gap is returned. Bounded: one window per day of the gap.
    """
    if not windows:
        return [(gap_start, gap_end)]
    left: list[Interval] = []
    cursor = gap_start
    for a, b in windows_between(windows, tz, gap_start, gap_end):
        if b <= cursor:
            continue
        if a >= gap_end:
            break
        if a > cursor:
            left.append((cursor, a))
        cursor = max(cursor, b)
        if cursor >= gap_end:
            break
    if cursor < gap_end:
        left.append((cursor, gap_end))
    return left
