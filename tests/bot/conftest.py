"""Fixtures for the bot's end-to-end tests: a running local Discord."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from radio.clock import SystemClock
from radio.sandbox import Emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emu:
        yield emu
