"""The week as programmers read it: per local day, the blocks of time and what fills them.

Pure: built from the timeline of a grid for the seven local days starting at a
Monday. A block that crosses midnight is cut in two (one piece per day).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from radio.grid.dst import resolve
from radio.grid.grid import Grid
from radio.grid.model import ShowModel
from radio.grid.timeline import boundaries


@dataclass(frozen=True, slots=True)
class Block:
    """A stretch of one local day, ``[start, end)`` in wall time, and its show (None: fallback)."""

    day: date
    start: datetime  # aware, station zone
    end: datetime
    show: ShowModel | None

    @property
    def show_id(self) -> str:
        return self.show.id if self.show else ""

    @property
    def start_minute(self) -> int:
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        """Minutes since local midnight; 1440 when the block runs to the end of the day."""
        if self.end.date() > self.day:
            return 24 * 60
        return self.end.hour * 60 + self.end.minute


def monday_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def week(grid: Grid, monday: date) -> list[Block]:
    """Every block of the seven local days from ``monday``, in order."""
    start = resolve(datetime.combine(monday, time()), grid.tz).utc
    end = resolve(datetime.combine(monday + timedelta(days=7), time()), grid.tz).utc
    blocks: list[Block] = []
    for segment in boundaries(grid, start, end):
        seg_start = max(segment.start, start).astimezone(grid.tz)
        seg_end = min(segment.end, end).astimezone(grid.tz)
        show = grid.shows[segment.occurrence.index] if segment.occurrence else None
        piece_start = seg_start
        while piece_start < seg_end:
            day = piece_start.date()
            midnight = resolve(datetime.combine(day + timedelta(days=1), time()), grid.tz).utc
            piece_end = min(seg_end, midnight.astimezone(grid.tz))
            blocks.append(Block(day, piece_start, piece_end, show))
            piece_start = piece_end
    return blocks


def describe_show(show: ShowModel | None, grid: Grid) -> str:
    """One line: playlists with weights, jingles, start mode, live policy."""
    if show is None:
        return f"fallback: {grid.fallback}"
    playlists = ", ".join(
        f"{e.playlist}" + (f" ×{e.weight:g}" if e.weight else "") for e in show.rotation
    )
    parts = [playlists]
    if show.jingles:
        parts.append(f"a jingle ({show.jingles.playlist}) every {show.jingles.every} tracks")
    parts.append(f"{show.start_mode} start")
    if show.start_mode == "soft":
        parts[-1] += f" (max {int(show.max_wait.total_seconds() // 60)} min)"
    if show.priority:
        parts.append(f"priority {show.priority}")
    if show.live.allowed:
        parts.append("live" + (", recorded" if show.live.record else ""))
    return "; ".join(parts)


def table(grid: Grid, monday: date) -> str:
    """The week as a text table (one section per day)."""
    lines: list[str] = []
    current: date | None = None
    for block in week(grid, monday):
        if block.day != current:
            current = block.day
            lines.append(block.day.strftime("%a %Y-%m-%d"))
        end = "24:00" if block.end_minute == 1440 else block.end.strftime("%H:%M")
        name = block.show.name if block.show else "(fallback)"
        lines.append(
            f"  {block.start.strftime('%H:%M')}-{end}  {block.show_id or '-':<16} "
            f"{name:<26} {describe_show(block.show, grid)}"
        )
    return "\n".join(lines)


_PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#17becf", "#bcbd22", "#8c564b",
)  # fmt: skip
FALLBACK_COLOUR = "#d9d9d9"


def colours(grid: Grid) -> dict[str, str]:
    """One colour per show id, stable in declaration order."""
    return {show.id: _PALETTE[i % len(_PALETTE)] for i, show in enumerate(grid.shows)}


def calendar_html(grid: Grid, monday: date, *, title: str = "radio") -> str:
    """A self-contained weekly calendar page (one colour per show, station wall time)."""
    palette = colours(grid)
    hour_px = 28
    days = [monday + timedelta(days=i) for i in range(7)]
    columns: dict[date, list[str]] = {d: [] for d in days}
    used: dict[str, ShowModel | None] = {}
    for block in week(grid, monday):
        if block.day not in columns:
            continue
        top = block.start_minute * hour_px / 60
        height = max(2.0, (block.end_minute - block.start_minute) * hour_px / 60)
        colour = palette.get(block.show_id, FALLBACK_COLOUR)
        name = block.show.name if block.show else f"fallback: {grid.fallback}"
        used[block.show_id] = block.show
        end = "24:00" if block.end_minute == 1440 else block.end.strftime("%H:%M")
        when = f"{block.start.strftime('%H:%M')}–{end}"
        columns[block.day].append(
            f'<div class="block" data-show="{html.escape(block.show_id or "fallback")}" '
            f'style="top:{top:.1f}px;height:{height:.1f}px;background:{colour}" '
            f'title="{html.escape(name)} {when}">'
            f'<span class="when">{when}</span> <span class="name">{html.escape(name)}</span></div>'
        )
    hours = "".join(
        f'<div class="hour" style="top:{h * hour_px}px">{h:02d}:00</div>' for h in range(24)
    )
    heads = "".join(f"<th>{d.strftime('%a %d %b')}</th>" for d in days)
    cells = "".join(f'<td><div class="day">{"".join(columns[d])}</div></td>' for d in days)
    legend = "".join(
        f'<li><span class="swatch" style="background:{palette.get(sid, FALLBACK_COLOUR)}">'
        f"</span>{html.escape(show.name if show else 'fallback: ' + grid.fallback)}"
        f" <small>{html.escape(describe_show(show, grid))}</small></li>"
        for sid, show in used.items()
    )
    height = 24 * hour_px
    week_label = f"{days[0].isoformat()} to {days[-1].isoformat()}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} — week of {days[0].isoformat()}</title>
<style>
body {{ font-family: "DejaVu Sans", sans-serif; margin: 16px; color: #222; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }}
p.zone {{ margin: 0 0 12px; color: #555; }}
table {{ border-collapse: collapse; table-layout: fixed; width: 100%; }}
th {{ font-size: 13px; padding: 4px; border-bottom: 1px solid #999; }}
td {{ vertical-align: top; padding: 0 2px; border-left: 1px solid #eee; }}
th.axis, td.axis {{ width: 48px; position: relative; }}
.day, .axis-inner {{ position: relative; height: {height}px; }}
.hour {{ position: absolute; font-size: 10px; color: #777; }}
.block {{ position: absolute; left: 1px; right: 1px; overflow: hidden; border-radius: 3px;
         font-size: 11px; color: #111; padding: 1px 3px; box-sizing: border-box;
         border: 1px solid rgba(0,0,0,.25); }}
.block .when {{ font-weight: bold; }}
ul.legend {{ list-style: none; padding: 0; columns: 2; font-size: 12px; }}
.swatch {{ display: inline-block; width: 12px; height: 12px; margin-right: 6px;
          vertical-align: middle; border: 1px solid #888; }}
small {{ color: #666; }}
</style></head>
<body>
<h1>{html.escape(title)} — programme grid</h1>
<p class="zone">Week {week_label}, times in {html.escape(grid.tz.key)}</p>
<table><thead><tr><th class="axis"></th>{heads}</tr></thead>
<tbody><tr><td class="axis"><div class="axis-inner">{hours}</div></td>{cells}</tr></tbody></table>
<ul class="legend">{legend}</ul>
</body></html>
"""
