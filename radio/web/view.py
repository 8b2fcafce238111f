"""What the web face may know of the station: a read-only view, filled in by the application.

The HTTP handlers never reach into the station's objects: they ask a
:class:`StationView` (the application implements it, :mod:`radio.app.webview`)
for plain, frozen snapshots. Times are aware UTC datetimes; nothing here reads a
clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from radio.histogram import HistogramSnapshot


@dataclass(frozen=True, slots=True)
class StationCard:
    """Who the station is: its name, AzuraCast-style short code, IANA time zone and
    the URL listeners play (None: no web stream is configured)."""

    name: str
    shortcode: str
    timezone: str
    listen_url: str | None


@dataclass(frozen=True, slots=True)
class Song:
    """A song as listeners see it. ``key`` identifies the recording (its location)."""

    key: str
    title: str
    artist: str = ""
    album: str = ""


@dataclass(frozen=True, slots=True)
class Play:
    """One thing that went (or goes) on air: a track of the programme, a request, or a
    live presenter's title. ``duration`` in seconds when known; ``streamer`` is the
    presenter for live audio, else ''."""

    song: Song
    started_at: datetime
    duration: float | None = None
    playlist: str = ""
    is_request: bool = False
    streamer: str = ""


@dataclass(frozen=True, slots=True)
class Upcoming:
    """The next track when the station knows it already."""

    song: Song
    duration: float | None = None
    playlist: str = ""
    is_request: bool = False


@dataclass(frozen=True, slots=True)
class LiveOnAir:
    """A presenter holding the air since ``since``."""

    presenter: str
    since: datetime
    show: str = ""


@dataclass(frozen=True, slots=True)
class OnAir:
    """What plays: the current play (None in dead air or before the first track), the
    next track, the plays before the current one (newest first), the live session,
    and how many people listen in the broadcast rooms (0 when unknown)."""

    current: Play | None
    upcoming: Upcoming | None
    history: tuple[Play, ...]
    live: LiveOnAir | None
    listeners: int
    online: bool


@dataclass(frozen=True, slots=True)
class SenderProgress:
    """Where the station's sender stands on its 20 ms schedule.

    ``taken`` counts the frames the sender has taken from the station (sent to the
    rooms, pulled with no room connected, or skipped to catch up); ``due`` the
    frames its schedule says were due by the instant asked. ``ended`` once the
    sender found its feed closed (it sends nothing more); ``rooms`` the rooms it
    serves now.
    """

    begun: bool
    ended: bool
    taken: int
    due: int
    rooms: int = 0


@dataclass(frozen=True, slots=True)
class RoomCounters:
    """One broadcast room: its guild and channel IDs, the keeper's state, voice
    connections made, the last close code (None: none yet), frames sent on the current
    connection (None: not connected), listeners (None: unknown)."""

    guild: int
    room: int
    state: str
    on_air: bool
    joins: int
    last_close_code: int | None
    frames_sent: int | None
    listeners: int | None


@dataclass(frozen=True, slots=True)
class Counters:
    """The station's counters at one instant, for ``/metrics``."""

    frames_encoded: int
    frames_late: int
    frames_skipped: int
    frames_no_room: int
    packets: int
    station_faults: int
    dead_air_frames: int
    dead_air: bool
    rooms: tuple[RoomCounters, ...]
    requests_by_state: Mapping[str, int]
    requests_waiting: int
    grid_reloads: int
    grid_rejected: int
    grid_broken: bool
    task_failures: Mapping[str, int] = field(default_factory=dict)
    task_restarts: Mapping[str, int] = field(default_factory=dict)
    send_stalls: int = 0  # runs of frames sent more than 60 ms late (listeners' dropouts)
    send_intervals: HistogramSnapshot | None = None  # seconds between the sender's frames


class StationView(Protocol):
    """The station as the web face reads it. Every method is quick and thread-safe
    (handlers call them off the event loop); none raises for an ordinary state."""

    def card(self) -> StationCard:
        """Who the station is."""
        ...

    def on_air(self) -> OnAir:
        """What plays now, next and before."""
        ...

    def calendar_html(self, now: datetime) -> str:
        """The week's calendar page around ``now`` (``radio grid --html``'s)."""
        ...

    def sender(self, monotonic: float) -> SenderProgress:
        """The sender's progress at ``monotonic`` (the sender's own clock)."""
        ...

    def counters(self) -> Counters:
        """The station's counters now."""
        ...
