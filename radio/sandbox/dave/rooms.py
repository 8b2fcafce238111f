"""Every room's DAVE group, the voice WebSocket's side of it, and the listeners' frame gate.

Voice rooms speak DAVE (protocol 1) by default, as on Discord; stage rooms do
not; :meth:`DaveRooms.switch_off` turns it off for a room (before anyone
connects). In a DAVE room a listener member (the world's listener, ``alice``)
joins the group with the first connection, unless ``auto_listener`` is False;
more join and leave with :meth:`DaveRooms.add_listener` and
:meth:`DaveRooms.remove_listener`.
"""

from __future__ import annotations

import json
import logging
import struct
from typing import Any

from aiohttp import web

from radio.sandbox.dave import mls, wire
from radio.sandbox.dave.member import ListenerMember, Replies
from radio.sandbox.dave.room import DaveRoom
from radio.sandbox.state import ChannelType, World

logger = logging.getLogger(__name__)


class SocketLink:
    """A voice WebSocket as a DAVE :class:`~radio.sandbox.dave.wire.Link`; numbers every message."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self.socket = socket
        self.user_id = 0  # known once the connection identifies
        self.seq = 0

    async def send_json(self, op: int, data: Any) -> None:
        """Send ``{"op", "d", "seq"}``; a socket that went away is not an error."""
        if self.socket.closed:
            return
        self.seq += 1
        try:
            await self.socket.send_str(json.dumps({"op": op, "d": data, "seq": self.seq}))
        except ConnectionError:
            logger.debug("voice socket went away while sending op %d", op)

    async def send_binary(self, op: int, body: bytes) -> None:
        """Send ``seq (u16) | op | body`` as a binary frame."""
        if self.socket.closed:
            return
        self.seq += 1
        try:
            await self.socket.send_bytes(struct.pack(">HB", self.seq & 0xFFFF, op) + body)
        except ConnectionError:
            logger.debug("voice socket went away while sending op %d", op)


class DaveRooms:
    """The voice server's DAVE state, room by room."""

    def __init__(self, world: World) -> None:
        self._world = world
        self.rooms: dict[int, DaveRoom] = {}
        self.listeners: dict[int, dict[int, ListenerMember]] = {}  # room -> user -> member
        self.off: set[int] = set()
        self.auto_listener = True
        self.format_errors = 0

    # -- policy ---------------------------------------------------------------

    def required(self, channel_id: int) -> bool:
        """Whether connections to ``channel_id`` must speak DAVE (voice rooms not switched off)."""
        if channel_id in self.off:
            return False
        try:
            channel = self._world.guild_of(channel_id).channels[channel_id]
        except KeyError:
            return False
        return channel.type is ChannelType.VOICE

    def switch_off(self, channel_id: int) -> None:
        """Turn DAVE off for a room: new connections get protocol version 0."""
        self.off.add(channel_id)

    def version_for(self, channel_id: int) -> int:
        """The ``dave_protocol_version`` a new connection to the room is told."""
        room = self.rooms.get(channel_id)
        if room is not None:
            return room.protocol_version
        return wire.PROTOCOL_VERSION if self.required(channel_id) else 0

    def room(self, channel_id: int) -> DaveRoom:
        """The room's group state (made on first use)."""
        room = self.rooms.get(channel_id)
        if room is None:
            room = self.rooms[channel_id] = DaveRoom(channel_id, self.version_for(channel_id))
        return room

    # -- the voice WebSocket --------------------------------------------------

    async def connected(self, user_id: int, channel_id: int, link: SocketLink) -> None:
        """SESSION_DESCRIPTION was sent to a connection of a DAVE room."""
        if not self.required(channel_id) and channel_id not in self.rooms:
            return
        link.user_id = user_id
        await self.room(channel_id).join(link)
        if self.auto_listener and not self.listeners.get(channel_id):
            await self.add_listener(channel_id, self._world.listener.id)

    async def disconnected(self, user_id: int, channel_id: int, link: SocketLink) -> None:
        """A voice WebSocket closed: the member leaves, or is away if still in the room."""
        room = self.rooms.get(channel_id)
        if room is None or room.link_of(user_id) is not link:
            return
        try:
            state = self._world.guild_of(channel_id).voice_states.get(user_id)
        except KeyError:
            state = None
        if state is not None and state.channel_id == channel_id:
            await room.away(user_id)
        else:
            await room.leave(user_id)

    async def client_binary(self, user_id: int, channel_id: int, data: bytes) -> None:
        """A binary frame from a client: op 26 or 28. Malformed MLS is logged and dropped."""
        room = self.rooms.get(channel_id)
        if room is None or not data:
            return
        try:
            if data[0] == wire.KEY_PACKAGE:
                await room.key_package(user_id, data[1:])
            elif data[0] == wire.COMMIT_WELCOME:
                await room.commit_welcome(user_id, data[1:])
        except mls.MlsFormatError as exc:
            self.format_errors += 1
            logger.warning("DAVE op %d from user %d refused: %s", data[0], user_id, exc)

    async def client_json(self, user_id: int, channel_id: int, op: int, data: Any) -> None:
        """Op 23 (ready) or 31 (invalid commit/welcome) from a client."""
        room = self.rooms.get(channel_id)
        if room is None or not isinstance(data, dict):
            return
        transition_id = int(data.get("transition_id", -1))
        if op == wire.TRANSITION_READY:
            await room.transition_ready(user_id, transition_id)
        elif op == wire.INVALID_COMMIT_WELCOME:
            await room.invalid_commit_welcome(user_id, transition_id)

    # -- listeners ------------------------------------------------------------

    async def add_listener(self, channel_id: int, user_id: int) -> ListenerMember:
        """A listening member joins the room's group (its key package follows)."""
        room = self.room(channel_id)
        member = ListenerMember(
            user_id,
            channel_id,
            Replies(
                key_package=room.key_package,
                commit_welcome=room.commit_welcome,
                ready=room.transition_ready,
                invalid=room.invalid_commit_welcome,
            ),
            room.not_yet_added,
        )
        self.listeners.setdefault(channel_id, {})[user_id] = member
        await room.join(member)
        await member.start(room.protocol_version)
        return member

    async def remove_listener(self, channel_id: int, user_id: int) -> None:
        """A listening member leaves the room (the group removes it)."""
        member = self.listeners.get(channel_id, {}).pop(user_id, None)
        if member is None:
            return
        await member.stop()
        await self.room(channel_id).leave(user_id)

    def listener(self, channel_id: int, user_id: int | None = None) -> ListenerMember:
        """A listener member of the room (the first one when ``user_id`` is None)."""
        members = self.listeners[channel_id]
        return next(iter(members.values())) if user_id is None else members[user_id]

    def open_frame(
        self, channel_id: int | None, sender: int | None, sequence: int, payload: bytes
    ) -> tuple[bytes | None, str]:
        """The frame gate (UDP reader's thread): every listener of the room opens the frame.

        Returns the Opus the first listener recovered (None if none could) and
        the first listener's outcome; ``("none")`` outside DAVE rooms.
        """
        members = list(self.listeners.get(channel_id or 0, {}).values())
        if not members or sender is None:
            return payload, "none"
        opened: bytes | None = None
        first = ""
        for member in members:
            plaintext = member.open(sender, sequence, payload)
            if not first:
                first = member.heard[-1].outcome
            if opened is None:
                opened = plaintext
        return opened, first

    async def aclose(self) -> None:
        """Stop every listener member."""
        for members in self.listeners.values():
            for member in list(members.values()):
                await member.stop()
