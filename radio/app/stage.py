"""The stage's talk-over, assembled: who may key the station's duck, how deep, and
the Discord side that hears them (radio.live.talkover, radio.bot.stage_mic).

A member may key the duck when they are a DJ or admin of a configured guild, or
listed (by user or role) among the presenters of the show on air. The show's
``live.mic`` is the default of everyone's mic switch; its ``live.duck`` (else
station.yaml's ``live.duck``) is the depth, applied at each refresh (every few
seconds and at every voice-state change).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from radio.bot.client import RadioBot
from radio.bot.config import DiscordConfig
from radio.bot.permissions import Level, Member, levels_of
from radio.bot.stage_mic import StageMic, receiving_voice_client
from radio.grid.model import ShowModel
from radio.grid.onair import OnAir
from radio.live.policy import listed
from radio.live.talkover import TalkOver

logger = logging.getLogger(__name__)


class StageTalkOver:
    """Builds the talk-over for ``bot`` (sets its ``voice_class``; add :attr:`cog`)."""

    def __init__(
        self,
        bot: RadioBot,
        config: DiscordConfig,
        onair: OnAir,
        monotonic: Callable[[], float],
        *,
        on_change: Callable[[tuple[int, ...]], None] = lambda users: None,
    ) -> None:
        self._bot = bot
        self._config = config
        self._onair = onair
        self.talkover = TalkOver(
            onair.station.duck,
            monotonic,
            allowed=self.allowed,
            mic_default=self.mic_default,
            on_change=on_change,
        )
        bot.voice_class = receiving_voice_client(self.talkover)
        rooms = {guild.id: guild.broadcast for guild in config.guilds}
        self.cog = StageMic(bot, self.talkover, rooms=rooms.get, before_refresh=self.apply_depth)

    def _show(self) -> ShowModel | None:
        slot = self._onair.live_slot()
        if slot is None:
            return None
        return next((s for s in self._onair.station.grid.shows if s.id == slot.show_id), None)

    def mic_default(self) -> bool:
        """The show on air's ``live.mic`` (True without a show)."""
        show = self._show()
        return True if show is None else show.live.mic

    def apply_depth(self) -> None:
        """Set the duck's depth from the show on air (else the station's)."""
        show = self._show()
        depth = show.live.duck if show is not None else None
        if depth is None:
            depth = self._onair.live_settings.duck
        if depth != self._onair.station.duck.depth_db:
            self._onair.station.duck.set_depth(depth)

    def names(self, user_ids: tuple[int, ...]) -> tuple[str, ...]:
        """The members' display names, from the member cache (their id when unknown)."""
        found: list[str] = []
        for user_id in user_ids:
            name = str(user_id)
            for guild_config in self._config.guilds:
                guild = self._bot.get_guild(guild_config.id)
                member = guild.get_member(user_id) if guild is not None else None
                if member is not None:
                    name = member.display_name
                    break
            found.append(name)
        return tuple(found)

    def allowed(self, user_id: int) -> bool:
        """A DJ/admin, or a presenter of the show on air (from the member cache)."""
        slot = self._onair.live_slot()
        for guild_config in self._config.guilds:
            guild = self._bot.get_guild(guild_config.id)
            member = guild.get_member(user_id) if guild is not None else None
            if member is None:
                continue
            roles = frozenset(role.id for role in member.roles)
            levels = levels_of(
                Member(user_id, roles, administrator=member.guild_permissions.administrator),
                guild_config.roles,
                self._config.owners,
            )
            if Level.DJ in levels or (slot is not None and listed(user_id, roles, slot)):
                return True
        return False


__all__ = ["StageTalkOver"]
