"""Voices benchmark: what each extra bot account ("voice") and each extra room costs.

Run from the repository root:

    .venv/bin/python -m bench.voices              # about 12 minutes on 2 cores

The station side runs in a child process: one sine station, one
:class:`~radio.bot.audio.SimulcastFeed` (one pull and one libopus encode per
frame), the primary :class:`~radio.bot.client.RadioBot` and its followers
(:func:`radio.bot.voices.follower`, run by :class:`~radio.bot.voices.Voices`),
all on one :class:`~radio.bot.sendloop.SendLoop`, against the local Discord
running in this process (arrivals only, not decoded, so that the listener costs
the station nothing). Once every room is on air, the child names its threads in
the kernel (``/proc/self/task/<tid>/comm``: ``sender``, ``loop``,
``vsock-reader``, ``voice-keepalive``, ``gw-keepalive``, ...), and this process
reads each thread's CPU time (``/proc/<pid>/task/<tid>/schedstat``, in
nanoseconds) at the start and the end of ``--seconds`` of real time; the
least of ``--repeats`` runs is kept (a shared machine only ever adds time),
per thread group as well as in all. Cases:

- 1 voice in 1 room (the baseline: a station as it was);
- 1 voice in 4 rooms, then 8 (one per server): what a room costs;
- 4 voices in 4 rooms (4 stages of one server, one bot each): what a voice costs
  on top of its room (its gateway and voice WebSockets, heartbeats, its keeper).

The cases run round after round (a drift of the machine's load hits them
alike). A room costs far less than the differences between two processes on
a shared machine, so the per-room cost is also measured in one process: one
voice in 8 rooms, then in 1 (it leaves the 7 others, as the admins' ``leave``
does), then in 8 again, ``--repeats`` pairs of windows; each pair gives a
slope, and the median of the slopes is printed.

Prints Markdown. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radio.clock import SystemClock
from radio.sandbox import Addresses, Emulator, point_discord_at
from radio.sandbox.child import announce_ready, start_child, stop_child
from radio.sandbox.state import ChannelType, World, bot_token

ROOT = Path(__file__).resolve().parents[1]
SERVERS = 8
# Thread groups, by the kernel names the child gives its threads.
GROUPS = ("sender", "loop", "vsock-reader", "voice-keepalive", "gw-keepalive", "other")


@dataclass(frozen=True)
class Case:
    """One arrangement of voices and rooms."""

    label: str
    voices: int
    rooms: int


SETTLE_S = 2.0  # after a change of rooms, before a window
CASES = (
    Case("1 voice, 1 room", 1, 1),
    Case("1 voice, 4 rooms (4 servers)", 1, 4),
    Case("1 voice, 8 rooms (8 servers)", 1, 8),
    Case("4 voices, 4 rooms (4 stages of one server)", 4, 4),
)

ALTERNATING = Case("1 voice, 8 rooms and 1, alternating", 1, 8)


@dataclass(frozen=True)
class Run:
    """One measured run: percent of a core in all and per thread group."""

    total: float
    groups: dict[str, float]


def discord_section(world: World, case: Case) -> dict[str, Any]:
    """The ``discord:`` section of ``case`` in ``world`` (8 servers of 4 stages, 4 bots)."""
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


def thread_group(name: str) -> str:
    """The group of a thread of the child, by its Python name (15 characters at most)."""
    if name == "MainThread":
        return "loop"  # the event loop: keepers, gateway and voice WebSockets, announcements
    if name.startswith(("radio-sender", "relay-sender")):
        return "sender"
    if name.startswith("bench-"):
        return "bench"  # the bench's own, left out of every figure
    if name.startswith("voice-socket-reader"):
        return "vsock-reader"
    if name.startswith("voice-keep-alive"):
        return "voice-keepalive"
    if name.startswith("keep-alive-handler"):
        return "gw-keepalive"
    return "other"


def name_threads() -> None:
    """In the child: give every live thread its group as its kernel name (``comm``)."""
    for thread in threading.enumerate():
        if thread.native_id is not None:
            with open(f"/proc/self/task/{thread.native_id}/comm", "w") as comm:
                comm.write(thread_group(thread.name))


def thread_cpu(pid: int) -> dict[int, tuple[str, int]]:
    """Every live thread of ``pid``: its kernel name and CPU nanoseconds so far."""
    threads: dict[int, tuple[str, int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            ns = int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
        threads[int(task.name)] = (name, ns)
    return threads


def cpu_by_group(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]
) -> Counter[str]:
    """CPU nanoseconds per thread group between two :func:`thread_cpu` readings.

    A thread born meanwhile counts from zero; one that ended is lost (none
    does while the rooms stay on air)."""
    spent: Counter[str] = Counter()
    for tid, (name, ns) in after.items():
        if name == "bench":
            continue
        group = name if name in GROUPS else "other"
        spent[group] += ns - before.get(tid, (name, 0))[1]
    return spent


async def start_station(emulator: Emulator, case: Case, realtime: bool) -> subprocess.Popen[str]:
    """The station side of ``case`` in a child process, once every room is on air."""
    world = emulator.world
    tokens = {"DISCORD_TOKEN": world.token}
    tokens |= {f"VOICE_{n}": bot_token(world.token, n) for n in range(2, case.voices + 1)}
    return await start_child(
        [sys.executable, "-m", "bench.voices", "--child"],
        {
            "addresses": emulator.addresses.to_json(),
            "config": discord_section(world, case),
            "tokens": tokens,
            "realtime": realtime,
        },
        pythonpath=ROOT,
    )


async def window(pid: int, seconds: float) -> Run:
    """Percent of a core process ``pid`` uses over the next ``seconds``, per thread group."""
    before, start = thread_cpu(pid), time.monotonic()
    await asyncio.sleep(seconds)
    after, end = thread_cpu(pid), time.monotonic()
    spent = cpu_by_group(before, after)
    percent = {group: 100.0 * spent[group] / 1e9 / (end - start) for group in GROUPS}
    return Run(sum(percent.values()), percent)


async def measure(emulator: Emulator, case: Case, seconds: float, realtime: bool = False) -> Run:
    """Percent of a core the station side uses in ``case`` over ``seconds``, per thread group."""
    child = await start_station(emulator, case, realtime)
    try:
        await asyncio.sleep(SETTLE_S)  # logins and first joins settle
        return await window(child.pid, seconds)
    finally:
        await stop_child(child, signal.SIGTERM)


async def alternate(
    emulator: Emulator, seconds: float, rounds: int, realtime: bool
) -> list[tuple[Run, Run]]:
    """One station in 8 rooms, then in 1, then in 8 again...: ``rounds`` pairs of
    windows of ``seconds`` (8 rooms, 1 room), in one child process.

    The child leaves, then rejoins, its rooms but the first on SIGUSR2 (the
    admins' ``leave`` and ``join``); each window begins once the change is
    seen here (the bot's voice states; packets arriving again) and has settled.
    """
    world = emulator.world
    case = ALTERNATING
    others = [g["broadcast"] for g in discord_section(world, case)["guilds"][1:]]
    bot = world.bot.id

    def left() -> bool:
        return all(
            (state := world.guild_of(room).voice_states.get(bot)) is None
            or state.channel_id is None
            for room in others
        )

    def back(since: float) -> bool:
        heard = {p.channel_id for p in emulator.record.packets if p.arrival > since}
        return all(room in heard for room in others)

    child = await start_station(emulator, case, realtime)
    pairs: list[tuple[Run, Run]] = []
    try:
        await asyncio.sleep(SETTLE_S)
        for _ in range(rounds):
            many = await window(child.pid, seconds)
            child.send_signal(signal.SIGUSR2)
            await until(left)
            await asyncio.sleep(SETTLE_S)
            one = await window(child.pid, seconds)
            since = time.monotonic()
            child.send_signal(signal.SIGUSR2)
            await until(functools.partial(back, since))
            await asyncio.sleep(SETTLE_S)
            pairs.append((many, one))
    finally:
        await stop_child(child, signal.SIGTERM)
    return pairs


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait for ``condition`` (checked every 20 ms); TimeoutError after ``timeout``."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


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
        realtime=bool(args.get("realtime")),
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
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    toggles: set[asyncio.Task[None]] = set()

    async def toggle() -> None:
        # All the primary's rooms but the first: leave them, or join them again.
        others = list(primary.rooms)[1:]
        if any(primary.rooms[g].state is RoomState.LEFT for g in others):
            for guild in others:
                primary.join(guild)
            while not all(primary.rooms[g].state is RoomState.ON_AIR for g in others):
                await asyncio.sleep(0.02)
            name_threads()  # the new connections' threads
        else:
            for guild in others:
                await primary.leave(guild)

    def on_toggle() -> None:
        task = loop.create_task(toggle())
        toggles.add(task)
        task.add_done_callback(toggles.discard)

    loop.add_signal_handler(signal.SIGUSR2, on_toggle)

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

    def on_air() -> bool:
        if not all(line.state == str(RoomState.ON_AIR) for line in voices.rooms()):
            return False
        name_threads()  # every thread of the measure is there once the rooms are on air
        return True

    task = asyncio.create_task(run())
    await announce_ready(on_air, task)


async def bench(seconds: float, repeats: int, realtime: bool) -> None:
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
        runs: dict[str, list[Run]] = {case.label: [] for case in CASES}
        for _ in range(repeats):  # case after case, round after round: drifts hit all alike
            for case in CASES:
                runs[case.label].append(await measure(emulator, case, seconds, realtime))
        results = {label: least(case_runs) for label, case_runs in runs.items()}
        for case in CASES:
            print(
                f"| {case.label} | {results[case.label].total:.3f} |"
                f" {' / '.join(f'{r.total:.3f}' for r in runs[case.label])} |"
            )
        print()
        print("Least per thread group (% of a core; each group's least over the runs):")
        print()
        print("| case | " + " | ".join(GROUPS) + " |")
        print("|---|" + "---:|" * len(GROUPS))
        for case in CASES:
            groups = results[case.label].groups
            print(f"| {case.label} | " + " | ".join(f"{groups[g]:.3f}" for g in GROUPS) + " |")
        base, four, eight, voices = (results[c.label] for c in CASES)
        print()
        print(f"each extra room (1 -> 8 rooms): {(eight.total - base.total) / 7:.3f} % of a core")
        print(f"each extra room (1 -> 4 rooms): {(four.total - base.total) / 3:.3f} % of a core")
        print(
            f"each extra voice with its room (1 -> 4 voices): {(voices.total - base.total) / 3:.3f}"
            " % of a core"
        )
        print(
            f"a voice beyond its room (4 voices against 1 voice, 4 rooms):"
            f" {(voices.total - four.total) / 3:.3f} % of a core"
        )
        print()
        print(f"{ALTERNATING.label}, {repeats} pairs of {seconds:.0f} s windows in one process:")
        print()
        print("| pair | 8 rooms | 1 room | per extra room | " + " | ".join(GROUPS) + " |")
        print("|---|---:|---:|---:|" + "---:|" * len(GROUPS))
        pairs = await alternate(emulator, seconds, repeats, realtime)
        slopes = []
        for n, (many, one) in enumerate(pairs, 1):
            slope = (many.total - one.total) / 7
            slopes.append(slope)
            per_group = " | ".join(f"{(many.groups[g] - one.groups[g]) / 7:.4f}" for g in GROUPS)
            print(f"| {n} | {many.total:.3f} | {one.total:.3f} | {slope:.4f} | {per_group} |")
        print()
        print(f"each extra room, median of the pairs: {statistics.median(slopes):.4f} % of a core")


def least(runs: list[Run]) -> Run:
    """The least total of ``runs``, and each group's least on its own."""
    return Run(
        min(r.total for r in runs),
        {group: min(r.groups[group] for r in runs) for group in GROUPS},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="real time measured per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (least kept)")
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="the sender asks for SCHED_FIFO, as `radio run` does (default: normal priority)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(child(json.loads(args.child)))
        return
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"sender: {'SCHED_FIFO' if args.realtime else 'normal priority'}")
    print(f"load average at start: {os.getloadavg()}")
    print("| case | % of a core (least) | runs |")
    print("|---|---:|---:|")
    asyncio.run(bench(args.seconds, args.repeats, args.realtime))
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
