"""The room's messages as lines of text, as they come (for the demo's terminal and page)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

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
