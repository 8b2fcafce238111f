"""The local Discord refuses a message over Discord's limits exactly as Discord does.

Each limit is tried at its boundary (the limit passes, one more character fails)
on every route that carries a message: create, edit, interaction callback,
follow-up, and edits of an interaction's messages.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest

from radio.sandbox import Emulator
from radio.sandbox.state import Interaction

from .bot import TestBot


def too_long(limit: int) -> dict[str, Any]:
    return {
        "_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        ]
    }


async def post(
    emulator: Emulator, path: str, body: dict[str, Any], *, method: str = "POST", auth: bool = True
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bot {emulator.world.token}"} if auth else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, emulator.addresses.api_base + path, json=body, headers=headers
        ) as answer,
    ):
        assert answer.headers["Content-Type"] == "application/json"
        return answer.status, await answer.json()


def field(name: str = "n", value: str = "v") -> dict[str, str]:
    return {"name": name, "value": value}


# (body, the errors tree Discord answers): each one character over its limit.
OVER: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"content": "x" * 2001}, {"content": too_long(2000)}),
    ({"embeds": [{"title": "t" * 257}]}, {"embeds": {"0": {"title": too_long(256)}}}),
    (
        {"embeds": [{"description": "d" * 4097}]},
        {"embeds": {"0": {"description": too_long(4096)}}},
    ),
    (
        {"embeds": [{"fields": [field()] * 26}]},
        {"embeds": {"0": {"fields": too_long(25)}}},
    ),
    (
        {"embeds": [{"title": "ok"}, {"fields": [field(), field(name="n" * 257)]}]},
        {"embeds": {"1": {"fields": {"1": {"name": too_long(256)}}}}},
    ),
    (
        {"embeds": [{"fields": [field(value="v" * 1025)]}]},
        {"embeds": {"0": {"fields": {"0": {"value": too_long(1024)}}}}},
    ),
    (
        {"embeds": [{"footer": {"text": "f" * 2049}}]},
        {"embeds": {"0": {"footer": {"text": too_long(2048)}}}},
    ),
    (
        {"embeds": [{"author": {"name": "a" * 257}}]},
        {"embeds": {"0": {"author": {"name": too_long(256)}}}},
    ),
    ({"embeds": [{"title": "t"}] * 11}, {"embeds": too_long(10)}),
    (
        # 2 x (4,096 + 1) = 8,194 > 6,000, each embed within its own limits
        {"embeds": [{"title": "t", "description": "d" * 4096}] * 2},
        {
            "embeds": {
                "_errors": [
                    {
                        "code": "MAX_EMBED_SIZE_EXCEEDED",
                        "message": "Embed size exceeds maximum size of 6000",
                    }
                ]
            }
        },
    ),
]

# Exactly at each limit: accepted.
AT: list[dict[str, Any]] = [
    {"content": "x" * 2000},
    {"embeds": [{"title": "t" * 256, "description": "d" * 4096}]},
    {"embeds": [{"fields": [field("n" * 56, "v" * 56)] * 25}]},  # 25 x 112 = 2,800
    {"embeds": [{"fields": [field("n" * 256, "v" * 1024)]}]},
    {"embeds": [{"footer": {"text": "f" * 2048}, "author": {"name": "a" * 256}}]},
    {"embeds": [{"title": "t"}] * 10},
    {"embeds": [{"description": "d" * 3000}, {"description": "d" * 3000}]},  # 6,000 in all
]


@pytest.mark.parametrize(("body", "errors"), OVER)
async def test_a_message_over_a_limit_is_refused_with_discords_body(
    emulator: Emulator, body: dict[str, Any], errors: dict[str, Any]
) -> None:
    channel = emulator.world.text_channel.id
    before = len(emulator.world.messages_in(channel))
    status, answer = await post(emulator, f"/channels/{channel}/messages", body)
    assert (status, answer) == (
        400,
        {"message": "Invalid Form Body", "code": 50035, "errors": errors},
    )
    assert len(emulator.world.messages_in(channel)) == before  # nothing was posted


@pytest.mark.parametrize("body", AT)
async def test_a_message_at_the_limits_is_accepted(
    emulator: Emulator, body: dict[str, Any]
) -> None:
    channel = emulator.world.text_channel.id
    status, _ = await post(emulator, f"/channels/{channel}/messages", body)
    assert status == 200
    assert len(emulator.world.messages_in(channel)) == 1


async def test_an_edit_over_a_limit_is_refused_and_the_message_kept(
    emulator: Emulator,
) -> None:
    channel = emulator.world.text_channel.id
    status, created = await post(emulator, f"/channels/{channel}/messages", {"content": "short"})
    assert status == 200
    path = f"/channels/{channel}/messages/{created['id']}"
    status, answer = await post(emulator, path, {"content": "x" * 2001}, method="PATCH")
    assert (status, answer["errors"]) == (400, {"content": too_long(2000)})
    assert emulator.world.messages[int(created["id"])].content == "short"
    status, _ = await post(emulator, path, {"content": "x" * 2000}, method="PATCH")
    assert status == 200


async def test_discord_py_raises_what_discord_says(emulator: Emulator, bot: TestBot) -> None:
    channel = bot.get_channel(emulator.world.text_channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as refused:
        await channel.send(embed=discord.Embed(title="t").add_field(name="n", value="v" * 1025))
    assert (refused.value.status, refused.value.code) == (400, 50035)
    assert refused.value.text == (
        "Invalid Form Body\nIn embeds.0.fields.0.value: Must be 1024 or fewer in length."
    )


async def interaction(emulator: Emulator, bot: TestBot) -> Interaction:
    """An interaction to answer: /ping, registered by the test bot's application."""
    emulator.world.commands[emulator.world.guild.id] = [
        {"id": "1", "name": "ping", "type": 1, "options": []}
    ]
    return await emulator.inject_interaction("alice", "ping")


async def test_interaction_answers_over_a_limit_are_refused(
    emulator: Emulator, bot: TestBot
) -> None:
    asked = await interaction(emulator, bot)
    callback = f"/interactions/{asked.id}/{asked.token}/callback"
    over = {"type": 4, "data": {"content": "x" * 2001, "flags": 64}}
    status, answer = await post(emulator, callback, over, auth=False)
    assert (status, answer["code"], answer["errors"]) == (
        400,
        50035,
        {"data": {"content": too_long(2000)}},
    )
    assert asked.response_type is None  # still to be answered
    status, _ = await post(emulator, callback, {"type": 5}, auth=False)
    assert status == 200

    app = emulator.world.application_id
    followup = f"/webhooks/{app}/{asked.token}"
    big = {"embeds": [{"description": "d" * 4097}]}
    status, answer = await post(emulator, followup, big, auth=False)
    assert (status, answer["errors"]) == (400, {"embeds": {"0": {"description": too_long(4096)}}})
    status, answer = await post(
        emulator,
        followup + "/messages/@original",
        {"content": "y" * 2001},
        method="PATCH",
        auth=False,
    )
    assert (status, answer["errors"]) == (400, {"content": too_long(2000)})
    status, answer = await post(
        emulator,
        followup + "/messages/@original",
        {"content": "y" * 2000},
        method="PATCH",
        auth=False,
    )
    assert status == 200
