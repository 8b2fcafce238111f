"""What the bot needs from a server: its permissions integer and the invite link."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

import discord

REQUIRED_PERMISSIONS: Final = discord.Permissions(
    view_channel=True,  # see its rooms
    send_messages=True,  # now-playing embeds and alerts
    embed_links=True,  # the now-playing embed
    read_message_history=True,  # edit its own now-playing message
    connect=True,  # join the voice or stage room
    speak=True,  # broadcast
    mute_members=True,  # become a stage speaker by itself (stage moderator)
    manage_channels=True,  # voice room status and stage topic
    manage_events=True,  # the week's shows as scheduled events
)

SCOPES: Final = ("bot", "applications.commands")


def invite_url(application_id: int) -> str:
    """The OAuth2 link a server admin opens to add the bot with what it needs."""
    query = urlencode(
        {
            "client_id": application_id,
            "scope": " ".join(SCOPES),
            "permissions": REQUIRED_PERMISSIONS.value,
        }
    )
    return f"https://discord.com/oauth2/authorize?{query}"
