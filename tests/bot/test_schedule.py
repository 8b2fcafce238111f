"""The week's shows as scheduled events: what should exist, and the changes to get there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from radio.bot.schedule import (
    Create,
    Delete,
    EventSpec,
    ExistingEvent,
    Update,
    desired_events,
    plan,
)
from radio.grid.grid import Grid
from radio.grid.model import ScheduleFile

MON = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday, 01:00 in Paris


def grid(*shows: dict[str, Any]) -> Grid:
    schedule = ScheduleFile.model_validate(
        {"shows": [{"rotation": [{"playlist": "x"}], **show} for show in shows]}
    )
    return Grid(tz=ZoneInfo("Europe/Paris"), shows=tuple(schedule.shows), fallback="x")


WEEK = grid(
    {
        "id": "morning",
        "title": "Morning Hits",
        "days": ["mon", "tue"],
        "start": "07:00",
        "end": "09:00",
    },
    {
        "id": "live",
        "title": "Evening Live",
        "days": ["mon"],
        "start": "20:00",
        "end": "22:00",
        "live": {"allowed": True},
    },
    {"id": "news", "days": ["mon"], "start": "08:00", "end": "08:30", "priority": 5},
)


def test_desired_events_follow_the_grid_in_utc() -> None:
    specs = desired_events(WEEK, MON)
    assert [(s.key, s.name, s.start.isoformat(), s.end.isoformat()) for s in specs] == [
        # Monday's morning show is cut by the higher-priority news at 08:00 Paris.
        (
            "morning@2026-11-23T06:00Z",
            "Morning Hits",
            "2026-11-23T06:00:00+00:00",
            "2026-11-23T07:00:00+00:00",
        ),
        (
            "news@2026-11-23T07:00Z",
            "news",
            "2026-11-23T07:00:00+00:00",
            "2026-11-23T07:30:00+00:00",
        ),
        (
            "morning@2026-11-23T07:30Z",
            "Morning Hits",
            "2026-11-23T07:30:00+00:00",
            "2026-11-23T08:00:00+00:00",
        ),
        (
            "live@2026-11-23T19:00Z",
            "Evening Live",
            "2026-11-23T19:00:00+00:00",
            "2026-11-23T21:00:00+00:00",
        ),
        (
            "morning@2026-11-24T06:00Z",
            "Morning Hits",
            "2026-11-24T06:00:00+00:00",
            "2026-11-24T08:00:00+00:00",
        ),
    ]
    assert specs[3].full_description() == (
        "Live show: presenters on the mic.\nradio:live@2026-11-23T19:00Z"
    )
    assert specs[0].full_description() == "radio:morning@2026-11-23T06:00Z"


def test_airings_already_started_are_not_events() -> None:
    specs = desired_events(WEEK, datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    assert [s.key for s in specs][:2] == ["news@2026-11-23T07:00Z", "morning@2026-11-23T07:30Z"]


def existing(event_id: int, spec: EventSpec, **changes: Any) -> ExistingEvent:
    fields = {
        "name": spec.name,
        "start": spec.start,
        "end": spec.end,
        "description": spec.full_description(),
    } | changes
    return ExistingEvent(id=event_id, **fields)


def test_plan_creates_updates_and_deletes_only_the_stations_events() -> None:
    specs = desired_events(WEEK, MON)
    morning, news, morning2, live, tuesday = specs
    by_hand = ExistingEvent(99, "Community meetup", MON, None, "bring snacks")
    current = [
        existing(1, morning),  # unchanged
        existing(2, live, name="Old title"),  # renamed in the grid
        ExistingEvent(3, "Gone show", MON, None, "radio:gone@2026-11-23T10:00Z"),
        existing(4, news),
        existing(5, news),  # a duplicate (a crash between create and record)
        by_hand,
    ]
    changes = plan(specs, current)
    assert changes == [
        Delete(3, "Gone show"),
        Delete(5, "news"),
        Update(2, live),
        Create(morning2),
        Create(tuesday),
    ]
    assert existing(7, live).key == live.key
    assert by_hand.key is None


def test_plan_is_empty_when_discord_matches() -> None:
    specs = desired_events(WEEK, MON)
    assert plan(specs, [existing(n, s) for n, s in enumerate(specs)]) == []
    assert plan([], []) == []
