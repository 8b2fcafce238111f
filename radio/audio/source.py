"""The source contract: everything in the station tree is a Source.

Vocabulary (Liquidsoap's): a source is *ready* when it can produce a frame of
real content now; a *fallible* source may stop being ready; the station root is
*infallible*. ``read()`` returns exactly one frame (:data:`FRAME_BYTES` bytes)
and never blocks on I/O: decoding happens in background readers.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Source(Protocol):
    """A pull-based producer of 20 ms frames."""

    @property
    def ready(self) -> bool:
        """True when the next ``read()`` returns real content (not filler)."""
        ...

    @property
    def remaining(self) -> int | None:
        """Frames left in the current track, or None when unknown/endless."""
        ...

    def read(self) -> bytes:
        """Return the next frame: exactly FRAME_BYTES bytes, without blocking.

        Reading a source that is not ready returns silence (fallible sources)
        and must not raise.
        """
        ...

    def close(self) -> None:
        """Release subprocesses, threads and files. Idempotent."""
        ...


class Endless:
    """Base of sources that are always ready and never end a track.

    Generators (silence, a sine) and the infallible station root: a fallback
    never looks past them, and nothing waits for their end.
    """

    @property
    def ready(self) -> bool:
        """Always True."""
        return True

    @property
    def remaining(self) -> int | None:
        """Always None: there is no track end to count down to."""
        return None
