"""The requestable library as the station has it now (it follows grid reloads)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from radio.audio.track import Track
from radio.bot.catalogue import Catalogue, separation_refusal
from radio.grid.onair import OnAir
from radio.store.history import PlayHistory


class LiveCatalogue(Catalogue):
    """A :class:`Catalogue` over ``onair.requestable``, rebuilt when a reload changes it."""

    def __init__(self, onair: OnAir) -> None:
        self._onair = onair
        self._source: list[Track] = onair.requestable
        super().__init__(self._source)

    def search(self, query: str, limit: int = 5) -> list[Track]:
        """Up to ``limit`` requestable tracks matching ``query`` (see Catalogue.search)."""
        current = self._onair.requestable
        if current != self._source:
            self._source = current
            super().__init__(current)
        return super().search(query, limit)


def request_check(onair: OnAir, history: PlayHistory) -> Callable[[Track, datetime], str | None]:
    """A function saying why a track may not be requested now (its playlist's
    separation rules against the play history), or None when it may."""

    def check(track: Track, now: datetime) -> str | None:
        setup = onair.setup
        for playlist_id, tracks in setup.tracks.items():
            loaded = setup.files.playlists.get(playlist_id)
            if loaded is None or not loaded.model.requestable:
                continue
            if any(t.location == track.location for t in tracks):
                model = loaded.model
                return separation_refusal(
                    track,
                    now,
                    history,
                    artist=model.separation_for("artist"),
                    title=model.separation_for("title"),
                )
        return None

    return check
