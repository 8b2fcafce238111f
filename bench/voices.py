"""Voices benchmark: what each extra bot account ("voice") and each extra room costs.

Run from the repository root:

    .venv/bin/python -m bench.voices              # about 3 minutes on 2 cores

The station side runs in a child process: one sine station, one
:class:`~radio.bot.audio.SimulcastFeed` (one pull and one libopus encode per
frame), the primary :class:`~radio.bot.client.RadioBot` and its followers
(:func:`radio.bot.voices.follower`, run by :class:`~radio.bot.voices.Voices`),
all on one :class:`~radio.bot.sendloop.SendLoop`, against the local Discord
running in this process (arrivals only, not decoded, so that the listener costs
the station nothing). Once every room is on air, the child's CPU time (user +
system, from ``/proc``) is measured over ``--seconds`` of real time; the least
of ``--repeats`` runs is kept (a shared machine only ever adds time). Cases:

- 1 voice in 1 room (the baseline: a station as it was);
- 1 voice in 4 rooms (4 servers): what a room costs;
- 4 voices in 4 rooms (4 stages of one server, one bot each): what a voice costs
  on top of its room (its gateway and voice WebSockets, heartbeats, its keeper).

Prints Markdown. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radio.clock import SystemClock
from radio.sandbox import Addresses, Emulator, point_discord_at
from radio.sandbox.child import announce_ready, start_child, stop_child
from radio.sandbox.state import ChannelType, World, bot_token

ROOT = Path(__file__).resolve().parents[1]
SERVERS = 4


@dataclass(frozen=True)
class Case:
    """One arrangement of voices and rooms."""

    label: str
    voices: int
    rooms: int


CASES = (
    Case("1 voice, 1 room", 1, 1),
    Case("1 voice, 4 rooms (4 servers)", 1, 4),
    Case("4 voices, 4 rooms (4 stages of one server)", 4, 4),
)


def discord_section(world: World, case: Case) -> dict[str, Any]:
    """The ``discord:`` section of ``case`` in ``world`` (4 servers of 4 stages, 4 bots)."""
    guilds = list(world.guilds.values())
    first_stages = [s.id for s in world.stages(guilds[0])]
    if case.voices == 1:
        used = guilds[: case.rooms]
        return {"guilds": [{"id": g.id, "broadcast": world.stages(g)[0].id} for g in used]}
    return {
        "guilds": [{"id": guilds[0].id, "broadcast": first_stages[0]}],
        "voices": [{"name": "main"}]
        + [
            {
                "name": f"voice-{n}",
                "token_env": f"VOICE_{n}",
                "rooms": [{"guild": guilds[0].id, "room": first_stages[n - 1]}],
            }
            for n in range(2, case.voices + 1)
        ],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(emulator: Emulator, case: Case, seconds: float) -> float:
    """Percent of a core the station side uses in ``case``, over ``seconds``."""
    world = emulator.world
    tokens = {"DISCORD_TOKEN": world.token}
    tokens |= {f"VOICE_{n}": bot_token(world.token, n) for n in range(2, case.voices + 1)}
    child = await start_child(
        [sys.executable, "-m", "bench.voices", "--child"],
        {
            "addresses": emulator.addresses.to_json(),
            "config": discord_section(world, case),
            "tokens": tokens,
        },
        pythonpath=ROOT,
    )
    try:
        await asyncio.sleep(2.0)  # logins and first joins settle
        before, start = cpu_seconds(child.pid), time.monotonic()
        await asyncio.sleep(seconds)
        after, end = cpu_seconds(child.pid), time.monotonic()
    finally:
        await stop_child(child, signal.SIGTERM)
    return 100.0 * (after - before) / (end - start)


async def child(args: dict[str, Any]) -> None:
    """The station side: a sine feed, the primary bot and its followers."""
    from radio.audio.operators import Sine
    from radio.bot.audio import SimulcastFeed
    from radio.bot.client import RadioBot, RoomState
    from radio.bot.config import DiscordConfig
    from radio.bot.voices import Voices, follower

    addresses = Addresses.from_json(args["addresses"])
    config = DiscordConfig.model_validate(args["config"])
    tokens: dict[str, str] = args["tokens"]
    plan = config.voice_plan()
    feed = SimulcastFeed(Sine(440.0, level_dbfs=-12.0))
    primary: RadioBot[Any] = RadioBot(
        config,
        feed,
        clock=SystemClock(),
        rooms=plan[0].rooms,
        realtime=False,
        guild_ready_timeout=0.05,
    )
    followers = [
        (voice, follower(primary, voice, station="Bench FM", guild_ready_timeout=0.05))
        for voice in plan[1:]
    ]
    voices = Voices(
        (plan[0], primary), followers, token=tokens.__getitem__, supervisor=primary.supervisor
    )
    for _, bot in ((plan[0], primary), *followers):
        point_discord_at(bot, addresses)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def run() -> None:
        task = asyncio.create_task(primary.start(tokens["DISCORD_TOKEN"]))
        while not primary.is_ready():  # wait_until_ready raises before login
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        voices.start()
        await stop.wait()
        await voices.close()
        await primary.close()
        await task

    task = asyncio.create_task(run())
    await announce_ready(
        lambda: all(line.state == str(RoomState.ON_AIR) for line in voices.rooms()), task
    )


async def bench(seconds: float, repeats: int) -> None:
    async with Emulator(
        clock=SystemClock(),
        monotonic=time.monotonic,
        decode=False,
        record_limit=50 * 60,
        guilds=SERVERS,
        bots=4,
        stages=4,
    ) as emulator:
        assert all(
            len([c for c in g.channels.values() if c.type is ChannelType.STAGE]) == 4
            for g in emulator.world.guilds.values()
        )
        results: dict[str, float] = {}
        for case in CASES:
            runs = [await measure(emulator, case, seconds) for _ in range(repeats)]
            results[case.label] = min(runs)
            print(f"| {case.label} | {min(runs):.3f} | {' / '.join(f'{r:.3f}' for r in runs)} |")
        base, rooms, voices = (results[c.label] for c in CASES)
        print()
        print(f"each extra room (same voice): {(rooms - base) / 3:.3f} % of a core")
        print(f"each extra voice with its room: {(voices - base) / 3:.3f} % of a core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="real time measured per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (least kept)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(child(json.loads(args.child)))
        return
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"load average at start: {os.getloadavg()}")
    print("| case | % of a core (least) | runs |")
    print("|---|---:|---:|")
    asyncio.run(bench(args.seconds, args.repeats))


if __name__ == "__main__":
    main()
