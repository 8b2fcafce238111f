"""A running station for the web tests: the real StationApp and bot on the local Discord,
its web face on a free port of 127.0.0.1, and helpers to read it over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from radio.app import AppOptions, StationApp
from radio.audio import synth
from radio.bot.client import Backoff, RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.events import Event
from radio.sandbox import Emulator, point_discord_at

# (file stem, title, artist, Hz, seconds)
TONES = (
    ("a", "Tone A", "Band A", 440.0, 2.0),
    ("b", "Tone B", "Band B", 550.0, 2.5),
    ("c", "Tone C", "Band C", 660.0, 2.0),
)
TITLES = {title for _, title, _, _, _ in TONES}
REQUEST_TITLE = "Request Me"


async def until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll on the loop; fail after ``timeout`` (a deadlock guard, not a measure)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


def write_station(root: Path, *, presenter: int, web: str = "") -> None:
    """A UTC station: a sequential fallback of three short tones, a requestable
    playlist, and an all-week show that ``presenter`` may take live."""
    for stem, title, artist, hz, seconds in TONES:
        path = root / "media" / "music" / f"{stem}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        synth.tone(path, hz, seconds, level_dbfs=-18.0, title=title, artist=artist)
    request = root / "media" / "requests" / "r.flac"
    request.parent.mkdir(parents=True)
    synth.tone(request, 1000.0, 3.0, level_dbfs=-18.0, title=REQUEST_TITLE, artist="Req Band")
    (root / "station.yaml").write_text(
        "name: Tiny FM\ntimezone: UTC\nfallback: music\nlive: {grace: 0.5, fade: 0.2}\n" + web,
        encoding="utf-8",
    )
    (root / "playlists").mkdir()
    (root / "playlists" / "music.yaml").write_text(
        "sources: [media/music]\norder: sequential\n", encoding="utf-8"
    )
    (root / "playlists" / "requests.yaml").write_text(
        "sources: [media/requests]\norder: sequential\nrequestable: true\n", encoding="utf-8"
    )
    (root / "schedules").mkdir()
    (root / "schedules" / "week.yaml").write_text(WEEK.format(presenter=presenter), "utf-8")


WEEK = (
    "shows:\n"
    "  - id: night\n"
    "    title: Night Live\n"
    "    days: [mon, tue, wed, thu, fri, sat, sun]\n"
    '    start: "00:00"\n'
    '    end: "00:00"\n'
    "    presenters: [{presenter}]\n"
    "    live: {{allowed: true}}\n"
    "    rotation: [{{playlist: music}}]\n"
)


@dataclass
class Station:
    app: StationApp
    emulator: Emulator
    events: list[Event]
    root: Path
    http: aiohttp.ClientSession

    @property
    def base(self) -> str:
        assert self.app.web is not None
        return f"http://127.0.0.1:{self.app.web.port}"

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path) as answer:
            return answer.status, await answer.text()

    async def json(self, path: str = "/api/nowplaying/tiny_fm") -> Any:
        async with self.http.get(self.base + path) as answer:
            assert answer.status == 200, await answer.text()
            return await answer.json()

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics by (name, sorted labels)."""
        status, text = await self.get("/metrics")
        assert status == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


@pytest.fixture
def web_yaml() -> str:
    """Extra station.yaml lines (a test may override the fixture)."""
    return ""


@pytest.fixture
def web_port() -> int:
    """The web face's port (0: any free one; a test may override the fixture)."""
    return 0


@pytest.fixture
async def station(tmp_path: Path, web_yaml: str, web_port: int) -> AsyncIterator[Station]:
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emulator:
        world = emulator.world
        root = tmp_path / "station"
        write_station(root, presenter=world.people["alice"].id, web=web_yaml)
        config = DiscordConfig.model_validate(
            {
                "guilds": [
                    {
                        "id": world.guild.id,
                        "broadcast": world.voice_channel.id,
                        "admins": world.text_channel.id,
                    }
                ]
            }
        )
        app = StationApp(
            root,
            root / "data",
            config,
            clock=SystemClock(),
            monotonic=time.monotonic,
            options=AppOptions(
                normalize=False,
                connect_timeout=3.0,
                poll_interval=0.05,
                watch_interval=0.2,
                backoff=Backoff(base=0.1, cap=0.5),
                realtime_sender=False,
                live_port=0,
                web_port=web_port,
                bot_options={"guild_ready_timeout": 0.05},
            ),
        )
        events: list[Event] = []
        app.events.subscribe(events.append)
        stop = asyncio.Event()
        addresses = emulator.addresses
        task = asyncio.create_task(
            app.run(world.token, stop, before_start=lambda bot: point_discord_at(bot, addresses))
        )
        try:
            room = world.guild.id
            await until(
                lambda: (
                    task.done()
                    or (
                        app.bot.rooms[room].state is RoomState.ON_AIR
                        and app.ingest is not None
                        and app.ingest.listening
                        and (app.web is None or app.web.listening)
                        and app.announcer.track is not None
                    )
                )
            )
            assert not task.done()
            async with aiohttp.ClientSession() as http:
                yield Station(app, emulator, events, root, http)
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 15)
