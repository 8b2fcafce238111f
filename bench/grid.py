"""Grid benchmarks: validating and expanding a busy grid (200 shows, a year ahead).

Run from the repository root:

    .venv/bin/python -m bench.grid              # a few seconds on 2 cores

It writes a station with 200 shows (140 weekday/weekend shows, 30 RFC 5545
rules, 30 cron lines, each with its own priority so the grid is valid) over ten
schedule files, then times, best of ``--repeat`` runs:

* load: parsing the YAML with positions and validating with pydantic;
* check: the whole ``radio check`` pass without media probing (load, expansion
  over 366 days, timeline, overlaps, gaps, DST);
* expand: expanding the grid to UTC occurrences for a year;
* timeline: cutting the year into on-air segments;
* on_air: one "what plays at now" lookup (what a boundary costs the station);
* plan: the APScheduler job plan for the next day.

It prints a Markdown report for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from bench import machine
from radio.grid.check import check_station
from radio.grid.expand import occurrences
from radio.grid.loader import load_station
from radio.grid.runner import plan
from radio.grid.timeline import on_air, segments

T = TypeVar("T")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
YEAR = timedelta(days=366)


def write_busy_station(root: Path, shows: int = 200, seed: int = 1) -> None:
    """A valid station with ``shows`` shows spread over ten schedule files."""
    rng = random.Random(seed)
    (root / "schedules").mkdir(parents=True)
    (root / "playlists").mkdir()
    (root / "station.yaml").write_text("timezone: Europe/Paris\nfallback: music\n")
    (root / "playlists" / "music.yaml").write_text("sources: [media]\n")
    files: list[list[str]] = [[] for _ in range(10)]
    for i in range(shows):
        lines = [f"  - id: show-{i:03d}", f"    priority: {i}"]
        kind = "days" if i < shows * 0.7 else ("rrule" if i < shows * 0.85 else "cron")
        if kind == "days":
            days = sorted(rng.sample(range(7), rng.randint(1, 5)))
            start = rng.randrange(0, 96) * 15
            length = rng.choice((30, 60, 90, 120, 180))
            end = (start + length) % 1440
            lines += [
                f"    days: [{', '.join(DAYS[d] for d in days)}]",
                f'    start: "{start // 60:02d}:{start % 60:02d}"',
                f'    end: "{end // 60:02d}:{end % 60:02d}"',
            ]
        elif kind == "rrule":
            rule = rng.choice(
                (
                    "FREQ=WEEKLY;BYDAY=SA",
                    "FREQ=MONTHLY;BYDAY=1FR",
                    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
                )
            )
            lines += [
                f'    rrule: "{rule}"',
                f'    dtstart: "2026-01-0{rng.randint(1, 9)}T{rng.randint(0, 23):02d}:00"',
                "    duration: 1h",
            ]
        else:
            lines += [
                f'    cron: "{rng.choice((0, 30))} {rng.randint(6, 20)} * * mon-fri"',
                "    duration: 5m",
            ]
        lines += ["    rotation:", "      - playlist: music"]
        files[i % 10].append("\n".join(lines))
    for n, chunk in enumerate(files):
        (root / "schedules" / f"part-{n}.yaml").write_text("shows:\n" + "\n".join(chunk) + "\n")


def best(repeat: int, func: Callable[[], T]) -> tuple[float, T]:
    """Best wall time of ``repeat`` runs (seconds) and the last result."""
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shows", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_busy_station(root, args.shows)
        load_s, _ = best(args.repeat, lambda: load_station(root))
        check_s, result = best(
            args.repeat, lambda: check_station(root, NOW, horizon=YEAR, media=False)
        )
    errors = result.errors
    grid = result.grid
    assert grid is not None and not errors, errors[:3]
    expand_s, occs = best(args.repeat, lambda: occurrences(grid, NOW, NOW + YEAR))
    timeline_s, segs = best(args.repeat, lambda: segments(occs, NOW, NOW + YEAR))
    lookup_s, _ = best(args.repeat, lambda: on_air(grid, NOW + timedelta(days=100)))
    plan_s, jobs = best(args.repeat, lambda: plan(grid, NOW, lead=timedelta(seconds=20)))
    print("## Grid\n")
    print(
        f"A busy grid: {args.shows} shows (70 % weekly days, 15 % rrule, 15 % cron) in 10 files, "
        f"{len(occs)} occurrences and {len(segs)} on-air segments a year ahead. "
        f"Best of {args.repeat} runs, wall time.\n"
    )
    print("| step | time |")
    print("|---|---|")
    print(f"| load + schema validation (YAML with positions, pydantic) | {load_s * 1000:.0f} ms |")
    print(f"| whole `radio check --no-media`, 366 days | {check_s * 1000:.0f} ms |")
    print(f"| expand to UTC occurrences, 366 days | {expand_s * 1000:.0f} ms |")
    print(f"| timeline (winning show per stretch), 366 days | {timeline_s * 1000:.0f} ms |")
    print(f"| one `on_air(grid, now)` lookup (±8 days expanded) | {lookup_s * 1000:.1f} ms |")
    print(f"| APScheduler plan for the next day ({len(jobs)} jobs) | {plan_s * 1000:.1f} ms |")
    print(f"\nMachine: {machine.describe()}. Command: `.venv/bin/python -m bench.grid`.")


if __name__ == "__main__":
    main()
