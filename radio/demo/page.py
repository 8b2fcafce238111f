"""The demo's listening page on 127.0.0.1: hear what the listener hears, see what plays.

- ``GET /``           the page: an ``<audio>`` element on the live stream, now playing,
                      the request queue and the room's latest messages (polled every second)
- ``GET /live.wav``   the listener's decoded audio as one endless WAV stream (48 kHz
                      stereo 16-bit; the header announces the largest size a WAV allows),
                      starting at the live edge
- ``GET /now.json``   what the station is playing, as JSON (see :func:`now_playing`)

The stream is cut from the emulator's listener record: exactly the packets the
listener decoded in the broadcast room, in arrival order.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import struct
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

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


class ListeningPage:
    """The HTTP server of the page. ``now`` returns the JSON of ``/now.json``."""

    def __init__(self, tap: ListenerTap, now: Callable[[], dict[str, Any]]) -> None:
        self._tap = tap
        self._now = now
        self._runner: web.AppRunner | None = None
        self._streams: set[web.StreamResponse] = set()
        self._closing = asyncio.Event()
        self.url = ""

    def app(self) -> web.Application:
        """The aiohttp application (routes above)."""
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/now.json", self._now_json)
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
        return web.Response(
            text=json.dumps(self._now()),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

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


PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>radio demo</title>
<style>
 body { font: 16px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; }
 h1 { font-size: 1.4rem; } .muted { color: #666; } #track { font-size: 1.3rem; font-weight: 600; }
 audio { width: 100%; margin: 1rem 0; } li { margin: .2rem 0; }
 pre { background: #f4f4f4; padding: .6rem; white-space: pre-wrap; font-size: .85rem; }
</style></head>
<body>
<h1 id="station">radio demo</h1>
<p class="muted">What the listener in the local Discord's voice room hears, live.
Press play (browsers wait for a click before sound).</p>
<audio id="player" controls preload="none" src="live.wav"></audio>
<p><span class="muted">Show:</span> <span id="show">…</span></p>
<p id="track">…</p>
<p><span class="muted">Requested by:</span> <span id="requester">nobody</span> ·
<span class="muted">Next up:</span> <span id="next">…</span></p>
<h2>Request queue</h2><ol id="queue"></ol>
<h2>#studio</h2><pre id="messages"></pre>
<script>
async function refresh() {
  try {
    const now = await (await fetch('now.json', {cache: 'no-store'})).json();
    document.getElementById('station').textContent = now.station;
    document.getElementById('show').textContent = now.show || 'the fallback playlist';
    const t = now.track;
    document.getElementById('track').textContent =
      t ? (t.artist ? t.artist + ' – ' : '') + t.title : 'nothing (dead air)';
    document.getElementById('requester').textContent = (t && t.requested_by) || 'nobody';
    document.getElementById('next').textContent = now.next_up || 'not known yet';
    const queue = document.getElementById('queue');
    queue.replaceChildren(...now.queue.map(r => {
      const li = document.createElement('li');
      li.textContent = r.title + ' (' + r.requested_by + ')';
      return li;
    }));
    document.getElementById('messages').textContent = now.messages.join('\\n');
  } catch (e) { /* the demo stopped */ }
}
refresh(); setInterval(refresh, 1000);
</script>
</body></html>
"""
