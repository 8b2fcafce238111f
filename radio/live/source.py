"""The live source: a presenter's pushed audio, with the rules that decide when it
holds the air.

::

    input (PcmBuffer) ──► LiveSource ──► Takeover (radio.live.takeover)
      encoder / relay        ready while it holds the air

Every rule is counted in frames read, so it is tested faster than real time and
nothing here reads a clock:

* **Taking the air**: an input whose buffer holds ``prebuffer`` of audio makes
  the source ready; its first frame is the next one read.
* **Grace**: while it holds the air, a frame with no audio from the input (the
  encoder stalled, disconnected, or a new input is filling its prebuffer) is
  silence, and the source stays ready. After ``grace`` of such frames in a row
  it lets go: reason ``ended`` when no input is left, ``stalled`` when the input
  is still connected. A new input attached within the grace (a reconnect, the
  next presenter) continues without the programme in between.
* **Blank**: ``blank_limit`` of frames below ``blank_dbfs`` (RMS) in a row and it
  lets go (reason ``blank``, Liquidsoap's ``blank.strip``); it takes the air
  again at the input's first frame above the threshold.
* **Latency**: more than ``max_latency`` buffered (an encoder's burst, a stream
  server's burst-on-connect, clock drift) is cut back to ``prebuffer`` by
  dropping the oldest audio, counted.
* :meth:`LiveSource.stop` lets go at the next frame, without the grace.

The source is *always read* by its parent, on air or not, so that the grace
and the blank detection advance and a connected input never backs up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from radio.audio.frames import SILENCE, frames_for
from radio.events import Event, EventSink, LiveEnded, LiveStarted
from radio.live.pcm_buffer import PcmBuffer

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveRules:
    """The live branch's timing, in seconds (and dBFS)."""

    fade: float = 1.0  # the programme fades under the live source when it takes the air
    grace: float = 5.0  # silence kept on air before the programme comes back
    blank_dbfs: float = -40.0
    blank_limit: float = 20.0
    prebuffer: float = 0.1
    max_latency: float = 1.0

    def __post_init__(self) -> None:
        for name in ("fade", "grace", "blank_limit", "prebuffer", "max_latency"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.max_latency < self.prebuffer:
            raise ValueError("max_latency must be at least prebuffer")


@dataclass(frozen=True, slots=True)
class LiveInput:
    """One input of the live source: its PCM and who it is."""

    buffer: PcmBuffer
    presenter: str
    via: str  # "encoder" or "relay"
    show: str = ""


def frame_dbfs(frame: bytes) -> float:
    """The RMS level of an s16le frame in dBFS (a full-scale square wave is 0 dBFS;
    digital silence is -inf)."""
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
    mean_square = float(np.mean(samples * samples)) if samples.size else 0.0
    if mean_square <= 0.0:
        return float("-inf")
    return float(10.0 * np.log10(mean_square / (32768.0 * 32768.0)))


class LiveSource:
    """The live branch's source (see the module docstring).

    ``position()`` is the station frame position, for events; ``events`` receives
    LiveStarted and LiveEnded, outside the lock. Thread-safe: inputs are attached
    from the event loop while the player thread reads.
    """

    def __init__(
        self,
        rules: LiveRules | None = None,
        *,
        events: EventSink | None = None,
        position: Callable[[], int] | None = None,
    ) -> None:
        self.rules = rules = rules or LiveRules()
        self._events = events
        self._position = position
        self._frames = 0
        self._prebuffer = max(1, frames_for(rules.prebuffer))
        self._max_latency = max(self._prebuffer, frames_for(rules.max_latency))
        self._grace = max(1, frames_for(rules.grace))
        self._blank_limit = max(1, frames_for(rules.blank_limit))
        self._lock = threading.Lock()
        self._input: LiveInput | None = None
        self._holder: LiveInput | None = None  # the input that took the air (None: off air)
        self._waiting = False  # a new input fills its prebuffer before it is read
        self._quiet = 0  # frames on air in a row with no audio from the input
        self._blank = 0  # frames in a row below the blank threshold
        self._stripped = False  # let go for blank: back at the first loud frame
        self._stop: str | None = None  # let go at the next frame, with this reason
        self.frames_on_air = 0  # frames sent while holding the air (grace included)
        self.frames_in = 0  # frames of the inputs' audio read

    # -- control (any thread) -------------------------------------------------

    def attach(self, live_input: LiveInput) -> None:
        """Make ``live_input`` the source's input (replacing any other, which is no
        longer read: its owner closes it)."""
        with self._lock:
            self._input = live_input
            self._waiting = True
            self._stripped = False
            self._blank = 0
            self._stop = None

    def detach(self, live_input: LiveInput) -> None:
        """``live_input`` is no longer to be read (its connection ended and what it
        had buffered is not wanted). The grace applies."""
        with self._lock:
            if self._input is live_input:
                self._input = None

    def stop(self, reason: str = "stopped") -> None:
        """Let go of the air at the next frame, without the grace; the input, if
        any, is forgotten."""
        with self._lock:
            self._input = None
            if self._holder is not None:
                self._stop = reason

    @property
    def current(self) -> LiveInput | None:
        """The input attached now (on air or not)."""
        with self._lock:
            return self._input

    @property
    def on_air(self) -> LiveInput | None:
        """The input holding the air (None: off air; during the grace, the one that
        took it)."""
        with self._lock:
            return self._holder

    # -- Source ---------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when the next read belongs on air: the source holds the air, or an
        input has its prebuffer (and is not stripped for blank)."""
        with self._lock:
            return self._holder is not None or self._can_take()

    @property
    def remaining(self) -> int | None:
        return None

    def read(self) -> bytes:
        """One frame: the input's audio on air, silence during the grace or off air.
        Never waits."""
        events: list[Event] = []
        with self._lock:
            data = self._read(events)
            self._frames += 1
        for event in events:
            self._emit(event)
        return data

    def close(self) -> None:
        """Forget the input (its owner closes it)."""
        with self._lock:
            self._input = None

    # -- internals ------------------------------------------------------------

    def _now(self) -> int:
        return self._position() if self._position is not None else self._frames

    def _can_take(self) -> bool:
        live_input = self._input
        return (
            live_input is not None
            and not self._stripped
            and live_input.buffer.frames >= self._prebuffer
        )

    def _read(self, events: list[Event]) -> bytes:
        live_input = self._input
        if live_input is not None and live_input.buffer.exhausted:
            self._input = live_input = None
        if self._holder is not None and self._stop is not None:
            self._let_go(self._stop, events)
            return SILENCE
        if self._holder is None:
            if live_input is None:
                return SILENCE
            if self._stripped:
                frame = live_input.buffer.take_frame()
                if frame is not None:
                    self.frames_in += 1
                    if frame_dbfs(frame) >= self.rules.blank_dbfs:
                        self._stripped = False  # on air again once its prebuffer is back
                return SILENCE
            if not self._can_take():
                return SILENCE
            self._holder = live_input
            self._quiet = 0
            self._blank = 0
            self._waiting = False
            events.append(
                LiveStarted(
                    frame=self._now(),
                    presenter=live_input.presenter,
                    via=live_input.via,
                    show=live_input.show,
                )
            )
        self.frames_on_air += 1
        frame = self._take(live_input)
        if frame is None:
            self._quiet += 1
            if self._quiet >= self._grace:
                self._let_go("ended" if self._input is None else "stalled", events)
            return SILENCE
        self._quiet = 0
        if live_input is not None and live_input is not self._holder:
            self._holder = live_input  # a reconnect or the next presenter, within the grace
            events.append(
                LiveStarted(
                    frame=self._now(),
                    presenter=live_input.presenter,
                    via=live_input.via,
                    show=live_input.show,
                )
            )
        if frame_dbfs(frame) < self.rules.blank_dbfs:
            self._blank += 1
            if self._blank >= self._blank_limit:
                self._stripped = True
                self._let_go("blank", events)
        else:
            self._blank = 0
        return frame

    def _take(self, live_input: LiveInput | None) -> bytes | None:
        if live_input is None:
            return None
        buffer = live_input.buffer
        if self._waiting:
            if buffer.frames < self._prebuffer and not buffer.ended:
                return None
            self._waiting = False
        backlog = buffer.frames
        if backlog > self._max_latency:
            dropped = buffer.drop_frames(backlog - self._prebuffer)
            logger.debug("live: dropped %d frames of backlog", dropped)
        frame = buffer.take_frame()
        if frame is not None:
            self.frames_in += 1
        return frame

    def _let_go(self, reason: str, events: list[Event]) -> None:
        holder = self._holder
        self._holder = None
        self._stop = None
        self._quiet = 0
        self._blank = 0
        if holder is not None:
            events.append(LiveEnded(frame=self._now(), presenter=holder.presenter, reason=reason))

    def _emit(self, event: Event) -> None:
        if self._events is None:
            return
        try:
            self._events(event)
        except Exception:
            logger.exception("event sink failed on %r", event)


__all__ = ["LiveInput", "LiveRules", "LiveSource", "frame_dbfs"]
