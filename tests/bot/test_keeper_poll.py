"""The keepers' poll grid: every bot of a process polls its rooms at the same instants."""

from __future__ import annotations

import pytest

from radio.bot.client import until_next_poll


@pytest.mark.parametrize("now", [12.0, 12.0625, 12.125, 12.1875, 12.2421875])
def test_every_instant_of_one_interval_waits_for_the_same_next_poll(now: float) -> None:
    # Binary-exact instants: the next poll is exactly the next multiple of 0.25 s.
    assert now + until_next_poll(now, 0.25) == 12.25


def test_on_a_poll_instant_the_next_one_is_a_whole_interval_away() -> None:
    assert until_next_poll(12.25, 0.25) == 0.25
    assert until_next_poll(0.0, 0.25) == 0.25


@pytest.mark.parametrize("now", [0.01, 3.3, 1000.77, 86400.123456])
def test_the_wait_is_more_than_nothing_and_at_most_one_interval(now: float) -> None:
    for interval in (0.05, 0.25, 1.0):
        wait = until_next_poll(now, interval)
        assert 0 < wait <= interval
        # The instant reached is a multiple of the interval (within float error).
        ticks = (now + wait) / interval
        assert abs(ticks - round(ticks)) < 1e-6
