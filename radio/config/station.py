"""The schema of ``station.yaml``: the station's time zone, folders and fallback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork

from radio.config.outputs import OutputsModel
from radio.config.web import WebModel
from radio.grid.crossfade import CrossfadeModel
from radio.grid.timeparse import Duration, Hours, TimeZoneName


class RecordingsModel(BaseModel):
    """Where live sessions are kept and for how long (``live.recordings``).

    ``folder`` is relative to the data folder; ``keep_days`` and ``max_gb`` bound
    what is kept (the oldest go first, pruned daily); None keeps everything.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    folder: str = "recordings"
    keep_days: int | None = Field(default=30, ge=1, le=36500)
    max_gb: float | None = Field(default=20.0, gt=0, le=1_000_000)


class LiveModel(BaseModel):
    """The live branch (``live:`` in station.yaml): the presenters' mount and its rules.

    ``listen``/``port`` is where encoders connect (the default address only takes
    connections from this machine: put a reverse proxy or an explicit address in
    front for presenters elsewhere, see docs/live.md); ``public`` is how presenters
    reach it, as shown to them (``host:port``, default ``listen:port``). Times in
    seconds: ``fade`` the programme's fade under the live source, ``grace`` the
    silence kept on air before the programme comes back, ``blank_limit`` how long
    audio below ``blank_dbfs`` may last on air; ``early`` how long before their
    show presenters may connect; ``duck`` how far the music is lowered (dB, -30
    to 0) while a presenter speaks on the stage (a show's ``live.duck`` wins).
    ``trusted_proxies`` are the addresses or networks of reverse proxies in front
    of the mount whose PROXY protocol line or X-Forwarded-For names the encoder's
    real address (radio.live.proxied); nobody else's is believed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    listen: str = "127.0.0.1"
    port: int = Field(default=8005, ge=1, le=65535)
    mount: str = Field(default="/live", pattern=r"^/[A-Za-z0-9._-]{1,64}$")
    public: str | None = Field(default=None, max_length=200)
    fade: float = Field(default=1.0, ge=0, le=10)
    grace: float = Field(default=5.0, ge=0, le=120)
    blank_limit: float = Field(default=20.0, ge=1, le=3600)
    blank_dbfs: float = Field(default=-40.0, ge=-90, le=0)
    early: Duration = timedelta(minutes=10)
    recordings: RecordingsModel = Field(default_factory=RecordingsModel)
    duck: float = Field(default=-15.0, ge=-30, le=0)  # talk-over depth on the stage (dB)
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list, max_length=64)


class StationModel(BaseModel):
    """The station file. Folders are relative to the file's directory.

    ``media_roots`` are further folders (absolute, or relative to the station
    folder) that playlists may take media from, besides ``media``: a source or
    symlink that resolves outside all of them is refused (E305).

    ``fallback`` is the playlist that plays whenever no show covers the time (and
    whenever a show's own rotation cannot play); ``station_id`` is a playlist of
    station identifications played at the first track change after each top of
    the hour (a show may override it, or switch it off with ``station_id: false``).
    ``blank_limit`` is how many seconds a track may stay blank (below -40 dBFS RMS)
    before it is skipped and the programmers are told (docs/engine.md).
    ``fallback_hours`` (``"HH:MM-HH:MM"`` wall-clock windows, every day) are the
    hours the fallback is the programme on purpose (e.g. overnight): a gap in the
    grid inside them is expected, only gaps outside them are W401.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = "radio"
    timezone: TimeZoneName
    schedules: str = "schedules"
    playlists: str = "playlists"
    media: str = "media"
    media_roots: list[str] = Field(default_factory=list, max_length=64)
    data: str = "data"
    fallback: str
    fallback_hours: list[Hours] = Field(default_factory=list, max_length=24)
    station_id: str | None = None
    crossfade: CrossfadeModel | None = None  # shows and playlists may override it
    blank_limit: float = Field(default=20.0, ge=1, le=3600)
    live: LiveModel = Field(default_factory=LiveModel)
    outputs: OutputsModel = Field(default_factory=OutputsModel)  # Icecast mounts: docs/outputs.md
    web: WebModel = Field(default_factory=WebModel)  # the HTTP face: docs/web.md
    # Guilds, rooms and role IDs for ``radio run``: validated by
    # radio.bot.config.load_discord_config (the grid does not read it).
    discord: dict[str, Any] | None = None
