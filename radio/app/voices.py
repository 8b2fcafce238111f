"""The station's voices, from the ``discord:`` section: one bot per account, one feed.

:func:`station_voices` turns :meth:`~radio.bot.config.DiscordConfig.voice_plan`
into a :class:`~radio.bot.voices.Voices`: the first voice is the station's own
bot (built by the application, run by it: commands, announcements), every other
voice a :func:`~radio.bot.voices.follower` of it sharing its feed, broadcaster
and send loop. Tokens come from the variables the voices name, read from the
environment then ``.env`` (:func:`radio.settings.secret_from_env`) when the
follower starts: a missing one is told to the admins and leaves that voice off.
"""

from __future__ import annotations

from typing import Any

from radio.bot.announcements import Announcer
from radio.bot.client import RadioBot
from radio.bot.config import DiscordConfig
from radio.bot.voices import TokenLookup, Voices, follower
from radio.events import EventBus
from radio.settings import secret_from_env


def _environment_token(name: str) -> str:
    return secret_from_env(name).get_secret_value()


def station_voices(
    config: DiscordConfig,
    primary: RadioBot[Any],
    *,
    station: str,
    events: EventBus,
    announcer: Announcer,
    token: TokenLookup = _environment_token,
    bot_options: dict[str, Any] | None = None,
) -> Voices:
    """Every voice of the station: ``primary`` first, then a follower per other voice.

    ``bot_options`` go to each follower's ``discord.Client`` (as the
    application's ``AppOptions.bot_options`` go to the primary's). Must be
    called inside the running event loop.
    """
    first, *others = config.voice_plan()
    followers = [
        (
            voice,
            follower(
                primary, voice, station=station, subscribe=events.subscribe, **(bot_options or {})
            ),
        )
        for voice in others
    ]
    return Voices(
        (first, primary),
        followers,
        token=token,
        supervisor=primary.supervisor,
        alerts=announcer,
        backoff=primary.backoff,
    )


def primary_options(config: DiscordConfig) -> dict[str, Any]:
    """The primary bot's :class:`RadioBot` keywords for its voice: its rooms, and its
    name in the admins' messages when the station has other voices."""
    first, *others = config.voice_plan()
    return {"rooms": first.rooms, "voice_name": first.name if others else ""}
