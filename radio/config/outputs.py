"""The schema of station.yaml's ``outputs:`` section: where the station publishes besides Discord.

::

    outputs:
      icecast:
        - url: http://127.0.0.1:8000/radio.opus   # the Icecast server and its mount
          password_env: RADIO_ICECAST_PASSWORD    # the variable holding the source password
          name: My radio                          # ice-name: what directories and players show
          description: Music all day              # ice-description
          format: ogg-opus                        # the station's own Opus packets, not re-encoded
          mp3:                                    # optional: an MP3 mount for old players
            mount: /radio.mp3                     # on the same server
            bitrate: 128                          # kb/s
            sample_rate: 48000                    # or 44100 (a resample)
            password_env: RADIO_MP3_PASSWORD      # only if it differs from the mount's above

The password never lives in the YAML (it is in git): only the name of the
environment variable that holds it (see radio/settings.py and docs/outputs.md).
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_ICECAST_OUTPUTS = 8  # each one is a socket and a thread; more is a relay's job
MOUNT_PATTERN = r"^/[A-Za-z0-9._-]{1,64}$"
PASSWORD_ENV_PATTERN = r"^[A-Z_][A-Z0-9_]{0,63}$"
# MPEG-1 Layer III bitrates (kb/s), the ones a 44.1 or 48 kHz MP3 can have.
MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


class Mp3MountModel(BaseModel):
    """An MP3 mount beside an Ogg/Opus one: the same server, one more encode (FFmpeg's LAME).

    ``mount`` is the path on the server of the entry it belongs to;
    ``password_env`` defaults to that entry's. ``bitrate`` in kb/s (an MPEG-1
    Layer III bitrate), ``sample_rate`` 48000 (the station's: no resample) or
    44100.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    mount: str = Field(max_length=65)
    bitrate: int = 128
    sample_rate: Literal[48000, 44100] = 48000
    password_env: str | None = Field(default=None, pattern=PASSWORD_ENV_PATTERN)

    @field_validator("mount")
    @classmethod
    def _mount(cls, value: str) -> str:
        if not re.fullmatch(MOUNT_PATTERN, value):
            raise ValueError("must be a mount such as /radio.mp3 (letters, digits, . _ -)")
        return value

    @field_validator("bitrate")
    @classmethod
    def _bitrate(cls, value: int) -> int:
        if value not in MP3_BITRATES:
            raise ValueError(f"must be an MP3 bitrate in kb/s: {', '.join(map(str, MP3_BITRATES))}")
        return value


class IcecastOutputModel(BaseModel):
    """One Icecast mount the station publishes to as a source client.

    ``url`` is ``http://host:port/mount`` (no user, password, query or fragment:
    the source user is ``source`` and its password comes from the environment
    variable named by ``password_env``). ``format`` is ``ogg-opus``: the
    station's 20 ms Opus packets in Ogg, not re-encoded. ``mp3``, when given,
    adds an MP3 mount on the same server (:class:`Mp3MountModel`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    url: str = Field(max_length=300)
    password_env: str = Field(default="RADIO_ICECAST_PASSWORD", pattern=PASSWORD_ENV_PATTERN)
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=500)
    format: Literal["ogg-opus"] = "ogg-opus"
    mp3: Mp3MountModel | None = None

    @model_validator(mode="after")
    def _mp3_apart(self) -> IcecastOutputModel:
        if self.mp3 is not None and self.mp3.mount == urlsplit(self.url).path:
            raise ValueError(f"mp3: the MP3 mount must not be {self.mp3.mount}, the Ogg/Opus mount")
        return self

    @property
    def mp3_url(self) -> str | None:
        """The MP3 mount's URL (the entry's server, the MP3 mount's path), None without one."""
        if self.mp3 is None:
            return None
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, self.mp3.mount, "", ""))

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
            for url in (output.url, output.mp3_url):
                if url is None:
                    continue
                parts = urlsplit(url)
                key = f"{parts.hostname}:{parts.port or 80}{parts.path}"
                if key in seen:
                    raise ValueError(f"the mount {url} is listed twice")
                seen.add(key)
        return self


__all__ = ["IcecastOutputModel", "Mp3MountModel", "OutputsModel"]
