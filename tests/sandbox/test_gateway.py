"""Gateway behaviour the bot can observe: intents, message content, slash commands."""

from __future__ import annotations

import time

import aiohttp
import discord
import pytest

from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.state import INTENT_GUILD_MEMBERS

from .bot import TestBot, running_bot, wait_for


async def test_ready_brings_the_guild_with_its_rooms_roles_and_members(emulator: Emulator) -> None:
    intents = discord.Intents.default()
    intents.members = True
    async with running_bot(emulator, intents=intents) as bot:
        guild = bot.get_guild(emulator.world.guild.id)
    assert guild is not None
    assert guild.chunked
    kinds = sorted(type(c).__name__ for c in guild.channels)
    assert kinds == ["StageChannel", "TextChannel", "VoiceChannel"]
    assert sorted(r.name for r in guild.roles) == ["@everyone", "admin", "dj", "listener"]
    assert sorted(m.name for m in guild.members) == ["alice", "bob", "carol", "radio-bot"]
    assert guild.me.guild_permissions.administrator


async def test_privileged_intent_not_granted_closes_with_4014() -> None:
    async with Emulator(
        clock=SystemClock(), monotonic=time.monotonic, allowed_intents=INTENT_GUILD_MEMBERS
    ) as emulator:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_bot(emulator, message_content=True):
                pass


async def test_injected_message_reaches_the_bot(emulator: Emulator, bot: TestBot) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{emulator.addresses.control_url}/messages"
        async with http.post(url, json={"author": "alice", "content": "!request song"}) as answer:
            assert answer.status == 200

    await wait_for(lambda: len(bot.seen) == 1)
    message = bot.seen[0]
    assert (message.author.name, message.content) == ("alice", "!request song")
    assert message.channel.id == emulator.world.text_channel.id


async def test_content_is_blanked_without_the_intent_unless_the_bot_is_mentioned(
    emulator: Emulator,
) -> None:
    async with running_bot(emulator, message_content=False) as bot:
        await emulator.inject_message("bob", "!skip")
        await emulator.inject_message("bob", f"<@{emulator.world.bot.id}> hello")
        await wait_for(lambda: len(bot.seen) == 2)

    assert [m.content for m in bot.seen] == ["", f"<@{emulator.world.bot.id}> hello"]


async def test_slash_command_round_trip(emulator: Emulator) -> None:
    async with running_bot(emulator) as bot:
        tree = discord.app_commands.CommandTree(bot)
        answered: list[str] = []

        @tree.command(name="nowplaying", description="What is on air")
        async def nowplaying(interaction: discord.Interaction, verbose: bool = False) -> None:
            answered.append(interaction.user.name)
            await interaction.response.send_message(f"440 Hz (verbose={verbose})")
            await interaction.followup.send("and more")

        guild = discord.Object(emulator.world.guild.id)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        assert [c.name for c in synced] == ["nowplaying"]

        async with aiohttp.ClientSession() as http:
            url = f"{emulator.addresses.control_url}/interactions"
            option = {"name": "verbose", "value": True}
            body = {"author": "carol", "name": "nowplaying", "options": [option]}
            async with http.post(url, json=body) as answer:
                iid = (await answer.json())["id"]
            await wait_for(lambda: bool(emulator.world.interactions[int(iid)].followup_ids))
            async with http.get(f"{url}/{iid}") as answer:
                outcome = await answer.json()

    assert answered == ["carol"]
    assert outcome["response_type"] == 4
    contents = [m.content for m in emulator.world.messages_in(emulator.world.text_channel.id)]
    assert contents == ["440 Hz (verbose=True)", "and more"]
