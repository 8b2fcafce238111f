"""What DAVE end-to-end encryption adds per room on the simulcast path.

Run from the repository root (about 10 s):

    .venv/bin/python -m bench.dave

Each room of a simulcast gets the same Opus packet; in a DAVE room discord.py
then encrypts it with the room's davey session (``encrypt_opus``: a per-room
key from the room's MLS group, AES-128-GCM, the DAVE trailer) before its
transport encryption. Measured on this thread's CPU clock, back to back:

- ``Broadcaster.step`` with 1 and 30 rooms, without DAVE and with every room in
  its own real DAVE group (the room's session made ready the way the local
  Discord makes it: our external sender's Add proposal for a second davey
  member, the bot's commit); the slope difference is DAVE's cost per extra room;
- ``DaveSession.encrypt_opus`` alone, and a listener's ``decrypt`` of the same
  frame (the listener's cost, not the bot's).

The voice connections are bench stand-ins (no gateway, see bench.sender_cost);
everything from ``send_audio_packet`` down is discord.py's and davey's code.
"""

from __future__ import annotations

import argparse
import socket
import time
from typing import Any

import davey

from bench.sender_cost import _QuietLink, drain, voice_client
from radio.audio.frames import FRAMES_PER_SECOND
from radio.audio.operators import Sine
from radio.bot.audio import SimulcastFeed, music_encoder
from radio.bot.sender import PERIOD_S, Broadcaster
from radio.sandbox.dave import mls

BOT, LISTENER = 1001, 2002


def dave_pair(channel_id: int) -> tuple[davey.DaveSession, davey.DaveSession]:
    """A bot session and a listener session in one ready group of ``channel_id``."""
    key = mls.ExternalSenderKey()
    bot = davey.DaveSession(1, BOT, channel_id)
    listener = davey.DaveSession(1, LISTENER, channel_id)
    for session in (bot, listener):
        session.set_external_sender(key.package())
    add = mls.add_proposal(
        key, channel_id.to_bytes(8, "big"), 0, listener.get_serialized_key_package()
    )
    result = bot.process_proposals(davey.ProposalsOperationType.append, mls.proposals_append([add]))
    assert result is not None and result.welcome is not None
    bot.process_commit(result.commit)
    listener.process_welcome(result.welcome)
    assert bot.ready and listener.ready
    return bot, listener


def step_cost(receiver: socket.socket, rooms: int, frames: int, dave: bool) -> float:
    """µs of CPU per ``Broadcaster.step`` over ``rooms`` rooms, DAVE on or off."""
    feed = SimulcastFeed(Sine(440.0, level_dbfs=-12.0))
    sender = Broadcaster(feed)
    for r in range(rooms):
        vc: Any = voice_client(receiver, r + 1)
        if dave:
            vc._connection.dave_session, _ = dave_pair(10_000 + r)
            vc._connection.can_encrypt = True
        sender.attach(vc, _QuietLink(vc, f"room{r}"))
    start = time.thread_time()
    for n in range(frames):
        sender.step(1000.0 + n * PERIOD_S)
        if n % 4 == 0:
            drain(receiver)
    spent = time.thread_time() - start
    assert sender.stats().frames == frames
    return spent / frames * 1e6


def crypt_cost(packets: int) -> tuple[float, float]:
    """µs of CPU per ``encrypt_opus`` and per listener ``decrypt`` of one music packet."""
    bot, listener = dave_pair(99)
    packet = music_encoder().encode(Sine(440.0).read(), 960)
    frames = []
    start = time.thread_time()
    for _ in range(packets):
        frames.append(bot.encrypt_opus(packet))
    encrypt = (time.thread_time() - start) / packets * 1e6
    start = time.thread_time()
    for frame in frames:
        listener.decrypt(BOT, davey.MediaType.audio, frame)
    decrypt = (time.thread_time() - start) / packets * 1e6
    assert frames[-1].endswith(b"\xfa\xfa")
    return encrypt, decrypt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--frames", type=int, default=1_000)
    args = parser.parse_args(argv)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    step_cost(receiver, 30, 200, True)  # warm-up
    encrypt, decrypt = crypt_cost(args.packets)
    costs = {
        (rooms, dave): step_cost(receiver, rooms, args.frames, dave)
        for dave in (False, True)
        for rooms in (1, 30)
    }
    slope = {dave: (costs[30, dave] - costs[1, dave]) / 29 for dave in (False, True)}

    def row(name: str, us: float) -> str:
        return f"| {name} | {us:.1f} | {us * FRAMES_PER_SECOND / 1e4:.3f} |"

    print("| measure | µs of CPU | % of a core at 50/s |")
    print("| --- | ---: | ---: |")
    print(row("davey encrypt_opus, one packet", encrypt))
    print(row("listener's davey decrypt, one packet", decrypt))
    for dave in (False, True):
        label = "DAVE" if dave else "no DAVE"
        print(row(f"Broadcaster.step, 1 room, {label}", costs[1, dave]))
        print(row(f"Broadcaster.step, 30 rooms, {label}", costs[30, dave]))
        print(row(f"each extra room (slope), {label}", slope[dave]))
    print(row("DAVE's cost per extra room (slope difference)", slope[True] - slope[False]))


if __name__ == "__main__":
    main()
