"""``radio demo`` opens the presenters' mount and prints a one-line encoder that
goes live: run exactly that line (shortened) and the demo DJ is on air."""

from __future__ import annotations

import asyncio
import io
import shlex
from pathlib import Path

import pytest
from support.demo import demo_options
from support.wait import until

from radio.demo.runner import Demo
from radio.events import LiveEnded, LiveStarted

from .conftest import make_station

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)  # a deadlock guard for a busy machine, not a measure
async def test_the_printed_encoder_line_goes_live(tmp_path: Path) -> None:
    station = make_station(tmp_path / "station", show_start=None)
    out = io.StringIO()
    demo = Demo(demo_options(station.root), out)
    await demo.start()
    try:
        await demo.wait_on_air()
        printed = out.getvalue().splitlines()
        [mount] = [line for line in printed if line.startswith("go live from an encoder")]
        assert "icecast://bob:demo-live@127.0.0.1:" in mount
        [example] = [line.strip() for line in printed if line.strip().startswith("e.g. ffmpeg")]
        args = shlex.split(example.removeprefix("e.g. "))
        args = [a.replace("duration=30", "duration=2") for a in args]
        process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr
        events = lambda: [e for e, _ in list(demo.events)]  # noqa: E731
        await until(lambda: any(isinstance(e, LiveEnded) for e in events()))
        [started] = [e for e in events() if isinstance(e, LiveStarted)]
        assert (started.presenter, started.via) == ("bob", "encoder")
    finally:
        await demo.stop()
