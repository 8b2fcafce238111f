"""A relay node end to end: the station publishes to a real icecast2, ``radio relay`` (its
own process, on the local Discord) reads the mount, and its listener hears the programme.

Then Icecast is killed and started again: the listener hears silence (exact
digital silence, not garbage) while the mount is away, and the programme again
once it is back; the packets never come closer than 10 ms (the listener's
kernel arrival stamps) and their RTP sequences never skip. How soon the audio
comes back is a benchmark figure (bench/relay.py), not asserted here.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from outputs.icecast_server import SOURCE_PASSWORD, IcecastServer

from radio.bot.sender import STOP_SILENCE_FRAMES
from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.analysis import arrival_gaps, missing_sequences
from radio.sandbox.child import stop_child
from radio.sandbox.record import PacketRecord

from .e2e import assert_programme, loud, start_relay, until
from .station import MOUNT, TonesStation

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

OUTAGE_PACKETS = 50  # a second of silence heard while Icecast is down


def runs_of(packets: list[PacketRecord]) -> list[tuple[bool, int, int]]:
    """(loud, first index, end index) of each stretch of loud or quiet packets, in order."""
    runs: list[tuple[bool, int, int]] = []
    for index, packet in enumerate(packets):
        kind = loud(packet)
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1], index + 1)
        else:
            runs.append((kind, index, index + 1))
    return runs


def write_relay_file(path: Path, port: int, emulator: Emulator) -> Path:
    world = emulator.world
    path.write_text(
        "relay:\n"
        f"  source: http://127.0.0.1:{port}{MOUNT}\n"
        "  name: Test radio\n"
        "  buffer_ms: 300\n"
        "discord:\n"
        "  now_playing: 'off'\n"
        "  guilds:\n"
        f"    - id: {world.guild.id}\n"
        f"      broadcast: {world.voice_channel.id}\n"
        f"      admins: {world.text_channel.id}\n"
    )
    return path


async def test_a_relay_hears_the_programme_and_comes_back_after_icecast_restarts(
    tmp_path: Path,
) -> None:
    (tmp_path / "icecast").mkdir()
    icecast = IcecastServer(tmp_path / "icecast")
    icecast.start()
    station = TonesStation(icecast.port, SOURCE_PASSWORD)
    station.start()
    log = tmp_path / "relay.log"
    try:
        async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emulator:
            world = emulator.world
            voice = world.voice_channel.id

            def heard() -> list[PacketRecord]:
                return emulator.record.audio_packets(channel_id=voice)

            def loud_after(index: int) -> int:
                return sum(1 for packet in heard()[index:] if loud(packet))

            relay_file = write_relay_file(tmp_path / "relay.yaml", icecast.port, emulator)
            process = start_relay(emulator, relay_file, log)
            try:
                # The programme: a few tones' worth of audio.
                await until(lambda: loud_after(0) >= 250, process, log, "the programme")
                presence = world.presences.get(world.bot.id)
                await until(
                    lambda: (
                        (p := world.presences.get(world.bot.id)) is not None
                        and p.activities
                        and str(p.activities[0].get("name", "")).startswith("Test station – Tone ")
                    ),
                    process,
                    log,
                    "the title as the relay bot's presence",
                )
                # Icecast goes away: the listener hears silence.
                icecast.kill()
                killed_at = len(heard())

                def quiet_since_kill() -> bool:
                    tail = heard()[killed_at:]
                    return len(tail) >= OUTAGE_PACKETS and not any(
                        loud(p) for p in tail[-OUTAGE_PACKETS:]
                    )

                await until(quiet_since_kill, process, log, "silence while Icecast is down")
                # Icecast comes back; the station's output publishes again; so does the relay.
                restarted = time.monotonic()
                await asyncio.to_thread(icecast.start)
                await until(
                    lambda: icecast.mount(MOUNT) is not None, process, log, "the mount's return"
                )
                back_at = len(heard())
                await until(lambda: loud_after(back_at) >= 150, process, log, "audio back")
                await until(
                    lambda: any(
                        "is back" in m.content for m in world.messages_in(world.text_channel.id)
                    ),
                    process,
                    log,
                    "the admins told the source is back",
                )
            finally:
                code = await stop_child(process, signal.SIGTERM)
            packets = heard()
            record = emulator.record
            admins = [m.content for m in world.messages_in(world.text_channel.id)]
            _ = presence
    finally:
        station.close()
        icecast.stop()

    text = log.read_text()
    assert code == 0, text
    assert "Traceback" not in text and "ERROR" not in text, text
    assert record.auth_failures == 0 and record.decode_failures == 0
    # One continuous stream: no sequence skipped, never two packets closer than 10 ms.
    assert missing_sequences(packets) == []
    # The relay leaves as the station does: five Opus silence frames back to back.
    hush = packets[-STOP_SILENCE_FRAMES:]
    assert not any(loud(packet) for packet in hush[1:])
    gaps = arrival_gaps(packets[:-STOP_SILENCE_FRAMES])
    close = [(i, round(gap * 1000, 3)) for i, gap in enumerate(gaps) if gap < 0.010]
    assert close == [], f"{len(packets)} packets, gaps under 10 ms: {close}"
    # Quiet before the buffer fills, the programme, the outage, the programme again.
    runs = runs_of(packets)
    outage = max(
        (run for run in runs if not run[0] and run[1] >= killed_at), key=lambda r: r[2] - r[1]
    )
    assert outage[2] - outage[1] >= OUTAGE_PACKETS
    before = [run for run in runs if run[0] and run[2] <= outage[1]]
    after = [run for run in runs if run[0] and run[1] >= outage[2]]
    assert before and after
    # Silence while waiting is digital silence (between the decoder's fade-out of the
    # last packet and the onset of the first one back).
    for packet in packets[outage[1] + 2 : outage[2] - 2]:
        assert packet.pcm is not None and not any(packet.pcm), "garbage while the mount was away"
    # The audio came back after Icecast did, and it is the programme.
    assert packets[outage[2]].arrival > restarted
    first, last = before[-1], after[0]
    assert assert_programme(packets[first[1] : first[2]], record) >= 2
    assert assert_programme(packets[last[1] : last[2]], record) >= 1
    # The admins were told once that the source went away, once that it came back.
    assert sum("is away" in m for m in admins) == 1, admins
    assert sum("is back" in m for m in admins) == 1, admins
