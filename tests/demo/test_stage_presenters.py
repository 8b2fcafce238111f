"""Who may duck the music, as the grid says, through the whole station: a member who
is not a presenter of the show on air talks on the broadcast room and nothing is
ducked; once the grid lists her among that show's presenters (a live reload), the
same talk ducks the music. Measured on what the listener decoded."""

from __future__ import annotations

import asyncio
import functools
import io
from pathlib import Path

import numpy as np
import pytest
from support import wait
from support.demo import demo_options

from radio.demo.runner import Demo
from radio.sandbox.speakers import Spurt

from .listening import heard, levels
from .station import long_station

pytestmark = pytest.mark.e2e

SPURTS = [Spurt(1.0, 0.3), Spurt(1.0)]  # seconds of talk, then of pause


until = functools.partial(wait.until, every=0.02)


def week(presenters: list[int]) -> str:
    return (
        "shows:\n"
        "  - id: talk\n"
        "    title: Talk Show\n"
        "    days: [mon, tue, wed, thu, fri, sat, sun]\n"
        '    start: "00:00"\n'
        '    end: "00:00"\n'
        f"    presenters: {presenters}\n"
        "    live: {allowed: true}\n"
        "    rotation: [{playlist: music}]\n"
    )


async def test_only_the_show_on_airs_presenters_duck_the_music(tmp_path: Path) -> None:
    root = long_station(tmp_path / "station")
    schedule = root / "schedules" / "week.yaml"
    schedule.write_text(week([111111111111111111]), encoding="utf-8")  # somebody else's show
    demo = Demo(demo_options(root, watch_interval=0.2), io.StringIO())
    await demo.start()
    try:
        await demo.wait_on_air(60)
        app = demo.app
        assert app is not None
        talkover = app.stage.talkover
        speakers = demo.emulator.speakers
        alice = demo.emulator.world.people["alice"].id  # a listener, not a DJ or admin
        await speakers.enter("alice", demo.room_id, muted=False)
        await until(lambda: len(heard(demo)) >= 150)

        # Not a presenter of the show on air: her packets key nothing.
        first = len(heard(demo))
        seen = talkover.packets_seen
        report = await speakers.talk("alice", SPURTS)
        assert report is not None
        await until(lambda: talkover.packet_mode and talkover.packets_seen > seen)
        assert talkover.on_mic == ()
        await until(lambda: len(heard(demo)) > first + 150)
        quiet = levels(heard(demo), slice(first - 100, first))

        # The grid now lists her: the same talk ducks the music.
        schedule.write_text(week([alice]), encoding="utf-8")
        await until(lambda: alice in app.onair.station.grid.shows[0].presenters)
        second = len(heard(demo))
        talking = asyncio.create_task(speakers.talk("alice", SPURTS))
        await until(lambda: talkover.on_mic == (alice,))
        await talking
        await until(lambda: talkover.on_mic == ())
        await until(lambda: len(heard(demo)) > second + 200)
        ducked = levels(heard(demo), slice(second - 100, second))
        depth = app.onair.station.duck.depth_db
    finally:
        await demo.stop()
    # the first talk left the music as it was, frame for frame (within 0.5 dB) ...
    assert np.abs(quiet[first - 100 : first + 150]).max() <= 0.5
    # ... the second brought it down to the depth (within 1 dB) while she talked
    assert abs(float(ducked[second : second + 200].min()) - depth) <= 1.0
