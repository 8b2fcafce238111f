"""Soak: hours of the example programme through the whole on-air path, faster than real time.

Run from the repository root:

    .venv/bin/python -m bench.soak --hours 24          # the full day (hours of wall time)
    .venv/bin/python -m bench.soak --hours 1 --every 10   # a quick look

The path is the one ``radio run`` plays: the station tree over the example grid
(:class:`~radio.station.Station`: shows, rotations, jingles, station IDs, the
fallback), listeners' requests through the SQLite queue
(:class:`~radio.app.requests.RequestPlayer`), FFmpeg decoders, loudness gains,
and the Opus encoder of :class:`~radio.bot.audio.SimulcastFeed`. Time is a
:class:`~radio.grid.frameclock.FrameClock`: each frame is 20 ms of programme,
pulled as fast as the buffers allow (``wait_buffered`` before each packet, as
``radio render`` does). What Discord adds (the voice connections) is not here.

At random (seeded): a request every ``--request-every`` simulated minutes on
average, a skip every ``--skip-every``, and a reload of the grid files (a full
check, as the watcher does) every ``--reload-every``.

Every ``--every`` simulated minutes (60: every hour) it samples the process:
resident memory (VmRSS), open descriptors, threads and child processes (FFmpeg),
and prints a Markdown table, the speed (simulated seconds per wall second) and
the verdict: RSS growth from the first hour's sample to the last under 5 MB,
descriptors and threads flat (the same at every sample, give or take one
decoder being opened at the instant), no child left after the station closes.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import machine
from radio.app.requests import NotifyingQueue, RequestPlayer
from radio.audio.buffering import wait_buffered
from radio.audio.frames import FRAMES_PER_SECOND
from radio.bot.audio import SimulcastFeed
from radio.errors import RequestRefused
from radio.events import EventBus, TrackFailed, TrackStarted
from radio.grid.check import check_station
from radio.grid.frameclock import FrameClock
from radio.grid.live_slot import requestable_tracks
from radio.playlists.library import Library
from radio.station import Station
from radio.store.db import Database
from radio.store.history import PlayHistory

START = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # a Monday: the week's shows in order
GROWTH_LIMIT_MB = 5.0


@dataclass(frozen=True, slots=True)
class Sample:
    """The process at one simulated instant."""

    hours: float
    wall: float  # seconds since the run started
    rss_mb: float
    fds: int
    threads: int
    children: int
    tracks: int
    requests: int
    skips: int
    reloads: int


def rss_mb() -> float:
    """Resident memory of this process, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def children() -> int:
    """Live child processes of this process (zombies included: unreaped is a leak)."""
    me = os.getpid()
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # the command may hold spaces and parentheses: fields follow the last ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            count += 1
    return count


class Counters:
    """Station events counted for the report (an event sink: quick, never raises)."""

    def __init__(self) -> None:
        self.tracks = 0
        self.failed = 0
        self.refused = 0  # random requests the queue refused (the track already queued)

    def __call__(self, event: object) -> None:
        if isinstance(event, TrackStarted):
            self.tracks += 1
        elif isinstance(event, TrackFailed):
            self.failed += 1


def soak(
    station_dir: Path,
    *,
    hours: float,
    every_minutes: float,
    request_every: float,
    skip_every: float,
    reload_every: float,
    seed: int,
    out: list[Sample],
) -> tuple[int, Counters]:
    """Play ``hours`` of the programme; append a sample every ``every_minutes`` to ``out``.

    Returns the children left once the station is closed, and the event counts.
    """
    rng = random.Random(seed)
    frames = round(hours * 3600 * FRAMES_PER_SECOND)
    every = max(1, round(every_minutes * 60 * FRAMES_PER_SECOND))
    cell: list[Station] = []
    clock = FrameClock(START, lambda: cell[0].root.position if cell else 0)
    library = Library(station_dir)
    horizon = timedelta(hours=hours) + timedelta(days=1)
    setup = check_station(station_dir, START, horizon=horizon, library=library)
    if not setup.ok:
        raise SystemExit(f"the station has errors: {setup.errors[0]}")
    requestable = requestable_tracks(setup)
    if not requestable:
        raise SystemExit("the station has no requestable track")
    with tempfile.TemporaryDirectory(prefix="soak-") as data:
        db = Database(Path(data) / "radio.sqlite3")
        bus = EventBus()
        counters = Counters()
        bus.subscribe(counters)
        station = Station(
            setup,
            clock=clock,
            rng=random.Random(seed),
            history=PlayHistory(db),
            events=bus,
        )
        cell.append(station)
        queue = NotifyingQueue(db, quota=1_000_000, cooldown=timedelta(0))
        player = RequestPlayer(queue, station, clock=clock)
        bus.subscribe(player.on_event)
        queue.on_added = station.offer_requests
        feed = SimulcastFeed(station.root)
        # per frame: the chance of each action (a Poisson process in frames)
        p_request = 1 / (request_every * 60 * FRAMES_PER_SECOND)
        p_skip = 1 / (skip_every * 60 * FRAMES_PER_SECOND)
        p_reload = 1 / (reload_every * 60 * FRAMES_PER_SECOND)
        requests = skips = reloads = refused = 0
        began = time.monotonic()
        try:
            for n in range(frames + 1):
                if n % every == 0:
                    gc.collect()
                    out.append(
                        Sample(
                            hours=n / FRAMES_PER_SECOND / 3600,
                            wall=time.monotonic() - began,
                            rss_mb=rss_mb(),
                            fds=open_fds(),
                            threads=os_threads(),
                            children=children(),
                            tracks=counters.tracks,
                            requests=requests,
                            skips=skips,
                            reloads=reloads,
                        )
                    )
                    print(_row(out[-1]), file=sys.stderr, flush=True)
                if n == frames:
                    break
                draw = rng.random()
                if draw < p_request:
                    track = rng.choice(requestable)
                    try:
                        queue.add(rng.randrange(1, 50), "listener", track, clock.now())
                        requests += 1
                    except RequestRefused:
                        refused += 1  # already queued or playing: the member is told so
                elif draw < p_request + p_skip:
                    skips += station.skip()
                elif draw < p_request + p_skip + p_reload:
                    now = clock.now()
                    fresh = check_station(station_dir, now, horizon=horizon, library=library)
                    if fresh.ok:
                        station.reload(fresh)
                        reloads += 1
                if not wait_buffered(station.root, 60.0):
                    raise SystemExit(f"the station's buffers never filled at frame {n}")
                if feed.next_packet() is None:
                    raise SystemExit("the feed closed")
        finally:
            feed.close()
            station.close()
            db.close()
    # decoders are killed and reaped on close; give their reapers a moment
    deadline = time.monotonic() + 10.0
    while children() and time.monotonic() < deadline:
        time.sleep(0.05)
    counters.refused = refused
    return children(), counters


def _row(s: Sample) -> str:
    return (
        f"| {s.hours:5.1f} | {s.wall / 60:6.1f} | {s.rss_mb:7.1f} | {s.fds:4d} | {s.threads:3d}"
        f" | {s.children:2d} | {s.tracks:5d} | {s.requests:4d} | {s.skips:4d} | {s.reloads:3d} |"
    )


def report(samples: Sequence[Sample], left: int, counters: Counters, hours: float) -> list[str]:
    """The Markdown report: the samples, the speed and the verdicts."""
    lines = [
        "| simulated h | wall min | RSS MB | fds | threads | children | tracks | requests"
        " | skips | reloads |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(s) for s in samples),
        "",
    ]
    last = samples[-1]
    speed = last.hours * 3600 / last.wall if last.wall > 0 else float("inf")
    lines.append(
        f"{last.hours:.1f} simulated hours in {last.wall / 60:.1f} min of wall time:"
        f" {speed:.1f}× real time; {counters.tracks} tracks started, {counters.failed} failed;"
        f" {counters.refused} random requests refused (already queued)."
    )
    # the first sample is taken before anything played: growth counts from the
    # first one taken after the first hour (caches, the loudness and probe tables
    # and the allocator's arenas fill during the first tracks)
    settled = [s for s in samples if s.hours >= 1.0] or list(samples)
    growth = settled[-1].rss_mb - settled[0].rss_mb
    fds = [s.fds for s in settled]
    threads = [s.threads for s in settled]
    flat = max(fds) - min(fds) <= 4 and max(threads) - min(threads) <= 2
    lines += [
        f"- RSS from {settled[0].hours:.0f} h to {settled[-1].hours:.1f} h:"
        f" {growth:+.1f} MB ({'ok' if growth < GROWTH_LIMIT_MB else 'FAIL'}:"
        f" under {GROWTH_LIMIT_MB:.0f} MB)",
        f"- descriptors {min(fds)}..{max(fds)}, threads {min(threads)}..{max(threads)}"
        f" ({'flat' if flat else 'GROWING'};"
        " a decoder being opened at the instant adds a few)",
        f"- child processes left after closing: {left} ({'ok' if left == 0 else 'FAIL'})",
    ]
    if last.hours < hours:
        lines.append(f"- stopped at {last.hours:.1f} of {hours:g} simulated hours")
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--station", type=Path, default=Path("."), help="station folder")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    parser.add_argument("--every", type=float, default=60.0, help="sample every N sim. minutes")
    parser.add_argument("--request-every", type=float, default=10.0, help="sim. minutes")
    parser.add_argument("--skip-every", type=float, default=15.0, help="sim. minutes")
    parser.add_argument("--reload-every", type=float, default=60.0, help="sim. minutes")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    samples: list[Sample] = []
    print(machine.describe(), file=sys.stderr)
    left, counters = soak(
        args.station.resolve(),
        hours=args.hours,
        every_minutes=args.every,
        request_every=args.request_every,
        skip_every=args.skip_every,
        reload_every=args.reload_every,
        seed=args.seed,
        out=samples,
    )
    print("\n".join(report(samples, left, counters, args.hours)))
    print(f"(threads alive in Python at the end: {threading.active_count()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
