"""The room's messages: as lines of text as they come (the terminal), and as the
member chosen on the page sees them in Discord (:func:`transcript`)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from radio.demo.markdown import to_html
from radio.sandbox.state import Message, World

EPHEMERAL = 1 << 6
_MENTION = re.compile(r"<@!?(\d+)>")


def describe(message: Message, names: Mapping[int, str] | None = None) -> str:
    """One line for ``message``: its author, its text, and each embed summarised.

    A now-playing embed reads ``♪ Title · by Artist · Show: … · Next up: …``.
    User mentions become ``@name`` when ``names`` knows the user.
    """
    parts: list[str] = []
    if message.content:
        parts.append(message.content.replace("\n", " / "))
    parts += [_embed(embed) for embed in message.embeds]
    text = " | ".join(part for part in parts if part) or "(empty)"
    known = names or {}
    text = _MENTION.sub(lambda m: f"@{known.get(int(m[1]), m[1])}", text)
    who = message.author.username
    private = " (only the caller sees this)" if message.flags & EPHEMERAL else ""
    return f"{who}{private}: {text}"


def _embed(embed: dict[str, Any]) -> str:
    bits = [f"♪ {embed['title']}"] if embed.get("title") else []
    if embed.get("description"):
        bits.append(str(embed["description"]).replace("**", ""))
    for entry in embed.get("fields") or []:
        bits.append(f"{entry.get('name')}: {entry.get('value')}")
    return " · ".join(bits)


class RoomWatcher:
    """Finds the messages posted or edited in ``channel_id`` since the last :meth:`poll`."""

    def __init__(self, world: World, channel_id: int) -> None:
        self._world = world
        self._channel_id = channel_id
        self._seen: dict[int, str | None] = {}  # message id -> edited timestamp printed

    def poll(self) -> list[tuple[Message, bool]]:
        """New or edited messages, oldest first, each with ``edited`` (True: seen before)."""
        out: list[tuple[Message, bool]] = []
        for message in self._world.messages_in(self._channel_id):
            if message.id not in self._seen:
                out.append((message, False))
            elif self._seen[message.id] != message.edited_timestamp:
                out.append((message, True))
            self._seen[message.id] = message.edited_timestamp
        return out


def line_for(
    message: Message,
    edited: bool,
    channel: str,
    clock: Callable[[], str],
    names: Mapping[int, str] | None = None,
) -> str:
    """The terminal line of one message: ``[HH:MM:SS #studio] author: text``."""
    mark = " (edited)" if edited else ""
    return f"[{clock()} #{channel}]{mark} {describe(message, names)}"


def transcript(
    world: World,
    channel_id: int,
    viewer: int | None,
    names: Mapping[int, str],
    tz: tzinfo,
    limit: int = 30,
) -> list[dict[str, Any]]:
    """The room's last ``limit`` messages as ``viewer`` sees them in Discord, for the page.

    Each is ``{id, author, bot, time, html, private, used}``: ``html`` is the
    content and embeds rendered with :func:`~radio.demo.markdown.to_html` (safe to
    insert), ``private`` True for an ephemeral reply, which only the member who ran
    the command sees (others' are left out), ``used`` the ``name used /command``
    line Discord shows above a slash command's reply, ``time`` ``HH:MM:SS`` in ``tz``.
    Deleted messages are left out.
    """
    rooms = {c.id: c.name for g in world.guilds.values() for c in g.channels.values()}
    roles = {r.id: r.name for g in world.guilds.values() for r in g.roles.values()}
    out: list[dict[str, Any]] = []
    for message in world.messages_in(channel_id):
        private = bool(message.flags & EPHEMERAL)
        interaction = (
            world.interactions.get(message.interaction_id)
            if message.interaction_id is not None
            else None
        )
        if private and (interaction is None or interaction.user_id != viewer):
            continue
        used = (
            f"{names.get(interaction.user_id, 'unknown-user')} used /{interaction.name}"
            if interaction is not None
            else ""
        )
        parts = (
            [to_html(message.content, names, roles=roles, rooms=rooms)] if message.content else []
        )
        parts += [_embed_html(embed, names, roles, rooms) for embed in message.embeds]
        out.append(
            {
                "id": str(message.id),
                "author": message.author.username,
                "bot": message.author.bot,
                "time": _clock(message.timestamp, tz),
                "html": "".join(parts),
                "private": private,
                "used": used,
            }
        )
    return out[-limit:]


def _embed_html(
    embed: dict[str, Any],
    names: Mapping[int, str],
    roles: Mapping[int, str],
    rooms: Mapping[int, str],
) -> str:
    def md(value: object) -> str:
        return to_html(str(value), names, roles=roles, rooms=rooms)

    bits = ['<div class="embed">']
    if embed.get("author", {}).get("name"):
        bits.append(f'<div class="embed-author">{html.escape(str(embed["author"]["name"]))}</div>')
    if embed.get("title"):
        bits.append(f'<div class="embed-title">{md(embed["title"])}</div>')
    if embed.get("description"):
        bits.append(f'<div class="embed-description">{md(embed["description"])}</div>')
    fields = [f for f in embed.get("fields") or [] if isinstance(f, dict)]
    if fields:
        bits.append('<div class="embed-fields">')
        for entry in fields:
            wide = "" if entry.get("inline") else " wide"
            bits.append(
                f'<div class="embed-field{wide}"><div class="embed-field-name">'
                f"{md(entry.get('name', ''))}</div><div>{md(entry.get('value', ''))}</div></div>"
            )
        bits.append("</div>")
    footer = embed.get("footer", {}).get("text") if isinstance(embed.get("footer"), dict) else None
    if footer:
        bits.append(f'<div class="embed-footer">{html.escape(str(footer))}</div>')
    bits.append("</div>")
    return "".join(bits)


def _clock(timestamp: str, tz: tzinfo) -> str:
    try:
        return datetime.fromisoformat(timestamp).astimezone(tz).strftime("%H:%M:%S")
    except ValueError:
        return ""
