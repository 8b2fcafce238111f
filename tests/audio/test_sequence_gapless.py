from collections.abc import Callable

import numpy as np

from radio.audio.pcm import decode_file
from radio.audio.sequence import TrackSequence
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.events import Event, TrackEnded, TrackStarted

from .conftest import pcm, pull


def test_crossfade_zero_is_the_exact_concatenation_of_decoded_tracks(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    # lengths that are not multiples of 960 samples, so boundaries fall inside frames
    tracks = [
        make_tone("a", 440.0, 0.5 + 123 / 48000),
        make_tone("b", 660.0, 0.3 + 7 / 48000, suffix=".flac"),
        make_tone("c", 880.0, 0.41),
    ]
    expected = np.concatenate([decode_file(t.location) for t in tracks])
    seq = TrackSequence(TrackList(tracks), events=events.append, name="s")
    total = len(expected)
    frames = -(-total // 960) + 3
    out = pcm(pull(seq, frames))
    seq.close()
    assert np.array_equal(out[:total], expected)
    assert not out[total:].any()
    starts = [e for e in events if isinstance(e, TrackStarted)]
    ends = [e for e in events if isinstance(e, TrackEnded)]
    assert [e.track.title for e in starts] == ["a", "b", "c"]
    assert [e.track.title for e in ends] == ["a", "b", "c"]
    # track b starts in the very frame where a's last sample is
    boundary_a = len(decode_file(tracks[0].location))
    assert starts[1].frame == boundary_a // 960
    assert seq.underruns == 0
