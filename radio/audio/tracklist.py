"""The simplest TrackProvider: a fixed list of tracks, played once or looped."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from radio.audio.track import Track

AUDIO_SUFFIXES: Final = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aiff", ".aif", ".wma"}
)


class TrackList:
    """Hands out ``tracks`` in order; starts over when ``loop`` is set.

    Thread-safe (the engine calls it from its preparation thread).
    """

    def __init__(self, tracks: Iterable[Track], *, loop: bool = False) -> None:
        self.tracks: list[Track] = list(tracks)
        self.loop = loop
        self._index = 0
        self._lock = threading.Lock()

    def next_track(self) -> Track | None:
        """Return the next track, or None once the list is used up (without loop)."""
        with self._lock:
            if not self.tracks or (self._index >= len(self.tracks) and not self.loop):
                return None
            track = self.tracks[self._index % len(self.tracks)]
            self._index += 1
            return track

    def next_track_in(self, seconds: float | None) -> Track | None:
        """TimedTrackProvider: the order does not depend on time, so the same as
        :meth:`next_track` (and a sequence opens each next track early)."""
        return self.next_track()


def tracks_from_paths(paths: Sequence[Path]) -> list[Track]:
    """Expand files and folders into tracks (folders: audio files by name, recursively).

    Files given explicitly are kept whatever their suffix (a bad one is reported
    when played); the title is the file name without its suffix. Raises
    FileNotFoundError for a path that does not exist.
    """
    tracks: list[Track] = []
    for path in paths:
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
            )
        elif path.exists():
            files = [path]
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
        tracks.extend(Track(location=str(f), title=f.stem) for f in files)
    return tracks
