"""Discord's message markdown as safe HTML, for the demo's control room page.

:func:`to_html` renders the part of Discord's markdown that the station's
messages use: ``**bold**``, ``*italics*`` and ``_italics_``, ``__underline__``,
``~~strike~~``, ``` `code` ``` and fenced code blocks, ``> quotes``, backslash
escapes, and mentions (``<@id>``, ``<@&role>``, ``<#room>``) by name. Everything
else is text: the input is escaped before any tag is made, so what a member
typed can never become markup on the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Final

_CODE: Final = re.compile(r"```(?:[a-z0-9_+-]*\n)?([\s\S]*?)```|``([^`]+?)``|`([^`\n]+)`")
_ESCAPED: Final = re.compile(r"\\([\\*_~`|>#<@:\-\[\]()])")
_USER: Final = re.compile(r"&lt;@!?(\d{1,20})&gt;")
_ROLE: Final = re.compile(r"&lt;@&amp;(\d{1,20})&gt;")
_ROOM: Final = re.compile(r"&lt;#(\d{1,20})&gt;")
_INLINE: Final = (
    (re.compile(r"\*\*(.+?)\*\*", re.S), "strong"),
    (re.compile(r"__(.+?)__", re.S), "u"),
    (re.compile(r"\*(?!\s)(.+?)(?<!\s)\*", re.S), "em"),
    (re.compile(r"(?<![0-9A-Za-z])_(.+?)_(?![0-9A-Za-z])", re.S), "em"),
    (re.compile(r"~~(.+?)~~", re.S), "s"),
)
_HOLE: Final = "\ue000"  # a private-use character marks a finished piece of HTML
_PIECE: Final = re.compile(_HOLE + r"(\d+)" + _HOLE)
MAX_INPUT: Final = 8_000  # a message and its embeds stay far below; bounded work all the same


def to_html(
    text: str,
    users: Mapping[int, str] | None = None,
    *,
    roles: Mapping[int, str] | None = None,
    rooms: Mapping[int, str] | None = None,
) -> str:
    """``text`` rendered as Discord shows it, as an HTML fragment safe to insert.

    Mentions become ``@name`` (``@unknown-user`` for an id not in ``users``, as
    Discord shows one), role mentions ``@role`` and room mentions ``#room``.
    Line breaks become ``<br>``. Never raises; input past MAX_INPUT characters is cut.
    """
    pieces: list[str] = []

    def keep(fragment: str) -> str:
        pieces.append(fragment)
        return f"{_HOLE}{len(pieces) - 1}{_HOLE}"

    source = text[:MAX_INPUT].replace(_HOLE, "")

    def code(match: re.Match[str]) -> str:
        block, double, single = match.groups()
        if block is not None:
            return keep(f"<pre><code>{html.escape(block.strip(chr(10)))}</code></pre>")
        return keep(f"<code>{html.escape(double if double is not None else single)}</code>")

    source = _CODE.sub(code, source)
    source = _ESCAPED.sub(lambda m: keep(html.escape(m[1])), source)
    out = html.escape(source, quote=True)
    known_users = users or {}
    out = _ROLE.sub(
        lambda m: keep(_mention("@", (roles or {}).get(int(m[1]), "unknown-role"))), out
    )
    out = _USER.sub(lambda m: keep(_mention("@", known_users.get(int(m[1]), "unknown-user"))), out)
    out = _ROOM.sub(lambda m: keep(_mention("#", (rooms or {}).get(int(m[1]), "unknown"))), out)
    for pattern, tag in _INLINE:
        out = pattern.sub(f"<{tag}>\\1</{tag}>", out)
    out = _quotes(out)
    out = out.replace("\n", "<br>")
    # pieces may hold pieces (an escape inside nothing else does today): resolve twice
    for _ in range(2):
        out = _PIECE.sub(lambda m: pieces[int(m[1])], out)
    return out


def _mention(sigil: str, name: str) -> str:
    return f'<span class="mention">{sigil}{html.escape(name)}</span>'


def _quotes(out: str) -> str:
    """Lines starting ``> `` (escaped as ``&gt; ``) become one blockquote each."""
    lines = out.split("\n")
    return "\n".join(
        f"<blockquote>{line[5:]}</blockquote>" if line.startswith("&gt; ") else line
        for line in lines
    )
