"""A presenter's recording survives ``kill -9``: the station in its own process is
killed in the middle of a live session; the partial recording plays up to its last
second or two, and the next start seals it and ends the session as interrupted."""

from __future__ import annotations

import functools
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from support import wait

from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.child import start_child, stop_child
from radio.store.db import Database
from radio.store.live_sessions import LiveSessions
from radio.store.presenters import PresenterCredentials

from .conftest import make_station

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LIVE_HZ = 1500
PASSWORD = "crash-test"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emu:
        yield emu


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_app(
    emulator: Emulator, station: Path, data: Path, port: int
) -> subprocess.Popen[str]:
    world = emulator.world
    args = {
        "addresses": emulator.addresses.to_json(),
        "token": world.token,
        "station": str(station),
        "data": str(data),
        "config": {"guilds": [{"id": world.guild.id, "broadcast": world.voice_channel.id}]},
        "live_port": port,
    }
    script = ROOT / "tests" / "app" / "app_process.py"
    return await start_child([sys.executable, str(script)], args, pythonpath=ROOT)


def decode(path: Path) -> tuple[np.ndarray, str]:
    """The recording as mono samples, and what FFmpeg said on the way."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "48000",
         "pipe:1"],
        capture_output=True, check=False,
    )  # fmt: skip
    samples = np.frombuffer(result.stdout, dtype=np.int16).astype(np.float64)
    return samples, result.stderr.decode(errors="replace")


def dominant(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum)) * 48000 / samples.size


until = functools.partial(wait.until, every=0.1)


async def test_a_recording_survives_kill_9_and_is_sealed_on_restart(
    emulator: Emulator, tmp_path: Path
) -> None:
    station = make_station(tmp_path / "station", show_start=None)
    alice = emulator.world.people["alice"]
    port = free_port()
    (station.root / "station.yaml").write_text(
        f"name: Tiny FM\ntimezone: UTC\nfallback: music\nlive: {{port: {port}, grace: 1}}\n"
    )
    (station.root / "schedules" / "week.yaml").write_text(
        "shows:\n  - id: night\n    title: Night Live\n"
        "    days: [mon, tue, wed, thu, fri, sat, sun]\n"
        '    start: "00:00"\n    end: "00:00"\n'
        f"    presenters: [{alice.id}]\n    live: {{allowed: true, record: true}}\n"
        "    rotation: [{playlist: music}]\n"
    )
    database = Database(station.data / "radio.sqlite3")
    user = PresenterCredentials(database).set_password(alice.id, "alice", PASSWORD).user
    database.close()
    folder = station.data / "recordings" / "night"

    first = await start_app(emulator, station.root, station.data, port)
    encoder = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
         f"sine=frequency={LIVE_HZ}:duration=60:sample_rate=48000", "-c:a", "libmp3lame",
         "-b:a", "128k", "-content_type", "audio/mpeg", "-f", "mp3",
         f"icecast://{user}:{PASSWORD}@127.0.0.1:{port}/live"],
        stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # A few seconds of the presenter are on disk (Opus at 128 kb/s: 16 kB/s).
        await until(lambda: sum(p.stat().st_size for p in folder.glob("*.opus")) > 64_000)
    finally:
        assert await stop_child(first, signal.SIGKILL) == -signal.SIGKILL
        encoder.kill()
        encoder.wait()
    [recording] = list(folder.glob("*.opus"))
    assert recording.with_name(recording.name + ".recording").exists()
    partial, _ = decode(recording)
    assert len(partial) >= 2 * 48000  # it plays, up to its last page
    assert abs(dominant(partial[24000:]) - LIVE_HZ) < 5

    second = await start_app(emulator, station.root, station.data, port)
    try:
        # The start seals the file and clears its marker before anything else.
        await until(lambda: not recording.with_name(recording.name + ".recording").exists())
    finally:
        assert await stop_child(second, signal.SIGTERM) == 0
    sealed, complaints = decode(recording)
    assert complaints == ""
    assert len(sealed) >= len(partial) - 2 * 48000
    database = Database(station.data / "radio.sqlite3")
    try:
        [session] = LiveSessions(database).recent(5)
    finally:
        database.close()
    assert session.presenter_name == "alice"
    assert session.end_reason == "interrupted"
    assert session.recording == str(recording)
