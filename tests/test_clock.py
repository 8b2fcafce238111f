from datetime import UTC, datetime, timedelta, timezone

import pytest

from radio.clock import ManualClock


def test_manual_clock_moves_only_when_told() -> None:
    start = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    clock = ManualClock(start)
    assert clock.now() == start
    clock.advance(timedelta(seconds=90))
    assert clock.now() == datetime(2026, 3, 29, 1, 0, 30, tzinfo=UTC)


def test_manual_clock_normalises_to_utc_and_refuses_naive_and_backwards() -> None:
    paris_winter = timezone(timedelta(hours=1))
    clock = ManualClock(datetime(2026, 1, 1, 12, 0, tzinfo=paris_winter))
    assert clock.now() == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 1, 1, 12, 0))
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
