"""The ``discord:`` section of the station file: guilds, rooms and role IDs.

Pure pydantic (no discord import), validated with unknown keys forbidden like
every other station file, so that the config loader can report its errors as
``path:line:col``. IDs are Discord snowflakes (positive integers)::

    discord:
      owners: [111111111111111111]        # user IDs; default: the application's owner
      prefix: "!"
      message_content: false              # true: "!np" works without mentioning the bot
      now_playing: edit                   # post a new embed per track, edit one, or off
      guilds:
        - id: 222222222222222222
          broadcast: 333333333333333333   # the voice or stage room (one per guild)
          announcements: 444444444444444444
          programmers: 555555555555555555
          admins: 666666666666666666      # default: the programmers' room
          roles:
            listener: []                  # empty: everyone may use listener commands
            presenter: [777777777777777777]
            dj: [888888888888888888]
            programmer: [999999999999999999]
            admin: [101010101010101010]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from radio.config.schema import validate
from radio.config.yamlfile import load
from radio.errors import ConfigError

Snowflake = Annotated[int, Field(gt=0)]


class RolesConfig(BaseModel):
    """Role IDs granting each level in one guild (any one of the listed roles suffices)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listener: frozenset[Snowflake] = frozenset()
    presenter: frozenset[Snowflake] = frozenset()
    dj: frozenset[Snowflake] = frozenset()
    programmer: frozenset[Snowflake] = frozenset()
    admin: frozenset[Snowflake] = frozenset()
    # Members with Discord's own Administrator permission count as radio admins,
    # so that a fresh installation can be configured before roles exist.
    discord_administrators_are_admins: bool = True


class GuildConfig(BaseModel):
    """One guild the station broadcasts to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Snowflake
    # A bot holds one voice connection per guild: simulcast is across guilds.
    broadcast: Snowflake
    announcements: Snowflake | None = None
    programmers: Snowflake | None = None
    admins: Snowflake | None = None
    roles: RolesConfig = RolesConfig()

    @property
    def admin_room(self) -> int | None:
        """Where problems for admins go: the admins' room, else the programmers'."""
        return self.admins if self.admins is not None else self.programmers


class DiscordConfig(BaseModel):
    """The whole ``discord:`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owners: frozenset[Snowflake] = frozenset()
    prefix: str = Field(default="!", min_length=1, max_length=5)
    # Prefix commands without mentioning the bot need the privileged Message
    # Content intent (switch it on in the Developer Portal first).
    message_content: bool = False
    now_playing: Literal["post", "edit", "off"] = "post"
    guilds: list[GuildConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_guilds(self) -> DiscordConfig:
        ids = [guild.id for guild in self.guilds]
        duplicates = sorted({gid for gid in ids if ids.count(gid) > 1})
        if duplicates:
            raise ValueError(f"guild listed twice: {', '.join(map(str, duplicates))}")
        return self

    def guild(self, guild_id: int) -> GuildConfig | None:
        """The configuration of ``guild_id``, or None when the station is not there."""
        return next((guild for guild in self.guilds if guild.id == guild_id), None)


class _StationDiscord(BaseModel):
    """The station file seen only for its ``discord:`` section (the grid reads the rest)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    discord: DiscordConfig


def load_discord_config(path: Path) -> DiscordConfig:
    """Read the ``discord:`` section of the station file at ``path``.

    Raises ConfigError listing every problem as ``path:line:col CODE message``
    (the same codes as ``radio check``).
    """
    doc, problems = load(path)
    if doc is not None:
        model, problems = validate(doc, _StationDiscord)
        if model is not None:
            return model.discord
    raise ConfigError(
        f"{path}: the discord section is invalid:\n" + "\n".join(f"  {p}" for p in problems)
    )
