"""Who may do what: role checks from the configured role IDs, as pure functions.

Levels: listener, presenter, DJ, programmer, admin, owner. Higher levels include
lower ones where that makes sense: an admin is also a DJ, programmer and
presenter; the owner is everything. Going live is decided by the grid, not by a
role alone: only a member listed (by user or role ID) in the ``presenters`` of
the show on air now may, or an admin rescuing a broadcast.

The same functions serve slash and prefix commands; a refusal carries the reply
to send privately to the member.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from radio.bot.config import RolesConfig


class Level(StrEnum):
    """A permission level of the station's commands."""

    LISTENER = "listener"
    PRESENTER = "presenter"
    DJ = "dj"
    PROGRAMMER = "programmer"
    ADMIN = "admin"
    OWNER = "owner"


_INCLUDES: dict[Level, frozenset[Level]] = {
    Level.LISTENER: frozenset({Level.LISTENER}),
    Level.PRESENTER: frozenset({Level.PRESENTER, Level.LISTENER}),
    Level.DJ: frozenset({Level.DJ, Level.LISTENER}),
    Level.PROGRAMMER: frozenset({Level.PROGRAMMER, Level.LISTENER}),
    Level.ADMIN: frozenset(
        {Level.ADMIN, Level.PROGRAMMER, Level.DJ, Level.PRESENTER, Level.LISTENER}
    ),
    Level.OWNER: frozenset(Level),
}

# How a refusal names the level to the member.
_NAMES: dict[Level, str] = {
    Level.LISTENER: "listeners",
    Level.PRESENTER: "presenters",
    Level.DJ: "DJs",
    Level.PROGRAMMER: "programmers",
    Level.ADMIN: "radio admins",
    Level.OWNER: "the bot's owner",
}


@dataclass(frozen=True, slots=True)
class Member:
    """What the checks need to know of a guild member.

    ``administrator`` is Discord's Administrator permission (the guild owner has it).
    """

    user_id: int
    role_ids: frozenset[int]
    administrator: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of a check; ``reason`` is the private reply when refused."""

    allowed: bool
    reason: str = ""


class SlotInfo(Protocol):
    """The show on air as the grid describes it (``radio.grid.live_slot.LiveSlot`` is one)."""

    @property
    def title(self) -> str: ...

    @property
    def presenters(self) -> frozenset[int]:
        """Discord user or role IDs who present the show."""
        ...

    @property
    def allowed(self) -> bool:
        """Whether the show's live policy allows going live."""
        ...


@dataclass(frozen=True, slots=True)
class Slot:
    """A plain :class:`SlotInfo` (for tests and simple wiring)."""

    title: str
    presenters: frozenset[int]
    allowed: bool = True


SlotNow = Callable[[], SlotInfo | None]


def levels_of(member: Member, roles: RolesConfig, owners: frozenset[int]) -> frozenset[Level]:
    """Every level ``member`` holds in a guild configured with ``roles``."""
    held: set[Level] = set()
    if member.user_id in owners:
        held.add(Level.OWNER)
    if member.administrator and roles.discord_administrators_are_admins:
        held.add(Level.ADMIN)
    configured = {
        Level.PRESENTER: roles.presenter,
        Level.DJ: roles.dj,
        Level.PROGRAMMER: roles.programmer,
        Level.ADMIN: roles.admin,
    }
    for level, role_ids in configured.items():
        if member.role_ids & role_ids:
            held.add(level)
    if not roles.listener or member.role_ids & roles.listener:
        held.add(Level.LISTENER)
    return frozenset().union(*(_INCLUDES[level] for level in held))


def check(member: Member, required: Level, roles: RolesConfig, owners: frozenset[int]) -> Decision:
    """May ``member`` use a command of level ``required``? Says why not when refused."""
    if required in levels_of(member, roles, owners):
        return Decision(True)
    if required is Level.OWNER:
        return Decision(False, "This command is for the bot's owner only.")
    role_ids = _granting_roles(required, roles)
    if not role_ids:
        return Decision(
            False,
            f"This command is for {_NAMES[required]}, and no role for them is configured"
            " on this server; ask a radio admin.",
        )
    mentions = ", ".join(f"<@&{rid}>" for rid in sorted(role_ids))
    return Decision(
        False, f"This command is for {_NAMES[required]}: you need one of these roles: {mentions}."
    )


def check_live(
    member: Member, roles: RolesConfig, owners: frozenset[int], slot_now: SlotNow
) -> Decision:
    """May ``member`` go live now? ``slot_now`` asks the grid for the show on air.

    Admins (and the owner) always may, to rescue a broadcast; anyone else must
    be listed in the presenters of the show on air, by user ID or by a role,
    and the show's live policy must allow it.
    """
    if Level.ADMIN in levels_of(member, roles, owners):
        return Decision(True)
    slot = slot_now()
    if slot is None or not slot.presenters:
        return Decision(False, "No show with presenters is on air now, so nobody can go live.")
    if not (member.user_id in slot.presenters or member.role_ids & slot.presenters):
        return Decision(False, f"Only the presenters of {slot.title} can go live now.")
    if not slot.allowed:
        return Decision(
            False, f"{slot.title} is not a live show: its grid entry does not allow it."
        )
    return Decision(True)


def _granting_roles(required: Level, roles: RolesConfig) -> frozenset[int]:
    """Role IDs whose holders reach ``required``."""
    by_level = {
        Level.LISTENER: roles.listener,
        Level.PRESENTER: roles.presenter,
        Level.DJ: roles.dj,
        Level.PROGRAMMER: roles.programmer,
        Level.ADMIN: roles.admin,
    }
    return frozenset().union(
        *(ids for level, ids in by_level.items() if required in _INCLUDES[level])
    )
