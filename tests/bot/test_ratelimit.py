"""Budgeted, latest-wins delivery of announcement states, on a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from radio.bot.ratelimit import CHANNEL_EDITS, Budget, Coalescer
from radio.clock import ManualClock

T0 = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def test_two_edits_per_ten_minutes_then_only_the_latest() -> None:
    clock = ManualClock(T0)
    topics: Coalescer[str, str] = Coalescer(CHANNEL_EDITS)
    sent: list[tuple[datetime, str]] = []

    def pump() -> None:
        sent.extend((clock.now(), value) for _, value in topics.due(clock.now()))

    for show in ["Morning", "Noon", "Afternoon", "Evening", "Night"]:
        topics.offer("stage", show)
        pump()
        clock.advance(MIN)
    # Morning and Noon went out at once; the three later ones coalesced into Night,
    # which may go exactly ten minutes after Morning.
    assert sent == [(T0, "Morning"), (T0 + MIN, "Noon")]
    assert topics.pending("stage") == "Night"
    assert topics.next_due(clock.now()) == T0 + 10 * MIN
    clock.set(T0 + 10 * MIN - timedelta(microseconds=1))
    pump()
    assert len(sent) == 2
    clock.set(T0 + 10 * MIN)
    pump()
    assert sent[-1] == (T0 + 10 * MIN, "Night")
    assert topics.next_due(clock.now()) is None
    # The window slides: the next free slot is ten minutes after Noon.
    topics.offer("stage", "Late")
    assert topics.next_due(clock.now()) == T0 + 11 * MIN


def test_targets_have_separate_budgets() -> None:
    coalescer: Coalescer[int, str] = Coalescer(Budget(1, timedelta(minutes=10)))
    coalescer.offer(1, "a")
    coalescer.offer(2, "b")
    assert sorted(coalescer.due(T0)) == [(1, "a"), (2, "b")]
    coalescer.offer(1, "a2")
    coalescer.offer(3, "c")
    assert coalescer.due(T0) == [(3, "c")]
    assert coalescer.due(T0 + 10 * MIN) == [(1, "a2")]


def test_offering_what_is_shown_cancels_the_pending_change() -> None:
    coalescer: Coalescer[str, str] = Coalescer(Budget(1, timedelta(minutes=10)))
    coalescer.offer("room", "Jazz")
    assert coalescer.due(T0) == [("room", "Jazz")]
    coalescer.offer("room", "Jazz")  # no change: nothing to send, even later
    assert coalescer.pending("room") is None
    coalescer.offer("room", "Rock")
    coalescer.offer("room", "Jazz")  # back to what it shows before Rock could go
    assert coalescer.next_due(T0 + 20 * MIN) is None
    assert coalescer.due(T0 + 20 * MIN) == []


def test_none_is_a_value_like_any_other() -> None:
    coalescer: Coalescer[str, str | None] = Coalescer(Budget(2, timedelta(minutes=10)))
    coalescer.offer("status", "On air: Jazz")
    coalescer.offer("status", None)  # clear the status
    assert coalescer.due(T0) == [("status", None)]
    coalescer.offer("status", None)
    assert coalescer.due(T0 + MIN) == []


def test_refused_send_waits_for_retry_after_and_keeps_the_latest() -> None:
    coalescer: Coalescer[str, str] = Coalescer(CHANNEL_EDITS)
    coalescer.offer("stage", "Morning")
    [(target, value)] = coalescer.due(T0)
    # Discord says no (another process edited it too): hold for its retry_after.
    coalescer.refused(target, value, timedelta(seconds=600), T0)
    assert coalescer.pending("stage") == "Morning"
    coalescer.offer("stage", "Noon")  # a newer state replaces it; nothing queues
    assert coalescer.next_due(T0) == T0 + 10 * MIN
    assert coalescer.due(T0 + 9 * MIN) == []
    assert coalescer.due(T0 + 10 * MIN) == [("stage", "Noon")]


def test_budget_must_allow_something() -> None:
    with pytest.raises(ValueError):
        Budget(0, MIN)
    with pytest.raises(ValueError):
        Budget(1, timedelta(0))
