"""The demo DJ talks over the music: bob on the broadcast room, unmuted, a few spurts.

:class:`StageTalk` carries out the page's *Talk on the stage* control through
the local Discord's control API (``/control/speakers``), the calls a script
would make with ``curl``:

1. ``{"name": "bob", "action": "enter", "channel_id": ROOM, "muted": true}``:
   bob on the broadcast room (the voice room, or the stage as a speaker);
2. ``{"name": "bob", "action": "talk", "spurts": TALK_SPURTS}``: unmuted, his
   voice packets (SPEAKING first) for about four seconds in three spurts;
3. once the talk is over (a new report in ``GET /control/speakers``),
   ``{"name": "bob", "action": "mute"}``: he stays in the room, muted.

bob is a DJ, and a DJ may key the duck at any time, so the station ducks the
music while he talks and lets it come back after him. A voice room works as a
stage does: the station counts a member of its broadcast room who is not
suppressed (never, in a voice room) and not muted as on the stage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

import aiohttp

from radio.demo.members import READY_TIMEOUT_S, Outcome, refused
from radio.sandbox.state import JSON

logger = logging.getLogger(__name__)

TALKER: Final = "bob"  # the demo's DJ
TALK_SPURTS: Final = ((1.3, 0.3), (1.0, 0.3), (1.1, 0.0))  # seconds talking, then paused
TALK_SECONDS: Final = sum(talk + pause for talk, pause in TALK_SPURTS)
POLL_S: Final = 0.2
# How long past the talk's own length the end is waited for before bob is muted anyway.
END_GRACE_S: Final = 30.0


class StageTalk:
    """Makes the demo DJ talk on ``room_id`` through the control API at
    ``control_url`` (set at start). ``ready(timeout)`` as for
    :class:`~radio.demo.members.MemberDesk`."""

    def __init__(self, room_id: int, ready: Callable[[float], Awaitable[bool]]) -> None:
        self._room_id = room_id
        self._ready = ready
        self.control_url = ""
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._starting = False

    @property
    def talking(self) -> bool:
        """True from the control until bob is muted again."""
        return self._starting or (self._task is not None and not self._task.done())

    async def talk(self) -> Outcome:
        """Put bob on the room and start his talk; never raises for what the page sends.

        Answers 200 once the talk has started (it goes on in the background), 409
        while he is already talking, 503 when the bot is not ready in time or the
        local Discord refuses or does not answer.
        """
        if self.talking:
            return refused(409, f"{TALKER} is already talking on the stage.")
        self._starting = True
        try:
            if not await self._ready(READY_TIMEOUT_S):
                return refused(503, "The station is not on the air yet; try again in a moment.")
            await self._post({"name": TALKER, "action": "enter", "channel_id": self._room_id})
            before = len(await self._reports())
            spurts = [list(spurt) for spurt in TALK_SPURTS]
            await self._post({"name": TALKER, "action": "talk", "spurts": spurts})
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("the stage talk could not reach the local Discord: %s", exc)
            return refused(503, "The local Discord did not answer; see the terminal.")
        finally:
            self._starting = False
        self._task = asyncio.get_running_loop().create_task(
            self._mute_after(before), name="stage-talk"
        )
        self._task.add_done_callback(_report)
        logger.info("%s talks on the stage for %.1f s", TALKER, TALK_SECONDS)
        return Outcome(200, {"ok": True, "member": TALKER, "seconds": TALK_SECONDS})

    async def _mute_after(self, before: int) -> None:
        try:
            async with asyncio.timeout(TALK_SECONDS + END_GRACE_S):
                while len(await self._reports()) <= before:
                    await asyncio.sleep(POLL_S)
        except TimeoutError:
            logger.warning("%s's talk did not end in time; muting him", TALKER)
        await self._post({"name": TALKER, "action": "mute"})

    async def _post(self, body: JSON) -> None:
        async with self._session().post(f"{self.control_url}/speakers", json=body) as answer:
            if answer.status >= 400:
                reason = (await answer.text())[:200]
                raise aiohttp.ClientResponseError(
                    answer.request_info, (), status=answer.status, message=reason
                )

    async def _reports(self) -> list[JSON]:
        async with self._session().get(f"{self.control_url}/speakers") as answer:
            answer.raise_for_status()
            data = await answer.json()
        return data if isinstance(data, list) else []

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._http

    async def close(self) -> None:
        """Stop waiting for a talk's end and close the HTTP session. Idempotent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task  # a failure was logged by _report
            self._task = None
        if self._http is not None:
            await self._http.close()
            self._http = None


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("muting the demo DJ after his talk failed", exc_info=task.exception())


__all__ = ["TALKER", "TALK_SECONDS", "TALK_SPURTS", "StageTalk"]
