"""Deployment settings and secrets, from the environment or a ``.env`` file.

What lives here is what differs between one installation and another and must
never be committed: the bot token, where the data folder is, how loud the log
is, and which station file to read. Everything about the programme itself
lives in the repository's YAML files.

=====================  ==========================================  ===============
variable               meaning                                     default
=====================  ==========================================  ===============
``DISCORD_TOKEN``      the bot's token (Developer Portal → Bot)    required
``RADIO_DATA_DIR``     SQLite database, recordings, caches         station ``data:``
``RADIO_LOG_LEVEL``    DEBUG, INFO, WARNING, ERROR or CRITICAL     ``INFO``
``RADIO_STATION_FILE`` the station file (guilds, rooms, roles)     ``station.yaml``
=====================  ==========================================  ===============

Each extra voice of station.yaml's ``discord.voices`` (another bot account,
docs/big-station.md) names the variable holding its token (``token_env``);
like the Icecast passwords below, it is read with :func:`secret_from_env` when
that voice starts. ``DISCORD_TOKEN`` stays the first voice's: the bot that
answers commands.

Each Icecast mount in station.yaml names the variable holding its source
password (``password_env``: ``RADIO_ICECAST_PASSWORD`` unless told otherwise);
:func:`secret_from_env` reads it, from the environment or ``.env`` as above.

The environment wins over ``.env``. Without ``RADIO_DATA_DIR``, the data folder
is the station file's ``data:`` key, relative to the station file's folder
(``data`` when the key is absent). :func:`load_settings` turns every problem
into one :class:`~radio.errors.ConfigError` that names each bad variable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from radio.config.yamlfile import load
from radio.errors import ConfigError

logger = logging.getLogger(__name__)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# What to tell a person whose variable is missing: where the value comes from.
_HINTS: dict[str, str] = {
    "DISCORD_TOKEN": "the bot token from the Discord Developer Portal (Applications → Bot → "
    "Reset Token); see docs/discord.md",
    "RADIO_DATA_DIR": "a folder the station may write to",
    "RADIO_LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    "RADIO_STATION_FILE": "the path of the station file (guilds, rooms, role IDs)",
}


class Settings(BaseSettings):
    """The validated deployment settings. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        frozen=True,
    )

    discord_token: SecretStr = Field(validation_alias="DISCORD_TOKEN")
    # None: the station file's data: key (see station_data_dir); read data_dir.
    data_dir_variable: Path | None = Field(default=None, validation_alias="RADIO_DATA_DIR")
    log_level: LogLevel = Field(default="INFO", validation_alias="RADIO_LOG_LEVEL")
    station_file: Path = Field(default=Path("station.yaml"), validation_alias="RADIO_STATION_FILE")
    # The sender thread asks for real-time scheduling (SCHED_FIFO) unless this is false.
    realtime_sender: bool = Field(default=True, validation_alias="RADIO_REALTIME_SENDER")

    @field_validator("discord_token", mode="before")
    @classmethod
    def _token_shape(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(text, str):
            return value
        text = text.strip()
        if not text:
            raise ValueError("is empty")
        if text.lower().startswith("bot "):
            # A common paste from HTTP examples; discord.py adds the prefix itself.
            raise ValueError("paste the token alone, without the 'Bot ' prefix")
        if any(ch.isspace() for ch in text):
            raise ValueError("contains whitespace; a Discord token is one word")
        return text

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    _data_dir: Path = PrivateAttr(default=Path("data"))

    @field_validator("data_dir_variable")
    @classmethod
    def _data_dir_usable(cls, value: Path | None) -> Path | None:
        if value is not None and value.exists() and not value.is_dir():
            raise ValueError(f"{value} exists and is not a folder")
        return value

    @field_validator("station_file")
    @classmethod
    def _station_file_exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _resolve_data_dir(self) -> Settings:
        self._data_dir = (
            self.data_dir_variable
            if self.data_dir_variable is not None
            else station_data_dir(self.station_file)
        )
        return self

    @property
    def data_dir(self) -> Path:
        """The data folder: ``RADIO_DATA_DIR`` when set, else the station file's ``data:``."""
        return self._data_dir

    @property
    def database_path(self) -> Path:
        """The station's SQLite file inside the data folder."""
        return self.data_dir / "radio.sqlite3"


def station_data_dir(station_file: Path) -> Path:
    """The data folder the station file names (its ``data:`` key, relative to its
    folder; ``data`` when absent or not a string: ``radio check`` reports that).

    Never raises: an unreadable file gives the default (the station's own checks
    report it).
    """
    doc, _ = load(station_file)
    raw = doc.data if doc is not None else None
    name = raw.get("data") if isinstance(raw, dict) else None
    return station_file.parent / (name if isinstance(name, str) and name else "data")


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read the settings from the environment, then ``env_file`` (if it exists).

    Returns the validated :class:`Settings`. Raises :class:`ConfigError` with one
    message that names every missing or invalid variable and what it expects.
    The token never appears in the message.
    """
    try:
        # _env_file is pydantic-settings' documented per-call override.
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(_describe(exc, env_file)) from None


def secret_from_env(name: str, env_file: Path | None = Path(".env")) -> SecretStr:
    """The secret in the variable ``name``: the environment first, then ``env_file``.

    For secrets station.yaml names rather than holds (an Icecast mount's
    ``password_env``). Raises :class:`ConfigError` naming the variable (never
    its value) when it is missing or empty.
    """
    value = os.environ.get(name)
    if value is None and env_file is not None and env_file.is_file():
        value = dotenv_values(env_file).get(name)
    if value is None or not value.strip():
        where = f"the environment or {env_file}" if env_file is not None else "the environment"
        raise ConfigError(f"{name}: missing or empty (read from {where}); set it to the secret")
    return SecretStr(value.strip())


def _describe(exc: ValidationError, env_file: Path | None) -> str:
    where = f"the environment or {env_file}" if env_file is not None else "the environment"
    lines = [f"invalid settings (read from {where}):"]
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "?"
        if error["type"] == "missing":
            lines.append(f"  {name}: missing; set it to {_HINTS.get(name, 'a value')}")
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        if name == "DISCORD_TOKEN":
            lines.append(f"  {name}: {message}")
        else:
            lines.append(f"  {name}: {message} (got {error.get('input')!r})")
    return "\n".join(lines)
