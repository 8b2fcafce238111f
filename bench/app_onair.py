"""The whole application on the local Discord: packet intervals at the listener.

``radio run``'s composition root (:class:`radio.app.StationApp`: grid, playlists,
engine with FFmpeg decoders and loudness levels, requests, announcer, RadioBot)
runs in a child process against an emulator in this process, whose listener
records arrival instants only (no decoding, so this process stays quiet). The
station is a tiny folder of FFmpeg tones, so that track changes (the busiest
moment: a decoder ends, the next one starts, the next-but-one is opened and
measured, embeds and presence go out) come every ``--track-seconds``.

Reports, per configuration: packet interval p50/p99/p99.9, shortest and longest,
intervals over 25 ms, lost packets, and the slots a 60 ms jitter buffer would
have filled with silence.

    .venv/bin/python -m bench.app_onair [--seconds 60] [--track-seconds 2 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.onair_stats import Arrival, IntervalSummary, summarize
from radio.audio import synth
from radio.clock import SystemClock
from radio.sandbox import Addresses, Emulator, point_discord_at
from radio.sandbox.child import announce_ready, start_child, stop_child
from radio.sandbox.record import PacketRecord

ROOT = Path(__file__).resolve().parents[1]
JITTER_S = 0.060
FRAME_S = 0.020


def make_station(root: Path, track_seconds: float) -> None:
    """A UTC station whose fallback is three tones of ``track_seconds`` each."""
    for index, hz in enumerate((440.0, 550.0, 660.0)):
        path = root / "media" / f"t{index}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        synth.tone(path, hz, track_seconds, level_dbfs=-18.0, title=f"Tone {index}")
    (root / "station.yaml").write_text("name: Bench FM\ntimezone: UTC\nfallback: music\n")
    (root / "playlists").mkdir()
    (root / "playlists" / "music.yaml").write_text("sources: [media]\norder: sequential\n")
    (root / "schedules").mkdir()
    (root / "schedules" / "week.yaml").write_text("shows: []\n")


def underrun_slots(packets: list[PacketRecord]) -> int:
    """Silent 20 ms slots a 60 ms jitter buffer inserts (as ListenerRecord.pcm does)."""
    if not packets:
        return 0
    anchor_time, anchor_slot, last, silent = packets[0].arrival, 0, 0, 0
    for packet in packets[1:]:
        slot = last + 1
        due = anchor_time + (slot - anchor_slot) * FRAME_S
        if packet.arrival - due > JITTER_S:
            jumped = anchor_slot + round((packet.arrival - anchor_time) / FRAME_S)
            silent += max(0, jumped - slot)
            slot = jumped
            anchor_time, anchor_slot = packet.arrival, slot
        last = slot
    return silent


async def measure(track_seconds: float, seconds: float) -> tuple[IntervalSummary, int]:
    """Run the application for ``seconds`` of audio; return the intervals and underruns."""
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        station = Path(tmp) / "station"
        make_station(station, track_seconds)
        async with Emulator(
            clock=SystemClock(), monotonic=time.monotonic, decode=False
        ) as emulator:
            world = emulator.world
            addresses = emulator.addresses
            args = {
                "addresses": addresses.to_json(),
                "token": world.token,
                "station": str(station),
                "data": str(Path(tmp) / "data"),
                "config": {
                    "guilds": [
                        {
                            "id": world.guild.id,
                            "broadcast": world.voice_channel.id,
                            "announcements": world.text_channel.id,
                        }
                    ]
                },
            }
            child = await start_child(
                [sys.executable, "-m", "bench.app_onair", "--child"],
                args,
                cwd=ROOT,
                pythonpath=ROOT,
            )
            try:
                await asyncio.sleep(1.0)  # the connection settles
                emulator.record.clear()
                await asyncio.sleep(seconds)
                packets = emulator.record.audio_packets(channel_id=world.voice_channel.id)
            finally:
                await stop_child(child, signal.SIGTERM)
    arrivals = [Arrival(p.ssrc, p.sequence, p.arrival) for p in packets]
    return summarize(arrivals), underrun_slots(packets)


async def child(args: dict[str, object]) -> None:
    """The application side: StationApp pointed at the parent's emulator."""
    from radio.app import AppOptions, StationApp
    from radio.bot.client import RoomState
    from radio.bot.config import DiscordConfig

    raw = args["addresses"]
    assert isinstance(raw, dict)
    addresses = Addresses.from_json(raw)
    app = StationApp(
        Path(str(args["station"])),
        Path(str(args["data"])),
        DiscordConfig.model_validate(args["config"]),
        clock=SystemClock(),
        monotonic=time.monotonic,
        options=AppOptions(live_port=0, web_port=0, bot_options={"guild_ready_timeout": 0.05}),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(
        app.run(str(args["token"]), stop, before_start=lambda bot: point_discord_at(bot, addresses))
    )
    await announce_ready(
        lambda: all(room.state is RoomState.ON_AIR for room in app.bot.rooms.values()), task
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio measured per run")
    parser.add_argument(
        "--track-seconds", type=float, nargs="+", default=[2.0, 20.0], help="track lengths"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(child(json.loads(args.child)))
        return
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"load average at start: {os.getloadavg()}")
    print(
        "| tracks | packets | p50 ms | p99 ms | p99.9 ms | shortest | longest | >25 ms |"
        " lost | jitter-buffer underruns |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for track_seconds in args.track_seconds:
        summary, underruns = asyncio.run(measure(track_seconds, args.seconds))
        s = summary
        print(
            f"| {track_seconds:g} s | {s.packets} | {s.p50:.1f} | {s.p99:.1f} | {s.p999:.1f} |"
            f" {s.shortest:.1f} | {s.longest:.1f} | {s.over_25ms} | {s.lost} | {underruns} |"
        )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
