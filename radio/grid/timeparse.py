"""Parsing the small time languages of the grid files: times, durations, weekdays, cron.

Each parser raises :class:`pydantic_core.PydanticCustomError` whose type is the
stable diagnostic code (E101, E102, ...), so that validation errors keep their code
and their position in the YAML file.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from dateutil.rrule import rrulestr
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from radio.grid import cronspec, rrulespec

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DURATION_PART = re.compile(r"(\d+)\s*([hms])")
_DURATION = re.compile(r"^(?:\d+\s*[hms]\s*)+$")
_UNITS: Final = {"h": 3600, "m": 60, "s": 1}
#: The longest duration or wait the files may give (a show itself lasts at most a week).
MAX_DURATION: Final = timedelta(days=366)
#: Dates and dtstart are limited to these years (datetime arithmetic near year 9999
#: would overflow, and no station plans further).
FIRST_YEAR: Final = 1970
LAST_YEAR: Final = 2999
_DAY_NAMES: Final = {
    name: day
    for day, full in zip(
        WEEKDAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
    for name in (day, full)
}


def _fail(code: str, message: str) -> PydanticCustomError:
    # Braces would be read as template fields by pydantic: keep messages literal.
    return PydanticCustomError(code, message.replace("{", "(").replace("}", ")"))


def parse_time(value: Any) -> time:
    """``"HH:MM"`` (00:00 to 24:00; 24:00 means the midnight that ends the day) → time."""
    if isinstance(value, time):
        return value
    text = str(value).strip() if isinstance(value, str) else None
    match = _TIME.match(text) if text is not None else None
    if match is None:
        raise _fail("E101", f"bad time {value!r}: write HH:MM, e.g. 07:00 or 21:30")
    hours, minutes = int(match[1]), int(match[2])
    if (hours, minutes) == (24, 0):
        return time(0, 0)
    if hours > 23 or minutes > 59:
        raise _fail("E101", f"bad time {value!r}: hours 00-23 (or 24:00), minutes 00-59")
    return time(hours, minutes)


def parse_duration(value: Any) -> timedelta:
    """``90s``, ``45m``, ``2h``, ``1h30m``, ``HH:MM`` or a number of seconds → timedelta.

    The result is longer than zero and at most :data:`MAX_DURATION`; anything
    else (infinity, NaN, a number too large for a timedelta) raises E108.
    """
    if isinstance(value, timedelta):
        seconds: float = value.total_seconds()
    elif isinstance(value, bool):
        raise _fail("E108", f"bad duration {value!r}")
    elif isinstance(value, int | float):
        seconds = value
    elif isinstance(value, str) and _TIME.match(value.strip()):
        match = _TIME.match(value.strip())
        assert match is not None
        seconds = int(match[1]) * 3600 + int(match[2]) * 60
    elif isinstance(value, str) and len(value) <= 100 and _DURATION.match(value.strip().lower()):
        seconds = sum(
            int(amount) * _UNITS[unit] for amount, unit in _DURATION_PART.findall(value.lower())
        )
    else:
        raise _fail("E108", f"bad duration {_short(value)}: write e.g. 90s, 45m, 2h or 1h30m")
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise _fail("E108", f"bad duration {value!r}: it must be a finite number")
    if seconds <= 0:
        raise _fail("E108", f"bad duration {_short(value)}: it must be longer than zero")
    if seconds > MAX_DURATION.total_seconds():
        raise _fail("E108", f"bad duration {_short(value)}: at most {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


_HOURS = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")


def parse_hours(value: Any) -> tuple[time, time]:
    """``"HH:MM-HH:MM"`` → (start, end) times of day; an end at or before the start
    crosses midnight (``"23:00-07:00"``), ``"00:00-24:00"`` is the whole day. E101."""
    if isinstance(value, tuple) and len(value) == 2:
        return value[0], value[1]
    match = _HOURS.match(value) if isinstance(value, str) and len(value) <= 100 else None
    if match is None:
        raise _fail("E101", f"bad hours {_short(value)}: write HH:MM-HH:MM, e.g. 23:00-07:00")
    return parse_time(match[1]), parse_time(match[2])


def _short(value: Any) -> str:
    # A hostile value can be long: quote the start of it only.
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_weekday(value: Any) -> str:
    """A weekday name (``mon``..``sun``, any case, full names accepted) → ``mon``..``sun``."""
    day = _DAY_NAMES.get(value.strip().lower()) if isinstance(value, str) else None
    if day is not None:
        return day
    raise _fail("E102", f"unknown weekday {value!r}: use mon, tue, wed, thu, fri, sat or sun")


def parse_date(value: Any) -> date:
    """``YYYY-MM-DD`` → date."""
    if isinstance(value, datetime):
        raise _fail("E109", f"bad date {value!r}: write YYYY-MM-DD without a time")
    if isinstance(value, date):
        result = value
    else:
        try:
            result = date.fromisoformat(str(value).strip())
        except ValueError:
            raise _fail("E109", f"bad date {_short(value)}: write YYYY-MM-DD") from None
    if not FIRST_YEAR <= result.year <= LAST_YEAR:
        raise _fail("E109", f"bad date {_short(value)}: the year must be {FIRST_YEAR}-{LAST_YEAR}")
    return result


def parse_local_datetime(value: Any) -> datetime:
    """``YYYY-MM-DDTHH:MM[:SS]`` (station wall time, no offset) → naive datetime."""
    if isinstance(value, datetime):
        result = value
    else:
        try:
            result = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise _fail(
                "E104", f"bad dtstart {_short(value)}: write YYYY-MM-DDTHH:MM in station time"
            ) from None
    if result.tzinfo is not None:
        raise _fail("E104", f"bad dtstart {value!r}: give station wall time, without an offset")
    if not FIRST_YEAR <= result.year <= LAST_YEAR:
        raise _fail("E104", f"bad dtstart {value!r}: the year must be {FIRST_YEAR}-{LAST_YEAR}")
    return result


def parse_rrule(value: Any) -> str:
    """An RFC 5545 RRULE (``FREQ=WEEKLY;BYDAY=FR``, with or without ``RRULE:``) → itself."""
    if not isinstance(value, str) or not value.strip():
        raise _fail("E104", f"bad rrule {value!r}")
    text = value.strip()
    if "DTSTART" in text.upper():
        raise _fail("E104", "put the start in 'dtstart', not inside the rrule")
    try:
        rrulestr(text, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError, OverflowError) as exc:
        raise _fail("E104", f"bad rrule {_short(value)}: {exc}") from None
    count = rrulespec.parts(text).get("COUNT")
    if count is not None and not count.isdigit():
        raise _fail("E104", f"bad rrule {_short(value)}: COUNT must be a whole number")
    per_day = rrulespec.starts_per_day(text)
    if per_day > rrulespec.MAX_STARTS_PER_DAY:
        raise _too_often(value, per_day)
    return text


def _too_often(value: Any, per_day: int) -> PydanticCustomError:
    return _fail(
        "E111",
        f"{_short(value)} starts up to {per_day} times a day: a show may start at most"
        f" {rrulespec.MAX_STARTS_PER_DAY} times a day (every 15 minutes)",
    )


def parse_cron(value: Any) -> str:
    """A five-field cron line with weekday names (``0 7 * * mon-fri``) → itself.

    Weekday numbers are refused: cron counts 0 as Sunday and APScheduler as
    Monday, and a programmer should not have to know which one we use.
    """
    if not isinstance(value, str):
        raise _fail("E105", f"bad cron line {value!r}")
    fields = value.split()
    if len(fields) != 5:
        raise _fail("E105", f"bad cron line {value!r}: five fields (minute hour day month weekday)")
    if re.search(r"\d", fields[4]):
        raise _fail("E105", f"bad cron line {value!r}: write weekdays as names (mon-fri)")
    try:
        CronTrigger.from_crontab(value, timezone=UTC)
    except ValueError as exc:
        raise _fail("E105", f"bad cron line {_short(value)}: {exc}") from None
    per_day = cronspec.starts_per_day(value)
    if per_day is not None and per_day > rrulespec.MAX_STARTS_PER_DAY:
        raise _too_often(value, per_day)
    return value


def parse_timezone(value: Any) -> str:
    """An IANA time zone name → itself (checked against the system's zoneinfo)."""
    if not isinstance(value, str) or not value.strip():
        raise _fail("E103", f"unknown time zone {value!r}")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(
            "E103", f"unknown time zone {value!r}: use an IANA name such as Europe/Paris"
        ) from None
    return value.strip()


TimeOfDay = Annotated[time, BeforeValidator(parse_time)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Weekday = Annotated[str, BeforeValidator(parse_weekday)]
Day = Annotated[date, BeforeValidator(parse_date)]
LocalDateTime = Annotated[datetime, BeforeValidator(parse_local_datetime)]
RRule = Annotated[str, BeforeValidator(parse_rrule)]
Cron = Annotated[str, BeforeValidator(parse_cron)]
TimeZoneName = Annotated[str, BeforeValidator(parse_timezone)]
Hours = Annotated[tuple[time, time], BeforeValidator(parse_hours)]
