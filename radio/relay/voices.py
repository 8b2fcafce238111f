"""A relay node's voices: its bot accounts, all equal, fed by one pacing.

::

    RelayFeed ──► Broadcaster ── SendLoop          (the node's own: one pull of the
                     │                              jitter buffer per 20 ms frame)
                     ├── voice 1's rooms   RadioBot (announces: now playing, topics, alerts)
                     ├── voice 2's rooms   follower of voice 1 (presence only)
                     └── voice 3's rooms   follower of voice 1 (presence only)

Every voice (``discord.voices`` of the relay file,
:meth:`~radio.relay.config.RelayFile.voice_plan`) is a
:class:`~radio.bot.client.RadioBot` given the node's broadcaster and send
loop, so the packets are taken from the jitter buffer once per frame and fanned
out to every room of every voice; no voice owns the pacing, so a voice that is
off (no token, token refused) silences only its own rooms. The first voice
posts what the node announces (it is a bot like the others otherwise); the
others are :func:`~radio.bot.voices.follower`\\ s of it, whose presence follows
the titles. :class:`~radio.bot.voices.Voices` runs them all (no primary: a
relay has no commands) and reports each on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from radio.bot.announcements import Announcer
from radio.bot.client import Backoff, RadioBot
from radio.bot.config import DiscordConfig, Voice
from radio.bot.sender import Broadcaster
from radio.bot.sendloop import SendLoop
from radio.bot.voices import TokenLookup, Voices, VoiceStatus, follower
from radio.clock import Clock
from radio.errors import ConfigError
from radio.events import Event
from radio.relay.feed import RelayFeed
from radio.tasks import Supervisor

REFUSED_HINT = "copy it again from the Developer Portal (Applications → Bot → Reset Token)"


def relay_voices(
    plan: Sequence[Voice],
    config: DiscordConfig,
    feed: RelayFeed,
    *,
    station: str,
    clock: Clock,
    announcer: Announcer,
    broadcaster: Broadcaster,
    send_loop: SendLoop,
    supervisor: Supervisor,
    backoff: Backoff,
    token: TokenLookup,
    subscribe: Callable[[Callable[[Event], None]], object],
    connect_timeout: float,
    poll_interval: float,
    monotonic: Callable[[], float],
    bot_options: dict[str, Any] | None = None,
) -> Voices:
    """The node's voices, each a bot on ``broadcaster`` and ``send_loop`` (see the module).

    ``announcer`` is the node's (the first voice posts it; every voice's
    problems go to it); ``subscribe`` registers the other voices' presence with
    whatever hands the node's titles out. ``bot_options`` go to every
    ``discord.Client``. Must be called inside the running event loop.
    """
    first, *others = plan
    options = bot_options or {}
    lead: RadioBot[RelayFeed] = RadioBot(
        config,
        feed,
        clock=clock,
        announcer=announcer,
        backoff=backoff,
        connect_timeout=connect_timeout,
        poll_interval=poll_interval,
        sync_commands=False,
        monotonic=monotonic,
        supervisor=supervisor,
        rooms=first.rooms,
        voice_name=first.name if others else "",
        broadcaster=broadcaster,
        send_loop=send_loop,
        **options,
    )
    bots: list[tuple[Voice, RadioBot[Any]]] = [(first, lead)]
    bots += [
        (voice, follower(lead, voice, station=station, subscribe=subscribe, **options))
        for voice in others
    ]
    return Voices(
        None,
        bots,
        token=token,
        supervisor=supervisor,
        alerts=announcer,
        backoff=backoff,
        node="relay",
    )


def require_a_token(plan: Sequence[Voice], token: TokenLookup) -> None:
    """Raise the first voice's ConfigError when no voice of ``plan`` has a token.

    A voice without one is only told when it starts (the others play on); a
    node none of whose voices could log in stops before it starts.
    """
    problems: list[ConfigError] = []
    for voice in plan:
        try:
            token(voice.token_env)
        except ConfigError as exc:
            problems.append(exc)
        else:
            return
    raise problems[0]


def why_all_off(voices: Voices) -> str:
    """Why no voice broadcasts, one line per voice (its token's variable first)."""
    lines = []
    for entry in voices.all:
        variable = entry.voice.token_env
        if entry.status is VoiceStatus.REFUSED:
            lines.append(f"{variable}: Discord refused the token; {REFUSED_HINT}")
        elif entry.status is VoiceStatus.NO_TOKEN:
            lines.append(entry.problem)  # names the variable itself
        else:
            lines.append(f"{variable}: {entry.problem or entry.status}")
    if len(lines) == 1:
        return lines[0]
    return "no voice of the relay can broadcast:\n" + "\n".join(f"  {line}" for line in lines)
