"""The admins' ``settings`` command, rendered: the effective configuration in one embed.

A pure function of the ``discord:`` section, the station's name and time zone,
and what the application says of its deployment (data folder, log level). It
never sees the token: nothing here can print it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from discord.utils import escape_markdown

from radio.bot.announcements import EMBED_COLOUR, EMBED_FIELD_MAX, clip
from radio.bot.config import DiscordConfig, GuildConfig

NOT_SET = "not set"


@dataclass(frozen=True, slots=True)
class Deployment:
    """The deployment settings the admins may see (the token is deliberately absent)."""

    data_dir: Path
    log_level: str


def _room(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id is not None else NOT_SET


def _roles(role_ids: Iterable[int], empty: str) -> str:
    mentions = [f"<@&{rid}>" for rid in sorted(role_ids)]
    return ", ".join(mentions) if mentions else empty


def _role_lines(guild: GuildConfig) -> str:
    roles = guild.roles
    return "\n".join(
        [
            f"listener: {_roles(roles.listener, 'everyone')}",
            f"presenter: {_roles(roles.presenter, 'none (only the grid’s presenters)')}",
            f"DJ: {_roles(roles.dj, 'none')}",
            f"programmer: {_roles(roles.programmer, 'none')}",
            f"admin: {_roles(roles.admin, 'none')}",
            "Discord administrators are radio admins: "
            + ("yes" if roles.discord_administrators_are_admins else "no"),
        ]
    )


def _voice_lines(config: DiscordConfig, guild: GuildConfig) -> str:
    # Each voice by the name of its token's variable: a token is never shown.
    lines = []
    for voice in config.voice_plan():
        room = voice.rooms.get(guild.id)
        here = _room(room) if room is not None else "no room here"
        elsewhere = len(voice.rooms) - (room is not None)
        more = f" (+{elsewhere} in other servers)" if elsewhere else ""
        role = " · answers commands" if voice.primary else ""
        lines.append(f"{escape_markdown(voice.name)} (`{voice.token_env}`): {here}{more}{role}")
    return "\n".join(lines)


def settings_embed(
    config: DiscordConfig,
    guild: GuildConfig,
    *,
    station: str,
    timezone: str,
    deployment: Deployment,
) -> dict[str, Any]:
    """The effective configuration seen from ``guild``, as an embed dictionary."""
    admins = _room(guild.admins)
    if guild.admins is None and guild.programmers is not None:
        admins = f"{_room(guild.programmers)} (the programmers' room)"
    owners = ", ".join(f"<@{uid}>" for uid in sorted(config.owners)) or "the application's owner"
    others = len(config.guilds) - 1
    fields: list[tuple[str, str, bool]] = [
        ("Station", f"{escape_markdown(station)} · {timezone}", False),
        ("Broadcast room", _room(guild.broadcast), True),
        ("Announcements", _room(guild.announcements), True),
        ("Now playing", config.now_playing, True),
        ("Programmers' room", _room(guild.programmers), True),
        ("Admins' room", admins, True),
        ("Other servers", str(others), True),
        ("Voices", _voice_lines(config, guild), False),
        ("Roles", _role_lines(guild), False),
        ("Owners", owners, True),
        (
            "Prefix",
            f"`{config.prefix}`"
            + (" (message content on)" if config.message_content else " (or a mention)"),
            True,
        ),
        ("Data folder", f"`{deployment.data_dir}`", False),
        ("Log level", deployment.log_level, True),
    ]
    return {
        "type": "rich",
        "title": clip(f"Settings of {escape_markdown(station)}", 256),
        "color": EMBED_COLOUR,
        "fields": [
            {"name": name, "value": clip(value, EMBED_FIELD_MAX), "inline": inline}
            for name, value, inline in fields
        ],
        "footer": {"text": "Secrets (the bot token) are never shown."},
    }
