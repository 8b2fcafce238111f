"""Shared helpers for the outputs tests: real Opus packets, real FFmpeg, libogg as a judge."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from radio.bot.audio import music_encoder

RATE = 48_000
FRAME = 960


def tone_pcm(seconds: float, hz: float, *, start: int = 0, level: float = 0.5) -> bytes:
    """Stereo s16le: silence for ``start`` samples, then a sine of ``hz`` to ``seconds``."""
    n = np.arange(round(seconds * RATE))
    mono = np.where(n >= start, level * np.sin(2 * np.pi * hz * (n - start) / RATE), 0.0)
    samples = np.rint(mono * 32767).astype("<i2")
    return np.repeat(samples[:, None], 2, axis=1).tobytes()


def encode(pcm: bytes) -> list[bytes]:
    """The station's encode: 20 ms frames through discord.py's CELT music encoder."""
    encoder = music_encoder()
    step = FRAME * 4
    return [encoder.encode(pcm[i : i + step], FRAME) for i in range(0, len(pcm), step)]


@pytest.fixture(scope="session")
def sine_packets() -> list[bytes]:
    """Three seconds of 440 Hz as the station's packets (150 of them)."""
    return encode(tone_pcm(3.0, 440.0))


@dataclass(frozen=True)
class Decoded:
    left: np.ndarray  # the left channel, float
    stderr: str

    @property
    def samples(self) -> int:
        return len(self.left)


def decode(path: Path) -> Decoded:
    """Decode ``path`` with the real FFmpeg to 48 kHz stereo s16le."""
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path)]
    command += ["-f", "s16le", "-ar", "48000", "-ac", "2", "pipe:"]
    result = subprocess.run(
        command,
        capture_output=True,
        check=True,
        timeout=60,
    )
    samples = np.frombuffer(result.stdout, dtype="<i2").reshape(-1, 2)
    return Decoded(samples[:, 0].astype(float), result.stderr.decode())


def dominant_hz(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.argmax(spectrum) * RATE / len(signal))


def probe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


class _OggPage(ctypes.Structure):
    _fields_ = [
        ("header", ctypes.c_void_p),
        ("header_len", ctypes.c_long),
        ("body", ctypes.c_void_p),
        ("body_len", ctypes.c_long),
    ]


@dataclass(frozen=True)
class PageInfo:
    seq: int
    granule: int
    bos: bool
    eos: bool
    segments: int
    packets: int
    body: bytes


@dataclass(frozen=True)
class OggCheck:
    pages: list[PageInfo]
    skipped: int  # times libogg lost sync (a CRC mismatch or garbage)
    consumed: int  # bytes in whole, valid pages
    size: int

    @property
    def clean(self) -> bool:
        return self.skipped == 0 and self.consumed == self.size


def _libogg() -> ctypes.CDLL:
    name = ctypes.util.find_library("ogg")
    if name is None:
        pytest.skip("libogg is not installed (the independent page and CRC check)")
    lib = ctypes.CDLL(name)
    lib.ogg_sync_buffer.restype = ctypes.c_void_p
    lib.ogg_sync_buffer.argtypes = [ctypes.c_void_p, ctypes.c_long]
    lib.ogg_page_granulepos.restype = ctypes.c_int64
    return lib


def ogg_pages(path: Path) -> OggCheck:
    """Read ``path`` with libogg, which verifies every page's CRC (not our code judging itself)."""
    lib = _libogg()
    data = path.read_bytes()
    state = ctypes.create_string_buffer(256)  # ogg_sync_state is 32 bytes in libogg 1.3
    lib.ogg_sync_init(state)
    try:
        buffer = lib.ogg_sync_buffer(state, max(1, len(data)))
        ctypes.memmove(buffer, data, len(data))
        lib.ogg_sync_wrote(state, ctypes.c_long(len(data)))
        page = _OggPage()
        pages: list[PageInfo] = []
        skipped = consumed = 0
        while (result := lib.ogg_sync_pageout(state, ctypes.byref(page))) != 0:
            if result < 0:
                skipped += 1
                continue
            header = ctypes.string_at(page.header, page.header_len)
            lacing = header[27:]
            pages.append(
                PageInfo(
                    seq=lib.ogg_page_pageno(ctypes.byref(page)),
                    granule=lib.ogg_page_granulepos(ctypes.byref(page)),
                    bos=bool(lib.ogg_page_bos(ctypes.byref(page))),
                    eos=bool(lib.ogg_page_eos(ctypes.byref(page))),
                    segments=len(lacing),
                    packets=sum(1 for value in lacing if value < 255),
                    body=ctypes.string_at(page.body, page.body_len),
                )
            )
            consumed += page.header_len + page.body_len
    finally:
        lib.ogg_sync_clear(state)
    return OggCheck(pages, skipped, consumed, len(data))
