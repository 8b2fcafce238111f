"""CPU of the MP3 mount per second of audio, against a real icecast2: our side and FFmpeg's.

The station's packets (128 kb/s CELT from discord.py's encoder, pink noise so
that packets are music-sized) are encoded beforehand and fed to an
:class:`~radio.outputs.mp3.Mp3Output` one every 20 ms, as the sender does,
with a title change every 10 s. Measured:

* the tap on the sender thread (``Mp3Output.packet``: a deque append), with
  ``time.thread_time()`` around each call;
* the output's worker thread (libopus decode, pipes to and from FFmpeg, MP3
  frames, socket writes, title requests), with the thread's own CPU clock
  (``pthread_getcpuclockid``);
* the FFmpeg process (libmp3lame), its user + system time from
  ``/proc/<pid>/stat``, read just before the output stops it;
* and, apart, what the libopus decode alone costs for the same packets, through
  our ctypes decoder and through discord.py's ``opus.Decoder``.

Icecast runs as a child process and is not counted.

    .venv/bin/python -m bench.mp3_output [--seconds 60] [--bitrate 128] [--sample-rate 48000]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import discord.opus

from bench.icecast_output import FRAME, PASSWORD, RATE, free_port, music_packets, start_icecast
from radio.bot.audio import OPUS_SILENCE
from radio.outputs.icecast import StreamTitle
from radio.outputs.icecast_client import IcecastMount, SourceInfo
from radio.outputs.mp3 import Mp3Output, OpusDecoder
from radio.outputs.opus_decoder import OpusPcmDecoder

TICKS = os.sysconf("SC_CLK_TCK")


def worker_clock(output: Mp3Output) -> int:
    """The CPU clock id of the output's worker thread."""
    for thread in threading.enumerate():
        if thread.name == f"mp3{output.mount.mount}" and thread.ident is not None:
            return time.pthread_getcpuclockid(thread.ident)
    raise RuntimeError("the output's thread is not running")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def decode_cost(packets: list[bytes], decoder: OpusDecoder) -> float:
    """CPU seconds ``decoder`` takes to decode ``packets`` (back to back)."""
    started = time.thread_time()
    for packet in packets:
        decoder.decode(packet, fec=False)
    return time.thread_time() - started


def run(port: int, packets: list[bytes], bitrate: int, rate: int) -> dict[str, float]:
    """Feed ``packets`` paced at 20 ms; return CPU seconds per part and the frames sent."""
    output = Mp3Output(
        IcecastMount("127.0.0.1", port, "/bench.mp3"),
        PASSWORD,
        decoder=OpusPcmDecoder,
        monotonic=time.monotonic,
        info=SourceInfo(name="bench"),
        bitrate_kbps=bitrate,
        sample_rate=rate,
    )
    output.title(StreamTitle("Track 0", "Bench"))
    output.start()
    deadline = time.monotonic() + 30
    while (pid := output.stats().encoder_pid) is None:
        if time.monotonic() > deadline:
            raise SystemExit("the output did not connect")
        time.sleep(0.01)
    clock = worker_clock(output)
    worker_start = time.clock_gettime(clock)
    ffmpeg_start = process_cpu(pid)
    tap = 0.0
    due = time.monotonic()
    for index, packet in enumerate(packets):
        if index and index % 500 == 0:
            output.title(StreamTitle(f"Track {index // 500}", "Bench"))
        started = time.thread_time()
        output.packet(packet)
        tap += time.thread_time() - started
        due += 0.02
        time.sleep(max(0.0, due - time.monotonic()))
    wanted = len(packets) * FRAME * rate // RATE // 1152 - 20
    while output.stats().frames < wanted:  # FFmpeg's last frames of what it was given
        time.sleep(0.01)
    worker = time.clock_gettime(clock) - worker_start
    ffmpeg = process_cpu(pid) - ffmpeg_start
    stats = output.stats()
    output.close()
    if stats.encoder_pid != pid or stats.dropped or stats.encoder_failures:
        raise SystemExit(f"the run was not clean: {stats}")
    return {
        "worker": worker,
        "tap": tap,
        "ffmpeg": ffmpeg,
        "frames": stats.frames,
        "titles": stats.titles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--bitrate", type=int, default=128)
    parser.add_argument("--sample-rate", type=int, default=48_000, choices=(44_100, 48_000))
    args = parser.parse_args()
    packets = music_packets(args.seconds)
    audio = len(packets) * FRAME / RATE
    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()},")
    print(f"Python {platform.python_version()}, load {os.getloadavg()}")
    print(f"{len(packets)} packets ({audio:.0f} s of audio), MP3 {args.bitrate} kb/s")
    print(f"at {args.sample_rate} Hz")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        icecast = start_icecast(Path(folder), port)
        try:
            got = run(port, packets, args.bitrate, args.sample_rate)
        finally:
            icecast.terminate()
            icecast.wait(10)
    ours_decode = decode_cost(packets, OpusPcmDecoder())
    theirs: OpusDecoder = discord.opus.Decoder()  # type: ignore[no-untyped-call]
    assert theirs.decode(OPUS_SILENCE, fec=False) == OpusPcmDecoder().decode(OPUS_SILENCE)
    discord_decode = decode_cost(packets, theirs)
    ours = got["worker"] + got["tap"]
    total = ours + got["ffmpeg"]

    def share(seconds: float) -> str:
        return f"{seconds / audio * 100:.3f} %"

    print(
        f"paced (20 ms): total {share(total)} of a core:"
        f" FFmpeg {share(got['ffmpeg'])}, our side {share(ours)}"
        f" (worker {share(got['worker'])}, tap {share(got['tap'])});"
        f" {got['frames']:.0f} frames, {got['titles']:.0f} titles sent"
    )
    print(
        f"libopus decode alone, back to back: {share(ours_decode)} (OpusPcmDecoder),"
        f" {share(discord_decode)} (discord.opus.Decoder)"
    )
    print(f"load at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
