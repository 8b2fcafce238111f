"""The schema of ``playlists/*.yaml``: one playlist per file, its id defaults to the file name."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from radio.grid.crossfade import CrossfadeModel
from radio.grid.model import check_id
from radio.grid.timeparse import Duration


class Separation(BaseModel):
    """Minimum time between two plays of the same artist / the same title."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    artist: Duration | None = None
    title: Duration | None = None


class PlaylistModel(BaseModel):
    """One playlist.

    ``sources`` are files, folders (every audio file under them) or glob patterns,
    relative to the station directory. ``order``: ``shuffle`` plays every track once
    in a random order before any repeats, ``random`` picks independently each time,
    ``sequential`` plays the sources in order and loops.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str | None = None
    title: str | None = None
    sources: list[str] = Field(default_factory=list)
    order: Literal["shuffle", "random", "sequential"] = "shuffle"
    weight: float = Field(default=1.0, gt=0, le=1_000_000)
    separation: Separation = Field(default_factory=Separation)
    requestable: bool = False
    crossfade: CrossfadeModel | None = None  # over the show's and the station's

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str | None) -> str | None:
        return None if value is None else check_id(value)

    def separation_for(self, kind: Literal["artist", "title"]) -> timedelta | None:
        """The separation configured for ``kind``, if any."""
        return self.separation.artist if kind == "artist" else self.separation.title
