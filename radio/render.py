"""Offline rendering: pull a source as fast as possible into an encoded file.

What ``radio render`` writes is what a listener would hear if the machine kept
up in real time: before each frame the renderer waits for the tree's buffers
(radio.audio.buffering), so no underrun silence appears that would not be on air.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import ffmpeg
from tqdm import tqdm

from radio.audio.buffering import wait_buffered
from radio.audio.ffmpeg_cli import file_url, quiet
from radio.audio.frames import CHANNELS, FRAME_BYTES, FRAMES_PER_SECOND, SAMPLE_RATE
from radio.audio.source import Source
from radio.errors import SourceError

logger = logging.getLogger(__name__)

_ENCODERS: Final = {
    ".wav": "pcm_s16le",
    ".flac": "flac",
    ".ogg": "libvorbis",
    ".opus": "libopus",
    ".mp3": "libmp3lame",
}
_WAIT_TIMEOUT: Final = 30.0  # seconds a buffer may take before the render gives up
_BATCH: Final = 50  # frames written per pipe write and progress update


@dataclass(frozen=True, slots=True)
class RenderResult:
    """What was written: the file, how many frames, how many of them were silence."""

    path: Path
    frames: int
    silent_frames: int

    @property
    def seconds(self) -> float:
        """Duration of the rendered audio in seconds."""
        return self.frames / FRAMES_PER_SECOND


def render_source(source: Source, frames: int, out: Path, *, progress: bool) -> RenderResult:
    """Pull ``frames`` frames from ``source`` and encode them into ``out``.

    The codec follows the suffix (.wav, .flac, .ogg, .opus, .mp3). ``progress``
    draws a tqdm bar on stderr. The source is not closed. Raises SourceError for
    an unknown suffix, when FFmpeg fails, or when the source's buffers stay
    empty for 30 s.
    """
    codec = _ENCODERS.get(out.suffix.lower())
    if codec is None:
        raise SourceError(f"{out}: cannot render to {out.suffix!r} (use {sorted(_ENCODERS)})")
    if frames < 0:
        raise ValueError("frames must not be negative")
    out.parent.mkdir(parents=True, exist_ok=True)
    # FFmpeg reads only our pipe, and writes ``out`` as a file even when its
    # name looks like a protocol (``file:`` and the absolute path)
    args = quiet(
        ffmpeg.input(
            "pipe:", format="s16le", ar=SAMPLE_RATE, ac=CHANNELS, protocol_whitelist="pipe"
        )
        .output(file_url(out), acodec=codec, ar=SAMPLE_RATE, ac=CHANNELS)
        .compile(overwrite_output=True)
    )
    try:
        encoder = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise SourceError(f"cannot start ffmpeg to write {out}: {exc}") from exc
    assert encoder.stdin is not None and encoder.stderr is not None
    silent = 0
    silence = bytes(FRAME_BYTES)
    # progress in seconds of audio: what a person asked for with --duration
    bar = tqdm(
        total=frames / FRAMES_PER_SECOND,
        unit="s",
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]",
        file=sys.stderr,
        disable=not progress,
    )
    try:
        done = 0
        while done < frames:
            batch = []
            for _ in range(min(_BATCH, frames - done)):
                if not wait_buffered(source, _WAIT_TIMEOUT):
                    raise SourceError(f"rendering {out}: the source stayed empty for 30 s")
                frame = source.read()
                silent += frame == silence
                batch.append(frame)
            encoder.stdin.write(b"".join(batch))
            done += len(batch)
            bar.update(len(batch) / FRAMES_PER_SECOND)
        encoder.stdin.close()
    except BrokenPipeError:
        pass  # the encoder died: its message is reported below
    except BaseException:
        encoder.kill()
        encoder.wait()
        encoder.stderr.close()
        raise
    finally:
        bar.close()
        if not encoder.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                encoder.stdin.close()
    message = encoder.stderr.read().decode(errors="replace").strip()
    encoder.stderr.close()
    if encoder.wait() != 0:
        raise SourceError(f"ffmpeg could not write {out}: {message or 'no message'}")
    logger.info("rendered %d frames (%d silent) to %s", frames, silent, out)
    return RenderResult(path=out, frames=frames, silent_frames=silent)
