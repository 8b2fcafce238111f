"""TrackSequence: a provider's tracks back to back, gapless or crossfaded.

Gapless guarantee: with ``crossfade=0`` the sequence's output is, sample for
sample, the concatenation of what FFmpeg decodes from each track (at the
track's loudness gain). Tracks are not padded to whole frames: when a track
ends inside a frame, the same frame continues with the next track's first
samples. Silence appears only when nothing is buffered (an underrun, or no next
track), never at a normal track change.

Ahead of time: a helper thread asks the provider for the next track, probes
it (unless the Track carries its duration), measures its loudness (cached) and
starts its decoder, so its first frames are buffered before they are needed.
It does so when the current track has at most ``preload`` seconds left (or its
length is unknown, or it failed); or, when the sequence opens early
(``open_early``; by default when the provider is a
:class:`~radio.audio.track.TimedTrackProvider`, told when its pick will start),
right after the current track's first frame: then the next track is buffered
for almost the whole track and a skip never waits for a file.
``read()`` itself never spawns a process, measures, or waits.

Order: the provider is asked for the track after X only once X's TrackStarted
has been delivered to ``events`` (the read that starts X emits it, then starts
the preparation). So an events sink that tells the provider about X (the
station reports each start to its rotation) is always heard before the pick
that follows X is judged.

Crossfade: the transition starts at the first frame boundary where the current
track has at most ``crossfade`` seconds left and the next track is buffered. It
lasts exactly the rest of the outgoing track (so the outgoing track is heard to
its last sample, and the fade is at most ``crossfade`` long); the gain curve is
equal power (see radio.audio.curves). ``skip()`` crossfades the same way over
``max(crossfade, 10 ms)`` from the current position, at the first read after the
call when the next track is buffered. When it is not (a provider that is not
timed, a skip in the first frames of a track), the preparation starts at once
and the skipped track keeps playing until the next one is buffered: a late
skip, never silence. When the provider has nothing next, the skip fades out.
With a ``transition`` function each change has its own length (seconds for the
change from one track to the next, at most ``crossfade``; 0 cuts gaplessly): the
station uses it for per-playlist crossfades and jingles that cut.

Replacing the next track: :meth:`TrackSequence.replace_next` prepares another
next track now (a request queued while the rotation's pick is already open); the
prepared track keeps its place until the new one is buffered, so a boundary that
comes first is still gapless (the new track then follows it). A track the
sequence lets go of without playing it to its end (replaced, dropped by
:meth:`TrackSequence.release_next`, or still open at :meth:`TrackSequence.close`)
is handed to ``released``, so its owner can play it elsewhere or later.

Blank content: a track whose audio stays below -40 dBFS (RMS) for
``blank_limit`` seconds in a row (counted in frames of what the track delivers;
frames that were silent because nothing was buffered do not count, nor do
crossfades) is skipped the way :meth:`TrackSequence.skip` skips, with one
warning and a TrackBlank event, so a file of digital silence cannot hold the
air. A quiet intro shorter than the limit plays.

Bad media (missing, unreadable, zero-length, corrupt, non-audio files, or FFmpeg
dying mid-track): one warning naming the file, a TrackFailed event, and the
next track; a track that dies mid-way plays what was buffered first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Final

from radio.audio import curves
from radio.audio.blank import DEFAULT_BLANK_DBFS, DEFAULT_BLANK_SECONDS, BlankDetector
from radio.audio.decoder import (
    DEFAULT_BUFFER_FRAMES,
    SAMPLE_BYTES,
    FFmpegDecoder,
    ProbeInfo,
    probe,
)
from radio.audio.frames import FRAME_BYTES, SAMPLES_PER_FRAME, SILENCE, frames_for, seconds_for
from radio.audio.loudness import LoudnessLevels
from radio.audio.pcm import from_float, to_float
from radio.audio.track import TimedTrackProvider, Track, TrackProvider
from radio.errors import SourceError
from radio.events import Event, EventSink, TrackBlank, TrackEnded, TrackFailed, TrackStarted

logger = logging.getLogger(__name__)

SKIP_FADE_SAMPLES: Final = 480  # 10 ms: a skip is never a click
DEFAULT_PRELOAD_SECONDS: Final = 10.0
MAX_ATTEMPTS: Final = 10  # bad tracks tried in a row before backing off
RETRY_FRAMES: Final = 50  # ask an empty provider again after 1 s of stream
FIRST_FRAME_TIMEOUT: Final = 10.0  # seconds the helper waits for a new track's first frame


@dataclass(slots=True)
class _Playing:
    track: Track
    decoder: FFmpegDecoder
    started: bool = False


@dataclass(slots=True)
class _Prepared:
    playing: _Playing | None
    failures: list[tuple[Track, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Judge:
    """What to do with the next track when it is known: keep it, or let it go (and,
    with ``again``, prepare another one now)."""

    keep: Callable[[Track], bool]
    again: bool


Released = Callable[[Track, bool], None]  # (track, started): a track let go of


@dataclass(slots=True)
class _Fade:
    outgoing: _Playing
    length: int  # samples
    position: int = 0
    skipped: bool = False


class TrackSequence:
    """A fallible Source playing ``provider``'s tracks back to back.

    Parameters: ``crossfade`` in seconds (0 = gapless); ``loudness`` the gain
    policy (None = play at file level); ``events`` receives TrackStarted,
    TrackEnded and TrackFailed with the stream position; ``name`` tags events and
    logs; ``preload`` seconds before the end to open the next track;
    ``open_early`` opens it instead right after the current track's first frame
    (None: when the provider is a TimedTrackProvider); ``position`` returns the
    stream position of the frame being produced (default: this sequence's own
    frame count), so events carry station frames when the sequence sits deep in
    a tree; ``released`` receives ``(track, started)`` for every track the
    sequence lets go of without playing it to its end (see :meth:`replace_next`,
    :meth:`release_next`, :meth:`close`), outside the sequence's lock, on the
    thread that let it go (the player thread too: it must be quick);
    ``blank_limit`` the seconds of blank audio after which a track is skipped
    (None: never); ``transition`` the crossfade, in seconds, for the change from
    one track to the next (called on the player thread: quick, no I/O; capped at
    ``crossfade``, which sizes the buffers; None: always ``crossfade``).

    Track boundaries for callers (the grid's soft start): ``remaining`` is the
    frames left in the current track; :meth:`hold_after_track` makes the sequence
    stop at the end of the current track (the rest of that frame is silence) and
    become not ready until :meth:`resume`.
    """

    def __init__(
        self,
        provider: TrackProvider,
        *,
        crossfade: float = 0.0,
        loudness: LoudnessLevels | None = None,
        events: EventSink | None = None,
        name: str = "",
        preload: float = DEFAULT_PRELOAD_SECONDS,
        position: Callable[[], int] | None = None,
        open_early: bool | None = None,
        released: Released | None = None,
        blank_limit: float | None = DEFAULT_BLANK_SECONDS,
        transition: Callable[[Track, Track], float] | None = None,
    ) -> None:
        if crossfade < 0 or preload < 0:
            raise ValueError("crossfade and preload must not be negative")
        # raises ValueError for a limit that is not positive
        self._blank = BlankDetector(blank_limit) if blank_limit is not None else None
        self._blank_of: _Playing | None = None  # the track the blank count is for
        self._blank_skips = 0
        self.name = name
        self._provider = provider
        self._timed = provider if isinstance(provider, TimedTrackProvider) else None
        self._early = open_early if open_early is not None else self._timed is not None
        self._loudness = loudness
        self._events = events
        self._crossfade = round(crossfade * 48_000)
        self._transition = transition
        crossfade_frames = frames_for(crossfade) + 1
        self._preload_frames = max(frames_for(preload), crossfade_frames + 50)
        # even at its low-water mark (half full) the decoder must hold the whole fade,
        # so that the outgoing track's exact length (EOF) is known when the fade starts
        self._buffer_frames = max(DEFAULT_BUFFER_FRAMES, 2 * (crossfade_frames + 50))
        self._position = position
        self._frames = 0
        self._lock = threading.RLock()
        self._future: Future[_Prepared] | None = None
        self._prepared: _Playing | None = None
        self._current: _Playing | None = None
        self._fade: _Fade | None = None
        self._retry_at = 0
        self._ticks = 0  # reads, plus readiness checks while idle
        self._checked: _Playing | None = None  # the track whose preload time was checked
        self._check_at = 0
        self._skip: _Playing | None = None  # the track a pending skip cuts short
        self._skip_next = False  # a skip between two tracks: for the one that starts next
        self._skip_cut = False  # the pending skip cuts (no crossfade)
        self._hold = False
        self._holding = False
        self._closed = False
        self._pending: list[Event] = []
        self._released = released
        self._let_go: list[tuple[Track, bool]] = []  # handed to ``released`` outside the lock
        # while the preparation in flight replaces ``_prepared``: which tracks may
        self._replacing: Callable[[Track], bool] | None = None
        self._judge: _Judge | None = None  # applies to the next track once it is known
        self._underruns = 0
        # a TrackStarted is waiting to be emitted: the provider is not asked before it is
        self._unannounced = False
        with self._lock:
            self._maybe_prepare()

    # -- Source -------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when the next read() starts with buffered track audio."""
        with self._lock:
            ready = self._ready()
        self._hand_over()
        return ready

    def _ready(self) -> bool:
        if self._holding or self._closed:
            return False
        # a parent may ask before reading: take a finished preparation now
        if self._future is not None:
            self._poll()
        if self._current is None:
            # parents ask every frame even when they do not read us: an idle
            # sequence counts those asks to know when to ask its provider again
            self._ticks += 1
        self._maybe_prepare()
        if self._current is not None and self._current.decoder.ready:
            return True
        if self._current is None or self._current.decoder.finished:
            return self._prepared is not None and self._prepared.decoder.ready
        return False

    @property
    def remaining(self) -> int | None:
        """Frames left in the current track (None when unknown or nothing plays)."""
        with self._lock:
            if self._current is None:
                return None
            return self._current.decoder.remaining

    def read(self) -> bytes:
        """Return the next frame; silence where nothing is buffered. Never blocks."""
        with self._lock:
            if self._closed:
                return SILENCE
            if self._future is not None:
                self._poll()
            if self._holding:
                data = SILENCE
            else:
                # before this frame: a track announced by the last read has its
                # successor judged from a frame boundary (see _announced)
                self._maybe_prepare()
                self._maybe_start_fade()
                underruns = self._underruns
                if self._fade is not None:
                    data = self._read_fade()
                else:
                    data = self._fill(FRAME_BYTES)
                    if underruns == self._underruns:  # the track's own audio, whole
                        self._check_blank(data)
                self._maybe_prepare()
            self._frames += 1
            self._ticks += 1
            events, self._pending = self._pending, []
            announced = self._unannounced
        self._emit(events)
        if announced:
            self._announced()
        self._hand_over()
        return data

    def close(self) -> None:
        """Stop preparing, kill every decoder. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            playing = [self._fade.outgoing if self._fade else None, self._current, self._prepared]
            self._current = self._prepared = self._fade = None
            future = self._future
        for item in playing:
            if item is not None:
                item.decoder.close()
                self._let_go.append((item.track, item.started))
        self._hand_over()
        if future is not None:
            future.add_done_callback(self._close_prepared)

    # -- control ------------------------------------------------------------

    @property
    def current(self) -> Track | None:
        """The track being heard (the incoming one during a crossfade)."""
        with self._lock:
            return self._current.track if self._current is not None else None

    @property
    def preloaded(self) -> Track | None:
        """The next track, when it is already opened and buffering."""
        with self._lock:
            return self._prepared.track if self._prepared is not None else None

    @property
    def current_pid(self) -> int | None:
        """The FFmpeg process id decoding the current track (monitoring, tests)."""
        with self._lock:
            return self._current.decoder.pid if self._current is not None else None

    @property
    def holding(self) -> bool:
        """True once a requested hold took effect (the held track has ended)."""
        with self._lock:
            return self._holding

    @property
    def underruns(self) -> int:
        """Frames that were (partly) silent because a track had nothing buffered."""
        with self._lock:
            return self._underruns

    @property
    def blank_skips(self) -> int:
        """Tracks skipped because they were blank for the blank limit."""
        with self._lock:
            return self._blank_skips

    def skip(self, *, cut: bool = False) -> bool:
        """Cut the current track short with a quick crossfade into the next one
        (``cut``: no crossfade at all, for a sequence that is not heard now: the
        live branch has the air and the next track must start from its first sample).

        Takes effect at the next read when the next track is buffered; otherwise
        the next track is prepared now and the current one plays until it is
        buffered (or fades out if the provider has nothing). Between two tracks
        (the last one ended exactly at the end of a frame, the next is prepared
        and starts on the next read) it cuts the track that starts next, as soon
        as that one's successor is buffered. Returns False, doing nothing, when
        there is no such track (idle, holding, or only a hold's fade playing).
        """
        with self._lock:
            if self._current is None:
                if self._prepared is None or self._hold or self._closed:
                    return False
                self._skip_next = True
                self._skip_cut = cut
                return True
            self._skip = self._current
            self._skip_cut = cut
            if self._prepared is None:
                self._retry_at = 0  # ask the provider now, even if it was empty lately
                self._maybe_prepare()
            return True

    def wake(self) -> None:
        """The provider has something new: ask it now rather than at the next retry.

        An idle sequence (its provider returned None) asks again by itself after
        50 frames (reads or readiness checks); a request queue calls this instead.
        """
        with self._lock:
            self._retry_at = 0
            self._maybe_prepare()

    def replace_next(self, keep: Callable[[Track], bool] | None = None) -> None:
        """Prepare another next track now, in place of the prepared one: the
        provider has something that should play first. ``keep`` (None: nothing)
        says which tracks are that something: a prepared track that ``keep``
        accepts stays, and a new track replaces the prepared one only if ``keep``
        accepts it (else the new one is released and the prepared one stays).

        The prepared track keeps its place until the new one is buffered: if the
        current track ends before that, the prepared track plays (gapless, as
        planned) and the new one follows it. Once the new track is buffered, the
        one it replaces is closed and handed to ``released`` (never started, so
        never announced or written to a history). A preparation in flight is
        judged when it finishes. When nothing is prepared, the next track is
        prepared now, whatever the preload window; when idle, this is :meth:`wake`.
        """
        self._judge_next(_Judge(keep or _anything, again=True))

    def release_next(self, keep: Callable[[Track], bool]) -> None:
        """Let the prepared, not yet started next track go (to ``released``) unless
        ``keep(track)``; a preparation in flight is judged when it finishes. The
        sequence prepares its next track again in its own time."""
        self._judge_next(_Judge(keep, again=False))

    def hold_after_track(self) -> None:
        """Stop after the current track ends; not ready until :meth:`resume`."""
        with self._lock:
            self._hold = True
            self._skip_next = False  # the next track does not start here now
            if self._current is None and self._fade is None:
                self._holding = True

    def resume(self) -> None:
        """Cancel a hold: the next read continues with the next track."""
        with self._lock:
            self._hold = False
            self._holding = False

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Block until the next read() can be served from buffers; tools and tests only.

        Waits for the current decoder to have more than one frame (or to have
        ended: so the read that takes a track's last sample also sees its end, as it
        would on air with a decoder running ahead), and for any preparation in
        flight (and that track's first frame). Never call it on the player thread.
        Returns False on timeout.
        """
        with self._lock:
            self._poll()
            self._maybe_prepare()
            future = self._future
            current = self._current
        if future is not None and not _finished(future, timeout):
            return False
        prepared, future = self._take_preparation()
        if future is not None and self._replacing is not None:
            # the replacement the prepared track waits for
            if not _finished(future, timeout):
                return False
            prepared, _ = self._take_preparation()
        if current is not None and not current.decoder.wait_buffered(timeout, frames=2):
            return False
        return prepared is None or prepared.decoder.wait_buffered(timeout)

    # -- the player thread's work ---------------------------------------------

    def _now(self) -> int:
        return self._position() if self._position is not None else self._frames

    def _fill(self, need: int) -> bytes:
        """Take ``need`` bytes from the track stream, crossing track boundaries."""
        parts: list[bytes] = []
        while need > 0:
            current = self._current
            if current is None:
                if self._hold:
                    self._holding = True
                    break
                if self._prepared is None:
                    break
                current = self._current = self._prepared
                self._prepared = None
            decoder = current.decoder
            chunk, finished = decoder.take(need)
            if chunk:
                if not current.started:
                    current.started = True
                    self._unannounced = True
                    if self._skip_next:
                        self._skip_next = False
                        self._skip = current
                    self._pending.append(
                        TrackStarted(frame=self._now(), track=current.track, source=self.name)
                    )
                parts.append(chunk)
                need -= len(chunk)
            if finished:
                if self._skip is current:
                    self._skip = None  # it ended by itself before the skip could fade it
                self._end(current, skipped=False)
                self._current = None
                self._maybe_prepare()
            elif not chunk:
                self._underruns += 1
                break
        if self._current is None and self._hold and self._fade is None:
            self._holding = True  # the track ended on this frame's last sample
        data = b"".join(parts)
        if need > 0:
            data += bytes(need)
        return data

    def _check_blank(self, frame: bytes) -> None:
        """Count ``frame`` for the current track; skip the track at the blank limit."""
        detector, current = self._blank, self._current
        if detector is None or current is None or not current.started:
            return
        if current is not self._blank_of:
            self._blank_of = current
            detector.reset()
        if not detector.feed(frame) or self._skip is current:
            return
        seconds = seconds_for(detector.limit)
        logger.warning(
            "%s has been blank (below %.0f dBFS) for %g s: skipping it",
            current.track.location,
            DEFAULT_BLANK_DBFS,
            seconds,
        )
        self._blank_skips += 1
        self._pending.append(TrackBlank(frame=self._now(), track=current.track, seconds=seconds))
        # the same skip as skip(): a quick fade once the next track is buffered
        self._skip = current
        self._skip_cut = False
        if self._prepared is None:
            self._retry_at = 0
            self._maybe_prepare()

    def _end(self, playing: _Playing, *, skipped: bool) -> None:
        decoder = playing.decoder
        error = decoder.error
        if error is not None and not skipped:
            if playing.started:
                logger.warning(
                    "%s failed mid-track after %.1f s: %s; moving on",
                    playing.track.location,
                    decoder.samples_read / 48_000,
                    error,
                )
            else:
                logger.warning("skipping %s: %s", playing.track.location, error)
            self._pending.append(TrackFailed(frame=self._now(), track=playing.track, reason=error))
        elif playing.started:
            ended = TrackEnded(frame=self._now(), track=playing.track, skipped=skipped)
            self._pending.append(ended)
        decoder.close()

    def _maybe_start_fade(self) -> None:
        current = self._current
        if self._fade is not None or current is None or not current.started:
            return
        if self._skip is not None:
            if self._skip is not current:
                self._skip = None  # meant for a track that is no longer on air
            elif self._hold or self._skip_target_ready():
                self._skip = None
                length = 0 if self._skip_cut else max(self._fade_for(current), SKIP_FADE_SAMPLES)
                self._start_fade(current, length, skipped=True)
                return
            else:
                return  # keep playing until the next track is buffered
        if self._hold or self._crossfade == 0:
            return  # a held track plays to its end: nothing to fade into
        if self._prepared is None or not self._prepared.decoder.ready:
            return
        length = self._fade_for(current)
        left = current.decoder.remaining_samples
        if length == 0 or left is None or left > length:
            return  # a change that cuts is gapless, like crossfade=0
        exact = current.decoder.eof
        if exact and left == 0:
            return
        self._start_fade(current, left if exact else length, skipped=False)

    def _fade_for(self, current: _Playing) -> int:
        """The crossfade, in samples, from ``current`` into the prepared track."""
        prepared = self._prepared
        if self._transition is None or prepared is None:
            return self._crossfade
        seconds = self._transition(current.track, prepared.track)
        return max(0, min(self._crossfade, round(seconds * 48_000)))

    def _skip_target_ready(self) -> bool:
        """May a pending skip fade now? Yes when the next track is buffered (or
        already finished: _fill moves past it), or when the provider had nothing."""
        if self._replacing is not None:
            return False  # the next track is being replaced: the skip goes to the new one
        prepared = self._prepared
        if prepared is not None:
            return prepared.decoder.ready or prepared.decoder.finished
        if self._future is None:
            self._maybe_prepare()  # a skip asks at once, whatever the preload window
        return self._future is None  # nothing in flight: the provider had no track

    def _start_fade(self, outgoing: _Playing, length: int, *, skipped: bool) -> None:
        self._fade = _Fade(outgoing=outgoing, length=length, skipped=skipped)
        self._current = None if self._hold else self._prepared
        if not self._hold:
            self._prepared = None

    def _read_fade(self) -> bytes:
        fade = self._fade
        assert fade is not None
        count = min(SAMPLES_PER_FRAME, fade.length - fade.position)
        size = count * SAMPLE_BYTES
        out_bytes = fade.outgoing.decoder.read_pcm(size)
        out_bytes += bytes(size - len(out_bytes))
        in_bytes = self._fill(size)
        gain_out, gain_in = curves.equal_power(fade.position, count, fade.length)
        mixed = from_float(to_float(out_bytes) * gain_out + to_float(in_bytes) * gain_in)
        fade.position += count
        if fade.position >= fade.length:
            self._end(fade.outgoing, skipped=fade.skipped)
            self._fade = None
            if self._current is None and self._hold:
                self._holding = True
        rest = FRAME_BYTES - size
        if rest:
            mixed += SILENCE[:rest] if self._holding else self._fill(rest)
        return mixed

    # -- preparation (helper thread) ----------------------------------------

    def _poll(self) -> None:
        future = self._future
        if future is None or not future.done():
            return
        self._future = None
        try:
            result = future.result()
        except Exception:  # the worker catches its own errors: this guards against bugs
            logger.exception("preparing the next track of %s failed", self.name or "sequence")
            result = _Prepared(None, [])
        for track, reason in result.failures:
            self._pending.append(TrackFailed(frame=self._now(), track=track, reason=reason))
        replacing, self._replacing = self._replacing, None
        if result.playing is None:
            if replacing is None or self._prepared is None:
                self._retry_at = self._ticks + RETRY_FRAMES
            # a replacement that found nothing leaves the prepared track in place
        elif (
            replacing is not None
            and self._prepared is not None
            and not replacing(result.playing.track)
        ):
            # not what the replacement was for (the request is gone): the prepared
            # track stays, the new one goes back
            self._let_go_of(result.playing)
        else:
            if self._prepared is not None:  # replaced: it never started
                self._let_go_of(self._prepared)
            self._prepared = result.playing
        judge, self._judge = self._judge, None
        if judge is not None:
            self._apply(judge)

    def _apply(self, judge: _Judge) -> None:
        """Keep or let go of the next track as ``judge`` says, once it is known."""
        if self._closed:
            return
        if self._future is not None:
            self._judge = judge  # judged when the preparation in flight ends
            return
        prepared = self._prepared
        if prepared is not None and judge.keep(prepared.track):
            return
        if not judge.again:
            if prepared is not None:
                self._let_go_of(prepared)
                self._prepared = None
            return
        self._replacing = judge.keep if prepared is not None else None
        self._future = self._start_preparation(self._lead_seconds())

    def _let_go_of(self, playing: _Playing) -> None:
        playing.decoder.close()
        self._let_go.append((playing.track, playing.started))

    def _judge_next(self, judge: _Judge) -> None:
        """Apply ``judge`` to the next track; one that may be replaced is asked for now."""
        with self._lock:
            if judge.again:
                self._retry_at = 0  # ask the provider now, even if it was empty lately
            self._apply(judge)
        self._hand_over()

    def _take_preparation(self) -> tuple[_Playing | None, Future[_Prepared] | None]:
        """Take a finished preparation; the prepared track and the one still in flight."""
        with self._lock:
            self._poll()
            prepared, future = self._prepared, self._future
        self._hand_over()
        return prepared, future

    def _hand_over(self) -> None:
        """Give the tracks let go of to ``released``, outside the lock (nothing to
        do, without taking the lock, when none were let go of)."""
        if not self._let_go:
            return
        with self._lock:
            tracks, self._let_go = self._let_go, []
        if self._released is None:
            return
        for track, started in tracks:
            try:
                self._released(track, started)
            except Exception:
                logger.exception("the owner of %s failed on a released track", self.name)

    def _close_prepared(self, future: Future[_Prepared]) -> None:
        """A preparation that ends after close(): stop its decoder, release its track."""
        if future.cancelled() or future.exception() is not None:
            return
        playing = future.result().playing
        if playing is not None:
            playing.decoder.close()
            with self._lock:
                self._let_go.append((playing.track, False))
            self._hand_over()

    def _announced(self) -> None:
        """The TrackStarted of the track that started on the last read is delivered:
        its successor may be judged now (the provider has heard of the start).

        The preparation starts at the next readiness check, wait_buffered() or
        read(), not here: the frame is then over, so the lead (the track's
        remaining samples) and the provider's clock (the instant of the frame
        about to be produced) speak of the same frame; a pick judged here, while
        the player still produces the frame, could predict its start one frame
        early. Parents check readiness before each read, so that is on the next
        frame's boundary, 20 ms after the track's first frame."""
        with self._lock:
            self._unannounced = False

    def _maybe_prepare(self) -> None:
        if self._closed or self._future is not None or self._prepared is not None:
            return
        if self._ticks < self._retry_at or self._unannounced:
            return
        current = self._current
        if current is not None and not current.started:
            return  # it starts on the next read; its successor is asked after that
        if current is not None and self._skip is None:
            if current is self._checked and self._frames < self._check_at:
                return  # checked recently: this runs several times per frame
            wait = self._frames_before_opening(current)
            if wait > 0:
                self._checked = current
                self._check_at = self._frames + min(25, wait)
                return
        self._future = self._start_preparation(self._lead_seconds())

    def _frames_before_opening(self, current: _Playing) -> int:
        """Frames of this sequence to read before the next track should be opened."""
        decoder = current.decoder
        left = decoder.remaining
        if self._early or decoder.eof or left is None:
            return 0  # early: right after the current track's first frame (announced)
        return max(0, left - self._preload_frames)

    def _lead_seconds(self) -> float | None:
        """When the track being prepared now is expected to start, in seconds from now."""
        current = self._current
        if current is None or self._skip is not None:
            return 0.0
        left = current.decoder.remaining_samples
        if left is None:
            return None
        return max(0, left - self._crossfade) / 48_000

    def _start_preparation(self, lead: float | None) -> Future[_Prepared]:
        # One short-lived daemon thread per preparation (one per track), not an
        # executor: executor threads are joined at interpreter exit, and a
        # preparation may be measuring a long file or waiting for a slow stream;
        # shutting the station down must not wait for that.
        future: Future[_Prepared] = Future()

        def run() -> None:
            try:
                future.set_result(self._prepare(lead))
            except BaseException as exc:  # delivered to _poll, which logs it
                future.set_exception(exc)

        name = f"prepare-{self.name or id(self)}"
        threading.Thread(target=run, name=name, daemon=True).start()
        return future

    def _prepare(self, lead: float | None) -> _Prepared:
        failures: list[tuple[Track, str]] = []
        for _ in range(MAX_ATTEMPTS):
            try:
                if self._timed is not None:
                    track = self._timed.next_track_in(lead)
                else:
                    track = self._provider.next_track()
            except Exception:
                logger.exception("the track provider of %s failed", self.name or "sequence")
                break
            if track is None:
                break
            try:
                info = _known(track) or probe(track.location)
                gain = self._loudness.gain_db(track.location) if self._loudness else 0.0
                decoder = FFmpegDecoder(
                    track.location, gain_db=gain, info=info, buffer_frames=self._buffer_frames
                )
            except SourceError as exc:
                logger.warning("skipping %s: %s", track.location, exc)
                failures.append((track, str(exc)))
                continue
            # a file can probe fine and still decode nothing (garbage after a valid
            # header): find out here, off the player thread, not at its turn
            decoder.wait_buffered(FIRST_FRAME_TIMEOUT)
            if decoder.finished and decoder.error is not None:
                logger.warning("skipping %s: %s", track.location, decoder.error)
                failures.append((track, decoder.error))
                decoder.close()
                continue
            logger.debug("%s opened %s at %+.2f dB", self.name or "sequence", track.location, gain)
            return _Prepared(_Playing(track, decoder), failures)
        return _Prepared(None, failures)

    def _emit(self, events: list[Event]) -> None:
        if self._events is None:
            return
        for event in events:
            try:
                self._events(event)
            except Exception:
                logger.exception("event sink failed on %r", event)


def _known(track: Track) -> ProbeInfo | None:
    """What probing would tell, when the track already says it (the playlist library
    probed the file): skipping ffprobe halves the time to open a track (about 65 of
    130 ms here). A bad file is still found before its turn: FFmpeg fails, or
    decodes nothing, while the helper waits for its first frame."""
    if track.duration is None or track.duration <= 0:
        return None
    return ProbeInfo(duration=track.duration)


def _finished(future: Future[_Prepared], timeout: float | None) -> bool:
    """Wait for ``future``; False when it failed or ``timeout`` passed first."""
    try:
        future.result(timeout)
    except Exception:
        return False
    return True


def _anything(track: Track) -> bool:
    return True
