"""The relay file: which mount a relay node reads and where it broadcasts.

A relay node runs on its own machine with its own bot account(s), so it has
its own small file rather than a station's (no grid, no playlists)::

    relay:
      source: http://icecast.example.org:8000/radio.opus  # the station's Ogg/Opus mount
      titles: stream            # each chain's TITLE/ARTIST; or the station's JSON:
                                # http://station.example.org:8080/api/nowplaying/radio
      buffer_ms: 300            # the jitter buffer: more survives a worse network, adds delay
      name: My radio            # the station's name in the now-playing posts
      token_env: DISCORD_TOKEN  # the variable holding the relay bot's token
    discord:                    # the same shape as a station file's discord: section
      guilds:
        - id: 222222222222222222
          broadcast: 333333333333333333   # the relay's stage or voice room in that guild
          admins: 444444444444444444      # told when the bot cannot broadcast

The token is never in the file (it is in git): only the name of the variable
that holds it, read from the environment or ``.env`` (radio/settings.py).
:func:`load_relay_config` reports every problem as ``path:line:col CODE
message``, like every other file of the project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from radio.bot.config import DiscordConfig
from radio.config.schema import validate
from radio.config.yamlfile import load
from radio.errors import ConfigError

FRAME_MS: Final = 20


def _http_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"must start with http:// or https:// ({what})")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold a user or password")
    if not parts.hostname:
        raise ValueError("has no host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError("has an invalid port") from None
    if parts.fragment:
        raise ValueError("must not have a #fragment")
    return value


class RelaySource(BaseModel):
    """The ``relay:`` section: the mount, the titles, the buffer, the token's variable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    source: str = Field(max_length=500)
    titles: str = Field(default="stream", max_length=500)
    buffer_ms: int = Field(default=300, ge=60, le=5000)
    name: str = Field(default="radio", min_length=1, max_length=100)
    token_env: str = Field(default="DISCORD_TOKEN", pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        _http_url(value, "the mount's address, as a listener opens it")
        if urlsplit(value).path in ("", "/"):
            raise ValueError("names no mount (http://host:port/mount)")
        return value

    @field_validator("titles")
    @classmethod
    def _titles(cls, value: str) -> str:
        if value == "stream":
            return value
        return _http_url(value, "or 'stream'")

    @property
    def titles_url(self) -> str | None:
        """The now-playing JSON's address, or None when the titles come from the stream."""
        return None if self.titles == "stream" else self.titles

    @property
    def buffer_frames(self) -> int:
        """The jitter buffer's target depth in 20 ms frames (rounded up)."""
        return -(-self.buffer_ms // FRAME_MS)


class RelayFile(BaseModel):
    """The whole relay file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    relay: RelaySource
    discord: DiscordConfig


def load_relay_config(path: Path) -> RelayFile:
    """Read and check the relay file at ``path``.

    Raises ConfigError listing every problem as ``path:line:col CODE message``.
    """
    doc, problems = load(path)
    if doc is not None:
        model, problems = validate(doc, RelayFile)
        if model is not None:
            return model
    raise ConfigError(
        f"{path}: the relay file is invalid:\n" + "\n".join(f"  {p}" for p in problems)
    )
