"""Test helpers shared by the bot's tests: the real encoder, counted; a stepped clock."""

from __future__ import annotations

import discord.opus

from radio.bot.sender import PERIOD_S


class CountingEncoder(discord.opus.Encoder):
    """The real libopus encoder, counting its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def encode(self, pcm: bytes, frame_size: int) -> bytes:
        self.calls += 1
        return super().encode(pcm, frame_size)


class SteppedMonotonic:
    """A monotonic clock the test moves to the deadline of frame ``n``."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.value = start

    def __call__(self) -> float:
        return self.value

    def to_frame(self, n: int) -> None:
        # The same expression as the senders' deadlines (PERIOD_S): no float drift.
        self.value = self.start + n * PERIOD_S
