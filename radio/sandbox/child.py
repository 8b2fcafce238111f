"""A bot in a process of its own, on an emulator running in this one.

Tests and benchmarks that must kill the bot (SIGKILL) or keep its CPU apart run
it as a child process. The protocol is small: the parent passes one JSON
argument (with the emulator's :meth:`~radio.sandbox.Addresses.to_json` under
``"addresses"``); the child prints :data:`READY` on its own line once its rooms
are on air, then runs until a signal.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from radio.errors import RadioError

READY = "ready"


async def start_child(
    command: Sequence[str],
    args: Mapping[str, object],
    *,
    timeout: float = 60.0,
    cwd: Path | None = None,
    pythonpath: Path | None = None,
) -> subprocess.Popen[str]:
    """Start ``command`` with ``args`` as its JSON argument; return once it printed READY.

    ``pythonpath`` is put in front of the child's PYTHONPATH (for scripts that
    import the repository's test or bench modules). Raises RadioError, after
    killing the child, when it exits or prints anything else first, and
    TimeoutError when it says nothing within ``timeout`` seconds.
    """
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [*command, json.dumps(args)], stdout=subprocess.PIPE, text=True, cwd=cwd, env=env
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout)
    except TimeoutError:
        await stop_child(process, signal.SIGKILL)
        raise
    if line.strip() != READY:
        await stop_child(process, signal.SIGKILL)
        raise RadioError(f"{command[-1]} did not start: it printed {line!r}")
    return process


async def stop_child(process: subprocess.Popen[str], sig: signal.Signals) -> int:
    """Send ``sig`` and wait for the child off the loop (its shutdown talks to the
    emulator, which runs on this loop); return its exit code."""
    process.send_signal(sig)
    code = await asyncio.to_thread(process.wait, 30)
    if process.stdout is not None:
        process.stdout.close()
    return code


async def announce_ready(on_air: Callable[[], bool], task: asyncio.Task[None]) -> None:
    """In the child: print READY once ``on_air()`` holds, then wait for ``task``.

    Re-raises ``task``'s exception should it end before the rooms are on air.
    """
    while not on_air():
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    sys.stdout.write(READY + "\n")
    sys.stdout.flush()
    await task
