"""The public page in a real headless Chromium: it shows what the station plays and keeps
it current, shows the week's calendar, and its player plays the configured stream (here
an Ogg/Opus file served on 127.0.0.1 in the Icecast mount's place), with no console error."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from support.chromium import CHROMIUM, chromium
from support.http import http_server

from .conftest import TITLES, Station

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test does)"),
]


@pytest.fixture
async def stream_url(tmp_path: Path) -> AsyncIterator[str]:
    """An Ogg/Opus stream (ten seconds of 440 Hz made by FFmpeg) on a free local port."""
    ogg = tmp_path / "stream.ogg"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
         "-c:a", "libopus", "-b:a", "64k", str(ogg)],
        check=True,
    )  # fmt: skip
    app = web.Application()

    async def stream(request: web.Request) -> web.FileResponse:
        return web.FileResponse(ogg, headers={"Content-Type": "audio/ogg"})

    app.router.add_get("/stream.ogg", stream)
    async with http_server(app) as base:
        yield f"{base}/stream.ogg"


@pytest.fixture
def web_yaml(stream_url: str) -> str:
    return f"web: {{public_stream_url: '{stream_url}'}}\n"


async def test_the_page_shows_the_track_the_week_and_plays_the_stream(
    station: Station, stream_url: str, tmp_path: Path
) -> None:
    async with chromium(tmp_path / "profile") as browser:
        page = await browser.new_page()
        await page.send("Page.navigate", url=station.base + "/")
        async with asyncio.timeout(60):
            while (title := await page.evaluate(_text("title"))) not in TITLES:
                await asyncio.sleep(0.1)
        assert await page.evaluate(_text("station")) == "Tiny FM"
        assert await page.evaluate(_text("artist")) == "Band " + title[-1]
        # the script keeps it current: the 2-2.5 s tracks change under it
        async with asyncio.timeout(60):
            while (shown := await page.evaluate(_text("title"))) == title:
                await asyncio.sleep(0.1)
        assert shown in TITLES
        # the week, from radio grid --html's calendar, in its frame
        async with asyncio.timeout(60):
            while not await page.evaluate(
                "(document.getElementById('calendar').contentDocument || {body: null}).body"
                " ?.innerText.includes('Night Live') === true"
            ):
                await asyncio.sleep(0.1)
        # the player: its source is the configured stream, and it plays
        assert await page.evaluate("document.getElementById('player').src") == stream_url
        played = await page.evaluate(
            "document.getElementById('player').play().then(() => 'playing', e => e.name)"
        )
        assert played == "playing"
        async with asyncio.timeout(60):
            while not await page.evaluate(
                "(p => p.readyState >= 2 && p.currentTime > 0.5 && !p.error)"
                "(document.getElementById('player'))"
            ):
                await asyncio.sleep(0.1)
        assert page.errors == []


def _text(element_id: str) -> str:
    return f"document.getElementById('{element_id}')?.textContent ?? null"
