"""Who may go live when: the grid's answer for one presenter (pure).

A DJ or admin (``privileged``) may go live at any time, to rescue a broadcast or
hand over; their session belongs to the show on air, if any. Anyone else must be
listed, by user ID or by one of their roles, in the ``presenters`` of a show
that allows live (``live: {allowed: true}``) and is on air, or starts within its
``early`` margin.
"""

from __future__ import annotations

from dataclasses import dataclass

from radio.errors import LiveRefused
from radio.grid.live_slot import LiveSlot


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """What the live rules need to know of a Discord member."""

    name: str
    role_ids: frozenset[int]
    privileged: bool


def listed(user_id: int, role_ids: frozenset[int], slot: LiveSlot) -> bool:
    """Is the member among ``slot``'s presenters, by user ID or by role?"""
    return user_id in slot.presenters or bool(role_ids & slot.presenters)


def live_slot_for(user_id: int, member: MemberInfo, slots: list[LiveSlot]) -> LiveSlot | None:
    """The slot ``member`` goes live in, from ``slots`` (the show on air first, then
    the next one within its early margin). None: a privileged member with no show on air.

    Raises LiveRefused(403) with the reason, fit to show the presenter.
    """
    if member.privileged:
        return slots[0] if slots else None
    mine = [slot for slot in slots if listed(user_id, member.role_ids, slot)]
    for slot in mine:
        if slot.allowed:
            return slot
    if mine:
        raise LiveRefused(
            403, f"{mine[0].title} is not a live show: its grid entry does not allow it."
        )
    if slots:
        raise LiveRefused(403, f"Only the presenters of {slots[0].title} can go live now.")
    raise LiveRefused(
        403, "No show of yours is on air or about to start, so you cannot go live now."
    )


__all__ = ["MemberInfo", "listed", "live_slot_for"]
