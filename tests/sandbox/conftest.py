"""Fixtures for the emulator's tests: a running emulator, a connected test bot, tones."""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from radio.clock import SystemClock
from radio.sandbox import Emulator

from .bot import TestBot, running_bot


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emu:
        yield emu


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[TestBot]:
    async with running_bot(emulator) as client:
        yield client


ToneMaker = Callable[[Sequence[float], float], Path]


@pytest.fixture
def tones(tmp_path: Path) -> ToneMaker:
    """Return make(freqs, seconds_each) -> path of raw 48 kHz stereo s16le PCM, made by FFmpeg."""
    counter = iter(range(1000))

    def make(freqs: Sequence[float], seconds_each: float) -> Path:
        out = tmp_path / f"tones-{next(counter)}.pcm"
        inputs: list[str] = []
        for freq in freqs:
            sine = f"sine=frequency={freq}:duration={seconds_each}:sample_rate=48000"
            inputs += ["-f", "lavfi", "-i", sine]
        concat = "".join(f"[{i}:a]" for i in range(len(freqs))) + f"concat=n={len(freqs)}:v=0:a=1"
        subprocess.run(
            [
                "/usr/bin/ffmpeg",
                "-nostdin",
                "-loglevel",
                "error",
                *inputs,
                "-filter_complex",
                concat,
                "-ac",
                "2",
                "-f",
                "s16le",
                "-y",
                str(out),
            ],
            check=True,
        )
        return out

    return make


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
