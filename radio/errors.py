"""The one exception tree of radio.

::

    RadioError
    ├── ConfigError        settings, schedule or playlist files are wrong
    │   └── UsageError     the command line itself is wrong (exit 2, as argparse)
    ├── SourceError        a file or stream cannot be decoded or played
    │   └── DecoderError   an FFmpeg process failed to start or died
    ├── ScheduleError      the grid cannot be expanded or run
    ├── StoreError         the SQLite store cannot be opened or written
    ├── OutputError        a recording or other output cannot be written
    ├── VoiceError         a Discord voice connection failed or was refused
    ├── PreflightError     FFmpeg, libopus or davey is missing or broken at start-up
    ├── RequestRefused     a listener's request was refused (quota, duplicate, cooldown)
    └── LiveRefused        a presenter's connection or live command was refused (status, reason)

Low-level failures (OSError, subprocess errors, sqlite3 errors) are caught at the
module that knows what they mean and re-raised as one of these with ``from``.
"""

from __future__ import annotations


class RadioError(Exception):
    """Base of every error radio raises on purpose."""


class ConfigError(RadioError):
    """Settings, schedule or playlist files are invalid."""


class UsageError(ConfigError):
    """The command line is wrong (a folder that does not exist, two conflicting
    arguments): the CLI exits 2, as argparse does for its own usage errors."""


class SourceError(RadioError):
    """A file or stream cannot be opened, decoded or played."""


class DecoderError(SourceError):
    """An FFmpeg process failed to start, or exited with an error."""


class ScheduleError(RadioError):
    """The programme grid cannot be expanded or run."""


class StoreError(RadioError):
    """The SQLite store cannot be opened, migrated or written."""


class OutputError(RadioError):
    """An output after the encode (a recording, a mount) cannot be opened or written."""


class VoiceError(RadioError):
    """A Discord voice connection failed or was refused."""


class PreflightError(RadioError):
    """A native part the station needs (FFmpeg, libopus, davey) is missing or broken."""


class RequestRefused(RadioError):
    """A request was refused; the message is the reason, fit to show the requester."""


class LiveRefused(RadioError):
    """A presenter's encoder connection, relay or live command was refused.

    ``status`` is the HTTP status an Icecast server answers for the same refusal
    (401 wrong credentials, 403 not allowed now / mount in use / bad content type,
    404 unknown mount); the message is the reason, fit to show the presenter.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
