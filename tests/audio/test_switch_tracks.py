from collections.abc import Callable

import numpy as np

from radio.audio import curves
from radio.audio.pcm import decode_file
from radio.audio.sequence import TrackSequence
from radio.audio.switch import Fallback, Switch
from radio.audio.track import Track
from radio.audio.tracklist import TrackList

from .conftest import pcm, pull


def test_soft_start_waits_for_the_end_of_the_track_then_cuts(
    make_tone: Callable[..., Track],
) -> None:
    a1 = make_tone("a1", 440.0, 0.3 + 50 / 48000)  # ends inside frame 15
    a2 = make_tone("a2", 500.0, 1.0)
    b1 = make_tone("b1", 880.0, 1.0)
    old = TrackSequence(TrackList([a1, a2]))
    new = TrackSequence(TrackList([b1]))
    switch = Switch([old, new], transition=0.05)
    first = pull(switch, 2)
    switch.select(1, after_track=True, max_wait=60.0)
    out = pcm(first + pull(switch, 30))
    assert np.array_equal(out[:14450], decode_file(a1.location))
    assert not out[14450:15360].any()  # the rest of a1's last frame
    assert np.array_equal(out[15360:], decode_file(b1.location)[: 16 * 960])
    assert switch.selected == 1 and not switch.pending
    assert not old.holding  # resumed: selected again, it goes on with a2
    switch.select(0, fade=0.0)
    back = pcm(pull(switch, 2))
    old.close()
    new.close()
    assert np.array_equal(back, decode_file(a2.location)[:1920])


def test_soft_start_is_forced_after_max_wait_with_the_transition(
    make_tone: Callable[..., Track],
) -> None:
    long = make_tone("long", 440.0, 5.0)
    b1 = make_tone("b1", 880.0, 2.0)
    old = TrackSequence(TrackList([long]))
    new = TrackSequence(TrackList([b1]))
    switch = Switch([old, new], transition=0.04)
    pull(switch, 1)
    switch.select(1, after_track=True, max_wait=0.1)  # 5 frames
    out = pcm(pull(switch, 9)).astype(np.float64)
    da, db = decode_file(long.location), decode_file(b1.location)
    assert np.array_equal(out[: 5 * 960], da[960 : 6 * 960])
    g_out, g_in = curves.equal_power(0, 1920, 1920)
    expected = da[6 * 960 : 8 * 960] * g_out + db[:1920] * g_in
    assert np.abs(out[5 * 960 : 7 * 960] - np.rint(expected)).max() <= 1
    assert np.array_equal(out[7 * 960 :], db[1920 : 3 * 960 + 960])
    old.close()
    new.close()


def test_track_sensitive_fallback_lets_the_playing_track_finish(
    make_tone: Callable[..., Track],
) -> None:
    jingle = make_tone("jingle", 1000.0, 0.2)
    song = make_tone("song", 440.0, 0.3 + 100 / 48000)
    queue = TrackList([])
    requests = TrackSequence(queue)
    rotation = TrackSequence(TrackList([song]))
    fb = Fallback([requests, rotation], track_sensitive=True)
    first = pull(fb, 3)
    assert fb.selected == 1
    queue.tracks.append(jingle)  # a request arrives
    requests.wake()
    out = pcm(first + pull(fb, 25))
    ds, dj = decode_file(song.location), decode_file(jingle.location)
    assert np.array_equal(out[: len(ds)], ds)  # the song was not cut
    assert not out[len(ds) : 16 * 960].any()
    assert np.array_equal(out[16 * 960 : 16 * 960 + len(dj)], dj)
    requests.close()
    rotation.close()


def test_an_idle_sequence_asks_its_provider_again_without_being_read(
    make_tone: Callable[..., Track],
) -> None:
    queue = TrackList([])
    seq = TrackSequence(queue)
    assert seq.wait_buffered(10.0) and not seq.ready
    queue.tracks.append(make_tone("late", 440.0, 0.2))
    checks = 0
    while not seq.ready:
        checks += 1
        assert checks <= 1000, "never asked the provider again"
        seq.wait_buffered(10.0)
    assert checks <= 51  # the retry comes after 50 readiness checks, not wall time
    seq.close()


def test_soft_start_after_a_track_ending_on_a_frame_boundary_costs_no_frame(
    make_tone: Callable[..., Track],
) -> None:
    a1 = make_tone("a1", 440.0, 0.3)  # exactly 15 frames
    b1 = make_tone("b1", 880.0, 1.0)
    old = TrackSequence(TrackList([a1, make_tone("a2", 500.0, 1.0)]))
    new = TrackSequence(TrackList([b1]))
    switch = Switch([old, new])
    first = pull(switch, 1)
    switch.select(1, after_track=True)
    out = pcm(first + pull(switch, 24))
    old.close()
    new.close()
    assert np.array_equal(out[:14400], decode_file(a1.location))
    assert np.array_equal(out[14400:], decode_file(b1.location)[: 10 * 960])
