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

Several bot accounts ("voices", as a station's: docs/big-station.md), when
one room per server is not enough: ``discord.voices`` as in a station file::

    discord:
      guilds:
        - {id: 222222222222222222, broadcast: 333333333333333333}   # stage 1: the first voice
      voices:
        - name: relay-1                   # its token: relay.token_env (DISCORD_TOKEN)
        - name: relay-2
          token_env: RELAY_2_TOKEN
          rooms: [{guild: 222222222222222222, room: 121212121212121212}]   # stage 2

The first voice's token is in the variable its ``token_env`` names, else in
``relay.token_env`` (naming both is refused); every other voice names its own.
The rules of :meth:`~radio.bot.config.DiscordConfig.voice_plan` hold (one
room per voice per server, a room belongs to one voice); :meth:`RelayFile.voice_plan`
gives the relay's voices. Without ``voices`` the relay has one voice,
``relay.token_env``'s bot, in every guild's broadcast room, as it always had.

The tokens are never in the file (it is in git): only the names of the
variables that hold them, read from the environment or ``.env`` (radio/settings.py).
:func:`load_relay_config` reports every problem as ``path:line:col CODE
message``, like every other file of the project.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from radio.bot.config import DiscordConfig, Voice
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
    # The first voice's token variable, unless that voice names its own.
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


def relay_voices(relay: RelaySource, discord: DiscordConfig) -> tuple[Voice, ...]:
    """The relay's voices: the ``discord:`` section's, the first reading ``relay.token_env``
    unless it names its own variable.

    Raises ValueError when ``relay.token_env`` is written and the first voice
    names a token variable too, or when another voice reads the same variable.
    """
    plan = discord.voice_plan()
    if discord.voices and discord.voices[0].token_env is not None:
        if "token_env" in relay.model_fields_set:
            raise ValueError(
                "relay.token_env and the first voice's token_env both name the first voice's"
                " token: keep one"
            )
        return plan
    first, *others = plan
    for voice in others:
        if voice.token_env == relay.token_env:
            raise ValueError(
                f"two voices read their token from {relay.token_env} (relay.token_env is"
                f" the first voice's, {first.name!r}; give {voice.name!r} another variable)"
            )
    return (dataclasses.replace(first, token_env=relay.token_env), *others)


class RelayFile(BaseModel):
    """The whole relay file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    relay: RelaySource
    discord: DiscordConfig

    _voices: tuple[Voice, ...] = PrivateAttr(default=())

    @field_validator("discord")
    @classmethod
    def _voices_tokens(cls, discord: DiscordConfig, info: ValidationInfo) -> DiscordConfig:
        # Reported at discord:, where the station's voice rules are reported too.
        relay = info.data.get("relay")
        if isinstance(relay, RelaySource):
            relay_voices(relay, discord)
        return discord

    @model_validator(mode="after")
    def _plan(self) -> RelayFile:
        self._voices = relay_voices(self.relay, self.discord)
        return self

    def voice_plan(self) -> tuple[Voice, ...]:
        """Every voice of the relay node, the first first, with its token variable and rooms."""
        return self._voices


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
