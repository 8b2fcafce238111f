"""Titles from the station's now-playing JSON, for a relay whose mount carries none.

The station serves ``/api/nowplaying`` (a list of one document) and
``/api/nowplaying/<station>`` in AzuraCast's shape (radio/web): the title is
``now_playing.song.title`` and ``now_playing.song.artist``. A relay whose
``titles:`` is that address polls it every ``interval`` seconds and reports
each change. The titles in the stream itself (each chain's OpusTags) are
exact to the frame; the API's are a poll behind, and ahead of what the relay's
listeners hear by the relay's buffer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Final

import aiohttp

from radio import __version__
from radio.outputs.titles import StreamTitle

logger = logging.getLogger(__name__)

POLL_S: Final = 10.0
TIMEOUT_S: Final = 5.0
MAX_BYTES: Final = 256 * 1024  # a now-playing document is a few kB
MAX_TAG: Final = 1000


def title_of(document: object) -> StreamTitle | None:
    """The song in a now-playing document (or the first of a list of them); None if none.

    Never raises: anything that is not AzuraCast's shape gives None.
    """
    if isinstance(document, list):
        document = document[0] if document else None
    if not isinstance(document, dict):
        return None
    now = document.get("now_playing")
    song = now.get("song") if isinstance(now, dict) else None
    if not isinstance(song, dict):
        return None
    title, artist = song.get("title"), song.get("artist")
    title = title if isinstance(title, str) else ""
    artist = artist if isinstance(artist, str) else ""
    if not title and not artist:
        return None
    return StreamTitle(title[:MAX_TAG], artist[:MAX_TAG])


class NowPlayingPoller:
    """Polls ``url`` every ``interval`` s; ``on_title`` gets each new title (on the loop).

    A failing address is logged once until it answers again; the poller runs
    until cancelled.
    """

    def __init__(
        self,
        url: str,
        on_title: Callable[[StreamTitle], None],
        *,
        interval: float = POLL_S,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.url = url
        self._on_title = on_title
        self.interval = interval
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.last: StreamTitle | None = None
        self._failing = False

    async def run(self) -> None:
        """Poll until cancelled."""
        headers = {"User-Agent": f"radio-relay/{__version__}", "Accept": "application/json"}
        async with aiohttp.ClientSession(timeout=self._timeout, headers=headers) as session:
            while True:
                await self.poll(session)
                await asyncio.sleep(self.interval)

    async def poll(self, session: aiohttp.ClientSession) -> StreamTitle | None:
        """Ask once; report the title if it changed; return it (None when the ask failed)."""
        try:
            async with session.get(self.url) as response:
                if response.status != 200:
                    raise ValueError(f"HTTP {response.status}")
                body = await response.content.read(MAX_BYTES + 1)
                if len(body) > MAX_BYTES:
                    raise ValueError("the document is too large")
            title = title_of(json.loads(body))
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            if not self._failing:
                self._failing = True
                logger.warning("now playing from %s failed: %s", self.url, exc)
            return None
        if self._failing:
            self._failing = False
            logger.info("now playing from %s answers again", self.url)
        if title is not None and title != self.last:
            self.last = title
            self._on_title(title)
        return title
