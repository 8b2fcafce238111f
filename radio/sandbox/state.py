"""The emulated Discord world: its guilds, their rooms, people, bots and what they said.

Plain dataclasses owned by the :class:`~radio.sandbox.server.Emulator`; the REST,
gateway and voice handlers change them and :func:`payload` functions render them
as the JSON Discord would send. Nothing here does I/O or reads the clock: every
timestamp is passed in.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

JSON = dict[str, Any]

# Discord's epoch (2015-01-01T00:00:00Z) in milliseconds.
DISCORD_EPOCH_MS = 1_420_070_400_000

ADMINISTRATOR = 1 << 3
# view channel, send messages, embed links, read history, connect, speak,
# use application commands, request to speak.
EVERYONE_PERMISSIONS = (
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 20) | (1 << 21) | (1 << 31) | (1 << 32)
)
# Intents Discord asks an application to enable in the developer portal first.
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT


class ChannelType(IntEnum):
    """The Discord channel types the emulator knows."""

    TEXT = 0
    VOICE = 2
    STAGE = 13


class SnowflakeFactory:
    """Makes unique, increasing snowflakes whose time part is the instant passed in."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def make(self, now: datetime) -> int:
        """Return a new snowflake stamped with ``now`` (aware datetime)."""
        ms = int(now.timestamp() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0xFFF)


def iso(now: datetime) -> str:
    """Return ``now`` as Discord writes timestamps (ISO 8601 with offset)."""
    return now.isoformat()


@dataclass
class User:
    id: int
    username: str
    bot: bool = False

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": None if self.bot else self.username,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class Member:
    user: User
    role_ids: list[int]
    joined_at: str
    nick: str | None = None

    def payload(self, *, with_user: bool = True) -> JSON:
        data: JSON = {
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "nick": self.nick,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass
class Channel:
    id: int
    type: ChannelType
    name: str
    position: int
    topic: str | None = None
    status: str | None = None  # a voice channel's status line (PUT voice-status)
    bitrate: int = 64000

    def payload(self, guild_id: int) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "type": int(self.type),
            "guild_id": str(guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "parent_id": None,
            "nsfw": False,
        }
        if self.type is ChannelType.TEXT:
            data.update(topic=self.topic, last_message_id=None, rate_limit_per_user=0)
        else:
            data.update(
                bitrate=self.bitrate,
                user_limit=0,
                rtc_region=None,
                topic=self.topic,
                status=self.status,
                rate_limit_per_user=0,
            )
        return data


@dataclass
class Message:
    id: int
    channel_id: int
    author: User
    content: str
    timestamp: str
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    edited_timestamp: str | None = None
    deleted: bool = False
    flags: int = 0
    interaction_id: int | None = None  # set when it answers a slash command

    def payload(
        self, guild_id: int, member: Member | None, *, content_visible: bool = True
    ) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "guild_id": str(guild_id),
            "author": self.author.payload(),
            "content": self.content if content_visible else "",
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": self.embeds if content_visible else [],
            "components": self.components if content_visible else [],
            "pinned": False,
            "type": 0 if self.interaction_id is None else 20,
            "flags": self.flags,
        }
        if member is not None:
            data["member"] = member.payload(with_user=False)
        return data


@dataclass
class StageInstance:
    id: int
    channel_id: int
    topic: str
    privacy_level: int = 2

    def payload(self, guild_id: int) -> JSON:
        return {
            "id": str(self.id),
            "guild_id": str(guild_id),
            "channel_id": str(self.channel_id),
            "topic": self.topic,
            "privacy_level": self.privacy_level,
            "discoverable_disabled": True,
            "guild_scheduled_event_id": None,
        }


@dataclass
class ScheduledEvent:
    """A guild scheduled event; kept as the fields the bot sent plus ids."""

    id: int
    fields: JSON

    def payload(self, guild_id: int, creator_id: int) -> JSON:
        data: JSON = {
            "privacy_level": 2,
            "status": 1,
            "entity_type": 2,
            "entity_id": None,
            "entity_metadata": None,
            "description": None,
            "scheduled_end_time": None,
            "channel_id": None,
            "user_count": 0,
            "image": None,
            "recurrence_rule": None,
        }
        data.update(self.fields)
        data.update(id=str(self.id), guild_id=str(guild_id), creator_id=str(creator_id))
        return data


@dataclass
class VoiceState:
    user_id: int
    channel_id: int | None
    session_id: str
    self_mute: bool = False
    self_deaf: bool = False
    suppress: bool = False
    request_to_speak_timestamp: str | None = None

    def payload(self, guild_id: int, member: Member) -> JSON:
        return {
            "guild_id": str(guild_id),
            "channel_id": None if self.channel_id is None else str(self.channel_id),
            "user_id": str(self.user_id),
            "member": member.payload(),
            "session_id": self.session_id,
            "deaf": False,
            "mute": False,
            "self_deaf": self.self_deaf,
            "self_mute": self.self_mute,
            "self_video": False,
            "self_stream": False,
            "suppress": self.suppress,
            "request_to_speak_timestamp": self.request_to_speak_timestamp,
        }


@dataclass
class Presence:
    """What a user last told the gateway with op 3 (or IDENTIFY's presence)."""

    status: str = "online"
    activities: list[JSON] = field(default_factory=list)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    created: str
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    voice_states: dict[int, VoiceState] = field(default_factory=dict)
    stage_instances: dict[int, StageInstance] = field(default_factory=dict)
    scheduled_events: dict[int, ScheduledEvent] = field(default_factory=dict)

    def channel_of_type(self, kind: ChannelType) -> Channel:
        """Return the first channel of ``kind``; raise KeyError when there is none."""
        for channel in self.channels.values():
            if channel.type is kind:
                return channel
        raise KeyError(f"no {kind.name.lower()} channel")

    def stage_instance_in(self, channel_id: int) -> StageInstance | None:
        """Return the live stage instance of ``channel_id``, if any."""
        for instance in self.stage_instances.values():
            if instance.channel_id == channel_id:
                return instance
        return None

    def payload(self, presences: dict[int, Presence], creator_id: int) -> JSON:
        """Render the full GUILD_CREATE payload."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "region": "local",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "features": [],
            "emojis": [],
            "stickers": [],
            "soundboard_sounds": [],
            "threads": [],
            "joined_at": self.created,
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "roles": [role.payload() for role in self.roles.values()],
            "channels": [channel.payload(self.id) for channel in self.channels.values()],
            "members": [member.payload() for member in self.members.values()],
            "voice_states": [
                state.payload(self.id, self.members[uid])
                for uid, state in self.voice_states.items()
                if state.channel_id is not None
            ],
            "presences": [
                {
                    "user": {"id": str(uid)},
                    "status": presence.status,
                    "activities": presence.activities,
                    "client_status": {"desktop": presence.status},
                }
                for uid, presence in presences.items()
                if uid in self.members
            ],
            "stage_instances": [s.payload(self.id) for s in self.stage_instances.values()],
            "guild_scheduled_events": [
                e.payload(self.id, creator_id) for e in self.scheduled_events.values()
            ],
        }


@dataclass
class World:
    """Everything the emulator knows: the bots, their applications, the guilds, messages.

    ``guild`` and the ``*_channel`` properties name the first guild, which is
    all most tests need; ``guilds`` holds every guild (simulcast). ``bot`` is
    the first bot account (its application is ``application_id``, its token
    ``token``); ``bots`` maps every bot account's token to its user, the first
    included: several bot accounts of one station ("voices"), each a member of
    every guild and each its own application (its id is the bot's user id).
    """

    bot: User
    application_id: int
    token: str
    guilds: dict[int, Guild]
    listener: User
    people: dict[str, User]
    bots: dict[str, User] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    presences: dict[int, Presence] = field(default_factory=dict)
    commands: dict[int, list[JSON]] = field(default_factory=dict)  # guild id (0 = global)
    interactions: dict[int, Interaction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bots.setdefault(self.token, self.bot)

    def bot_with_token(self, token: object) -> User | None:
        """The bot account whose token is ``token``, or None (Discord refuses it)."""
        return self.bots.get(token) if isinstance(token, str) else None

    def stages(self, guild: Guild | None = None) -> list[Channel]:
        """The stage rooms of ``guild`` (default the first), in position order."""
        rooms = (guild or self.guild).channels.values()
        return [channel for channel in rooms if channel.type is ChannelType.STAGE]

    @property
    def guild(self) -> Guild:
        """The first guild."""
        return next(iter(self.guilds.values()))

    @property
    def text_channel(self) -> Channel:
        return self.guild.channel_of_type(ChannelType.TEXT)

    @property
    def voice_channel(self) -> Channel:
        return self.guild.channel_of_type(ChannelType.VOICE)

    @property
    def stage_channel(self) -> Channel:
        return self.guild.channel_of_type(ChannelType.STAGE)

    def guild_of(self, channel_id: int) -> Guild:
        """Return the guild that has ``channel_id``; raise KeyError if none has."""
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild
        raise KeyError(f"unknown channel {channel_id}")

    def messages_in(self, channel_id: int, *, include_deleted: bool = False) -> list[Message]:
        """Return the messages of ``channel_id`` in the order they were posted."""
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and (include_deleted or not m.deleted)
        ]


def bot_token(token: str, number: int) -> str:
    """The token of bot account ``number`` (1 is the first: ``token`` itself)."""
    return token if number == 1 else f"{token}-{number}"


def build_world(
    now: datetime,
    snowflakes: SnowflakeFactory,
    token: str,
    *,
    guilds: int = 1,
    bots: int = 1,
    stages: int = 1,
) -> World:
    """Create the standard sandbox world with ``guilds`` identical guilds.

    Each guild "Radio Sandbox" (then "Radio Sandbox 2", ...) has a text room
    ``#studio``, a voice room ``On Air``, ``stages`` stage rooms ``Stage``
    (then ``Stage 2``, ...); roles @everyone, admin, dj and listener; members:
    the bots (admin), a listener ``alice`` (listener), a DJ ``bob`` (dj), an
    admin ``carol`` (admin, owner). The first bot ``radio-bot`` has ``token``;
    bot ``n`` (``radio-bot-n``) has :func:`bot_token` ``(token, n)``. Raises
    ValueError for fewer than one guild, bot or stage.
    """
    if guilds < 1 or bots < 1 or stages < 1:
        raise ValueError("the sandbox needs at least one guild, one bot and one stage")
    joined = iso(now)
    bot = User(snowflakes.make(now), "radio-bot", bot=True)
    accounts = {token: bot}
    for number in range(2, bots + 1):
        accounts[bot_token(token, number)] = User(
            snowflakes.make(now), f"radio-bot-{number}", bot=True
        )
    alice = User(snowflakes.make(now), "alice")
    bob = User(snowflakes.make(now), "bob")
    carol = User(snowflakes.make(now), "carol")
    made: dict[int, Guild] = {}
    for number in range(1, guilds + 1):
        guild_id = snowflakes.make(now)
        name = "Radio Sandbox" if number == 1 else f"Radio Sandbox {number}"
        guild = Guild(id=guild_id, name=name, owner_id=carol.id, created=joined)
        everyone = Role(guild_id, "@everyone", permissions=EVERYONE_PERMISSIONS, position=0)
        admin = Role(snowflakes.make(now), "admin", permissions=ADMINISTRATOR, position=3)
        dj = Role(snowflakes.make(now), "dj", permissions=0, position=2)
        listener = Role(snowflakes.make(now), "listener", permissions=0, position=1)
        for role in (everyone, admin, dj, listener):
            guild.roles[role.id] = role
        rooms = [
            (ChannelType.TEXT, "studio"),
            (ChannelType.VOICE, "On Air"),
            (ChannelType.STAGE, "Stage"),
        ]
        rooms += [(ChannelType.STAGE, f"Stage {n}") for n in range(2, stages + 1)]
        for position, (kind, room) in enumerate(rooms):
            channel = Channel(snowflakes.make(now), kind, room, position)
            guild.channels[channel.id] = channel
        members = [(account, [admin.id]) for account in accounts.values()]
        members += [(alice, [listener.id]), (bob, [dj.id]), (carol, [admin.id])]
        for user, roles in members:
            guild.members[user.id] = Member(user=user, role_ids=roles, joined_at=joined)
        made[guild.id] = guild
    return World(
        bot=bot,
        application_id=bot.id,
        token=token,
        guilds=made,
        listener=alice,
        people={"alice": alice, "bob": bob, "carol": carol},
        bots=accounts,
    )


@dataclass
class Interaction:
    """A slash command a member ran, and how the bot answered it."""

    id: int
    token: str
    channel_id: int
    user_id: int
    name: str
    options: list[JSON]
    response_type: int | None = None  # 4 message, 5 deferred, ...
    response_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
