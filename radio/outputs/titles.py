"""What an output mount says is playing: a title and an artist, from the station's events."""

from __future__ import annotations

from dataclasses import dataclass

from radio.events import Event, LiveStarted, LiveTitle, TrackStarted


@dataclass(frozen=True, slots=True)
class StreamTitle:
    """What the mount says is playing: Icecast shows ``artist - title`` (or the title alone)."""

    title: str
    artist: str = ""


def stream_title(event: Event) -> StreamTitle | None:
    """The mount's title after ``event``, or None when the event does not change it.

    A track: its title and artist. A live session: the presenter (and the show),
    then what the presenter's encoder says is playing.
    """
    if isinstance(event, TrackStarted):
        return StreamTitle(event.track.title, event.track.artist)
    if isinstance(event, LiveStarted):
        title = f"{event.show} (live)" if event.show else "Live"
        return StreamTitle(title, event.presenter)
    if isinstance(event, LiveTitle):
        return StreamTitle(event.title, event.presenter)
    return None
