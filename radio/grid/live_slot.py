"""Who may go live now, and what listeners may request: the grid's answers for the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from radio.audio.track import Track
from radio.grid.check import CheckResult
from radio.grid.grid import Grid, Occurrence
from radio.grid.timeline import on_air


@dataclass(frozen=True, slots=True)
class LiveSlot:
    """The show on air, its live policy and its presenters (Discord user or role IDs)."""

    show_id: str
    title: str
    presenters: frozenset[int]
    allowed: bool
    record: bool
    start: datetime | None = None  # the occurrence's start (UTC)
    end: datetime | None = None  # and its end
    early: timedelta | None = None  # how long before it presenters may connect (None: station's)
    relay: str | None = None  # a stream relayed for the whole slot


def live_slot_of(grid: Grid, occurrence: Occurrence | None) -> LiveSlot | None:
    """The live slot of ``occurrence`` (None for the fallback)."""
    if occurrence is None:
        return None
    show = grid.shows[occurrence.index]
    return LiveSlot(
        show_id=show.id,
        title=show.name,
        presenters=frozenset(show.presenters),
        allowed=show.live.allowed,
        record=show.live.record,
        start=occurrence.start,
        end=occurrence.end,
        early=show.live.early,
        relay=show.live.relay,
    )


def live_slot(grid: Grid, now: datetime) -> LiveSlot | None:
    """The live slot at ``now`` (pure; None when the fallback plays)."""
    return live_slot_of(grid, on_air(grid, now).occurrence)


def live_slots_near(grid: Grid, now: datetime, early: timedelta) -> list[LiveSlot]:
    """The slots a presenter may go live in at ``now`` (pure): the one on air, then
    the next one when it starts within its ``early`` margin (``early`` when the
    show sets none). The fallback has no slot."""
    slots: list[LiveSlot] = []
    current = live_slot(grid, now)
    if current is not None:
        slots.append(current)
    horizon = max([early, *(s.live.early for s in grid.shows if s.live.early is not None)])
    upcoming = live_slot(grid, now + horizon) if horizon > timedelta(0) else None
    if (
        upcoming is not None
        and upcoming.start is not None
        and (
            current is None
            or (upcoming.show_id, upcoming.start) != (current.show_id, current.start)
        )
        and upcoming.start - now <= (upcoming.early if upcoming.early is not None else early)
    ):
        slots.append(upcoming)
    return slots


def requestable_tracks(result: CheckResult) -> list[Track]:
    """Every playable track of the playlists marked ``requestable``, in playlist order."""
    tracks: list[Track] = []
    for playlist_id, loaded in result.files.playlists.items():
        if loaded.model.requestable:
            tracks += result.tracks.get(playlist_id, [])
    return tracks
