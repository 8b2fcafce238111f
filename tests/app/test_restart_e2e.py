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

import pytest

from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.analysis import missing_sequences, tone_runs
from radio.sandbox.child import start_child, stop_child

from .conftest import make_station, rtp_steps

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# The first request is long: it is still playing when the first process is killed,
# however slowly a busy machine lets the test notice that it started.
REQUESTS = (
    ("Req One", "Req Band", 1000.0, 180.0),
    ("Req Two", "Req Band", 1100.0, 20.0),
    ("Req Three", "Req Band", 1200.0, 20.0),
)


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


def heard(emulator: Emulator, since: int = 0) -> list[float]:
    packets = emulator.record.audio_packets(channel_id=emulator.world.voice_channel.id)
    runs = tone_runs(emulator.record.pcm(packets[since:]))
    values = [float(round(run.frequency)) for run in runs]
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


async def until_heard(emulator: Emulator, since: int, frequency: float) -> None:
    """Wait until the listener has heard ``frequency`` in packets from ``since`` on
    (a deadlock guard bounds the wait; it is not a measure)."""
    async with asyncio.timeout(120):
        while frequency not in heard(emulator, since):
            await asyncio.sleep(0.25)


async def until_tones(emulator: Emulator, count: int) -> None:
    """Wait until the listener has heard ``count`` tones one after the other."""
    async with asyncio.timeout(120):
        while len(heard(emulator)) < count:
            await asyncio.sleep(0.25)


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
    before = heard(emulator)
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
    assert heard(emulator, mark)[0] == 1000.0
