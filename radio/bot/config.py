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

Several bot accounts ("voices") for one station, when one room per server is
not enough (a stage holds at most 10,000 listeners: docs/big-station.md)::

    discord:
      guilds:
        - id: 222222222222222222
          broadcast: 333333333333333333   # the first voice's room (unless a voice lists it)
          announcements: 444444444444444444
      voices:
        - name: main                      # the first: DISCORD_TOKEN's bot; answers commands
        - name: stage-2
          token_env: RADIO_VOICE_2_TOKEN  # the variable holding this bot's token
          rooms:
            - {guild: 222222222222222222, room: 121212121212121212}

Without ``voices`` the station has one voice, DISCORD_TOKEN's bot, in each
guild's ``broadcast`` room. With it, the first voice is still the bot that
answers commands and posts announcements (its ``token_env`` defaults to
``DISCORD_TOKEN``); a guild's ``broadcast`` room is that voice's unless another
voice lists it; every other voice only broadcasts in the rooms it lists, at
most one per guild (Discord's rule: one voice connection per bot per server).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from radio.config.schema import validate
from radio.config.yamlfile import load
from radio.errors import ConfigError

Snowflake = Annotated[int, Field(gt=0)]
# The name of an environment variable (what a shell accepts in ``export NAME=...``).
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]

PRIMARY_TOKEN_ENV = "DISCORD_TOKEN"
MAX_VOICES = 25  # bounded work; far more than Discord's limits make useful (docs/big-station.md)


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


class VoiceRoom(BaseModel):
    """One room a voice broadcasts in: the guild it belongs to and the room."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    guild: Snowflake
    room: Snowflake


class VoiceConfig(BaseModel):
    """One bot account of the station, as written: its name, token variable and rooms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", max_length=32)
    token_env: EnvName | None = None  # None: DISCORD_TOKEN for the first voice
    rooms: list[VoiceRoom] = Field(default_factory=list, max_length=100)


@dataclass(frozen=True, slots=True)
class Voice:
    """One voice as the station runs it (see :meth:`DiscordConfig.voice_plan`).

    ``rooms`` maps each guild it broadcasts in to its room there (one per guild).
    ``primary`` is the first voice: the bot that answers commands and announces.
    """

    name: str
    token_env: str
    rooms: Mapping[int, int]
    primary: bool

    def describe(self) -> str:
        """``name (TOKEN_ENV)``, for messages and listings."""
        return f"{self.name} ({self.token_env})"


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
    voices: list[VoiceConfig] = Field(default_factory=list, max_length=MAX_VOICES)

    @model_validator(mode="after")
    def _unique_guilds(self) -> DiscordConfig:
        ids = [guild.id for guild in self.guilds]
        duplicates = sorted({gid for gid in ids if ids.count(gid) > 1})
        if duplicates:
            raise ValueError(f"guild listed twice: {', '.join(map(str, duplicates))}")
        self._plan = _plan_voices(self.guilds, self.voices)
        return self

    _plan: tuple[Voice, ...] = PrivateAttr(default=())

    def voice_plan(self) -> tuple[Voice, ...]:
        """Every voice of the station, the first (the primary) first, with its rooms.

        Without ``voices``: one voice, ``DISCORD_TOKEN``'s, in every guild's
        broadcast room.
        """
        return self._plan

    def guild(self, guild_id: int) -> GuildConfig | None:
        """The configuration of ``guild_id``, or None when the station is not there."""
        return next((guild for guild in self.guilds if guild.id == guild_id), None)


def _plan_voices(guilds: list[GuildConfig], voices: list[VoiceConfig]) -> tuple[Voice, ...]:
    """The voices with their rooms; raises ValueError naming the first rule broken."""
    written = voices or [VoiceConfig()]
    listed = {guild.id for guild in guilds}
    broadcast_guild = {guild.broadcast: guild.id for guild in guilds}
    owner: dict[int, str] = {}  # room -> the voice that lists it
    names: set[str] = set()
    variables: set[str] = set()
    planned: list[tuple[str, str, dict[int, int]]] = []
    for number, voice in enumerate(written, start=1):
        name = voice.name or ("main" if number == 1 else f"voice {number}")
        token_env = voice.token_env or (PRIMARY_TOKEN_ENV if number == 1 else "")
        if not token_env:
            raise ValueError(f"voice {name!r}: token_env is required (the variable of its token)")
        if name in names:
            raise ValueError(f"two voices are named {name!r}")
        if token_env in variables:
            raise ValueError(f"two voices read their token from {token_env}")
        names.add(name)
        variables.add(token_env)
        rooms: dict[int, int] = {}
        for entry in voice.rooms:
            if entry.guild not in listed:
                raise ValueError(f"voice {name!r}: guild {entry.guild} is not in guilds")
            if broadcast_guild.get(entry.room, entry.guild) != entry.guild:
                raise ValueError(
                    f"voice {name!r}: room {entry.room} is the broadcast room of guild"
                    f" {broadcast_guild[entry.room]}, not of guild {entry.guild}"
                )
            if entry.guild in rooms:
                raise ValueError(
                    f"voice {name!r}: two rooms in guild {entry.guild}; a bot can be in"
                    " one voice room per server (give the other room another voice)"
                )
            if entry.room in owner:
                raise ValueError(
                    f"room {entry.room} is listed by {owner[entry.room]!r} and {name!r}"
                )
            owner[entry.room] = name
            rooms[entry.guild] = entry.room
        if number > 1 and not rooms:
            raise ValueError(f"voice {name!r} lists no rooms")
        planned.append((name, token_env, rooms))
    # A guild's broadcast room is the first voice's, unless another voice lists it.
    first = planned[0][2]
    for guild in guilds:
        if guild.broadcast in owner:
            continue
        if guild.id in first:
            raise ValueError(
                f"voice {planned[0][0]!r}: two rooms in guild {guild.id} (its broadcast room"
                f" {guild.broadcast} and {first[guild.id]}); a bot can be in one voice room per"
                " server: give the broadcast room to another voice"
            )
        first[guild.id] = guild.broadcast
    return tuple(
        Voice(name, token_env, MappingProxyType(rooms), primary=number == 0)
        for number, (name, token_env, rooms) in enumerate(planned)
    )


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
