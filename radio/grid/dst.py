"""Turning station wall time into UTC, with the daylight-saving cases made explicit.

* A wall time that does not exist (spring forward, e.g. 02:30 on the last Sunday
  of March in Europe/Paris) resolves to the instant the clocks jump (03:00 local).
* A wall time that happens twice (fall back, e.g. 02:30 on the last Sunday of
  October) resolves to its first occurrence (still on summer time).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class WallIssue(enum.Enum):
    """What was special about a wall time."""

    NONE = "none"
    GAP = "gap"  # it does not exist: the clocks jump over it
    FOLD = "fold"  # it happens twice: the clocks go back over it


@dataclass(frozen=True, slots=True)
class Resolved:
    """A wall time resolved to one UTC instant, and what was special about it."""

    utc: datetime
    issue: WallIssue


def resolve(wall: datetime, tz: ZoneInfo) -> Resolved:
    """Resolve naive station wall time ``wall`` to UTC (see the module docstring)."""
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    off_first, off_second = first.utcoffset(), second.utcoffset()
    if off_first == off_second:
        return Resolved(first.astimezone(UTC), WallIssue.NONE)
    utc_first = first.astimezone(UTC)
    if utc_first.astimezone(tz).replace(tzinfo=None) == wall:
        # Both readings exist: a fold. fold=0 is the earlier instant.
        return Resolved(utc_first, WallIssue.FOLD)
    return Resolved(_transition(wall, tz), WallIssue.GAP)


def _transition(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant at which the clocks jump over the nonexistent ``wall``."""
    a = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)  # reading with the new offset
    b = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)  # reading with the old offset
    lo, hi = min(a, b), max(a, b)
    new_offset = (hi + timedelta(seconds=1)).astimezone(tz).utcoffset()
    # Binary search to the second for the first instant on the new offset.
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(tz).utcoffset() == new_offset:
            hi = mid
        else:
            lo = mid
    return hi


def describe(wall: datetime, resolved: Resolved, tz: ZoneInfo) -> str:
    """One sentence saying what happens to ``wall`` (for W402/W403 warnings)."""
    local = resolved.utc.astimezone(tz)
    day = wall.date().isoformat()
    hhmm = wall.strftime("%H:%M")
    if resolved.issue is WallIssue.GAP:
        return (
            f"{hhmm} does not exist on {day} in {tz.key} (the clocks jump forward): "
            f"it will be {local.strftime('%H:%M %Z')} ({resolved.utc.strftime('%H:%M')} UTC)"
        )
    if resolved.issue is WallIssue.FOLD:
        return (
            f"{hhmm} happens twice on {day} in {tz.key} (the clocks go back): "
            f"the first one is used, {local.strftime('%H:%M %Z')} "
            f"({resolved.utc.strftime('%H:%M')} UTC)"
        )
    return f"{hhmm} on {day}"
