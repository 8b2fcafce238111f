"""The schema of ``station.yaml``: the station's time zone, folders and fallback."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from radio.grid.timeparse import TimeZoneName


class StationModel(BaseModel):
    """The station file. Folders are relative to the file's directory.

    ``fallback`` is the playlist that plays whenever no show covers the time (and
    whenever a show's own rotation cannot play); ``station_id`` is a playlist of
    station identifications played at the first track change after each top of
    the hour (a show may override it, or switch it off with ``station_id: false``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "radio"
    timezone: TimeZoneName
    schedules: str = "schedules"
    playlists: str = "playlists"
    media: str = "media"
    data: str = "data"
    fallback: str
    station_id: str | None = None
    # Guilds, rooms and role IDs for ``radio run``: validated by
    # radio.bot.config.load_discord_config (the grid does not read it).
    discord: dict[str, Any] | None = None
