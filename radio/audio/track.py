"""What a playlist hands to the engine: one track to play, with its metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Track:
    """One playable item.

    ``location`` is a file path or a stream URL (anything FFmpeg can open).
    ``duration`` is in seconds when known. ``tags`` carries free-form context
    for announcements (show, presenter, requested_by, playlist, ...).
    """

    location: str
    title: str
    artist: str = ""
    album: str = ""
    duration: float | None = None
    tags: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def path(self) -> Path:
        """The location as a path (meaningful only for files)."""
        return Path(self.location)

    @property
    def display(self) -> str:
        """ "Artist – Title", or just the title when the artist is unknown."""
        return f"{self.artist} – {self.title}" if self.artist else self.title


class TrackProvider(Protocol):
    """Hands out the next track to play, or None when it has nothing right now.

    The engine calls ``next_track`` ahead of time (while the current track still
    plays), from a non-realtime thread; it may do I/O but should be quick.
    """

    def next_track(self) -> Track | None: ...


@runtime_checkable
class TimedTrackProvider(Protocol):
    """A TrackProvider that is told when the track it hands out is expected to start.

    ``seconds`` is how long after the call the track should start (0: now, as after
    a skip; None: unknown, e.g. the current track is a stream). A
    :class:`~radio.audio.sequence.TrackSequence` whose provider has this method
    opens each next track early (right after the current track's first frame, once
    its TrackStarted is delivered), so that a skip never waits for a file to open;
    providers whose picks depend on the time (top-of-hour IDs, separation rules)
    judge the pick at ``now + seconds``.
    """

    def next_track(self) -> Track | None: ...

    def next_track_in(self, seconds: float | None) -> Track | None: ...
