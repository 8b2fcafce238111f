"""The Ogg/Opus writer and sealer, judged by libogg (pages, CRCs) and the real FFmpeg (audio)."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import io
import struct
from pathlib import Path

import pytest

from radio.errors import OutputError
from radio.outputs.oggopus import OPUS_PRE_SKIP, OggOpusWriter, ogg_crc, packet_samples, seal

from .conftest import (
    FRAME,
    decode,
    dominant_hz,
    encode,
    ogg_pages,
    probe_duration,
    tone_pcm,
)

CELT_20MS_STEREO = 0xFC  # TOC: config 31 (CELT fullband 20 ms), stereo, one frame


def write_file(path: Path, packets: list[bytes], **kwargs: object) -> None:
    with open(path, "wb") as file:
        writer = OggOpusWriter(file, serial=0x5EED, **kwargs)  # type: ignore[arg-type]
        for packet in packets:
            writer.write(packet)
        writer.close()


def test_crc_is_oggs_crc32() -> None:
    # CRC-32/CKSUM's check value without its final inversion: the Ogg variant.
    assert ogg_crc(b"123456789") == 0x89A1897F
    assert ogg_crc(b"") == 0


def test_pre_skip_is_the_lookahead_libopus_reports() -> None:
    name = ctypes.util.find_library("opus")
    assert name is not None
    lib = ctypes.CDLL(name)
    lib.opus_encoder_create.restype = ctypes.c_void_p
    error = ctypes.c_int()
    # 2049 = OPUS_APPLICATION_AUDIO, what discord.py's Encoder asks for.
    encoder = lib.opus_encoder_create(48_000, 2, 2049, ctypes.byref(error))
    assert error.value == 0 and encoder
    try:
        lookahead = ctypes.c_int32()
        assert lib.opus_encoder_ctl(ctypes.c_void_p(encoder), 4027, ctypes.byref(lookahead)) == 0
    finally:
        lib.opus_encoder_destroy(ctypes.c_void_p(encoder))
    assert lookahead.value == OPUS_PRE_SKIP == 312


def test_sine_round_trip_through_ffmpeg(tmp_path: Path, sine_packets: list[bytes]) -> None:
    path = tmp_path / "sine.opus"
    write_file(path, sine_packets, tags={"TITLE": "Morning", "ARTIST": "Zoë"})

    check = ogg_pages(path)
    assert check.clean
    assert [page.seq for page in check.pages] == list(range(len(check.pages)))
    assert [page.bos for page in check.pages] == [True] + [False] * (len(check.pages) - 1)
    assert [page.eos for page in check.pages] == [False] * (len(check.pages) - 1) + [True]
    audio = check.pages[2:]
    assert [page.packets for page in audio] == [50, 50, 50]  # a page a second
    assert [page.granule for page in audio] == [50 * FRAME, 100 * FRAME, 150 * FRAME]

    decoded = decode(path)
    assert decoded.stderr == ""
    assert decoded.samples == len(sine_packets) * FRAME - OPUS_PRE_SKIP
    assert dominant_hz(decoded.left[FRAME:]) == pytest.approx(440, abs=1)
    assert probe_duration(path) == pytest.approx(3.0, abs=0.02)


def test_headers_say_what_ffmpeg_reads(tmp_path: Path, sine_packets: list[bytes]) -> None:
    path = tmp_path / "tags.opus"
    write_file(path, sine_packets[:5], tags={"TITLE": "Morning", "ARTIST": "Zoë"})
    head, tags = (page.body for page in ogg_pages(path).pages[:2])
    assert struct.unpack("<8sBBHIhB", head) == (b"OpusHead", 1, 2, 312, 48_000, 0, 0)
    assert tags == (
        b"OpusTags" + struct.pack("<I", 5) + b"radio" + struct.pack("<I", 2)
        + struct.pack("<I", 13) + b"TITLE=Morning"
        + struct.pack("<I", 11) + "ARTIST=Zoë".encode()
    )  # fmt: skip


def test_pre_skip_puts_an_onset_where_it_was(tmp_path: Path) -> None:
    # Half a second of silence, then a tone: with the right pre-skip the decoded
    # onset lands on sample 24,000 (a wrong one moves it by the difference).
    path = tmp_path / "onset.opus"
    write_file(path, encode(tone_pcm(1.0, 1000.0, start=24_000)))
    left = decode(path).left
    onset = int((abs(left) > 0.1 * 0.5 * 32767).argmax())
    assert abs(onset - 24_000) <= 16


def test_pages_never_pass_255_segments(tmp_path: Path) -> None:
    # Packets of 1,275 bytes (Opus's largest 20 ms frame) take 6 lacing values:
    # 42 fit on a page, not 50.
    packet = bytes([CELT_20MS_STEREO]) + bytes(1274)
    path = tmp_path / "big.opus"
    write_file(path, [packet] * 100)
    check = ogg_pages(path)
    assert check.clean
    audio = check.pages[2:]
    assert [page.packets for page in audio] == [42, 42, 16]
    assert all(page.segments <= 255 for page in audio)
    assert audio[-1].granule == 100 * FRAME and audio[-1].eos


def test_a_stream_without_audio_still_ends(tmp_path: Path) -> None:
    path = tmp_path / "empty.opus"
    write_file(path, [])
    check = ogg_pages(path)
    assert check.clean
    assert [(page.eos, page.granule, page.segments) for page in check.pages] == [
        (False, 0, 1),
        (False, 0, 1),
        (True, 0, 0),
    ]


def test_packet_duration_comes_from_the_toc() -> None:
    assert packet_samples(bytes([CELT_20MS_STEREO])) == 960
    assert packet_samples(bytes([0xF8 | 1, 0])) == 1920  # two 20 ms frames
    assert packet_samples(bytes([0xF3, 0x03])) == 3 * 480  # code 3, three 10 ms CELT frames
    assert packet_samples(bytes([0x08])) == 960  # SILK 20 ms
    for bad in (b"", bytes([0xFB]), bytes([0xFB, 0]), bytes([0xFB, 7])):
        with pytest.raises(ValueError):
            packet_samples(bad)


def test_misuse_is_refused() -> None:
    writer = OggOpusWriter(io.BytesIO(), serial=1)
    with pytest.raises(ValueError):
        writer.write(b"")
    with pytest.raises(ValueError):
        writer.write(bytes([CELT_20MS_STEREO]) + bytes(255 * 255))
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(ValueError):
        writer.write(bytes([CELT_20MS_STEREO]))
    for kwargs in ({"serial": -1}, {"serial": 1, "channels": 3}, {"serial": 1, "pre_skip": 70_000}):
        with pytest.raises(ValueError):
            OggOpusWriter(io.BytesIO(), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        OggOpusWriter(io.BytesIO(), serial=1, tags={"A=B": "c"})


class FullDisk(io.BytesIO):
    """Takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_full_disk_is_an_output_error(sine_packets: list[bytes]) -> None:
    writer = OggOpusWriter(FullDisk(500), serial=1)
    with pytest.raises(OutputError):
        for packet in sine_packets:
            writer.write(packet)
    with pytest.raises(OutputError):
        writer.write(sine_packets[0])  # broken for good
    with pytest.raises(OutputError):
        writer.close()


def _torn_copy(source: Path, target: Path, keep: int) -> None:
    target.write_bytes(source.read_bytes()[:keep])


def test_seal_cuts_a_torn_page_and_sets_eos(tmp_path: Path, sine_packets: list[bytes]) -> None:
    finished = tmp_path / "finished.opus"
    write_file(finished, sine_packets)
    pages = ogg_pages(finished).pages
    # The writer died mid-way through the last page: two whole audio pages
    # stand, the third is half there.
    size = finished.stat().st_size
    torn = tmp_path / "torn.opus"
    _torn_copy(finished, torn, size - len(pages[-1].body) // 2)

    with open(torn, "r+b") as file:
        report = seal(file)
    assert report is not None and report.changed
    assert report.pages == 4 and report.granule_position == 100 * FRAME
    assert report.dropped_bytes > 0

    check = ogg_pages(torn)
    assert check.clean
    assert [page.eos for page in check.pages] == [False, False, False, True]
    decoded = decode(torn)
    assert decoded.stderr == ""
    assert decoded.samples == 100 * FRAME - OPUS_PRE_SKIP


def test_seal_drops_a_tail_page_whose_crc_fails(tmp_path: Path, sine_packets: list[bytes]) -> None:
    path = tmp_path / "garbled.opus"
    write_file(path, sine_packets)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # inside the last page's body
    path.write_bytes(bytes(data))
    with open(path, "r+b") as file:
        report = seal(file)
    assert report is not None and report.granule_position == 100 * FRAME
    check = ogg_pages(path)
    assert check.clean and check.pages[-1].eos


def test_seal_leaves_a_finished_stream_alone(tmp_path: Path, sine_packets: list[bytes]) -> None:
    path = tmp_path / "done.opus"
    write_file(path, sine_packets)
    before = path.read_bytes()
    with open(path, "r+b") as file:
        report = seal(file)
    assert report is not None and not report.changed and report.dropped_bytes == 0
    assert path.read_bytes() == before


def test_seal_ends_a_stream_of_headers_alone(tmp_path: Path, sine_packets: list[bytes]) -> None:
    path = tmp_path / "headers.opus"
    write_file(path, sine_packets)
    pages = ogg_pages(path).pages
    headers = sum(27 + page.segments + len(page.body) for page in pages[:2])
    _torn_copy(path, path, headers + 100)
    with open(path, "r+b") as file:
        report = seal(file)
    assert report is not None and report.granule_position == 0 and report.pages == 3
    check = ogg_pages(path)
    assert check.clean and check.pages[-1].eos


def test_seal_refuses_a_stream_without_intact_headers(tmp_path: Path) -> None:
    path = tmp_path / "nothing.opus"
    path.write_bytes(b"OggS\x00\x02" + bytes(40))
    with open(path, "r+b") as file:
        assert seal(file) is None
    assert path.read_bytes() == b"OggS\x00\x02" + bytes(40)
