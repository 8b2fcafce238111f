"""Waiting for buffers: how offline rendering and tests pull faster than real time.

On air, the player thread never waits: what is not buffered is not ready. Offline
(``radio render``, tests, benchmarks) the puller wants what a listener would hear
if the machine had kept up, so before each read it waits until the tree's
buffers can serve it. Sources that buffer (TrackSequence, FFmpegDecoder) have a
``wait_buffered(timeout)`` method; operators forward to their children.
"""

from __future__ import annotations

from radio.audio.source import Source


def wait_buffered(source: Source, timeout: float | None = None) -> bool:
    """Wait until ``source`` (and its subtree) can serve the next read from buffers.

    Returns False on timeout; True at once for sources that do not buffer. Never
    call it on the player thread.
    """
    method = getattr(source, "wait_buffered", None)
    if method is None:
        return True
    return bool(method(timeout))
