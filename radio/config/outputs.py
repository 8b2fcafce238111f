"""The schema of station.yaml's ``outputs:`` section: where the station publishes besides Discord.

::

    outputs:
      icecast:
        - url: http://127.0.0.1:8000/radio.opus   # the Icecast server and its mount
          password_env: RADIO_ICECAST_PASSWORD    # the variable holding the source password
          name: My radio                          # ice-name: what directories and players show
          description: Music all day              # ice-description
          format: ogg-opus                        # the station's own Opus packets, not re-encoded

The password never lives in the YAML (it is in git): only the name of the
environment variable that holds it (see radio/settings.py and docs/outputs.md).
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_ICECAST_OUTPUTS = 8  # each one is a socket and a thread; more is a relay's job
MOUNT_PATTERN = r"^/[A-Za-z0-9._-]{1,64}$"


class IcecastOutputModel(BaseModel):
    """One Icecast mount the station publishes to as a source client.

    ``url`` is ``http://host:port/mount`` (no user, password, query or fragment:
    the source user is ``source`` and its password comes from the environment
    variable named by ``password_env``). ``format`` is ``ogg-opus``: the
    station's 20 ms Opus packets in Ogg, not re-encoded.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    url: str = Field(max_length=300)
    password_env: str = Field(default="RADIO_ICECAST_PASSWORD", pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=500)
    format: Literal["ogg-opus"] = "ogg-opus"

    @field_validator("url")
    @classmethod
    def _http_mount(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "http":
            raise ValueError("must start with http:// (Icecast's source port speaks plain HTTP)")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not hold a user or password: name the variable in password_env")
        if not parts.hostname:
            raise ValueError("has no host")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("has an invalid port") from None
        if port == 0:
            raise ValueError("has an invalid port")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        if not re.fullmatch(MOUNT_PATTERN, parts.path):
            raise ValueError("must end with a mount such as /radio.opus (letters, digits, . _ -)")
        return value

    @field_validator("name", "description")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError("must be one line of printable text (it is sent as an HTTP header)")
        return value


class OutputsModel(BaseModel):
    """The ``outputs:`` section: the Icecast mounts (none by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    icecast: list[IcecastOutputModel] = Field(default_factory=list, max_length=MAX_ICECAST_OUTPUTS)

    @model_validator(mode="after")
    def _distinct_mounts(self) -> OutputsModel:
        seen: set[str] = set()
        for output in self.icecast:
            parts = urlsplit(output.url)
            key = f"{parts.hostname}:{parts.port or 80}{parts.path}"
            if key in seen:
                raise ValueError(f"the mount {output.url} is listed twice")
            seen.add(key)
        return self


__all__ = ["IcecastOutputModel", "OutputsModel"]
