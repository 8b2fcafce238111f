"""``radio grid``: the week as a table, what plays at an instant, or a calendar page."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radio.errors import ConfigError
from radio.grid.check import check_station
from radio.grid.dst import resolve
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
    parser.add_argument("dir", nargs="?", type=Path, default=Path("."), help="station folder")
    parser.add_argument(
        "--at", metavar="TIME", help='what plays then, e.g. "2026-11-24 21:00" (station time)'
    )
    parser.add_argument("--week", metavar="DATE", help="a day of the week to show (default today)")
    parser.add_argument("--html", metavar="FILE", type=Path, help="write a weekly calendar page")
    parser.set_defaults(func=run)


def parse_instant(text: str, grid: Grid) -> datetime:
    """``YYYY-MM-DD HH:MM`` in station time (or with an explicit offset) → aware UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f'bad time {text!r}: write e.g. "2026-11-24 21:00"') from None
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return resolve(value, grid.tz).utc


def _load(directory: Path) -> tuple[Grid, str]:
    result = check_station(directory, datetime.now(UTC), media=False)
    if result.grid is None or result.errors:
        first = result.errors[0] if result.errors else "no station file"
        raise ConfigError(f"the grid has errors (run radio check): {first}")
    name = result.files.station.name if result.files.station else "radio"
    return result.grid, name


def run(args: argparse.Namespace) -> int:
    """Print the table, the answer to --at, or write the --html page."""
    grid, name = _load(args.dir)
    now = datetime.now(UTC)
    if args.at:
        instant = parse_instant(args.at, grid)
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
    day = datetime.fromisoformat(args.week).date() if args.week else now.astimezone(grid.tz).date()
    monday = monday_of(day)
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(calendar_html(grid, monday, title=name), encoding="utf-8")
        print(args.html)
        return 0
    print(f"{name}: week of {monday.isoformat()} ({grid.tz.key})")
    print(table(grid, monday))
    return 0
