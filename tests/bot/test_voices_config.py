"""The ``voices:`` of the discord section: who broadcasts where, and every refusal.

Loaded through the station file loader so that problems come as
``path:line:col`` like every other station file error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from radio.bot.config import DiscordConfig, load_discord_config
from radio.bot.settings_card import Deployment, settings_embed
from radio.errors import ConfigError

GUILDS = "  guilds:\n    - {id: 1, broadcast: 10}\n    - {id: 2, broadcast: 20}\n"


def load(tmp_path: Path, voices: str) -> DiscordConfig:
    path = tmp_path / "station.yaml"
    path.write_text("name: Test FM\ndiscord:\n" + GUILDS + voices, encoding="utf-8")
    return load_discord_config(path)


def plan(config: DiscordConfig) -> list[tuple[str, str, dict[int, int], bool]]:
    return [(v.name, v.token_env, dict(v.rooms), v.primary) for v in config.voice_plan()]


def test_without_voices_the_one_voice_is_discord_token_in_every_broadcast_room(
    tmp_path: Path,
) -> None:
    assert plan(load(tmp_path, "")) == [("main", "DISCORD_TOKEN", {1: 10, 2: 20}, True)]


def test_two_stages_in_one_server_and_a_room_in_another(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "  voices:\n"
        "    - name: first\n"
        "    - token_env: RADIO_VOICE_2_TOKEN\n"
        "      rooms: [{guild: 1, room: 11}]\n"
        "    - name: far\n"
        "      token_env: RADIO_VOICE_3_TOKEN\n"
        "      rooms: [{guild: 2, room: 20}]\n",
    )
    # Guild 2's broadcast room is listed by "far": the first voice is not in guild 2.
    assert plan(config) == [
        ("first", "DISCORD_TOKEN", {1: 10}, True),
        ("voice 2", "RADIO_VOICE_2_TOKEN", {1: 11}, False),
        ("far", "RADIO_VOICE_3_TOKEN", {2: 20}, False),
    ]
    assert config.voice_plan()[2].describe() == "far (RADIO_VOICE_3_TOKEN)"


def test_the_first_voice_may_take_its_token_from_another_variable(tmp_path: Path) -> None:
    config = load(tmp_path, "  voices:\n    - {token_env: MAIN_BOT}\n")
    assert plan(config) == [("main", "MAIN_BOT", {1: 10, 2: 20}, True)]


@pytest.mark.parametrize(
    ("voices", "message"),
    [
        # One voice connection per bot per server.
        (
            "    - {}\n    - {token_env: B, rooms: [{guild: 1, room: 11}, {guild: 1, room: 12}]}\n",
            "two rooms in guild 1",
        ),
        (
            "    - {rooms: [{guild: 1, room: 11}]}\n",
            "two rooms in guild 1 (its broadcast room 10 and 11)",
        ),
        ("    - {}\n    - {token_env: B, rooms: [{guild: 3, room: 30}]}\n", "guild 3 is not in"),
        (
            "    - {}\n    - {token_env: B, rooms: [{guild: 1, room: 11}]}\n"
            "    - {token_env: C, rooms: [{guild: 2, room: 11}]}\n",
            "room 11 is listed by 'voice 2' and 'voice 3'",
        ),
        ("    - {}\n    - {token_env: B, rooms: [{guild: 2, room: 10}]}\n", "broadcast room of"),
        ("    - {}\n    - {token_env: B}\n", "lists no rooms"),
        ("    - {}\n    - {rooms: [{guild: 1, room: 11}]}\n", "token_env is required"),
        (
            "    - {}\n    - {token_env: DISCORD_TOKEN, rooms: [{guild: 1, room: 11}]}\n",
            "two voices read their token from DISCORD_TOKEN",
        ),
        (
            "    - {name: a}\n    - {name: a, token_env: B, rooms: [{guild: 1, room: 11}]}\n",
            "two voices are named 'a'",
        ),
        ("    - {token_env: 'not a name'}\n", "token_env"),
        ("    - {tokens: X}\n", "tokens"),
    ],
)
def test_refusals_name_the_rule(tmp_path: Path, voices: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "  voices:\n" + voices)
    assert message in str(caught.value)
    assert "station.yaml:" in str(caught.value)


def test_the_number_of_voices_is_bounded(tmp_path: Path) -> None:
    many = "".join(
        f"    - {{token_env: V{n}, rooms: [{{guild: 1, room: {100 + n}}}]}}\n" for n in range(30)
    )
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "  voices:\n    - {}\n" + many)
    assert "at most 25" in str(caught.value)


def test_the_settings_card_lists_every_voice_by_its_variable_and_its_room_here(
    tmp_path: Path,
) -> None:
    config = load(
        tmp_path,
        "  voices:\n"
        "    - {}\n"
        "    - {name: second, token_env: RADIO_VOICE_2_TOKEN, rooms: [{guild: 1, room: 11}]}\n"
        "    - {name: far, token_env: RADIO_VOICE_3_TOKEN, rooms: [{guild: 2, room: 20}]}\n",
    )
    card = settings_embed(
        config,
        config.guilds[0],
        station="Test FM",
        timezone="UTC",
        deployment=Deployment(Path("/srv"), "INFO"),
    )
    fields = {f["name"]: f["value"] for f in card["fields"]}
    assert fields["Voices"].splitlines() == [
        "main (`DISCORD_TOKEN`): <#10> · answers commands",
        "second (`RADIO_VOICE_2_TOKEN`): <#11>",
        "far (`RADIO_VOICE_3_TOKEN`): no room here (+1 in other servers)",
    ]
