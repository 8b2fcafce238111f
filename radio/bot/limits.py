"""Discord's length limits, as the bot keeps them: one source of truth for every reply.

Discord refuses (HTTP 400, "Invalid Form Body") a message whose content passes
2,000 characters, or an embed past its limits; so every reply is cut to fit
before it is sent, with an ellipsis where it was cut. A member's own words are
quoted back short and on one line (:func:`quote`): a 5,000-character request
must not make a 5,000-character refusal.
"""

from __future__ import annotations

from typing import Any

import discord

MESSAGE = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000
QUOTE = 60  # characters of a member's input quoted back

ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """``text`` when it fits in ``limit`` characters, else its start and an ellipsis
    (exactly ``limit`` characters)."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def fit(text: str) -> str:
    """A message's content within Discord's 2,000 characters."""
    return cut(text, MESSAGE)


def quote(words: str, limit: int = QUOTE) -> str:
    """A member's input quoted back in a reply: one line, Markdown and mentions
    inert, at most ``limit`` characters of it, between quotation marks."""
    line = " ".join(words.split())
    short = cut(line, limit)
    safe = discord.utils.escape_mentions(discord.utils.escape_markdown(short))
    return f"“{safe}”"


def fit_embed(embed: dict[str, Any]) -> dict[str, Any]:
    """A copy of an embed (Discord's JSON shape) within every limit: title,
    description, field names and values, footer, author, at most 25 fields, and
    6,000 characters in all (the description is shortened first, then the last
    fields are dropped)."""
    out = dict(embed)
    if "title" in out:
        out["title"] = cut(str(out["title"]), EMBED_TITLE)
    if "description" in out:
        out["description"] = cut(str(out["description"]), EMBED_DESCRIPTION)
    if isinstance(out.get("footer"), dict) and "text" in out["footer"]:
        out["footer"] = {**out["footer"], "text": cut(str(out["footer"]["text"]), FOOTER_TEXT)}
    if isinstance(out.get("author"), dict) and "name" in out["author"]:
        out["author"] = {**out["author"], "name": cut(str(out["author"]["name"]), AUTHOR_NAME)}
    fields = [
        {
            **f,
            "name": cut(str(f.get("name", "")), FIELD_NAME),
            "value": cut(str(f.get("value", "")), FIELD_VALUE),
        }
        for f in list(out.get("fields") or [])[:EMBED_FIELDS]
    ]
    if "fields" in out:
        out["fields"] = fields
    excess = embed_size(out) - EMBED_TOTAL
    if excess > 0 and out.get("description"):
        description = str(out["description"])
        out["description"] = cut(description, max(1, len(description) - excess))
    while embed_size(out) > EMBED_TOTAL and out.get("fields"):
        out["fields"] = out["fields"][:-1]
    return out


def embed_size(embed: dict[str, Any]) -> int:
    """The characters of an embed that count towards Discord's 6,000."""
    footer = embed.get("footer") if isinstance(embed.get("footer"), dict) else {}
    author = embed.get("author") if isinstance(embed.get("author"), dict) else {}
    size = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    size += len(str((footer or {}).get("text") or "")) + len(str((author or {}).get("name") or ""))
    for f in embed.get("fields") or []:
        size += len(str(f.get("name") or "")) + len(str(f.get("value") or ""))
    return size
