"""The station's commands on the local Discord: allowed and refused, slash and prefix."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from discord.ext import commands

from radio.audio.track import Track
from radio.bot.announcements import Announcer
from radio.bot.catalogue import Catalogue, separation_refusal
from radio.bot.client import RadioBot
from radio.bot.commands import RadioCommands, Services
from radio.bot.permissions import Slot
from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.state import Interaction, Message
from radio.store.db import Database
from radio.store.history import PlayHistory
from radio.store.requests import RequestQueue

from .e2e import on_air, until
from .test_schedule import WEEK

pytestmark = pytest.mark.e2e

EPHEMERAL = 64
SO_WHAT = Track("/m/so-what.flac", "So What", "Miles Davis")
NAIMA = Track("/m/naima.flac", "Naima", "John Coltrane")
PEACE = Track("/m/peace-piece.flac", "Peace Piece", "Bill Evans")


class Controls:
    """Our test double of the station's controls: counts skips."""

    def __init__(self) -> None:
        self.skips = 0

    def skip(self) -> bool:
        self.skips += 1
        return True

    def next_up(self) -> Track | None:
        return NAIMA


async def answer(emulator: Emulator, author: str, name: str, **options: object) -> Message:
    """Run slash command ``name`` as ``author``; return the bot's response message."""
    interaction: Interaction = await emulator.inject_interaction(
        author, name, [{"name": k, "value": v} for k, v in options.items()]
    )
    await until(lambda: interaction.response_message_id is not None)
    return emulator.world.messages[interaction.response_message_id or 0]


async def test_commands_by_allowed_and_refused_members(emulator: Emulator, tmp_path: Path) -> None:
    world = emulator.world
    role = {r.name: r.id for r in world.guild.roles.values()}
    db = Database(tmp_path / "radio.sqlite3")
    queue = RequestQueue(db, quota=2, cooldown=timedelta(0))
    history = PlayHistory(db)
    history.record(Track("/m/other.flac", "Other", "Bill Evans"), SystemClock().now())
    controls = Controls()

    def separation(track: Track, now: datetime) -> str | None:
        return separation_refusal(track, now, history, artist=timedelta(hours=1), title=None)

    def cogs(bot: RadioBot, announcer: Announcer) -> list[commands.Cog]:
        services = Services(
            config=bot.config,
            queue=queue,
            catalogue=Catalogue([SO_WHAT, NAIMA, PEACE]),
            controls=controls,
            rooms=bot,
            clock=SystemClock(),
            slot_now=lambda: Slot("Evening Live", frozenset({world.people["bob"].id})),
            announcer=announcer,
            station_name="Sandbox FM",
            grid=lambda: WEEK,
            diagnostics=lambda: ["frames sent: 42"],
            history=history,
            request_check=separation,
        )
        return [RadioCommands(services)]

    roles = {"dj": [role["dj"]], "admin": [role["admin"]]}
    owners = [world.people["bob"].id]
    async with on_air(emulator, world.voice_channel.id, roles=roles, owners=owners, cogs=cogs) as (
        bot,
        _,
    ):
        registered = {c["name"] for c in world.commands[world.guild.id]}
        assert {"np", "request", "queue", "cancel", "skip", "move", "clear", "live"} <= registered
        assert {"at", "grid", "settings", "join", "leave", "diag"} <= registered

        queued = await answer(emulator, "alice", "request", query="so what")
        assert queued.content.startswith("Queued **Miles Davis – So What** (request 1, number 1")
        assert not queued.flags & EPHEMERAL
        assert [r.track for r in queue.pending()] == [SO_WHAT]

        too_soon = await answer(emulator, "alice", "request", query="peace piece")
        assert too_soon.flags & EPHEMERAL
        assert too_soon.content.startswith("Bill Evans was played just now; the station waits")
        assert [r.track for r in queue.pending()] == [SO_WHAT]
        recent = await answer(emulator, "alice", "history")
        assert recent.content.endswith("Bill Evans – Other")

        refused = await answer(emulator, "alice", "skip")
        assert refused.flags & EPHEMERAL
        assert refused.content == (
            f"This command is for DJs: you need one of these roles: "
            f"<@&{min(role['dj'], role['admin'])}>, <@&{max(role['dj'], role['admin'])}>."
        )
        assert controls.skips == 0

        skipped = await answer(emulator, "bob", "skip")
        assert (skipped.content, controls.skips) == ("Skipped.", 1)

        await answer(emulator, "bob", "request", query="naima")
        listing = await answer(emulator, "alice", "queue")
        assert listing.flags & EPHEMERAL
        alice, bob = world.people["alice"].id, world.people["bob"].id
        assert listing.content.splitlines() == [
            f"1. Miles Davis – So What · <@{alice}> · #1",
            f"2. John Coltrane – Naima · <@{bob}> · #2",
        ]
        moved = await answer(emulator, "bob", "move", request_id=2, place=1)
        assert moved.content.splitlines()[:2] == [
            "Moved request 2 to number 1: it plays after the current track.",
            f"1. John Coltrane – Naima · <@{bob}> · #2",
        ]

        not_yours = await answer(emulator, "bob", "cancel", request_id=1)
        assert (not_yours.content, not_yours.flags & EPHEMERAL) == (
            "You have no request number 1.",
            EPHEMERAL,
        )
        cleared = await answer(emulator, "carol", "clear")  # admin: also a DJ
        assert cleared.content == "Cleared the queue (2 requests)."
        assert queue.pending() == []

        day = await answer(emulator, "alice", "schedule", day="2026-11-23")
        assert day.flags & EPHEMERAL
        assert day.content.splitlines()[:3] == [
            "**Monday 23 November 2026** (Europe/Paris)",
            "`00:00–07:00` Non-stop music",
            "`07:00–08:00` Morning Hits",
        ]
        at_refused = await answer(emulator, "alice", "at", when="2026-11-23 08:10")
        assert at_refused.content.startswith("This command is for programmers")
        at = await answer(emulator, "carol", "at", when="2026-11-23 08:10")
        assert at.content == "At Mon 2026-11-23 08:10 (Europe/Paris): **news**, until Mon 08:30."

        owner_only = await answer(emulator, "carol", "diag")
        assert owner_only.content == "This command is for the bot's owner only."
        diag = await answer(emulator, "bob", "diag")  # bob owns the bot in this test
        assert diag.flags & EPHEMERAL
        lines = diag.content.strip("`\n").splitlines()
        assert lines[0] == "discord.py 2.7.1"
        assert [line.split(":")[0] for line in lines[1:5]] == [
            "davey",
            "libopus",
            "ffmpeg",
            "ffprobe",
        ]
        assert all(": ok (" in line for line in lines[1:5])
        assert lines[5:] == ["frames sent: 42"]

        # Prefix commands by mention (no message content intent): same checks.
        text = world.text_channel.id

        def bot_posts() -> list[str]:
            return [m.content for m in world.messages_in(text) if m.author.id == world.bot.id]

        before = len(bot_posts())
        mention = f"<@{world.bot.id}>"
        await emulator.inject_message("alice", f"{mention} skip")
        await until(lambda: len(bot_posts()) == before + 1)
        assert bot_posts()[-1].startswith("This command is for DJs")  # DMs closed: a reply
        await emulator.inject_message("bob", f"{mention} request naima")
        await until(lambda: len(bot_posts()) == before + 2)
        assert bot_posts()[-1].startswith("Queued **John Coltrane – Naima** (request 3,")
        assert controls.skips == 1
        assert [r.track for r in queue.pending()] == [NAIMA]
        assert bot.rooms[world.guild.id].joins == 1
