"""A minimal real discord.py bot for the emulator's own end-to-end tests.

The station's bot (issue 5) replaces it in the station's tests; this one only
does what a test tells it to, through discord.py's public API.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import discord

from radio.sandbox import Emulator, point_discord_at


class TestBot(discord.Client):
    """A plain ``discord.Client`` that remembers the messages it saw."""

    __test__ = False  # not a pytest class

    def __init__(self, **options: Any) -> None:
        intents = options.pop("intents", None) or discord.Intents.default()
        intents.message_content = options.pop("message_content", True)
        # discord.py waits this long after the last GUILD_CREATE for more guilds
        # (2 s by default); the sandbox has exactly one.
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(intents=intents, **options)
        self.seen: list[discord.Message] = []
        self.interactions: list[discord.Interaction] = []
        self.resumed_count = 0
        self.ready_count = 0
        self.message_event = asyncio.Event()

    async def on_ready(self) -> None:
        self.ready_count += 1

    async def on_resumed(self) -> None:
        self.resumed_count += 1

    async def on_message(self, message: discord.Message) -> None:
        self.seen.append(message)
        self.message_event.set()


async def wait_for(predicate: Any, *, timeout: float = 10.0, step: float = 0.01) -> None:
    """Poll ``predicate()`` on the event loop until true; fail the test after ``timeout``."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(step)


@contextlib.asynccontextmanager
async def running_bot(
    emulator: Emulator, *, token: str | None = None, **options: Any
) -> AsyncIterator[TestBot]:
    """Start a TestBot against ``emulator``, wait until READY, close it afterwards.

    ``token`` picks the bot account (default the first bot's)."""
    client = TestBot(**options)
    point_discord_at(client, emulator.addresses)
    task = asyncio.create_task(client.start(token or emulator.world.token))
    try:
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()  # raises what start() raised
        assert ready in done, "bot did not become ready"
        yield client
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5)


async def play_and_wait(vc: discord.VoiceClient, source: discord.AudioSource) -> None:
    """Play ``source`` to its end (including discord.py's trailing silence frames)."""
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[Exception | None] = loop.create_future()

    def after(error: Exception | None) -> None:
        loop.call_soon_threadsafe(finished.set_result, error)

    vc.play(source, after=after)
    error = await asyncio.wait_for(finished, 60)
    if error is not None:
        raise error
