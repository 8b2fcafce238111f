"""The grid as the station runs it: shows, exceptions and the fallback, in one time zone.

A :class:`Grid` is immutable and independent of files: a reload builds a new one
and swaps it in. Expansion to UTC intervals lives in :mod:`radio.grid.expand`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from radio.grid.dst import WallIssue
from radio.grid.model import ShowModel


@dataclass(frozen=True)
class Grid:
    """Shows in declaration order (their index breaks ties), cancellations by local date.

    ``cancelled[d]`` is a set of show ids, or ``None`` meaning every weekly show
    starting on ``d`` is cancelled (``cancel: all``). One-off shows added by an
    exception are in ``shows`` with ``dates`` set and are never cancelled.
    """

    tz: ZoneInfo
    shows: tuple[ShowModel, ...]
    fallback: str
    station_id: str | None = None
    fallback_title: str = ""
    cancelled: Mapping[date, frozenset[str] | None] = field(default_factory=dict)
    one_off: frozenset[int] = frozenset()

    @property
    def fallback_name(self) -> str:
        """What listeners are told plays when no show does: the fallback playlist's title."""
        return self.fallback_title or self.fallback

    def show(self, show_id: str) -> ShowModel:
        """The show called ``show_id``; raises KeyError when there is none."""
        for show in self.shows:
            if show.id == show_id:
                return show
        raise KeyError(show_id)

    def station_id_for(self, show: ShowModel | None) -> str | None:
        """The station-ID playlist that applies during ``show`` (None: no IDs)."""
        if show is None or show.station_id is None or show.station_id is True:
            return self.station_id
        if show.station_id is False:
            return None
        return show.station_id


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One concrete airing of a show: ``[start, end)`` in UTC."""

    index: int  # the show's position in Grid.shows
    show_id: str
    priority: int
    start: datetime
    end: datetime
    wall_start: datetime  # naive station wall time as written (for messages)
    start_issue: WallIssue = WallIssue.NONE
    end_issue: WallIssue = WallIssue.NONE
    wall_end: datetime | None = None

    def covers(self, instant: datetime) -> bool:
        """True when ``instant`` is inside ``[start, end)``."""
        return self.start <= instant < self.end
