"""The demo (radio.demo) as the tests run it: any free ports, no media generation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radio.app import AppOptions
from radio.demo import DemoOptions


def demo_options(root: Path, *, stage: bool = False, **app: Any) -> DemoOptions:
    """The demo of the station at ``root`` (data in ``root / "data"``) on any free ports,
    its media not generated, the bot quick to find its guild; ``app`` adds
    :class:`AppOptions` fields (``watch_interval``, ...); ``stage`` broadcasts on a stage."""
    return DemoOptions(
        station_dir=root,
        data_dir=root / "data",
        port=0,
        live_port=0,
        stage=stage,
        generate_media=False,
        app=AppOptions(live_port=0, web_port=0, bot_options={"guild_ready_timeout": 0.05}, **app),
    )
