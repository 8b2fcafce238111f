"""The now-playing JSON and /metrics while a presenter goes live through a real FFmpeg
encoder on the presenters' mount, and after they stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from radio.events import LiveEnded, LiveStarted
from radio.sandbox.presenter import encoder_args, update_title
from radio.store.presenters import PresenterCredentials

from .conftest import Station, until

pytestmark = pytest.mark.e2e

PASSWORD = "alices-secret"


async def document_where(station: Station, check: Any) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            doc: dict[str, Any] = await station.json()
            if check(doc):
                return doc
            await asyncio.sleep(0.05)


async def test_live_fields_follow_the_presenter(station: Station) -> None:
    app = station.app
    alice = station.emulator.world.people["alice"]
    user = PresenterCredentials(app.db).set_password(alice.id, "alice", PASSWORD).user
    assert app.ingest is not None
    port = app.ingest.port
    quiet = await station.json()
    assert quiet["live"]["is_live"] is False
    process = await asyncio.create_subprocess_exec(
        *encoder_args(f"icecast://{user}:{PASSWORD}@127.0.0.1:{port}/live", seconds=8),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await until(lambda: any(isinstance(e, LiveStarted) for e in station.events))
        doc = await document_where(station, lambda d: d["live"]["is_live"])
        live = doc["live"]
        assert live["streamer_name"] == "alice" and isinstance(live["broadcast_start"], int)
        assert live["broadcast_start"] >= quiet["now_playing"]["played_at"]
        now = doc["now_playing"]
        assert now["streamer"] == "alice" and now["song"]["title"] == "Live with alice"
        assert now["played_at"] == live["broadcast_start"]
        assert doc["playing_next"] is None  # the programme's next track is not what comes next
        assert await update_title("127.0.0.1", port, user, PASSWORD, "Alice - Night Talk") == 200
        titled = await document_where(
            station, lambda d: d["now_playing"]["song"]["title"] == "Night Talk"
        )
        assert titled["now_playing"]["song"]["artist"] == "Alice"
        assert titled["now_playing"]["streamer"] == "alice"
        assert titled["song_history"][0]["song"]["title"] == "Live with alice"
        samples = await station.metrics()
        assert samples[("radio_live_sessions_total", ())] == 1
        await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    await until(lambda: any(isinstance(e, LiveEnded) for e in station.events))
    back = await document_where(
        station, lambda d: not d["live"]["is_live"] and d["now_playing"] is not None
    )
    assert back["live"] == {
        "is_live": False, "streamer_name": "", "broadcast_start": None, "art": None,
    }  # fmt: skip
    assert back["now_playing"]["streamer"] == "" and back["now_playing"]["playlist"] == "music"
    assert "Night Talk" in [row["song"]["title"] for row in back["song_history"]]
    samples = await station.metrics()
    assert samples[("radio_live_ended_total", (("reason", "ended"),))] == 1
