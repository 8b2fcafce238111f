"""The programme as listeners ask for it: a day's schedule, what plays when.

Pure functions of the grid and the instant (passed in), in the station's time
zone, rendered as short Discord messages. Day and time arguments are parsed
here, with a clear message for what cannot be understood.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from radio.grid.grid import Grid
from radio.grid.timeline import boundaries, on_air

FALLBACK_NAME = "Non-stop music"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ArgumentError(ValueError):
    """A day or time argument that cannot be understood; the message says what is expected."""


@dataclass(frozen=True, slots=True)
class Airing:
    """One stretch of the day's programme, in station wall time."""

    start: datetime
    end: datetime
    title: str


def parse_day(text: str, today: date) -> date:
    """``today``, ``tomorrow``, a weekday (the next one, today included) or YYYY-MM-DD."""
    word = text.strip().casefold()
    if word in ("", "today"):
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word[:3] in _WEEKDAYS and word.isalpha():
        ahead = (_WEEKDAYS.index(word[:3]) - today.weekday()) % 7
        return today + timedelta(days=ahead)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise ArgumentError(
            f"“{text}” is not a day: use today, tomorrow, a weekday (mon…sun) or YYYY-MM-DD."
        ) from None


def parse_instant(text: str, grid: Grid, now: datetime) -> datetime:
    """``HH:MM`` (today) or ``YYYY-MM-DD HH:MM``, in the station's time zone, as aware UTC."""
    parts = text.strip().split()
    try:
        if len(parts) == 1:
            day, clock = now.astimezone(grid.tz).date(), time.fromisoformat(parts[0])
        elif len(parts) == 2:
            day, clock = date.fromisoformat(parts[0]), time.fromisoformat(parts[1])
        else:
            raise ValueError(text)
    except ValueError:
        raise ArgumentError(
            f"“{text}” is not a time: use HH:MM or YYYY-MM-DD HH:MM (station time)."
        ) from None
    return datetime.combine(day, clock, tzinfo=grid.tz)


def day_programme(grid: Grid, day: date) -> list[Airing]:
    """The stretches of ``day`` (station wall time, midnight to midnight), fallback included."""
    start = datetime.combine(day, time(0), tzinfo=grid.tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=grid.tz)
    airings: list[Airing] = []
    for segment in boundaries(grid, start, end):
        lo, hi = max(segment.start, start), min(segment.end, end)
        if hi <= lo:
            continue
        occurrence = segment.occurrence
        title = FALLBACK_NAME if occurrence is None else grid.shows[occurrence.index].name
        airings.append(Airing(lo.astimezone(grid.tz), hi.astimezone(grid.tz), title))
    return airings


def format_day(grid: Grid, day: date, now: datetime) -> str:
    """The day's programme as lines ``HH:MM–HH:MM Title``, the stretch on air marked ▶."""
    lines = [f"**{day.strftime('%A %d %B %Y')}** ({grid.tz.key})"]
    for airing in day_programme(grid, day):
        mark = "▶ " if airing.start <= now < airing.end else ""
        end = "24:00" if airing.end.time() == time(0) else airing.end.strftime("%H:%M")
        lines.append(f"{mark}`{airing.start.strftime('%H:%M')}–{end}` {airing.title}")
    return "\n".join(lines)


def format_at(grid: Grid, instant: datetime) -> str:
    """What plays at ``instant`` and until when (the next boundary), in station time."""
    slot = on_air(grid, instant)
    occurrence = slot.occurrence
    title = FALLBACK_NAME if occurrence is None else grid.shows[occurrence.index].name
    local = instant.astimezone(grid.tz)
    until = slot.next_boundary.astimezone(grid.tz)
    return (
        f"At {local.strftime('%a %Y-%m-%d %H:%M')} ({grid.tz.key}): **{title}**,"
        f" until {until.strftime('%a %H:%M')}."
    )
