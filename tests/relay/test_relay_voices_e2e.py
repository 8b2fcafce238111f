"""``radio relay`` with two voices: two bot accounts, two stages of one server, one pacing.

The station publishes its tones to a real icecast2; ``radio relay`` (its own
process, on the local Discord) reads the mount and speaks through two bot
accounts, each on its own stage of the same server (a bot holds one voice
room per server). Both listeners receive contiguous RTP sequences and the
same audio, packet for packet. A refused token silences only its voice,
whichever it is (the first one too: the pacing is the node's, not a voice's),
and is logged once; when the first voice can post, the admins are told once.
When every token is refused the relay stops with one message naming each
variable (and the old one-token file still says what it always said).
"""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from outputs.icecast_server import SOURCE_PASSWORD, IcecastServer, free_port

from radio.bot.sender import STOP_SILENCE_FRAMES
from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.child import stop_child
from radio.sandbox.record import PacketRecord
from radio.sandbox.state import bot_token

from .e2e import loud, programme_tones, start_relay, until
from .station import MOUNT, TonesStation

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

HEARD = 250  # loud packets (5 s, three tones and more) each playing stage must receive
SETTLE = 50  # packets after a room's first loud one before its audio is compared
COMPARED = 200  # packets of identical audio required in both stages (4 s)
REFUSED = "a-revoked-token"


def write_two_voices(path: Path, source: str, emulator: Emulator, *, token_env: bool) -> None:
    """Stage 1 for the first voice (its token: relay.token_env or its own), stage 2 for the
    second; the admins' room is #studio."""
    world = emulator.world
    guild = world.guild
    stage_1, stage_2 = (s.id for s in world.stages(guild))
    first_token = "" if token_env else "      token_env: RELAY_1_TOKEN\n"
    path.write_text(
        "relay:\n"
        f"  source: {source}\n"
        "  name: Test radio\n"
        "  buffer_ms: 300\n" + ("  token_env: RELAY_1_TOKEN\n" if token_env else "") + "discord:\n"
        "  now_playing: 'off'\n"
        "  guilds:\n"
        f"    - id: {guild.id}\n"
        f"      broadcast: {stage_1}\n"
        f"      admins: {world.text_channel.id}\n"
        "  voices:\n"
        "    - name: stage-1\n" + first_token + "    - name: stage-2\n"
        "      token_env: RELAY_2_TOKEN\n"
        f"      rooms: [{{guild: {guild.id}, room: {stage_2}}}]\n"
    )


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(
        clock=SystemClock(), monotonic=time.monotonic, guilds=1, bots=2, stages=2
    ) as emu:
        yield emu


@pytest.fixture
def station(tmp_path: Path) -> Iterator[IcecastServer]:
    (tmp_path / "icecast").mkdir()
    icecast = IcecastServer(tmp_path / "icecast")
    icecast.start()
    tones = TonesStation(icecast.port, SOURCE_PASSWORD)
    tones.start()
    try:
        yield icecast
    finally:
        tones.close()
        icecast.stop()


def stages(emulator: Emulator) -> tuple[int, int]:
    stage_1, stage_2 = (s.id for s in emulator.world.stages())
    return stage_1, stage_2


def contiguous(packets: list[PacketRecord]) -> bool:
    return all((b.sequence - a.sequence) % 65536 == 1 for a, b in itertools.pairwise(packets))


def quiet_tail(packets: list[PacketRecord]) -> int:
    """How many packets at the end are quiet."""
    return next((n for n, packet in enumerate(reversed(packets)) if loud(packet)), len(packets))


def first_loud(packets: list[PacketRecord]) -> int:
    return next(i for i, packet in enumerate(packets) if loud(packet))


async def test_two_voices_on_two_stages_hear_every_packet_and_the_same_audio(
    emulator: Emulator, station: IcecastServer, tmp_path: Path
) -> None:
    world = emulator.world
    stage_1, stage_2 = stages(emulator)
    bot_1, bot_2 = world.bots.values()
    relay_file = tmp_path / "relay.yaml"
    source = f"http://127.0.0.1:{station.port}{MOUNT}"
    write_two_voices(relay_file, source, emulator, token_env=True)
    log = tmp_path / "relay.log"
    tokens = {"RELAY_1_TOKEN": world.token, "RELAY_2_TOKEN": bot_token(world.token, 2)}
    process = start_relay(emulator, relay_file, log, tokens)

    def heard(room: int) -> list[PacketRecord]:
        return emulator.record.audio_packets(channel_id=room)

    def loud_in(room: int) -> int:
        return sum(1 for packet in heard(room) if loud(packet))

    try:
        await until(
            lambda: loud_in(stage_1) >= HEARD and loud_in(stage_2) >= HEARD,
            process,
            log,
            "the programme on both stages",
        )
        # Each bot holds its own stage, as a speaker.
        states = world.guild.voice_states
        assert states[bot_1.id].channel_id == stage_1 and not states[bot_1.id].suppress
        assert states[bot_2.id].channel_id == stage_2 and not states[bot_2.id].suppress
        # The second voice's presence follows the titles too.
        await until(
            lambda: (
                (p := world.presences.get(bot_2.id)) is not None
                and bool(p.activities)
                and str(p.activities[0].get("name", "")).startswith("Test station – Tone ")
            ),
            process,
            log,
            "the title as the second voice's presence",
        )
    finally:
        code = await stop_child(process, signal.SIGTERM)
    # Each voice's rooms hear five silence frames as it leaves (the first one still
    # carries the decoder's fade-out): wait for the listener's thread to file them.
    await until(
        lambda: all(quiet_tail(heard(r)) >= STOP_SILENCE_FRAMES - 1 for r in (stage_1, stage_2)),
        None,
        log,
        "each room's last silence frames",
    )
    text = log.read_text()
    assert code == 0, text
    assert "Traceback" not in text and "ERROR" not in text, text
    record = emulator.record
    assert record.auth_failures == 0 and record.decode_failures == 0
    one, two = heard(stage_1), heard(stage_2)
    # Every frame reached both listeners: contiguous sequences, ended by the hush.
    for packets in (one, two):
        assert contiguous(packets), "a sequence was skipped"
        assert len(programme_tones(packets[first_loud(packets) :], record)) >= 2
    # The same audio on both stages: past each listener's first packets (its decoder
    # settling), stage 2's packets decode to exactly stage 1's, in the same order.
    start_2 = first_loud(two) + SETTLE
    window = [p.pcm for p in two[start_2 : start_2 + COMPARED]]
    assert len(window) == COMPARED and all(window)
    pcm_1 = [p.pcm for p in one]
    matches = [
        i
        for i in range(len(pcm_1) - COMPARED + 1)
        if pcm_1[i] == window[0] and pcm_1[i : i + COMPARED] == window
    ]
    assert matches, "stage 2 never heard what stage 1 heard"
    # One pacing: one sender for both voices' rooms, each voice reported on its own.
    assert "to 2 rooms" in text, text
    assert "voice stage-1 (RELAY_1_TOKEN): connected, 1 room(s)" in text, text
    assert "voice stage-2 (RELAY_2_TOKEN): connected, 1 room(s)" in text, text


@pytest.mark.parametrize("refused", [2, 1], ids=["second-refused", "first-refused"])
async def test_a_refused_token_silences_only_its_voice_and_is_logged_once(
    emulator: Emulator, station: IcecastServer, tmp_path: Path, refused: int
) -> None:
    world = emulator.world
    rooms = stages(emulator)
    silent, playing = rooms[refused - 1], rooms[2 - refused]
    relay_file = tmp_path / "relay.yaml"
    source = f"http://127.0.0.1:{station.port}{MOUNT}"
    write_two_voices(relay_file, source, emulator, token_env=False)
    log = tmp_path / "relay.log"
    variable = f"RELAY_{refused}_TOKEN"
    tokens = {"RELAY_1_TOKEN": world.token, "RELAY_2_TOKEN": bot_token(world.token, 2)}
    tokens[variable] = REFUSED
    process = start_relay(emulator, relay_file, log, tokens)
    studio = world.text_channel.id

    def heard(room: int) -> list[PacketRecord]:
        return emulator.record.audio_packets(channel_id=room)

    def loud_in(room: int) -> int:
        return sum(1 for packet in heard(room) if loud(packet))

    def told() -> list[str]:
        return [m.content for m in world.messages_in(studio) if "refused" in m.content]

    def logged() -> list[str]:
        return [line for line in log.read_text().splitlines() if f"token in {variable}" in line]

    try:
        await until(lambda: loud_in(playing) >= HEARD, process, log, "the other voice's stage")
        await until(lambda: logged(), process, log, "the refusal in the log")
        if refused == 2:
            # The first voice can post: the admins are told too.
            await until(lambda: told(), process, log, "the admins told")
        # The other voice plays on after the refusal.
        count = loud_in(playing)
        await until(lambda: loud_in(playing) >= count + 50, process, log, "more programme")
    finally:
        code = await stop_child(process, signal.SIGTERM)
    text = log.read_text()
    assert code == 0, text
    assert "Traceback" not in text and REFUSED not in text, text
    assert heard(silent) == []
    packets = heard(playing)
    assert contiguous(packets), "a sequence was skipped"
    assert len(programme_tones(packets[first_loud(packets) :], emulator.record)) >= 2
    (line,) = logged()
    assert f"Voice **stage-{refused}**: Discord refused the token in {variable}" in line
    assert f"voice stage-{refused} ({variable}): off: token refused, 1 room(s)" in text
    assert f"voice stage-{3 - refused} (RELAY_{3 - refused}_TOKEN): connected" in text
    if refused == 2:
        (message,) = told()
        assert "Voice **stage-2**: Discord refused the token in RELAY_2_TOKEN" in message
        assert REFUSED not in message
    else:
        assert told() == []  # the voice that posts is the one refused: only logged


@pytest.mark.parametrize("voices", [1, 2], ids=["one-token-file", "two-voices"])
async def test_when_every_token_is_refused_the_relay_stops_naming_each(
    emulator: Emulator, tmp_path: Path, voices: int
) -> None:
    # No Icecast: the relay never gets as far as hearing the mount.
    source = f"http://127.0.0.1:{free_port()}{MOUNT}"
    relay_file = tmp_path / "relay.yaml"
    if voices == 2:
        write_two_voices(relay_file, source, emulator, token_env=True)
        tokens = {"RELAY_1_TOKEN": REFUSED, "RELAY_2_TOKEN": REFUSED + "-2"}
    else:
        world = emulator.world
        relay_file.write_text(
            f"relay:\n  source: {source}\n  token_env: RELAY_1_TOKEN\n"
            f"discord:\n  guilds:\n    - id: {world.guild.id}\n"
            f"      broadcast: {world.voice_channel.id}\n"
        )
        tokens = {"RELAY_1_TOKEN": REFUSED}
    log = tmp_path / "relay.log"
    process = start_relay(emulator, relay_file, log, tokens)
    await until(lambda: process.poll() is not None, None, log, "the relay to stop")
    text = log.read_text()
    assert process.returncode == 1, text
    hint = (
        "Discord refused the token; copy it again from the Developer Portal"
        " (Applications → Bot → Reset Token)"
    )
    if voices == 1:
        # What the one-token relay always said.
        assert text.endswith(f"radio: error: RELAY_1_TOKEN: {hint}\n")
    else:
        error = text[text.index("radio: error:") :]
        assert error.splitlines() == [
            "radio: error: no voice of the relay can broadcast:",
            f"  RELAY_1_TOKEN: {hint}",
            f"  RELAY_2_TOKEN: {hint}",
        ]
    assert "Traceback" not in text and REFUSED not in text, text
