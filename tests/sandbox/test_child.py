"""The child-process protocol of the sandbox: addresses round trip, READY, failures."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from radio.errors import RadioError
from radio.sandbox import Addresses
from radio.sandbox.child import start_child, stop_child


def test_addresses_survive_json() -> None:
    addresses = Addresses(http_port=1, voice_port=2, udp_port=3, cert_path=Path("/tmp/c.pem"))
    assert Addresses.from_json(addresses.to_json()) == addresses


async def test_a_child_that_says_ready_runs_until_signalled() -> None:
    script = (
        "import sys, json, time; json.loads(sys.argv[1]);"
        " print('ready', flush=True); time.sleep(60)"
    )
    child = await start_child([sys.executable, "-c", script], {"k": 1}, timeout=30)
    assert child.poll() is None
    assert await stop_child(child, signal.SIGKILL) == -signal.SIGKILL


async def test_a_child_that_fails_to_start_is_one_clear_error() -> None:
    script = "import sys; print('boom: bad addresses', flush=True)"
    with pytest.raises(RadioError, match="did not start: it printed 'boom: bad addresses"):
        await start_child([sys.executable, "-c", script], {}, timeout=30)
