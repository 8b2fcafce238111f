"""The control API: how a test or the demo acts on and inspects the emulator over HTTP.

Mounted under ``/control`` on the emulator's HTTP port (loopback only). JSON in,
JSON out. People are named ``alice`` (listener), ``bob`` (DJ), ``carol`` (admin).

- ``GET  /control/world``            ids of the guild, rooms, people and bot
- ``POST /control/messages``         ``{author, content, channel_id?}`` → a member posts
- ``GET  /control/messages``         ``?channel_id=`` → every message, oldest first
- ``POST /control/interactions``     ``{author, name, options?}`` → a member runs /name
- ``GET  /control/interactions/{id}`` how the bot answered
- ``GET  /control/state``            ``?guild_id=`` presence, voice states, room
                                     status/topic, stage instances, scheduled events
- ``GET  /control/listener``         packet log summary; ``/control/listener.wav`` audio
- ``POST /control/listener/clear``
- ``POST /control/faults/gateway``   ``{action: close|reconnect|invalid_session, code?,
                                     resumable?}`` or ``{ack_delay?, drop_acks?}``
- ``POST /control/faults/voice``     ``{action: close, code}``, ``{action: kick}`` (a
                                     moderator disconnects the bot) or
                                     ``{ack_delay?, drop_acks?}``
- ``POST /control/faults/udp``       ``{answering: bool}``
- ``POST /control/speakers``         a second member on the stage (radio.sandbox.speakers):
                                     ``{name, action: enter, channel_id?, speaker?, muted?}``,
                                     ``{name, action: mute|unmute|leave}``,
                                     ``{name, action: talk, spurts: [[talk_s, pause_s], ...]}``
                                     (talk unmutes first; answered at once, 202, the voice
                                     runs in the background)
- ``GET  /control/speakers``         every finished talk: user, SSRC, packets, spurt times
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from radio.sandbox.rest import json_response
from radio.sandbox.speakers import parse_spurts
from radio.sandbox.state import JSON

if TYPE_CHECKING:
    from radio.sandbox.server import Emulator

logger = logging.getLogger(__name__)


class Control:
    """Builds the control sub-application for one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator

    def app(self) -> web.Application:
        """Return the aiohttp sub-application."""
        app = web.Application()
        app.add_routes(
            [
                web.get("/world", self._world),
                web.post("/messages", self._post_message),
                web.get("/messages", self._messages),
                web.post("/interactions", self._post_interaction),
                web.get("/interactions/{iid}", self._interaction),
                web.get("/state", self._state),
                web.get("/listener", self._listener),
                web.get("/listener.wav", self._listener_wav),
                web.post("/listener/clear", self._clear),
                web.post("/faults/gateway", self._gateway_fault),
                web.post("/faults/voice", self._voice_fault),
                web.post("/faults/udp", self._udp_fault),
                web.post("/speakers", self._speaker),
                web.get("/speakers", self._speaker_reports),
            ]
        )
        return app

    async def _json(self, request: web.Request) -> JSON:
        try:
            data = await request.json()
        except json.JSONDecodeError as exc:
            raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return data

    async def _world(self, request: web.Request) -> web.Response:
        world = self._emulator.world
        return json_response(
            {
                "guild_id": str(world.guild.id),
                "bot_id": str(world.bot.id),
                "application_id": str(world.application_id),
                "text_channel_id": str(world.text_channel.id),
                "voice_channel_id": str(world.voice_channel.id),
                "stage_channel_id": str(world.stage_channel.id),
                "people": {name: str(user.id) for name, user in world.people.items()},
                "guilds": [
                    {
                        "id": str(g.id),
                        "name": g.name,
                        "channels": {c.name: str(c.id) for c in g.channels.values()},
                    }
                    for g in world.guilds.values()
                ],
                "roles": {role.name: str(role.id) for role in world.guild.roles.values()},
            }
        )

    async def _post_message(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        channel = body.get("channel_id")
        try:
            message = await self._emulator.inject_message(
                str(body.get("author")),
                str(body.get("content", "")),
                channel_id=None if channel is None else int(channel),
            )
        except (LookupError, KeyError) as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        return json_response({"id": str(message.id)})

    async def _messages(self, request: web.Request) -> web.Response:
        world = self._emulator.world
        raw = request.query.get("channel_id")
        channel = world.text_channel.id if raw is None else int(raw)
        try:
            guild_id = world.guild_of(channel).id
        except KeyError:
            raise web.HTTPNotFound(text=f"unknown channel {channel}") from None
        out = []
        for message in world.messages_in(channel, include_deleted=True):
            data = message.payload(guild_id, None)
            data["deleted"] = message.deleted
            out.append(data)
        return json_response(out)

    async def _post_interaction(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        try:
            interaction = await self._emulator.inject_interaction(
                str(body.get("author")), str(body.get("name")), list(body.get("options") or [])
            )
        except (LookupError, KeyError) as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        return json_response({"id": str(interaction.id), "token": interaction.token})

    async def _interaction(self, request: web.Request) -> web.Response:
        interaction = self._emulator.world.interactions.get(int(request.match_info["iid"]))
        if interaction is None:
            raise web.HTTPNotFound(text="unknown interaction")
        return json_response(
            {
                "id": str(interaction.id),
                "name": interaction.name,
                "response_type": interaction.response_type,
                "response_message_id": None
                if interaction.response_message_id is None
                else str(interaction.response_message_id),
                "followup_ids": [str(i) for i in interaction.followup_ids],
            }
        )

    async def _state(self, request: web.Request) -> web.Response:
        raw = request.query.get("guild_id")
        guilds = self._emulator.world.guilds
        if raw is not None and int(raw) not in guilds:
            raise web.HTTPNotFound(text=f"unknown guild {raw}")
        return json_response(snapshot(self._emulator, None if raw is None else int(raw)))

    async def _listener(self, request: web.Request) -> web.Response:
        record = self._emulator.record
        return json_response(
            {
                "packets": [
                    {
                        "arrival": p.arrival,
                        "sequence": p.sequence,
                        "timestamp": p.timestamp,
                        "ssrc": p.ssrc,
                        "channel_id": None if p.channel_id is None else str(p.channel_id),
                        "suppressed": p.suppressed,
                        "decrypted": p.decrypted,
                        "decoded": p.pcm is not None,
                    }
                    for p in record.packets
                ],
                "auth_failures": record.auth_failures,
                "decode_failures": record.decode_failures,
                "unknown_ssrc": record.unknown_ssrc,
            }
        )

    async def _listener_wav(self, request: web.Request) -> web.Response:
        with tempfile.TemporaryDirectory(prefix="radio-sandbox-wav-") as tmp:
            path = self._emulator.record.to_wav(Path(tmp) / "listener.wav")
            body = path.read_bytes()
        return web.Response(body=body, headers={"Content-Type": "audio/wav"})

    async def _clear(self, request: web.Request) -> web.Response:
        self._emulator.record.clear()
        return web.Response(status=204)

    async def _gateway_fault(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        gateway = self._emulator.gateway
        action = body.get("action")
        if action == "close":
            await gateway.close_sockets(int(body.get("code", 4000)))
        elif action == "reconnect":
            await gateway.send_reconnect()
        elif action == "invalid_session":
            await gateway.invalidate_sessions(resumable=bool(body.get("resumable", False)))
        elif action is not None:
            raise web.HTTPBadRequest(text=f"unknown gateway action {action!r}")
        _apply_heartbeat_faults(gateway.faults, body)
        return web.Response(status=204)

    async def _voice_fault(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        action = body.get("action")
        if action == "close":
            await self._emulator.voice.close(None, int(body.get("code", 4015)))
        elif action == "kick":
            await self._emulator.voice_states.kick(self._emulator.world.bot.id)
        elif action is not None:
            raise web.HTTPBadRequest(text=f"unknown voice action {action!r}")
        _apply_heartbeat_faults(self._emulator.voice.faults, body)
        return web.Response(status=204)

    async def _udp_fault(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self._emulator.listener.answering = bool(body.get("answering", True))
        return web.Response(status=204)

    async def _speaker(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        speakers = self._emulator.speakers
        who = str(body.get("name", ""))
        action = body.get("action")
        try:
            if action == "enter":
                channel = body.get("channel_id")
                user_id = await speakers.enter(
                    who,
                    None if channel is None else int(channel),
                    speaker=bool(body.get("speaker", True)),
                    muted=bool(body.get("muted", True)),
                )
            elif action in ("mute", "unmute"):
                await speakers.mute(who, action == "mute")
                user_id = speakers.user_id(who)
            elif action == "leave":
                await speakers.leave(who)
                user_id = speakers.user_id(who)
            elif action == "talk":
                spurts = parse_spurts(body.get("spurts"))
                await speakers.mute(who, False)
                speakers.start_talk(who, spurts)
                user_id = speakers.user_id(who)
                return json_response(
                    {"user_id": str(user_id), "ssrc": speakers.ssrc_of(user_id)}, status=202
                )
            else:
                raise web.HTTPBadRequest(
                    text="action must be one of enter, mute, unmute, leave, talk"
                )
        except (KeyError, LookupError) as exc:
            raise web.HTTPNotFound(text=str(exc).strip("'\"")) from None
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return json_response({"user_id": str(user_id), "ssrc": speakers.ssrc_of(user_id)})

    async def _speaker_reports(self, request: web.Request) -> web.Response:
        return json_response(
            [
                {
                    "user_id": str(r.user_id),
                    "ssrc": r.ssrc,
                    "packets": r.packets,
                    "receivers": r.receivers,
                    "first_packet": r.first_packet,
                    "spurt_starts": r.spurt_starts,
                    "spurt_ends": r.spurt_ends,
                    "sent_at": r.sent_at,
                }
                for r in self._emulator.speakers.reports
            ]
        )


def _apply_heartbeat_faults(faults: Any, body: JSON) -> None:
    if "ack_delay" in body:
        faults.ack_delay = float(body["ack_delay"])
    if "drop_acks" in body:
        faults.drop_acks = bool(body["drop_acks"])


def snapshot(emulator: Emulator, guild_id: int | None = None) -> JSON:
    """What the bot has set, as a guild's members would see it (default: the first guild)."""
    world = emulator.world
    guild = world.guild if guild_id is None else world.guilds[guild_id]
    presence = world.presences.get(world.bot.id)
    return {
        "presence": None
        if presence is None
        else {"status": presence.status, "activities": presence.activities},
        "voice_states": {
            str(uid): {
                "channel_id": None if s.channel_id is None else str(s.channel_id),
                "suppress": s.suppress,
                "request_to_speak_timestamp": s.request_to_speak_timestamp,
                "self_mute": s.self_mute,
                "self_deaf": s.self_deaf,
            }
            for uid, s in guild.voice_states.items()
        },
        "channels": {
            str(c.id): {"name": c.name, "type": int(c.type), "topic": c.topic, "status": c.status}
            for c in guild.channels.values()
        },
        "voice_connections": [
            {
                "user_id": str(c.user_id),
                "channel_id": str(c.channel_id),
                "ssrc": c.ssrc,
                "mode": c.mode,
                "speaking": c.speaking,
                "live": emulator.voice.is_live(c.user_id, c.guild_id),
            }
            for c in emulator.voice.connections()
            if c.guild_id == guild.id
        ],
        "stage_instances": [s.payload(guild.id) for s in guild.stage_instances.values()],
        "scheduled_events": [
            e.payload(guild.id, world.bot.id) for e in guild.scheduled_events.values()
        ],
        "commands": {str(scope): cmds for scope, cmds in world.commands.items()},
    }
