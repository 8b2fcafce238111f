"""The one way every subcommand names the station folder: ``--station DIR``.

``radio check`` and ``radio grid`` used to take the folder as a positional
argument; that form still works, with a note on stderr saying to use
``--station`` (it will go in a later release).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from radio.errors import UsageError

HELP = "the station folder, where station.yaml is"


def add_station(
    parser: argparse.ArgumentParser,
    *,
    legacy_positional: bool = False,
    default: str = "the working directory",
) -> None:
    """Add ``--station DIR`` to ``parser`` (``default`` says what applies without
    it); with ``legacy_positional`` also the old positional DIR, hidden from the help."""
    parser.add_argument(
        "--station",
        "-s",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"{HELP} (default: {default})",
    )
    if legacy_positional:
        parser.add_argument(
            "legacy_dir", nargs="?", type=Path, default=None, help=argparse.SUPPRESS
        )


def station_dir(args: argparse.Namespace, command: str) -> Path:
    """The station folder the command line names (``.`` when none).

    The old positional form is accepted with a deprecation note on stderr. Raises
    UsageError when both forms name different folders.
    """
    station: Path | None = getattr(args, "station", None)
    legacy: Path | None = getattr(args, "legacy_dir", None)
    if legacy is not None:
        if station is not None and station != legacy:
            raise UsageError(
                f"two station folders given ({legacy} and --station {station}): give one"
            )
        print(
            f"radio {command}: note: the station folder as a plain argument is deprecated;"
            f" write: radio {command} --station {legacy}",
            file=sys.stderr,
        )
        return legacy
    return station if station is not None else Path(".")
