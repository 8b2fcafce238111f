"""Members on the stage who talk: what Discord relays of them to the bot.

Discord mixes voices in each listener's client: a member who speaks on a stage
(or in a voice room) sends RTP to the voice server, which relays it, re-sealed
with each receiver's own session key, to everyone connected to that room,
self-deafened bots included. Before a member's first packet the receiver gets
SPEAKING (op 5, ``{user_id, ssrc, speaking}``) on its voice WebSocket, which is
how it learns whose SSRC it is. A client stops sending during its silences.

:class:`StageSpeakers` plays such members: :meth:`enter` puts a person of the
world on a stage room (as a speaker, ``suppress`` false, or in the audience),
:meth:`mute` sets their ``self_mute`` (each change is a VOICE_STATE_UPDATE on
the gateway, as Discord sends it), :meth:`talk` sends, to every other live
voice connection of that room, SPEAKING then a stream of sealed packets (a
real Opus voice-like tone, 20 ms each, paced on ``monotonic``) in talk-spurts
with silences between them. Packets leave from the voice server's UDP port, so
a client whose socket is connected to it receives them; they are sealed with
the receiver's negotiated mode (:data:`~radio.sandbox.rtp.MODE`). Stages do not
use DAVE, so no end-to-end layer is added.

SPEAKING is numbered (``seq``) with the voice server's other messages to that
socket, as Discord numbers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from discord.opus import Encoder

from radio.sandbox.rtp import seal_packet
from radio.sandbox.state import ChannelType, VoiceState, World
from radio.sandbox.voice_states import VoiceStates
from radio.sandbox.voice_ws import SPEAKING, VoiceServer

logger = logging.getLogger(__name__)

FRAME_SECONDS = 0.02
SAMPLES_PER_FRAME = 960
MAX_SPURTS = 50
MAX_SPURT_SECONDS = 60.0
FIRST_SPEAKER_SSRC = 900_000  # clear of the voice server's own numbering (1001, ...)
_VOICE_FRAMES = 25  # distinct Opus frames cycled through (half a second of "voice")

SendDatagram = Callable[[int, bytes], bool]  # (receiver's SSRC, datagram) -> sent?


@dataclass(frozen=True, slots=True)
class Spurt:
    """``talk`` seconds of packets, then ``pause`` seconds of none."""

    talk: float
    pause: float = 0.0


@dataclass
class TalkReport:
    """What one :meth:`StageSpeakers.talk` did."""

    user_id: int
    ssrc: int
    packets: int = 0  # datagrams sent (each receiver counts)
    receivers: int = 0  # voice connections that got SPEAKING
    first_packet: float | None = None  # on ``monotonic``, when the first datagram left
    spurt_starts: list[float] = field(default_factory=list)
    spurt_ends: list[float] = field(default_factory=list)  # when each spurt's last packet left
    # When each frame of voice left (one entry per frame, whatever the receivers):
    # on a busy machine the talker itself can fall silent longer than it meant to.
    sent_at: list[float] = field(default_factory=list)


def parse_spurts(raw: object) -> list[Spurt]:
    """Spurts from JSON ``[[talk, pause], ...]``; raises ValueError saying what is wrong."""
    if not isinstance(raw, list) or not raw:
        raise ValueError("spurts must be a non-empty list of [talk, pause] seconds")
    if len(raw) > MAX_SPURTS:
        raise ValueError(f"at most {MAX_SPURTS} spurts")
    spurts: list[Spurt] = []
    for item in raw:
        if not isinstance(item, list | tuple) or len(item) not in (1, 2):
            raise ValueError("each spurt is [talk, pause] in seconds")
        try:
            talk = float(item[0])
            pause = float(item[1]) if len(item) == 2 else 0.0
        except (TypeError, ValueError):
            raise ValueError("each spurt is [talk, pause] in seconds") from None
        for value in (talk, pause):
            if not math.isfinite(value) or not 0 <= value <= MAX_SPURT_SECONDS:
                raise ValueError(f"spurt times are between 0 and {MAX_SPURT_SECONDS:g} s")
        spurts.append(Spurt(talk, pause))
    return spurts


class StageSpeakers:
    """Second members on the stage: enter, mute, talk (see the module docstring).

    ``send`` hands a datagram to the voice server's UDP socket for the client
    that used an SSRC (:meth:`VoiceListener.send_to`); ``monotonic`` paces the
    packets; ``sleep`` waits (``asyncio.sleep``). Runs on the emulator's loop.
    """

    def __init__(
        self,
        world: World,
        voice_states: VoiceStates,
        voice: VoiceServer,
        send: SendDatagram,
        monotonic: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._world = world
        self._voice_states = voice_states
        self._voice = voice
        self._send = send
        self._monotonic = monotonic
        self._sleep = sleep
        self._ssrcs: dict[int, int] = {}  # speaker user id -> SSRC
        self._sequence: dict[int, int] = {}  # speaker SSRC -> next RTP sequence
        self._counters: dict[int, int] = {}  # receiver SSRC -> next nonce counter
        self._tasks: set[asyncio.Task[TalkReport]] = set()
        self._frames: list[bytes] | None = None
        self.reports: list[TalkReport] = []  # every finished talk, oldest first

    # -- voice states -------------------------------------------------------------

    def user_id(self, who: str | int) -> int:
        """The user id of a person's name (``alice``...) or an id; KeyError when unknown."""
        if isinstance(who, int):
            if who not in self._world.guild.members:
                raise KeyError(f"no member {who}")
            return who
        if who.isdigit():
            return self.user_id(int(who))
        person = self._world.people.get(who)
        if person is None:
            raise KeyError(f"no person named {who!r}")
        return person.id

    async def enter(
        self,
        who: str | int,
        channel_id: int | None = None,
        *,
        speaker: bool = True,
        muted: bool = True,
    ) -> int:
        """Put ``who`` on a stage room (default the world's stage), as a speaker
        (``suppress`` false) or in the audience, self-muted or not; return the user id.

        Raises KeyError for an unknown person or room, ValueError when the room is
        not a voice or stage room.
        """
        user_id = self.user_id(who)
        guild = self._world.guild
        room = self._world.stage_channel.id if channel_id is None else channel_id
        channel = guild.channels.get(room)
        if channel is None:
            raise KeyError(f"no room {room}")
        if channel.type not in (ChannelType.VOICE, ChannelType.STAGE):
            raise ValueError(f"room {room} is not a voice or stage room")
        state = guild.voice_states.get(user_id)
        if state is None:
            state = guild.voice_states[user_id] = VoiceState(user_id, None, f"speaker-{user_id}")
        state.channel_id = room
        state.suppress = channel.type is ChannelType.STAGE and not speaker
        state.self_mute = muted
        state.request_to_speak_timestamp = None
        await self._voice_states.announce(user_id, guild.id)
        return user_id

    async def mute(self, who: str | int, muted: bool) -> None:
        """Set ``who``'s self_mute (VOICE_STATE_UPDATE). Raises LookupError when not in a room."""
        state = self._state(who)
        state.self_mute = muted
        await self._voice_states.announce(state.user_id, self._world.guild.id)

    async def leave(self, who: str | int) -> None:
        """Take ``who`` out of voice (VOICE_STATE_UPDATE with no room)."""
        state = self._state(who)
        state.channel_id = None
        state.suppress = False
        await self._voice_states.announce(state.user_id, self._world.guild.id)

    def _state(self, who: str | int) -> VoiceState:
        user_id = self.user_id(who)
        state = self._world.guild.voice_states.get(user_id)
        if state is None or state.channel_id is None:
            raise LookupError(f"member {user_id} is in no voice room")
        return state

    def ssrc_of(self, who: str | int) -> int:
        """The SSRC the voice server gave ``who`` (fixed for the emulator's life)."""
        user_id = self.user_id(who)
        if user_id not in self._ssrcs:
            self._ssrcs[user_id] = FIRST_SPEAKER_SSRC + len(self._ssrcs)
        return self._ssrcs[user_id]

    # -- talking ------------------------------------------------------------------

    def start_talk(self, who: str | int, spurts: Sequence[Spurt]) -> asyncio.Task[TalkReport]:
        """:meth:`talk` in the background; a failure is logged, not lost."""
        task = asyncio.get_running_loop().create_task(self.talk(who, spurts))
        self._tasks.add(task)

        def done(finished: asyncio.Task[TalkReport]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                logger.error("a stage speaker's talk failed", exc_info=finished.exception())

        task.add_done_callback(done)
        return task

    async def talk(self, who: str | int, spurts: Sequence[Spurt]) -> TalkReport:
        """Send ``who``'s voice to the other live connections of their room.

        SPEAKING first, then one sealed packet every 20 ms during each spurt's
        talk and none in its pause (the RTP timestamp still advances over the
        pause, the sequence does not). Receivers are looked up at every packet,
        so one that connects midway hears the rest. Raises LookupError when
        ``who`` is in no room, ValueError when they are muted or suppressed (a
        client sends nothing then).
        """
        state = self._state(who)
        if state.self_mute or state.suppress:
            raise ValueError(f"member {state.user_id} is muted or not a speaker")
        ssrc = self.ssrc_of(state.user_id)
        report = TalkReport(user_id=state.user_id, ssrc=ssrc)
        announced: set[int] = set()
        frames = self._voice_frames()
        timestamp = 0
        due = self._monotonic()
        for spurt in spurts:
            count = round(spurt.talk / FRAME_SECONDS)
            for index in range(count):
                wait = due - self._monotonic()
                if wait > 0:
                    await self._sleep(wait)
                if state.channel_id is None or state.self_mute:
                    return self._finish(report, announced, ssrc)  # they left or muted: silence
                sent = await self._send_packet(
                    state, ssrc, timestamp, frames[index % len(frames)], announced, report
                )
                if sent:
                    report.sent_at.append(self._monotonic())
                if sent and index == 0:
                    report.spurt_starts.append(report.sent_at[-1])
                timestamp += SAMPLES_PER_FRAME
                due += FRAME_SECONDS
            if count:
                report.spurt_ends.append(self._monotonic())
            gap = round(spurt.pause / FRAME_SECONDS)
            timestamp += gap * SAMPLES_PER_FRAME
            due += gap * FRAME_SECONDS
        return self._finish(report, announced, ssrc)

    def _finish(self, report: TalkReport, announced: set[int], ssrc: int) -> TalkReport:
        report.receivers = len(announced)
        self.reports.append(report)
        return report

    async def _send_packet(
        self,
        state: VoiceState,
        ssrc: int,
        timestamp: int,
        opus: bytes,
        announced: set[int],
        report: TalkReport,
    ) -> bool:
        sequence = self._sequence.get(ssrc, 0)
        self._sequence[ssrc] = (sequence + 1) & 0xFFFF
        sent = False
        for session in self._voice.connections():
            if (
                session.user_id == state.user_id
                or session.channel_id != state.channel_id
                or session.guild_id != self._world.guild.id
                or not session.secret_key
                or not self._voice.is_live(session.user_id, session.guild_id)
            ):
                continue
            if session.ssrc not in announced:
                announced.add(session.ssrc)
                speaking = {"user_id": str(state.user_id), "ssrc": ssrc, "speaking": 1}
                await self._voice.send_to(session, SPEAKING, speaking)
            counter = self._counters.get(session.ssrc, 0)
            self._counters[session.ssrc] = (counter + 1) & 0xFFFFFFFF
            packet = seal_packet(
                sequence, timestamp & 0xFFFFFFFF, ssrc, opus, session.secret_key, counter
            )
            if self._send(session.ssrc, packet):
                sent = True
                report.packets += 1
                if report.first_packet is None:
                    report.first_packet = self._monotonic()
        return sent

    def _voice_frames(self) -> list[bytes]:
        # A voice-like tone (180 Hz with harmonics, a syllable-rate tremolo),
        # encoded once: receivers never need more than real Opus frames.
        if self._frames is None:
            encoder = Encoder(application="voip", fec=False)
            n = np.arange(_VOICE_FRAMES * SAMPLES_PER_FRAME) / 48_000
            wave = sum(np.sin(2 * np.pi * 180 * k * n) / k for k in (1, 2, 3))
            wave *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * n)
            pcm = np.repeat((wave * 6000).astype(np.int16).reshape(-1, 1), 2, axis=1)
            self._frames = [
                encoder.encode(pcm[i * 960 : (i + 1) * 960].tobytes(), SAMPLES_PER_FRAME)
                for i in range(_VOICE_FRAMES)
            ]
        return self._frames

    async def aclose(self) -> None:
        """Stop every talk in progress."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # a failure was logged by start_talk's callback


__all__ = ["Spurt", "StageSpeakers", "TalkReport", "parse_spurts"]
