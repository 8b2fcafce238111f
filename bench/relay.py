"""A relay node measured end to end: CPU per room, latency station → listener, time back.

A real icecast2 (child process), the station's real SimulcastFeed and
IcecastOutput publishing a tone that changes pitch every 1.5 s (paced on a
20 ms grid in this process), the local Discord in this process, and
``radio relay`` in its own process (tests/relay/relay_process.py) reading the
mount and broadcasting to N rooms (one per guild).

* CPU: the relay process's CPU time over a steady window, with 1 room and
  with N rooms: the slope is the cost of a room, the rest the node's fixed
  cost (the mount reader, the sender thread, discord.py's gateway). Per
  thread as well (``/proc/<pid>/task/<tid>/schedstat``): once the rooms are on
  air the relay process is sent SIGUSR1 and names its threads in the kernel
  (``sender``, ``loop``, ``vsock-reader``, ``voice-keepalive``,
  ``gw-keepalive``; :func:`bench.voices.name_threads`).
* Latency: the instant the station pulls the first frame of a new tone
  against the kernel arrival stamp of the listener's first packet of that
  tone (one monotonic clock: everything but the relay runs in this process).
* Time back: Icecast killed, started again; from the mount's return (its
  status page lists the source again, polled every 20 ms) to the listener's
  first packet of the programme.

    .venv/bin/python -m bench.relay [--rooms 8] [--seconds 30] [--restarts 3] [--stages]

Rooms are voice rooms (the local Discord's speak DAVE: each packet is also
end-to-end encrypted per room), or stages with ``--stages`` (no DAVE).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.icecast_output import PASSWORD, free_port, start_icecast
from bench.voices import GROUPS, cpu_by_group, thread_cpu
from radio.audio.frames import SAMPLE_RATE, SAMPLES_PER_FRAME
from radio.audio.source import Endless
from radio.audio.track import Track
from radio.bot.audio import SimulcastFeed
from radio.clock import SystemClock
from radio.events import TrackStarted
from radio.outputs.icecast import IcecastOutput, StreamTitle
from radio.outputs.icecast_client import IcecastMount, SourceInfo
from radio.sandbox import Emulator
from radio.sandbox.record import PacketRecord
from radio.sandbox.state import ChannelType

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "relay" / "relay_process.py"
MOUNT = "/bench.opus"
TONES = (440.0, 660.0)
TONE_FRAMES = 75
LATENCY_BOUND_S = 2.5  # longest a tone change takes to reach the listener (buffer and pages)
# Runs tests/relay/relay_process.py (argv[1]) with its arguments, naming its
# threads in the kernel on SIGUSR1 (the bench's per-thread figures).
CHILD = """
import runpy, signal, sys
from bench.voices import name_threads
signal.signal(signal.SIGUSR1, lambda *_: name_threads())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


class Tones(Endless):
    def __init__(self) -> None:
        self.index = 0
        self.phase = 0.0

    def read(self) -> bytes:
        hz = TONES[self.index % 2]
        n = np.arange(SAMPLES_PER_FRAME)
        step = 2 * np.pi * hz / SAMPLE_RATE
        mono = (np.sin(self.phase + step * n) * 12_000).astype("<i2")
        self.phase = (self.phase + step * SAMPLES_PER_FRAME) % (2 * np.pi)
        return np.repeat(mono, 2).tobytes()

    def close(self) -> None:
        pass


class Station(threading.Thread):
    """The station: one frame every 20 ms; records when each new tone was pulled."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True, name="station")
        self.output = IcecastOutput(
            IcecastMount("127.0.0.1", port, MOUNT),
            PASSWORD,
            monotonic=time.monotonic,
            info=SourceInfo(name="bench"),
            backoff_base=0.1,
            backoff_cap=0.5,
        )
        self.tones = Tones()
        self.feed = SimulcastFeed(self.tones)
        self.feed.taps.add(self.output.packet, every_frame=True)
        self.changes: list[tuple[float, int]] = []  # (instant, tone index)
        self.stopped = threading.Event()

    def run(self) -> None:
        self.output.title(StreamTitle("Tone 0"))
        self.output.start()
        due = time.monotonic()
        pulled = 0
        while not self.stopped.is_set():
            if pulled and pulled % TONE_FRAMES == 0:
                self.tones.index += 1
                self.output.on_event(TrackStarted(pulled, Track("t", f"Tone {self.tones.index}")))
                self.changes.append((time.monotonic(), self.tones.index))
            self.feed.next_packet()
            pulled += 1
            due += 0.02
            time.sleep(max(0.0, due - time.monotonic()))
        self.output.close()


@dataclass
class RunResult:
    rooms: int
    cpu_percent: float = 0.0
    threads: dict[str, float] = field(default_factory=dict)  # % of a core per thread group
    latency_ms: list[int] = field(default_factory=list)
    back_s: list[float] = field(default_factory=list)
    min_gap_ms: float = 0.0


def packet_hz(packet: PacketRecord) -> float | None:
    if packet.pcm is None:
        return None
    left = np.frombuffer(packet.pcm, dtype="<i2")[::2].astype(float)
    if np.sqrt(np.mean(left**2)) < 500:
        return None
    spectrum = np.abs(np.fft.rfft(left * np.hanning(left.size), 8192))
    return float(np.argmax(spectrum) * SAMPLE_RATE / 8192)


def tone_of(packet: PacketRecord) -> int | None:
    hz = packet_hz(packet)
    if hz is None:
        return None
    best = min(range(2), key=lambda i: abs(TONES[i] - hz))
    return best if abs(TONES[best] - hz) < 40 else None


def mount_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status-json.xsl", timeout=2) as r:
            sources = json.loads(r.read().decode("utf-8", "replace"))["icestats"].get("source")
    except (OSError, ValueError):
        return False
    sources = [sources] if isinstance(sources, dict) else sources or []
    return any(str(s.get("listenurl", "")).endswith(MOUNT) for s in sources)


async def wait(condition: object, timeout: float = 60.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("bench condition not met")
        await asyncio.sleep(0.02)


async def one_run(
    rooms: int, seconds: float, restarts: int, folder: Path, stages: bool
) -> RunResult:
    port = free_port()
    icecast = start_icecast(folder, port)
    station = Station(port)
    station.start()
    result = RunResult(rooms)
    try:
        async with Emulator(
            clock=SystemClock(), monotonic=time.monotonic, guilds=rooms
        ) as emulator:
            world = emulator.world
            kind = ChannelType.STAGE if stages else ChannelType.VOICE
            voices = [g.channel_of_type(kind).id for g in world.guilds.values()]
            guilds = "".join(
                f"    - id: {g.id}\n      broadcast: {g.channel_of_type(kind).id}\n"
                for g in world.guilds.values()
            )
            relay_file = folder / "relay.yaml"
            relay_file.write_text(
                f"relay:\n  source: http://127.0.0.1:{port}{MOUNT}\n"
                f"discord:\n  now_playing: 'off'\n  guilds:\n{guilds}"
            )
            env = {
                **os.environ,
                "DISCORD_TOKEN": world.token,
                "SSL_CERT_FILE": str(emulator.addresses.cert_path),
                "PYTHONPATH": str(ROOT),
            }
            addresses = json.dumps(emulator.addresses.to_json())
            command = [sys.executable, "-c", CHILD, str(SCRIPT), addresses, str(relay_file)]
            command += ["--env-file", os.devnull]
            process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
            try:
                record = emulator.record

                def heard(room: int) -> list[PacketRecord]:
                    return record.audio_packets(channel_id=room)

                await wait(lambda: all(len(heard(v)) > 100 for v in voices))
                process.send_signal(signal.SIGUSR1)  # name the threads
                await asyncio.sleep(2.0)
                cpu0, t0 = thread_cpu(process.pid), time.monotonic()
                await asyncio.sleep(seconds)
                cpu1, t1 = thread_cpu(process.pid), time.monotonic()
                spent = cpu_by_group(cpu0, cpu1)
                result.threads = {g: round(100 * spent[g] / 1e9 / (t1 - t0), 3) for g in GROUPS}
                result.cpu_percent = sum(result.threads.values())
                # Latency: each tone change against the first packet of the new tone.
                first = voices[0]
                latencies = []
                packets = heard(first)
                # Changes heard before the window ends (one later is cut by the
                # Icecast kill below and would count the restart).
                for at, index in [c for c in station.changes if c[0] < t1 - LATENCY_BOUND_S]:
                    tone = index % 2
                    after = [p for p in packets if p.arrival > at - 0.5]
                    for earlier, later in itertools.pairwise(after):
                        if tone_of(later) == tone and tone_of(earlier) != tone:
                            if later.arrival > at:
                                latencies.append(later.arrival - at)
                            break
                result.latency_ms = sorted(round(x * 1000) for x in latencies)
                # Time back after a restart of Icecast.
                backs = []
                for _ in range(restarts):
                    icecast.send_signal(signal.SIGKILL)
                    icecast.wait(30)
                    killed = len(heard(first))
                    await wait(
                        lambda k=killed: (
                            sum(1 for p in heard(first)[k:] if tone_of(p) is None) >= 50
                        )
                    )
                    icecast = start_icecast(folder, port)
                    await wait(lambda: mount_up(port), 60)
                    returned = time.monotonic()
                    mark = len(heard(first))
                    await wait(lambda m=mark: any(tone_of(p) is not None for p in heard(first)[m:]))
                    back = next(p for p in heard(first)[mark:] if tone_of(p) is not None)
                    backs.append(back.arrival - returned)
                    gaps = [
                        b.arrival - a.arrival
                        for a, b in zip(heard(first), heard(first)[1:], strict=False)
                    ]
                    result.min_gap_ms = round(min(gaps) * 1000, 2)
                result.back_s = [round(x, 2) for x in backs]
            finally:
                process.send_signal(signal.SIGTERM)
                await asyncio.to_thread(process.wait, 30)
    finally:
        station.stopped.set()
        station.join(20)
        icecast.kill()
        icecast.wait(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--stages", action="store_true", help="stages (no DAVE), not voice rooms")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()},")
    print(f"Python {platform.python_version()}, load {os.getloadavg()}")
    results = []
    for rooms in (1, args.rooms):
        with tempfile.TemporaryDirectory() as folder:
            result = asyncio.run(
                one_run(rooms, args.seconds, args.restarts, Path(folder), args.stages)
            )
        results.append(result)
        print(result, flush=True)
    one, many = results
    per_room = (many.cpu_percent - one.cpu_percent) / (args.rooms - 1)
    print(f"per room {per_room:.3f} % of a core; fixed {one.cpu_percent - per_room:.2f} %")
    for group in GROUPS:
        slope = (many.threads[group] - one.threads[group]) / (args.rooms - 1)
        print(f"  per room, {group}: {slope:.4f} % of a core")
    lat = [x for r in results for x in r.latency_ms]
    back = [x for r in results for x in r.back_s]
    if lat:
        print(f"latency station -> relay listener: median {statistics.median(lat)} ms, {lat}")
    if back:
        print(f"time back after the mount returns: {back} s (max {max(back)})")
    print(f"load at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
