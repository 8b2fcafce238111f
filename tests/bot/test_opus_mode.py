"""The station's Opus encoder codes music as music: CELT, stereo, full band, 20 ms frames.

Each Opus packet starts with a TOC byte (RFC 6716, section 3.1): its top five
bits are the configuration (0-11 SILK, 12-15 hybrid SILK+CELT, 16-31 CELT;
31 is CELT full band 20 ms), bit 2 is stereo, the low two bits the frame count
code (0: one frame).
"""

from __future__ import annotations

import discord.opus
import numpy as np
import pytest

from radio.audio.frames import FRAME_BYTES, SAMPLE_RATE, SAMPLES_PER_FRAME
from radio.audio.source import Endless
from radio.bot.audio import SimulcastFeed, music_encoder

SECONDS = 3
CELT_FULLBAND_20MS = 31


class ChordAndNoise(Endless):
    """Music-like programme: an A minor chord with a bright partial, over noise, in stereo."""

    def __init__(self, seed: int = 1) -> None:
        self._rng = np.random.default_rng(seed)
        self._frame = 0

    def read(self) -> bytes:
        t = (np.arange(SAMPLES_PER_FRAME) + self._frame * SAMPLES_PER_FRAME) / SAMPLE_RATE
        self._frame += 1
        chord = sum(
            level * np.sin(2 * np.pi * hz * t)
            for hz, level in ((220.0, 0.2), (261.6, 0.15), (329.6, 0.12), (3300.0, 0.05))
        )
        left = chord + 0.05 * self._rng.standard_normal(t.size)
        right = 0.8 * chord + 0.05 * self._rng.standard_normal(t.size)
        stereo = np.stack([left, right], axis=1) * 0.8 * 32767
        data = stereo.astype("<i2").tobytes()
        assert len(data) == FRAME_BYTES
        return data

    def close(self) -> None:
        pass


def packets(encoder: discord.opus.Encoder) -> list[bytes]:
    feed = SimulcastFeed(ChordAndNoise(), encoder)
    got = [feed.next_packet() for _ in range(SECONDS * 50)]
    assert all(p is not None for p in got)
    return [p for p in got if p is not None]


def configs(got: list[bytes]) -> set[int]:
    return {p[0] >> 3 for p in got}


def test_the_feed_codes_music_in_celt_stereo_full_band_one_frame_per_packet() -> None:
    got = packets(music_encoder())
    assert len(got) == SECONDS * 50
    assert configs(got) == {CELT_FULLBAND_20MS}
    assert all(p[0] & 0x04 for p in got)  # stereo
    assert all(p[0] & 0x03 == 0 for p in got)  # one frame per packet


def test_the_feed_uses_the_music_encoder_by_default() -> None:
    feed = SimulcastFeed(ChordAndNoise())
    got = [feed.next_packet() for _ in range(50)]
    assert {p[0] >> 3 for p in got if p is not None} == {CELT_FULLBAND_20MS}


def test_discord_py_default_encoder_codes_the_same_music_as_hybrid_speech() -> None:
    # Why the station does not use discord.py's defaults: in-band FEC at 15 %
    # expected loss makes libopus code music with SILK (here: hybrid).
    got = packets(discord.opus.Encoder())
    assert configs(got) <= set(range(12, 16))


@pytest.mark.parametrize("kbps", [64, 128])
def test_the_bitrate_is_the_one_asked_for(kbps: int) -> None:
    got = packets(music_encoder(kbps))
    rate = sum(len(p) for p in got) * 8 / SECONDS / 1000
    # Constrained VBR: within 10 % of the target over a few seconds.
    assert abs(rate - kbps) <= kbps * 0.1
