"""The MP3 mount's parts: frames cut from FFmpeg's output, the title request, the FFmpeg
command and process, and station.yaml's ``mp3:`` entry as ``radio check`` reports it."""

from __future__ import annotations

import random
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord.opus
import pytest
from pydantic import ValidationError

from radio.config.outputs import OutputsModel
from radio.errors import OutputError
from radio.grid.check import check_station
from radio.outputs.icecast_client import IcecastMount
from radio.outputs.icecast_metadata import metadata_path, song
from radio.outputs.mp3encoder import Mp3Encoder, encoder_args
from radio.outputs.mp3frames import FrameHeader, Mp3Frames, frame_header
from radio.outputs.opus_decoder import OpusPcmDecoder

from .conftest import encode, tone_pcm


def lame(pcm: bytes, *, bitrate: int = 128, rate: int = 48_000) -> bytes:
    """The station's MP3 encode of ``pcm``, by the real FFmpeg, all at once."""
    return subprocess.run(
        encoder_args(bitrate, rate), input=pcm, capture_output=True, check=True, timeout=60
    ).stdout


def test_ffmpegs_output_is_nothing_but_frames_and_is_cut_whole_in_reads_of_any_size() -> None:
    data = lame(tone_pcm(2.0, 440.0))
    # 128 kb/s at 48 kHz: every frame is 384 bytes, no tag, no Xing header.
    assert len(data) % 384 == 0 and data[:3] != b"ID3" and b"Xing" not in data[:400]
    assert frame_header(data) == FrameHeader(128, 48_000, padding=False)
    whole = [data[i : i + 384] for i in range(0, len(data), 384)]
    # 2 s of audio, plus the encoder's delay, in frames of 1,152 samples.
    assert len(whole) == -(-(96_000 + 1105) // 1152)
    frames = Mp3Frames()
    rng = random.Random(3)
    cut: list[bytes] = []
    position = 0
    while position < len(data):
        size = rng.choice([1, 3, 4, 100, 383, 384, 385, 5000])
        cut += frames.feed(data[position : position + size])
        position += size
    assert cut == whole and frames.buffered == 0 and frames.skipped == 0
    assert frames.frames == len(whole)


def test_44_1_khz_frames_are_padded_and_bytes_that_are_no_frame_are_skipped() -> None:
    data = lame(tone_pcm(1.0, 440.0), bitrate=128, rate=44_100)
    lengths = []
    frames = Mp3Frames()
    got = frames.feed(b"junk\xff\xfa" + data[:1000]) + frames.feed(data[1000:])
    for frame in got:
        header = frame_header(frame)
        assert header is not None and header.sample_rate == 44_100
        lengths.append(len(frame))
    assert set(lengths) == {417, 418}  # 144 * 128000 / 44100 = 417.96: padded now and then
    assert b"".join(got) == data and frames.skipped == 6


@pytest.mark.parametrize(
    "header",
    [
        b"\xff\xf3\x94\x64",  # MPEG-2
        b"\xff\xfd\x94\x64",  # Layer II
        b"\xff\xfb\x04\x64",  # "free format" bitrate
        b"\xff\xfb\xf4\x64",  # bitrate index 15
        b"\xff\xfb\x9c\x64",  # reserved sample rate
        b"\xfe\xfb\x94\x64",  # no sync
    ],
)
def test_headers_the_station_never_makes_are_not_frames(header: bytes) -> None:
    assert frame_header(header) is None
    assert frame_header(b"\xff\xfb\x94\x64") == FrameHeader(128, 48_000, padding=False)
    assert frame_header(b"\xff\xfb\x94") is None  # too short


def test_the_title_request_says_the_whole_title_in_utf_8() -> None:
    assert song("B tone", "Station") == "Station - B tone"
    assert song("Untitled") == "Untitled"
    assert song("", "Only an artist") == "Only an artist"
    assert len(song("x" * 5000, "y")) == 1000
    path = metadata_path(IcecastMount("h", 8000, "/radio.mp3"), "Zoë & Café - ?=#")
    parts = urlsplit(path)
    assert parts.path == "/admin/metadata"
    assert parse_qs(parts.query) == {
        "mount": ["/radio.mp3"],
        "mode": ["updinfo"],
        "song": ["Zoë & Café - ?=#"],
        "charset": ["UTF-8"],
    }


def test_ffmpeg_reads_only_its_stdin_and_writes_only_its_stdout() -> None:
    args = encoder_args(96, 44_100)
    assert args[args.index("-protocol_whitelist") + 1] == "pipe"
    assert args[args.index("-i") + 1] == "pipe:0" and args[-1] == "pipe:1"
    assert args.count("-i") == 1
    assert args[args.index("-c:a") + 1] == "libmp3lame"
    assert args[args.index("-b:a") + 1] == "96k"
    assert not any("://" in a or a.startswith(("file:", "http", "tcp")) for a in args)


def test_the_encoder_process_takes_pcm_and_hands_back_frames_without_waiting() -> None:
    encoder = Mp3Encoder(encoder_args(128, 48_000))
    pcm = tone_pcm(1.0, 440.0)
    try:
        assert encoder.read() == b""  # nothing yet: an empty answer, not a wait
        encoder.write(pcm)
        out = encoder.finish(30.0, time.monotonic)
    finally:
        encoder.close()
    assert encoder.written == len(pcm) and encoder.pending == 0
    frames = Mp3Frames().feed(out)
    assert len(frames) == -(-(48_000 + 1105) // 1152)
    assert not Path(f"/proc/{encoder.pid}").exists()  # reaped


def test_an_encoder_that_died_says_why() -> None:
    encoder = Mp3Encoder([*encoder_args(128, 48_000)[:-3], "-f", "nosuchformat", "pipe:1"])
    try:
        encoder.write(tone_pcm(0.5, 440.0))  # FFmpeg opens its input, then refuses the format
        deadline = time.monotonic() + 30
        with pytest.raises(OutputError, match=r"FFmpeg: it stopped, exit status 1: .*nosuchformat"):
            while time.monotonic() < deadline:
                encoder.read()
                time.sleep(0.05)
    finally:
        encoder.close()


def test_the_mp3_entry_its_defaults_and_what_is_refused() -> None:
    model = OutputsModel.model_validate(
        {"icecast": [{"url": "http://h:8000/radio.opus", "mp3": {"mount": "/radio.mp3"}}]}
    )
    (entry,) = model.icecast
    assert entry.mp3 is not None
    assert (entry.mp3.bitrate, entry.mp3.sample_rate, entry.mp3.password_env) == (128, 48000, None)
    assert entry.mp3_url == "http://h:8000/radio.mp3"
    refused = [
        ({"mount": "radio.mp3"}, "a mount such as /radio.mp3"),
        ({"mount": "/a/b.mp3"}, "a mount such as /radio.mp3"),
        ({"mount": "/r.mp3", "bitrate": 100}, "must be an MP3 bitrate"),
        ({"mount": "/r.mp3", "sample_rate": 32000}, "48000 or 44100"),
        ({"mount": "/r.mp3", "password_env": "lower"}, "pattern"),
        ({"mount": "/r.mp3", "password": "x"}, "Extra inputs"),
        ({"mount": "/radio.opus"}, "must not be /radio.opus, the Ogg/Opus mount"),
    ]
    for mp3, words in refused:
        with pytest.raises(ValidationError, match=words):
            OutputsModel.model_validate(
                {"icecast": [{"url": "http://h:8000/radio.opus", "mp3": mp3}]}
            )
    twice = [
        {"url": "http://h:8000/a.opus", "mp3": {"mount": "/b.opus"}},
        {"url": "http://h:8000/b.opus"},
    ]
    with pytest.raises(ValidationError, match=r"http://h:8000/b\.opus is listed twice"):
        OutputsModel.model_validate({"icecast": twice})


def test_radio_check_reports_a_bad_mp3_entry_at_its_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "playlists").mkdir()
    (tmp_path / "schedules").mkdir()
    (tmp_path / "playlists/music.yaml").write_text("sources:\n  - media/music\n")
    (tmp_path / "schedules/week.yaml").write_text(
        "shows:\n  - id: allday\n    days: [mon, tue, wed, thu, fri, sat, sun]\n"
        '    start: "00:00"\n    end: "24:00"\n    rotation:\n      - playlist: music\n'
    )
    (tmp_path / "station.yaml").write_text(
        "timezone: UTC\n"
        "fallback: music\n"
        "outputs:\n"
        "  icecast:\n"
        "    - url: http://127.0.0.1:8000/radio.opus\n"
        "      mp3:\n"
        "        mount: /radio.mp3\n"
        "        bitrate: 100\n"
        "        sample_rate: 32000\n"
    )
    result = check_station(tmp_path, datetime(2026, 11, 23, 12, tzinfo=UTC), media=False)
    station = tmp_path / "station.yaml"
    assert [str(d) for d in result.errors] == [
        f"{station}:8:18 E106 wrong type for outputs.icecast.0.mp3.bitrate: Value error,"
        " must be an MP3 bitrate in kb/s: 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192,"
        " 224, 256, 320",
        f"{station}:9:22 E110 bad value for outputs.icecast.0.mp3.sample_rate:"
        " Input should be 48000 or 44100",
    ]


def test_our_libopus_decoder_gives_what_discord_pys_gives_sample_for_sample() -> None:
    packets = encode(tone_pcm(1.0, 440.0) + tone_pcm(1.0, 660.0))
    ours = OpusPcmDecoder()
    theirs = discord.opus.Decoder()  # type: ignore[no-untyped-call]
    decoded = [ours.decode(packet) for packet in packets]
    assert decoded == [theirs.decode(packet, fec=False) for packet in packets]
    assert {len(pcm) for pcm in decoded} == {3840}
    assert any(pcm != bytes(3840) for pcm in decoded)
    with pytest.raises(OutputError, match="libopus could not decode a packet"):
        ours.decode(b"\xff" * 3)  # a code-3 packet that says nothing of its frames
    ours.close()
    ours.close()
