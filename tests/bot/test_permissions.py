"""Role checks: a table of members × levels, refusals that say what is needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from radio.bot.config import DiscordConfig, RolesConfig, load_discord_config
from radio.bot.permissions import Level, Member, Slot, check, check_live, levels_of
from radio.errors import ConfigError

PRESENTER, DJ, PROGRAMMER, ADMIN, VERIFIED = 501, 502, 503, 504, 505
OWNER_ID = 9
ROLES = RolesConfig(presenter={PRESENTER}, dj={DJ}, programmer={PROGRAMMER}, admin={ADMIN})
OWNERS = frozenset({OWNER_ID})

L, P, D, G, A, OWN = (
    Level.LISTENER,
    Level.PRESENTER,
    Level.DJ,
    Level.PROGRAMMER,
    Level.ADMIN,
    Level.OWNER,
)


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        (Member(1, frozenset()), {L}),
        (Member(2, frozenset({PRESENTER})), {L, P}),
        (Member(3, frozenset({DJ})), {L, D}),
        (Member(4, frozenset({PROGRAMMER})), {L, G}),
        (Member(5, frozenset({DJ, PROGRAMMER})), {L, D, G}),
        (Member(6, frozenset({ADMIN})), {L, P, D, G, A}),
        (Member(7, frozenset(), administrator=True), {L, P, D, G, A}),
        (Member(OWNER_ID, frozenset()), {L, P, D, G, A, OWN}),
        (Member(8, frozenset({123456})), {L}),  # an unrelated role grants nothing
    ],
)
def test_levels_of(member: Member, expected: set[Level]) -> None:
    assert levels_of(member, ROLES, OWNERS) == expected


def test_discord_administrators_can_be_excluded() -> None:
    roles = RolesConfig(admin={ADMIN}, discord_administrators_are_admins=False)
    assert levels_of(Member(7, frozenset(), administrator=True), roles, OWNERS) == {L}


def test_listener_role_restricts_everyone_else() -> None:
    roles = RolesConfig(listener={VERIFIED}, dj={DJ})
    assert levels_of(Member(1, frozenset()), roles, OWNERS) == frozenset()
    assert levels_of(Member(1, frozenset({VERIFIED})), roles, OWNERS) == {L}
    assert levels_of(Member(1, frozenset({DJ})), roles, OWNERS) == {L, D}
    refusal = check(Member(1, frozenset()), L, roles, OWNERS)
    assert refusal == check(Member(1, frozenset()), Level.LISTENER, roles, OWNERS)
    assert not refusal.allowed
    assert refusal.reason == (
        f"This command is for listeners: you need one of these roles: <@&{DJ}>, <@&{VERIFIED}>."
    )


def test_refusals_name_the_roles_that_would_allow_it() -> None:
    listener = Member(1, frozenset())
    assert check(listener, L, ROLES, OWNERS).allowed
    dj = check(listener, D, ROLES, OWNERS)
    assert dj == check(listener, Level.DJ, ROLES, OWNERS)
    assert not dj.allowed
    assert dj.reason == (
        f"This command is for DJs: you need one of these roles: <@&{DJ}>, <@&{ADMIN}>."
    )
    assert check(listener, A, ROLES, OWNERS).reason == (
        f"This command is for radio admins: you need one of these roles: <@&{ADMIN}>."
    )
    assert check(Member(6, frozenset({ADMIN})), OWN, ROLES, OWNERS).reason == (
        "This command is for the bot's owner only."
    )
    assert check(Member(OWNER_ID, frozenset()), OWN, ROLES, OWNERS).allowed


def test_refusal_when_no_role_is_configured() -> None:
    decision = check(Member(1, frozenset()), G, RolesConfig(), OWNERS)
    assert not decision.allowed
    assert "no role for them is configured on this server" in decision.reason


def test_going_live_follows_the_slot_on_air() -> None:
    slot = Slot("Evening Live", presenters=frozenset({42, PRESENTER}))

    def on_air() -> Slot | None:
        return slot

    assert check_live(Member(42, frozenset()), ROLES, OWNERS, on_air).allowed  # by user ID
    assert check_live(Member(43, frozenset({PRESENTER})), ROLES, OWNERS, on_air).allowed
    refused = check_live(Member(44, frozenset({DJ})), ROLES, OWNERS, on_air)
    assert refused.reason == "Only the presenters of Evening Live can go live now."
    assert check_live(Member(45, frozenset({ADMIN})), ROLES, OWNERS, on_air).allowed
    nothing = check_live(Member(42, frozenset()), ROLES, OWNERS, lambda: None)
    assert nothing.reason == "No show with presenters is on air now, so nobody can go live."
    recorded = Slot("Morning Hits", presenters=frozenset({42}), allowed=False)
    not_live = check_live(Member(42, frozenset()), ROLES, OWNERS, lambda: recorded)
    assert not_live.reason == "Morning Hits is not a live show: its grid entry does not allow it."
    assert check_live(Member(45, frozenset({ADMIN})), ROLES, OWNERS, lambda: recorded).allowed


def test_the_grids_live_slot_is_a_slot() -> None:
    from radio.grid.live_slot import LiveSlot

    live = LiveSlot("evening", "Evening Live", frozenset({42}), allowed=True, record=False)
    assert check_live(Member(42, frozenset()), ROLES, OWNERS, lambda: live).allowed


def test_slot_is_asked_only_when_needed() -> None:
    asked: list[int] = []

    def on_air() -> Slot | None:
        asked.append(1)
        return None

    check_live(Member(OWNER_ID, frozenset()), ROLES, OWNERS, on_air)
    assert asked == []
    check_live(Member(1, frozenset()), ROLES, OWNERS, on_air)
    assert asked == [1]


def test_discord_config_validation() -> None:
    config = DiscordConfig.model_validate(
        {
            "guilds": [
                {"id": 1, "broadcast": 10, "programmers": 12, "roles": {"dj": [5]}},
                {"id": 2, "broadcast": 20, "admins": 21, "programmers": 22},
            ]
        }
    )
    first, second = config.guild(1), config.guild(2)
    assert first is not None and second is not None
    assert first.roles.dj == {5}
    assert first.admin_room == 12
    assert second.admin_room == 21
    assert config.guild(3) is None
    with pytest.raises(ValidationError, match="guild listed twice: 1"):
        DiscordConfig.model_validate(
            {"guilds": [{"id": 1, "broadcast": 10}, {"id": 1, "broadcast": 11}]}
        )
    with pytest.raises(ValidationError, match=r"Extra inputs are not permitted"):
        DiscordConfig.model_validate({"guilds": [{"id": 1, "broadcast": 10, "rols": {}}]})
    with pytest.raises(ValidationError):
        DiscordConfig.model_validate({"guilds": [{"id": 1, "broadcast": [10, 11]}]})


def test_discord_section_errors_are_reported_with_positions(tmp_path: Path) -> None:
    station = tmp_path / "station.yaml"
    station.write_text(
        "name: Test\n"
        "timezone: Europe/Paris\n"
        "fallback: music\n"
        "discord:\n"
        "  guilds:\n"
        "    - id: 1\n"
        "      broadcast: 10\n"
        "      roles:\n"
        "        dj: [5]\n"
        "        deejay: [6]\n"
        "    - id: 2\n"
        "      broadcast: -3\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_discord_config(station)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{station}: the discord section is invalid:"
    assert lines[1].strip().startswith(f"{station}:10:9 E100 unknown key 'deejay'")
    assert lines[2].strip().startswith(f"{station}:12:18 E110")
    station.write_text(
        "timezone: Europe/Paris\ndiscord:\n  guilds:\n    - id: 1\n      broadcast: 10\n"
    )
    config = load_discord_config(station)
    assert config.guild(1) is not None
    assert config.now_playing == "post"
