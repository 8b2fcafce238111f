"""``radio check [DIR]``: validate a station's files; exit 1 on errors (for CI and hooks)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from radio.config.diagnostics import Diagnostic
from radio.grid.check import check_station


def register(subparsers: Any) -> None:
    """Add the ``check`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="validate station.yaml, schedules/ and playlists/ (exit 1 on errors)",
        description="Report every problem of a station's files as path:line:col CODE message.",
    )
    parser.add_argument("dir", nargs="?", type=Path, default=Path("."), help="station folder")
    parser.add_argument("--no-media", action="store_true", help="do not probe media files")
    parser.add_argument(
        "--days", type=int, default=366, help="how far ahead to check the grid (default 366)"
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.set_defaults(func=run)


def relative(path: str) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def show(diagnostic: Diagnostic) -> str:
    """The diagnostic as printed: ``path:line:col CODE message``, path made relative."""
    d = diagnostic
    return f"{relative(d.path)}:{d.line}:{d.col} {d.code} {d.message}"


def run(args: argparse.Namespace) -> int:
    """Print every diagnostic; return 1 when there are errors (or warnings with --strict)."""
    result = check_station(
        args.dir,
        datetime.now(UTC),
        horizon=timedelta(days=args.days),
        media=not args.no_media,
    )
    for diagnostic in result.diagnostics:
        print(show(diagnostic))
    errors, warnings = len(result.errors), len(result.warnings)
    playlists = len(result.files.playlists)
    shows = len(result.files.shows)
    tracks = sum(len(t) for t in result.tracks.values())
    print(
        f"{args.dir}: {shows} shows, {playlists} playlists, {tracks} tracks: "
        f"{errors} error(s), {warnings} warning(s)",
        file=sys.stderr,
    )
    return 1 if errors or (args.strict and warnings) else 0
