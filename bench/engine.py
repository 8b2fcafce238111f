"""Engine benchmarks: CPU per audio second, Opus + encryption cost, render speed, track changes.

Run from the repository root:

    .venv/bin/python -m bench.engine            # about a minute on 2 cores

It prints a Markdown report (figures for BENCHMARKS.md). CPU time counts this
process (all threads) and its FFmpeg children (``RUSAGE_CHILDREN``: children are
counted once they have exited and been reaped, so every figure is taken after
the engine is closed and its decoders are gone).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import machine
from radio.audio import synth
from radio.audio.buffering import wait_buffered
from radio.audio.frames import FRAMES_PER_SECOND, SILENCE
from radio.audio.loudness import LoudnessLevels
from radio.audio.operators import Gain, Silence
from radio.audio.prefetch import Prefetch
from radio.audio.root import Infallible
from radio.audio.sequence import TrackSequence
from radio.audio.source import Source
from radio.audio.switch import Fallback
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.events import EventSink, TrackStarted
from radio.render import render_source
from radio.store.db import Database
from radio.store.loudness import SQLiteLoudnessCache


@dataclass
class Cpu:
    own: float
    children: float

    @classmethod
    def now(cls) -> Cpu:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime)

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.own - other.own, self.children - other.children)

    @property
    def total(self) -> float:
        return self.own + self.children


def make_media(folder: Path, tracks: int, seconds: float) -> list[Track]:
    """Generate FLAC pink noise at varied levels: music-like bitrates, non-zero gains."""
    out = []
    for i in range(tracks):
        path = synth.noise(
            folder / f"{i:02d}.flac",
            seconds,
            level_dbfs=-18.0 + 4 * (i % 4),
            seed=i + 1,
            title=f"Track {i}",
        )
        out.append(Track(location=str(path), title=f"Track {i}"))
    return out


def station(
    tracks: list[Track], levels: LoudnessLevels, crossfade: float, events: EventSink | None = None
) -> tuple[Infallible, TrackSequence]:
    """A station-like tree: a crossfading, levelled playlist under a fallback and a gain."""
    sequence = TrackSequence(
        TrackList(tracks, loop=True), crossfade=crossfade, loudness=levels, events=events
    )
    return Infallible(Gain(Fallback([sequence]))), sequence


def settle() -> None:
    """Let killed FFmpeg children be reaped by their reader threads."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not any(t.name.startswith("Thread") and t.daemon for t in threading.enumerate()):
            break
        time.sleep(0.05)
    time.sleep(0.2)


def pull_fast(
    root: Source, frames: int, per_frame: Callable[[bytes], object] | None = None
) -> None:
    for _ in range(frames):
        wait_buffered(root, 30.0)
        frame = root.read()
        if per_frame is not None:
            per_frame(frame)


class Packetizer:
    """discord.py's own RTP + AEAD packet code, bound to a stand-in connection.

    ``VoiceClient._get_voice_packet`` and ``_encrypt_aead_xchacha20_poly1305_rtpsize``
    are called unchanged (the mode Discord requires); DAVE is off (no MLS group
    exists offline), so the figure excludes the DAVE layer.
    """

    def __init__(self) -> None:
        import discord.voice_client as vc

        self._client = vc.VoiceClient
        self.state = SimpleNamespace(
            _connection=SimpleNamespace(dave_session=None, can_encrypt=False),
            sequence=0,
            timestamp=0,
            ssrc=1234,
            mode="aead_xchacha20_poly1305_rtpsize",
            secret_key=list(os.urandom(32)),
            _incr_nonce=0,
        )
        state: Any = self.state
        state.checked_add = lambda attr, value, limit: vc.VoiceClient.checked_add(
            state, attr, value, limit
        )
        state._encrypt_aead_xchacha20_poly1305_rtpsize = lambda header, data: (
            vc.VoiceClient._encrypt_aead_xchacha20_poly1305_rtpsize(state, header, data)
        )

    def packet(self, opus: bytes) -> bytes:
        state: Any = self.state
        state.checked_add("sequence", 1, 65535)
        packet = self._client._get_voice_packet(state, opus)
        state.checked_add("timestamp", 960, 4294967295)
        return bytes(packet)


def bench_cpu(tracks: list[Track], levels: LoudnessLevels, seconds: float) -> dict[str, float]:
    """Pull as fast as possible: the engine's own cost, without the pacing loop."""
    frames = int(seconds * FRAMES_PER_SECOND)
    results: dict[str, float] = {}

    before = Cpu.now()
    root, _ = station(tracks, levels, crossfade=2.0)
    pull_fast(root, frames)
    root.close()
    settle()
    used = Cpu.now() - before
    results["engine_own"] = used.own / seconds
    results["engine_children"] = used.children / seconds

    from radio.bot.audio import music_encoder

    encoder = music_encoder()
    packetizer = Packetizer()
    sizes: list[int] = []

    def send(frame: bytes) -> None:
        sizes.append(len(packetizer.packet(encoder.encode(frame, 960))))

    before = Cpu.now()
    root, _ = station(tracks, levels, crossfade=2.0)
    pull_fast(root, frames, send)
    root.close()
    settle()
    used = Cpu.now() - before
    results["voice_own"] = used.own / seconds
    results["voice_children"] = used.children / seconds
    results["mean_packet_bytes"] = sum(sizes) / len(sizes)
    return results


def paced(root: Source, seconds: float) -> int:
    """Read every 20 ms like discord.py's player thread; return silent frames."""
    silent = 0
    begin = time.perf_counter()
    for index in range(int(seconds * FRAMES_PER_SECOND)):
        if root.read() == SILENCE:
            silent += 1
        delay = begin + (index + 1) / FRAMES_PER_SECOND - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    return silent


def bench_paced(
    tracks: list[Track], short: list[Track], levels: LoudnessLevels, seconds: float, changes: float
) -> dict[str, float]:
    """Real-time pacing: CPU including thread wake-ups, and what a listener misses."""
    results: dict[str, float] = {}
    before = Cpu.now()
    paced(Infallible(Silence()), seconds)
    results["baseline"] = (Cpu.now() - before).total / seconds

    for key, burst in (("paced", 1), ("prefetch", 5)):
        root, _ = station(tracks, levels, crossfade=2.0)
        top: Source = Prefetch(root, burst) if burst > 1 else root
        wait_buffered(top, 30.0)  # the head start a running station always has
        before = Cpu.now()
        paced(top, seconds)
        top.close()
        settle()
        results[key] = (Cpu.now() - before).total / seconds

    starts: list[int] = []

    def on_event(event: object) -> None:
        if isinstance(event, TrackStarted):
            starts.append(event.frame)

    root, sequence = station(short, levels, crossfade=0.0, events=on_event)
    wait_buffered(root, 30.0)
    results["silent"] = paced(root, changes)
    results["changes"] = len(starts) - 1
    results["underruns"] = sequence.underruns
    results["dead_air"] = root.dead_air_frames
    root.close()
    settle()
    return results


def bench_render(tracks: list[Track], levels: LoudnessLevels, seconds: float, out: Path) -> float:
    root, _ = station(tracks, levels, crossfade=2.0)
    begin = time.perf_counter()
    render_source(root, int(seconds * FRAMES_PER_SECOND), out, progress=False)
    elapsed = time.perf_counter() - begin
    root.close()
    return seconds / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=900.0, help="audio pulled per CPU run")
    parser.add_argument("--paced", type=float, default=120.0, help="seconds paced at 20 ms")
    parser.add_argument("--changes", type=float, default=30.0, help="seconds of 2 s tracks")
    parser.add_argument("--render", type=float, default=900.0, help="seconds rendered")
    args = parser.parse_args(argv)
    track_seconds = 180.0
    with tempfile.TemporaryDirectory(prefix="radio-bench-") as tmp:
        folder = Path(tmp)
        tracks = make_media(folder / "media", 4, track_seconds)
        short = make_media(folder / "short", 5, 2.0)
        db = Database(folder / "station.db")
        levels = LoudnessLevels(cache=SQLiteLoudnessCache(db))
        before = Cpu.now()
        for t in tracks:
            levels.measurement(t.location)
        measured = Cpu.now() - before
        for t in short:
            levels.measurement(t.location)
        cpu = bench_cpu(tracks, levels, args.seconds)
        pace = bench_paced(tracks, short, levels, args.paced, args.changes)
        speed = bench_render(tracks, levels, args.render, folder / "render.flac")
        db.close()
    engine = cpu["engine_own"] + cpu["engine_children"]
    voice = cpu["voice_own"] + cpu["voice_children"]
    extra = pace["paced"] - pace["baseline"]
    extra_prefetch = pace["prefetch"] - pace["baseline"]
    print(f"Machine: {machine.describe()}, {sys.platform}")
    print(
        f"Media: {len(tracks)} x {track_seconds:.0f} s FLAC (pink noise, ~900 kb/s), "
        "loudness-levelled, 2 s crossfades, looped"
    )
    print()
    print("| measure | figure |")
    print("|---|---|")
    print(
        f"| engine alone, pulled as fast as possible ({args.seconds:.0f} s of audio) "
        f"| {engine:.5f} CPU s per audio s = {engine * 100:.2f} % of one core "
        f"(FFmpeg {cpu['engine_children'] * 100:.2f} %, Python {cpu['engine_own'] * 100:.2f} %) |"
    )
    print(
        f"| engine + discord.py Opus encoder (128 kb/s) + RTP/AEAD packets "
        f"| {voice:.5f} CPU s per audio s = {voice * 100:.2f} % of one core "
        f"(mean packet {cpu['mean_packet_bytes']:.0f} B) |"
    )
    print(
        f"| engine read every 20 ms like the player thread ({args.paced:.0f} s) "
        f"| {pace['paced'] * 100:.2f} % of one core, of which {pace['baseline'] * 100:.2f} % "
        f"is the 50 Hz loop itself (engine: {extra * 100:.2f} %) |"
    )
    print(
        f"| the same under Prefetch(root, 5) (bursts of 5 frames, {args.paced:.0f} s) "
        f"| {pace['prefetch'] * 100:.2f} % of one core (engine: {extra_prefetch * 100:.2f} %) |"
    )
    print(
        f"| track changes, 2 s tracks read every 20 ms ({args.changes:.0f} s) "
        f"| {pace['changes']:.0f} changes, {pace['silent']:.0f} silent frames, "
        f"{pace['underruns']:.0f} underruns, {pace['dead_air']:.0f} dead-air frames "
        f"= {pace['silent'] / max(1, pace['changes']):.0f} frames per change |"
    )
    print(f"| render speed ({args.render:.0f} s to FLAC) | {speed:.0f}x real time |")
    print(
        f"| loudness measurement (ebur128 with true peak; once per file, cached) "
        f"| {measured.total / (len(tracks) * track_seconds):.5f} CPU s per audio s |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
