import math

import numpy as np
import pytest

from radio.audio import curves
from radio.audio.frames import SILENCE
from radio.audio.operators import Gain, Mix, Silence, Sine
from radio.audio.root import Infallible
from radio.audio.switch import Fallback, Switch
from radio.events import DeadAir, DeadAirEnded, Event

from .conftest import pcm, pull


class Gate:
    """A test source: a constant level while open, not ready while closed."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.open = True
        self.reads = 0

    @property
    def ready(self) -> bool:
        return self.open

    @property
    def remaining(self) -> int | None:
        return None

    def read(self) -> bytes:
        self.reads += 1
        if not self.open:
            return SILENCE
        return np.full((960, 2), self.value, dtype="<i2").tobytes()

    def close(self) -> None:
        pass


def test_sine_is_phase_continuous_at_its_frequency_and_level() -> None:
    out = pcm(pull(Sine(1000.0, level_dbfs=-6.0), 100)).astype(np.float64)
    n = np.arange(len(out))
    expected = np.rint(32768 * 10 ** (-6 / 20) * np.sin(2 * np.pi * 1000 * n / 48000))
    assert np.abs(out[:, 0] - expected).max() <= 1
    assert np.array_equal(out[:, 0], out[:, 1])


def test_gain_ramp_follows_the_linear_curve_and_ends_on_target() -> None:
    gain = Gain(Gate(10000))
    gain.set_gain(-math.inf, ramp_frames=3)
    out = pcm(pull(gain, 5))[:, 0].astype(np.float64)
    expected = 10000 * curves.ramp(1.0, 0.0, 0, 2880, 2880)[:, 0]
    assert np.abs(out[:2880] - np.rint(expected)).max() <= 1
    assert not out[2880:].any()
    assert gain.gain_db == -math.inf
    gain.fade_in(2)
    up = pcm(pull(gain, 3))[:, 0]
    assert up[0] < 10 and up[-1] == 10000


def test_mix_sums_and_clips_instead_of_wrapping() -> None:
    out = pcm(Mix([Gate(30000), Gate(30000)]).read())
    assert (out == 32767).all()
    out = pcm(Mix([Gate(1000), Gate(-400)], gains_db=[0.0, -6.0206]).read())
    assert (out == 800).all()


def test_switch_at_exact_frame_crossfades_with_equal_power() -> None:
    a, b = Gate(8000), Gate(-8000)
    switch = Switch([a, b], transition=0.04)  # 1920 samples = 2 frames
    switch.select(1, at_frame=5)
    out = pcm(pull(switch, 9))[:, 0].astype(np.float64)
    assert (out[: 5 * 960] == 8000).all()
    g_out, g_in = curves.equal_power(0, 1920, 1920)
    expected = np.rint(8000 * g_out[:, 0] - 8000 * g_in[:, 0])
    assert np.abs(out[5 * 960 : 7 * 960] - expected).max() <= 1
    assert (out[7 * 960 :] == -8000).all()
    assert a.reads == 7 and b.reads == 4  # the old child is not read after the fade


def test_fallback_takes_the_first_ready_child_and_comes_back() -> None:
    live, playlist = Gate(1), Gate(2)
    live.open = False
    fb = Fallback([live, playlist])
    values = []
    for step in range(6):
        live.open = step in (2, 3)
        values.append(int(pcm(fb.read())[0, 0]))
    assert values == [2, 2, 1, 1, 2, 2]
    live.open = playlist.open = False
    assert not fb.ready


@pytest.mark.parametrize("frames", [1, 500])
def test_infallible_never_returns_a_short_frame_and_reports_dead_air(frames: int) -> None:
    seen: list[Event] = []
    inner = Gate(5)
    inner.open = False
    root = Infallible(inner, events=seen.append)
    outs = [root.read() for _ in range(frames)]
    assert all(len(o) == 3840 and o == SILENCE for o in outs)
    assert inner.reads == 0
    inner.open = True
    assert pcm(root.read())[0, 0] == 5
    assert seen == [DeadAir(frame=0), DeadAirEnded(frame=frames, frames=frames)]
    assert root.position == frames + 1 and root.dead_air_frames == frames


def test_infallible_survives_a_raising_or_short_child() -> None:
    class Broken(Gate):
        def read(self) -> bytes:
            self.reads += 1
            if self.reads == 1:
                raise RuntimeError("boom")
            return b"\x01\x00" * 10

    root = Infallible(Broken(0))
    first, second = root.read(), root.read()
    assert first == SILENCE
    assert len(second) == 3840 and second[:20] == b"\x01\x00" * 10
    assert Silence().read() == SILENCE


def test_prefetch_hands_out_the_same_frames_in_order_reading_in_bursts() -> None:
    from radio.audio.prefetch import Prefetch

    class Counter(Gate):
        def read(self) -> bytes:
            self.reads += 1
            return np.full((960, 2), self.reads, dtype="<i2").tobytes()

    inner = Counter(0)
    top = Prefetch(inner, frames=5)
    values, reads = [], []
    for _ in range(12):
        values.append(int(pcm(top.read())[0, 0]))
        reads.append(inner.reads)
    assert values == list(range(1, 13))
    assert reads == [5] * 5 + [10] * 5 + [15] * 2
    assert top.queued == 3 and top.ready and top.remaining is None
