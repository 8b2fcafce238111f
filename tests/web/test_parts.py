"""The web face's pure parts: the health rule, AzuraCast's arithmetic, failure classes,
the play log fed with real station events, the page's escaping, a refused address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from radio.app.webview import PlayLog, live_song, shortcode
from radio.audio.track import Track
from radio.clock import ManualClock
from radio.events import (
    DeadAir,
    LiveEnded,
    LiveProblem,
    LiveStarted,
    LiveTitle,
    TrackFailed,
    TrackStarted,
)
from radio.live.feed import STOPPED
from radio.web.eventcounts import EventCounts, decoder_failure, failure_class
from radio.web.health import MAX_BEHIND_FRAMES, judge
from radio.web.nowplaying import current_json, now_playing
from radio.web.page import public_page
from radio.web.view import OnAir, Play, SenderProgress, Song, StationCard

T0 = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)


def test_health_is_exact_at_the_two_second_bound() -> None:
    running = SenderProgress(begun=True, ended=False, taken=1000, due=1000 + MAX_BEHIND_FRAMES)
    assert judge(running).ok
    late = SenderProgress(begun=True, ended=False, taken=1000, due=1001 + MAX_BEHIND_FRAMES)
    assert not judge(late).ok and "101 frames (2020 ms)" in judge(late).reason
    assert not judge(SenderProgress(begun=False, ended=False, taken=0, due=0)).ok
    assert "closed" in judge(SenderProgress(begun=True, ended=True, taken=5, due=5)).reason


def test_elapsed_and_remaining_as_azuracast_counts_them() -> None:
    play = Play(Song("a.flac", "T", "A"), started_at=T0, duration=180.4)
    assert (current_json(play, T0 + timedelta(seconds=25.9)) | {})["elapsed"] == 25
    row = current_json(play, T0 + timedelta(seconds=25.9))
    assert (row["duration"], row["elapsed"], row["remaining"]) == (180, 25, 155)
    over = current_json(play, T0 + timedelta(seconds=500))
    assert (over["elapsed"], over["remaining"]) == (180, 0)
    unknown = current_json(Play(Song("s", "S"), started_at=T0), T0 + timedelta(seconds=9))
    assert (unknown["duration"], unknown["elapsed"], unknown["remaining"]) == (0, 9, 0)
    assert unknown["song"]["text"] == "S"
    early = current_json(play, T0 - timedelta(seconds=3))
    assert early["elapsed"] == 0


def test_failure_reasons_fall_into_few_classes() -> None:
    assert failure_class("ffmpeg exited with code 1: Invalid data found") == "decoder_exit"
    assert failure_class("/m/x.flac: No such file or directory") == "missing"
    assert failure_class("no audio stream") == "no_audio"
    assert failure_class("ffmpeg was killed by signal 9") == "killed"
    assert failure_class("something new") == "other"


def test_decoder_failures_are_decoders_that_died_of_a_track_or_a_live_session() -> None:
    counts = EventCounts()
    track = Track("a.flac", "A")
    killed = "ffmpeg was killed by signal 9"
    for event in [
        TrackFailed(frame=1, track=track, reason=killed),
        TrackFailed(frame=2, track=track, reason="ffmpeg exited with code 1: Invalid data"),
        # a decoder that ran and exited on a file gone meanwhile: a missing track, a decoder exit
        TrackFailed(frame=3, track=track, reason="ffmpeg exited with code 1: No such file"),
        TrackFailed(frame=4, track=track, reason="/m/x.flac: No such file or directory"),
        TrackFailed(frame=5, track=track, reason="no audio decoded (empty track)"),
        LiveProblem(frame=6, who="alice", detail=f"{STOPPED}: {killed}"),
        LiveProblem(frame=7, who="alice", detail=f"{STOPPED}: [Errno 32] Broken pipe"),
        # the relay's own report of the same end, and other problems: not decoders
        LiveProblem(frame=8, who="bob", detail=f"relay of http://x: ended: {STOPPED}: {killed}"),
        LiveProblem(frame=9, who="eve", detail="connection refused (401): ffmpeg was killed"),
    ]:
        counts(event)
    totals = counts.totals()
    assert totals.decoder_failures == {
        ("track", "killed"): 1,
        ("track", "decoder_exit"): 2,
        ("live", "killed"): 1,
        ("live", "other"): 1,
    }
    assert totals.tracks_failed == {"killed": 1, "decoder_exit": 1, "missing": 2, "no_audio": 1}
    assert decoder_failure("ffprobe failed: Invalid data") is None


def test_play_log_follows_what_listeners_hear() -> None:
    clock = ManualClock(T0)
    instants = {n: T0 + timedelta(milliseconds=20 * n) for n in range(10_000)}
    log = PlayLog(instants.get, clock, keep=3)
    counts = EventCounts()
    a = Track("a.flac", "A", "Band", duration=2.0, tags={"playlist": "music"})
    r = Track("r.flac", "R", tags={"kind": "request", "request_id": "7"})
    hidden = Track("h.flac", "Hidden")
    events = [
        TrackStarted(frame=0, track=a),
        TrackStarted(frame=100, track=r),
        LiveTitle(frame=150, presenter="alice", title="Early - Bird"),
        LiveStarted(frame=200, presenter="alice", via="encoder", show="night"),
        TrackStarted(frame=210, track=hidden),  # the hidden programme: not heard
        LiveStarted(frame=220, presenter="alice", via="encoder"),  # a reconnect
        LiveTitle(frame=300, presenter="alice", title="Night Talk"),
        LiveEnded(frame=400, presenter="alice", reason="ended"),
        DeadAir(frame=401),
    ]
    for event in events:
        log(event)
        counts(event)
    current, history, live = log.snapshot()
    assert current is None and live is None
    assert [p.song.title for p in history] == ["Night Talk", "Bird", "R"]  # keep=3
    assert history[1].song.artist == "Early" and history[1].streamer == "alice"
    assert history[1].started_at == instants[200]
    assert history[2].is_request and history[2].started_at == instants[100]
    totals = counts.totals()
    assert totals.tracks_started == {"programme": 2, "request": 1}
    assert (totals.live_sessions, totals.live_ended, totals.dead_air_events) == (2, {"ended": 1}, 1)


def test_live_titles_and_short_codes() -> None:
    assert live_song("bob", "").title == "Live with bob"
    assert (live_song("bob", "A - B").artist, live_song("bob", "A - B").title) == ("A", "B")
    assert live_song("bob", " - B").title == " - B"
    assert shortcode("Tiny FM") == "tiny_fm" and shortcode("Ça va? Radio!") == "a_va_radio"
    assert shortcode("!!!") == "radio"


def test_the_page_escapes_and_says_when_there_is_no_stream() -> None:
    card = StationCard('<script>alert("x")</script>', "x", "UTC", None)
    play = Play(Song("k", "<b>bold</b>", "A & B"), started_at=T0)
    doc = now_playing(card, OnAir(play, None, (), None, 0, True), T0, "http://h")
    page = public_page(doc, "/api/nowplaying/x")
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "A &amp; B" in page
    assert 'id="no-stream"' in page and "<audio" not in page
    with_stream = StationCard("S", "s", "UTC", "http://ice:8000/radio.ogg?a=1&b=2")
    page = public_page(now_playing(with_stream, OnAir(None, None, (), None, 0, True), T0, ""), "/")
    assert 'src="http://ice:8000/radio.ogg?a=1&amp;b=2"' in page
