"""What the relay's end-to-end tests share: ``radio relay`` in its own process, the waits,
and how a listener's packets are judged (loud or quiet, the programme's tones in order)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from radio.sandbox import Emulator
from radio.sandbox.analysis import tone_runs
from radio.sandbox.record import ListenerRecord, PacketRecord

from .station import TONES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "relay" / "relay_process.py"
LOUD_RMS = 500.0  # of int16 samples: the tones are at about 8,500
WAIT_S = 90.0  # generous: a busy machine is slow


def rms(packet: PacketRecord) -> float:
    if packet.pcm is None:
        return 0.0
    samples = np.frombuffer(packet.pcm, dtype="<i2").astype(float)
    return float(np.sqrt(np.mean(samples**2)))


def loud(packet: PacketRecord) -> bool:
    return rms(packet) >= LOUD_RMS


def assert_programme(packets: list[PacketRecord], record: ListenerRecord) -> int:
    """The stretch is the station's tones in the station's order; return how many tones.

    A tone heard in two runs (a late packet on a busy machine laid a silent
    slot in the middle of it) counts once: the order is what is judged.
    """
    found = tone_runs(record.pcm(packets))
    heard = [min(range(len(TONES)), key=lambda i: abs(TONES[i] - run.frequency)) for run in found]
    for run, index in zip(found, heard, strict=True):
        assert abs(run.frequency - TONES[index]) < 2.0, found
    tones = [index for index, _ in itertools.groupby(heard)]
    for a, b in itertools.pairwise(tones):
        assert b == (a + 1) % len(TONES), f"tones out of the programme's order: {found}"
    return len(tones)


def programme_tones(packets: list[PacketRecord], record: ListenerRecord) -> set[float]:
    """The programme's tones heard in the stretch; every steady tone must be one of them.

    The order is not judged: on a busy machine a relay may rightly play
    silence while its buffer refills, or drop its oldest packets when a burst
    overfills it (docs/relay.md), so a tone can go missing.
    """
    found = tone_runs(record.pcm(packets))
    heard = {min(TONES, key=lambda hz: abs(hz - run.frequency)) for run in found}
    for run in found:
        assert min(abs(hz - run.frequency) for hz in TONES) < 2.0, found
    return heard


def start_relay(
    emulator: Emulator,
    relay_file: Path,
    log: Path,
    tokens: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """``radio relay relay_file`` on the local Discord, its stderr in ``log``.

    ``tokens`` are the variables holding the bots' tokens (default: the first
    bot's in DISCORD_TOKEN); no other token variable is passed on.
    """
    given = {"DISCORD_TOKEN": emulator.world.token} if tokens is None else tokens
    env = {
        **{k: v for k, v in os.environ.items() if "TOKEN" not in k},
        **given,
        "SSL_CERT_FILE": str(emulator.addresses.cert_path),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with log.open("w") as err:
        return subprocess.Popen(
            [
                sys.executable,
                str(SCRIPT),
                json.dumps(emulator.addresses.to_json()),
                str(relay_file),
                "--env-file",
                os.devnull,
                "--no-realtime",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )


async def until(
    condition: Callable[[], object], process: subprocess.Popen[str] | None, log: Path, what: str
) -> None:
    """Wait for ``condition()`` while the relay lives (``process`` None: it has stopped)."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert process is None or process.poll() is None, f"radio relay exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()}"
        await asyncio.sleep(0.1)
