"""The station's HTTP face: an aiohttp server on the configured address.

Routes (all GET, HEAD too):

* ``/``: the public page (:mod:`radio.web.page`); ``/calendar``: the week's calendar;
  ``/listen.m3u`` and ``/listen.pls``: the public stream as a playlist (404 without one).
* ``/api/nowplaying``: a list of one now-playing document; ``/api/nowplaying/<station>``
  the document of the station named by its short code or its ID (1), in AzuraCast's shape
  (:mod:`radio.web.nowplaying`). Any origin may read them (widgets live on other sites).
* ``/metrics``: Prometheus's text format (:mod:`radio.web.metrics`).
* ``/healthz``: 200 while the station sends, 503 with the reason when not
  (:mod:`radio.web.health`).

The handlers read the station only through a :class:`~radio.web.view.StationView`,
off the event loop (a view may ask SQLite), and the time through the clocks passed in.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from radio.clock import Clock
from radio.web.eventcounts import EventCounts
from radio.web.health import judge
from radio.web.metrics import StationCollector, registry_for
from radio.web.nowplaying import STATION_ID, now_playing
from radio.web.page import playlist_m3u, playlist_pls, public_page
from radio.web.view import StationView

logger = logging.getLogger(__name__)

API_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}


class WebServer:
    """Serves ``view`` on ``host:port`` (0: any free port, see :attr:`port`).

    ``events`` are the event counts for ``/metrics`` (subscribed by the caller);
    ``clock`` gives the wall time (elapsed seconds, the calendar's week) and
    ``monotonic`` the sender's clock (``/healthz``).
    """

    def __init__(
        self,
        view: StationView,
        events: EventCounts,
        *,
        clock: Clock,
        monotonic: Callable[[], float],
        host: str,
        port: int,
    ) -> None:
        self._view = view
        self._clock = clock
        self._monotonic = monotonic
        self.host = host
        self.wanted_port = port  # as configured (0: any free port)
        self._registry = registry_for(StationCollector(view, events, monotonic))
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/", self._page),
                web.get("/calendar", self._calendar),
                web.get("/listen.m3u", self._m3u),
                web.get("/listen.pls", self._pls),
                web.get("/api/nowplaying", self._all),
                web.get("/api/nowplaying/{station}", self._one),
                web.get("/metrics", self._metrics),
                web.get("/healthz", self._healthz),
            ]
        )

    @property
    def listening(self) -> bool:
        """True between a successful :meth:`start` and :meth:`close`."""
        return self._site is not None

    @property
    def port(self) -> int:
        """The port listened on (the one chosen by the system when 0 was asked).

        Raises RuntimeError before :meth:`start`."""
        if self._site is None or self._runner is None:
            raise RuntimeError("the web server is not started")
        for address in self._runner.addresses:
            return int(address[1])
        raise RuntimeError("the web server listens nowhere")

    async def start(self) -> None:
        """Listen. Raises OSError when the address cannot be bound (nothing is left open)."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.wanted_port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._site = runner, site

    async def close(self) -> None:
        """Stop listening and finish open requests; idempotent."""
        runner, self._runner, self._site = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    # -- handlers ------------------------------------------------------------------

    async def _document(self, request: web.Request) -> dict[str, Any]:
        card, on_air = await asyncio.to_thread(lambda: (self._view.card(), self._view.on_air()))
        base = f"{request.scheme}://{request.host}"
        return now_playing(card, on_air, self._clock.now(), base)

    async def _page(self, request: web.Request) -> web.Response:
        document = await self._document(request)
        api = f"/api/nowplaying/{document['station']['shortcode']}"
        return web.Response(text=public_page(document, api), content_type="text/html")

    async def _calendar(self, request: web.Request) -> web.Response:
        now = self._clock.now()
        text = await asyncio.to_thread(self._view.calendar_html, now)
        return web.Response(text=text, content_type="text/html")

    async def _m3u(self, request: web.Request) -> web.Response:
        card = self._view.card()
        if card.listen_url is None:
            raise web.HTTPNotFound(text="no public stream is configured\n")
        return web.Response(text=playlist_m3u(card.listen_url), content_type="audio/x-mpegurl")

    async def _pls(self, request: web.Request) -> web.Response:
        card = self._view.card()
        if card.listen_url is None:
            raise web.HTTPNotFound(text="no public stream is configured\n")
        text = playlist_pls(card.listen_url, card.name)
        return web.Response(text=text, content_type="audio/x-scpls")

    async def _all(self, request: web.Request) -> web.Response:
        return _json([await self._document(request)])

    async def _one(self, request: web.Request) -> web.Response:
        wanted = request.match_info["station"]
        if wanted not in (self._view.card().shortcode, str(STATION_ID)):
            return _json(
                {
                    "code": 404,
                    "type": "NotFound",
                    "message": "Station not found.",
                    "success": False,
                },
                status=404,
            )
        return _json(await self._document(request))

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        progress = await asyncio.to_thread(self._view.sender, self._monotonic())
        health = judge(progress)
        body = {
            "status": "ok" if health.ok else "failing",
            "reason": health.reason,
            "rooms": progress.rooms,
        }
        return _json(body, status=200 if health.ok else 503)


def _json(data: object, *, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json",
        headers=API_HEADERS,
    )
