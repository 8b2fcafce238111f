"""What the listener in the voice room heard: packets, their arrival and the audio.

Every RTP packet that reaches the emulator's UDP port becomes a
:class:`PacketRecord` (arrival instant on the injected monotonic clock, RTP
sequence, timestamp, SSRC, the channel it was sent to, whether it decrypted).
Decoded Opus is kept per packet and laid out on the *arrival* timeline by
:meth:`ListenerRecord.pcm` (with a 60 ms jitter allowance): discord.py advances
RTP timestamps by frames sent, so a pause in sending is only visible in arrival
times.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48_000
CHANNELS = 2
FRAME_SECONDS = 0.020
SAMPLES_PER_FRAME = 960
FRAME_BYTES = SAMPLES_PER_FRAME * CHANNELS * 2
# Lateness absorbed as jitter when laying packets on the arrival timeline.
JITTER_SECONDS = 0.060


@dataclass(frozen=True)
class PacketRecord:
    """One RTP packet as the listener received it."""

    arrival: float  # seconds of the emulator's monotonic clock (the kernel's stamp if any)
    sequence: int
    timestamp: int
    ssrc: int
    channel_id: int | None  # the voice/stage room of the sender at arrival
    suppressed: bool  # the sender was an audience member (not a speaker) on a stage
    size: int  # bytes on the wire
    decrypted: bool
    pcm: bytes | None  # 20 ms of 48 kHz stereo s16le, or None (not decoded/failed)
    # DAVE: "none" outside DAVE rooms, else how the room's first listening member
    # opened it: decrypted, passthrough (plain, allowed), silence, refused, failed
    e2ee: str = "none"
    # the Opus frame as opened (transport, then DAVE), or None when it could not be
    opus: bytes | None = None


@dataclass
class ListenerRecord:
    """The listener's log. Appended by the UDP listener, read by tests and the demo.

    ``limit`` bounds memory for long runs (the demo): past it, the oldest
    packets are forgotten in chunks and counted in ``forgotten``. None keeps
    everything (tests).
    """

    packets: list[PacketRecord] = field(default_factory=list)
    auth_failures: int = 0  # packets whose tag did not verify: a wrong key or tampering
    decode_failures: int = 0
    unknown_ssrc: int = 0
    kernel_stamped: int = 0  # packets whose arrival is the kernel's receive stamp
    limit: int | None = None
    forgotten: int = 0

    def append(self, packet: PacketRecord) -> None:
        """Add one packet, forgetting the oldest quarter when past ``limit``."""
        self.packets.append(packet)
        if self.limit is not None and len(self.packets) > self.limit + self.limit // 4:
            excess = len(self.packets) - self.limit
            del self.packets[:excess]
            self.forgotten += excess

    def clear(self) -> None:
        """Forget everything heard so far."""
        self.packets.clear()
        self.auth_failures = 0
        self.decode_failures = 0
        self.unknown_ssrc = 0
        self.kernel_stamped = 0
        self.forgotten = 0

    def audio_packets(
        self, *, ssrc: int | None = None, channel_id: int | None = None
    ) -> list[PacketRecord]:
        """Return decrypted packets (optionally one sender's or one room's) by arrival."""
        return [
            p
            for p in self.packets
            if p.decrypted
            and (ssrc is None or p.ssrc == ssrc)
            and (channel_id is None or p.channel_id == channel_id)
        ]

    def pcm(
        self, packets: list[PacketRecord] | None = None, *, jitter: float = JITTER_SECONDS
    ) -> npt.NDArray[np.int16]:
        """Return the decoded audio as an (n, 2) int16 array on the arrival timeline.

        Packets are laid end to end, like a listener's jitter buffer would play
        them, until one arrives more than ``jitter`` seconds later than the
        audio so far says it should: the pause becomes silence (in whole 20 ms
        slots) and the timeline is re-anchored on that packet. So scheduling
        jitter of the sender does not punch holes in a tone, while a real pause
        in sending is heard as one. Packets that were not decoded are silent
        slots. (For exact gap sizes use arrival times: analysis.arrival_gaps.)
        """
        chosen = self.audio_packets() if packets is None else packets
        if not chosen:
            return np.zeros((0, CHANNELS), dtype=np.int16)
        anchor_time, anchor_slot = chosen[0].arrival, 0
        slots: list[int] = []
        last = -1
        for packet in chosen:
            slot = last + 1
            due = anchor_time + (slot - anchor_slot) * FRAME_SECONDS
            if packet.arrival - due > jitter:
                slot = anchor_slot + round((packet.arrival - anchor_time) / FRAME_SECONDS)
                anchor_time, anchor_slot = packet.arrival, slot
            slots.append(slot)
            last = slot
        out = np.zeros((last + 1) * SAMPLES_PER_FRAME * CHANNELS, dtype=np.int16)
        for slot, packet in zip(slots, chosen, strict=True):
            if packet.pcm is None:
                continue
            frame = np.frombuffer(packet.pcm, dtype=np.int16)
            begin = slot * SAMPLES_PER_FRAME * CHANNELS
            out[begin : begin + frame.size] = frame[: out.size - begin]
        return out.reshape(-1, CHANNELS)

    def to_wav(self, path: Path, packets: list[PacketRecord] | None = None) -> Path:
        """Write :meth:`pcm` as a 48 kHz stereo 16-bit WAV file for a person to listen to."""
        samples = self.pcm(packets)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(CHANNELS)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(samples.astype("<i2").tobytes())
        return path
