"""The invite link and the documented permissions integer agree with the code."""

from __future__ import annotations

from pathlib import Path

from radio.bot.invite import REQUIRED_PERMISSIONS, invite_url

DOCS = Path(__file__).resolve().parents[2] / "docs" / "discord.md"


def test_invite_url_has_both_scopes_and_the_permissions() -> None:
    url = invite_url(123456789012345678)
    assert url == (
        "https://discord.com/oauth2/authorize?client_id=123456789012345678"
        f"&scope=bot+applications.commands&permissions={REQUIRED_PERMISSIONS.value}"
    )


def test_documented_permissions_match_the_code() -> None:
    text = DOCS.read_text()
    value = REQUIRED_PERMISSIONS.value
    assert value == 8597359632
    assert f"Sum: **{value}**" in text
    assert f"permissions={value}" in text
    # Every permission in the table is one the code asks for, and vice versa.
    flags = {
        "View Channels": REQUIRED_PERMISSIONS.view_channel,
        "Send Messages": REQUIRED_PERMISSIONS.send_messages,
        "Embed Links": REQUIRED_PERMISSIONS.embed_links,
        "Read Message History": REQUIRED_PERMISSIONS.read_message_history,
        "Connect": REQUIRED_PERMISSIONS.connect,
        "Speak": REQUIRED_PERMISSIONS.speak,
        "Mute Members": REQUIRED_PERMISSIONS.mute_members,
        "Manage Channels": REQUIRED_PERMISSIONS.manage_channels,
        "Manage Events": REQUIRED_PERMISSIONS.manage_events,
    }
    assert all(flags.values())
    assert sum(1 for _ in REQUIRED_PERMISSIONS if _[1]) == len(flags)
    for name in flags:
        assert f"| {name} |" in text
