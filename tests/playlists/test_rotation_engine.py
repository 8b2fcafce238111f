"""A real Rotation in a real TrackSequence over FFmpeg-decoded tones, on a frame clock.

The rotation is timed, so the sequence opens each next track a second after the
current one starts (EARLY_SETTLE_FRAMES), long before its end: the top-of-hour
ID is picked before the hour, for the instant it will start, and a skip is heard
on the very next frame. Frames are pulled as fast as FFmpeg decodes.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from radio.audio import synth
from radio.audio.frames import FRAME_BYTES, SAMPLES_PER_FRAME
from radio.audio.pcm import decode_file, to_int16
from radio.audio.sequence import EARLY_SETTLE_FRAMES, SKIP_FADE_SAMPLES, TrackSequence
from radio.audio.track import Track
from radio.events import Event, TrackEnded, TrackStarted
from radio.grid.frameclock import FrameClock
from radio.playlists.model import PlaylistModel
from radio.playlists.rotation import Deck, Part, Rotation
from radio.store.db import Database
from radio.store.history import PlayHistory

TOP = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
TRACK_SECONDS = 12.0  # longer than the 10 s preload window: opened early, not by it
TRACK_FRAMES = 600
F = SAMPLES_PER_FRAME


class OnAir:
    """A rotation, its sequence and a frame clock, recording plays like the station."""

    def __init__(self, folder: Path, start: datetime) -> None:
        rng = random.Random(4)
        self.frames = 0
        self.clock = FrameClock(start, lambda: self.frames)
        self.history = PlayHistory(Database(":memory:"))
        self.events: list[Event] = []
        music = [
            self._tone(folder, f"m{i}", 300.0 + 40.0 * i, TRACK_SECONDS, f"artist {i % 4}")
            for i in range(6)
        ]
        ids = [self._tone(folder, "id", 1800.0, 2.0, "station")]
        model = PlaylistModel.model_validate(
            {"sources": ["x"], "order": "shuffle", "separation": {"artist": "30s"}}
        )
        id_model = PlaylistModel.model_validate({"sources": ["x"], "order": "sequential"})
        self.rotation = Rotation(
            [Part(Deck("music", model, music, rng), 1.0)],
            clock=self.clock,
            rng=rng,
            history=self.history,
            station_id=Deck("ids", id_model, ids, rng),
            record=False,
        )
        self.sequence = TrackSequence(self.rotation, events=self._event)

    @staticmethod
    def _tone(folder: Path, name: str, freq: float, seconds: float, artist: str) -> Track:
        path = synth.tone(folder / f"{name}.flac", freq, seconds, level_dbfs=-20.0)
        # the playlist library's tracks carry their duration: opened without ffprobe
        return Track(str(path), name, artist, duration=seconds)

    def _event(self, event: Event) -> None:
        if isinstance(event, TrackStarted):
            tags = event.track.tags
            self.history.record(event.track, self.clock.now(), playlist=tags["playlist"])
        self.events.append(event)

    def read(self, wait: bool = True) -> bytes:
        if wait:
            assert self.sequence.wait_buffered(10.0), "the sequence never became ready"
        frame = self.sequence.read()
        assert len(frame) == FRAME_BYTES
        self.frames += 1
        return frame

    def started(self) -> list[tuple[int, Track]]:
        return [(e.frame, e.track) for e in self.events if isinstance(e, TrackStarted)]


@pytest.mark.parametrize("seconds_before", [30.0, 36.0], ids=["mid-track", "on-a-boundary"])
def test_the_id_opens_before_the_hour_and_lands_at_the_first_change_at_or_after_it(
    tmp_path: Path, seconds_before: float
) -> None:
    start = TOP - timedelta(seconds=seconds_before)
    on_air = OnAir(tmp_path, start)
    hour_frame = on_air.clock.frame_of(TOP)
    id_open_at = None
    try:
        for _ in range(hour_frame + TRACK_FRAMES + 100):
            on_air.read()
            preloaded = on_air.sequence.preloaded
            if id_open_at is None and preloaded is not None and preloaded.title == "id":
                id_open_at = on_air.frames
    finally:
        on_air.sequence.close()
    starts = on_air.started()
    changes = [frame for frame, _ in starts]
    # music back to back from the start: a change every 600 frames
    assert changes[:4] == [0, 600, 1200, 1800]
    first_change_after = min(frame for frame in changes if frame >= hour_frame)
    ids = [frame for frame, track in starts if track.tags["kind"] == "id"]
    assert ids == [first_change_after]
    assert [track.tags["kind"] for _, track in starts].count("id") == 1
    # picked a second after the track before it started, long before the hour
    previous = max(frame for frame in changes if frame < first_change_after)
    assert id_open_at is not None
    assert previous + EARLY_SETTLE_FRAMES <= id_open_at <= previous + EARLY_SETTLE_FRAMES + 2
    assert id_open_at < hour_frame
    assert on_air.sequence.underruns == 0
    assert (on_air.rotation.early_ids, on_air.rotation.relaxed) == (0, 0)


def test_a_skip_is_heard_on_the_next_frame_with_a_real_rotation(tmp_path: Path) -> None:
    on_air = OnAir(tmp_path, TOP + timedelta(minutes=10))
    k = EARLY_SETTLE_FRAMES + 10
    try:
        for _ in range(k):
            on_air.read()
        assert on_air.sequence.wait_buffered(10.0)
        following = on_air.sequence.preloaded  # opened 1 s in, 11 s before the end
        assert following is not None
        current = on_air.sequence.current
        assert current is not None
        on_air.sequence.skip()
        skip_frame = to_int16(on_air.read(wait=False))  # no waiting of any kind
        after = to_int16(b"".join(on_air.read() for _ in range(5)))
    finally:
        on_air.sequence.close()
    assert on_air.started() == [(0, current), (k, following)]
    ended = [e for e in on_air.events if isinstance(e, TrackEnded)]
    assert ended == [TrackEnded(frame=k, track=current, skipped=True)]
    # the skip frame: a 10 ms fade, then the next track from its 481st sample on
    incoming = decode_file(following.location)
    assert np.array_equal(skip_frame[SKIP_FADE_SAMPLES:], incoming[SKIP_FADE_SAMPLES:F])
    assert np.abs(skip_frame[:SKIP_FADE_SAMPLES]).max() > 1000  # the fade is not silence
    assert np.array_equal(after, incoming[F : 6 * F])
    assert on_air.sequence.underruns == 0
