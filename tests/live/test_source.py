"""The live branch's rules, counted in frames, faster than real time: taking the air,
the grace, hand-overs within it, blank stripping, latency, the takeover fade."""

from __future__ import annotations

import numpy as np

from radio.audio.frames import FRAME_BYTES, SILENCE
from radio.audio.operators import Sine
from radio.audio.pcm import to_int16
from radio.events import Event, LiveEnded, LiveStarted
from radio.live.pcm_buffer import PcmBuffer
from radio.live.source import LiveInput, LiveRules, LiveSource, frame_dbfs
from radio.live.takeover import Takeover

RULES = LiveRules(fade=0.1, grace=0.2, blank_limit=0.4, prebuffer=0.06, max_latency=0.2)
GRACE = 10  # frames
BLANK = 20
PREBUFFER = 3
FADE_FRAMES = 5


def tone(freq: float, frames: int, level: float = -20.0) -> list[bytes]:
    sine = Sine(freq, level)
    return [sine.read() for _ in range(frames)]


def feed(buffer: PcmBuffer, frames: list[bytes]) -> None:
    for frame in frames:
        assert buffer.append(frame)


def make_input(name: str = "alice", via: str = "encoder") -> LiveInput:
    return LiveInput(buffer=PcmBuffer(), presenter=name, via=via, show="morning")


def live_source(events: list[Event]) -> LiveSource:
    return LiveSource(RULES, events=events.append)


def test_takes_the_air_once_its_prebuffer_is_there() -> None:
    events: list[Event] = []
    live = live_source(events)
    assert not live.ready
    source = make_input()
    live.attach(source)
    frames = tone(440, 10)
    feed(source.buffer, frames[: PREBUFFER - 1])
    assert not live.ready
    assert live.read() == SILENCE  # off air, nothing consumed
    assert source.buffer.frames == PREBUFFER - 1
    feed(source.buffer, frames[PREBUFFER - 1 :])
    assert live.ready
    assert live.read() == frames[0]
    assert [type(e) for e in events] == [LiveStarted]
    started = events[0]
    assert isinstance(started, LiveStarted)
    assert (started.presenter, started.via, started.show) == ("alice", "encoder", "morning")


def test_the_grace_keeps_the_air_silent_then_lets_go() -> None:
    events: list[Event] = []
    live = live_source(events)
    source = make_input()
    live.attach(source)
    feed(source.buffer, tone(440, 5))
    source.buffer.end()  # the encoder disconnected after 5 frames
    heard = [live.read() for _ in range(5)]
    assert all(frame != SILENCE for frame in heard)
    silent = 0
    while live.ready:
        assert live.read() == SILENCE
        silent += 1
        assert silent <= GRACE
    assert silent == GRACE
    assert isinstance(events[-1], LiveEnded)
    assert events[-1].reason == "ended"


def test_a_stalled_input_lets_go_as_stalled_and_comes_back() -> None:
    events: list[Event] = []
    live = live_source(events)
    source = make_input()
    live.attach(source)
    feed(source.buffer, tone(440, 4))
    for _ in range(4):
        live.read()
    for _ in range(GRACE):
        assert live.ready
        live.read()
    assert not live.ready
    assert [(type(e), getattr(e, "reason", "")) for e in events] == [
        (LiveStarted, ""),
        (LiveEnded, "stalled"),
    ]
    feed(source.buffer, tone(440, PREBUFFER))  # the same connection delivers again
    assert live.ready
    assert live.read() != SILENCE
    assert isinstance(events[-1], LiveStarted)


def test_the_next_presenter_within_the_grace_keeps_the_air() -> None:
    events: list[Event] = []
    live = live_source(events)
    first = make_input("alice")
    live.attach(first)
    feed(first.buffer, tone(440, 4))
    first.buffer.end()
    for _ in range(4 + GRACE - 2):  # the first one's audio, then most of the grace
        live.read()
    assert live.ready
    second = make_input("bob")
    live.attach(second)
    live.read()  # bob's prebuffer is not there yet: still the grace's silence
    feed(second.buffer, tone(660, 6))
    assert live.ready
    heard = [live.read() for _ in range(6)]
    assert all(frame != SILENCE for frame in heard)
    kinds = [(type(e).__name__, getattr(e, "presenter", "")) for e in events]
    assert kinds == [("LiveStarted", "alice"), ("LiveStarted", "bob")]


def test_blank_audio_lets_go_and_loud_audio_takes_the_air_again() -> None:
    events: list[Event] = []
    live = live_source(events)
    source = make_input()
    live.attach(source)
    quiet = tone(440, BLANK + 5, level=-55.0)
    assert frame_dbfs(quiet[0]) < RULES.blank_dbfs
    feed(source.buffer, quiet[:PREBUFFER])
    read = 0
    while True:
        if source.buffer.frames < PREBUFFER:
            feed(source.buffer, quiet[PREBUFFER + read : PREBUFFER + read + 1])
        if not live.ready:
            break
        live.read()
        read += 1
    assert read == BLANK
    assert isinstance(events[-1], LiveEnded)
    assert events[-1].reason == "blank"
    # still blank: stays off air while reading (and dropping) the input
    feed(source.buffer, quiet[:3])
    backlog = source.buffer.frames
    for _ in range(backlog):
        assert not live.ready
        live.read()
    assert source.buffer.frames == 0
    feed(source.buffer, tone(440, 1 + PREBUFFER))
    live.read()  # the first loud frame lifts the strip
    assert live.ready
    assert live.read() != SILENCE
    assert isinstance(events[-1], LiveStarted)


def test_a_backlog_beyond_the_latency_is_dropped_to_the_prebuffer() -> None:
    live = live_source([])
    source = make_input()
    live.attach(source)
    frames = [bytes([i]) * FRAME_BYTES for i in range(30)]
    feed(source.buffer, frames)  # 30 frames at once: a burst-on-connect
    first = live.read()
    assert first == frames[30 - PREBUFFER]  # the oldest 27 went: 60 ms of latency left
    assert source.buffer.frames_dropped == 30 - PREBUFFER


def test_stop_lets_go_at_the_next_frame() -> None:
    events: list[Event] = []
    live = live_source(events)
    source = make_input()
    live.attach(source)
    feed(source.buffer, tone(440, 10))
    live.read()
    live.stop()
    assert live.ready  # the frame that says so is the next one
    assert live.read() == SILENCE
    assert not live.ready
    assert isinstance(events[-1], LiveEnded)
    assert events[-1].reason == "stopped"


def test_takeover_fades_the_programme_under_then_calls_taken_once() -> None:
    live = LiveSource(RULES)
    programme = Sine(220, -20.0)
    taken: list[int] = []
    top = Takeover(live, programme, fade=RULES.fade, taken=lambda: taken.append(1))
    before = [top.read() for _ in range(3)]
    assert all(frame != SILENCE for frame in before)
    source = make_input()
    live.attach(source)
    feed(source.buffer, [SILENCE] * 40)  # live silence: what is heard is the programme's fade
    out = np.concatenate([to_int16(top.read()) for _ in range(FADE_FRAMES + 2)])
    assert taken == [1]
    # the programme's sine fades out over exactly 5 frames (4,800 samples), then nothing
    fade_part = np.abs(out[: FADE_FRAMES * 960, 0].astype(np.int32))
    assert fade_part[:960].max() > 3000
    assert np.all(out[FADE_FRAMES * 960 :] == 0)
    # equal power: the outgoing gain at the last sample is cos(pi/2 * 4799.5 / 4800)
    assert fade_part[-1] <= 1
    assert fade_part[-960:].max() < fade_part[:960].max() / 3
    assert top.live_on_air


def test_programme_comes_back_with_a_cut_one_frame_after_the_grace() -> None:
    live = LiveSource(RULES)
    programme = Sine(220, -20.0)
    top = Takeover(live, programme, fade=0.0)
    source = make_input()
    live.attach(source)
    feed(source.buffer, tone(880, 5))
    source.buffer.end()
    frames = [top.read() for _ in range(5 + GRACE + 1)]
    assert all(frame != SILENCE for frame in frames[:5])
    assert all(frame == SILENCE for frame in frames[5 : 5 + GRACE])
    assert frames[5 + GRACE] != SILENCE  # the programme, the frame after the grace
    assert not top.live_on_air


def test_a_blip_during_the_fade_returns_the_programme_without_taking() -> None:
    live = LiveSource(LiveRules(fade=1.0, grace=0.02, prebuffer=0.02, max_latency=0.2))
    taken: list[int] = []
    top = Takeover(live, Sine(220), fade=1.0, taken=lambda: taken.append(1))
    source = make_input()
    live.attach(source)
    feed(source.buffer, tone(880, 2))
    source.buffer.end()
    for _ in range(10):
        top.read()
    assert taken == []
    assert not top.live_on_air
