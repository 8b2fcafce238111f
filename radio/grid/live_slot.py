"""Who may go live now, and what listeners may request: the grid's answers for the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    )


def live_slot(grid: Grid, now: datetime) -> LiveSlot | None:
    """The live slot at ``now`` (pure; None when the fallback plays)."""
    return live_slot_of(grid, on_air(grid, now).occurrence)


def requestable_tracks(result: CheckResult) -> list[Track]:
    """Every playable track of the playlists marked ``requestable``, in playlist order."""
    tracks: list[Track] = []
    for playlist_id, loaded in result.files.playlists.items():
        if loaded.model.requestable:
            tracks += result.tracks.get(playlist_id, [])
    return tracks
