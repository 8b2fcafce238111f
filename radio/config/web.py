"""The ``web:`` section of ``station.yaml``: where the station's HTTP face listens."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WebModel(BaseModel):
    """The public page, now-playing JSON, ``/metrics`` and ``/healthz`` (``web:``).

    ``listen``/``port`` is the address served (the default only takes connections
    from this machine: put a reverse proxy in front, or listen on ``0.0.0.0`` in a
    container, see docs/web.md). ``public_stream_url`` is what the page's player
    plays and the JSON's ``listen_url`` (the station's Icecast mount, as listeners
    reach it); without it the page says there is no web stream. ``shortcode`` names
    the station in ``/api/nowplaying/<shortcode>`` (default: from its name).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    listen: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    port: int = Field(default=8080, ge=1, le=65535)
    public_stream_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    shortcode: str | None = Field(default=None, pattern=r"^[a-z0-9_-]{1,64}$")
