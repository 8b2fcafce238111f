"""/metrics and /healthz of a running station on the local Discord: counters move as
tracks play, a request, a listener and a broken grid edit show, a killed decoder (of a
track, of a live session) shows in its counter while the send-interval histogram counts
every frame, and /healthz turns 503 when the sender stops (its feed closed) or stalls (no
longer stepped)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from radio.audio import synth
from radio.events import LiveProblem, LiveStarted, TrackFailed, TrackStarted
from radio.live.feed import STOPPED, ffmpeg_args
from radio.sandbox.presenter import encoder_args
from radio.sandbox.state import VoiceState
from radio.store.presenters import PresenterCredentials

from .conftest import REQUEST_TITLE, TITLES, Station, until

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (name, tuple(sorted(labels.items())))


async def wait_metric(station: Station, name: str, wanted: float, **labels: str) -> Samples:
    """Scrape until the sample equals ``wanted`` (a minute at most); the last scrape."""
    async with asyncio.timeout(60):
        while True:
            samples = await station.metrics()
            if samples.get(key(name, **labels)) == wanted:
                return samples
            await asyncio.sleep(0.1)


def programme_starts(station: Station) -> int:
    return sum(
        1
        for e in list(station.events)
        if isinstance(e, TrackStarted) and e.track.tags.get("kind") != "request"
    )


async def test_counters_move_as_tracks_play(station: Station) -> None:
    app = station.app
    world = station.emulator.world
    room = {"guild": str(world.guild.id), "room": str(world.voice_channel.id)}
    first = await station.metrics()
    assert first[key("radio_sending")] == 1
    assert first[key("radio_voice_connections_total", **room)] == 1
    assert first[key("radio_room_on_air", **room)] == 1
    assert key("radio_voice_last_close_code", **room) not in first
    assert first[key("radio_listeners", **room)] == 0
    assert first[key("radio_dead_air_frames_total")] == 0
    assert first[key("radio_tracks_blank_skipped_total")] == 0  # the tones are loud
    assert first[key("radio_send_stalls_total")] >= 0  # a busy machine may make some
    assert first[key("radio_grid_reloads_total", result="rejected")] == 0
    assert first[key("radio_requests", state="queued")] == 0
    assert key("process_open_fds") in first

    # tracks play: two more starts are counted, as the events say, and frames move
    started = first[key("radio_tracks_started_total", kind="programme")]
    before = programme_starts(station)
    later = await wait_metric(station, "radio_tracks_started_total", started + 2, kind="programme")
    after = programme_starts(station)
    assert before <= started + 2 <= after
    encoded = key("radio_frames_encoded_total")
    assert later[encoded] > first[encoded]
    sent = key("radio_frames_sent_total", **room)
    assert later[sent] > first[sent]
    assert later[key("radio_packets_sent_total")] >= later[sent]
    assert later[key("radio_frames_no_room_total")] == first[key("radio_frames_no_room_total")]

    # a request: queued, then played, counted as a request
    [track] = [t for t in app.onair.requestable if t.title == REQUEST_TITLE]
    alice = world.people["alice"]
    app.queue.add(alice.id, "alice", track, datetime.now(UTC))
    await wait_metric(station, "radio_tracks_started_total", 1, kind="request")
    done = await wait_metric(station, "radio_requests", 1, state="played")
    assert done[key("radio_request_queue_length")] == 0
    assert done[key("radio_requests", state="queued")] == 0

    # a listener joins the broadcast room: counted from the voice states the bot sees
    world.guild.voice_states[alice.id] = VoiceState(alice.id, world.voice_channel.id, "alice-1")
    await station.emulator.voice_states.announce(alice.id, world.guild.id)
    await wait_metric(station, "radio_listeners", 1, **room)
    doc = await station.json()
    assert doc["listeners"] == {"total": 1, "unique": 1, "current": 1}

    # a broken grid edit, then the good one again
    week = station.root / "schedules" / "week.yaml"
    good = week.read_text(encoding="utf-8")
    week.write_text(good.replace("days:", "dayz:"), encoding="utf-8")
    # (the watcher counts the refusal just before it notes the broken state: wait for both)
    broken = await wait_metric(station, "radio_grid_broken", 1)
    assert broken[key("radio_grid_reloads_total", result="rejected")] == 1
    week.write_text(good + "\n", encoding="utf-8")
    fixed = await wait_metric(station, "radio_grid_broken", 0)
    assert fixed[key("radio_grid_reloads_total", result="applied")] >= 1
    assert fixed[key("radio_grid_reloads_total", result="rejected")] == 1


async def test_healthz_turns_503_when_the_feed_closes(station: Station) -> None:
    status, body = await station.get("/healthz")
    assert status == 200, body
    assert '"status": "ok"' in body and '"rooms": 1' in body
    station.app.feed.close()  # the sender finds it closed at its next frame and stops
    await until(lambda: station.app.bot.broadcaster.ended)
    status, body = await station.get("/healthz")
    assert status == 503
    assert "feed is closed" in body
    samples = await station.metrics()
    assert samples[key("radio_sending")] == 0


async def test_healthz_turns_503_when_the_sender_stalls_and_200_when_it_catches_up(
    station: Station,
) -> None:
    bot = station.app.bot
    assert (await station.get("/healthz"))[0] == 200
    skipped = (await station.metrics())[key("radio_frames_skipped_total")]
    bot.send_loop.remove(bot.broadcaster)  # nothing steps the station's sender any more
    async with asyncio.timeout(60):
        while (answer := await station.get("/healthz"))[0] == 200:
            await asyncio.sleep(0.1)
    status, body = answer
    assert status == 503 and "stalled" in body and "behind schedule" in body
    bot.send_loop.add(bot.broadcaster)  # it skips ahead to the live edge
    async with asyncio.timeout(60):
        while (await station.get("/healthz"))[0] != 200:
            await asyncio.sleep(0.1)
    samples = await station.metrics()
    assert samples[key("radio_frames_skipped_total")] > skipped + 100


LONG_TITLE = "Long Tone"
KILLED = "ffmpeg was killed by signal 9"


@pytest.fixture
def long_first(tmp_path: Path) -> Path:
    """A two-minute tone in the station's sequential music folder (the station fixture
    adds the three short ones): its FFmpeg is still decoding, held by the full buffer
    and pipe, when the test kills it. Request it before ``station``."""
    path = tmp_path / "station" / "media" / "music" / "0-long.flac"
    path.parent.mkdir(parents=True)
    return synth.tone(path, 330.0, 120.0, level_dbfs=-18.0, title=LONG_TITLE, artist="Band L")


async def scrape_until(station: Station, check: Callable[[Samples], bool]) -> Samples:
    """Scrape until ``check`` holds (a minute at most: a deadlock guard); that scrape."""
    async with asyncio.timeout(60):
        while not check(samples := await station.metrics()):
            await asyncio.sleep(0.1)
    return samples


def interval_histogram(samples: Samples) -> tuple[float, float]:
    """The send-interval histogram's ``+Inf`` bucket and ``_count`` in one scrape."""
    name = "radio_send_interval_seconds"
    return samples[key(f"{name}_bucket", le="+Inf")], samples[key(f"{name}_count")]


def frames_taken(samples: Samples) -> float:
    """Frames the sender took off its schedule: sent to the rooms, or pulled with none."""
    return samples[key("radio_frames_encoded_total")] + samples[key("radio_frames_no_room_total")]


def check_intervals(samples: Samples) -> float:
    """The histogram's count, checked against the frames of the same scrape: one interval
    per frame taken after the first (a scrape may fall between a frame's take and its
    count: the interval counted, the frame not yet); ``+Inf`` is the count; the 13
    bounds and ``+Inf`` are cumulative."""
    inf, count = interval_histogram(samples)
    assert inf == count
    assert count in (frames_taken(samples) - 1, frames_taken(samples))
    buckets = [v for (n, _), v in samples.items() if n == "radio_send_interval_seconds_bucket"]
    assert len(buckets) == 14 and buckets == sorted(buckets)
    return count


async def test_a_killed_track_decoder_shows_in_its_counter_and_the_next_track_plays(
    long_first: Path, station: Station
) -> None:
    sequence = station.app.onair.station.on_air_sequence()
    assert sequence is not None
    # the sequential folder comes round to the long tone within one round of the others
    await until(lambda: sequence.current is not None and sequence.current.title == LONG_TITLE)
    first = await station.metrics()
    killed = key("radio_decoder_failures_total", decoder="track", reason="killed")
    assert first[killed] == 0
    assert first[key("radio_decoder_failures_total", decoder="live", reason="killed")] == 0
    assert key("radio_tracks_failed_total", reason="killed") not in first
    counted = check_intervals(first)
    pid = sequence.current_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # kill -9, with well over a minute left to decode

    # what it had decoded plays out, then the track fails as killed and the next one starts
    failed = await wait_metric(
        station, "radio_decoder_failures_total", 1, decoder="track", reason="killed"
    )
    assert failed[key("radio_tracks_failed_total", reason="killed")] == 1

    def started_after_failure() -> list[TrackStarted]:
        events = list(station.events)
        failures = [e for e in events if isinstance(e, TrackFailed)]
        assert len(failures) == 1
        assert failures[0].track.title == LONG_TITLE and failures[0].reason == KILLED
        rest = events[events.index(failures[0]) :]
        return [e for e in rest if isinstance(e, TrackStarted)]

    await until(lambda: bool(started_after_failure()))
    assert started_after_failure()[0].track.title in TITLES
    through_next = programme_starts(station)  # the starts the bus has counted by now
    moved = await scrape_until(
        station, lambda s: s[key("radio_tracks_started_total", kind="programme")] >= through_next
    )
    # the histogram counted every frame since, and stays a histogram
    assert check_intervals(moved) > counted
    assert moved[key("radio_send_interval_seconds_sum")] > 0
    assert moved[killed] == 1


def live_decoders() -> list[int]:
    """This process's children running the live decoder's FFmpeg command (MP3 in)."""
    wanted = "\0".join(ffmpeg_args("mp3")) + "\0"
    found = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids = (task / "children").read_text().split()
        except OSError:
            continue  # the thread ended meanwhile
        for pid in pids:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_text()
            except OSError:
                continue  # it exited meanwhile
            if command == wanted:
                found.append(int(pid))
    return found


async def test_a_killed_live_decoder_shows_in_its_counter(station: Station) -> None:
    app = station.app
    alice = station.emulator.world.people["alice"]
    user = PresenterCredentials(app.db).set_password(alice.id, "alice", "alices-secret").user
    assert app.ingest is not None
    url = f"icecast://{user}:alices-secret@127.0.0.1:{app.ingest.port}/live"
    assert live_decoders() == []
    encoder = await asyncio.create_subprocess_exec(
        *encoder_args(url, seconds=120),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await until(lambda: any(isinstance(e, LiveStarted) for e in station.events))
        [pid] = live_decoders()
        os.kill(pid, signal.SIGKILL)
        # the encoder's next bytes find the decoder gone: the session ends, counted
        done = await wait_metric(
            station, "radio_decoder_failures_total", 1, decoder="live", reason="killed"
        )
        assert done[key("radio_decoder_failures_total", decoder="track", reason="killed")] == 0
        problems = [e.detail for e in station.events if isinstance(e, LiveProblem)]
        assert f"{STOPPED}: {KILLED}" in problems
        # the ingest refused the rest of the stream: the encoder gives up
        await asyncio.wait_for(encoder.wait(), 60)
    finally:
        if encoder.returncode is None:
            encoder.kill()
            await encoder.wait()
    await until(lambda: live_decoders() == [])
