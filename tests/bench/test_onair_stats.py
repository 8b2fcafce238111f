"""The on-air benchmark's analysis computes what it claims, on literal data."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from bench.onair_cpu import (
    CpuSnapshot,
    PlayerCpu,
    ReadStamp,
    by_role,
    live_children,
    process_cpu,
    spent,
    split_cpu,
    sum_players,
    thread_role,
)
from bench.onair_stats import (
    Arrival,
    cpu_percent,
    first_change,
    lost_packets,
    nearest_rank,
    room_cost,
    summarize,
    tone_levels,
)


def frame(*tones: tuple[float, float], start: int = 0) -> bytes:
    """One 20 ms stereo s16le frame holding sines of (Hz, peak amplitude)."""
    n = np.arange(start, start + 960, dtype=np.float64)
    mono = sum(a * np.sin(2 * np.pi * f * n / 48_000) for f, a in tones)
    samples = np.round(np.asarray(mono) * 32_767).astype("<i2")
    return np.repeat(samples, 2).tobytes()


def test_nearest_rank_is_one_of_the_values() -> None:
    values = [float(v) for v in range(1000, 0, -1)]  # unsorted on purpose
    assert nearest_rank(values, 50) == 500.0
    assert nearest_rank(values, 99) == 990.0
    assert nearest_rank(values, 99.9) == 999.0
    assert nearest_rank(values, 100) == 1000.0
    assert nearest_rank([7.0], 99.9) == 7.0
    with pytest.raises(ValueError):
        nearest_rank([], 50)
    with pytest.raises(ValueError):
        nearest_rank(values, 0)


def test_intervals_are_taken_within_each_stream_never_across() -> None:
    # Two streams 1 ms apart: pooled across streams the intervals would be 1 ms.
    a = [Arrival(1, s, 0.020 * s) for s in range(5)]  # 4 × 20 ms
    b = [Arrival(2, 100 + s, 0.001 + 0.020 * s) for s in range(5)]
    late = [Arrival(3, 7, 0.0), Arrival(3, 8, 0.030), Arrival(3, 9, 0.035)]  # 30, 5 ms
    mixed = sorted([*a, *b, *late], key=lambda p: p.arrival)
    summary = summarize(mixed)
    assert (summary.streams, summary.packets, summary.intervals) == (3, 13, 10)
    assert summary.p50 == pytest.approx(20.0)
    assert summary.shortest == pytest.approx(5.0)
    assert summary.longest == pytest.approx(30.0)
    assert (summary.under_10ms, summary.over_25ms, summary.lost) == (1, 1, 0)


def test_lost_packets_counts_sequence_holes_across_the_wrap() -> None:
    packets = [Arrival(1, s % 65_536, i * 0.02) for i, s in enumerate([65_534, 65_535, 1, 2])]
    assert lost_packets(packets) == 1  # sequence 0 never came
    assert lost_packets([]) == 0
    with pytest.raises(ValueError):
        summarize([Arrival(1, 0, 0.0)])


def test_tone_levels_measure_each_sine_of_a_mix() -> None:
    levels = tone_levels(frame((600.0, 0.25), (1000.0, 0.1), start=123), [600.0, 1000.0, 800.0])
    assert levels[600.0] == pytest.approx(0.25, abs=1e-3)
    assert levels[1000.0] == pytest.approx(0.1, abs=1e-3)
    assert levels[800.0] == pytest.approx(0.0, abs=1e-3)


def test_first_change_finds_the_first_packet_with_the_new_tone_at_half_level() -> None:
    level = 0.25
    packets = [
        (0.98, frame((600.0, level))),  # before the command: ignored even though 600 plays
        (1.00, frame((400.0, level))),
        (1.02, frame((400.0, level))),
        (1.04, frame((400.0, 0.2), (600.0, 0.1))),  # crossfade starts: 600 below half
        (1.06, frame((400.0, 0.1), (600.0, 0.2))),  # 600 at -2 dB: audible
        (1.08, frame((600.0, level))),
    ]
    change = first_change(packets, 0.99, 400.0, [400.0, 600.0, 800.0], level)
    assert change is not None
    assert change.frequency == 600.0
    assert change.latency_ms == pytest.approx(70.0)
    assert change.packets_after == 4
    assert first_change(packets[:4], 0.99, 400.0, [400.0, 600.0], level) is None


def test_cpu_percent_and_room_cost() -> None:
    assert cpu_percent(0.3, 10.0, per=2) == pytest.approx(1.5)
    assert room_cost({1: 4.0, 10: 8.5, 30: 18.5}) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        room_cost({1: 4.0})
    with pytest.raises(ValueError):
        cpu_percent(1.0, 0.0)


def test_spent_counts_each_child_once_whatever_its_life() -> None:
    start = CpuSnapshot(own=1.0, reaped=0.5, live={10: 0.2, 11: 0.3})
    # 10 still runs (0.5 s now); 11 ended with 0.4 s in all and was reaped;
    # 13 was born and reaped in between (0.25 s); 12 was born and still runs.
    end = CpuSnapshot(own=2.0, reaped=0.5 + 0.4 + 0.25, live={10: 0.5, 12: 0.1})
    own, children = spent(start, end)
    assert own == pytest.approx(1.0)
    assert children == pytest.approx((0.5 - 0.2) + (0.4 - 0.3) + 0.25 + 0.1)


def test_children_and_threads_are_read_from_proc() -> None:
    child = subprocess.Popen(["sleep", "5"])
    try:
        assert child.pid in live_children(os.getpid())
        assert process_cpu(child.pid) is not None
    finally:
        child.kill()
        child.wait()
    assert process_cpu(child.pid) is None  # reaped: gone
    assert thread_role("audio-player:0x7f") == "players"
    assert thread_role("MainThread") == "event loop"
    assert thread_role("sequence-rot_0") == "track opening"
    assert thread_role("Thread-3 (_reader)") == "other threads"
    roles = by_role({1: ("players", 1.0)}, {1: ("players", 1.5), 2: ("players", 0.25)})
    assert roles == {"players": pytest.approx(0.75)}


def test_player_cpu_is_split_at_the_reads() -> None:
    # Three reads: 0.3 ms and 0.5 ms inside the first two, 0.2 ms between each.
    stamps = [
        ReadStamp(0.00, 1.0000, 1.0003),
        ReadStamp(0.02, 1.0005, 1.0010),
        ReadStamp(0.04, 1.0012, 1.0099),  # the last read's own time is outside the span
    ]
    split = split_cpu(stamps)
    assert split.reads == 2
    assert split.in_read == pytest.approx(0.0008)
    assert split.between == pytest.approx(0.0004)
    assert split_cpu(stamps[:1]) == PlayerCpu(0, 0.0, 0.0)
    both = sum_players([split, PlayerCpu(3, 0.5, 0.25)])
    assert both.reads == 5
    assert both.in_read == pytest.approx(0.5008)
    assert both.between == pytest.approx(0.2504)
