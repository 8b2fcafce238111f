"""Stalls: frames sent later than a listener's jitter buffer holds (60 ms) are a
dropout for the listener even though none is lost; each run of them is counted and
told. The schedule's arithmetic on instants passed in; no clock, no thread."""

from __future__ import annotations

import logging

import pytest

from radio.bot.sender import MIN_GAP_S, PERIOD_S, STALL_S, SendSchedule

from .test_sender import START, at, rig


def test_a_run_of_frames_past_the_jitter_buffer_is_one_stall() -> None:
    schedule = SendSchedule(START)
    for n in range(3):
        schedule.take(at(n))
    assert schedule.stalls == 0
    # frame 3 goes out 70 ms late; catching up at the minimum gap, frame 4 is still
    # past 60 ms (70 - 20 + 12 = 62 ms), then the lateness falls under it
    now = at(3) + 0.070
    schedule.take(now)
    assert (schedule.stalls, schedule.stall_worst) == (1, pytest.approx(0.070))
    late = []
    for n in range(4, 12):
        now = max(at(n), now + MIN_GAP_S)
        late.append(round((now - at(n)) * 1000))
        schedule.take(now)
    assert late[:3] == [62, 54, 46]
    assert schedule.stalls == 1  # one run, however many frames of it
    assert schedule.skipped == 0  # nothing lost: sent late, all of them


def test_exactly_the_allowance_late_is_not_a_stall_and_a_new_run_counts_again() -> None:
    schedule = SendSchedule(START)
    schedule.take(at(0))
    schedule.take(at(1) + STALL_S)  # on the bound: the buffer just holds
    assert schedule.stalls == 0
    schedule = SendSchedule(START)
    schedule.take(at(0))
    now = at(1) + 0.061
    schedule.take(now)
    for n in range(2, 10):  # catching up at the minimum gap, back on time
        now = max(at(n), now + MIN_GAP_S)
        schedule.take(now)
    assert now == at(9)
    schedule.take(at(10) + 0.080)
    assert schedule.stalls == 2
    assert schedule.stall_worst == pytest.approx(0.080)


def test_a_skip_ahead_is_a_stall_too() -> None:
    schedule = SendSchedule(START)
    schedule.take(at(0))
    assert schedule.take(at(9.5)) == 8
    assert schedule.stalls == 1


def test_the_broadcaster_counts_and_logs_each_stall(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="radio.bot.sender")
    _, _, _, sender, (room,) = rig(1)
    for n in range(5):
        sender.step(at(n))
    sender.step(at(5) + 0.075)  # 75 ms late
    assert sender.stats().stalls == 1
    [line] = [r.getMessage() for r in caplog.records if "jitter buffer" in r.getMessage()]
    assert "75 ms late" in line and "1 stalls so far" in line
    assert len(room.packets) == 6  # sent, late, not dropped
    assert PERIOD_S == 0.020
