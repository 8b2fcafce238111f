"""``radio grid``: the week as a table, what plays at an instant, or a calendar page."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from radio.commands.station_arg import add_station, station_dir
from radio.errors import ConfigError, UsageError
from radio.grid.check import check_station
from radio.grid.dst import WallIssue, resolve
from radio.grid.grid import Grid
from radio.grid.timeline import on_air
from radio.grid.week import calendar_html, describe_show, monday_of, table


def register(subparsers: Any) -> None:
    """Add the ``grid`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "grid",
        help="print the week's grid, what plays at a time (--at), or a calendar page (--html)",
        description="Show the programme grid in the station's time zone.",
    )
    add_station(parser, legacy_positional=True)
    parser.add_argument(
        "--at", metavar="TIME", help='what plays then, e.g. "2026-11-24 21:00" (station time)'
    )
    parser.add_argument(
        "--week", metavar="DATE", help="a day of the week to show, YYYY-MM-DD (default: today)"
    )
    parser.add_argument(
        "--html",
        metavar="FILE",
        type=Path,
        help="write a weekly calendar page (its folder must exist)",
    )
    parser.set_defaults(func=run)


def parse_instant(text: str, grid: Grid) -> datetime:
    """``YYYY-MM-DD HH:MM`` in station time (or with an explicit offset) → aware UTC.

    A station time that does not exist (the clocks jump over it) is taken as the
    instant of the jump; one that happens twice, as the first. Raises ConfigError.
    """
    return read_instant(text, grid)[0]


def read_instant(text: str, grid: Grid) -> tuple[datetime, str | None]:
    """:func:`parse_instant`, with a sentence for a time in a DST gap or fold
    (what was asked and what it was taken as), else None. Raises ConfigError."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f'bad time {text!r}: write e.g. "2026-11-24 21:00"') from None
    if value.tzinfo is not None:
        return value.astimezone(UTC), None
    resolved = resolve(value, grid.tz)
    taken = resolved.utc.astimezone(grid.tz)
    asked = value.strftime("%Y-%m-%d %H:%M")
    as_taken = f"{taken:%H:%M %Z} ({resolved.utc:%H:%M} UTC)"
    if resolved.issue is WallIssue.GAP:
        return resolved.utc, (
            f"note: {asked} does not exist in {grid.tz.key} (the clocks jump forward"
            f" over it); taken as {as_taken}, when the clocks jump"
        )
    if resolved.issue is WallIssue.FOLD:
        return resolved.utc, (
            f"note: {asked} happens twice in {grid.tz.key} (the clocks go back);"
            f" taken as the first, {as_taken}"
        )
    return resolved.utc, None


def _load(directory: Path) -> tuple[Grid, str]:
    result = check_station(directory, datetime.now(UTC), media=False)
    if result.grid is None or result.errors:
        first = result.errors[0] if result.errors else "no station file"
        raise ConfigError(f"the grid has errors (run radio check): {first}")
    name = result.files.station.name if result.files.station else "radio"
    return result.grid, name


def run(args: argparse.Namespace) -> int:
    """Print the table, the answer to --at, or write the --html page."""
    html: Path | None = args.html
    if html is not None and not html.parent.is_dir():
        # checked first: a typo in the folder is not worth loading the station for
        raise UsageError(f"--html {html}: the folder {html.parent} does not exist")
    grid, name = _load(station_dir(args, "grid"))
    now = datetime.now(UTC)
    if args.at:
        instant, note = read_instant(args.at, grid)
        if note is not None:
            print(note)
        slot = on_air(grid, instant)
        show = grid.shows[slot.occurrence.index] if slot.occurrence else None
        local = instant.astimezone(grid.tz).strftime("%Y-%m-%d %H:%M %Z")
        what = f"{show.id} ({show.name})" if show else f"the fallback ({grid.fallback})"
        print(f"{local}: {what}")
        print(f"  plays: {describe_show(show, grid)}")
        boundary = slot.next_boundary
        following = on_air(grid, boundary)
        nxt = following.occurrence
        nxt_name = grid.shows[nxt.index].id if nxt else f"the fallback ({grid.fallback})"
        print(
            f"  next boundary: {boundary.astimezone(grid.tz).strftime('%Y-%m-%d %H:%M %Z')}"
            f" → {nxt_name}"
        )
        return 0
    day = _week_day(args.week) if args.week else now.astimezone(grid.tz).date()
    monday = monday_of(day)
    if html is not None:
        try:
            html.write_text(calendar_html(grid, monday, title=name), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--html {html}: cannot write it: {exc.strerror or exc}") from None
        print(html)
        return 0
    print(f"{name}: week of {monday.isoformat()} ({grid.tz.key})")
    print(table(grid, monday))
    return 0


def _week_day(text: str) -> date:
    """``--week``'s date. Raises ConfigError with the expected form."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"bad --week {text!r}: write a date, e.g. 2026-11-23") from None
