"""Requests queued on Discord, the bot killed with SIGKILL and restarted: the queue is intact."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from radio.sandbox import Emulator
from radio.sandbox.child import start_child, stop_child

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EPHEMERAL = 64


async def start_bot(emulator: Emulator, db: Path) -> subprocess.Popen[str]:
    world = emulator.world
    addresses = emulator.addresses
    args = {
        "addresses": addresses.to_json(),
        "token": world.token,
        "db": str(db),
        "config": {"guilds": [{"id": world.guild.id, "broadcast": world.voice_channel.id}]},
    }
    script = ROOT / "tests" / "bot" / "bot_process.py"
    return await start_child([sys.executable, str(script)], args, timeout=30, pythonpath=ROOT)


async def test_queue_survives_sigkill_of_the_bot(emulator: Emulator, tmp_path: Path) -> None:
    db = tmp_path / "radio.sqlite3"
    first = await start_bot(emulator, db)
    try:
        for author, query in (("alice", "so what"), ("bob", "naima"), ("carol", "peace")):
            reply = await emulator.slash_reply(author, "request", query=query)
            assert reply.startswith("Queued **"), reply
        before = await emulator.slash_reply("alice", "queue")
    finally:
        assert await stop_child(first, signal.SIGKILL) == -signal.SIGKILL

    sessions = len(emulator.gateway.sessions)
    second = await start_bot(emulator, db)
    try:
        assert len(emulator.gateway.sessions) > sessions  # a new process, a new session
        after = await emulator.slash_reply("alice", "queue")
    finally:
        await stop_child(second, signal.SIGTERM)
    people = emulator.world.people
    assert after == before
    assert after.splitlines() == [
        f"1. Miles Davis – So What · <@{people['alice'].id}> · #1",
        f"2. John Coltrane – Naima · <@{people['bob'].id}> · #2",
        f"3. Bill Evans – Peace Piece · <@{people['carol'].id}> · #3",
    ]
