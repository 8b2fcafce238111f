"""The close-code classifier reads discord.py's voice log, per polling task and guild."""

from __future__ import annotations

import asyncio
import logging

from radio.bot.voiceclose import VOICE_LOGGER, VoiceCloseLog

voice_log = logging.getLogger(VOICE_LOGGER)
TERMINATED = "The voice handshake is being terminated for Channel ID %s (Guild ID %s)"


async def poll_task(lines: list[tuple[str, tuple[object, ...]]]) -> None:
    for message, args in lines:
        voice_log.info(message, *args)
        await asyncio.sleep(0)  # let the other guild's task interleave


async def test_codes_are_paired_with_their_guild_by_task() -> None:
    closes = VoiceCloseLog()
    closes.install()
    try:
        await asyncio.gather(
            poll_task(
                [
                    ("Disconnected from voice by force... potentially reconnecting.", ()),
                    ("Reconnect was unsuccessful, disconnecting from voice normally...", ()),
                    (TERMINATED, (10, 1)),
                ]
            ),
            poll_task(
                [
                    ("Disconnected from voice, attempting a resume...", ()),
                    ("Could not resume the voice connection... Disconnecting...", ()),
                    (TERMINATED, (20, 2)),
                ]
            ),
            poll_task(
                [
                    ("Disconnected from voice by discord, close code %d.", (4022,)),
                    (TERMINATED, (30, 3)),
                ]
            ),
            poll_task(
                [
                    (
                        "We are being ratelimited while trying to connect to voice."
                        " Disconnecting...",
                        (),
                    ),
                    (TERMINATED, (40, 4)),
                ]
            ),
            poll_task([(TERMINATED, (50, 5))]),  # we left on purpose: nothing to learn
        )
        assert [closes.take(g) for g in (1, 2, 3, 4, 5)] == [4014, 4015, 4022, 4021, None]
        assert closes.take(1) is None  # taken once
    finally:
        closes.uninstall()
    assert closes not in voice_log.handlers


def test_install_makes_info_visible_to_the_handler() -> None:
    previous = voice_log.level
    voice_log.setLevel(logging.WARNING)
    closes = VoiceCloseLog()
    try:
        closes.install()
        closes.install()
        assert voice_log.handlers.count(closes) == 1
        assert voice_log.isEnabledFor(logging.INFO)
    finally:
        closes.uninstall()
        voice_log.setLevel(previous)


async def test_a_kick_terminated_by_another_task_pairs_with_the_only_pending_code() -> None:
    closes = VoiceCloseLog()
    closes.install()
    release = asyncio.Event()

    async def polling(message: str, *args: object) -> None:
        voice_log.info(message, *args)
        await release.wait()  # the polling task lives on while another ends the connection

    async def terminating(guild: int) -> None:
        voice_log.info(TERMINATED, guild * 10, guild)

    try:
        first = asyncio.create_task(
            polling("Disconnected from voice by force... potentially reconnecting.")
        )
        await asyncio.sleep(0)
        await asyncio.create_task(terminating(1))  # the gateway's task
        assert closes.take(1) == 4014
        # Two pending codes from two live tasks: whose is it? Unknown, not a guess.
        second = asyncio.create_task(
            polling("Disconnected from voice by discord, close code %d.", 4014)
        )
        third = asyncio.create_task(
            polling("Could not resume the voice connection... Disconnecting...")
        )
        await asyncio.sleep(0)
        await asyncio.create_task(terminating(2))
        assert closes.take(2) is None
        release.set()
        await asyncio.gather(first, second, third)
    finally:
        closes.uninstall()
