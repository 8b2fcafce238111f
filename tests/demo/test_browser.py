"""The control room page in a real browser (headless Chromium over the DevTools protocol):
it loads without a console error, a member makes a request with the page's own
controls and sees it in the queue and the bot's reply in the studio room rendered
as Discord shows it; a refused action shows only to the member who tried it;
*Talk on the stage* shows the demo DJ on mic while he talks."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from support.chromium import CHROMIUM, chromium
from support.demo import demo_options

from radio.demo.runner import Demo

from .station import long_station

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test does)"),
]

QUEUE = "[...document.querySelectorAll('#queue li')].map(li => li.textContent)"
STUDIO = "[...document.querySelectorAll('#studio .msg')].map(m => m.innerText)"


async def test_a_request_from_the_page_reaches_the_queue(tmp_path: Path) -> None:
    root = long_station(tmp_path / "station")
    demo = Demo(demo_options(root), io.StringIO())
    await demo.start()
    try:
        async with chromium(tmp_path / "profile") as browser:
            page = await browser.new_page()
            await page.navigate(demo.page.url)
            await page.wait_for("document.getElementById('station').textContent === 'Tiny FM'")
            assert await page.evaluate("document.getElementById('queue-empty').hidden") is False
            assert await page.evaluate("document.getElementById('member').value") == "alice"
            # The page's own request control, as a person uses it: type, press Request.
            await page.evaluate("document.getElementById('query').focus()")
            await page.send("Input.insertText", text="request me")
            await page.evaluate("document.getElementById('request').click()")
            queue = await page.wait_for(f"{QUEUE}.length && {QUEUE}", timeout=60)
            assert len(queue) == 1 and queue[0].startswith("Req Band – Request Me · alice")
            assert await page.evaluate("document.getElementById('queue-empty').hidden") is True
            # The bot's answer in the room, its markdown rendered (bold, not asterisks).
            bold = await page.wait_for(
                "[...document.querySelectorAll('#studio strong')].map(b => b.textContent)"
                ".find(t => t.includes('Request Me'))",
                timeout=60,
            )
            assert bold == "Req Band – Request Me"
            assert "**" not in await page.evaluate("document.getElementById('studio').innerText")

            # alice may not skip: the refusal is private, shown to her only.
            await page.evaluate("document.getElementById('skip').click()")
            private = await page.wait_for(
                "[...document.querySelectorAll('#studio .msg.private')].map(m => m.innerText)"
                ".find(t => t.includes('used /skip'))",
                timeout=60,
            )
            assert "Only you can see this" in private
            await page.evaluate(
                "(() => { const m = document.getElementById('member'); m.value = 'bob';"
                " m.dispatchEvent(new Event('change')); })()"
            )
            await page.wait_for("document.getElementById('viewer').textContent === 'bob'")
            await page.wait_for(f"!{STUDIO}.some(t => t.includes('used /skip'))")
            # A wrong slash command gets one sentence on the page, no request sent.
            await page.evaluate(
                "document.getElementById('text').value = '/nosuch thing';"
                "document.getElementById('send').click()"
            )
            status = await page.wait_for(
                "document.getElementById('status').className === 'error'"
                " && document.getElementById('status').textContent"
            )
            assert status.startswith("There is no command /nosuch; try one of ")
            # Talk on the stage: bob is shown on mic while the station ducks under him.
            await page.evaluate("document.getElementById('talk').click()")
            talking = await page.wait_for(
                "!document.getElementById('mic-badge').hidden"
                " && document.getElementById('stage').textContent",
                timeout=60,
            )
            assert talking == "🎙 bob is talking: the music is ducked"
            assert await page.evaluate("document.getElementById('talk').disabled") is True
            await page.wait_for(
                "document.getElementById('mic-badge').hidden"
                " && !document.getElementById('talk').disabled",
                timeout=60,
            )

            shot = await page.screenshot()
            assert shot[:8] == b"\x89PNG\r\n\x1a\n"
            assert len(shot) > 20_000  # a drawn page, not a blank one
            (tmp_path / "control-room.png").write_bytes(shot)
            assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        await demo.stop()
