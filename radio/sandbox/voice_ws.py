"""The emulated voice WebSocket (gateway v8), served over TLS.

Handshake, as Discord runs it: HELLO on connect; IDENTIFY (server, user,
session, token checked against the last VOICE_SERVER_UPDATE) → READY with a
fresh SSRC, the UDP address and the encryption modes; the client discovers its
address over UDP and sends SELECT_PROTOCOL → SESSION_DESCRIPTION with the mode,
a fresh 32-byte key and the room's ``dave_protocol_version`` (1 in voice rooms,
0 on stages; the DAVE opcodes 21-31 are :mod:`radio.sandbox.dave`'s; a client
that cannot speak DAVE in a room that requires it is closed with 4017). HEARTBEAT
``{t, seq_ack}`` is answered with HEARTBEAT_ACK ``{t}`` a few milliseconds
later (an instant ACK trips discord.py's heartbeat thread). RESUME keeps the
SSRC and key. Every server message carries ``seq``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from radio.sandbox.dave import wire as dave_wire
from radio.sandbox.dave.rooms import DaveRooms, SocketLink
from radio.sandbox.rtp import MODE
from radio.sandbox.state import JSON, World
from radio.sandbox.voice_udp import Sender

logger = logging.getLogger(__name__)

IDENTIFY, SELECT_PROTOCOL, READY, HEARTBEAT, SESSION_DESCRIPTION, SPEAKING = 0, 1, 2, 3, 4, 5
HEARTBEAT_ACK, RESUME, HELLO, RESUMED = 6, 7, 8, 9

CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_SESSION_INVALID = 4006
CLOSE_DISCONNECTED = 4014
CLOSE_SERVER_CRASHED = 4015
CLOSE_UNKNOWN_MODE = 4016

# Discord offers both; discord.py 2.7.1 only speaks the second.
OFFERED_MODES = ["aead_aes256_gcm_rtpsize", MODE]


@dataclass
class VoiceFaults:
    """How the voice server misbehaves on purpose (tests change these)."""

    ack_delay: float = 0.005
    drop_acks: bool = False
    heartbeat_interval_ms: float = 13_750.0


@dataclass
class VoiceSession:
    """One voice connection of one user: its credentials, SSRC and key."""

    user_id: int
    guild_id: int
    session_id: str
    token: str
    channel_id: int  # the room this voice server was handed out for
    ssrc: int = 0
    secret_key: bytes = b""
    mode: str = ""
    socket: web.WebSocketResponse | None = None
    speaking: int = 0
    seq: int = 0
    events: list[str] = field(default_factory=list)  # identify / resume / select_protocol


class VoiceServer:
    """Serves voice WebSockets and tells the UDP listener who owns which SSRC."""

    def __init__(
        self, world: World, udp_port: Callable[[], int], nudge: Callable[[int], bool]
    ) -> None:
        self._world = world
        self._udp_port = udp_port
        self._nudge = nudge  # wakes a client's old UDP socket (see VoiceListener.nudge)
        self.faults = VoiceFaults()
        self.endpoint = ""  # "127.0.0.1:port", set by the server once bound
        self._current: dict[tuple[int, int], VoiceSession] = {}  # (user, guild) -> latest
        self._by_ssrc: dict[int, VoiceSession] = {}  # every SSRC ever handed out
        self._next_ssrc = 1000
        self._tasks: set[asyncio.Task[None]] = set()
        self.history: list[tuple[int, str]] = []  # (user id, event) in order, every guild
        self.dave = DaveRooms(world)
        self._links: dict[int, SocketLink] = {}  # id(socket) -> its DAVE link

    # -- called by the gateway ------------------------------------------------

    def assign(self, user_id: int, guild_id: int, channel_id: int, session_id: str) -> str:
        """Issue a new voice token for ``user_id`` in a room (a server update follows)."""
        token = secrets.token_hex(8)
        previous = self._current.get((user_id, guild_id))
        session = VoiceSession(
            user_id=user_id,
            guild_id=guild_id,
            session_id=session_id,
            token=token,
            channel_id=channel_id,
        )
        if previous is not None:
            session.ssrc, session.secret_key, session.mode = (
                previous.ssrc,
                previous.secret_key,
                previous.mode,
            )
        self._current[(user_id, guild_id)] = session
        return token

    def session_of(self, user_id: int, guild_id: int) -> VoiceSession | None:
        """Return the latest voice session of ``user_id`` in ``guild_id``."""
        return self._current.get((user_id, guild_id))

    async def close(self, user_id: int | None, code: int, guild_id: int | None = None) -> int:
        """Close live voice sockets with ``code``; return how many.

        ``user_id`` None means everyone's, ``guild_id`` None every guild's.
        """
        closed = 0
        for session in list(self._current.values()):
            if user_id is not None and session.user_id != user_id:
                continue
            if guild_id is not None and session.guild_id != guild_id:
                continue
            socket = session.socket
            if socket is not None and not socket.closed:
                await socket.close(code=code, message=b"sandbox")
                closed += 1
        return closed

    async def send_to(self, session: VoiceSession, op: int, data: Any) -> bool:
        """Send ``{op, d, seq}`` on ``session``'s live socket, numbered with the
        server's own messages to it (SPEAKING of other members: radio.sandbox.speakers).
        Returns False when the socket is gone."""
        socket = session.socket
        link = None if socket is None else self._links.get(id(socket))
        if link is None or socket is None or socket.closed:
            return False
        await link.send_json(op, data)
        return True

    def connections(self) -> list[VoiceSession]:
        """The latest voice session of every user in every guild."""
        return list(self._current.values())

    def is_live(self, user_id: int, guild_id: int) -> bool:
        """Whether ``user_id`` has an open voice WebSocket in ``guild_id``."""
        session = self._current.get((user_id, guild_id))
        return session is not None and session.socket is not None and not session.socket.closed

    def forget(self, user_id: int, guild_id: int) -> None:
        """The user left voice in ``guild_id``: its token is no longer valid."""
        self._current.pop((user_id, guild_id), None)

    # -- SenderDirectory ------------------------------------------------------

    def sender(self, ssrc: int) -> Sender | None:
        """Return the key and room of the connection that was given ``ssrc``.

        The room is the one the connection was made for (packets still in
        flight after a move belong to the old room); ``suppressed`` is the
        user's current stage state while it is still in that room.
        """
        session = self._by_ssrc.get(ssrc)
        if session is None:
            return None
        state = self._world.guilds[session.guild_id].voice_states.get(session.user_id)
        here = state is not None and state.channel_id == session.channel_id
        return Sender(
            ssrc=ssrc,
            secret_key=session.secret_key,
            channel_id=session.channel_id,
            suppressed=bool(here and state is not None and state.suppress),
            user_id=session.user_id,
        )

    # -- the socket -----------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for ``GET /?v=8`` on the TLS port."""
        socket = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await socket.prepare(request)
        link = SocketLink(socket)  # numbers JSON and binary (DAVE) messages alike
        send = link.send_json
        self._links[id(socket)] = link

        await send(HELLO, {"heartbeat_interval": self.faults.heartbeat_interval_ms, "v": 8})
        session: VoiceSession | None = None
        async for message in socket:
            if message.type is WSMsgType.BINARY and session is not None:
                await self.dave.client_binary(session.user_id, session.channel_id, message.data)
                continue
            if message.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            if session is not None and payload.get("op") in (
                dave_wire.TRANSITION_READY,
                dave_wire.INVALID_COMMIT_WELCOME,
            ):
                await self.dave.client_json(
                    session.user_id, session.channel_id, payload["op"], payload.get("d")
                )
                continue
            session = await self._receive(socket, session, payload, send)
        if session is not None:
            await self.dave.disconnected(session.user_id, session.channel_id, link)
        self._links.pop(id(socket), None)
        return socket

    async def _receive(
        self,
        socket: web.WebSocketResponse,
        session: VoiceSession | None,
        payload: JSON,
        send: Callable[[int, Any], Awaitable[None]],
    ) -> VoiceSession | None:
        op = payload.get("op")
        data: Any = payload.get("d") or {}
        if op == HEARTBEAT:
            if not self.faults.drop_acks:
                nonce = data.get("t") if isinstance(data, dict) else data
                self._later(self.faults.ack_delay, lambda: send(HEARTBEAT_ACK, {"t": nonce}))
            return session
        if op == IDENTIFY:
            return await self._identify(socket, data, send)
        if op == RESUME:
            return await self._resume(socket, data, send)
        if session is None:
            await socket.close(code=4003, message=b"Not authenticated.")
            return None
        if op == SELECT_PROTOCOL:
            mode = str(data.get("data", {}).get("mode"))
            if mode != MODE:
                await socket.close(code=CLOSE_UNKNOWN_MODE, message=b"Unknown encryption mode.")
                return session
            session.mode = mode
            session.secret_key = secrets.token_bytes(32)
            self._record(session, "select_protocol")
            await send(
                SESSION_DESCRIPTION,
                {
                    "mode": mode,
                    "secret_key": list(session.secret_key),
                    "dave_protocol_version": self.dave.version_for(session.channel_id),
                    "audio_codec": "opus",
                    "media_session_id": secrets.token_hex(8),
                },
            )
            link = self._links.get(id(socket))
            if link is not None:
                await self.dave.connected(session.user_id, session.channel_id, link)
        elif op == SPEAKING:
            session.speaking = int(data.get("speaking", 0))
        return session

    def _matching(self, data: JSON) -> VoiceSession | None:
        # RESUME carries no user id: find the session by its token.
        session = next((s for s in self._current.values() if s.token == data.get("token")), None)
        if (
            session is None
            or data.get("session_id") != session.session_id
            or str(data.get("server_id")) != str(session.guild_id)
            or ("user_id" in data and str(data["user_id"]) != str(session.user_id))
        ):
            return None
        return session

    async def _identify(
        self,
        socket: web.WebSocketResponse,
        data: JSON,
        send: Callable[[int, Any], Awaitable[None]],
    ) -> VoiceSession | None:
        session = self._matching(data)
        if session is None:
            await socket.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return None
        if self.dave.required(session.channel_id) and not _speaks_dave(data):
            await socket.close(
                code=dave_wire.CLOSE_E2EE_REQUIRED, message=b"E2EE/DAVE protocol required."
            )
            return None
        session.socket = socket
        if session.ssrc:
            self._nudge(session.ssrc)
        self._next_ssrc += 1
        session.ssrc = self._next_ssrc
        session.secret_key = b""
        self._by_ssrc[session.ssrc] = session
        self._record(session, "identify")
        await send(
            READY,
            {
                "ssrc": session.ssrc,
                "ip": "127.0.0.1",
                "port": self._udp_port(),
                "modes": OFFERED_MODES,
                "heartbeat_interval": 1,  # Discord sends a meaningless value here too
            },
        )
        return session

    async def _resume(
        self,
        socket: web.WebSocketResponse,
        data: JSON,
        send: Callable[[int, Any], Awaitable[None]],
    ) -> VoiceSession | None:
        session = self._matching(data)
        if session is None or not session.secret_key:
            await socket.close(code=CLOSE_SESSION_INVALID, message=b"Session no longer valid.")
            return None
        session.socket = socket
        self._record(session, "resume")
        await send(RESUMED, None)
        return session

    def _record(self, session: VoiceSession, event: str) -> None:
        session.events.append(event)
        self.history.append((session.user_id, event))

    def _later(self, delay: float, make: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            await make()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Close every voice socket and cancel pending ACKs."""
        for task in list(self._tasks):
            task.cancel()
        await self.close(None, 1001)
        await self.dave.aclose()


def _speaks_dave(identify: JSON) -> bool:
    try:
        return int(identify.get("max_dave_protocol_version") or 0) >= dave_wire.PROTOCOL_VERSION
    except (TypeError, ValueError):
        return False
