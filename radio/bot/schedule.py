"""The week's shows mirrored as Discord scheduled events: what should exist, and the diff.

Pure: the grid and a window in, the events that should exist out
(:func:`desired_events`); those and the guild's current events in, the creates,
updates and deletes that make Discord match (:func:`plan`). The station marks
its own events with a last description line ``radio:<key>`` (the show id and
its UTC start), so it never touches events that people made by hand, and finds
its own again after a restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from radio.grid.expand import occurrences
from radio.grid.grid import Grid
from radio.grid.timeline import segments

MARK: Final = "radio:"
NAME_MAX: Final = 100  # Discord's limit for an event name
DESCRIPTION_MAX: Final = 1000
LOOKAHEAD: Final = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One scheduled event as the station wants it. ``key`` identifies the airing."""

    key: str
    name: str
    start: datetime
    end: datetime
    description: str

    def full_description(self) -> str:
        """The description as posted: the text, then the station's mark."""
        mark = f"{MARK}{self.key}"
        room = DESCRIPTION_MAX - len(mark) - 1
        text = self.description[:room]
        return f"{text}\n{mark}" if text else mark


@dataclass(frozen=True, slots=True)
class ExistingEvent:
    """A scheduled event as Discord has it."""

    id: int
    name: str
    start: datetime
    end: datetime | None
    description: str

    @property
    def key(self) -> str | None:
        """The station's key when the station made it, else None."""
        last = self.description.rstrip().rsplit("\n", 1)[-1]
        return last[len(MARK) :] if last.startswith(MARK) else None


@dataclass(frozen=True, slots=True)
class Create:
    spec: EventSpec


@dataclass(frozen=True, slots=True)
class Update:
    event_id: int
    spec: EventSpec


@dataclass(frozen=True, slots=True)
class Delete:
    event_id: int
    name: str


Change = Create | Update | Delete


def desired_events(
    grid: Grid, now: datetime, *, lookahead: timedelta = LOOKAHEAD
) -> list[EventSpec]:
    """The shows that start after ``now`` and within ``lookahead``, as events.

    Each airing of a show is one event, cut to the time it is really on air
    (a higher-priority show in the middle splits it; the pieces keep one key
    each). Airings already started are left out: Discord refuses events in the
    past. The fallback is not an event.
    """
    start, end = now, now + lookahead
    airings = occurrences(grid, start - timedelta(days=1), end)
    specs: list[EventSpec] = []
    for segment in segments(airings, start, end):
        occurrence = segment.occurrence
        if occurrence is None or segment.start <= now:
            continue
        show = grid.shows[occurrence.index]
        key = f"{show.id}@{segment.start.strftime('%Y-%m-%dT%H:%MZ')}"
        specs.append(
            EventSpec(
                key=key,
                name=show.name[:NAME_MAX],
                start=segment.start,
                end=segment.end,
                description="Live show: presenters on the mic." if show.live.allowed else "",
            )
        )
    return specs


def plan(desired: Iterable[EventSpec], existing: Iterable[ExistingEvent]) -> list[Change]:
    """The changes that make ``existing`` match ``desired``; events not the station's stay.

    Order: deletes, updates, then creates (each by start time), so that a
    rate-limited run frees and fixes before it adds.
    """
    wanted = {spec.key: spec for spec in desired}
    ours: dict[str, ExistingEvent] = {}
    deletes: list[Delete] = []
    for event in sorted(existing, key=lambda e: (e.start, e.id)):
        key = event.key
        if key is None:
            continue
        if key not in wanted or key in ours:  # gone from the grid, or a duplicate
            deletes.append(Delete(event.id, event.name))
        else:
            ours[key] = event
    updates: list[Update] = []
    creates: list[Create] = []
    for spec in sorted(wanted.values(), key=lambda s: (s.start, s.key)):
        current = ours.get(spec.key)
        if current is None:
            creates.append(Create(spec))
        elif (current.name, current.start, current.end, current.description.rstrip()) != (
            spec.name,
            spec.start,
            spec.end,
            spec.full_description(),
        ):
            updates.append(Update(current.id, spec))
    return [*deletes, *updates, *creates]
