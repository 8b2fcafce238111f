"""``python -m radio.sandbox`` runs the emulator in its own process."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import wave
from pathlib import Path

import aiohttp


async def test_standalone_process_announces_serves_and_stops(tmp_path: Path) -> None:
    wav = tmp_path / "heard.wav"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "radio.sandbox",
        "--token",
        "t0k3n",
        "--wav",
        str(wav),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        announced = json.loads(line)
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": "Bot t0k3n"}
            async with http.get(f"{announced['api_base']}/users/@me", headers=headers) as answer:
                me = await answer.json()
            async with http.get(f"{announced['control_url']}/world") as answer:
                world = await answer.json()
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)

    assert code == 0
    assert me["bot"] is True
    assert world["voice_channel_id"] == announced["voice_channel_id"]
    assert Path(announced["cert_path"]).exists() is False  # removed on stop
    with wave.open(str(wav)) as heard:
        assert (heard.getframerate(), heard.getnframes()) == (48000, 0)
