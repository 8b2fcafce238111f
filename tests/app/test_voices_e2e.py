"""``radio run`` with three voices on the local Discord: each one connects on its own.

Two stages in the first server (the station's bot and a second voice) and the
voice room of a second server (a third voice). ``radio run`` starts them all;
the second voice's token is refused: the two others play on, with contiguous
sequences and the station's tones, and the admins are told once. The voices'
exact frame counts and identical audio are tests/bot/test_e2e_voices.py's.
"""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.analysis import missing_sequences, tone_runs
from radio.sandbox.child import stop_child
from radio.sandbox.state import ChannelType, bot_token

from .conftest import FALLBACK_TONES, make_station
from .test_run_e2e import start_radio_run, until

pytestmark = pytest.mark.e2e

HEARD = 100  # packets (2 s) each playing room must receive


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(
        clock=SystemClock(), monotonic=time.monotonic, guilds=2, bots=3, stages=2
    ) as emu:
        yield emu


async def test_radio_run_starts_every_voice_and_a_refused_token_stops_only_its_own(
    emulator: Emulator, tmp_path: Path
) -> None:
    world = emulator.world
    first, second = world.guilds.values()
    stage_1, stage_2 = (s.id for s in world.stages(first))
    far = second.channel_of_type(ChannelType.VOICE).id
    studio = first.channel_of_type(ChannelType.TEXT).id
    station = make_station(tmp_path / "station", show_start=None)
    with (station.root / "station.yaml").open("a", encoding="utf-8") as file:
        file.write(
            "live: {enabled: false}\nweb: {enabled: false}\n"
            "discord:\n"
            "  guilds:\n"
            f"    - {{id: {first.id}, broadcast: {stage_1}, admins: {studio}}}\n"
            f"    - {{id: {second.id}, broadcast: {far}}}\n"
            "  voices:\n"
            "    - {name: main}\n"
            "    - name: stage-2\n"
            "      token_env: RADIO_VOICE_2_TOKEN\n"
            f"      rooms: [{{guild: {first.id}, room: {stage_2}}}]\n"
            "    - name: far\n"
            "      token_env: RADIO_VOICE_3_TOKEN\n"
            f"      rooms: [{{guild: {second.id}, room: {far}}}]\n"
        )
    log = tmp_path / "radio-run.log"
    process = start_radio_run(
        emulator,
        station.root,
        log,
        extra_env={
            "RADIO_VOICE_2_TOKEN": "a-revoked-token",
            "RADIO_VOICE_3_TOKEN": bot_token(world.token, 3),
        },
    )

    def heard(room: int) -> int:
        return len(emulator.record.audio_packets(channel_id=room))

    def told() -> list[str]:
        return [m.content for m in world.messages_in(studio) if "stage-2" in m.content]

    try:
        await until(lambda: heard(stage_1) >= HEARD and heard(far) >= HEARD, process, log)
        await until(lambda: bool(told()), process, log)
        # Each bot holds its own room: the first on stage 1, the third in the far server.
        bots = list(world.bots.values())
        assert first.voice_states[bots[0].id].channel_id == stage_1
        assert second.voice_states[bots[2].id].channel_id == far
        assert bots[1].id not in first.voice_states and bots[0].id not in second.voice_states
        # Still playing after the refusal was told.
        counts = {room: heard(room) for room in (stage_1, far)}
        await until(lambda: all(heard(r) >= counts[r] + 50 for r in counts), process, log)
    finally:
        code = await stop_child(process, signal.SIGTERM)
    assert code == 0, log.read_text()
    assert heard(stage_2) == 0
    (message,) = told()
    assert "Discord refused the token in RADIO_VOICE_2_TOKEN" in message
    assert "a-revoked-token" not in message and "a-revoked-token" not in log.read_text()
    tones = {hz for *_, hz, _ in FALLBACK_TONES}
    for room in (stage_1, far):
        packets = emulator.record.audio_packets(channel_id=room)
        assert missing_sequences(packets) == []
        runs = tone_runs(emulator.record.pcm(packets))
        assert runs and {min(tones, key=lambda hz: abs(hz - r.frequency)) for r in runs} <= tones
        assert all(min(abs(hz - r.frequency) for hz in tones) < 2.0 for r in runs)
    text = log.read_text()
    assert "Traceback" not in text, text
