"""``radio demo``: the example station on the local Discord, with a listening page."""

from radio.demo.runner import DemoOptions, DemoResult, run_demo

__all__ = ["DemoOptions", "DemoResult", "run_demo"]
