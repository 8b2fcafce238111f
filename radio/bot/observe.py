"""What the bot can say about its broadcast rooms, for the station's metrics and page.

Read from discord.py's caches and the broadcaster's counters; nothing is asked of
Discord. Call it on the bot's event loop (the caches are changed there).
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from radio.bot.client import RadioBot, RoomState


@dataclass(frozen=True, slots=True)
class RoomReport:
    """One configured broadcast room.

    ``frames_sent`` counts the packets sent on the current voice connection (None
    while not connected); ``listeners`` the users in the room other than this bot
    and other known bots (None when the room is not in the cache).
    """

    guild: int
    room: int
    state: str
    on_air: bool
    joins: int
    last_close_code: int | None
    frames_sent: int | None
    listeners: int | None


def room_reports(bot: RadioBot) -> list[RoomReport]:
    """A report per configured guild, in configuration order."""
    reports = []
    for guild_id, room in bot.rooms.items():
        guild = bot.get_guild(guild_id)
        vc = guild.voice_client if guild is not None else None
        sent = bot.broadcaster.room_packets(vc) if vc is not None else None
        reports.append(
            RoomReport(
                guild=guild_id,
                room=room.broadcast,
                state=str(room.state),
                on_air=room.state is RoomState.ON_AIR,
                joins=room.joins,
                last_close_code=room.last_close_code,
                frames_sent=sent,
                listeners=listeners_in(bot, guild, room.broadcast),
            )
        )
    return reports


def listeners_in(bot: discord.Client, guild: discord.Guild | None, channel_id: int) -> int | None:
    """Users in voice room ``channel_id`` (from the gateway's voice states), leaving out
    this bot and members known to be bots; None when the room is not cached."""
    channel = guild.get_channel(channel_id) if guild is not None else None
    if guild is None or not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
        return None
    me = bot.user.id if bot.user is not None else None
    count = 0
    for user_id in list(channel.voice_states):
        if user_id == me:
            continue
        member = guild.get_member(user_id)
        if member is not None and member.bot:
            continue
        count += 1
    return count
