"""The request up next can be cancelled, removed or moved until it starts (the station, offline).

The real station tree, SQLite queue and request player of test_requests_boundary;
what is asserted is what the listener hears, sample for sample, and the order of
the tracks that start.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from radio.events import TrackStarted
from radio.station import is_request

from .test_requests_boundary import FADE_IN, START, F, OnAir, folder, on_air, samples

__all__ = ["folder", "on_air"]  # the fixtures, used by name


def test_cancelling_the_request_up_next_lets_the_station_open_the_rotation(on_air: OnAir) -> None:
    root = on_air.root
    a, b, c = (samples(root, "media/music", s) for s in "abc")
    on_air.pull(20)
    number = on_air.request("r1")
    on_air.pull(1)
    sequence = on_air.station.on_air_sequence()
    assert sequence is not None and sequence.preloaded is not None
    assert sequence.preloaded.title == "r1"  # up next: opened by the station
    assert on_air.queue.get(number).state == "taken"
    on_air.queue.cancel(number, user_id=7, now=START)
    on_air.pull(1)
    assert sequence.preloaded is not None and sequence.preloaded.title == "b"
    total = len(a) + len(b) + len(c)
    on_air.pull(-(-total // F) - 22)
    assert [title for title, _ in on_air.started()][:3] == ["a", "b", "c"]
    heard = on_air.heard()
    assert np.array_equal(heard[FADE_IN:total], np.concatenate([a, b, c])[FADE_IN:])
    assert on_air.queue.get(number).state == "cancelled"
    assert not any(is_request(e.track) for e in on_air.events if isinstance(e, TrackStarted))


def test_moving_another_request_to_the_head_opens_it_instead(on_air: OnAir) -> None:
    on_air.pull(20)
    first = on_air.request("r1")
    second = on_air.request("r2")
    on_air.pull(1)
    assert [r.id for r in on_air.queue.pending()] == [first, second]
    assert on_air.queue.get(first).state == "taken"
    shown = on_air.queue.move(second, 1)
    assert [r.id for r in shown] == [second, first]
    on_air.pull(1)
    sequence = on_air.station.on_air_sequence()
    assert sequence is not None and sequence.preloaded is not None
    assert sequence.preloaded.title == "r2"
    assert [(r.id, r.state) for r in on_air.queue.pending()] == [
        (second, "taken"),
        (first, "queued"),
    ]
    on_air.pull(200)
    assert [title for title, _ in on_air.started()][:4] == ["a", "r2", "r1", "b"]
    assert [on_air.queue.get(n).state for n in (first, second)] == ["played", "played"]


def test_removing_the_request_up_next_opens_the_next_request(on_air: OnAir) -> None:
    on_air.pull(20)
    first = on_air.request("r1")
    second = on_air.request("r2")
    on_air.pull(1)
    on_air.queue.remove(first, START + timedelta(seconds=1))
    on_air.pull(1)
    assert [(r.id, r.state) for r in on_air.queue.pending()] == [(second, "taken")]
    on_air.pull(200)
    assert [title for title, _ in on_air.started()][:3] == ["a", "r2", "b"]
    assert on_air.queue.get(first).state == "removed"
