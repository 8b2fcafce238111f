"""Requests queued on Discord, the bot killed with SIGKILL and restarted: the queue is intact."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from radio.sandbox import Emulator

from .e2e import until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EPHEMERAL = 64


async def start_bot(emulator: Emulator, db: Path) -> subprocess.Popen[str]:
    world = emulator.world
    addresses = emulator.addresses
    args = {
        "addresses": {
            "http_port": addresses.http_port,
            "voice_port": addresses.voice_port,
            "udp_port": addresses.udp_port,
            "cert_path": str(addresses.cert_path),
        },
        "token": world.token,
        "db": str(db),
        "config": {"guilds": [{"id": world.guild.id, "broadcast": world.voice_channel.id}]},
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "bot" / "bot_process.py"), json.dumps(args)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
    assert line.strip() == "ready", line
    return process


async def slash(emulator: Emulator, author: str, name: str, **options: object) -> str:
    interaction = await emulator.inject_interaction(
        author, name, [{"name": k, "value": v} for k, v in options.items()]
    )
    await until(lambda: interaction.response_message_id is not None)
    return emulator.world.messages[interaction.response_message_id or 0].content


async def test_queue_survives_sigkill_of_the_bot(emulator: Emulator, tmp_path: Path) -> None:
    db = tmp_path / "radio.sqlite3"
    first = await start_bot(emulator, db)
    try:
        for author, query in (("alice", "so what"), ("bob", "naima"), ("carol", "peace")):
            reply = await slash(emulator, author, "request", query=query)
            assert reply.startswith("Queued **"), reply
        before = await slash(emulator, "alice", "queue")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert first.stdout is not None
        first.stdout.close()
    assert first.returncode == -signal.SIGKILL

    sessions = len(emulator.gateway.sessions)
    second = await start_bot(emulator, db)
    try:
        assert len(emulator.gateway.sessions) > sessions  # a new process, a new session
        after = await slash(emulator, "alice", "queue")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait()
        assert second.stdout is not None
        second.stdout.close()
    people = emulator.world.people
    assert after == before
    assert after.splitlines() == [
        f"1. Miles Davis – So What · <@{people['alice'].id}> · #1",
        f"2. John Coltrane – Naima · <@{people['bob'].id}> · #2",
        f"3. Bill Evans – Peace Piece · <@{people['carol'].id}> · #3",
    ]
