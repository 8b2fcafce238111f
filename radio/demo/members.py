"""A member acts from the demo's page: a message or a slash command, through the
local Discord's control API.

:class:`MemberDesk` takes what the page sends (a member's name and what they
typed) and posts it as that member with the control API (``/control/messages``,
``/control/interactions``), exactly as a test or ``curl`` would. Text starting
with ``/`` runs a registered slash command (its words fill the command's options
in order; the last option takes the rest); anything else is a message in the
studio room, so prefix commands (``!request sunrise``) work as typed.

Nothing is lost at start: an action waits until the station's bot is connected
(bounded by :data:`READY_TIMEOUT_S`), then is sent; past that the member is told
the station is not ready. Every refusal is one short sentence for the page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from radio.sandbox.state import JSON, World

logger = logging.getLogger(__name__)

READY_TIMEOUT_S: Final = 30.0
MAX_TEXT: Final = 2000  # Discord's limit for one message
_SUB_COMMAND: Final = 1
_SUB_COMMAND_GROUP: Final = 2
_INTEGER: Final = 4
_NUMBER: Final = 10
_BOOLEAN: Final = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the page answers: an HTTP status and a JSON body (``ok`` or ``error``)."""

    status: int
    body: dict[str, Any]


def refused(status: int, error: str) -> Outcome:
    return Outcome(status, {"ok": False, "error": error})


class MemberDesk:
    """Posts a member's action through the control API at ``control_url`` (set at start).

    ``ready(timeout)`` resolves True once the bot can hear commands, False when
    it did not become ready within ``timeout`` seconds.
    """

    def __init__(self, world: World, ready: Callable[[float], Awaitable[bool]]) -> None:
        self._world = world
        self._ready = ready
        self.control_url = ""
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session. Idempotent."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def act(self, member: str, text: str) -> Outcome:
        """Post ``text`` as ``member``; never raises for what the page sends.

        Refuses (400) an unknown member, an empty or over-long text, an unknown
        slash command or a wrong argument; answers 503 when the bot is not
        ready in time or the local Discord cannot be reached.
        """
        people = sorted(self._world.people)
        if member not in self._world.people:
            return refused(400, f"Pick a member: {', '.join(people)}.")
        text = text.strip()
        if not text:
            return refused(400, "Type a message or a command, e.g. !np or /request sunrise.")
        if len(text) > MAX_TEXT:
            return refused(400, f"A message is at most {MAX_TEXT:,} characters ({len(text):,}).")
        if not await self._ready(READY_TIMEOUT_S):
            return refused(503, "The station's bot is not ready yet: try again in a moment.")
        if text.startswith("/"):
            parsed = self._slash(text)
            if isinstance(parsed, Outcome):
                return parsed
            name, options = parsed
            return await self._post(
                "interactions", {"author": member, "name": name, "options": options}, "slash"
            )
        return await self._post("messages", {"author": member, "content": text}, "message")

    def _slash(self, text: str) -> tuple[str, list[JSON]] | Outcome:
        name, _, rest = text[1:].partition(" ")
        command = self._command(name)
        if command is None:
            known = ", ".join(sorted({f"/{c.get('name')}" for c in self._commands()}))
            return refused(400, f"There is no command /{name[:32]}; try one of {known}.")
        specs: list[JSON] = list(command.get("options") or [])
        if specs and specs[0].get("type") in (_SUB_COMMAND, _SUB_COMMAND_GROUP):
            sub, _, rest = rest.strip().partition(" ")
            found = next((o for o in specs if o.get("name") == sub), None)
            if found is None:
                subs = " | ".join(str(o.get("name")) for o in specs)
                return refused(400, f"/{name} needs one of: {subs}.")
            inner = _fill(name + " " + sub, list(found.get("options") or []), rest)
            if isinstance(inner, Outcome):
                return inner
            return name, [{"name": sub, "type": found.get("type"), "options": inner}]
        filled = _fill(name, specs, rest)
        if isinstance(filled, Outcome):
            return filled
        return name, filled

    def _commands(self) -> list[JSON]:
        guild = self._world.guild.id
        return [*self._world.commands.get(guild, []), *self._world.commands.get(0, [])]

    def _command(self, name: str) -> JSON | None:
        return next((c for c in self._commands() if c.get("name") == name), None)

    async def _post(self, path: str, body: JSON, kind: str) -> Outcome:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        try:
            async with self._http.post(f"{self.control_url}/{path}", json=body) as answer:
                if answer.status >= 400:
                    reason = (await answer.text())[:200]
                    logger.info("the local Discord refused a page action: %s", reason)
                    return refused(400, reason)
                data = await answer.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("the page could not reach the local Discord: %s", exc)
            return refused(503, "The local Discord did not answer; see the terminal.")
        return Outcome(200, {"ok": True, "sent": kind, "id": data.get("id")})


def _fill(name: str, specs: list[JSON], rest: str) -> list[JSON] | Outcome:
    """The words of ``rest`` as ``specs``' options, in order; the last takes the rest."""
    rest = rest.strip()
    if not specs:
        return [] if not rest else refused(400, f"/{name} takes no argument.")
    words = rest.split(maxsplit=len(specs) - 1) if rest else []
    out: list[JSON] = []
    for spec, word in zip(specs, words, strict=False):
        kind = spec.get("type", 3)
        value: object = word
        if kind == _INTEGER:
            try:
                value = int(word)
            except ValueError:
                return refused(
                    400, f"/{name}: {spec.get('name')} is a whole number, not “{word[:24]}”."
                )
        elif kind == _NUMBER:
            try:
                value = float(word)
            except ValueError:
                return refused(400, f"/{name}: {spec.get('name')} is a number, not “{word[:24]}”.")
        elif kind == _BOOLEAN:
            value = word.casefold() in ("yes", "true", "1", "on")
        out.append({"name": spec.get("name"), "type": kind, "value": value})
    missing = [str(s.get("name")) for s in specs[len(out) :] if s.get("required")]
    if missing:
        usage = " ".join(f"<{s.get('name')}>" for s in specs)
        return refused(400, f"/{name} needs {', '.join(missing)}: /{name} {usage}")
    return out
