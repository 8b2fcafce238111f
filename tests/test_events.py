import logging

import pytest

from radio.audio.track import Track
from radio.events import DeadAir, Event, EventBus, TrackStarted


def test_bus_delivers_in_order_survives_a_failing_subscriber(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(seen.append)
    started = TrackStarted(frame=10, track=Track(location="a.flac", title="A"))
    with caplog.at_level(logging.ERROR):
        bus(started)
        bus(DeadAir(frame=20))
    assert seen == [started, DeadAir(frame=20)]
    assert "event subscriber" in caplog.text
    unsubscribe()
    bus(DeadAir(frame=30))
    assert len(seen) == 2
