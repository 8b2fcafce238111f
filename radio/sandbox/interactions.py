"""Slash commands run by the emulated people: INTERACTION_CREATE payloads."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from radio.sandbox.state import ADMINISTRATOR, JSON, Interaction

if TYPE_CHECKING:
    from radio.sandbox.server import Emulator

# Every permission bit Discord defines today (an admin's resolved permissions).
_ALL_PERMISSIONS = (1 << 51) - 1


def _registered(emulator: Emulator, guild_id: int, name: str) -> JSON:
    world = emulator.world
    for scope in (guild_id, 0):
        for command in world.commands.get(scope, []):
            if command.get("name") == name:
                return command
    raise LookupError(f"no application command named {name!r} is registered")


def _typed_options(command: JSON, options: list[dict[str, Any]]) -> list[JSON]:
    # A caller may omit an option's type; take it from the registered command.
    declared = {str(o.get("name")): o for o in command.get("options", [])}
    out: list[JSON] = []
    for option in options:
        entry = dict(option)
        if "type" not in entry:
            spec = declared.get(str(entry.get("name")))
            if spec is None:
                raise LookupError(f"/{command['name']} has no option {entry.get('name')!r}")
            entry["type"] = spec.get("type", 3)
        out.append(entry)
    return out


async def build_interaction(
    emulator: Emulator,
    author: str,
    name: str,
    options: list[dict[str, Any]],
    channel_id: int | None,
) -> Interaction:
    """Create, store and dispatch an INTERACTION_CREATE for ``/name`` run by ``author``."""
    world = emulator.world
    cid = world.text_channel.id if channel_id is None else channel_id
    guild = world.guild_of(cid)
    channel = guild.channels[cid]
    command = _registered(emulator, guild.id, name)
    user_id = emulator.person(author)
    member = guild.members[user_id]
    now = emulator.clock.now()
    interaction = Interaction(
        id=emulator.snowflakes.make(now),
        token=secrets.token_urlsafe(24),
        channel_id=channel.id,
        user_id=user_id,
        name=name,
        options=_typed_options(command, options),
    )
    world.interactions[interaction.id] = interaction
    is_admin = any(guild.roles[r].permissions & ADMINISTRATOR for r in member.role_ids)
    permissions = _ALL_PERMISSIONS if is_admin else guild.roles[guild.id].permissions
    payload: JSON = {
        "id": str(interaction.id),
        "application_id": str(world.application_id),
        "type": 2,
        "data": {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": interaction.options,
            "guild_id": str(guild.id),
        },
        "guild_id": str(guild.id),
        "channel_id": str(channel.id),
        "channel": channel.payload(guild.id),
        "member": member.payload() | {"permissions": str(permissions)},
        "token": interaction.token,
        "version": 1,
        "app_permissions": str(_ALL_PERMISSIONS),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "attachment_size_limit": 10_485_760,
    }
    await emulator.gateway.dispatch("INTERACTION_CREATE", payload)
    return interaction
