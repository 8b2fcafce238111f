"""The emulated Discord REST API (``/api/v10``) for the routes a radio bot uses.

Every JSON answer carries ``Content-Type: application/json`` exactly (discord.py
treats anything else, even with ``; charset=utf-8``, as text). A message over
one of Discord's length limits is refused with Discord's 400 "Invalid Form Body"
(radio.sandbox.form_limits) on every route that carries one. Message creation
and channel edits are rate limited the way Discord answers: X-RateLimit-*
headers on every answer, and a 429 with ``retry_after`` and a ``Via`` header
(without ``Via`` discord.py takes a 429 for a Cloudflare ban).

Each request acts as the bot account whose token it carries (a station may
have several: its voices): ``/users/@me`` is that bot, its messages and voice
state changes are its own. Application commands and interactions are the
first bot's application's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from radio.clock import Clock
from radio.sandbox.form_limits import INVALID_FORM_BODY, message_errors
from radio.sandbox.gateway import Gateway
from radio.sandbox.ratelimits import Bucket, Decision, RateLimits
from radio.sandbox.state import (
    JSON,
    ChannelType,
    Guild,
    Message,
    ScheduledEvent,
    SnowflakeFactory,
    StageInstance,
    User,
    World,
    iso,
)
from radio.sandbox.voice_states import VoiceStates

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Where the guard leaves the bot account that made a request.
_CALLER = web.RequestKey("sandbox.caller", User)

# Interaction callback types that carry a message, and the "deferred" one.
_MESSAGE_CALLBACKS = frozenset({4, 7})
_DEFERRED_CALLBACKS = frozenset({5, 6})
_EPHEMERAL = 1 << 6


class HTTPError(Exception):
    """A Discord error answer: status, JSON message and code."""

    def __init__(
        self, status: int, message: str, code: int = 0, errors: JSON | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = errors  # Discord's field-by-field tree (Invalid Form Body)


def check_message(body: JSON, prefix: tuple[str, ...] = ()) -> None:
    """Refuse a message body over one of Discord's length limits the way Discord does:
    400, code 50035, the errors tree (radio.sandbox.form_limits). Raises HTTPError."""
    errors = message_errors(body, prefix)
    if errors:
        logger.info("refused a message over Discord's limits: %s", errors)
        raise HTTPError(400, "Invalid Form Body", INVALID_FORM_BODY, errors)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Answer ``data`` as JSON with the exact Content-Type discord.py requires."""
    all_headers = {"Content-Type": "application/json"}
    if headers:
        all_headers.update(headers)
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


class Rest:
    """The REST routes, bound to one world and one gateway."""

    def __init__(
        self,
        world: World,
        gateway: Gateway,
        voice_states: VoiceStates,
        clock: Clock,
        monotonic: Callable[[], float],
        snowflakes: SnowflakeFactory,
    ) -> None:
        self._world = world
        self._gateway = gateway
        self._voice_states = voice_states
        self._clock = clock
        self._monotonic = monotonic
        self._snowflakes = snowflakes
        self.limits = RateLimits()
        self.gateway_url = ""
        self.rate_limited: list[tuple[str, str]] = []  # (bucket, key) of every 429 served

    def routes(self) -> list[web.RouteDef]:
        """Return the aiohttp route table (mount under ``/api/v10``)."""
        g = self._guarded
        return [
            web.get("/users/@me", g(self._me)),
            web.get("/oauth2/applications/@me", g(self._application)),
            web.get("/gateway", self._gateway_url),
            web.get("/gateway/bot", g(self._gateway_bot)),
            web.get("/channels/{cid}", g(self._get_channel)),
            web.patch("/channels/{cid}", g(self._edit_channel)),
            web.put("/channels/{cid}/voice-status", g(self._voice_status)),
            web.post("/channels/{cid}/typing", g(self._typing)),
            web.get("/channels/{cid}/messages", g(self._history)),
            web.post("/channels/{cid}/messages", g(self._create_message)),
            web.get("/channels/{cid}/messages/{mid}", g(self._get_message)),
            web.patch("/channels/{cid}/messages/{mid}", g(self._edit_message)),
            web.delete("/channels/{cid}/messages/{mid}", g(self._delete_message)),
            web.post("/stage-instances", g(self._create_stage)),
            web.get("/stage-instances/{cid}", g(self._get_stage)),
            web.patch("/stage-instances/{cid}", g(self._edit_stage)),
            web.delete("/stage-instances/{cid}", g(self._delete_stage)),
            web.patch("/guilds/{gid}/voice-states/@me", g(self._my_voice_state)),
            web.get("/guilds/{gid}/members/{uid}", g(self._get_member)),
            web.get("/guilds/{gid}/scheduled-events", g(self._list_events)),
            web.post("/guilds/{gid}/scheduled-events", g(self._create_event)),
            web.patch("/guilds/{gid}/scheduled-events/{eid}", g(self._edit_event)),
            web.delete("/guilds/{gid}/scheduled-events/{eid}", g(self._delete_event)),
            web.get("/applications/{aid}/commands", g(self._get_commands)),
            web.put("/applications/{aid}/commands", g(self._put_commands)),
            web.get("/applications/{aid}/guilds/{gid}/commands", g(self._get_commands)),
            web.put("/applications/{aid}/guilds/{gid}/commands", g(self._put_commands)),
            # Interaction routes authenticate with the interaction token, not the bot's.
            web.post("/interactions/{iid}/{token}/callback", self._wrap(self._callback)),
            web.post("/webhooks/{aid}/{token}", self._wrap(self._followup)),
            web.get("/webhooks/{aid}/{token}/messages/{mid}", self._wrap(self._get_webhook_msg)),
            web.patch("/webhooks/{aid}/{token}/messages/{mid}", self._wrap(self._edit_webhook_msg)),
            web.delete("/webhooks/{aid}/{token}/messages/{mid}", self._wrap(self._del_webhook_msg)),
        ]

    # -- plumbing -------------------------------------------------------------

    def _wrap(self, handler: Handler) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except RateLimitedError as exc:
                return rate_limited_response(exc.decision)
            except HTTPError as exc:
                answer: JSON = {"message": exc.message, "code": exc.code}
                if exc.errors is not None:
                    answer["errors"] = exc.errors
                return json_response(answer, exc.status)

        return run

    def _guarded(self, handler: Handler) -> Handler:
        async def check(request: web.Request) -> web.StreamResponse:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            bot = self._world.bot_with_token(token) if scheme == "Bot" else None
            if bot is None:
                raise HTTPError(401, "401: Unauthorized")
            request[_CALLER] = bot
            return await handler(request)

        return self._wrap(check)

    def _limit(self, bucket: Bucket, key: str) -> Decision:
        decision = bucket.take(key, self._monotonic())
        if self.limits.enabled and not decision.allowed:
            self.rate_limited.append((bucket.name, key))
            raise RateLimitedError(decision)
        return decision

    async def _body(self, request: web.Request) -> JSON:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            raw = form.get("payload_json")
            return dict(json.loads(str(raw))) if raw is not None else {}
        if not request.can_read_body:
            return {}
        try:
            data = json.loads(await request.text())
        except json.JSONDecodeError:
            raise HTTPError(400, "The request body contains invalid JSON.", 50109) from None
        return dict(data) if isinstance(data, dict) else {"items": data}

    def _channel(self, request: web.Request) -> int:
        cid = int(request.match_info["cid"])
        self._guild_of(cid)
        return cid

    def _guild_of(self, channel_id: int) -> Guild:
        try:
            return self._world.guild_of(channel_id)
        except KeyError:
            raise HTTPError(404, "Unknown Channel", 10003) from None

    def _guild(self, request: web.Request) -> Guild:
        guild = self._world.guilds.get(int(request.match_info["gid"]))
        if guild is None:
            raise HTTPError(404, "Unknown Guild", 10004)
        return guild

    def _caller(self, request: web.Request) -> User:
        # The bot account the guard found for this request's token.
        return request.get(_CALLER) or self._world.bot

    def _message(self, request: web.Request) -> Message:
        message = self._world.messages.get(int(request.match_info["mid"]))
        if message is None or message.deleted:
            raise HTTPError(404, "Unknown Message", 10008)
        return message

    def _render(self, message: Message) -> JSON:
        guild = self._guild_of(message.channel_id)
        return message.payload(guild.id, guild.members.get(message.author.id))

    # -- login ----------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        bot = self._caller(request)
        return json_response(bot.payload() | {"verified": True, "mfa_enabled": False})

    async def _application(self, request: web.Request) -> web.Response:
        world = self._world
        bot = self._caller(request)
        owner = world.guild.members[world.guild.owner_id].user
        return json_response(
            {
                # Each bot account is its own application (the first: world.application_id).
                "id": str(world.application_id if bot is world.bot else bot.id),
                "name": bot.username,
                "icon": None,
                "description": "radio sandbox application",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": owner.payload(),
                "team": None,
                "flags": 0,
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
            }
        )

    async def _gateway_url(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    # -- channels and messages ------------------------------------------------

    async def _get_channel(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        guild = self._guild_of(cid)
        return json_response(guild.channels[cid].payload(guild.id))

    async def _edit_channel(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        decision = self._limit(self.limits.channel_edit, str(cid))
        body = await self._body(request)
        guild = self._guild_of(cid)
        channel = guild.channels[cid]
        if "name" in body:
            channel.name = str(body["name"])
        if "topic" in body:
            channel.topic = body["topic"]
        if "bitrate" in body and channel.type is not ChannelType.TEXT:
            channel.bitrate = int(body["bitrate"])
        data = channel.payload(guild.id)
        await self._gateway.dispatch("CHANNEL_UPDATE", data)
        return json_response(data, headers=decision.headers())

    async def _voice_status(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        guild = self._guild_of(cid)
        channel = guild.channels[cid]
        if channel.type is not ChannelType.VOICE:
            raise HTTPError(400, "Voice status is only for voice channels", 50024)
        body = await self._body(request)
        status = body.get("status")
        channel.status = None if not status else str(status)
        await self._gateway.dispatch(
            "VOICE_CHANNEL_STATUS_UPDATE",
            {"id": str(cid), "guild_id": str(guild.id), "status": channel.status},
        )
        return web.Response(status=204)

    async def _typing(self, request: web.Request) -> web.Response:
        self._channel(request)
        return web.Response(status=204)

    async def _history(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        limit = int(request.query.get("limit", "50"))
        messages = self._world.messages_in(cid)[-limit:]
        return json_response([self._render(m) for m in reversed(messages)])

    async def _create_message(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        decision = self._limit(self.limits.message_create, str(cid))
        body = await self._body(request)
        check_message(body)
        message = await self.post_message(
            cid,
            self._caller(request).id,
            str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
        )
        return json_response(self._render(message), headers=decision.headers())

    async def post_message(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        *,
        embeds: list[JSON] | None = None,
        components: list[JSON] | None = None,
        interaction_id: int | None = None,
        flags: int = 0,
    ) -> Message:
        """Store a new message by ``author_id`` and dispatch MESSAGE_CREATE."""
        world = self._world
        member = self._guild_of(channel_id).members.get(author_id)
        if member is None:
            raise HTTPError(404, "Unknown Member", 10007)
        now = self._clock.now()
        message = Message(
            id=self._snowflakes.make(now),
            channel_id=channel_id,
            author=member.user,
            content=content,
            timestamp=iso(now),
            embeds=embeds or [],
            components=components or [],
            interaction_id=interaction_id,
            flags=flags,
        )
        world.messages[message.id] = message
        if not flags & _EPHEMERAL:
            await self._gateway.dispatch("MESSAGE_CREATE", self._render(message))
        return message

    async def _get_message(self, request: web.Request) -> web.Response:
        self._channel(request)
        return json_response(self._render(self._message(request)))

    async def _edit_message(self, request: web.Request) -> web.Response:
        self._channel(request)
        message = self._message(request)
        body = await self._body(request)
        return json_response(await self._apply_edit(message, body))

    async def _apply_edit(self, message: Message, body: JSON) -> JSON:
        check_message(body)
        if "content" in body:
            message.content = str(body["content"] or "")
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = list(body["components"] or [])
        message.edited_timestamp = iso(self._clock.now())
        data = self._render(message)
        await self._gateway.dispatch("MESSAGE_UPDATE", data)
        return data

    async def _delete_message(self, request: web.Request) -> web.Response:
        cid = self._channel(request)
        message = self._message(request)
        await self._delete(message, cid)
        return web.Response(status=204)

    async def _delete(self, message: Message, cid: int) -> None:
        message.deleted = True
        await self._gateway.dispatch(
            "MESSAGE_DELETE",
            {
                "id": str(message.id),
                "channel_id": str(cid),
                "guild_id": str(self._guild_of(cid).id),
            },
        )

    # -- stage ----------------------------------------------------------------

    def _stage_channel(self, raw: Any) -> tuple[Guild, int]:
        cid = int(raw)
        guild = self._guild_of(cid)
        if guild.channels[cid].type is not ChannelType.STAGE:
            raise HTTPError(404, "Unknown Channel", 10003)
        return guild, cid

    async def _create_stage(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        guild, cid = self._stage_channel(body.get("channel_id"))
        if guild.stage_instance_in(cid) is not None:
            raise HTTPError(400, "A stage instance is already live in this channel", 150006)
        instance = StageInstance(
            id=self._snowflakes.make(self._clock.now()),
            channel_id=cid,
            topic=str(body.get("topic", "")),
            privacy_level=int(body.get("privacy_level", 2)),
        )
        guild.stage_instances[instance.id] = instance
        data = instance.payload(guild.id)
        await self._gateway.dispatch("STAGE_INSTANCE_CREATE", data)
        return json_response(data)

    def _live_stage(self, request: web.Request) -> tuple[Guild, StageInstance]:
        guild, cid = self._stage_channel(request.match_info["cid"])
        instance = guild.stage_instance_in(cid)
        if instance is None:
            raise HTTPError(404, "Unknown Stage Instance", 10067)
        return guild, instance

    async def _get_stage(self, request: web.Request) -> web.Response:
        guild, instance = self._live_stage(request)
        return json_response(instance.payload(guild.id))

    async def _edit_stage(self, request: web.Request) -> web.Response:
        guild, instance = self._live_stage(request)
        decision = self._limit(self.limits.channel_edit, f"stage:{instance.channel_id}")
        body = await self._body(request)
        if "topic" in body:
            instance.topic = str(body["topic"])
        if "privacy_level" in body:
            instance.privacy_level = int(body["privacy_level"])
        data = instance.payload(guild.id)
        await self._gateway.dispatch("STAGE_INSTANCE_UPDATE", data)
        return json_response(data, headers=decision.headers())

    async def _delete_stage(self, request: web.Request) -> web.Response:
        guild, instance = self._live_stage(request)
        del guild.stage_instances[instance.id]
        await self._gateway.dispatch("STAGE_INSTANCE_DELETE", instance.payload(guild.id))
        return web.Response(status=204)

    async def _my_voice_state(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        body = await self._body(request)
        suppress = body.get("suppress")
        raised = body.get("request_to_speak_timestamp", ...)
        try:
            await self._voice_states.set_stage_flags(
                self._caller(request).id,
                guild.id,
                suppress=None if suppress is None else bool(suppress),
                request_to_speak=None if raised is ... else raised is not None,
            )
        except LookupError:
            raise HTTPError(400, "Target user is not connected to voice.", 40032) from None
        return web.Response(status=204)

    # -- scheduled events -----------------------------------------------------

    def _event_payload(self, guild: Guild, event: ScheduledEvent) -> JSON:
        return event.payload(guild.id, self._world.bot.id)

    async def _get_member(self, request: web.Request) -> web.Response:
        # Discord's Get Guild Member: no privileged intent needed; 10007 when absent.
        guild = self._guild(request)
        try:
            member = guild.members.get(int(request.match_info["uid"]))
        except ValueError:
            raise HTTPError(404, "Unknown Member", 10007) from None
        if member is None:
            raise HTTPError(404, "Unknown Member", 10007)
        return json_response(member.payload())

    async def _list_events(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        events = guild.scheduled_events.values()
        return json_response([self._event_payload(guild, e) for e in events])

    async def _create_event(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        body = await self._body(request)
        if not body.get("name") or not body.get("scheduled_start_time"):
            raise HTTPError(400, "Invalid Form Body: name and scheduled_start_time", 50035)
        event = ScheduledEvent(id=self._snowflakes.make(self._clock.now()), fields=body)
        guild.scheduled_events[event.id] = event
        data = self._event_payload(guild, event)
        await self._gateway.dispatch("GUILD_SCHEDULED_EVENT_CREATE", data)
        return json_response(data)

    def _event(self, request: web.Request) -> tuple[Guild, ScheduledEvent]:
        guild = self._guild(request)
        event = guild.scheduled_events.get(int(request.match_info["eid"]))
        if event is None:
            raise HTTPError(404, "Unknown Guild Scheduled Event", 10070)
        return guild, event

    async def _edit_event(self, request: web.Request) -> web.Response:
        guild, event = self._event(request)
        event.fields.update(await self._body(request))
        data = self._event_payload(guild, event)
        await self._gateway.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", data)
        return json_response(data)

    async def _delete_event(self, request: web.Request) -> web.Response:
        guild, event = self._event(request)
        del guild.scheduled_events[event.id]
        data = self._event_payload(guild, event)
        await self._gateway.dispatch("GUILD_SCHEDULED_EVENT_DELETE", data)
        return web.Response(status=204)

    # -- application commands and interactions --------------------------------

    def _command_scope(self, request: web.Request) -> int:
        if int(request.match_info["aid"]) != self._world.application_id:
            raise HTTPError(404, "Unknown Application", 10002)
        return int(request.match_info.get("gid", 0))

    async def _get_commands(self, request: web.Request) -> web.Response:
        return json_response(self._world.commands.get(self._command_scope(request), []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        body = await self._body(request)
        now = self._clock.now()
        stored = []
        for command in body.get("items", []):
            entry = dict(command)
            entry.update(
                id=str(self._snowflakes.make(now)),
                application_id=str(self._world.application_id),
                version=str(self._snowflakes.make(now)),
                default_member_permissions=command.get("default_member_permissions"),
                type=command.get("type", 1),
            )
            if scope:
                entry["guild_id"] = str(scope)
            stored.append(entry)
        self._world.commands[scope] = stored
        return json_response(stored)

    def _interaction(self, iid: int | None, token: str) -> Any:
        for interaction in self._world.interactions.values():
            if interaction.token == token and (iid is None or interaction.id == iid):
                return interaction
        raise HTTPError(404, "Unknown interaction", 10062)

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self._interaction(int(request.match_info["iid"]), request.match_info["token"])
        if interaction.response_type is not None:
            raise HTTPError(400, "Interaction has already been acknowledged.", 40060)
        body = await self._body(request)
        kind = int(body.get("type", 0))
        data: JSON = dict(body.get("data") or {})
        check_message(data, ("data",))
        interaction.response_type = kind
        resource: JSON = {"type": kind}
        if kind in _MESSAGE_CALLBACKS or kind in _DEFERRED_CALLBACKS:
            message = await self.post_message(
                interaction.channel_id,
                self._world.bot.id,
                str(data.get("content") or ""),
                embeds=list(data.get("embeds") or []),
                components=list(data.get("components") or []),
                interaction_id=interaction.id,
                flags=int(data.get("flags") or 0),
            )
            interaction.response_message_id = message.id
            resource["message"] = self._render(message)
        answer = {
            "interaction": {
                "id": str(interaction.id),
                "type": 2,
                "response_message_id": None
                if interaction.response_message_id is None
                else str(interaction.response_message_id),
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & _EPHEMERAL),
            },
            "resource": resource,
        }
        return json_response(answer)

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._interaction(None, request.match_info["token"])
        body = await self._body(request)
        check_message(body)
        message = await self.post_message(
            interaction.channel_id,
            self._world.bot.id,
            str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            interaction_id=interaction.id,
            flags=int(body.get("flags") or 0),
        )
        interaction.followup_ids.append(message.id)
        return json_response(self._render(message))

    def _webhook_message(self, request: web.Request) -> Message:
        interaction = self._interaction(None, request.match_info["token"])
        mid = request.match_info["mid"]
        message_id = interaction.response_message_id if mid == "@original" else int(mid)
        message = self._world.messages.get(message_id or 0)
        if message is None or message.deleted:
            raise HTTPError(404, "Unknown Message", 10008)
        return message

    async def _get_webhook_msg(self, request: web.Request) -> web.Response:
        return json_response(self._render(self._webhook_message(request)))

    async def _edit_webhook_msg(self, request: web.Request) -> web.Response:
        message = self._webhook_message(request)
        return json_response(await self._apply_edit(message, await self._body(request)))

    async def _del_webhook_msg(self, request: web.Request) -> web.Response:
        message = self._webhook_message(request)
        await self._delete(message, message.channel_id)
        return web.Response(status=204)


class RateLimitedError(HTTPError):
    """A 429 answer, carrying the bucket's state for the headers."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(429, "You are being rate limited.")
        self.decision = decision


def rate_limited_response(decision: Decision) -> web.Response:
    """A 429 the way Discord sends it: JSON ``retry_after``, X-RateLimit-* and ``Via``."""
    headers = decision.headers() | {
        "Retry-After": str(int(decision.reset_after) + 1),
        "Via": "1.1 google",
    }
    body = {
        "message": "You are being rate limited.",
        "retry_after": decision.reset_after,
        "global": False,
    }
    return json_response(body, 429, headers)
