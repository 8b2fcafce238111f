"""The live decoder: real FFmpeg-encoded streams pushed in chunks come out as station
PCM; garbage ends the feed with a reason; no FFmpeg outlives its feed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import numpy as np
import pytest

from radio.audio.frames import FRAME_BYTES
from radio.errors import DecoderError, LiveRefused
from radio.live.feed import STOPPED, LiveFeed, demuxer_for
from radio.live.pcm_buffer import PcmBuffer
from radio.sandbox.analysis import mono, peak_frequency


def encoded(codec: list[str], fmt: str, seconds: float = 2.0, freq: int = 440) -> bytes:
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi"]
    args += ["-i", f"sine=frequency={freq}:duration={seconds}:sample_rate=48000"]
    args += [*codec, "-f", fmt, "pipe:1"]
    return subprocess.run(args, capture_output=True, check=True).stdout


def drain(buffer: PcmBuffer) -> bytes:
    frames = []
    while True:
        assert buffer.wait_frames(1, timeout=30.0)
        frame = buffer.take_frame()
        if frame is None:
            assert buffer.exhausted
            return b"".join(frames)
        frames.append(frame)


async def push(feed: LiveFeed, data: bytes, chunk: int = 4096) -> None:
    for start in range(0, len(data), chunk):
        await feed.write(data[start : start + chunk])
    await feed.end()


@pytest.mark.parametrize(
    ("content_type", "codec", "fmt"),
    [
        ("audio/mpeg", ["-c:a", "libmp3lame", "-b:a", "128k"], "mp3"),
        ("audio/ogg", ["-c:a", "libopus", "-b:a", "96k"], "ogg"),
        ("audio/aac", ["-c:a", "aac", "-b:a", "128k"], "adts"),
        ("audio/flac", ["-c:a", "flac"], "flac"),
    ],
)
async def test_a_pushed_stream_comes_out_as_the_same_tone(
    content_type: str, codec: list[str], fmt: str
) -> None:
    data = encoded(codec, fmt, freq=440)
    buffer = PcmBuffer()
    feed = LiveFeed(content_type, buffer)
    try:
        await push(feed, data)
        pcm = drain(buffer)
    finally:
        feed.close()
        assert feed.join(10.0)
    assert feed.error is None
    samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, 2)
    # two seconds, give or take the codec's priming and padding (less than 3 frames)
    assert abs(len(pcm) // FRAME_BYTES - 100) <= 3
    assert abs(peak_frequency(mono(samples[4800:-4800])) - 440) < 2


async def test_garbage_gives_no_audio_and_leaves_no_process() -> None:
    buffer = PcmBuffer()
    feed = LiveFeed("audio/mpeg", buffer)
    try:
        for _ in range(16):  # 64 KiB that is not MP3: the demuxer finds no frame in it
            await feed.write(bytes(range(256)) * 16)
        await feed.end()
        assert feed.join(30.0)
    finally:
        feed.close()
    assert buffer.exhausted
    assert buffer.frames_out == 0
    assert buffer.bytes_in < FRAME_BYTES
    assert not feed.running


async def test_closing_kills_ffmpeg_and_releases_its_writer() -> None:
    buffer = PcmBuffer(capacity_frames=2)  # full at once: FFmpeg backs up
    feed = LiveFeed("audio/mpeg", buffer)
    await feed.write(encoded(["-c:a", "libmp3lame"], "mp3", seconds=1.0))
    assert buffer.wait_frames(2, timeout=30.0)
    feed.close()
    assert feed.join(10.0)
    assert not feed.running
    with pytest.raises(DecoderError):
        await feed.write(b"more")


def test_unsupported_content_types_are_refused_with_icecasts_status() -> None:
    assert demuxer_for("audio/mpeg") == "mp3"
    for bad in ("text/html", "video/mp4", "application/octet-stream", ""):
        with pytest.raises(LiveRefused) as refused:
            demuxer_for(bad)
        assert refused.value.status == 403


async def test_a_killed_decoder_says_so_at_the_next_write() -> None:
    # FFmpeg's death breaks the pipe before the reader thread has reaped it: the
    # write that finds it gone still reports the signal (the metrics count it)
    data = encoded(["-c:a", "libmp3lame"], "mp3", seconds=1.0)
    buffer = PcmBuffer()
    feed = LiveFeed("audio/mpeg", buffer)
    try:
        await feed.write(data)
        assert buffer.wait_frames(1, timeout=30.0)  # decoding: FFmpeg runs
        os.kill(feed.pid, signal.SIGKILL)
        with pytest.raises(DecoderError) as stopped:
            async with asyncio.timeout(60):  # a deadlock guard: the pipe breaks at its death
                while True:
                    await feed.write(data[:4096])
        assert str(stopped.value) == f"{STOPPED}: ffmpeg was killed by signal 9"
        assert feed.error == "ffmpeg was killed by signal 9"
    finally:
        feed.close()
        assert feed.join(10.0)
    assert not feed.running
