"""The listener opens packets built by discord.py's own voice code, and spots a wrong key."""

from __future__ import annotations

import secrets
import wave
from pathlib import Path
from types import SimpleNamespace

import discord
import numpy as np
import pytest

from radio.sandbox.analysis import missing_sequences, tone_runs
from radio.sandbox.record import FRAME_BYTES, ListenerRecord
from radio.sandbox.rtp import MODE, PacketError, open_packet, seal_packet
from radio.sandbox.voice_udp import Sender, VoiceListener, discovery_reply

from .conftest import ToneMaker

SSRC = 4242


class Directory:
    """One sender, with the key the listener believes it has."""

    def __init__(self, key: bytes, channel_id: int = 7) -> None:
        self.key = key
        self.channel_id = channel_id

    def sender(self, ssrc: int) -> Sender | None:
        if ssrc != SSRC:
            return None
        return Sender(ssrc, self.key, self.channel_id, suppressed=False)


class Ticks:
    """A monotonic clock that advances 20 ms per reading: packets arrive on time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.020
        return self.now


def discord_packets(pcm: bytes, key: bytes) -> list[bytes]:
    """Encode and seal ``pcm`` with discord.py's VoiceClient send path, capturing the packets."""
    sent: list[bytes] = []
    client = object.__new__(discord.VoiceClient)
    client._connection = SimpleNamespace(  # the attributes its packet code reads
        dave_session=None,
        can_encrypt=False,
        ssrc=SSRC,
        mode=MODE,
        secret_key=list(key),
        send_packet=sent.append,
    )
    client.sequence = 65530  # wraps around during the test
    client.timestamp = 0
    client._incr_nonce = 0
    client.encoder = discord.opus.Encoder()
    for start in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES):
        client.send_audio_packet(pcm[start : start + FRAME_BYTES], encode=True)
    return sent


def hear(packets: list[bytes], key: bytes, *, decode: bool = True) -> ListenerRecord:
    record = ListenerRecord()
    listener = VoiceListener(Directory(key), record, Ticks(), decode=decode)
    for packet in packets:
        listener.datagram_received(packet, ("127.0.0.1", 50000))
    return record


def test_packets_from_discord_py_decrypt_and_decode(tones: ToneMaker) -> None:
    key = secrets.token_bytes(32)
    pcm = tones([440.0, 880.0], 0.4).read_bytes()
    packets = discord_packets(pcm, key)
    assert len(packets) == 40

    record = hear(packets, key)

    assert record.auth_failures == 0
    assert record.decode_failures == 0
    heard = record.audio_packets()
    assert [p.sequence for p in heard][:7] == [65531, 65532, 65533, 65534, 65535, 0, 1]
    assert missing_sequences(heard) == []
    assert [p.timestamp for p in heard] == [960 * i for i in range(40)]
    runs = tone_runs(record.pcm())
    assert len(runs) == 2
    assert abs(runs[0].frequency - 440.0) < 1.0
    assert abs(runs[1].frequency - 880.0) < 1.0


def test_wrong_key_is_counted_not_heard(tones: ToneMaker) -> None:
    key = secrets.token_bytes(32)
    packets = discord_packets(tones([440.0], 0.2).read_bytes(), key)

    record = hear(packets, secrets.token_bytes(32))

    assert record.auth_failures == 10
    assert record.audio_packets() == []
    assert [p.decrypted for p in record.packets] == [False] * 10
    with pytest.raises(PacketError):
        open_packet(packets[0], bytes(32))


def test_tampered_header_fails_authentication() -> None:
    key = secrets.token_bytes(32)
    packet = bytearray(seal_packet(1, 960, SSRC, b"\xf8\xff\xfe", key, counter=0))
    packet[5] ^= 0x01  # the timestamp is additional data: it is authenticated too

    record = hear([bytes(packet)], key)

    assert record.auth_failures == 1


def test_arrival_only_mode_records_without_decoding() -> None:
    key = secrets.token_bytes(32)
    packets = [seal_packet(i, 960 * i, SSRC, b"\xf8\xff\xfe", key, counter=i) for i in range(5)]

    record = hear(packets, key, decode=False)

    assert [p.sequence for p in record.packets] == [0, 1, 2, 3, 4]
    assert all(p.decrypted and p.pcm is None for p in record.packets)


def test_ip_discovery_reply_layout() -> None:
    request = bytearray(74)
    request[0:8] = b"\x00\x01\x00\x46" + SSRC.to_bytes(4, "big")

    reply = discovery_reply(bytes(request), ("127.0.0.1", 51234))

    assert len(reply) == 74
    assert reply[0:2] == b"\x00\x02"
    assert reply[2:4] == (70).to_bytes(2, "big")
    assert int.from_bytes(reply[4:8], "big") == SSRC
    assert reply[8 : reply.index(0, 8)] == b"127.0.0.1"
    assert int.from_bytes(reply[-2:], "big") == 51234


def test_pcm_is_placed_on_the_arrival_timeline(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    encoder = discord.opus.Encoder()
    loud = np.full(FRAME_BYTES // 2, 8000, dtype=np.int16).tobytes()
    opus = encoder.encode(loud, 960)
    record = ListenerRecord()
    # 45 ms late (absorbed as jitter), a catch-up burst, then a real 210 ms pause
    arrivals = iter([0.000, 0.021, 0.085, 0.090, 0.300, 0.320])
    listener = VoiceListener(Directory(key), record, lambda: next(arrivals))
    for i in range(6):
        listener.datagram_received(seal_packet(i, 960 * i, SSRC, opus, key, i), ("h", 1))

    pcm = record.pcm()

    # slots 0-3 end to end, then 15 and 16: eleven silent 20 ms slots for the pause
    assert pcm.shape == (17 * 960, 2)
    level = np.abs(pcm.astype(np.int32)).reshape(17, 960, 2).mean(axis=(1, 2))
    assert [bool(v > 1000) for v in level[1:4]] == [True] * 3
    assert [bool(v > 1000) for v in level[5:15]] == [False] * 10
    assert bool(level[15] > 1000) and bool(level[16] > 1000)
    path = record.to_wav(tmp_path / "heard.wav")
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 48000)
        assert wav.getnframes() == 17 * 960


def test_record_limit_forgets_the_oldest_packets() -> None:
    key = secrets.token_bytes(32)
    packets = [seal_packet(i, 960 * i, SSRC, b"\xf8\xff\xfe", key, counter=i) for i in range(30)]
    record = ListenerRecord(limit=8)
    listener = VoiceListener(Directory(key), record, Ticks(), decode=False)
    for packet in packets:
        listener.datagram_received(packet, ("127.0.0.1", 1))

    kept = [p.sequence for p in record.packets]
    assert record.forgotten + len(kept) == 30
    assert 8 <= len(kept) <= 10
    assert kept == list(range(30 - len(kept), 30))
