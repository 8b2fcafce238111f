"""``radio demo``'s application layer end to end: the real bot, real FFmpeg, the local Discord.

A tiny station (2-3 s tones) with a hard-start show a few seconds after start
runs in the demo; a member requests a track; a programmer saves a broken grid.
The listener must hear every frame (no RTP sequence missing, timestamps one
frame apart; how evenly packets arrive is a benchmark figure, see
bench/app_onair.py) and the tones in the order the station says it played them;
the hard start lands on its frame; the request plays at the end of the show's
track (the song on air is not cut), the show follows, the request is marked played;
the now-playing messages, the request's reply and the grid alert are posted and
printed; the page, its JSON and its live stream answer; the WAV is written.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import statistics
import wave
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from support import wait
from support.demo import demo_options

from radio.app.stamps import FRAME
from radio.demo.runner import Demo
from radio.events import ShowStarted, TrackEnded, TrackStarted
from radio.sandbox.analysis import missing_sequences, tone_runs
from radio.store.db import Database
from radio.store.requests import RequestQueue

from .conftest import make_station, rtp_steps, whole_seconds_after

pytestmark = pytest.mark.e2e

SHORTEST_RUN = 10  # frames: tone_runs needs three 50 ms windows of one tone


def heard_as_played(heard: list[float], played: list[tuple[float, bool]], start: int) -> bool:
    """True when ``heard`` (repeats folded) is what ``played`` sounds like from its
    ``start``-th track on: each (tone, optional) is heard in order, an optional one
    (too short to be sure to hear) may be missing, and a tone that repeats the one
    just heard folds into it."""

    @functools.cache
    def match(j: int, k: int) -> bool:
        if j == len(heard):
            return True
        if k == len(played):
            return False
        tone, optional = played[k]
        if tone == heard[j] and match(j + 1, k + 1):
            return True
        if j > 0 and tone == heard[j - 1] and match(j, k + 1):
            return True
        return optional and match(j, k + 1)

    return match(0, start)


def collapse(values: list[float]) -> list[float]:
    """Consecutive repeats folded into one (the show's single tone loops)."""
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


until = functools.partial(wait.until, timeout=30.0)


async def test_demo_plays_the_grid_hard_start_and_a_request(tmp_path: Path) -> None:
    boundary = whole_seconds_after(datetime.now(UTC), 8.0)
    station = make_station(tmp_path / "station", show_start=boundary)
    out = io.StringIO()
    demo = Demo(demo_options(station.root, watch_interval=0.5), out)
    await demo.start()
    try:
        await demo.wait_on_air()
        app = demo.app
        assert app is not None

        def started() -> list[TrackStarted]:
            return [e for e, _ in list(demo.events) if isinstance(e, TrackStarted)]

        def show_started() -> list[ShowStarted]:
            return [
                e
                for e, _ in list(demo.events)
                if isinstance(e, ShowStarted) and e.show_id == "hard"
            ]

        await until(lambda: bool(show_started()), timeout=40)
        # The show plays a moment (a second of frames), then a member asks for a track.
        shown = show_started()[0].frame
        await until(lambda: app.onair.root.position >= shown + 50)
        await demo.emulator.inject_message("alice", "!request request me")
        await until(lambda: any(e.track.tags.get("requested_by") for e in started()))
        # The reply may wait for the room's message budget (5 per 5 s) to refill.
        await until(lambda: any("Queued **" in line for line in list(demo.lines)))
        request = next(e for e in started() if e.track.tags.get("requested_by"))

        def request_ended() -> list[TrackEnded]:
            return [
                e
                for e, _ in list(demo.events)
                if isinstance(e, TrackEnded) and e.track.location == request.track.location
            ]

        await until(lambda: bool(request_ended()))
        # the show follows the request
        ended = request_ended()[0].frame
        await until(lambda: any(e.frame > ended for e in started()))
        # A programmer saves a broken grid: the programmers' room is told where,
        # and the last good grid stays on air.
        week = station.root / "schedules" / "week.yaml"
        week.write_text(week.read_text().replace("duration: 1h", "duration: soon"))
        await until(lambda: any("was not applied" in line for line in list(demo.lines)))

        async with aiohttp.ClientSession() as http:
            async with http.get(demo.page.url) as page:
                assert page.status == 200
                assert '<audio id="player"' in await page.text()
            async with http.get(demo.page.url + "now.json") as answer:
                now = await answer.json()
            async with http.get(demo.page.url + "live.wav") as live:
                head = await live.content.readexactly(44 + 3840 * 5)
        stamps = app.stamps.stamps()
        diagnostics = app.diagnostics()
        sent = app.bot.broadcaster.stats()
    finally:
        result = await demo.stop()

    # The owner's diagnostics count what the one sender thread sent to the one room.
    assert sent.frames > 0 and sent.rooms == 1
    assert diagnostics[1].startswith("frames sent ")
    assert " to 1 room(s)" in diagnostics[1]

    # The page's JSON says what the announcer says: the show's tone, in the hard show.
    assert now["station"] == "Tiny FM"
    assert now["show"] == "The Hard Start"
    assert now["track"]["title"] == "Show Tone"
    assert now["queue"] == []
    assert head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt "

    packets = result.record.audio_packets(channel_id=result.room_id)
    assert missing_sequences(packets) == []
    assert rtp_steps(packets) == {960}

    # Tones heard, in order, are the tracks the station says it started.
    # A track cut within a few frames of its start (by the hard start) is at the
    # edge of what the tone analysis can see (three 50 ms windows): one shorter
    # than two such runs may be heard or not; every longer one must be.
    tracks = started()
    lasted = [b.frame - a.frame for a, b in itertools.pairwise(tracks)] + [2 * SHORTEST_RUN]
    played = [
        (station.freq_of[e.track.location], frames < 2 * SHORTEST_RUN)
        for e, frames in zip(tracks, lasted, strict=True)
    ]
    heard = collapse([float(round(r.frequency)) for r in tone_runs(result.record.pcm(packets))])
    assert len(heard) >= 4, heard  # at least three track changes heard
    assert any(heard_as_played(heard, played, k) for k in range(len(played))), (heard, played)
    # The request played at the next track boundary: the show's track ended by
    # itself, not skipped, right before the request's first frame (gapless: the
    # tones are whole frames long, so the end is in the frame before, or noticed
    # in the request's first frame when FFmpeg's EOF came just after the last
    # samples), and the show followed it.
    at = heard.index(1000.0)
    assert heard[at - 1] == 880.0 and heard[at + 1] == 880.0
    ended = [e for e, _ in list(demo.events) if isinstance(e, TrackEnded)]
    before = [
        (e.track.title, e.skipped) for e in ended if request.frame - 1 <= e.frame <= request.frame
    ]
    assert before == [("Show Tone", False)]
    after = [e for e in tracks if e.frame > request.frame]
    assert after[0].track.title == "Show Tone"

    # The hard start is on the frame of its instant (frames read every 20 ms).
    (show,) = show_started()
    # On a busy machine the demo may take so long to start that the show begins in
    # its first 100 frames: the origin comes from the stamps around the show's frame.
    near = [(f, t) for f, t in stamps if abs(f - show.frame) <= 100]
    assert len(near) >= 50, (show.frame, [f for f, _ in stamps[:5]])
    origin = statistics.median([(t - f * FRAME).timestamp() for f, t in near])
    expected = math.ceil((boundary.timestamp() - origin) / FRAME.total_seconds())
    assert abs(show.frame - expected) <= 1, (show.frame, expected)

    # The request is marked played in the station's database.
    db = Database(station.data / "radio.sqlite3")
    try:
        queue = RequestQueue(db)
        assert queue.get(int(request.track.tags["request_id"])).state == "played"
        assert queue.pending() == []
    finally:
        db.close()

    # The now-playing embeds were posted, the request confirmed, all printed.
    assert any("♪ Show Tone" in line for line in result.lines)
    assert any("♪ Request Me" in line and "@alice" in line for line in result.lines)
    assert any("Queued **Req Band – Request Me**" in line for line in result.lines)
    (alert,) = [line for line in result.lines if "was not applied" in line]
    assert "week.yaml:6:" in alert and "E108" in alert
    printed = out.getvalue()
    assert f"listen, see what plays and act as a member: {result.page_url}" in printed
    assert "♪ Request Me" in printed

    assert result.wav is not None and result.wav.parent == station.data
    with wave.open(str(result.wav)) as recording:
        assert recording.getframerate() == 48_000
        assert recording.getnchannels() == 2
        assert recording.getnframes() >= 960 * len(packets)
