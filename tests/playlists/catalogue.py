"""Tracks and playlist models for the rotation tests: no media, only what rotation reads."""

from __future__ import annotations

from radio.audio.track import Track
from radio.playlists.model import PlaylistModel


def make_tracks(prefix: str, count: int, artists: int, seconds: float = 180.0) -> list[Track]:
    """``count`` tracks of ``seconds`` each, their artists cycling through ``artists`` names."""
    return [
        Track(
            location=f"/music/{prefix}{i}.flac",
            title=f"{prefix} title {i}",
            artist=f"{prefix} artist {i % artists}",
            duration=seconds,
        )
        for i in range(count)
    ]


def make_model(**fields: object) -> PlaylistModel:
    """A valid playlist with one placeholder source and ``fields`` over the defaults."""
    return PlaylistModel.model_validate({"sources": ["x"], **fields})
