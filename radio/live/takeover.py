"""Takeover: the live source over the programme (Liquidsoap's
``fallback(track_sensitive=false, [live, programme])`` with its transitions).

::

    Takeover
    ├── live        LiveSource: read every frame, heard while it is ready
    └── programme   requests, the show on air, the fallback playlist

* **Live takes the air at once**, not at the end of the programme's track: over
  ``fade`` seconds the programme fades out under the live source (equal power,
  sample-exact). When the fade is complete the programme is no longer read, and
  ``taken()`` is called once: the station cuts the interrupted track there, so
  that the programme comes back on a *fresh* track, never the middle of the song.
* **The programme comes back** at the first frame after the live source lets go
  (its grace is over, so the air was already silent): a cut, the fresh track
  from its first sample.
* A live source that lets go during the fade (a blip) returns the programme at
  once, as it was: ``taken()`` is not called.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from radio.audio import curves
from radio.audio.buffering import wait_buffered
from radio.audio.frames import SAMPLE_RATE, SAMPLES_PER_FRAME, SILENCE
from radio.audio.pcm import from_float, to_float
from radio.audio.source import Source
from radio.live.source import LiveSource


class Takeover:
    """The live source over ``programme`` (see the module docstring).

    Ready when either is. :attr:`live_on_air` says which one is heard.
    """

    def __init__(
        self,
        live: LiveSource,
        programme: Source,
        *,
        fade: float = 1.0,
        taken: Callable[[], None] | None = None,
    ) -> None:
        if fade < 0:
            raise ValueError("fade must not be negative")
        self.live = live
        self.programme = programme
        self._fade = round(fade * SAMPLE_RATE)
        self._taken = taken
        self._lock = threading.Lock()
        self._on_live = False
        self._fading: int | None = None  # samples of the takeover fade done so far

    @property
    def live_on_air(self) -> bool:
        """True while the live branch is heard (its takeover fade included)."""
        with self._lock:
            return self._on_live

    @property
    def ready(self) -> bool:
        return self.live.ready or self.programme.ready

    @property
    def remaining(self) -> int | None:
        with self._lock:
            on_live = self._on_live
        return None if on_live else self.programme.remaining

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Offline pulling: the programme's buffers (live audio is pushed, not waited for)."""
        return wait_buffered(self.programme, timeout)

    def read(self) -> bytes:
        taken = False
        with self._lock:
            use_live = self.live.ready
            live_frame = self.live.read()  # always: the grace and the blank rule advance
            if use_live and not self._on_live:
                self._on_live = True
                self._fading = 0 if self._fade > 0 else None
                taken = self._fading is None
            elif not use_live and self._on_live:
                self._on_live = False
                self._fading = None
            if not self._on_live:
                data = self._programme_frame()
            elif self._fading is None:
                data = live_frame
            else:
                data, taken = self._read_fade(self._fading, live_frame)
        if taken and self._taken is not None:
            self._taken()
        return data

    def close(self) -> None:
        self.live.close()
        self.programme.close()

    # -- internals ------------------------------------------------------------

    def _programme_frame(self) -> bytes:
        return self.programme.read() if self.programme.ready else SILENCE

    def _read_fade(self, done: int, live_frame: bytes) -> tuple[bytes, bool]:
        count = min(SAMPLES_PER_FRAME, self._fade - done)
        gain_out, gain_in = curves.equal_power(done, count, self._fade)
        outgoing = to_float(self._programme_frame())
        incoming = to_float(live_frame)
        mixed = incoming.copy()
        mixed[:count] = outgoing[:count] * gain_out + incoming[:count] * gain_in
        done += count
        if done >= self._fade:
            self._fading = None
            return from_float(mixed), True
        self._fading = done
        return from_float(mixed), False


__all__ = ["Takeover"]
