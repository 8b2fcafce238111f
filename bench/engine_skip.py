"""Engine-side skip latency, in real time: from ``skip()`` to the read that starts the next track.

Run from the repository root:

    .venv/bin/python -m bench.engine_skip      # about a minute on 2 cores

A reader thread reads a TrackSequence every 20 ms, like discord.py's player
thread. The main thread calls ``skip()`` 2 s after each track starts (far more
than the 10 s preload before the end of a 30 s track), or, for the "first
second" rows, 0.1 s or 0.3 s after (a DJ pressing skip twice). Latency = the instant the
read that contains the next track's first samples returns (its TrackStarted
event is emitted at the end of that read) minus the instant ``skip()`` was
called. It leaves out what follows the read on air (Opus, network): see the
on-air bench for that.

Four providers: a timed one (TrackList: the next track is opened right after
the current one's first frame), the real Rotation (timed too: a shuffled deck with
an artist separation rule and a station ID deck, each start reported to it and
the play history in SQLite fed by TrackStarted like the station's, picks judged
at their predicted start), an
untimed one whose tracks carry no duration (opened at the skip: ffprobe + FFmpeg
start + first frame), and an untimed one whose tracks carry their duration
(opened at the skip without ffprobe).
Also: the time to open a track, with and without ffprobe.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from bench import machine
from radio.audio import synth
from radio.audio.decoder import FFmpegDecoder, ProbeInfo, probe
from radio.audio.frames import FRAMES_PER_SECOND
from radio.audio.sequence import DEFAULT_PRELOAD_SECONDS, TrackSequence
from radio.audio.track import Track, TrackProvider
from radio.audio.tracklist import TrackList
from radio.clock import SystemClock
from radio.events import Event, TrackStarted
from radio.playlists.model import PlaylistModel
from radio.playlists.rotation import Deck, Part, Rotation
from radio.store.db import Database
from radio.store.history import PlayHistory

TRACK_SECONDS = 30.0
SKIP_AFTER = 2.0  # seconds after a track starts


class Untimed:
    """A provider with ``next_track`` only (like the rotation): opened in the last 10 s."""

    def __init__(self, tracks: Sequence[Track]) -> None:
        self._list = TrackList(tracks, loop=True)

    def next_track(self) -> Track | None:
        return self._list.next_track()


def skip_latencies(
    provider: TrackProvider,
    skips: int,
    history: PlayHistory | None = None,
    *,
    skip_after: float = SKIP_AFTER,
) -> tuple[list[float], int]:
    """Milliseconds from each ``skip()``, ``skip_after`` seconds after a track
    started, to the read that starts the next track, and how many frames were
    read with nothing in them (silence). ``history`` receives each play as it
    starts, and a Rotation provider each start, as the station does."""
    started: list[float] = []
    cond = threading.Condition()
    clock = SystemClock()

    def on_event(event: Event) -> None:
        if isinstance(event, TrackStarted):
            if isinstance(provider, Rotation):
                provider.started(event.track, clock.now())
            if history is not None:
                tags = event.track.tags
                history.record(event.track, clock.now(), playlist=tags.get("playlist", ""))
            with cond:
                started.append(time.monotonic())
                cond.notify_all()

    seq = TrackSequence(provider, events=on_event)
    stop = threading.Event()
    silent = 0

    def player() -> None:
        nonlocal silent
        tick = time.monotonic()
        while not stop.is_set():
            if not any(seq.read()):
                silent += 1
            tick += 1.0 / FRAMES_PER_SECOND
            time.sleep(max(0.0, tick - time.monotonic()))

    assert seq.wait_buffered(10.0)
    thread = threading.Thread(target=player, name="player", daemon=True)
    thread.start()
    latencies: list[float] = []
    try:
        for _ in range(skips):
            with cond:
                cond.wait_for(lambda: len(started) > len(latencies), 10.0)
                count = len(started)
            time.sleep(skip_after)
            since = time.monotonic()
            seq.skip()

            def moved_on(n: int = count) -> bool:
                return len(started) > n

            with cond:
                if not cond.wait_for(moved_on, 10.0):
                    raise RuntimeError("the skip never started the next track")
                latencies.append(1000.0 * (started[count] - since))
    finally:
        stop.set()
        thread.join()
        seq.close()
    return latencies, silent


def real_rotation(music: Sequence[Track], station_id: Track) -> tuple[Rotation, PlayHistory]:
    """The station's Rotation over ``music`` (shuffle, no artist twice within 10 s),
    with an hourly ID, its picks judged on the wall clock against an SQLite history."""
    rng = random.Random(1)
    shuffle = PlaylistModel.model_validate(
        {"sources": ["bench"], "order": "shuffle", "separation": {"artist": "10s"}}
    )
    ids = PlaylistModel.model_validate({"sources": ["bench"], "order": "sequential"})
    history = PlayHistory(Database(":memory:"))
    rotation = Rotation(
        [Part(Deck("music", shuffle, music, rng), 1.0)],
        clock=SystemClock(),
        rng=rng,
        history=history,
        station_id=Deck("ids", ids, [station_id], rng),
        record=False,
        lookahead=timedelta(seconds=DEFAULT_PRELOAD_SECONDS),
    )
    return rotation, history


def open_times(location: str, runs: int, *, duration: float | None) -> list[float]:
    """Milliseconds to open ``location`` as the sequence does (probe unless the
    duration is known, start FFmpeg, first frame buffered)."""
    times: list[float] = []
    for _ in range(runs):
        start = time.monotonic()
        info = ProbeInfo(duration=duration) if duration is not None else probe(location)
        decoder = FFmpegDecoder(location, info=info)
        decoder.wait_buffered(10.0)
        times.append(1000.0 * (time.monotonic() - start))
        decoder.close()
    return times


def _row(name: str, values: Sequence[float], extra: str = "") -> str:
    return (
        f"| {name} | {len(values)} | {min(values):.0f} | {statistics.median(values):.0f}"
        f" | {max(values):.0f} |{extra}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skips", type=int, default=8, help="skips per provider (8)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hz = (400.0, 600.0, 800.0, 500.0, 700.0, 900.0)
        paths = [
            synth.tone(folder / f"t{i}.flac", f, TRACK_SECONDS, level_dbfs=-12.0)
            for i, f in enumerate(hz)
        ]
        plain = [Track(location=str(p), title=p.stem) for p in paths[:3]]
        known = [
            Track(location=str(p), title=p.stem, artist=f"artist {i}", duration=TRACK_SECONDS)
            for i, p in enumerate(paths)
        ]
        ident = synth.tone(folder / "id.flac", 1800.0, 4.0, level_dbfs=-12.0)
        id_track = Track(location=str(ident), title="id", duration=4.0)
        rotations = [real_rotation(known, id_track) for _ in range(3)]
        load = os.getloadavg()
        providers: list[tuple[str, TrackProvider, PlayHistory | None, float]] = [
            ("timed (TrackList): next opened early", TrackList(plain, loop=True), None, SKIP_AFTER),
            ("real Rotation (timed): next opened early", *rotations[0], SKIP_AFTER),
            (
                "timed (TrackList): skip 0.3 s into the track (first second)",
                TrackList(plain, loop=True),
                None,
                0.3,
            ),
            ("real Rotation: skip 0.3 s into the track (first second)", *rotations[1], 0.3),
            ("real Rotation: skip 0.1 s into the track (first second)", *rotations[2], 0.1),
            ("untimed, no duration: opened at the skip", Untimed(plain), None, SKIP_AFTER),
            (
                "untimed, duration known: opened at the skip, no ffprobe",
                Untimed(known[:3]),
                None,
                SKIP_AFTER,
            ),
        ]
        print("### Skips in real time (engine side)\n")
        print(
            f"Machine: {machine.describe()}; load average at start"
            f" {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}."
        )
        print("Command: `.venv/bin/python -m bench.engine_skip`\n")
        print("| provider | skips | min ms | median ms | max ms | silent frames |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, provider, plays, after in providers:
            latencies, silent = skip_latencies(provider, args.skips, plays, skip_after=after)
            print(_row(name, latencies, f" {silent} |"))
        relaxed = sum(r.relaxed for r, _ in rotations)
        at_risk = sum(r.at_risk for r, _ in rotations)
        print(
            f"\nReal Rotation: {relaxed} picks relaxed a separation rule,"
            f" {at_risk} were allowed at their predicted start only."
        )
        print("\n| opening a 30 s FLAC | runs | min ms | median ms | max ms |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(
            _row(
                "ffprobe + FFmpeg start + first frame", open_times(str(paths[0]), 9, duration=None)
            )
        )
        print(
            _row(
                "FFmpeg start + first frame (duration known)",
                open_times(str(paths[0]), 9, duration=TRACK_SECONDS),
            )
        )
        end = os.getloadavg()
        print(f"\nLoad average at the end: {end[0]:.2f}, {end[1]:.2f}, {end[2]:.2f}.")


if __name__ == "__main__":
    main()
