"""``radio run`` end to end on the local Discord: what the operator starts is what runs.

The emulator runs in the test process; ``radio run`` in a child process, with
its settings from the environment and the station file's ``discord:`` section
(tests/app/run_process.py points discord.py at the emulator and nothing else).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.child import stop_child

from .conftest import make_station, whole_seconds_after

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "app" / "run_process.py"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emu:
        yield emu


def discord_section(emulator: Emulator) -> str:
    world = emulator.world
    return (
        "discord:\n"
        "  guilds:\n"
        f"    - id: {world.guild.id}\n"
        f"      broadcast: {world.voice_channel.id}\n"
        f"      announcements: {world.text_channel.id}\n"
    )


def start_radio_run(
    emulator: Emulator, station: Path, log: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``radio run`` in the station folder, as an operator starts it (the data folder
    is the station file's ``data:``); ``extra_env`` adds variables (other voices' tokens)."""
    env = {
        **(extra_env or {}),
        **{k: v for k, v in os.environ.items() if k != "RADIO_DATA_DIR"},
        "DISCORD_TOKEN": emulator.world.token,
        "RADIO_STATION_FILE": str(station / "station.yaml"),
        "RADIO_REALTIME_SENDER": "false",
        "SSL_CERT_FILE": str(emulator.addresses.cert_path),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with log.open("w") as err:
        return subprocess.Popen(
            [sys.executable, str(SCRIPT), json_addresses(emulator), "--env-file", os.devnull],
            cwd=station,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )


def json_addresses(emulator: Emulator) -> str:
    return json.dumps(emulator.addresses.to_json())


async def until(condition: object, process: subprocess.Popen[str], log: Path) -> None:
    """Wait for ``condition()`` while ``radio run`` lives (a deadlock guard bounds it)."""
    assert callable(condition)
    async with asyncio.timeout(60):
        while not condition():
            assert process.poll() is None, f"radio run exited:\n{log.read_text()}"
            await asyncio.sleep(0.1)


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def test_radio_run_mirrors_a_show_three_hours_ahead_as_a_scheduled_event(
    emulator: Emulator, tmp_path: Path
) -> None:
    start = whole_seconds_after(SystemClock().now(), 3 * 3600)
    station = make_station(tmp_path / "station", show_start=start)
    with (station.root / "station.yaml").open("a", encoding="utf-8") as file:
        # No listening ports of its own (the presenters' mount, the web page): the
        # test must not depend on which ports are free on the machine.
        file.write(
            "data: state\nlive: {enabled: false}\nweb: {enabled: false}\n"
            + discord_section(emulator)
        )
    guild = emulator.world.guild
    log = tmp_path / "radio-run.log"
    process = start_radio_run(emulator, station.root, log)
    try:
        await until(lambda: bool(guild.scheduled_events), process, log)
        # The voice room too: radio run is on air, not only mirroring.
        await until(
            lambda: emulator.record.audio_packets(channel_id=emulator.world.voice_channel.id),
            process,
            log,
        )
    finally:
        code = await stop_child(process, signal.SIGTERM)
    events = [event.fields for event in guild.scheduled_events.values()]
    assert [event["name"] for event in events] == ["The Hard Start"]
    (event,) = events
    assert parse(event["scheduled_start_time"]) == start
    assert parse(event["scheduled_end_time"]) == start + timedelta(hours=1)
    assert int(event["channel_id"]) == emulator.world.voice_channel.id
    assert code == 0, log.read_text()
    # The station file's data: key named the data folder.
    assert (station.root / "state" / "radio.sqlite3").is_file()
    assert not station.data.exists()
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "ERROR" not in text, text
