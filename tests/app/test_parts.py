"""The application's small parts: frame stamps, the demo's room lines, stream, media, rooms."""

from __future__ import annotations

import io
import struct
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

from radio.app import rooms_of
from radio.app.stamps import FrameStamps
from radio.audio.frames import FRAME_BYTES
from radio.audio.operators import Sine
from radio.audio.root import Infallible
from radio.bot.config import DiscordConfig
from radio.clock import ManualClock
from radio.demo.media import DEMO_LIBRARY
from radio.demo.page import ListenerTap, streaming_wav_header
from radio.demo.room import RoomWatcher, describe, line_for
from radio.demo.runner import generate_media
from radio.demo.world import demo_config
from radio.sandbox.record import ListenerRecord, PacketRecord
from radio.sandbox.state import Message, SnowflakeFactory, build_world

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def test_frame_stamps_note_each_read_and_extrapolate() -> None:
    clock = ManualClock(T0)
    stamps = FrameStamps(Infallible(Sine(440.0)), clock, keep=3)
    assert stamps.instant_of(0) is None
    for _ in range(5):
        assert len(stamps.read()) == FRAME_BYTES
        clock.advance(20 * MS)
    assert stamps.position == 5
    # Only the last three are kept; older and future frames are extrapolated at 20 ms.
    assert stamps.stamps() == [(2, T0 + 40 * MS), (3, T0 + 60 * MS), (4, T0 + 80 * MS)]
    assert stamps.instant_of(3) == T0 + 60 * MS
    assert stamps.instant_of(0) == T0
    assert stamps.instant_of(10) == T0 + 200 * MS


def test_rooms_of_lists_each_guild_room_once_per_role() -> None:
    config = DiscordConfig.model_validate(
        {
            "guilds": [
                {"id": 1, "broadcast": 10, "announcements": 11, "programmers": 12},
                {"id": 2, "broadcast": 20, "programmers": 22, "admins": 23},
            ]
        }
    )
    rooms = rooms_of(config)
    assert rooms.announcements == (11,)
    assert rooms.stages == rooms.voices == (10, 20)
    assert rooms.programmers == (12, 22)
    assert rooms.admins == (12, 23)  # no admins' room: the programmers'


def test_demo_config_is_the_sandbox_guild() -> None:
    world = build_world(T0, SnowflakeFactory(), "t")
    roles = {role.name: role.id for role in world.guild.roles.values()}
    config = demo_config(world)
    (guild,) = config.guilds
    assert guild.id == world.guild.id
    assert guild.broadcast == world.voice_channel.id
    assert guild.announcements == guild.programmers == guild.admins == world.text_channel.id
    assert guild.roles.dj == {roles["dj"]} and guild.roles.admin == {roles["admin"]}
    assert demo_config(world, stage=True).guilds[0].broadcast == world.stage_channel.id


def test_room_lines_summarise_embeds_and_name_mentions() -> None:
    world = build_world(T0, SnowflakeFactory(), "t")
    channel = world.text_channel.id
    alice = world.people["alice"]
    embed = {
        "title": "Sunrise",
        "description": "by **The Early Birds**",
        "fields": [
            {"name": "Show", "value": "The Morning Show"},
            {"name": "Requested by", "value": f"<@{alice.id}>"},
        ],
    }
    world.messages[1] = Message(1, channel, world.bot, "", "t", embeds=[embed])
    world.messages[2] = Message(2, channel, alice, "!np", "t")
    watcher = RoomWatcher(world, channel)
    first = watcher.poll()
    assert [(m.id, edited) for m, edited in first] == [(1, False), (2, False)]
    names = {alice.id: "alice"}
    assert describe(first[0][0], names) == (
        f"{world.bot.username}: ♪ Sunrise · by The Early Birds"
        " · Show: The Morning Show · Requested by: @alice"
    )
    assert watcher.poll() == []
    world.messages[1].edited_timestamp = "t2"
    ((message, edited),) = watcher.poll()
    assert message.id == 1 and edited
    assert line_for(message, edited, "studio", lambda: "12:00:00", names).startswith(
        "[12:00:00 #studio] (edited) "
    )


def _packet(arrival: float, channel: int, fill: int) -> PacketRecord:
    pcm = bytes([fill]) * FRAME_BYTES
    return PacketRecord(arrival, 0, 0, 1, channel, False, 100, True, pcm)


def test_listener_tap_streams_one_room_incrementally() -> None:
    record = ListenerRecord()
    tap = ListenerTap(record, channel_id=7)
    assert tap.since(float("-inf")) == (b"", float("-inf"))
    record.append(_packet(1.00, 7, 1))
    record.append(_packet(1.02, 8, 2))  # another room
    record.append(_packet(1.04, 7, 3))
    chunk, cursor = tap.since(float("-inf"))
    assert chunk == bytes([1]) * FRAME_BYTES + bytes([3]) * FRAME_BYTES and cursor == 1.04
    record.append(_packet(1.06, 7, 4))
    assert tap.since(cursor) == (bytes([4]) * FRAME_BYTES, 1.06)
    assert tap.live_edge(head_start=1) == 1.04
    assert tap.heard_packets() == 3


def test_streaming_wav_header_reads_as_48k_stereo_16bit() -> None:
    header = streaming_wav_header()
    assert len(header) == 44
    assert struct.unpack("<I", header[40:44])[0] == 0xFFFFFFFF - 36
    with wave.open(io.BytesIO(header + bytes(FRAME_BYTES))) as stream:
        assert (stream.getframerate(), stream.getnchannels(), stream.getsampwidth()) == (
            48_000,
            2,
            2,
        )
        assert stream.readframes(960) == bytes(FRAME_BYTES)


def test_generate_media_writes_only_what_is_missing_and_says_so(tmp_path: Path) -> None:
    *present, second, last = DEMO_LIBRARY
    for item in present:
        (tmp_path / item.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / item.path).write_bytes(b"already here")
    out = io.StringIO()
    assert generate_media(tmp_path, out) == 2
    assert out.getvalue().splitlines() == [
        f"generating the demo's music (1/2): {second.path}",
        f"generating the demo's music (2/2): {last.path}",
    ]
    assert (tmp_path / last.path).stat().st_size > 1000
    assert (tmp_path / present[0].path).read_bytes() == b"already here"
    assert generate_media(tmp_path, io.StringIO()) == 0
