"""Simulcast benchmark: what one station costs on Discord, and what each extra room adds.

Run from the repository root:

    .venv/bin/python -m bench.simulcast            # about 20 s on 2 cores

Frames are pulled as fast as possible (no sleeping) from a generated sine
station with :meth:`radio.bot.audio.SimulcastFeed.next_packet` (one pull and
one real libopus encode per frame with the station's ``music_encoder``, as the
station's sender does), and
the process CPU time is divided by the audio time produced. "+ transport"
adds, for each of 1 to 30 rooms and every packet, what discord.py's
``send_audio_packet`` does before the socket: the RTP header and the
``aead_xchacha20_poly1305_rtpsize`` encryption (PyNaCl), the part that cannot
be shared between rooms. Sending on the socket and the sender's schedule are
not included (bench/sender_cost.py measures ``Broadcaster.step`` with
discord.py's own send). Prints Markdown.
"""

from __future__ import annotations

import argparse
import struct
import time
from collections.abc import Callable

import discord.opus
import nacl.secret

from bench import machine
from radio.audio.frames import FRAMES_PER_SECOND, SAMPLES_PER_FRAME
from radio.audio.operators import Sine
from radio.bot.audio import SimulcastFeed, music_encoder

REPEATS = 3
MUSIC: dict[str, object] = {"fec": False, "signal_type": "music"}  # what music_encoder() sets


def cpu_percent(run: Callable[[], None], frames: int) -> float:
    """CPU time of ``run`` as a percentage of one core over ``frames`` of audio.

    The least of :data:`REPEATS` runs: on a shared machine, other processes
    only ever add time (cache and frequency effects), never remove it.
    """
    spent: list[float] = []
    for _ in range(REPEATS):
        start = time.process_time()
        run()
        spent.append(time.process_time() - start)
    return 100.0 * min(spent) / (frames / FRAMES_PER_SECOND)


def transport(key: bytes) -> Callable[[bytes, int], bytes]:
    """Per-room packet protection as discord.py 2.7.1 does it for the rtpsize mode."""
    box = nacl.secret.Aead(key)

    def protect(packet: bytes, sequence: int) -> bytes:
        header = bytearray(12)
        header[0], header[1] = 0x80, 0x78
        struct.pack_into(">HII", header, 2, sequence & 0xFFFF, sequence * 960, 1234)
        nonce = bytearray(24)
        nonce[:4] = struct.pack(">I", sequence)
        return bytes(header) + box.encrypt(packet, bytes(header), bytes(nonce)).ciphertext

    return protect


def station_only(frames: int) -> Callable[[], None]:
    def run() -> None:
        station = Sine(440.0)
        for _ in range(frames):
            station.read()

    return run


def simulcast(frames: int, rooms: int, protect: bool) -> Callable[[], None]:
    """One feed, its packet handed to ``rooms`` rooms (protected for each when ``protect``)."""

    def run() -> None:
        feed = SimulcastFeed(Sine(440.0))
        protectors = [transport(bytes(32)) for _ in range(rooms)]
        for index in range(frames):
            packet = feed.next_packet()
            assert packet is not None
            if protect:
                for protector in protectors:
                    protector(packet, index)
        assert feed.stats().encoded == frames  # one encode per frame, whatever the rooms

    return run


def per_room_encoders(frames: int, rooms: int) -> Callable[[], None]:
    """The naive alternative: every room encodes the station itself (for comparison)."""

    def run() -> None:
        station = Sine(440.0)
        encoders = [music_encoder() for _ in range(rooms)]
        for _ in range(frames):
            pcm = station.read()
            for encoder in encoders:
                encoder.encode(pcm, SAMPLES_PER_FRAME)

    return run


def encoder_costs(frames: int) -> list[tuple[str, float]]:
    """One room, the encoder at other settings: what a lighter encode would save."""
    settings: list[tuple[str, dict[str, object]]] = [
        ("128 kb/s, music, no FEC (the station's `music_encoder`)", MUSIC),
        ("96 kb/s, music, no FEC", {**MUSIC, "bitrate": 96}),
        ("128 kb/s, FEC (discord.py's default: hybrid SILK+CELT)", {}),
        ("64 kb/s, FEC", {"bitrate": 64}),
    ]
    results: list[tuple[str, float]] = []
    for label, options in settings:

        def run(options: dict[str, object] = options) -> None:
            encoder = discord.opus.Encoder(**options)  # type: ignore[arg-type]
            feed = SimulcastFeed(Sine(440.0), encoder)
            for _ in range(frames):
                feed.next_packet()

        results.append((label, cpu_percent(run, frames)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per case")
    args = parser.parse_args()
    frames = round(args.seconds * FRAMES_PER_SECOND)
    room_counts = (1, 2, 10, 30)

    base = cpu_percent(station_only(frames), frames)
    shared = cpu_percent(simulcast(frames, 1, protect=False), frames)
    wired = {n: cpu_percent(simulcast(frames, n, protect=True), frames) for n in room_counts}
    naive = {n: cpu_percent(per_room_encoders(frames, n), frames) for n in (1, 10)}

    print(f"## Simulcast ({args.seconds:.0f} s of audio per case)\n")
    print(f"Machine: {machine.describe()}")
    print("Command: `.venv/bin/python -m bench.simulcast`\n")
    print(f"Sine station alone: {base:.3f} % of one core\n")
    print(f"Pull + 1 encode per frame (`next_packet()`, any number of rooms): {shared:.3f} %\n")
    print("| rooms | pull + 1 encode + transport per room (% core) |")
    print("| ---: | ---: |")
    for n in room_counts:
        print(f"| {n} | {wired[n]:.3f} |")
    extra_wired = (wired[30] - wired[1]) / 29
    print(
        f"\nEach extra room: {extra_wired:.4f} % of a core for its own RTP header and encryption."
    )
    print(
        f"Without sharing (one encoder per room): 1 room {naive[1]:.3f} %,"
        f" 10 rooms {naive[10]:.3f} % of a core."
    )
    print("\n| encoder (one room) | % of a core |")
    print("| --- | ---: |")
    for label, cost in encoder_costs(frames):
        print(f"| {label} | {cost:.3f} |")


if __name__ == "__main__":
    main()
