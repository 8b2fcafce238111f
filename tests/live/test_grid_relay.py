"""A show whose grid entry relays a stream: the desk retries it for as long as the
slot lasts, puts it on air once it answers, gives way to a presenter, and ends it
with the slot. A real aiohttp server on 127.0.0.1 serves real MP3."""

from __future__ import annotations

import asyncio
import functools
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from support import wait
from support.http import http_server

from radio.clock import ManualClock
from radio.events import Event, LiveProblem
from radio.grid.live_slot import LiveSlot
from radio.live.desk import DeskOptions, LiveDesk
from radio.live.policy import MemberInfo
from radio.live.source import LiveRules, LiveSource
from radio.store.db import Database
from radio.store.live_sessions import LiveSessions
from radio.store.presenters import PresenterCredentials


def mp3(seconds: float = 20.0) -> bytes:
    args = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=700:duration={seconds}"]
    args += ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", "pipe:1"]
    return subprocess.run(args, capture_output=True, check=True).stdout


class Partner:
    """A partner station's stream server: 404 until ``up``, then MP3 in paced chunks."""

    def __init__(self) -> None:
        self.up = False
        self.hits = 0
        self.data = mp3()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        if not self.up:
            raise web.HTTPNotFound()
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        await response.prepare(request)
        for start in range(0, len(self.data), 4000):
            await response.write(self.data[start : start + 4000])
            await asyncio.sleep(0.25)  # about real time at 64 kb/s: the server's pace
        return response


@pytest.fixture
async def partner() -> AsyncIterator[tuple[Partner, str]]:
    server = Partner()
    app = web.Application()
    app.router.add_get("/stream", server.stream)
    async with http_server(app) as base:
        yield server, f"{base}/stream"


until = functools.partial(wait.until, timeout=30.0, every=0.02)


async def test_the_grid_relay_is_retried_runs_and_ends_with_its_slot(
    partner: tuple[Partner, str], tmp_path: Path
) -> None:
    server, url = partner
    start = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    slot = LiveSlot("partner", "Partner Hour", frozenset(), True, False, start=start, relay=url)
    slots: list[LiveSlot] = [slot]
    events: list[Event] = []
    database = Database(tmp_path / "radio.sqlite3")
    live = LiveSource(LiveRules(grace=0.2, prebuffer=0.06))

    async def nobody(user_id: int) -> MemberInfo | None:
        return None

    desk = LiveDesk(
        live,
        credentials=PresenterCredentials(database),
        sessions=LiveSessions(database),
        clock=ManualClock(start),
        monotonic=asyncio.get_running_loop().time,
        slots=lambda now: list(slots),
        members=nobody,
        events=events.append,
        options=DeskOptions(grid_retry=0.05, relay_connect_timeout=5.0),
    )
    desk.start()
    try:
        # the partner answers 404: each try is told to the programmers, and retried
        await until(lambda: server.hits >= 3)
        assert live.current is None
        problems = [e for e in events if isinstance(e, LiveProblem)]
        assert problems and all("404" in p.detail for p in problems)
        server.up = True
        await until(lambda: live.current is not None and live.current.buffer.frames > 0)
        status = desk.status()
        assert status is not None
        assert (status.presenter, status.via, status.show) == (
            "Partner Hour",
            "relay",
            "Partner Hour",
        )
        hits = server.hits
        # the slot ends: the relay ends with it
        slots.clear()
        sessions = LiveSessions(database)
        await until(lambda: live.current is None and not sessions.open_sessions())
        assert server.hits == hits  # while it ran, the follower never opened it again
        [row] = sessions.recent(5)
        assert (row.via, row.source, row.end_reason) == ("relay", url, "its slot ended")
    finally:
        await desk.close()
        database.close()
