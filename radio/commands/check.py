"""``radio check [--station DIR]``: validate a station's files; exit 1 on errors (for CI and hooks).

Besides the grid (schedules, playlists, media), the station file's ``discord:``
section is checked when present, with the same model ``radio run`` loads it
with, so that a station that passes ``check`` also starts under ``run``. It is
pure pydantic: checking does not import discord.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from radio.bot.config import DiscordConfig
from radio.commands.station_arg import add_station, station_dir
from radio.config.diagnostics import Diagnostic
from radio.config.schema import validate
from radio.config.yamlfile import YamlDoc
from radio.errors import UsageError
from radio.grid.check import CheckResult, check_station

MAX_DAYS = 3660  # ten years: the grid's expansion stays bounded


def register(subparsers: Any) -> None:
    """Add the ``check`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="validate station.yaml, schedules/ and playlists/ (exit 1 on errors)",
        description="Report every problem of a station's files as path:line:col CODE message.",
    )
    add_station(parser, legacy_positional=True)
    parser.add_argument("--no-media", action="store_true", help="do not probe media files")
    parser.add_argument("--days", type=int, default=366, help="how far ahead to check the grid")
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


class _DiscordSection(BaseModel):
    """The station file seen only for its ``discord:`` section, as ``radio run`` reads it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    discord: DiscordConfig | None = None


def check_discord(doc: YamlDoc | None) -> list[Diagnostic]:
    """Every problem of the station file's ``discord:`` section, at its place (none
    when the section is absent or the file could not be read: that is reported)."""
    if doc is None or not isinstance(doc.data, dict) or doc.data.get("discord") is None:
        return []
    _, problems = validate(doc, _DiscordSection)
    return problems


def with_discord(result: CheckResult) -> list[Diagnostic]:
    """The check's diagnostics and the ``discord:`` section's, each place and code once."""
    found = list(result.diagnostics)
    seen = {(d.path, d.line, d.col, d.code) for d in found}
    for problem in check_discord(result.files.station_doc):
        if (problem.path, problem.line, problem.col, problem.code) not in seen:
            found.append(problem)
    return sorted(found)


def run(args: argparse.Namespace) -> int:
    """Print every diagnostic; return 1 when there are errors (or warnings with --strict)."""
    directory = station_dir(args, "check")
    if not 1 <= args.days <= MAX_DAYS:
        raise UsageError(f"--days {args.days}: give 1 to {MAX_DAYS}")
    result = check_station(
        directory,
        datetime.now(UTC),
        horizon=timedelta(days=args.days),
        media=not args.no_media,
    )
    diagnostics = with_discord(result)
    for diagnostic in diagnostics:
        print(show(diagnostic))
    doc = result.files.station_doc
    if doc is not None and isinstance(doc.data, dict) and doc.data.get("discord") is None:
        print(
            f"{directory}: no discord: section: radio run needs one (radio demo does not)",
            file=sys.stderr,
        )
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    playlists = len(result.files.playlists)
    shows = len(result.files.shows)
    tracks = sum(len(t) for t in result.tracks.values())
    print(
        f"{directory}: {shows} shows, {playlists} playlists, {tracks} tracks: "
        f"{errors} error(s), {warnings} warning(s)",
        file=sys.stderr,
    )
    return 1 if errors or (args.strict and warnings) else 0
