"""What announcements and the schedule do on Discord: the calls, in one place.

:class:`Effects` carries out the actions the
:class:`~radio.bot.announcements.Announcer` hands out (presence, now-playing
post or edit, stage topic, voice status, alerts); :func:`apply_schedule`
carries out a scheduled-events plan (:mod:`radio.bot.schedule`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import discord

from radio.bot.announcements import (
    Action,
    Alert,
    NowPlaying,
    NowPlayingMode,
    SetPresence,
    SetStageTopic,
    SetVoiceStatus,
)
from radio.bot.schedule import Change, Create, Delete, EventSpec, ExistingEvent, Update, plan

logger = logging.getLogger(__name__)


class Effects:
    """Performs announcement actions with ``client``; remembers its now-playing posts."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self._last_embed: dict[int, discord.Message] = {}  # channel → our now-playing post

    async def perform(self, action: Action) -> None:
        """Carry out ``action``; rooms that are gone or of another kind are skipped.

        Raises discord.RateLimited (the caller keeps the state for later) and
        discord.HTTPException.
        """
        client = self._client
        match action:
            case SetPresence(text=None):
                await client.change_presence(activity=None)
            case SetPresence(text=str(text)):
                activity = discord.Activity(type=discord.ActivityType.listening, name=text)
                await client.change_presence(activity=activity)
            case NowPlaying(channel_id=channel_id, embed=embed, mode=mode):
                await self._now_playing(channel_id, discord.Embed.from_dict(embed), mode)
            case SetStageTopic(channel_id=channel_id, topic=topic):
                stage = client.get_channel(channel_id)
                if isinstance(stage, discord.StageChannel):
                    instance = stage.instance or await _fetch_instance(stage)
                    if instance is None:
                        await stage.create_instance(topic=topic)
                    else:
                        await instance.edit(topic=topic)
            case SetVoiceStatus(channel_id=channel_id, text=text):
                voice = client.get_channel(channel_id)
                if isinstance(voice, discord.VoiceChannel):
                    await voice.edit(status=text)
            case Alert(channel_id=channel_id, content=content):
                room = client.get_channel(channel_id)
                if isinstance(room, discord.TextChannel):
                    await room.send(content, allowed_mentions=discord.AllowedMentions.none())

    async def _now_playing(
        self, channel_id: int, embed: discord.Embed, mode: NowPlayingMode
    ) -> None:
        channel = self._client.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            return
        last = self._last_embed.get(channel_id)
        if mode == "edit" and last is not None:
            try:
                await last.edit(embed=embed)
                return
            except discord.NotFound:
                pass  # someone deleted it: post a new one
        self._last_embed[channel_id] = await channel.send(
            embed=embed, allowed_mentions=discord.AllowedMentions.none()
        )


async def _fetch_instance(stage: discord.StageChannel) -> discord.StageInstance | None:
    try:
        return await stage.fetch_instance()
    except discord.NotFound:
        return None


async def apply_schedule(
    guild: discord.Guild,
    channel: discord.VoiceChannel | discord.StageChannel,
    desired: Sequence[EventSpec],
) -> list[Change]:
    """Make ``guild``'s scheduled events match ``desired`` in ``channel``; return what was done.

    Only the station's own events (marked in their description) are touched.
    A change Discord refuses is logged and skipped; a rate limit ends the run
    (the next run goes on). Raises discord.HTTPException when the events
    cannot even be listed.
    """
    events = {event.id: event for event in await guild.fetch_scheduled_events()}
    existing = [
        ExistingEvent(e.id, e.name, e.start_time, e.end_time, e.description or "")
        for e in events.values()
    ]
    done: list[Change] = []
    for change in plan(desired, existing):
        try:
            match change:
                case Delete(event_id=event_id):
                    await events[event_id].delete()
                case Update(event_id=event_id, spec=spec):
                    await events[event_id].edit(
                        name=spec.name,
                        start_time=spec.start,
                        end_time=spec.end,
                        description=spec.full_description(),
                    )
                case Create(spec=spec):
                    await guild.create_scheduled_event(
                        name=spec.name,
                        start_time=spec.start,
                        end_time=spec.end,
                        channel=channel,  # a voice or stage event, by the room's kind
                        privacy_level=discord.PrivacyLevel.guild_only,
                        description=spec.full_description(),
                    )
        except discord.RateLimited as exc:
            logger.warning("scheduled events rate-limited (%.0f s): later", exc.retry_after)
            break
        except discord.HTTPException as exc:
            logger.warning("scheduled event change %r failed: %s", change, exc)
            continue
        done.append(change)
    return done
