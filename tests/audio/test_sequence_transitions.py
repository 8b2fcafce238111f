from collections.abc import Callable

import numpy as np

from radio.audio import curves
from radio.audio.pcm import decode_file
from radio.audio.sequence import SKIP_FADE_SAMPLES, TrackSequence
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.events import Event, TrackEnded, TrackStarted

from .conftest import pcm, pull


def test_crossfade_matches_the_equal_power_curve(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 1.0 + 300 / 48000)
    b = make_tone("b", 1000.0, 1.0)
    da, db = decode_file(a.location), decode_file(b.location)
    seq = TrackSequence(TrackList([a, b]), crossfade=0.25, events=events.append)
    out = pcm(pull(seq, 90)).astype(np.float64)
    seq.close()
    # the fade starts at the first frame boundary where a has <= 12000 samples left
    start_frame = -(-(len(da) - 12000) // 960)
    start = start_frame * 960
    length = len(da) - start
    assert 11040 < length <= 12000
    assert np.array_equal(out[:start], da[:start])
    g_out, g_in = curves.equal_power(0, length, length)
    expected = da[start:].astype(np.float64) * g_out + db[:length].astype(np.float64) * g_in
    assert np.abs(out[start : start + length] - np.rint(expected)).max() <= 1
    rest = len(db) - length
    assert np.array_equal(out[start + length : start + length + rest], db[length:])
    assert not out[start + length + rest :].any()
    started = [e for e in events if isinstance(e, TrackStarted)]
    assert [(e.track.title, e.frame) for e in started] == [("a", 0), ("b", start_frame)]


def test_skip_fades_out_quickly_and_moves_on(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 2.0)
    b = make_tone("b", 880.0, 0.5)
    db = decode_file(b.location)
    seq = TrackSequence(TrackList([a, b]), events=events.append, preload=5.0)
    pull(seq, 10)
    seq.skip()
    out = pcm(pull(seq, 2))
    seq.close()
    # 480 samples of fade, then b from its 481st sample
    assert np.array_equal(out[SKIP_FADE_SAMPLES:960], db[SKIP_FADE_SAMPLES:960])
    ended = [e for e in events if isinstance(e, TrackEnded)]
    assert ended == [TrackEnded(frame=10, track=a, skipped=True)]


def test_hold_after_track_stops_at_the_boundary_until_resumed(
    make_tone: Callable[..., Track],
) -> None:
    a = make_tone("a", 440.0, 0.1 + 100 / 48000)  # 5 frames + 100 samples
    b = make_tone("b", 880.0, 0.1)
    seq = TrackSequence(TrackList([a, b]))
    first_frame = pull(seq, 1)
    seq.hold_after_track()
    first = pcm(first_frame + pull(seq, 5))
    assert seq.holding and not seq.ready
    assert np.array_equal(first[:4900], decode_file(a.location))
    assert not first[4900:].any()
    assert seq.read() == bytes(3840)
    seq.resume()
    second = pcm(pull(seq, 5))
    seq.close()
    assert np.array_equal(second[:4800], decode_file(b.location))


def test_a_track_change_costs_zero_frames(make_tone: Callable[..., Track]) -> None:
    tracks = [make_tone(f"t{i}", 300.0 + 100 * i, 0.2) for i in range(4)]  # 10 frames each
    seq = TrackSequence(TrackList(tracks))
    out = pcm(pull(seq, 40))
    seq.close()
    silent_frames = [i for i in range(40) if not out[i * 960 : (i + 1) * 960].any()]
    assert silent_frames == []
    assert seq.underruns == 0


def test_a_held_track_plays_to_its_end_even_with_a_crossfade(
    make_tone: Callable[..., Track],
) -> None:
    a = make_tone("a", 440.0, 0.5)
    b = make_tone("b", 880.0, 0.5)
    seq = TrackSequence(TrackList([a, b]), crossfade=0.2)
    first = pull(seq, 1)
    seq.hold_after_track()
    out = pcm(first + pull(seq, 30))
    assert seq.holding and seq.preloaded == b
    seq.close()
    assert np.array_equal(out[:24000], decode_file(a.location))
    assert not out[24000:].any()
