"""The emulated Discord gateway (v10, JSON, uncompressed text frames).

Speaks the opcodes discord.py uses: HELLO, HEARTBEAT/ACK, IDENTIFY (intents
checked: privileged intents not granted close the socket with 4014, and message
content is blanked without the MESSAGE_CONTENT intent), READY + GUILD_CREATE,
PRESENCE_UPDATE (op 3), VOICE_STATE_UPDATE (op 4, answered with
VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE), RESUME (op 6, replaying missed
events) and REQUEST_GUILD_MEMBERS (op 8). Faults: RECONNECT (op 7),
INVALID_SESSION (op 9), closing with a code, delayed or dropped heartbeat ACKs.

Several bot accounts may be connected at once (a station's voices): IDENTIFY
finds the bot by its token, each session is that bot's, presence is per bot,
and an event meant for one user (VOICE_SERVER_UPDATE) goes only to that user's
sessions (:meth:`Gateway.dispatch_to_user`), as Discord does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from radio.clock import Clock
from radio.sandbox.state import (
    INTENT_MESSAGE_CONTENT,
    JSON,
    PRIVILEGED_INTENTS,
    Presence,
    World,
)

logger = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE_STATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11
INTENT_GUILD_MESSAGES = 1 << 9

# Close codes Discord documents for the gateway.
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_INVALID_SEQ = 4007
CLOSE_DISALLOWED_INTENTS = 4014

# Dispatches kept per session for RESUME; older gaps get INVALID_SESSION.
REPLAY_BUFFER = 1000

# Events that carry message content and are blanked without MESSAGE_CONTENT.
_CONTENT_EVENTS = frozenset({"MESSAGE_CREATE", "MESSAGE_UPDATE"})


@dataclass
class GatewayFaults:
    """How the gateway misbehaves on purpose (tests change these)."""

    ack_delay: float = 0.005  # seconds; an instant ACK is unlike Discord
    drop_acks: bool = False
    heartbeat_interval_ms: int = 41_250


@dataclass
class Session:
    """One identified gateway session; survives its socket until invalidated."""

    id: str
    user_id: int
    intents: int
    sequence: int = 0
    sent: deque[JSON] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    socket: web.WebSocketResponse | None = None
    identifies: int = 1
    resumes: int = 0


VoiceStateHandler = Callable[[Session, JSON], Awaitable[None]]


class Gateway:
    """Serves the gateway WebSocket and fans events out to identified sessions."""

    def __init__(self, world: World, clock: Clock, *, allowed_intents: int) -> None:
        self._world = world
        self._clock = clock
        self.allowed_intents = allowed_intents  # privileged intents "enabled in the portal"
        self.faults = GatewayFaults()
        self.sessions: dict[str, Session] = {}
        self.resume_url = ""  # set by the server once it knows its address
        self.on_voice_state: VoiceStateHandler | None = None
        self.heartbeats = 0
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # -- fan-out --------------------------------------------------------------

    async def dispatch(self, event: str, data: JSON) -> None:
        """Send ``event`` to every live session (queued for RESUME if disconnected)."""
        for session in list(self.sessions.values()):
            await self.dispatch_to(session, event, data)

    async def dispatch_to_user(self, user_id: int, event: str, data: JSON) -> None:
        """Send ``event`` to the sessions of ``user_id`` only (a voice server is per user)."""
        for session in list(self.sessions.values()):
            if session.user_id == user_id:
                await self.dispatch_to(session, event, data)

    async def dispatch_to(self, session: Session, event: str, data: JSON) -> None:
        """Send one dispatch to ``session``, filtered by its intents."""
        if event.startswith("MESSAGE_") and not session.intents & INTENT_GUILD_MESSAGES:
            return
        if event in _CONTENT_EVENTS:
            data = self._maybe_blank(session, data)
        session.sequence += 1
        frame = {"op": DISPATCH, "t": event, "s": session.sequence, "d": data}
        session.sent.append(frame)
        await self._send(session.socket, frame)

    def _maybe_blank(self, session: Session, data: JSON) -> JSON:
        # Discord blanks content, embeds, attachments and components unless the
        # intent is granted, the bot wrote the message or is mentioned in it.
        if session.intents & INTENT_MESSAGE_CONTENT:
            return data
        author = str(data.get("author", {}).get("id"))
        if author == str(session.user_id) or f"<@{session.user_id}>" in str(data.get("content")):
            return data
        blank = dict(data)
        blank.update(content="", embeds=[], attachments=[], components=[])
        return blank

    async def _send(self, socket: web.WebSocketResponse | None, frame: JSON) -> None:
        if socket is None or socket.closed:
            return
        try:
            await socket.send_str(json.dumps(frame))
        except ConnectionError:
            logger.debug("gateway socket went away while sending op %s", frame.get("op"))

    # -- faults ---------------------------------------------------------------

    async def send_reconnect(self) -> None:
        """Ask every client to reconnect and resume (op 7)."""
        for session in self.sessions.values():
            await self._send(session.socket, {"op": RECONNECT, "d": None})

    async def invalidate_sessions(self, *, resumable: bool) -> None:
        """Send op 9; a non-resumable invalidation forgets the sessions."""
        for session in list(self.sessions.values()):
            await self._send(session.socket, {"op": INVALID_SESSION, "d": resumable})
            if not resumable:
                del self.sessions[session.id]

    async def close_sockets(self, code: int) -> None:
        """Close every live gateway socket with ``code``."""
        for session in self.sessions.values():
            if session.socket is not None and not session.socket.closed:
                await session.socket.close(code=code, message=b"sandbox fault")

    # -- the socket -----------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for ``GET /gateway?v=10&encoding=json``."""
        socket = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await socket.prepare(request)
        self.connections += 1
        await self._send(
            socket,
            {"op": HELLO, "d": {"heartbeat_interval": self.faults.heartbeat_interval_ms}},
        )
        session: Session | None = None
        try:
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(message.data)
                session = await self._receive(socket, session, payload)
                if session is None and socket.closed:
                    break
        finally:
            if session is not None and session.socket is socket:
                session.socket = None
        return socket

    async def _receive(
        self, socket: web.WebSocketResponse, session: Session | None, payload: JSON
    ) -> Session | None:
        op = payload.get("op")
        data: Any = payload.get("d")
        if op == HEARTBEAT:
            self.heartbeats += 1
            if not self.faults.drop_acks:
                self._later(
                    self.faults.ack_delay, lambda: self._send(socket, {"op": HEARTBEAT_ACK})
                )
            return session
        if op == IDENTIFY:
            return await self._identify(socket, data)
        if op == RESUME:
            return await self._resume(socket, data)
        if session is None:
            await socket.close(code=4003, message=b"Not authenticated.")
            return None
        if op == PRESENCE:
            await self._presence(session, data)
        elif op == VOICE_STATE and self.on_voice_state is not None:
            await self.on_voice_state(session, data)
        elif op == REQUEST_MEMBERS:
            await self._members_chunk(session, data)
        return session

    def _later(self, delay: float, make: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            await make()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _identify(self, socket: web.WebSocketResponse, data: JSON) -> Session | None:
        bot = self._world.bot_with_token(data.get("token"))
        if bot is None:
            await socket.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        refused = intents & PRIVILEGED_INTENTS & ~self.allowed_intents
        if refused:
            logger.info("refusing privileged intents %#x", refused)
            await socket.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return None
        session = Session(id=secrets.token_hex(16), user_id=bot.id, intents=intents)
        session.socket = socket
        self.sessions[session.id] = session
        presence = data.get("presence")
        if presence:
            self._store_presence(bot.id, presence)
        world = self._world
        ready = {
            "v": 10,
            "user": bot.payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(gid), "unavailable": True} for gid in world.guilds],
            "session_id": session.id,
            "resume_gateway_url": self.resume_url,
            # Each bot account is its own application (the first: world.application_id).
            "application": {
                "id": str(world.application_id if bot is world.bot else bot.id),
                "flags": 0,
            },
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
        }
        await self.dispatch_to(session, "READY", ready)
        for guild_id in world.guilds:
            await self.dispatch_to(session, "GUILD_CREATE", self.guild_payload(guild_id))
        return session

    def guild_payload(self, guild_id: int) -> JSON:
        """The GUILD_CREATE payload of one sandbox guild as it is now."""
        return self._world.guilds[guild_id].payload(self._world.presences, self._world.bot.id)

    async def _resume(self, socket: web.WebSocketResponse, data: JSON) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        bot = self._world.bot_with_token(data.get("token"))
        if session is None or bot is None or bot.id != session.user_id:
            await self._send(socket, {"op": INVALID_SESSION, "d": False})
            return None
        seq = int(data.get("seq") or 0)
        oldest = int(session.sent[0]["s"]) if session.sent else session.sequence + 1
        if seq + 1 < oldest:
            # The events after ``seq`` are no longer buffered: start afresh.
            del self.sessions[session.id]
            await self._send(socket, {"op": INVALID_SESSION, "d": False})
            return None
        old = session.socket
        session.socket = socket
        session.resumes += 1
        if old is not None and old is not socket and not old.closed:
            await old.close(code=4000, message=b"resumed elsewhere")
        for frame in session.sent:
            if int(frame["s"]) > seq:
                await self._send(socket, frame)
        await self.dispatch_to(session, "RESUMED", {})
        return session

    def _store_presence(self, user_id: int, data: JSON) -> None:
        activities = data.get("activities")
        if activities is None:
            game = data.get("game")
            activities = [game] if game else []
        self._world.presences[user_id] = Presence(
            status=str(data.get("status") or "online"), activities=list(activities)
        )

    async def _presence(self, session: Session, data: JSON) -> None:
        self._store_presence(session.user_id, data)
        presence = self._world.presences[session.user_id]
        for guild_id in self._world.guilds:
            await self.dispatch(
                "PRESENCE_UPDATE",
                {
                    "user": {"id": str(session.user_id)},
                    "guild_id": str(guild_id),
                    "status": presence.status,
                    "activities": presence.activities,
                    "client_status": {"desktop": presence.status},
                },
            )

    async def _members_chunk(self, session: Session, data: JSON) -> None:
        guild = self._world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        await self.dispatch_to(
            session,
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(guild.id),
                "members": [m.payload() for m in guild.members.values()],
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": data.get("nonce"),
            },
        )

    async def aclose(self) -> None:
        """Close every socket and cancel pending ACKs."""
        for task in list(self._tasks):
            task.cancel()
        await self.close_sockets(1001)
