"""Headless Chromium (Debian's /usr/bin/chromium) driven through the DevTools protocol.

No Playwright, no browser download: the system's Chromium is started with a
fresh profile and ``--remote-debugging-port=0``; the port it chose is read from
``DevToolsActivePort`` in the profile, and the protocol is spoken over one
aiohttp websocket (flattened sessions). Console errors, uncaught exceptions and
error log entries of the page are collected as they come. Media may play without a
user gesture (``--autoplay-policy``), so a test can start a page's player itself.

Used by the public page's test (tests/web) and the control room's (tests/demo).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
    "--mute-audio", "--autoplay-policy=no-user-gesture-required",
    "--remote-debugging-port=0", "--remote-allow-origins=*",
)  # fmt: skip


class Page:
    """One tab, attached as a flattened session of the browser's websocket."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self._browser = browser
        self.session = session
        self.errors: list[str] = []
        self.loaded = asyncio.Event()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self._browser.send(method, session=self.session, **params)

    async def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` (promises awaited); raises AssertionError on a throw."""
        answer = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in answer:
            raise AssertionError(f"{expression!r} threw: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Poll ``expression`` until it is truthy (a deadlock guard, not a measure)."""
        async with asyncio.timeout(timeout):
            while True:
                value = await self.evaluate(expression)
                if value:
                    return value
                await asyncio.sleep(0.1)

    async def navigate(self, url: str, timeout: float = 30.0) -> None:
        self.loaded.clear()
        await self.send("Page.navigate", url=url)
        async with asyncio.timeout(timeout):
            await self.loaded.wait()

    async def screenshot(self) -> bytes:
        answer = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(answer["data"])

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.loadEventFired":
            self.loaded.set()
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = [str(a.get("value", a.get("description", ""))) for a in params.get("args", [])]
            self.errors.append("console: " + " ".join(args))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            described = details.get("exception", {}).get("description") or details.get("text")
            self.errors.append(f"exception: {described}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log: {entry.get('text')} ({entry.get('url', '')})")


class Chromium:
    """The browser process and its DevTools websocket. Use :func:`chromium`."""

    def __init__(self, process: asyncio.subprocess.Process, ws: aiohttp.ClientWebSocketResponse):
        self._process = process
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}
        self._reader = asyncio.create_task(self._read())

    async def send(self, method: str, *, session: str | None = None, **params: Any) -> Any:
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[message["id"]] = future
        await self._ws.send_str(json.dumps(message))
        async with asyncio.timeout(60):
            answer = await future
        if "error" in answer:
            raise AssertionError(f"{method} failed: {answer['error']}")
        return answer.get("result", {})

    async def _read(self) -> None:
        async for frame in self._ws:
            if frame.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(frame.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif data.get("sessionId") in self._pages:
                self._pages[data["sessionId"]].on_event(data["method"], data.get("params", {}))

    async def new_page(self, width: int = 1280, height: int = 900) -> Page:
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        page = Page(self, attached["sessionId"])
        self._pages[page.session] = page
        for domain in ("Page", "Runtime", "Log"):
            await page.send(f"{domain}.enable")
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return page

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()
        if self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 20)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Chromium]:
    """Start Chromium with a fresh profile in ``profile``; stop it on exit."""
    assert CHROMIUM is not None, "chromium is not installed (scripts/test installs it)"
    profile.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    http = aiohttp.ClientSession()
    browser: Chromium | None = None
    try:
        active = profile / "DevToolsActivePort"
        async with asyncio.timeout(60):
            while not (active.exists() and len(active.read_text().splitlines()) >= 2):
                if process.returncode is not None:
                    raise AssertionError(f"chromium exited with {process.returncode}")
                await asyncio.sleep(0.05)
        port, path = active.read_text().splitlines()[:2]
        ws = await http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
        browser = Chromium(process, ws)
        yield browser
    finally:
        if browser is not None:
            await browser.close()
        elif process.returncode is None:
            process.kill()
            await process.wait()
        await http.close()
