"""The demo's control room page on 127.0.0.1: hear the listener, see what plays, act.

- ``GET /``           the page: an ``<audio>`` element on the live stream; now playing,
                      next up, the request queue, the day's schedule, who is live (and
                      how to go live); the studio room as the chosen member sees it in
                      Discord; a member picker, a command box and buttons (polled every
                      second; plain HTML, CSS and JavaScript)
- ``GET /live.wav``   the listener's decoded audio as one endless WAV stream (48 kHz
                      stereo 16-bit; the header announces the largest size a WAV allows),
                      starting at the live edge
- ``GET /now.json``   ``?member=NAME``: what the station is playing and the room as
                      that member sees it, as JSON (the demo's ``now``)
- ``POST /act``       ``{"member": "alice", "text": "/request sunrise"}``: the member
                      posts that (the demo's ``act``); ``{"ok": true, ...}``, or
                      ``{"ok": false, "error": "...", "status": 400|503}`` for a
                      refused action (HTTP 200: the page shows the sentence); a
                      malformed body is an HTTP 400
- ``POST /talk``      the demo DJ (bob) talks on the broadcast room for about four
                      seconds, so the station ducks the music under him (the
                      demo's ``talk``, :mod:`radio.demo.stage_talk`); answered like
                      ``/act``, once the talk has started

The stream is cut from the emulator's listener record: exactly the packets the
listener decoded in the broadcast room, in arrival order.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

from aiohttp import web

from radio.demo.page_html import PAGE
from radio.sandbox.record import CHANNELS, SAMPLE_RATE, ListenerRecord

logger = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
STREAM_POLL_S: Final = 0.1
# A few packets before the live edge, so that a new listener starts with audio at once.
HEAD_START_PACKETS: Final = 10
_WAV_MAX: Final = 0xFFFFFFFF


def streaming_wav_header() -> bytes:
    """A 44-byte WAV header for an endless 48 kHz stereo s16le stream."""
    byte_rate = SAMPLE_RATE * CHANNELS * 2
    return (
        b"RIFF"
        + struct.pack("<I", _WAV_MAX)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, CHANNELS, SAMPLE_RATE, byte_rate, CHANNELS * 2, 16)
        + b"data"
        + struct.pack("<I", _WAV_MAX - 36)
    )


class ListenerTap:
    """Reads the decoded audio of one room from a :class:`ListenerRecord`, incrementally.

    The record may forget its oldest packets (a bounded demo record), so the
    cursor is an arrival instant, not an index.
    """

    def __init__(self, record: ListenerRecord, channel_id: int) -> None:
        self._record = record
        self._channel_id = channel_id

    def _mine(self) -> list[tuple[float, bytes]]:
        packets = list(self._record.packets)  # the listener thread appends concurrently
        return [
            (p.arrival, p.pcm)
            for p in packets
            if p.pcm is not None and p.channel_id == self._channel_id
        ]

    def live_edge(self, head_start: int = HEAD_START_PACKETS) -> float:
        """A cursor ``head_start`` packets before the newest one (-inf when none yet)."""
        mine = self._mine()
        if len(mine) <= head_start:
            return float("-inf")
        return mine[-head_start - 1][0]

    def since(self, cursor: float) -> tuple[bytes, float]:
        """The PCM of the packets that arrived after ``cursor``, and the new cursor."""
        mine = self._mine()
        start = bisect.bisect_right([arrival for arrival, _ in mine], cursor)
        fresh = mine[start:]
        if not fresh:
            return b"", cursor
        return b"".join(pcm for _, pcm in fresh), fresh[-1][0]

    def heard_packets(self) -> int:
        """How many decoded packets of the room the record holds."""
        return len(self._mine())


class Answer(Protocol):
    """What an action answers: an HTTP status and a JSON body."""

    @property
    def status(self) -> int: ...
    @property
    def body(self) -> dict[str, Any]: ...


MAX_BODY: Final = 16_384  # an action is a member's name and one message


class ListeningPage:
    """The HTTP server of the page. ``now(member)`` returns the JSON of ``/now.json``;
    ``act(member, text)`` carries out ``POST /act``; ``talk()`` ``POST /talk`` (404
    without it)."""

    def __init__(
        self,
        tap: ListenerTap,
        now: Callable[[str | None], dict[str, Any]],
        act: Callable[[str, str], Awaitable[Answer]],
        talk: Callable[[], Awaitable[Answer]] | None = None,
    ) -> None:
        self._tap = tap
        self._now = now
        self._act = act
        self._talk = talk
        self._runner: web.AppRunner | None = None
        self._streams: set[web.StreamResponse] = set()
        self._closing = asyncio.Event()
        self.url = ""

    def app(self) -> web.Application:
        """The aiohttp application (routes above)."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get("/", self._index)
        app.router.add_get("/now.json", self._now_json)
        app.router.add_post("/act", self._act_json)
        if self._talk is not None:
            app.router.add_post("/talk", self._talk_json)
        app.router.add_get("/live.wav", self._live)
        return app

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:``port`` (0: any free port); return the page's URL.

        Raises OSError when the port cannot be bound.
        """
        runner = web.AppRunner(
            self.app(), handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await runner.setup()
        site = web.TCPSite(runner, HOST, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        server = site._server  # aiohttp exposes the bound port only through the server
        assert isinstance(server, asyncio.base_events.Server)
        bound = int(server.sockets[0].getsockname()[1])
        self.url = f"http://{HOST}:{bound}/"
        return self.url

    async def stop(self) -> None:
        """End every stream and stop serving. Idempotent."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", charset="utf-8")

    async def _now_json(self, request: web.Request) -> web.Response:
        return _json(200, self._now(request.query.get("member")))

    async def _act_json(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _json(400, {"ok": False, "error": "The body is not JSON."})
        except web.HTTPRequestEntityTooLarge:
            return _json(413, {"ok": False, "error": "That is too long for one message."})
        if not isinstance(body, dict) or not all(
            isinstance(body.get(key), str) for key in ("member", "text")
        ):
            return _json(400, {"ok": False, "error": 'Send {"member": "...", "text": "..."}.'})
        answer = await self._act(body["member"], body["text"])
        # A refused action is an answered request (the page shows the sentence as
        # Discord's client would); only a malformed request is an HTTP error.
        return _json(200, answer.body | {"status": answer.status})

    async def _talk_json(self, request: web.Request) -> web.Response:
        assert self._talk is not None  # the route exists only with it
        answer = await self._talk()
        return _json(200, answer.body | {"status": answer.status})

    async def _live(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "audio/wav", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        await response.write(streaming_wav_header())
        cursor = self._tap.live_edge()
        try:
            while not self._closing.is_set():
                chunk, cursor = self._tap.since(cursor)
                if chunk:
                    await response.write(chunk)
                await asyncio.sleep(STREAM_POLL_S)
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the listener closed the page
        return response


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
