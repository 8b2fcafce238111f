"""Parsing the small time languages of the grid files: times, durations, weekdays, cron.

Each parser raises :class:`pydantic_core.PydanticCustomError` whose type is the
stable diagnostic code (E101, E102, ...), so that validation errors keep their code
and their position in the YAML file.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from dateutil.rrule import rrulestr
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DURATION_PART = re.compile(r"(\d+)\s*([hms])")
_DURATION = re.compile(r"^(?:\d+\s*[hms]\s*)+$")
_UNITS: Final = {"h": timedelta(hours=1), "m": timedelta(minutes=1), "s": timedelta(seconds=1)}
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
    """``90s``, ``45m``, ``2h``, ``1h30m``, ``HH:MM`` or a number of seconds → timedelta > 0."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):
        raise _fail("E108", f"bad duration {value!r}")
    elif isinstance(value, int | float):
        result = timedelta(seconds=value)
    elif isinstance(value, str) and _TIME.match(value.strip()):
        match = _TIME.match(value.strip())
        assert match is not None
        result = timedelta(hours=int(match[1]), minutes=int(match[2]))
    elif isinstance(value, str) and _DURATION.match(value.strip().lower()):
        result = timedelta()
        for amount, unit in _DURATION_PART.findall(value.lower()):
            result += int(amount) * _UNITS[unit]
    else:
        raise _fail("E108", f"bad duration {value!r}: write e.g. 90s, 45m, 2h or 1h30m")
    if result <= timedelta(0):
        raise _fail("E108", f"bad duration {value!r}: it must be longer than zero")
    return result


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
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise _fail("E109", f"bad date {value!r}: write YYYY-MM-DD") from None


def parse_local_datetime(value: Any) -> datetime:
    """``YYYY-MM-DDTHH:MM[:SS]`` (station wall time, no offset) → naive datetime."""
    if isinstance(value, datetime):
        result = value
    else:
        try:
            result = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise _fail(
                "E104", f"bad dtstart {value!r}: write YYYY-MM-DDTHH:MM in station time"
            ) from None
    if result.tzinfo is not None:
        raise _fail("E104", f"bad dtstart {value!r}: give station wall time, without an offset")
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
    except (ValueError, TypeError) as exc:
        raise _fail("E104", f"bad rrule {value!r}: {exc}") from None
    return text


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
        raise _fail("E105", f"bad cron line {value!r}: {exc}") from None
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
