"""Who a Discord user is, for the live rules: their name, roles and level.

The encoder path knows only the user id behind a presenter's credentials; this
asks the station's guilds (the member cache first, then Discord's Get Guild
Member, which needs no privileged intent).
"""

from __future__ import annotations

import logging

import discord

from radio.bot.config import DiscordConfig
from radio.bot.permissions import Level, Member, levels_of
from radio.live.policy import MemberInfo

logger = logging.getLogger(__name__)


async def member_info(
    client: discord.Client, config: DiscordConfig, user_id: int
) -> MemberInfo | None:
    """``user_id`` as a member of the first configured guild that has them, or None
    (not a member anywhere, or Discord could not be asked: logged)."""
    for guild_config in config.guilds:
        guild = client.get_guild(guild_config.id)
        if guild is None:
            continue
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.NotFound:
                continue
            except discord.HTTPException as exc:
                logger.warning("cannot look up member %d in guild %d: %s", user_id, guild.id, exc)
                continue
        roles = frozenset(role.id for role in member.roles)
        levels = levels_of(
            Member(user_id, roles, administrator=member.guild_permissions.administrator),
            guild_config.roles,
            config.owners,
        )
        return MemberInfo(name=member.display_name, role_ids=roles, privileged=Level.DJ in levels)
    return None


__all__ = ["member_info"]
