"""The schema of ``schedules/*.yaml``: shows and one-off exceptions (unknown keys refused).

A show recurs in exactly one way:

* ``days`` + ``start`` + ``end`` (local wall time; ``end <= start`` crosses midnight),
* ``rrule`` (RFC 5545) + ``dtstart`` + ``duration``,
* ``cron`` (five fields, weekday names) + ``duration``,
* ``dates`` (one-off dates) + ``start`` + ``end``.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from radio.grid.crossfade import CrossfadeModel
from radio.grid.timeparse import (
    WEEKDAYS,
    Cron,
    Day,
    Duration,
    LocalDateTime,
    RRule,
    TimeOfDay,
    Weekday,
    parse_date,
)

WEEKDAY_INDEX = {day: i for i, day in enumerate(WEEKDAYS)}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Strict(BaseModel):
    """Base of every file model: unknown keys are errors (E100), values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def check_id(value: str) -> str:
    """An id is lowercase letters, digits, ``-`` and ``_`` (it appears in commands and logs)."""
    if not _ID.match(value):
        raise PydanticCustomError(
            "E110", "bad id: use lowercase letters, digits, '-' and '_' (e.g. morning-show)"
        )
    return value


class RotationEntry(Strict):
    """One playlist of a show's rotation; ``weight`` overrides the playlist's own."""

    playlist: str
    weight: float | None = Field(default=None, gt=0, le=1_000_000)


class Jingles(Strict):
    """Play one track of ``playlist`` after every ``every`` tracks of music."""

    playlist: str
    every: int = Field(ge=1)


class LivePolicy(Strict):
    """Whether presenters may go live in the slot, whether it is recorded, how long
    before the start they may connect (None: the station's ``live.early``), and a
    stream to relay for the whole slot (the rotation plays whenever it cannot).

    On the stage: ``mic`` is whether a presenter who speaks there ducks the music
    by default (``/live mic on|off`` changes it for a session); ``duck`` the depth
    in dB (-30 to 0; None: the station's ``live.duck``)."""

    allowed: bool = False
    record: bool = False
    early: Duration | None = None
    relay: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    mic: bool = True
    duck: float | None = Field(default=None, ge=-30, le=0, allow_inf_nan=False)


class ShowModel(Strict):
    """One show of the weekly grid."""

    id: str
    title: str | None = None
    days: list[Weekday] | None = None
    dates: list[Day] | None = None
    start: TimeOfDay | None = None
    end: TimeOfDay | None = None
    rrule: RRule | None = None
    dtstart: LocalDateTime | None = None
    cron: Cron | None = None
    duration: Duration | None = None
    priority: int = 0
    start_mode: Literal["hard", "soft"] = "hard"
    max_wait: Duration = timedelta(minutes=5)
    presenters: list[int] = Field(default_factory=list)
    live: LivePolicy = Field(default_factory=LivePolicy)
    rotation: list[RotationEntry] = Field(min_length=1)
    jingles: Jingles | None = None
    station_id: str | bool | None = None
    crossfade: CrossfadeModel | None = None  # over station.yaml's (radio.grid.crossfade)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return check_id(value)

    @model_validator(mode="after")
    def _one_recurrence(self) -> Self:
        kinds = [
            name
            for name, present in (
                ("days", self.days is not None),
                ("dates", self.dates is not None),
                ("rrule", self.rrule is not None),
                ("cron", self.cron is not None),
            )
            if present
        ]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise PydanticCustomError(
                "E107",
                f"show '{self.id}' needs exactly one of days, dates, rrule or cron"
                f" (found: {found})",
            )
        kind = kinds[0]
        if kind in ("days", "dates"):
            missing = [k for k in ("start", "end") if getattr(self, k) is None]
            if missing or self.duration is not None:
                raise PydanticCustomError(
                    "E107",
                    f"show '{self.id}' with {kind} needs start and end (and no duration)",
                )
        else:
            if self.duration is None or self.start is not None or self.end is not None:
                raise PydanticCustomError(
                    "E107",
                    f"show '{self.id}' with {kind} needs a duration (and no start/end)",
                )
            if kind == "rrule" and self.dtstart is None:
                raise PydanticCustomError("E107", f"show '{self.id}' with rrule needs a dtstart")
        if self.duration is not None and self.duration > timedelta(days=7):
            raise PydanticCustomError(
                "E108", f"show '{self.id}' lasts more than a week: split it into several shows"
            )
        return self

    @property
    def name(self) -> str:
        """The title, or the id when there is none."""
        return self.title or self.id

    @property
    def length(self) -> timedelta:
        """How long one occurrence lasts (``end <= start`` crosses midnight)."""
        if self.duration is not None:
            return self.duration
        assert self.start is not None and self.end is not None
        return wall_length(self.start, self.end)


def wall_length(start: time, end: time) -> timedelta:
    """Wall-clock length from ``start`` to ``end``, crossing midnight when ``end <= start``."""
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    if minutes <= 0:
        minutes += 24 * 60
    return timedelta(minutes=minutes)


class ExceptionModel(Strict):
    """One date's deviation from the weekly grid: cancelled shows and extra shows."""

    date: Day
    note: str | None = None
    cancel: list[str] | Literal["all"] = Field(default_factory=list)
    add: list[ShowModel] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _date_the_extras(cls, data: Any) -> Any:
        # An added show is written with start/end only; it airs on the exception's date.
        if not isinstance(data, dict) or not isinstance(data.get("add"), list):
            return data
        try:
            day = [parse_date(data.get("date"))]
        except ValueError:
            day = []  # the date's own error is reported once, on 'date'
        recurrences = ("days", "dates", "rrule", "cron")
        extras = [
            {**item, "dates": day}
            if isinstance(item, dict) and not any(k in item for k in recurrences)
            else item
            for item in data["add"]
        ]
        return {**data, "add": extras}


class ScheduleFile(Strict):
    """The contents of one ``schedules/*.yaml`` file."""

    shows: list[ShowModel] = Field(default_factory=list)
    exceptions: list[ExceptionModel] = Field(default_factory=list)
