"""End to end on the local Discord: a presenter goes live and the programme comes back."""

from __future__ import annotations

from typing import Any

import pytest

from radio.audio.track import Track
from radio.events import LiveEnded, LiveProblem, LiveStarted, LiveTitle, ShowStarted, TrackStarted
from radio.sandbox import Emulator

from .e2e import on_air, until

pytestmark = pytest.mark.e2e


async def test_live_is_announced_on_stage_and_the_programme_comes_back(emulator: Emulator) -> None:
    world = emulator.world
    stage, text = world.stage_channel.id, world.text_channel.id

    def embeds() -> list[dict[str, Any]]:
        return [m.embeds[0] for m in world.messages_in(text) if m.embeds]

    def topics() -> list[str]:
        return [s.topic for s in world.guild.stage_instances.values()]

    def presence() -> str | None:
        state = world.presences.get(world.bot.id)
        return state.activities[0]["name"] if state is not None and state.activities else None

    async with on_air(emulator, stage) as (_, announcer):
        # The show and its presenter going live at once: one topic edit, the live one.
        announcer.handle(
            ShowStarted(frame=0, show_id="eve", title="Evening Jazz", tags={"presenter": "Ann"})
        )
        announcer.handle(LiveStarted(frame=0, presenter="DJ Ann", via="encoder", show="eve"))
        await until(lambda: topics() == ["🔴 Live: Evening Jazz with DJ Ann"])
        await until(lambda: presence() == "🔴 Live: DJ Ann")
        await until(lambda: [e["title"] for e in embeds()] == ["🔴 LIVE: DJ Ann"])
        [live] = embeds()
        assert live["footer"]["text"] == "Sandbox FM · live via encoder"
        assert {f["name"]: f["value"] for f in live["fields"]} == {
            "Show": "Evening Jazz",
            "Presenter": "DJ Ann",
        }

        # The encoder's metadata edits the live embed in place.
        announcer.handle(LiveTitle(frame=50, presenter="DJ Ann", title="So *What* @everyone"))
        await until(lambda: embeds()[0].get("description", "").startswith("Now: So \\*What\\*"))
        assert len(embeds()) == 1
        assert "@everyone" not in embeds()[0]["description"]
        await until(lambda: (presence() or "").startswith("🔴 Live: DJ Ann – So *What*"))

        # The hidden programme is not announced; the end of live is, then the next track.
        announcer.handle(TrackStarted(frame=60, track=Track("sine:440", "Hidden", "Nobody")))
        announcer.handle(LiveEnded(frame=100, presenter="DJ Ann", reason="ended"))
        back = "⏹ Back to the programme: the presenter stopped."
        await until(lambda: back in [e.get("description") for e in embeds()])
        await until(lambda: topics() == ["Evening Jazz with Ann"])
        announcer.handle(TrackStarted(frame=101, track=Track("sine:440", "A440", "Test Tone")))
        await until(lambda: embeds()[-1].get("title") == "A440")
        await until(lambda: presence() == "Test Tone – A440")
        assert [e.get("title", e.get("description")) for e in embeds()] == [
            "🔴 LIVE: DJ Ann",
            back,
            "A440",
        ]

        # A refused encoder retrying before the room hears of it: one note, with a count.
        for _ in range(5):
            announcer.handle(LiveProblem(frame=120, who="ann", detail="wrong password"))
        await until(lambda: any("wrong password" in m.content for m in world.messages_in(text)))
        [note] = [m for m in world.messages_in(text) if "wrong password" in m.content]
        assert note.content == (
            "Live connections refused or failed:\n```\nann: wrong password (5 times)\n```"
        )
