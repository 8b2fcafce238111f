"""RFC 5545 rules with bounded work: how often they fire, whether they ever do, their walls.

dateutil iterates a rule from its ``dtstart`` and, when the rule never matches
(``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30``), on to the year 9999 before it gives
up: seconds of CPU at every expansion. :func:`never_fires` finds such rules from
their text (a COUNT of 0, an UNTIL before the dtstart, days of the month that no
month of the rule has), and :func:`walls` yields nothing for them without
iterating. :func:`starts_per_day` bounds how dense a rule is from its text
alone, so that a rule firing every second or minute is refused before anything
is expanded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Final

from dateutil.rrule import rrulestr

#: The most starts a show may have in one day (one every 15 minutes).
MAX_STARTS_PER_DAY: Final = 96
_MONTH_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_PER_DAY: Final = {"SECONDLY": 86400, "MINUTELY": 1440, "HOURLY": 24}
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6}))?$")


def parts(text: str) -> dict[str, str]:
    """The ``KEY=VALUE`` parts of a rule (keys upper case, ``RRULE:`` dropped)."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    found: dict[str, str] = {}
    for part in body.split(";"):
        key, _, value = part.partition("=")
        if key.strip():
            found[key.strip().upper()] = value.strip()
    return found


def _count(value: str | None) -> int | None:
    """How many values a BYxxx list holds (None when the part is absent)."""
    if value is None:
        return None
    return len([v for v in value.split(",") if v.strip()])


def starts_per_day(text: str) -> int:
    """An upper bound on how many times the rule ``text`` starts in one day.

    A rule with no BYHOUR/BYMINUTE/BYSECOND fires at its dtstart's hour, minute
    and second (one value each); a sub-daily frequency fires every INTERVAL
    units unless a BY list restricts it.
    """
    rule = parts(text)
    freq = rule.get("FREQ", "").upper()
    try:
        interval = max(1, int(rule.get("INTERVAL", "1")))
    except ValueError:
        interval = 1
    hours, minutes, seconds = (_count(rule.get(k)) for k in ("BYHOUR", "BYMINUTE", "BYSECOND"))
    if freq == "SECONDLY":
        total = min(math.ceil(86400 / interval), (hours or 24) * (minutes or 60) * (seconds or 60))
    elif freq == "MINUTELY":
        total = min(math.ceil(1440 / interval), (hours or 24) * (minutes or 60)) * (seconds or 1)
    elif freq == "HOURLY":
        total = min(math.ceil(24 / interval), hours or 24) * (minutes or 1) * (seconds or 1)
    else:
        total = (hours or 1) * (minutes or 1) * (seconds or 1)
    return total


def _until(value: str | None) -> datetime | None:
    match = _UNTIL.match(value or "")
    if match is None:
        return None
    return datetime.strptime(match[1] + (match[2] or "000000"), "%Y%m%d%H%M%S")


def _ints(value: str | None) -> list[int]:
    found: list[int] = []
    for item in (value or "").split(","):
        try:
            found.append(int(item))
        except ValueError:
            continue
    return found


def never_fires(text: str, dtstart: datetime) -> str | None:
    """Why the rule ``text`` starting at ``dtstart`` can never fire, or None.

    Looks at the text only (no iteration): COUNT=0, an UNTIL before the dtstart,
    and days of the month (BYMONTHDAY, or the dtstart's day that a MONTHLY or
    YEARLY rule without BY parts falls back to) that none of its months has.
    """
    rule = parts(text)
    if rule.get("COUNT") == "0":
        return "its COUNT is 0"
    until = _until(rule.get("UNTIL"))
    if until is not None and until < dtstart:
        return f"it ends ({until:%Y-%m-%d %H:%M}) before it starts ({dtstart:%Y-%m-%d %H:%M})"
    freq = rule.get("FREQ", "").upper()
    others = any(k in rule for k in ("BYDAY", "BYYEARDAY", "BYWEEKNO"))
    months = _ints(rule.get("BYMONTH"))
    if not months and freq == "YEARLY" and not others and "BYMONTHDAY" not in rule:
        months = [dtstart.month]
    days = _ints(rule.get("BYMONTHDAY"))
    if not days and freq in ("MONTHLY", "YEARLY") and not others:
        days = [dtstart.day]
    if not days:
        return None
    if not any(
        abs(day) <= _MONTH_DAYS[month - 1] for month in months or range(1, 13) for day in days
    ):
        return "no month of the rule has those days"
    return None


def walls(text: str, dtstart: datetime, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """The rule's wall times in ``[lo, hi]`` (naive), as ``rrule.between(lo, hi, inc=True)``.

    Nothing, without iterating, for a rule that :func:`never_fires`.
    """
    if never_fires(text, dtstart) is not None:
        return iter(())
    return iter(rrulestr(text, dtstart=dtstart).between(lo, hi, inc=True))
