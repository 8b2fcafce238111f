"""/metrics and /healthz of a running station on the local Discord: counters move as
tracks play, a request, a listener and a broken grid edit show, and /healthz turns 503
when the sender stops (its feed closed) or stalls (no longer stepped)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from radio.events import TrackStarted
from radio.sandbox.state import VoiceState

from .conftest import REQUEST_TITLE, Station, until

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
