"""The live branch in the whole station tree, faster than real time: live cuts in
mid-track with its fade, the programme comes back after the grace on a fresh track
(the next one, from its first sample), and no frame is dead air."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from radio.audio.frames import SILENCE
from radio.audio.operators import Sine
from radio.events import Event, LiveEnded, LiveStarted, TrackEnded, TrackStarted
from radio.live.pcm_buffer import PcmBuffer
from radio.live.source import LiveInput, LiveRules
from radio.station import Station as RadioStation

from .conftest import Station, dominant, pull, radio_station

START = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
A_HZ, B_HZ, LIVE_HZ, FILLER_HZ = 600.0, 750.0, 1200.0, 300.0
RULES = LiveRules(fade=0.1, grace=0.2, prebuffer=0.06, max_latency=0.5)


def build(station: Station, events: list[Event]) -> RadioStation:
    station.write("station.yaml", "timezone: Europe/Paris\nfallback: filler\n")
    station.write("playlists/music.yaml", "sources: [media/music]\norder: sequential\n")
    station.write("playlists/filler.yaml", "sources: [media/filler]\n")
    station.tone("media/music/a.flac", A_HZ, 3.0)
    station.tone("media/music/b.flac", B_HZ, 3.0)
    station.tone("media/filler/f.flac", FILLER_HZ, 3.0)
    return radio_station(station, START, events, live=RULES)


def test_live_cuts_in_then_the_programme_returns_on_a_fresh_track(station: Station) -> None:
    events: list[Event] = []
    radio = build(station, events)
    try:
        before = pull(radio, 30)  # 0.6 s into a
        assert {dominant(f) for f in before[2:]} == {A_HZ}
        sine = Sine(LIVE_HZ)
        live = LiveInput(buffer=PcmBuffer(), presenter="alice", via="encoder")
        radio.live.attach(live)
        for _ in range(3):  # the prebuffer
            live.buffer.append(sine.read())
        on_air = []
        for sent in range(3, 50 + 10 + 1 + 3):
            # the encoder delivers in real time: one frame per frame read, for 1 s
            if sent < 50:
                live.buffer.append(sine.read())
            elif sent == 50:
                live.buffer.end()  # then it stops
            on_air += pull(radio, 1)
        # the fade (5 frames: a under the presenter), then the presenter alone
        assert {dominant(f) for f in on_air[5:50]} == {LIVE_HZ}
        # the grace: 10 frames of silence, then the programme at once
        assert all(f == SILENCE for f in on_air[50:60])
        back = on_air[60]
        assert back != SILENCE
        assert dominant(back) == B_HZ  # b from its first sample, not the rest of a
        after = pull(radio, 20)
        assert {dominant(f) for f in after} == {B_HZ}
        assert radio.root.dead_air_frames == 0
        live_start = next(e for e in events if isinstance(e, LiveStarted))
        live_end = next(e for e in events if isinstance(e, LiveEnded))
        assert live_start.frame == 30
        assert (live_end.frame, live_end.reason) == (30 + 50 + 10 - 1, "ended")
        b_start = next(e for e in events if isinstance(e, TrackStarted) and e.track.title == "b")
        assert b_start.frame == 30 + 60
        a_end = next(e for e in events if isinstance(e, TrackEnded) and e.track.title == "a")
        assert a_end.skipped
        samples = np.frombuffer(back, dtype="<i2").reshape(-1, 2)
        # a fresh track: b's first samples start at zero phase (the tone file's start)
        assert abs(int(samples[0, 0])) < 200
    finally:
        radio.close()
