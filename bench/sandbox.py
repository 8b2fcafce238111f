"""Emulator benchmarks: how many stations the sandbox listener keeps up with.

Run from the repository root:

    .venv/bin/python -m bench.sandbox            # about 30 seconds on 2 cores

Two figures, printed as Markdown for BENCHMARKS.md:

1. Listener cost per packet, in process (no sockets): open (XChaCha20-Poly1305)
   + Opus decode + record, versus open + record only (``decode=False``).
2. Many stations over real loopback UDP: N senders, each 50 packets per second
   of a sealed 440 Hz Opus frame, paced by a sender thread for a few seconds;
   the packets the listener recorded versus sent, and the CPU time of the
   process without the sender thread (the listener's reader thread, mostly) per
   second of audio.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import threading
import time
from dataclasses import dataclass

import discord
import numpy as np

from bench import machine
from radio.sandbox.record import FRAME_BYTES, ListenerRecord
from radio.sandbox.rtp import seal_packet
from radio.sandbox.voice_udp import Sender, VoiceListener

FRAME_SECONDS = 0.020


class Keys:
    """A sender directory where SSRC n uses key n."""

    def __init__(self, count: int) -> None:
        self.keys = {ssrc: secrets.token_bytes(32) for ssrc in range(1, count + 1)}

    def sender(self, ssrc: int) -> Sender | None:
        key = self.keys.get(ssrc)
        return None if key is None else Sender(ssrc, key, 1, suppressed=False)


def tone_frame() -> bytes:
    """One Opus frame of a 440 Hz tone, encoded by discord.py's encoder."""
    t = np.arange(960) / 48_000
    mono = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    pcm = np.repeat(mono, 2).tobytes()
    assert len(pcm) == FRAME_BYTES
    return discord.opus.Encoder().encode(pcm, 960)


def packets_for(keys: Keys, opus: bytes, frames: int) -> dict[int, list[bytes]]:
    return {
        ssrc: [seal_packet(i % 65536, 960 * i, ssrc, opus, key, i) for i in range(frames)]
        for ssrc, key in keys.keys.items()
    }


def in_process(decode: bool, count: int) -> float:
    """Return microseconds of CPU per packet heard."""
    keys = Keys(1)
    packets = packets_for(keys, tone_frame(), count)[1]
    listener = VoiceListener(keys, ListenerRecord(), time.monotonic, decode=decode)
    start = time.process_time()
    for packet in packets:
        listener.datagram_received(packet, ("127.0.0.1", 1))
    used = time.process_time() - start
    assert len(listener.record.packets) == count
    return used / count * 1e6


@dataclass
class Loopback:
    stations: int
    decode: bool
    sent: int
    heard: int
    loop_cpu_per_audio_second: float


async def over_udp(stations: int, seconds: float, decode: bool) -> Loopback:
    keys = Keys(stations)
    frames = round(seconds / FRAME_SECONDS)
    packets = packets_for(keys, tone_frame(), frames)
    record = ListenerRecord()
    listener = VoiceListener(keys, record, time.monotonic, decode=decode)
    target = ("127.0.0.1", listener.start("127.0.0.1"))
    sent = [0]
    sender_cpu = [0.0]

    def send() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        begin = time.perf_counter()
        for i in range(frames):
            for station in packets.values():
                sock.sendto(station[i], target)
                sent[0] += 1
            delay = begin + (i + 1) * FRAME_SECONDS - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        sock.close()
        sender_cpu[0] = time.thread_time()

    sender = threading.Thread(target=send)
    cpu_start = time.process_time()
    sender.start()
    while sender.is_alive():
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # let the last datagrams in
    cpu = time.process_time() - cpu_start - sender_cpu[0]  # the listener thread, mostly
    listener.close()
    return Loopback(stations, decode, sent[0], len(record.packets), cpu / seconds)


async def main(seconds: float) -> None:
    print("## Sandbox listener")
    print()
    print(f"Machine: {machine.describe()}")
    print("Command: `.venv/bin/python -m bench.sandbox`")
    print()
    print("| listener work | CPU per packet |")
    print("|---|---|")
    for decode in (True, False):
        label = "open + Opus decode + record" if decode else "open + record (arrivals only)"
        print(f"| {label} | {in_process(decode, 5000):.1f} µs |")
    print()
    print(f"| stations × 50 pkt/s, {seconds:.0f} s | mode | heard / sent | CPU per audio s |")
    print("|---|---|---|---|")
    for stations in (1, 10, 50):
        for decode in (True, False):
            result = await over_udp(stations, seconds, decode)
            mode = "decode" if decode else "arrivals only"
            print(
                f"| {stations} | {mode} | {result.heard} / {result.sent} "
                f"| {result.loop_cpu_per_audio_second * 1000:.0f} ms |"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().seconds))
