"""CPU accounting for the on-air benchmark: this process plus its FFmpeg children.

``getrusage(RUSAGE_CHILDREN)`` only counts children once they have been
waited for, and counts their whole life, so a window is measured from two
snapshots that also hold the CPU time of every child still running (read
from ``/proc/<pid>/stat``). A child alive at both snapshots counts for its
difference, one that ended in between for its total minus its time at the
start, one born and reaped in between for its total. Processes in
``exclude`` (the emulator, which is the listener and not the station) are
left out. Linux only.
"""

from __future__ import annotations

import os
import resource
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """CPU seconds at one instant: this process, reaped children, live children."""

    own: float
    reaped: float
    live: dict[int, float]


def process_cpu(pid: int, *, task_of: int | None = None) -> float | None:
    """User + system CPU seconds of ``pid`` so far (None when it is gone).

    With ``task_of``, ``pid`` is a thread (task) id of that process.
    """
    where = f"/proc/{pid}/stat" if task_of is None else f"/proc/{task_of}/task/{pid}/stat"
    try:
        stat = Path(where).read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def live_children(parent: int) -> list[int]:
    """Process ids whose parent is ``parent`` (zombies included)."""
    pids: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent:
            pids.append(int(entry.name))
    return pids


def snapshot(exclude: frozenset[int] = frozenset()) -> CpuSnapshot:
    """Take a snapshot of this process's CPU time and its children's."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    live: dict[int, float] = {}
    for pid in live_children(os.getpid()):
        if pid in exclude:
            continue
        seconds = process_cpu(pid)
        if seconds is not None:
            live[pid] = seconds
    return CpuSnapshot(
        own=own.ru_utime + own.ru_stime,
        reaped=reaped.ru_utime + reaped.ru_stime,
        live=live,
    )


def spent(start: CpuSnapshot, end: CpuSnapshot) -> tuple[float, float]:
    """CPU seconds between two snapshots: (this process, its children)."""
    children = end.reaped - start.reaped + sum(end.live.values()) - sum(start.live.values())
    return end.own - start.own, children


def thread_role(name: str) -> str:
    """The part of the station a thread of this process works for, by its name."""
    if name == "MainThread":
        return "event loop"
    if name.startswith(("audio-player", "radio-sender")):  # discord.py's players, our sender
        return "players"
    if name.startswith("voice-socket-reader"):
        return "socket readers"
    if name.startswith("sequence-"):
        return "track opening"
    return "other threads"


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of every live thread of this process: native id → (role, seconds)."""
    out: dict[int, tuple[str, float]] = {}
    for thread in threading.enumerate():
        native = thread.native_id
        if native is None:
            continue
        seconds = process_cpu(native, task_of=os.getpid())
        if seconds is not None:
            out[native] = (thread_role(thread.name), seconds)
    return out


def by_role(
    start: dict[int, tuple[str, float]], end: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds per role between two :func:`thread_cpu` readings.

    Threads that ended in between are missing (their time stays in the process
    total); threads born in between count from zero.
    """
    roles: dict[str, float] = {}
    for native, (role, seconds) in end.items():
        before = start.get(native, (role, 0.0))[1]
        roles[role] = roles.get(role, 0.0) + seconds - before
    return roles


@dataclass(frozen=True, slots=True)
class ReadStamp:
    """One player-thread read: when, and the thread's CPU clock before and after it."""

    at: float  # time.monotonic()
    cpu_before: float  # time.thread_time()
    cpu_after: float


@dataclass(frozen=True, slots=True)
class PlayerCpu:
    """Player threads' CPU over a window, split at the feed's ``read()``."""

    reads: int
    in_read: float  # seconds inside reads: the station pull and the Opus encode
    between: float  # seconds between reads: discord.py's packet, encryption, send, sleep


def split_cpu(stamps: Sequence[ReadStamp]) -> PlayerCpu:
    """One thread's CPU between its first and last read, split at the reads."""
    if len(stamps) < 2:
        return PlayerCpu(0, 0.0, 0.0)
    span = stamps[-1].cpu_before - stamps[0].cpu_before
    inside = sum(r.cpu_after - r.cpu_before for r in stamps[:-1])
    return PlayerCpu(len(stamps) - 1, inside, span - inside)


def sum_players(parts: Sequence[PlayerCpu]) -> PlayerCpu:
    """The CPU of several threads (or feeds) together."""
    return PlayerCpu(
        sum(p.reads for p in parts), sum(p.in_read for p in parts), sum(p.between for p in parts)
    )
