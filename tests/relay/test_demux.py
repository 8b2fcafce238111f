"""The relay's Ogg/Opus demuxer on streams our writer makes (and libogg accepts): chained
titles, any chunking, garbage, torn and lost pages, other codecs, replayed bursts."""

from __future__ import annotations

import io
import struct

import pytest
from outputs.conftest import encode, tone_pcm

from radio.outputs.oggopus import OggOpusWriter, ogg_crc, read_opus_tags
from radio.relay.demux import ChainStarted, OggOpusDemuxer


@pytest.fixture(scope="module")
def packets() -> list[bytes]:
    """Two seconds of the station's own packets (100 of them)."""
    return encode(tone_pcm(2.0, 440.0))


def chain(packets: list[bytes], serial: int, title: str, *, page_samples: int = 9600) -> bytes:
    out = io.BytesIO()
    writer = OggOpusWriter(
        out, serial=serial, tags={"TITLE": title, "ARTIST": "Someone"}, page_samples=page_samples
    )
    for packet in packets:
        writer.write(packet)
    writer.close()
    return out.getvalue()


def items_of(demuxer: OggOpusDemuxer, data: bytes, chunk: int) -> list[ChainStarted | bytes]:
    items: list[ChainStarted | bytes] = []
    for start in range(0, len(data), chunk):
        items += demuxer.feed(data[start : start + chunk])
    return items


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_chains_come_out_as_titles_then_their_packets_whatever_the_chunking(
    packets: list[bytes], chunk: int
) -> None:
    data = chain(packets[:60], 1, "First") + chain(packets[60:], 2, "Second")
    demuxer = OggOpusDemuxer()
    items = items_of(demuxer, data, chunk)
    assert items == [
        ChainStarted(1, {"TITLE": "First", "ARTIST": "Someone"}),
        *packets[:60],
        ChainStarted(2, {"TITLE": "Second", "ARTIST": "Someone"}),
        *packets[60:],
    ]
    assert items[0].title == "First" and items[0].artist == "Someone"  # type: ignore[union-attr]
    assert demuxer.stats.garbled_bytes == 0 and demuxer.stats.dropped_packets == 0


def test_garbage_and_a_corrupted_page_are_skipped_never_passed_on(packets: list[bytes]) -> None:
    data = bytearray(chain(packets, 7, "Tone"))
    pages = [i for i in range(len(data)) if data[i : i + 4] == b"OggS"]
    # Flip a byte in the body of the fourth page (the second of audio): its CRC fails.
    data[pages[3] + 40] ^= 0xFF
    noise = b"OggS\x00garbage" + bytes(range(256)) * 3
    demuxer = OggOpusDemuxer()
    items = items_of(demuxer, noise + bytes(data), 333)
    assert isinstance(items[0], ChainStarted)
    audio = [item for item in items if isinstance(item, bytes)]
    per_page = 10  # 200 ms pages
    assert audio == packets[:per_page] + packets[2 * per_page :]
    assert demuxer.stats.garbled_bytes > len(noise)


def test_a_packet_continued_from_a_lost_page_is_dropped(packets: list[bytes]) -> None:
    big = packets[0] * 2 + packets[0][:100]  # not an Opus frame, only to span pages
    assert len(big) > 255
    serial = 9
    empty = chain([], serial, "T")
    head = empty[: empty.rindex(b"OggS")]  # the two header pages, without the empty EOS page
    # A page that ends inside a packet (lacing 255), lost; then a page continuing it.
    continued = _page(0x01, 960, serial, 3, [big[255:]])
    whole = _page(0, 1920, serial, 4, [packets[1]])
    demuxer = OggOpusDemuxer()
    items = demuxer.feed(head + continued + whole)
    assert items[1:] == [packets[1]]
    assert demuxer.stats.dropped_packets == 1


def _page(flags: int, granule: int, serial: int, seq: int, body: list[bytes]) -> bytes:
    lacing = bytearray()
    for packet in body:
        lacing += b"\xff" * (len(packet) // 255)
        lacing.append(len(packet) % 255)
    page = bytearray(
        struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, seq, 0, len(lacing))
    )
    page += lacing + b"".join(body)
    struct.pack_into("<I", page, 22, ogg_crc(page))
    return bytes(page)


def test_a_stream_that_is_not_opus_is_ignored(packets: list[bytes]) -> None:
    vorbis = _page(0x02, 0, 5, 0, [b"\x01vorbis" + bytes(23)]) + _page(0, 0, 5, 1, [b"x" * 50])
    demuxer = OggOpusDemuxer()
    items = demuxer.feed(vorbis + chain(packets[:10], 6, "Opus"))
    assert items[1:] == packets[:10] and isinstance(items[0], ChainStarted)
    assert demuxer.stats.other_streams == 1


def test_packets_that_are_not_20_ms_are_dropped(packets: list[bytes]) -> None:
    forty_ms = bytes([packets[0][0] | 0x01]) + packets[0][1:]  # code 1: two frames in one packet
    demuxer = OggOpusDemuxer()
    items = demuxer.feed(chain([packets[0], forty_ms, packets[1]], 3, "T"))
    assert items[1:] == [packets[0], packets[1]]
    assert demuxer.stats.dropped_packets == 1


def test_a_new_connection_skips_the_pages_already_relayed(packets: list[bytes]) -> None:
    data = chain(packets, 4, "Tone")
    first = OggOpusDemuxer()
    cut = len(data) // 2
    got = [item for item in first.feed(data[:cut]) if isinstance(item, bytes)]
    assert first.position is not None and first.position[0] == 4
    # Icecast's burst to the next connection: the headers, then pages from earlier on.
    headers_end = data.index(b"OggS", data.index(b"OpusTags"))
    replay_from = data.index(b"OggS", headers_end + 1)
    second = OggOpusDemuxer(after=first.position)
    more = second.feed(data[:headers_end] + data[replay_from:])
    assert isinstance(more[0], ChainStarted)
    assert got + [item for item in more if isinstance(item, bytes)] == packets
    assert second.stats.replayed_pages >= 1


def test_comment_headers_are_read_defensively() -> None:
    assert read_opus_tags(
        b"OpusTags"
        + struct.pack("<I", 0)
        + struct.pack("<I", 1)
        + struct.pack("<I", 7)
        + b"title=X"
    ) == {"TITLE": "X"}
    with pytest.raises(ValueError):
        read_opus_tags(b"OpusTags" + struct.pack("<I", 0) + struct.pack("<I", 5))
    with pytest.raises(ValueError):
        read_opus_tags(
            b"OpusTags" + struct.pack("<I", 0) + struct.pack("<I", 1) + struct.pack("<I", 99)
        )
