"""The stage's talk-over on Discord: voice states, SPEAKING and packets in, keys out.

discord.py 2.7 has no voice receive, but it has two hooks this uses, and nothing
private:

- ``VoiceConnectionState(voice_client, hook=...)``: the voice WebSocket calls
  ``hook(ws, message)`` for every JSON message it receives, SPEAKING (op 5,
  ``{user_id, ssrc, speaking}``) included, which it does not dispatch itself.
  :class:`ReceivingVoiceClient` overrides ``VoiceClient.create_connection_state``
  (a public method) to build its state with that hook and keeps the state it made.
- ``VoiceConnectionState.add_socket_listener(callback)`` /
  ``remove_socket_listener``: discord.py's own UDP reader thread calls
  ``callback(datagram)`` for every datagram on the voice socket. It is
  registered once the connection is up (the reader spins on a socket that does
  not exist yet) and stays across discord.py's reconnects (same state object).

The datagrams go to :meth:`radio.live.talkover.TalkOver.packet`, which reads the
clear SSRC and nothing else: no voice is decrypted, decoded or kept (DAVE or
not, the RTP header is in clear). Voice states come from the gateway
(``on_voice_state_update``, the default intents). Nothing of this needs a
permission beyond being in the room; becoming a speaker on a stage needs Mute
Members (see radio.bot.client).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
from discord.ext import commands
from discord.voice_state import VoiceConnectionState

from radio.live.talkover import TalkOver

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.05  # how often talk-spurts are checked for their end
SPEAKING_OP = 5


def receiving_voice_client(talkover: TalkOver) -> type[discord.VoiceClient]:
    """A VoiceClient class whose connections feed ``talkover`` (give it to
    ``channel.connect(cls=...)``; discord.py makes the instance)."""

    class ReceivingVoiceClient(discord.VoiceClient):
        """Hears SPEAKING and the SSRCs of members' packets (module docstring)."""

        def create_connection_state(self) -> VoiceConnectionState:
            self.receive_state = VoiceConnectionState(self, hook=self._on_voice_message)
            return self.receive_state

        async def connect(self, **options: Any) -> None:
            await super().connect(**options)
            talkover.connected()
            self.receive_state.add_socket_listener(talkover.packet)

        def cleanup(self) -> None:
            self.receive_state.remove_socket_listener(talkover.packet)
            super().cleanup()

        async def _on_voice_message(self, ws: object, message: dict[str, Any]) -> None:
            if message.get("op") != SPEAKING_OP:
                return
            data = message.get("d")
            if not isinstance(data, dict):
                return
            try:
                talkover.speaking(int(data["ssrc"]), int(data["user_id"]))
            except (KeyError, TypeError, ValueError):
                logger.debug("SPEAKING without a usable ssrc/user_id: %r", data)

    return ReceivingVoiceClient


class StageMic(commands.Cog):
    """Feeds the station's :class:`TalkOver` from the gateway and keeps time for it.

    ``rooms(guild_id)`` is the broadcast room of a guild (None: not ours).
    ``refresh_every`` seconds the members are judged again (the show on air
    changes at boundaries, roles may change), after ``before_refresh`` (the
    show's depth).
    """

    def __init__(
        self,
        bot: commands.Bot,
        talkover: TalkOver,
        *,
        rooms: Callable[[int], int | None],
        refresh_every: float = 5.0,
        before_refresh: Callable[[], None] = lambda: None,
    ) -> None:
        self.bot = bot
        self._before_refresh = before_refresh
        self.talkover = talkover
        self._rooms = rooms
        self._refresh_every = refresh_every
        self._task: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._clock(), name="stage-mic")
        self._task.add_done_callback(_report)

    async def cog_unload(self) -> None:
        if self._task is not None:
            self._task.cancel()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        for guild in self.bot.guilds:
            room = self._rooms(guild.id)
            channel = guild.get_channel(room) if room is not None else None
            if isinstance(channel, discord.VoiceChannel | discord.StageChannel):
                for member in channel.members:
                    self._judge(member, member.voice)

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        if self.bot.user is not None and member.id == self.bot.user.id:
            return
        self._judge(member, after)

    def _judge(self, member: discord.Member, state: discord.VoiceState | None) -> None:
        room = self._rooms(member.guild.id)
        here = state is not None and state.channel is not None and state.channel.id == room
        stage = bool(here and state is not None and not state.suppress)
        muted = state is None or state.self_mute or state.mute
        self.talkover.voice_state(member.id, stage=stage, muted=bool(muted))

    async def _clock(self) -> None:
        ticks = 0
        every = max(1, round(self._refresh_every / TICK_SECONDS))
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.talkover.tick()
            ticks += 1
            if ticks % every == 0:
                self._before_refresh()
                self.talkover.refresh()


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the stage mic's clock stopped", exc_info=task.exception())


__all__ = ["StageMic", "receiving_voice_client"]
