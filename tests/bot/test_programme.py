"""A day's programme and "what plays at", from the grid, in station time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from radio.bot.programme import (
    ArgumentError,
    day_programme,
    format_at,
    format_day,
    parse_day,
    parse_instant,
)

from .test_schedule import WEEK

MONDAY = date(2026, 11, 23)
NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 in Paris


def test_parse_day() -> None:
    assert parse_day("today", MONDAY) == MONDAY
    assert parse_day("", MONDAY) == MONDAY
    assert parse_day("Tomorrow", MONDAY) == date(2026, 11, 24)
    assert parse_day("mon", MONDAY) == MONDAY
    assert parse_day("sunday", MONDAY) == date(2026, 11, 29)
    assert parse_day("2026-12-25", MONDAY) == date(2026, 12, 25)
    with pytest.raises(ArgumentError, match="“someday” is not a day: use today, tomorrow"):
        parse_day("someday", MONDAY)


def test_parse_instant_in_station_time() -> None:
    assert parse_instant("21:00", WEEK, NOON) == datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    assert parse_instant("2026-11-24 07:30", WEEK, NOON) == datetime(
        2026, 11, 24, 6, 30, tzinfo=UTC
    )
    with pytest.raises(ArgumentError, match="is not a time: use HH:MM or YYYY-MM-DD HH:MM"):
        parse_instant("9pm", WEEK, NOON)


def test_day_programme_covers_the_day_with_the_fallback() -> None:
    airings = day_programme(WEEK, MONDAY)
    assert [(a.start.strftime("%H:%M"), a.end.strftime("%H:%M"), a.title) for a in airings] == [
        ("00:00", "07:00", "Non-stop music"),
        ("07:00", "08:00", "Morning Hits"),
        ("08:00", "08:30", "news"),
        ("08:30", "09:00", "Morning Hits"),
        ("09:00", "20:00", "Non-stop music"),
        ("20:00", "22:00", "Evening Live"),
        ("22:00", "00:00", "Non-stop music"),
    ]


def test_format_day_marks_what_is_on_air() -> None:
    text = format_day(WEEK, MONDAY, NOON)
    assert text.splitlines()[0] == "**Monday 23 November 2026** (Europe/Paris)"
    assert "▶ `09:00–20:00` Non-stop music" in text.splitlines()
    assert text.splitlines()[-1] == "`22:00–24:00` Non-stop music"


def test_format_at() -> None:
    at = parse_instant("2026-11-23 08:10", WEEK, NOON)
    assert format_at(WEEK, at) == (
        "At Mon 2026-11-23 08:10 (Europe/Paris): **news**, until Mon 08:30."
    )
