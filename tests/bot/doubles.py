"""Test helpers shared by the bot's tests: the real encoder, counted."""

from __future__ import annotations

import discord.opus


class CountingEncoder(discord.opus.Encoder):
    """The real libopus encoder, counting its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def encode(self, pcm: bytes, frame_size: int) -> bytes:
        self.calls += 1
        return super().encode(pcm, frame_size)
