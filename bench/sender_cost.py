"""What one more room costs the sender, without the network or the machine's noise.

Run from the repository root (about 10 s):

    .venv/bin/python -m bench.sender_cost

Measures on this thread's CPU clock, back to back:

- discord.py's ``VoiceClient.send_audio_packet(packet, encode=False)`` for one
  128 kb/s Opus packet: RTP header, XChaCha20-Poly1305 encryption (the mode
  the local Discord and Discord choose), UDP send to a socket on 127.0.0.1;
- :meth:`radio.bot.sender.Broadcaster.step` with 1 and 30 rooms over such
  connections: the slope is what each extra room costs per frame, our
  fan-out plus discord.py's send.

The connection state is a stand-in (bench only): a ``VoiceClient`` made
without a gateway, whose connection holds a key, an SSRC and a connected UDP
socket. Everything from ``send_audio_packet`` down is discord.py's own code.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from typing import Any

from discord.voice_client import VoiceClient

from radio.audio.frames import FRAMES_PER_SECOND
from radio.audio.operators import Sine
from radio.bot.audio import SimulcastFeed, music_encoder
from radio.bot.sender import PERIOD_S, Broadcaster, VoiceLink

MODE = "aead_xchacha20_poly1305_rtpsize"


class _Connection:
    """The part of discord.py's connection state that sending reads (bench stand-in)."""

    def __init__(self, sink: socket.socket, ssrc: int) -> None:
        self.dave_session = None
        self.can_encrypt = False
        self.ssrc = ssrc
        self.mode = MODE
        self.secret_key = list(os.urandom(32))
        self.ws = object()
        self._sink = sink

    def is_connected(self) -> bool:
        return True

    def send_packet(self, packet: bytes) -> None:
        self._sink.send(packet)


class _QuietLink(VoiceLink):
    """A VoiceLink whose speaking flag goes nowhere (there is no voice WebSocket)."""

    def speak(self, speaking: bool) -> None:
        pass


def voice_client(receiver: socket.socket, ssrc: int) -> VoiceClient:
    """A VoiceClient that sends to ``receiver`` (no gateway, no voice WebSocket)."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.connect(receiver.getsockname())
    vc: Any = VoiceClient.__new__(VoiceClient)
    vc.sequence = 0
    vc.timestamp = 0
    vc._incr_nonce = 0
    vc._connection = _Connection(sink, ssrc)
    return vc  # type: ignore[no-any-return]


def drain(receiver: socket.socket) -> None:
    try:
        while True:
            receiver.recv(4096)
    except BlockingIOError:
        pass


def send_cost(receiver: socket.socket, packets: int) -> float:
    """µs of CPU per ``send_audio_packet`` call."""
    vc = voice_client(receiver, 1)
    packet = music_encoder().encode(Sine(440.0).read(), 960)
    start = time.thread_time()
    for n in range(packets):
        vc.send_audio_packet(packet, encode=False)
        if n % 64 == 0:
            drain(receiver)
    return (time.thread_time() - start) / packets * 1e6


def step_cost(receiver: socket.socket, rooms: int, frames: int) -> float:
    """µs of CPU per :meth:`Broadcaster.step` (one pull, one encode, ``rooms`` sends)."""
    feed = SimulcastFeed(Sine(440.0, level_dbfs=-12.0))
    sender = Broadcaster(feed)
    for r in range(rooms):
        vc = voice_client(receiver, r + 1)
        sender.attach(vc, _QuietLink(vc, f"room{r}"))
    start = time.thread_time()
    for n in range(frames):
        # Each step at its frame's deadline: no wait, every frame sent.
        sender.step(1000.0 + n * PERIOD_S)
        if n % 4 == 0:
            drain(receiver)
    spent = time.thread_time() - start
    assert sender.stats().frames == frames
    return spent / frames * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--frames", type=int, default=1_000)
    args = parser.parse_args(argv)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    step_cost(receiver, 30, 200)  # warm-up: libopus, numpy and the caches
    send = send_cost(receiver, args.packets)
    one = step_cost(receiver, 1, args.frames)
    many = step_cost(receiver, 30, args.frames)
    per_room = (many - one) / 29
    print("| measure | µs of CPU | % of a core at 50/s |")
    print("| --- | ---: | ---: |")
    print(
        f"| discord.py send_audio_packet, one packet | {send:.1f} |"
        f" {send * FRAMES_PER_SECOND / 1e4:.3f} |"
    )
    print(f"| Broadcaster.step, 1 room | {one:.1f} | {one * FRAMES_PER_SECOND / 1e4:.3f} |")
    print(f"| Broadcaster.step, 30 rooms | {many:.1f} | {many * FRAMES_PER_SECOND / 1e4:.3f} |")
    print(
        f"| each extra room (slope) | {per_room:.1f} | {per_room * FRAMES_PER_SECOND / 1e4:.3f} |"
    )


if __name__ == "__main__":
    main()
