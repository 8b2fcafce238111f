"""The application's Icecast mounts: built from station.yaml's model, fed from the feed's taps,
titled by station events, and one admins' message per outage and per return (real icecast2)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from radio.app.outputs import StationOutputs
from radio.audio.track import Track
from radio.bot.announcements import Alert, Announcer, Rooms
from radio.bot.audio import SimulcastFeed
from radio.config.outputs import IcecastOutputModel
from radio.errors import ConfigError
from radio.events import EventBus, TrackStarted

from .icecast_server import SOURCE_PASSWORD, IcecastServer, RawListener, demux, wait_for
from .test_icecast import Tones

ADMINS = 42


class StepClock:
    """The wall clock the application would read: moved by the test."""

    def __init__(self) -> None:
        self.at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def icecast(tmp_path: Path) -> Iterator[IcecastServer]:
    server = IcecastServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


_asked = [datetime(2100, 1, 1, tzinfo=UTC)]


def alerts(announcer: Announcer) -> list[str]:
    """The admins' messages due now; each call a day after the last, past any rate limit."""
    _asked[0] += timedelta(days=1)
    due = announcer.due(_asked[0])
    return [a.content for a in due if isinstance(a, Alert) and a.channel_id == ADMINS]


def secrets(name: str) -> str:
    if name == "RADIO_ICECAST_PASSWORD":
        return SOURCE_PASSWORD
    raise ConfigError(f"{name}: missing or empty (read from the environment)")


def test_mounts_are_fed_titled_and_their_outages_told_to_the_admins_once(
    icecast: IcecastServer,
) -> None:
    url = f"http://127.0.0.1:{icecast.port}/radio.opus"
    models = [
        IcecastOutputModel(url=url, name="Test radio"),
        IcecastOutputModel(url=url.replace("radio.opus", "other.opus"), password_env="NOPE"),
    ]
    feed = SimulcastFeed(Tones())
    events = EventBus()
    announcer = Announcer(Rooms(admins=(ADMINS,)), station="Test FM")
    clock = StepClock()
    outputs = StationOutputs(
        models,
        taps=feed.taps,
        events=events,
        announcer=announcer,
        clock=clock,
        monotonic=time.monotonic,
        secret=secrets,
    )
    # The mount without its password is off, and the admins are told which and why.
    assert len(outputs.outputs) == 1
    told = alerts(announcer)
    assert len(told) == 1 and "other.opus is off" in told[0] and "NOPE" in told[0]
    assert not feed.taps.every_frame  # nothing is fed before start
    events(TrackStarted(0, Track("a.flac", "First song", artist="Someone")))
    outputs.start()
    assert feed.taps.every_frame
    listener: RawListener | None = None
    try:
        for _ in range(100):  # two seconds of the station, faster than real time is fine here
            feed.next_packet()
        wait_for(lambda: icecast.mount("/radio.opus") is not None, what="the mount")
        listener = RawListener(icecast.port, "/radio.opus")
        due = time.monotonic()
        pumped = 0
        while pumped < 150:  # then three seconds in real time for the listener
            feed.next_packet()
            pumped += 1
            due += 0.02
            time.sleep(max(0.0, due - time.monotonic()))
        chains = demux(listener.received())
        assert chains and chains[0].tags == {"TITLE": "First song", "ARTIST": "Someone"}
        assert alerts(announcer) == []  # up at start: nothing to tell
        assert outputs.diagnostics()[0].startswith(f"icecast {url}: up,")

        icecast.kill()
        feed.next_packet()
        wait_for(lambda: not outputs.outputs[0].stats().up, what="the outage to be noticed")
        wait_for(lambda: outputs.outputs[0].stats().failures >= 3, what="retries")
        down = alerts(announcer)
        assert len(down) == 1
        assert down[0].startswith(f"The Icecast output {url} is down since 2026-03-01 12:00:00")
        clock.at += timedelta(minutes=3)
        icecast.start()
        wait_for(lambda: outputs.outputs[0].stats().up, what="the output to come back")
        back = alerts(announcer)
        assert back == [
            f"The Icecast output {url} is back (down since 2026-03-01 12:00:00 UTC, about 3 min)."
        ]
    finally:
        if listener is not None:
            listener.close()
        asyncio.run(outputs.close())
    assert not feed.taps.every_frame and len(feed.taps) == 0
