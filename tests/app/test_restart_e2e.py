"""The station application in its own process on the local Discord: every frame heard,
requests played in order at track boundaries, and after SIGKILL and a restart the
queue is intact.

The emulator (and its listener) runs in the test process and the application in
a child process, as on a real server: the station is alone in its interpreter.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.analysis import missing_sequences, mono, rms
from radio.sandbox.child import start_child, stop_child
from radio.sandbox.record import SAMPLE_RATE, PacketRecord

from .conftest import FALLBACK_TONES, make_station, rtp_steps

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# The first request is long: it is still playing when the first process is killed,
# however slowly a busy machine lets the test notice that it started.
REQUESTS = (
    ("Req One", "Req Band", 1000.0, 180.0),
    ("Req Two", "Req Band", 1100.0, 20.0),
    ("Req Three", "Req Band", 1200.0, 20.0),
)
STATION_TONES = (*(hz for *_, hz, _ in FALLBACK_TONES), *(hz for _, _, hz, _ in REQUESTS))


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    # The listener stamps arrivals on its own thread; a 1 ms GIL switch interval
    # keeps the emulator's event loop from delaying those stamps by up to 5 ms.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emu:
            yield emu
    finally:
        sys.setswitchinterval(interval)


async def start_app(emulator: Emulator, station: Path, data: Path) -> subprocess.Popen[str]:
    world = emulator.world
    addresses = emulator.addresses
    roles = {role.name: role.id for role in world.guild.roles.values()}
    args = {
        "addresses": addresses.to_json(),
        "token": world.token,
        "station": str(station),
        "data": str(data),
        "config": {
            "guilds": [
                {
                    "id": world.guild.id,
                    "broadcast": world.voice_channel.id,
                    "announcements": world.text_channel.id,
                    "programmers": world.text_channel.id,
                    "roles": {"dj": [roles["dj"]], "admin": [roles["admin"]]},
                }
            ]
        },
    }
    script = ROOT / "tests" / "app" / "app_process.py"
    return await start_child([sys.executable, str(script)], args, pythonpath=ROOT)


class Listening:
    """The tones heard so far, one after the other, read packet by packet as they come.

    Waiting must cost little whatever has been heard: ``tone_runs`` over the whole
    recording (a million-point FFT per 50 ms window) took seconds of CPU per look on
    a busy machine while the station played on (the kill came after the second and
    third requests had played). Here each new packet is looked at once (an
    8,192-point FFT) and named after the nearest tone of the station.
    """

    def __init__(self, emulator: Emulator, since: int = 0) -> None:
        self._emulator = emulator
        self._next = since
        self.tones: list[float] = []

    def update(self) -> list[float]:
        room = self._emulator.world.voice_channel.id
        packets = self._emulator.record.audio_packets(channel_id=room)
        for packet in packets[self._next :]:
            tone = packet_tone(packet)
            if tone is not None and (not self.tones or self.tones[-1] != tone):
                self.tones.append(tone)
        self._next = max(self._next, len(packets))
        return self.tones


def packet_tone(packet: PacketRecord) -> float | None:
    """The station's tone a packet carries; None for silence, a mixture or no audio."""
    if packet.pcm is None:
        return None
    signal = mono(np.frombuffer(packet.pcm, dtype=np.int16).reshape(-1, 2))
    if rms(signal) < 0.01:
        return None
    windowed = (signal - signal.mean()) * np.hanning(signal.size)
    points = 1 << 13  # 5.9 Hz bins: the tones are at least 100 Hz apart
    peak = float(np.argmax(np.abs(np.fft.rfft(windowed, n=points)))) * SAMPLE_RATE / points
    nearest = min(STATION_TONES, key=lambda hz: abs(hz - peak))
    return nearest if abs(nearest - peak) < 15.0 else None


async def until_heard(emulator: Emulator, since: int, frequency: float) -> None:
    """Wait until the listener has heard ``frequency`` in packets from ``since`` on
    (a deadlock guard bounds the wait; it is not a measure)."""
    listening = Listening(emulator, since)
    async with asyncio.timeout(120):
        while frequency not in listening.update():
            await asyncio.sleep(0.1)


async def until_tones(emulator: Emulator, count: int) -> None:
    """Wait until the listener has heard ``count`` tones one after the other."""
    listening = Listening(emulator)
    async with asyncio.timeout(120):
        while len(listening.update()) < count:
            await asyncio.sleep(0.1)


@pytest.mark.timeout(600)  # a deadlock guard: a 180 s tone is generated, then waits
async def test_requests_survive_sigkill_and_play_in_order(
    emulator: Emulator, tmp_path: Path
) -> None:
    station = make_station(tmp_path / "station", show_start=None, requests=REQUESTS)
    room = emulator.world.voice_channel.id
    first = await start_app(emulator, station.root, station.data)
    try:
        # Three track changes of the fallback (2-2.5 s tones) before any request.
        await until_tones(emulator, 4)
        replies = [
            await emulator.slash_reply(author, "request", query=title)
            for author, title in (("alice", "req one"), ("bob", "req two"), ("carol", "req three"))
        ]
        # The first request plays at the end of the fallback track on air.
        await until_heard(emulator, 0, 1000.0)
    finally:
        assert await stop_child(first, signal.SIGKILL) == -signal.SIGKILL
    assert [r.split(" (request")[0] for r in replies] == [
        "Queued **Req Band – Req One**",
        "Queued **Req Band – Req Two**",
        "Queued **Req Band – Req Three**",
    ]

    packets = emulator.record.audio_packets(channel_id=room)
    assert missing_sequences(packets) == []
    # Every frame was sent: RTP timestamps advance by one frame per packet. (How
    # evenly they arrived is a benchmark figure: bench/app_onair.py.)
    assert rtp_steps(packets) == {960}
    before = Listening(emulator).update()
    # The fallback in its sequential order (440, 550, 660, ...), then the first request.
    cycle = [440.0, 550.0, 660.0]
    music, last = before[:-1], before[-1]
    assert last == 1000.0, before
    assert len(music) >= 4, before
    start = cycle.index(music[0])
    assert music == [cycle[(start + i) % 3] for i in range(len(music))], before

    mark = len(emulator.record.audio_packets(channel_id=room))
    second = await start_app(emulator, station.root, station.data)
    try:
        # Nothing plays at the start: the interrupted request is the first track.
        await until_heard(emulator, mark, 1000.0)
        queue = await emulator.slash_reply("alice", "queue")
    finally:
        assert await stop_child(second, signal.SIGTERM) == 0
    people = emulator.world.people
    # The request that was playing when the process died plays again first (the
    # others are listed in order, the next one perhaps already opened).
    # Whether the next one is already opened ("up next") depends on timing.
    lines = [line.removesuffix(" · up next") for line in queue.splitlines()]
    assert lines == [
        f"▶ Req Band – Req One · <@{people['alice'].id}> · #1",
        f"1. Req Band – Req Two · <@{people['bob'].id}> · #2",
        f"2. Req Band – Req Three · <@{people['carol'].id}> · #3",
    ]
    assert Listening(emulator, mark).update()[0] == 1000.0
