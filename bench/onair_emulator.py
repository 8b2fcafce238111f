"""The local Discord in its own process, so that the bot process's CPU is the station's.

Starts ``python -m radio.sandbox`` (arrivals only: the listener does not decode),
reads the JSON line it announces, and talks to its control API over loopback.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.onair_stats import Arrival
from radio.sandbox import Addresses

START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Guild:
    """One sandbox guild: its id and its voice room."""

    id: int
    voice: int


class EmulatorProcess:
    """A running ``python -m radio.sandbox`` child. Use :meth:`start`, then :meth:`stop`."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        addresses: Addresses,
        token: str,
        guilds: list[Guild],
    ) -> None:
        self.process = process
        self.addresses = addresses
        self.token = token
        self.guilds = guilds

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(
        cls, *, guilds: int, keep_seconds: float, realtime: bool = False
    ) -> EmulatorProcess:
        """Start an emulator with ``guilds`` guilds that records arrivals only.

        With ``realtime`` it runs under ``chrt -f 10`` (SCHED_FIFO): its reader
        thread stamps each datagram as soon as it arrives, as a listener on
        another machine would, instead of whenever this shared machine gets
        round to scheduling it (the kernel still keeps 5 % of each second for
        normal processes). Needs CAP_SYS_NICE. Raises RuntimeError when it
        does not announce itself within START_TIMEOUT s.
        """
        prefix = ["chrt", "-f", "10"] if realtime else []
        process = await asyncio.create_subprocess_exec(
            *prefix,
            sys.executable,
            "-m",
            "radio.sandbox",
            "--guilds",
            str(guilds),
            "--arrivals-only",
            "--keep-seconds",
            str(keep_seconds),
            "--log-level",
            "WARNING",
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError("the emulator did not start") from None
        if not line:
            await process.wait()
            raise RuntimeError(f"the emulator exited with {process.returncode}")
        info: dict[str, Any] = json.loads(line)
        addresses = Addresses.from_json(info["addresses"])
        rooms = [Guild(int(g["id"]), int(g["channels"]["On Air"])) for g in info["guilds"]]
        return cls(process, addresses, str(info["token"]), rooms)

    async def clear(self) -> None:
        """Forget every packet recorded so far."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.addresses.control_url}/listener/clear") as answer,
        ):
            answer.raise_for_status()

    async def arrivals(self) -> list[Arrival]:
        """Every packet recorded since the last :meth:`clear` (authenticated ones only)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.addresses.control_url}/listener") as answer,
        ):
            answer.raise_for_status()
            data: dict[str, Any] = await answer.json()
        return [
            Arrival(int(p["ssrc"]), int(p["sequence"]), float(p["arrival"]))
            for p in data["packets"]
            if p["decrypted"]
        ]

    async def stop(self) -> None:
        """Stop the emulator (SIGINT, then SIGKILL after 10 s) and reap it."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
