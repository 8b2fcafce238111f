"""The requestable library and its search: what listeners may ask for.

Pure: a list of tracks in (from the playlists marked ``requestable``), ranked
matches out. A query matches a track when every word of the query appears in
its artist, title or album (case and spacing ignored). Ranking: the exact
title or "artist title", then titles starting with the query, then matches in
artist and title alone, then matches that need the album; ties keep the
catalogue's order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from radio.audio.track import Track
from radio.store.history import PlayHistory


def _words(text: str) -> list[str]:
    return text.casefold().split()


class Catalogue:
    """Tracks that may be requested, searchable by title or artist."""

    def __init__(self, tracks: Iterable[Track]) -> None:
        unique: dict[str, Track] = {}
        for track in tracks:
            unique.setdefault(track.location, track)  # a track in two playlists counts once
        self._tracks = list(unique.values())

    def __len__(self) -> int:
        return len(self._tracks)

    def search(self, query: str, limit: int = 5) -> list[Track]:
        """Up to ``limit`` tracks matching ``query``, best first; [] for an empty query."""
        wanted = _words(query)
        if not wanted:
            return []
        phrase = " ".join(wanted)
        scored: list[tuple[int, int, Track]] = []
        for order, track in enumerate(self._tracks):
            haystack = " ".join(_words(f"{track.artist} {track.title} {track.album}"))
            if not all(word in haystack for word in wanted):
                continue
            title = " ".join(_words(track.title))
            full = " ".join(_words(f"{track.artist} {track.title}"))
            if phrase in (title, full):
                rank = 0
            elif title.startswith(phrase):
                rank = 1
            elif all(word in full for word in wanted):
                rank = 2  # found without the album: closer to what was asked
            else:
                rank = 3
            scored.append((rank, order, track))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [track for _, _, track in scored[:limit]]


def separation_refusal(
    track: Track,
    now: datetime,
    history: PlayHistory,
    *,
    artist: timedelta | None,
    title: timedelta | None,
) -> str | None:
    """Why ``track`` may not be requested at ``now`` under the separation rules, or None.

    ``artist`` and ``title`` are the playlist's minimum times between two plays
    of the same artist / the same title (None: no rule). The reply names when
    the track may be requested again.
    """
    checks = (("artist", track.artist, artist), ("title", track.title, title))
    for kind, value, gap in checks:
        if gap is None or not value:
            continue
        last = (
            history.last_played(artist=value)
            if kind == "artist"
            else history.last_played(title=value)
        )
        if last is not None and now - last < gap:
            wait = math.ceil((last + gap - now) / timedelta(minutes=1))
            what = f"{value} was" if kind == "artist" else f"“{value}” was"
            return (
                f"{what} played {_ago(now - last)}; the station waits"
                f" {_minutes(gap)} between plays of the same {kind}."
                f" Try again in {wait} min."
            )
    return None


def _minutes(delta: timedelta) -> str:
    return f"{math.ceil(delta / timedelta(minutes=1))} min"


def _ago(delta: timedelta) -> str:
    minutes = int(delta / timedelta(minutes=1))
    return "just now" if minutes < 1 else f"{minutes} min ago"
