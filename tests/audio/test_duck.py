"""The Duck operator, pulled faster than real time: gain curves against a per-sample
reference within 1 LSB, steps bounded by the ramp, hold, release, frame edges,
frames it was not asked for, and gapless track changes under the duck."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from radio.audio.duck import Duck, DuckRules
from radio.audio.pcm import decode_file
from radio.audio.sequence import TrackSequence
from radio.audio.track import Track
from radio.audio.tracklist import TrackList

from .conftest import pcm, pull
from .test_operators import Gate

LEVEL = 16000  # a constant input makes the output the gain curve itself
RATE = 48000


def reference(
    samples: int,
    keyed: Callable[[int], bool],
    depth: float = -15.0,
    attack: float = 0.1,
    release: float = 1.0,
) -> np.ndarray:
    """The envelope one sample at a time, written plainly: the model the duck must match."""
    down = abs(depth) / (attack * RATE)
    up = abs(depth) / (release * RATE)
    out = np.empty(samples)
    db = 0.0
    for n in range(samples):
        target = depth if keyed(n) else 0.0
        db = max(target, db - down) if db > target else min(target, db + up)
        out[n] = db
    return np.rint(LEVEL * 10 ** (out / 20))


def test_duck_follows_the_reference_curve_within_one_lsb_keyed_mid_frame() -> None:
    duck = Duck(Gate(LEVEL))
    on, off = 1234, 30_000  # both inside frames
    hold = round(0.4 * RATE)
    duck.key_on("bob", on)
    out = pcm(pull(duck, 10))  # up to sample 9,600: the key_off is still to come
    duck.key_off("bob", off)
    out = np.concatenate([out, pcm(pull(duck, 100))])
    expected = reference(len(out), lambda n: on <= n < off + hold)
    assert np.abs(out[:, 0] - expected).max() <= 1
    assert np.array_equal(out[:, 0], out[:, 1])
    # untouched before the key, at full depth once the attack is over, back at the end
    assert (out[:on, 0] == LEVEL).all()
    full = round(LEVEL * 10 ** (-15 / 20))
    assert abs(int(out[on + round(0.1 * RATE), 0]) - full) <= 1
    assert (out[-100:, 0] == LEVEL).all()


def test_no_step_is_larger_than_the_ramp_allows_at_any_frame_edge() -> None:
    duck = Duck(Gate(LEVEL))
    duck.key_on("bob", 960 * 3 + 17)
    duck.key_off("bob", 960 * 20 + 5)
    out = pcm(pull(duck, 150))[:, 0].astype(np.int64)
    steps = np.abs(np.diff(out))
    # the steepest part of the attack: 15 dB in 4,800 samples, at full level
    biggest = LEVEL * (1 - 10 ** (-(15 / 4800) / 20)) + 1
    assert steps.max() <= math.ceil(biggest)
    edges = steps[959::960]  # sample 959 -> 960 of every frame
    assert edges.max() <= math.ceil(biggest)
    assert out.min() > 0  # never a silent sample


def test_hold_bridges_short_pauses_and_a_long_pause_releases() -> None:
    duck = Duck(Gate(LEVEL))
    frame = 960
    # three talk-spurts of 1 s with 0.3 s pauses, then 2 s of silence, in 20 ms frames
    spurts = [(0, 50), (65, 115), (130, 180)]
    out = []
    for index in range(330):
        at = index * frame
        for start, end in spurts:
            if index == start:
                duck.key_on("bob", at)
            if index == end:
                duck.key_off("bob", at)
        out.append(pcm(pull(duck, 1))[:, 0])
    levels = np.array([20 * math.log10(np.abs(f).mean() / LEVEL) for f in out])
    assert levels[5:200].max() == pytest.approx(-15.0, abs=0.05)  # ducked throughout
    assert levels[200] < -14.0  # hold of 0.4 s after the last spurt, then release
    assert levels[180 + 20 + 50 + 2 :].min() == pytest.approx(0.0, abs=0.05)


def test_keys_overlap_and_the_last_one_off_counts() -> None:
    duck = Duck(Gate(LEVEL), DuckRules(depth_db=-20.0))
    duck.key_on("bob", 0)
    duck.key_on("carol", 4800)
    duck.key_off("bob", 9600)
    pull(duck, 100)
    assert duck.gain_db == pytest.approx(-20.0)
    assert duck.keyed
    duck.key_off("carol", 100 * 960)
    pull(duck, 20 + 50 + 5)
    assert duck.gain_db == 0.0
    assert not duck.keyed


def test_a_key_off_learnt_late_counts_its_hold_from_the_last_packet() -> None:
    duck = Duck(Gate(LEVEL))
    duck.key_on("bob", 0)
    pull(duck, 30)
    duck.key_off("bob", 10 * 960)  # the last packet was 20 frames ago: hold ends at frame 30
    out = pcm(pull(duck, 1))[:, 0].astype(np.int64)
    full = round(LEVEL * 10 ** (-15 / 20))
    # releasing from the first sample of the frame: 0.3 dB up by its end
    assert (np.diff(out) >= 0).all() and out[0] >= full
    assert out[-1] == pytest.approx(full * 10 ** (0.3 / 20), abs=2)


def test_frames_not_read_still_move_the_envelope() -> None:
    position = [0]
    duck = Duck(Gate(LEVEL), position=lambda: position[0])
    duck.key_on("bob", 0)
    for _ in range(10):
        pull(duck, 1)
        position[0] += 1
    position[0] += 20  # 400 ms the duck was not asked for (the live branch had the air)
    out = pcm(pull(duck, 1))[:, 0]
    assert abs(int(out[0]) - round(LEVEL * 10 ** (-15 / 20))) <= 1
    duck.key_off("bob", position[0] * 960)
    position[0] += 10_000  # much later: released long ago
    assert (pcm(pull(duck, 1))[:, 0] == LEVEL).all()


def test_depth_zero_means_no_duck_and_bad_depths_are_refused() -> None:
    duck = Duck(Gate(LEVEL), DuckRules(depth_db=0.0))
    duck.key_on("bob", 0)
    assert (pcm(pull(duck, 20))[:, 0] == LEVEL).all()
    with pytest.raises(ValueError, match="between -30 and 0"):
        duck.set_depth(-31)
    with pytest.raises(ValueError, match="between -30 and 0"):
        DuckRules(depth_db=3)
    duck.set_depth(-6.0)
    pull(duck, 10)
    assert duck.gain_db == pytest.approx(-6.0)


def test_track_changes_under_the_duck_stay_gapless(make_tone: Callable[..., Track]) -> None:
    tracks = [
        make_tone("a", 440.0, 0.5 + 123 / 48000, level_dbfs=-6.0),
        make_tone("b", 660.0, 0.3 + 7 / 48000, level_dbfs=-6.0),
        make_tone("c", 880.0, 0.41, level_dbfs=-6.0),
    ]
    expected = np.concatenate([decode_file(t.location) for t in tracks]).astype(np.float64)
    sequence = TrackSequence(TrackList(tracks), name="s")
    duck = Duck(sequence)
    duck.key_on("bob", 2000)
    total = len(expected)
    out = pcm(pull(duck, -(-total // 960))).astype(np.float64)[:total]
    sequence.close()
    db = np.zeros(total)
    rate = 15 / 4800
    ramp = np.arange(1, total - 2000 + 1) * rate
    db[2000:] = -np.minimum(15.0, ramp)
    ducked = expected * (10 ** (db / 20))[:, None]
    assert np.abs(out - ducked).max() <= 1.0
    assert sequence.underruns == 0
