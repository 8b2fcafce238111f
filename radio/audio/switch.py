"""Switch and Fallback: choose one child source, change with a transition.

A *transition* is an equal-power crossfade (radio.audio.curves) between the
child being left and the child being selected; during it both are read. Children
that are not selected are not read at all (they keep their buffers).

Fallback is a Switch whose selection is "the first ready child", re-evaluated
every frame (Liquidsoap's definition). *Track-sensitive* means a change waits for
the end of the current child's track: the Fallback asks it to
``hold_after_track()`` and switches when it stops being ready.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from radio.audio import curves
from radio.audio.buffering import wait_buffered
from radio.audio.frames import SAMPLE_RATE, SAMPLES_PER_FRAME, SILENCE, frames_for
from radio.audio.pcm import from_float, to_float
from radio.audio.source import Source

logger = logging.getLogger(__name__)


@runtime_checkable
class TrackBoundaries(Protocol):
    """A source that can stop at the end of its current track (TrackSequence)."""

    @property
    def holding(self) -> bool: ...

    def hold_after_track(self) -> None: ...

    def resume(self) -> None: ...


@dataclass(slots=True)
class _Request:
    index: int | None
    at_frame: int | None
    fade: int  # samples
    after_track: bool
    deadline: int | None  # frame at which an after-track request is forced


@dataclass(slots=True)
class _Transition:
    old: int | None
    new: int | None
    length: int  # samples
    position: int = 0


class Switch:
    """Plays ``children[selected]``; :meth:`select` changes it with a transition.

    ``transition`` is the default crossfade length in seconds (0 = cut).
    :attr:`position` counts frames read from the switch; frame numbers in
    :meth:`select` are in that count. Ready when the selected child is ready.
    Thread-safe: another thread may call :meth:`select` while the player reads.
    """

    def __init__(
        self, children: Sequence[Source], *, selected: int | None = 0, transition: float = 0.05
    ) -> None:
        if selected is not None and not 0 <= selected < len(children):
            raise ValueError(f"no child {selected}")
        self.children = list(children)
        self._transition_samples = round(transition * SAMPLE_RATE)
        self._selected = selected
        self._request: _Request | None = None
        self._fading: _Transition | None = None
        self._resume_after: int | None = None
        self._position = 0
        self._lock = threading.RLock()

    @property
    def selected(self) -> int | None:
        """Index of the selected child (the incoming one during a transition)."""
        with self._lock:
            return self._selected

    @property
    def position(self) -> int:
        """Frames read from this switch so far."""
        with self._lock:
            return self._position

    @property
    def pending(self) -> bool:
        """True while a selection request waits for its frame or track end."""
        with self._lock:
            return self._request is not None

    @property
    def ready(self) -> bool:
        with self._lock:
            child = self._child(self._selected)
            return child is not None and child.ready

    @property
    def remaining(self) -> int | None:
        with self._lock:
            child = self._child(self._selected)
            return child.remaining if child is not None else None

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Offline pulling: wait for the children this switch may read next."""
        with self._lock:
            wanted = {self._selected}
            if self._request is not None:
                wanted.add(self._request.index)
            if self._fading is not None:
                wanted.add(self._fading.old)
            children = [self.children[i] for i in wanted if i is not None]
        return all(wait_buffered(c, timeout) for c in children)

    def select(
        self,
        index: int | None,
        *,
        at_frame: int | None = None,
        fade: float | None = None,
        after_track: bool = False,
        max_wait: float | None = None,
    ) -> None:
        """Select ``children[index]`` (None = silence), replacing any pending request.

        - Immediately (default): the transition starts with the next frame read.
        - ``at_frame=F`` (a hard start): the transition starts exactly at frame F
          of :attr:`position`: frame F is the first that contains the new child.
          A frame already past starts it at the next read.
        - ``after_track=True`` (a soft start): the current child is asked to
          ``hold_after_track()`` and the switch happens at the first frame after
          it stopped (a cut: its track ended by itself), or after ``max_wait``
          seconds with the transition. A child without track boundaries switches
          immediately.

        ``fade`` overrides the transition length in seconds.
        """
        if index is not None and not 0 <= index < len(self.children):
            raise ValueError(f"no child {index}")
        fade_samples = self._transition_samples if fade is None else round(fade * SAMPLE_RATE)
        with self._lock:
            self._cancel_request()
            deadline = None
            if after_track:
                old = self._child(self._selected)
                if isinstance(old, TrackBoundaries):
                    old.hold_after_track()
                    if max_wait is not None:
                        deadline = self._position + frames_for(max_wait)
                else:
                    after_track = False
            self._request = _Request(index, at_frame, fade_samples, after_track, deadline)

    def read(self) -> bytes:
        with self._lock:
            if self._request is not None:
                self._apply_request()
            fading = self._fading
            if fading is None:
                child = self._child(self._selected)
                data = child.read() if child is not None else SILENCE
            else:
                data = self._read_transition(fading)
            self._position += 1
            return data

    def close(self) -> None:
        for child in self.children:
            child.close()

    # -- internals ------------------------------------------------------------

    def _child(self, index: int | None) -> Source | None:
        return self.children[index] if index is not None else None

    def _cancel_request(self) -> None:
        request = self._request
        self._request = None
        if request is not None and request.after_track:
            old = self._child(self._selected)
            if isinstance(old, TrackBoundaries):
                old.resume()

    def _apply_request(self) -> None:
        request = self._request
        if request is None:
            return
        if request.at_frame is not None and self._position < request.at_frame:
            return
        fade = request.fade
        old_index = self._selected
        if request.after_track:
            old = self._child(old_index)
            held = isinstance(old, TrackBoundaries) and old.holding
            ended = old is None or not old.ready or held
            forced = request.deadline is not None and self._position >= request.deadline
            if not ended and not forced:
                return
            if ended:
                fade = 0
            if isinstance(old, TrackBoundaries):
                # resumed once it is no longer read, so it continues with its next
                # track when selected again
                self._resume_after = old_index if fade else None
                if not fade:
                    old.resume()
        self._request = None
        if request.index == old_index:
            return
        self._selected = request.index
        if self._fading is not None:
            # a new request during a transition: finish as a cut from the old one
            self._fading = None
        if fade > 0:
            self._fading = _Transition(old=old_index, new=request.index, length=fade)

    def _read_transition(self, fading: _Transition) -> bytes:
        count = min(SAMPLES_PER_FRAME, fading.length - fading.position)
        old = self._child(fading.old)
        new = self._child(fading.new)
        old_frame = old.read() if old is not None else SILENCE
        new_frame = new.read() if new is not None else SILENCE
        gain_out, gain_in = curves.equal_power(fading.position, count, fading.length)
        a = to_float(old_frame)
        b = to_float(new_frame)
        mixed = b.copy()
        mixed[:count] = a[:count] * gain_out + b[:count] * gain_in
        fading.position += count
        if fading.position >= fading.length:
            self._fading = None
            if self._resume_after is not None:
                resumed = self._child(self._resume_after)
                self._resume_after = None
                if isinstance(resumed, TrackBoundaries):
                    resumed.resume()
        return from_float(mixed)


class Fallback(Switch):
    """Plays the first ready child (priority order), with optional transitions.

    When nothing is ready it keeps the last selection (and is not ready itself).
    With ``track_sensitive=True`` a higher-priority child that becomes ready waits
    for the end of the current child's track (for children with track
    boundaries); a current child that stops being ready is left at once.
    """

    def __init__(
        self,
        children: Sequence[Source],
        *,
        track_sensitive: bool = False,
        transition: float = 0.0,
    ) -> None:
        super().__init__(children, selected=None, transition=transition)
        self.track_sensitive = track_sensitive

    @property
    def ready(self) -> bool:
        return any(child.ready for child in self.children)

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Offline pulling: wait for every child, so the choice is the real-time one."""
        return all(wait_buffered(c, timeout) for c in self.children)

    def read(self) -> bytes:
        with self._lock:
            desired = next((i for i, c in enumerate(self.children) if c.ready), None)
            request = self._request
            if desired is None:
                pass  # keep the selection: nothing better to go to
            elif desired == self._selected:
                if request is not None:
                    self._cancel_request()
            elif request is None or request.index != desired:
                current = self._child(self._selected)
                polite = (
                    self.track_sensitive
                    and current is not None
                    and current.ready
                    and isinstance(current, TrackBoundaries)
                )
                self.select(desired, after_track=polite)
            return super().read()
