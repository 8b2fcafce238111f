"""The live benchmark's analysis computes what it claims, on literal data."""

from __future__ import annotations

import numpy as np
import pytest

from bench.live import (
    LIVE_HZ,
    by_thread,
    classify,
    frames_of,
    hand_overs,
    packet_after,
    spread,
    thread_group,
)


def frame(*tones: tuple[float, float]) -> bytes:
    """One 20 ms stereo s16le frame holding sines of (Hz, peak amplitude)."""
    n = np.arange(960, dtype=np.float64)
    mono = sum((a * np.sin(2 * np.pi * f * n / 48_000) for f, a in tones), np.zeros(960))
    return np.repeat(np.round(mono * 32_767).astype("<i2"), 2).tobytes()


def test_spread_is_min_median_max() -> None:
    s = spread([250.0, 240.0, 300.0, 260.0])
    assert (s.runs, s.low, s.median, s.high) == (4, 240.0, 255.0, 300.0)
    with pytest.raises(ValueError):
        spread([])


def test_a_frame_is_found_at_the_first_arrival_after_its_read() -> None:
    arrivals = [1.0003, 1.0201, 1.0402, 1.0600]
    assert packet_after(arrivals, 1.0200) == 1  # read at 1.0200, arrived 0.1 ms later
    assert packet_after(arrivals, 1.0) == 0
    assert packet_after(arrivals, 1.0601) is None
    # reads of frames 7, 8, 9 (instant each read was done); frame 10's read never came
    sends = [(7, 1.0000), (8, 1.0200), (9, 1.0400)]
    assert frames_of(sends, [0.9, *arrivals]) == [None, 7, 8, 9, 9]


def test_packets_are_told_apart_by_the_presenters_tone() -> None:
    level = 0.125
    assert classify(frame((LIVE_HZ, level)), level) == "live"
    assert classify(frame((LIVE_HZ, level * 0.55)), level) == "live"  # -5.2 dB: audible
    assert classify(frame((440.0, 0.126)), level) == "programme"
    assert classify(frame((440.0, 0.1), (LIVE_HZ, level * 0.3)), level) == "mixed"  # a fade
    assert classify(frame((LIVE_HZ, 0.0005)), level) == "silent"  # -66 dBFS
    assert classify(bytes(3840), level) == "silent"
    assert classify(None, level) == "silent"  # not decoded


def test_hand_overs_count_the_silence_on_each_side() -> None:
    p, s, m, live = "programme", "silent", "mixed", "live"
    kinds = [p, p, s, m, live, live, live, m, s, s, s, p, p]
    heard = hand_overs(kinds)
    assert (heard.first_live, heard.last_live) == (4, 6)
    assert heard.silent_at_cut_in == 1  # the mixed one is not silent
    assert (heard.quiet_after, heard.silent_after) == (4, 3)
    with pytest.raises(ValueError):
        hand_overs([p, p, s])  # never heard
    with pytest.raises(ValueError):
        hand_overs([s, live, p])  # no programme before
    with pytest.raises(ValueError):
        hand_overs([p, live, s])  # the programme never came back


def test_threads_are_grouped_by_name_without_their_numbers() -> None:
    assert thread_group("asyncio_3") == "asyncio"
    assert thread_group("Thread-12 (_drain_stderr)") == "Thread"
    assert thread_group("MainThread") == "MainThread"
    start = {1: ("asyncio_0", 1.0), 2: ("MainThread", 5.0)}
    end = {1: ("asyncio_0", 1.5), 2: ("MainThread", 5.25), 3: ("asyncio_1", 0.25)}
    assert by_thread(start, end) == pytest.approx({"asyncio": 0.75, "MainThread": 0.25})
