"""Diagnostics: one problem found in a configuration file, printed as ``path:line:col CODE msg``.

Codes are stable (programmers grep for them and docs/grid.md lists them):
``E1xx`` syntax and schema, ``E2xx`` references and the grid, ``E3xx`` media,
``W4xx`` warnings (the station still plays, maybe not as intended).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Final


class Severity(enum.Enum):
    """An error stops ``radio check`` (and a reload); a warning does not."""

    ERROR = "error"
    WARNING = "warning"


#: Every code radio emits, with its one-line meaning (docs/grid.md mirrors this table).
CODES: Final[dict[str, str]] = {
    "E001": "the file is not valid YAML",
    "E002": "the file cannot be read",
    "E003": "not a regular file (a FIFO, a device, a socket or a directory)",
    "E004": "the file is too large (256 kB)",
    "E005": "nested too deeply (20 levels)",
    "E006": "aliases expand too far (100,000 nodes) or refer to themselves",
    "E100": "unknown key",
    "E101": "bad time of day (HH:MM, 00:00 to 24:00)",
    "E102": "unknown weekday (mon, tue, wed, thu, fri, sat, sun)",
    "E103": "unknown time zone (must be an IANA name such as Europe/Paris)",
    "E104": "bad RFC 5545 rule (rrule/dtstart)",
    "E105": "bad cron line (five fields, weekday names)",
    "E106": "missing key or wrong type",
    "E107": "a show needs exactly one of days+start+end, rrule+duration or cron+duration",
    "E108": "bad duration (e.g. 90s, 45m, 2h, 1h30m, or HH:MM)",
    "E109": "bad date (YYYY-MM-DD)",
    "E110": "bad value",
    "E111": "a show starts too often (more than 96 times a day)",
    "E201": "duplicate id",
    "E202": "unknown playlist",
    "E203": "two shows overlap at equal priority",
    "E204": "unknown show in an exception",
    "E301": "missing media (a source matches no file)",
    "E302": "unreadable media (FFmpeg cannot read an audio stream)",
    "E303": "empty playlist",
    "E304": "the fallback playlist cannot play (fatal: the station would go silent)",
    "E305": "media outside the media roots (the station's media folder and media_roots)",
    "E306": "a source walks through too many files (100,000 entries)",
    "W401": "gap in the grid: the fallback will play",
    "W402": "a show starts or ends in a daylight-saving gap",
    "W403": "a show starts or ends in a daylight-saving fold",
    "W404": "a show never fires (a cron for 31 February, a rule that ends before it starts)",
    "W405": "a special file (FIFO, device, socket) or unreadable entry skipped in the media",
    "W406": "a playlist's separation rule cannot hold with its own tracks (too few artists/titles)",
}


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One problem at one place. ``line`` and ``col`` are 1-based (0 when unknown)."""

    path: str
    line: int
    col: int
    code: str
    message: str

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W") else Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col} {self.code} {self.message}"


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a file: where a key or value was written."""

    path: str
    line: int
    col: int

    def diagnostic(self, code: str, message: str) -> Diagnostic:
        """Return a diagnostic at this position."""
        if code not in CODES:
            raise ValueError(f"unknown diagnostic code {code}")
        return Diagnostic(self.path, self.line, self.col, code, message)


def file_mark(path: Path | str) -> Mark:
    """A mark for a whole file (line 1, column 1)."""
    return Mark(str(path), 1, 1)


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics that are errors."""
    return [d for d in diagnostics if d.is_error]
