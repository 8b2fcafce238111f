"""What machine a benchmark ran on, in the words BENCHMARKS.md uses."""

from __future__ import annotations

import contextlib
import os
import platform


def cpu_model() -> str:
    """The CPU model as Linux names it, or the architecture when it does not say."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def describe() -> str:
    """CPU model, core count and Python version."""
    return f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def load() -> str:
    """The 1, 5 and 15 minute load averages (the machines are shared: say how busy)."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())
