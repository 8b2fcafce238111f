"""REST as discord.py needs it: exact JSON content type, auth, and Discord-shaped 429s."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from radio.sandbox import Emulator

from .bot import running_bot


async def test_login_answers_carry_exact_json_content_type(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bot {emulator.world.token}"}
    base = emulator.addresses.api_base
    async with aiohttp.ClientSession() as http:
        for path in ("/users/@me", "/oauth2/applications/@me", "/gateway/bot"):
            async with http.get(base + path, headers=headers) as answer:
                assert answer.status == 200
                assert answer.headers["Content-Type"] == "application/json"
        async with http.get(base + "/users/@me", headers={"Authorization": "Bot nope"}) as answer:
            assert answer.status == 401


async def test_bad_token_fails_login(emulator: Emulator) -> None:
    client = discord.Client(intents=discord.Intents.default())
    from radio.sandbox import point_discord_at

    point_discord_at(client, emulator.addresses)
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("wrong-token")
    finally:
        await client.close()


async def test_third_channel_edit_in_ten_minutes_is_a_429(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bot {emulator.world.token}"}
    url = f"{emulator.addresses.api_base}/channels/{emulator.world.text_channel.id}"
    answers = []
    async with aiohttp.ClientSession() as http:
        for topic in ("a", "b", "c"):
            async with http.patch(url, json={"topic": topic}, headers=headers) as answer:
                answers.append((answer.status, dict(answer.headers), await answer.json()))

    assert [status for status, _, _ in answers] == [200, 200, 429]
    _, limited_headers, body = answers[2]
    assert limited_headers["Content-Type"] == "application/json"
    assert limited_headers["Via"]
    assert limited_headers["X-RateLimit-Remaining"] == "0"
    assert 590.0 < body["retry_after"] <= 600.0
    assert body["global"] is False
    assert emulator.world.text_channel.topic == "b"
    assert emulator.rest.rate_limited == [("channel-edit", str(emulator.world.text_channel.id))]


async def test_discord_py_refuses_to_wait_out_a_channel_edit_window(emulator: Emulator) -> None:
    # With max_ratelimit_timeout, discord.py 2.7.1 refuses a request as soon as the
    # bucket's window (600 s, from X-RateLimit-Reset-After) is longer than the
    # timeout, even while requests remain: the second edit never leaves the client.
    async with running_bot(emulator, max_ratelimit_timeout=30.0) as bot:
        channel = bot.get_channel(emulator.world.text_channel.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.edit(topic="one")
        with pytest.raises(discord.RateLimited) as refused:
            await channel.edit(topic="two")

    assert refused.value.retry_after > 30.0
    assert emulator.world.text_channel.topic == "one"
    assert emulator.rest.rate_limited == []


async def test_sixth_message_in_five_seconds_is_a_429(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bot {emulator.world.token}"}
    url = f"{emulator.addresses.api_base}/channels/{emulator.world.text_channel.id}/messages"
    statuses = []
    async with aiohttp.ClientSession() as http:
        for i in range(6):
            async with http.post(url, json={"content": str(i)}, headers=headers) as answer:
                statuses.append(answer.status)

    assert statuses == [200] * 5 + [429]
    assert [m.content for m in emulator.world.messages_in(emulator.world.text_channel.id)] == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]


async def test_errors_are_discord_shaped(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bot {emulator.world.token}", "Content-Type": "application/json"}
    base = emulator.addresses.api_base
    text = emulator.world.text_channel.id
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/channels/{text}/messages", data=b"{", headers=headers) as bad:
            bad_json = (bad.status, await bad.json())
        async with http.get(f"{base}/channels/1/messages/2", headers=headers) as missing:
            unknown = (missing.status, await missing.json())
        voice = emulator.world.voice_channel.id
        async with http.post(
            f"{base}/stage-instances",
            json={"channel_id": str(voice), "topic": "x"},
            headers=headers,
        ) as not_stage:
            wrong_room = not_stage.status

    assert bad_json == (400, {"message": "The request body contains invalid JSON.", "code": 50109})
    assert unknown == (404, {"message": "Unknown Channel", "code": 10003})
    assert wrong_room == 404
    assert emulator.world.messages == {}
