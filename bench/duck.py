"""Stage talk-over benchmarks: first presenter packet → music ducked at the listener,
and the CPU of packet-based speaking detection per speaking member.

    .venv/bin/python -m bench.duck [--trials 10]

1. The real RadioBot on the local Discord's stage broadcasts a ducked sine; the
   connection is put in packet mode, then a presenter (carol, admin) talks for
   0.6 s, ``trials`` times with 3 s between. For each: from the instant her
   first packet left the voice server to the arrival (kernel stamp) of the
   first listener frame below -1 dB (onset) and of the first frame within 1 dB
   of the depth (full duck), on the same monotonic clock.
2. ``TalkOver.packet`` on a sealed packet of a member who is talking, a million
   times: CPU per packet, times 50 packets per second, as a share of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time

import numpy as np

from radio.audio.duck import Duck
from radio.audio.operators import Sine
from radio.clock import SystemClock
from radio.live.talkover import TalkOver
from radio.sandbox import Emulator
from radio.sandbox.rtp import seal_packet
from radio.sandbox.speakers import Spurt
from tests.bot.e2e import until
from tests.bot.test_e2e_stage_mic import heard, stage_on_air

DEPTH = -15.0


def _level(pcm: bytes, reference: float) -> float:
    frame = np.frombuffer(pcm, "<i2").astype(np.float64)
    return 20 * math.log10(max(1e-9, math.sqrt(float(np.mean(frame * frame)))) / reference)


async def latency(trials: int) -> tuple[list[float], list[float]]:
    onsets: list[float] = []
    fulls: list[float] = []
    emulator = Emulator(clock=SystemClock(), monotonic=time.monotonic)
    async with emulator, stage_on_air(emulator, allowed={"carol"}) as (_bot, talkover):
        speakers = emulator.speakers
        await speakers.enter("carol", muted=False)
        await speakers.talk("carol", [Spurt(0.2)])  # packet mode from now on
        await until(lambda: talkover.packet_mode and talkover.on_mic == ())
        await asyncio.sleep(2.0)  # released
        frames = heard(emulator)
        reference = statistics.median(
            math.sqrt(float(np.mean(np.frombuffer(p.pcm, "<i2").astype(np.float64) ** 2)))
            for p in frames[5:25]
        )
        for _ in range(trials):
            count = len(heard(emulator))
            report = await speakers.talk("carol", [Spurt(0.6)])
            first = report.first_packet
            assert first is not None
            after = heard(emulator)[count:]
            onset = next(p for p in after if _level(p.pcm, reference) < -1.0)
            full = next(p for p in after if _level(p.pcm, reference) < DEPTH + 1.0)
            onsets.append((onset.arrival - first) * 1000)
            fulls.append((full.arrival - first) * 1000)
            await until(lambda: talkover.on_mic == ())
            await asyncio.sleep(3.0)
    return onsets, fulls


def detection_cpu(packets: int = 1_000_000) -> float:
    """Share of one core spent by ``TalkOver.packet`` for one member talking (50/s)."""
    duck = Duck(Sine(440.0))
    talkover = TalkOver(duck, time.monotonic, allowed=lambda user_id: True)
    talkover.speaking(4242, 7)
    talkover.voice_state(7, stage=True, muted=False)
    packet = seal_packet(0, 0, 4242, b"\xf8\xff\xfe" * 20, bytes(32), 0)
    talkover.packet(packet)
    start = time.process_time()
    for _ in range(packets):
        talkover.packet(packet)
    per_packet = (time.process_time() - start) / packets
    return per_packet * 50 * 100  # percent of a core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    onsets, fulls = asyncio.run(latency(args.trials))
    share = detection_cpu()

    def row(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {min(values):.0f} | {statistics.median(values):.0f} | {max(values):.0f} |"
        )

    print("| first packet → listener frame | min ms | median ms | max ms |")
    print("|---|---|---|---|")
    print(row("duck begins (< -1 dB)", onsets))
    print(row(f"full depth (within 1 dB of {DEPTH:g} dB)", fulls))
    print(f"\npacket detection: {share:.4f} % of a core per speaking member (50 packets/s)")


if __name__ == "__main__":
    main()
