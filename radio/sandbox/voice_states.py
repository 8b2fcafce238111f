"""Who is in which voice room, and the gateway events that say so.

Handles op 4 (join, move, leave) like Discord: a join or move updates the voice
state, closes the old voice WebSocket first on a move (code 4014), then sends
VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE with a fresh token; joining a stage
room makes the user an audience member (suppressed) until it becomes a speaker
through ``PATCH /guilds/{id}/voice-states/@me``. An op 4 for the room the
user is already in only re-announces the voice state, unless the user has no
live voice WebSocket (it crashed or was closed): then a VOICE_SERVER_UPDATE
comes first, then the VOICE_STATE_UPDATE, as when rejoining.

One voice room per user per guild, as Discord has it: the voice state is
keyed by user in each guild, so a bot's op 4 naming another room of the same
guild moves it (its old connection is closed first); several bots of one
guild each hold their own room, and each is told only its own voice server.
"""

from __future__ import annotations

import logging

from radio.clock import Clock
from radio.sandbox.gateway import Gateway, Session
from radio.sandbox.state import JSON, ChannelType, VoiceState, World, iso
from radio.sandbox.voice_ws import CLOSE_DISCONNECTED, VoiceServer

logger = logging.getLogger(__name__)


class VoiceStates:
    """Owns the voice states of the guild and announces their changes."""

    def __init__(self, world: World, gateway: Gateway, voice: VoiceServer, clock: Clock) -> None:
        self._world = world
        self._gateway = gateway
        self._voice = voice
        self._clock = clock
        gateway.on_voice_state = self.on_gateway_op4

    async def on_gateway_op4(self, session: Session, data: JSON) -> None:
        """Apply an op 4 VOICE_STATE_UPDATE sent by ``session``'s user."""
        guild = self._world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            logger.warning("op 4 names guild %s which the bot is not in", data.get("guild_id"))
            return
        user_id = session.user_id
        raw_channel = data.get("channel_id")
        channel_id = None if raw_channel is None else int(raw_channel)
        state = guild.voice_states.get(user_id)
        previous = None if state is None else state.channel_id
        if state is None:
            state = guild.voice_states[user_id] = VoiceState(user_id, None, session.id)
        state.session_id = session.id
        state.self_mute = bool(data.get("self_mute"))
        state.self_deaf = bool(data.get("self_deaf"))
        if channel_id is None:
            state.channel_id = None
            state.suppress = False
            self._voice.forget(user_id, guild.id)
            await self.announce(user_id, guild.id)
            return
        channel = guild.channels.get(channel_id)
        if channel is None or channel.type not in (ChannelType.VOICE, ChannelType.STAGE):
            logger.warning("op 4 names channel %s which is not a voice or stage room", channel_id)
            return
        if previous == channel_id:
            if self._voice.is_live(user_id, guild.id):
                # A mute/deafen change: the voice connection stays as it is.
                await self.announce(user_id, guild.id)
                return
            # Rejoining the same room with no live voice connection (after a
            # voice server crash, say): Discord hands out a voice server again.
            await self._send_server_update(user_id, guild.id, channel_id, session.id)
            await self.announce(user_id, guild.id)
            return
        if previous is not None:
            # Discord drops the old voice connection before pointing at the new server.
            await self._voice.close(user_id, CLOSE_DISCONNECTED, guild.id)
        state.channel_id = channel_id
        state.suppress = channel.type is ChannelType.STAGE
        state.request_to_speak_timestamp = None
        await self.announce(user_id, guild.id)
        await self._send_server_update(user_id, guild.id, channel_id, session.id)

    async def _send_server_update(
        self, user_id: int, guild_id: int, channel_id: int, session_id: str
    ) -> None:
        token = self._voice.assign(user_id, guild_id, channel_id, session_id)
        # Only the user who asked is told its voice server: another bot of the
        # guild must not take this token for its own connection.
        await self._gateway.dispatch_to_user(
            user_id,
            "VOICE_SERVER_UPDATE",
            {"token": token, "guild_id": str(guild_id), "endpoint": self._voice.endpoint},
        )

    async def kick(self, user_id: int, guild_id: int | None = None) -> None:
        """Disconnect ``user_id`` from voice as a moderator would (close 4014, then state).

        ``guild_id`` defaults to the first guild.
        """
        guild = self._world.guild if guild_id is None else self._world.guilds[guild_id]
        state = guild.voice_states.get(user_id)
        if state is None or state.channel_id is None:
            return
        state.channel_id = None
        state.suppress = False
        await self._voice.close(user_id, CLOSE_DISCONNECTED, guild.id)
        self._voice.forget(user_id, guild.id)
        # Then the gateway says so. discord.py races the two: when this state
        # update is handled before the close, it sees a plain disconnect.
        await self.announce(user_id, guild.id)

    async def set_stage_flags(
        self,
        user_id: int,
        guild_id: int,
        *,
        suppress: bool | None,
        request_to_speak: bool | None,
    ) -> None:
        """Apply ``PATCH voice-states/@me``: become a speaker, or raise a hand.

        Raises LookupError if the user is in no voice room of that guild.
        """
        guild = self._world.guilds.get(guild_id)
        state = None if guild is None else guild.voice_states.get(user_id)
        if state is None or state.channel_id is None:
            raise LookupError("not in a voice channel")
        if suppress is not None:
            state.suppress = suppress
        if request_to_speak is not None:
            state.request_to_speak_timestamp = iso(self._clock.now()) if request_to_speak else None
        await self.announce(user_id, guild_id)

    async def announce(self, user_id: int, guild_id: int) -> None:
        """Dispatch VOICE_STATE_UPDATE for ``user_id`` in ``guild_id``."""
        guild = self._world.guilds[guild_id]
        state = guild.voice_states[user_id]
        await self._gateway.dispatch(
            "VOICE_STATE_UPDATE", state.payload(guild.id, guild.members[user_id])
        )
