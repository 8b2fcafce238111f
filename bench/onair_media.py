"""Programme material for the on-air benchmark: music-like tracks of a realistic length.

Looping 12 s tones opens a new FFmpeg (and ffprobe) every 12 s, far more often
than music does, and a pure tone is the easiest signal an encoder ever sees.
These tracks are minutes long and broadband: a chord per track (stereo, the
channels slightly apart), a slow tremolo, and pink noise in each channel,
encoded as MP3 (the commonest library format) by FFmpeg at run time. The cost
of opening a track is measured apart (:func:`open_cpu`) and amortised over the
track's length.
"""

from __future__ import annotations

import resource
import subprocess
import time
from pathlib import Path

from radio.audio.decoder import FFmpegDecoder, probe
from radio.audio.ffmpeg_cli import quiet
from radio.audio.frames import SAMPLE_RATE
from radio.audio.track import Track

# Three chords (Hz): A minor, F major, G major, with a bright partial each.
CHORDS = (
    (220.0, 261.6, 329.6, 3520.0),
    (174.6, 220.0, 261.6, 2793.0),
    (196.0, 246.9, 293.7, 3136.0),
)
MP3_KBPS = 192


def music_like(path: Path, chord: tuple[float, ...], seconds: float, seed: int) -> Path:
    """Write ``seconds`` of a chord with tremolo over pink noise, stereo MP3; return ``path``.

    Raises subprocess.CalledProcessError when FFmpeg fails.
    """
    chains = []
    for channel in range(2):
        # The right channel is detuned by 0.3 %: the two channels differ, as in music.
        detune = 1.0 + 0.003 * channel
        sines = "".join(
            f"sine=f={hz * detune:.3f}:r={SAMPLE_RATE}:d={seconds:.3f},"
            f"volume={1.2 / (1 + k):.4f}[s{channel}{k}];"
            for k, hz in enumerate(chord)
        )
        inputs = "".join(f"[s{channel}{k}]" for k in range(len(chord)))
        chains.append(
            f"{sines}"
            f"anoisesrc=c=pink:a=0.3:r={SAMPLE_RATE}:d={seconds:.3f}:seed={seed + channel}"
            f"[n{channel}];"
            f"{inputs}[n{channel}]amix=inputs={len(chord) + 1}:normalize=0[c{channel}];"
        )
    lavfi = "".join(chains) + "[c0][c1]join=inputs=2:channel_layout=stereo,tremolo=f=2:d=0.4[out]"
    command = quiet(
        [
            "ffmpeg",
            "-y",
            "-filter_complex",
            lavfi,
            "-map",
            "[out]",
            "-c:a",
            "libmp3lame",
            "-b:a",
            f"{MP3_KBPS}k",
            str(path),
        ]
    )
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    return path


def programme(folder: Path, seconds: float) -> list[Track]:
    """Three music-like tracks of ``seconds`` each in ``folder``."""
    tracks = []
    for k, chord in enumerate(CHORDS):
        path = music_like(folder / f"music-{k}.mp3", chord, seconds, seed=10 * k + 1)
        tracks.append(Track(str(path), f"Music {k}", "Bench", duration=seconds))
    return tracks


def open_cpu(track: Track, runs: int) -> float:
    """CPU seconds (this process and its children) to open ``track`` as a station does.

    Each run probes it (ffprobe), starts FFmpeg, waits for the first buffered
    frame and closes it: what a track change costs beyond the steady decode
    (which includes FFmpeg filling its 2 s buffer and pipe once). Blocks.
    """
    before = _cpu()
    for _ in range(runs):
        decoder = FFmpegDecoder(track.location, info=probe(track.location))
        decoder.wait_buffered(10.0)
        decoder.close()
        _reaped(decoder)
    return (_cpu() - before) / runs


def _reaped(decoder: FFmpegDecoder, timeout: float = 10.0) -> None:
    # The decoder's reader thread reaps the killed FFmpeg; its CPU counts once reaped.
    deadline = time.monotonic() + timeout
    while not decoder.eof and time.monotonic() < deadline:
        time.sleep(0.01)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
