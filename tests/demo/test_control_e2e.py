"""The demo's member actions: one sent the instant the demo starts is answered (held
until the bot is ready, not lost); a request kept across a restart still names its
member, in the queue and in the now-playing message when it plays."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from support.demo import demo_options
from support.wait import until

from radio.demo.runner import Demo

from .station import long_station

pytestmark = pytest.mark.e2e


async def test_an_action_right_after_start_is_answered(tmp_path: Path) -> None:
    root = long_station(tmp_path / "station")
    demo = Demo(demo_options(root), io.StringIO())
    await demo.start()
    try:
        assert demo.app is not None and not demo.app.bot.is_ready()
        outcome = await demo.act("alice", "!request request me")
        assert outcome.status == 200, outcome.body
        world = demo.emulator.world
        await until(
            lambda: any(
                m.author.id == world.bot.id and "Queued **Req Band – Request Me**" in m.content
                for m in world.messages_in(world.text_channel.id)
            )
        )
    finally:
        await demo.stop()


async def test_a_kept_request_names_its_member_after_a_restart(tmp_path: Path) -> None:
    # The request lasts longer than a login on a busy machine: a kept request plays
    # first after the restart, and its card goes out once the bot is ready (the
    # announcer keeps the latest card per room; a 3 s request could end before that).
    root = long_station(tmp_path / "station", request_seconds=60.0)
    first = Demo(demo_options(root), io.StringIO())
    await first.start()
    try:
        assert (await first.act("alice", "/request request me")).status == 200
        await until(lambda: len(first.now()["queue"]) == 1)
        alice = first.emulator.world.people["alice"].id
    finally:
        await first.stop()

    second = Demo(demo_options(root), io.StringIO())
    await second.start()
    try:
        assert second.emulator.world.people["alice"].id == alice  # Discord keeps ids

        def announced() -> list[str]:
            return [
                m["html"]
                for m in second.now("carol")["studio"]
                if "Request Me" in m["html"] and "Requested by" in m["html"]
            ]

        # The kept request either waits in the queue (under alice's name) until carol
        # (admin) skips the long track, or the station starts with it: either way it
        # is announced with alice's name.
        await until(lambda: second.now()["queue"] != [] or bool(announced()))
        queue = second.now()["queue"]
        if queue:
            [kept] = queue
            assert (kept["title"], kept["requested_by"]) == ("Req Band – Request Me", "alice")
            assert (await second.act("carol", "!skip")).status == 200
        await until(lambda: bool(announced()))
        assert '<span class="mention">@alice</span>' in announced()[0]
    finally:
        await second.stop()
