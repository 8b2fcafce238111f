"""The programmers' grid commands, rendered: replies of ``grid check`` and ``grid reload``.

Pure functions of a check result, the grids and the instant (passed in). Each
problem is one ``path:line:col CODE message`` line, its path relative to the
station folder (the way programmers name their files); long lists are cut to
one Discord message with ``… and N more``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from discord.utils import escape_markdown

from radio.bot.announcements import MESSAGE_MAX, fenced
from radio.config.diagnostics import Diagnostic
from radio.grid.check import CheckResult
from radio.grid.grid import Grid
from radio.grid.timeline import Slot, on_air
from radio.grid.watch import Reload


def diagnostic_line(diagnostic: Diagnostic, root: Path) -> str:
    """``path:line:col CODE message``, the path relative to ``root`` when it is below it."""
    path = diagnostic.path
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive (Windows)
        relative = path
    if relative.startswith(".."):
        return str(diagnostic)
    return str(replace(diagnostic, path=relative))


def _title(grid: Grid, slot: Slot) -> str:
    occurrence = slot.occurrence
    name = grid.fallback_name if occurrence is None else grid.shows[occurrence.index].name
    return f"**{escape_markdown(name)}**"


def on_air_line(grid: Grid, now: datetime, lead: str = "On air now") -> str:
    """What ``grid`` plays at ``now``, until when (the next boundary) and what comes
    next, in station time, after ``lead``."""
    slot = on_air(grid, now)
    boundary = slot.next_boundary
    after = on_air(grid, boundary)
    until = boundary.astimezone(grid.tz).strftime("%a %H:%M")
    line = f"{lead}: {_title(grid, slot)} until {until} ({grid.tz.key})"
    if after.segment.occurrence == slot.segment.occurrence:
        return line + "."  # nothing changes within the look-ahead
    return line + f", then {_title(grid, after)}."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _problems(
    head: str, problems: Sequence[Diagnostic], root: Path, limit: int = MESSAGE_MAX
) -> str:
    return fenced(head, [diagnostic_line(d, root) for d in problems], limit)


def format_check(result: CheckResult, now: datetime, root: Path) -> str:
    """The reply of ``grid check``: OK with a summary, or every error (then warnings).

    The check never changes what is on air; the reply says so.
    """
    errors, warnings = result.errors, result.warnings
    if not result.ok or result.grid is None:
        head = (
            f"The station's files have {_plural(len(errors), 'error')}"
            f" and {_plural(len(warnings), 'warning')}; nothing was changed on air:"
        )
        return _problems(head, [*errors, *warnings], root)
    tracks = sum(len(t) for t in result.tracks.values())
    summary = (
        f"OK: {_plural(len(result.grid.shows), 'show')},"
        f" {_plural(len(result.files.playlists), 'playlist')},"
        f" {_plural(tracks, 'track')}, {_plural(len(warnings), 'warning')}."
        f" {on_air_line(result.grid, now, 'By these files, now')}"
        "\nNothing was changed on air (`grid reload` applies the files now)."
    )
    if not warnings:
        return summary
    return _problems(summary, warnings, root)


def format_reload(before: Grid, outcome: Reload, now: datetime, root: Path) -> str:
    """The reply of ``grid reload``: what changed on air, or why the last good grid stays."""
    result = outcome.result
    if outcome.busy or result is None:
        return (
            "Still checking the files (a check was already running); the previous grid"
            " stays on air. Ask again in a moment."
        )
    if not outcome.applied or result.grid is None:
        head = (
            f"Not reloaded: the files have {_plural(len(result.errors), 'error')};"
            " the last good grid stays on air:"
        )
        return _problems(head, result.errors, root)
    grid = result.grid
    return (
        f"Reloaded: the new grid is on air ({_plural(len(before.shows), 'show')}"
        f" → {len(grid.shows)}). {on_air_line(grid, now)}"
    )
