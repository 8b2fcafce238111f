"""Skip and request latency on the local Discord, with the real station application.

``radio run``'s composition root (:class:`radio.app.StationApp`: grid, playlists,
the station tree with its requests, the SQLite queue, the commands cog, one
RadioBot) runs in this process against the emulator, whose listener decodes the
one stream. Bob (a DJ) runs ``/skip``; Alice (a listener) runs ``/request``.

* **skip**: command → the first packet at the listener in which the next track's
  tone is at -6 dB of its level or louder. Skips alternate between about 0.5 s
  into a track (the track the previous skip started: a DJ pressing twice,
  "first second") and about 2 s in; each says whether the next track was
  already open (the timed rotation opens it right after a track's first frame,
  which takes 60-130 ms) or not (the skip then waits for it).
* **request → prepared**: command → the station has opened the request as the
  next track of the sequence on air (polled every 2 ms on the event loop). By
  design it is not audible then: it plays when the current track ends.
* **request at the boundary**: silent frames heard between the last packet of the
  outgoing tone and the first packet of the request's tone (expected 0).
* **request then skip**: a request is queued and prepared, then a DJ's ``/skip``:
  command → the request's tone audible.

Latencies are arrival instants at the listener minus the injection instant, both
on ``time.monotonic`` (the listener stamps arrivals on its own thread).

    .venv/bin/python -m bench.onair_latency [--skips 6] [--requests 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench import machine
from bench.onair_stats import Change, first_change, tone_levels
from radio.audio.decoder import FFmpegDecoder, probe
from radio.audio.synth import amplitude, tone
from radio.audio.track import Track
from radio.bot.client import RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Emulator, point_discord_at

LEVEL_DBFS = -12.0
SILENT_DBFS = -50.0  # a packet quieter than this at every tone is a silent frame
SETTLE_SECONDS = 0.6  # after a skip: time for the change to reach the listener
POLL_SECONDS = 0.002
ROTATION_SECONDS = 12.0  # > the 10 s preload: an untimed rotation opens its next pick late
REQUEST_SECONDS = 3.0
ROTATION_HZ = (400.0, 500.0, 600.0)
REQUEST_HZ = (1000.0, 1100.0, 1200.0, 1300.0, 1400.0, 1500.0)


@dataclass(frozen=True, slots=True)
class Sample:
    """One command and what the listener heard."""

    command: str  # "skip", "request → prepared", "request, then skip"
    condition: str
    change: Change | None  # None: no change seen
    expected: float  # the tone that should come next
    silent_frames: int | None = None  # at the request's boundary


def open_times(track: Track, runs: int) -> list[float]:
    """Milliseconds to open ``track`` as TrackSequence does when the Track carries
    no duration: probe, start FFmpeg, wait for the first buffered frame. Blocks."""
    times: list[float] = []
    for _ in range(runs):
        start = time.monotonic()
        decoder = FFmpegDecoder(track.location, info=probe(track.location))
        decoder.wait_buffered(10.0)
        times.append(1000.0 * (time.monotonic() - start))
        decoder.close()
    return times


def make_station(
    root: Path, rotation: Sequence[tuple[Track, float]], requests: Sequence[tuple[Track, float]]
) -> dict[str, float]:
    """A UTC station whose fallback is ``rotation`` (sequential) and whose requestable
    playlist is ``requests``; the files are linked in, named after the tracks' titles.
    Returns Hz by track title."""
    for folder, tracks in (("music", rotation), ("requests", requests)):
        (root / "media" / folder).mkdir(parents=True, exist_ok=True)
        for track, _ in tracks:
            # named "Artist - Title": the library's title when the file has no tags
            name = f"{track.artist} - {track.title}" if track.artist else track.title
            (root / "media" / folder / f"{name}{Path(track.location).suffix}").symlink_to(
                Path(track.location).resolve()
            )
    (root / "station.yaml").write_text("name: Bench FM\ntimezone: UTC\nfallback: music\n")
    (root / "playlists").mkdir()
    (root / "playlists" / "music.yaml").write_text("sources: [media/music]\norder: sequential\n")
    (root / "playlists" / "requests.yaml").write_text(
        "sources: [media/requests]\norder: sequential\nrequestable: true\n"
    )
    (root / "schedules").mkdir()
    (root / "schedules" / "week.yaml").write_text("shows: []\n")
    return {track.title: hz for track, hz in [*rotation, *requests]}


def boundary_silence(
    packets: Sequence[tuple[float, bytes]], old: float, new: float, level: float
) -> int | None:
    """Silent packets between the last one carrying ``old`` and the first carrying
    ``new`` (both at -6 dB of ``level``); None when the change is not in ``packets``."""
    quiet = amplitude(SILENT_DBFS)
    first_new = next(
        (i for i, (_, pcm) in enumerate(packets) if tone_levels(pcm, [new])[new] >= level / 2),
        None,
    )
    if first_new is None:
        return None
    loud_old = [
        i
        for i, (_, pcm) in enumerate(packets[:first_new])
        if tone_levels(pcm, [old])[old] >= level / 2
    ]
    last_old = loud_old[-1] if loud_old else None
    if last_old is None:
        return None
    between = packets[last_old + 1 : first_new]
    return sum(1 for _, pcm in between if max(tone_levels(pcm, [old, new]).values()) < quiet)


async def until(predicate: Callable[[], bool], timeout: float) -> float | None:
    """Poll ``predicate`` every 2 ms; the monotonic instant it held, None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        await asyncio.sleep(POLL_SECONDS)
    return None


async def measure(
    workdir: Path,
    rotation: Sequence[tuple[Track, float]],
    requests: Sequence[tuple[Track, float]],
    *,
    skips: int,
) -> list[Sample]:
    """Run ``skips`` skips, then the requests: the first half each played at the next
    boundary, the second half each followed by a skip. Rotation tracks longer than
    10 s show when the next track is opened; requests should be short."""
    from radio.app import AppOptions, StationApp

    freq_of = make_station(workdir / "station", rotation, requests)
    rotation_hz = [hz for _, hz in rotation]
    level = amplitude(LEVEL_DBFS)
    clock = SystemClock()
    samples: list[Sample] = []
    async with Emulator(clock=clock, monotonic=time.monotonic) as emulator:
        world = emulator.world
        role = {r.name: r.id for r in world.guild.roles.values()}
        text, voice = world.text_channel.id, world.voice_channel.id
        config = DiscordConfig.model_validate(
            {
                "guilds": [
                    {
                        "id": world.guild.id,
                        "broadcast": voice,
                        "announcements": text,
                        "programmers": text,
                        "roles": {"dj": [role["dj"]], "admin": [role["admin"]]},
                    }
                ]
            }
        )
        options = AppOptions(
            live_port=0,
            web_port=0,
            request_quota=len(requests) + 1,
            request_cooldown=timedelta(0),
            normalize=False,  # the tones are levelled already; keeps the figures about opening
            bot_options={"guild_ready_timeout": 0.05},
        )
        app = StationApp(
            workdir / "station",
            workdir / "data",
            config,
            clock=clock,
            monotonic=time.monotonic,
            options=options,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(
            app.run(
                world.token,
                stop,
                before_start=lambda bot: point_discord_at(bot, emulator.addresses),
            )
        )
        station = app.onair.station

        def heard(since: float = 0.0) -> list[tuple[float, bytes]]:
            return [
                (p.arrival, p.pcm)
                for p in list(emulator.record.packets)
                if p.pcm is not None and p.channel_id == voice and p.arrival >= since
            ]

        def current_track() -> Track | None:
            sequence = station.on_air_sequence()
            return sequence.current if sequence is not None else None

        def playing_hz() -> float:
            sequence = station.on_air_sequence()
            track = sequence.current if sequence is not None else None
            return freq_of.get(track.title, 0.0) if track is not None else 0.0

        def prepared_title() -> str | None:
            sequence = station.on_air_sequence()
            track = sequence.preloaded if sequence is not None else None
            return track.title if track is not None else None

        def prepared_is(title: str) -> Callable[[], bool]:
            return lambda: prepared_title() == title

        def playing_is(hz: float) -> Callable[[], bool]:
            return lambda: playing_hz() == hz

        async def track_start() -> None:
            """Wait for the next rotation track to start."""
            sequence = station.on_air_sequence()
            current = sequence.current if sequence is not None else None
            await until(lambda: playing_hz() != 0.0 and current_track() != current, 15)

        try:
            async with asyncio.timeout(30):
                while not app.bot.rooms or any(
                    room.state is not RoomState.ON_AIR for room in app.bot.rooms.values()
                ):
                    if task.done():
                        task.result()
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            await track_start()
            for n in range(skips):
                # Each skip starts a track: alternate a skip about 0.5 s into it
                # (the settle time after the previous skip: a DJ's second press,
                # in the track's first second) and one about 2 s into it.
                # (the first: 0.5 s after the track started, like the others)
                await asyncio.sleep(0.5 if n == 0 else 0.0 if n % 2 == 0 else 1.5)
                await until(lambda: playing_hz() != 0.0, 5)
                old = playing_hz()
                opened = prepared_title() is not None
                expected = rotation_hz[(rotation_hz.index(old) + 1) % len(rotation_hz)]
                since = time.monotonic()
                await emulator.inject_interaction("bob", "skip")
                await asyncio.sleep(SETTLE_SECONDS)
                change = first_change(heard(since), since, old, rotation_hz, level)
                when = "first second" if n % 2 == 0 else "2 s in"
                condition = f"{when}, next {'opened' if opened else 'not opened'}"
                samples.append(Sample("skip", condition, change, expected))
            half = (len(requests) + 1) // 2
            for n, (track, hz) in enumerate(requests):
                # a rotation track started lately (by the last skip, or after the
                # last request): the request waits most of it
                await asyncio.sleep(0.5)
                await until(lambda: playing_hz() != 0.0, 5)
                old = playing_hz()
                since = time.monotonic()
                await emulator.inject_interaction(
                    "alice", "request", [{"name": "query", "value": track.title}]
                )
                ready = await until(prepared_is(track.title), 10)
                prepared = None if ready is None else Change(1000.0 * (ready - since), hz, 0)
                samples.append(Sample("request → prepared", "not audible by design", prepared, hz))
                if n < half:
                    # it plays when the current track ends, a few seconds later
                    await until(playing_is(hz), ROTATION_SECONDS + 5)
                    await asyncio.sleep(0.5)
                    silent = boundary_silence(heard(since), old, hz, level)
                    change = first_change(heard(since), since, old, [old, hz], level)
                    samples.append(
                        Sample("request", "at the boundary", change, hz, silent_frames=silent)
                    )
                else:
                    since = time.monotonic()
                    await emulator.inject_interaction("bob", "skip")
                    await asyncio.sleep(SETTLE_SECONDS)
                    change = first_change(heard(since), since, old, [old, hz], level)
                    samples.append(Sample("request, then skip", "request opened", change, hz))
                await until(lambda: playing_hz() in rotation_hz, REQUEST_SECONDS + 5)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 15)
    return samples


def table(samples: Sequence[Sample]) -> list[str]:
    """The Markdown table of the samples, one row per (command, condition)."""
    lines = [
        "| command | condition | runs | min ms | median ms | max ms | right tone | silent frames |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    groups: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.command, sample.condition), []).append(sample)
    for (command, condition), group in groups.items():
        seen = [s.change.latency_ms for s in group if s.change is not None]
        right = sum(1 for s in group if s.change is not None and s.change.frequency == s.expected)
        figures = (
            f"{min(seen):.0f} | {statistics.median(seen):.0f} | {max(seen):.0f}"
            if seen
            else "– | – | –"
        )
        silent = [s.silent_frames for s in group if s.silent_frames is not None]
        unknown = sum(1 for s in group if s.command == "request" and s.silent_frames is None)
        silence = (
            "–"
            if command != "request"
            else " ".join(str(n) for n in silent) + (f" ({unknown} not found)" if unknown else "")
        )
        lines.append(
            f"| {command} | {condition} | {len(group)} | {figures} |"
            f" {right}/{len(group)} | {silence} |"
        )
    return lines


def make_media(folder: Path, requests: int) -> tuple[list[tuple[Track, float]], ...]:
    """Rotation and request tones (FLAC, by FFmpeg), titled by their frequency."""
    rotation = []
    for hz in ROTATION_HZ:
        path = tone(
            folder / f"rotation-{hz:.0f}.flac",
            hz,
            ROTATION_SECONDS,
            level_dbfs=LEVEL_DBFS,
            title=f"Rotation {hz:.0f}",
        )
        rotation.append((Track(str(path), f"Rotation {hz:.0f}", duration=ROTATION_SECONDS), hz))
    asked = []
    for hz in REQUEST_HZ[:requests]:
        title = f"Request {hz:.0f}"
        path = tone(
            folder / f"request-{hz:.0f}.flac",
            hz,
            REQUEST_SECONDS,
            level_dbfs=LEVEL_DBFS,
            title=title,
        )
        asked.append((Track(str(path), title, duration=REQUEST_SECONDS), hz))
    return rotation, asked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skips", type=int, default=6, help="skip commands to time")
    parser.add_argument("--requests", type=int, default=6, help="requests (half then skipped)")
    args = parser.parse_args()
    print(f"Machine: {machine.describe()}, load average at start {machine.load()}.")
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        rotation, requests = make_media(Path(tmp) / "media", args.requests)
        samples = asyncio.run(measure(Path(tmp), rotation, requests, skips=args.skips))
        opening = open_times(rotation[0][0], 5)
    print()
    print("\n".join(table(samples)))
    print()
    print(
        f"Opening a track with ffprobe (5 runs): median {statistics.median(opening):.0f} ms,"
        f" min {min(opening):.0f} ms, max {max(opening):.0f} ms."
    )
    print(f"Load average at the end: {machine.load()}.")


if __name__ == "__main__":
    main()
