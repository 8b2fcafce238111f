"""A fast path for the usual cron lines: the day's fire times are the same every matching day.

APScheduler's CronTrigger validates every cron line and remains the reference;
for the common forms (``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n`` and lists, with
month and weekday names) :func:`compile_cron` builds a :class:`CronSpec` that
expands a year in a fraction of the time. Anything else returns None and the
caller iterates the CronTrigger. Day of month and weekday must both match
(APScheduler's rule, not classic cron's "either").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

_MONTHS: Final = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


@dataclass(frozen=True, slots=True)
class CronSpec:
    """The sets a five-field cron line allows (weekdays: 0 = Monday)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: any day of the month
    months: frozenset[int]
    weekdays: frozenset[int] | None  # None: any weekday

    def matches(self, day: date) -> bool:
        """True when the line fires on ``day``."""
        return (
            day.month in self.months
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or day.weekday() in self.weekdays)
        )

    def walls(self, first: date, last: date) -> Iterator[datetime]:
        """Every fire time (naive wall time) from ``first`` to ``last`` included."""
        times = [time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]
        day = first
        while day <= last:
            if self.matches(day):
                for t in times:
                    yield datetime.combine(day, t)
            day += timedelta(days=1)


def _field(text: str, low: int, high: int, names: tuple[str, ...] = ()) -> frozenset[int] | None:
    def value(token: str) -> int:
        if token in names:
            return names.index(token) + low
        number = int(token)  # ValueError: not a simple field
        if not low <= number <= high:
            raise ValueError(token)
        return number

    result: set[int] = set()
    for part in text.lower().split(","):
        match = _PART.match(part)
        if match is None:
            raise ValueError(part)
        span, step = match[1], int(match[2] or 1)
        if step < 1:
            raise ValueError(part)
        if span == "*":
            start, end = low, high
        elif "-" in span:
            a, b = span.split("-")
            start, end = value(a), value(b)
            if end < start:
                raise ValueError(part)
        else:
            start = end = value(span)
            if match[2]:
                end = high
        result.update(range(start, end + 1, step))
    return frozenset(result)


_MONTH_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def starts_per_day(expr: str) -> int | None:
    """How many times a five-field line fires in a day it fires (minutes × hours).

    None when the minute or hour field is not one of the simple forms.
    """
    fields = expr.split()
    if len(fields) != 5:
        return None
    try:
        minutes = _field(fields[0], 0, 59) or frozenset()
        hours = _field(fields[1], 0, 23) or frozenset()
    except ValueError:
        return None
    return len(minutes) * len(hours)


def never_fires(spec: CronSpec) -> bool:
    """True when no calendar day matches ``spec`` (e.g. the 31st of February).

    A day of the month that exists in one of the months matches some year on
    every weekday (the calendar repeats every 28 years), so only the day and
    month fields can make a line impossible.
    """
    if not spec.minutes or not spec.hours or not spec.months:
        return True
    if spec.weekdays is not None and not spec.weekdays:
        return True
    if spec.days is None:
        return False
    return not any(day <= _MONTH_DAYS[month - 1] for month in spec.months for day in spec.days)


def compile_cron(expr: str) -> CronSpec | None:
    """A CronSpec for a validated five-field line, or None when it needs the full trigger."""
    fields = expr.split()
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    try:
        return CronSpec(
            minutes=_field(minute, 0, 59) or frozenset(),
            hours=_field(hour, 0, 23) or frozenset(),
            days=None if dom == "*" else _field(dom, 1, 31),
            months=_field(month, 1, 12, _MONTHS) or frozenset(),
            weekdays=None if dow == "*" else _field(dow, 0, 6, _DAYS),
        )
    except ValueError:
        return None
