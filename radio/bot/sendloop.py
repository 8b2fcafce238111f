"""One sender thread for every station of a process.

Each station has a :class:`~radio.bot.sender.Broadcaster` (its schedule, its
rooms, its feed); a :class:`SendLoop` runs the ``step`` of all of them on one
thread. Thirty stations with a thread each wake 1,500 times a second, each
wake-up with cold caches and a GIL hand-off (see BENCHMARKS.md, "On
Discord"); one loop wakes 50 times a second and serves every due station back
to back.

The stations' schedules are aligned on one 20 ms grid (each one's frame 0 is
due at the next grid instant after it joins), so that one wake-up finds every
station due. The stations are stepped in the order they were added, each with
a fresh reading of the clock: a station's frame leaves at the same offset in
every tick, and each Broadcaster keeps its own guarantees (absolute
deadlines, at least 12 ms between two of its sends, skip-ahead when far
behind), so one slow station delays the others in that tick but never makes
them send in a burst.

Real-time priority: like an audio server's (JACK's, PipeWire's) audio thread,
the loop's thread asks the kernel for ``SCHED_FIFO`` at a modest priority
(:data:`REALTIME_PRIORITY`), so that a wake-up is not queued behind ordinary
work on a busy machine. It is opt-out (``realtime=None``) and never fatal: where
it is refused (no CAP_SYS_NICE, no rtprio limit) one info line in the process
says how to allow it and the thread runs at normal priority. A real-time thread
that never slept would starve every normal thread of its core, so the loop
sleeps after every pass, at least :data:`MIN_SLEEP_S` even when a station is
already due; and threads or processes it starts (a decoder opened by a pull)
are ordinary ones (``SCHED_RESET_ON_FORK``).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Final

from radio.bot.sender import PERIOD_S, Broadcaster

logger = logging.getLogger(__name__)

# Float error on grid instants computed from sums.
_EPSILON = 1e-9
# SCHED_FIFO priority of the sender thread: modest, as audio servers' clients
# use (JACK's default is 10 above its clients'; rtkit grants at most 20), well
# below the kernel's own threaded interrupts (50).
REALTIME_PRIORITY: Final = 10
# The least the thread sleeps after a pass, even when a station is already due:
# a real-time thread must always yield its core (1 ms delays a late station's
# catch-up by as much; its 12 ms minimum gap delays it more anyway).
MIN_SLEEP_S: Final = 0.001
HOW_TO_ALLOW_REALTIME: Final = (
    "to allow it, give the process an rtprio limit of at least {priority}"
    " (docker run --ulimit rtprio={priority}; ulimit -r {priority}; limits.conf"
    " 'USER - rtprio {priority}'; systemd LimitRTPRIO={priority}) or, as root,"
    " CAP_SYS_NICE"
)

# (policy, priority) -> None; raises OSError when refused.
Scheduler = Callable[[int, int], None]

_refusal_lock = threading.Lock()
_refusal_noted = False  # one info line per process, however many loops are refused


def set_thread_scheduler(policy: int, priority: int) -> None:
    """Put the calling thread under ``policy`` at ``priority`` (Linux: pid 0 is this thread).

    Threads and processes it starts afterwards get the normal policy back
    (``SCHED_RESET_ON_FORK``). Raises PermissionError when refused, OSError
    otherwise, NotImplementedError where the platform has no such call.
    """
    if not hasattr(os, "sched_setscheduler"):
        raise NotImplementedError("no sched_setscheduler on this platform")
    reset = getattr(os, "SCHED_RESET_ON_FORK", 0)
    os.sched_setscheduler(0, policy | reset, os.sched_param(priority))


def _note_refusal(name: str, priority: int, error: OSError) -> None:
    global _refusal_noted
    with _refusal_lock:
        if _refusal_noted:
            return
        _refusal_noted = True
    logger.info(
        "%s: real-time scheduling (SCHED_FIFO %d) refused (%s); sending at normal priority; %s",
        name,
        priority,
        error.strerror or error,
        HOW_TO_ALLOW_REALTIME.format(priority=priority),
    )


class SendLoop:
    """Runs :meth:`Broadcaster.step` of every added broadcaster on one thread.

    ``monotonic`` is the clock (seconds) every schedule is computed on. With
    ``ahead``, each pass first sends every station's frame, then encodes every
    station's next frame (:meth:`Broadcaster.prepare`): a station's send no
    longer waits for the pulls and encodes of the stations before it, at the
    price of pulling the programme one frame (20 ms) before it is sent: worth
    it for a process serving many stations, not for one (docs/sender.md). The
    thread sleeps until the earliest next send, at most one period at a time
    (so a clock that jumps or is stepped by a test is followed), and at least
    :data:`MIN_SLEEP_S`. :meth:`run_once` is one pass, and can be driven
    without the thread.

    ``realtime`` is the ``SCHED_FIFO`` priority the thread asks for when it
    starts (None: it does not ask); ``scheduler`` makes the request (default
    :func:`set_thread_scheduler`). A refusal is logged once per process and the
    thread runs at normal priority; :attr:`realtime` says what was granted.
    ``sleep`` is how the thread waits (real time whatever the clock).
    """

    def __init__(
        self,
        monotonic: Callable[[], float],
        *,
        name: str = "radio-sender",
        period: float = PERIOD_S,
        ahead: bool = False,
        realtime: int | None = REALTIME_PRIORITY,
        scheduler: Scheduler = set_thread_scheduler,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if period <= 0:
            raise ValueError("the period must be positive")
        if realtime is not None and not 1 <= realtime <= 99:
            raise ValueError("a real-time priority is between 1 and 99")
        self._monotonic = monotonic
        self._name = name
        self._period = period
        self._ahead = ahead
        self._origin: float | None = None  # the grid every schedule is aligned on
        self._senders: list[Broadcaster] = []
        # Held for each step and for add/remove: after remove() returns, the
        # broadcaster is not being stepped and will not be again.
        self._lock = threading.Lock()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._want_realtime = realtime
        self._scheduler = scheduler
        self._sleep = sleep
        self._realtime: int | None = None
        self._scheduled = threading.Event()  # the thread has asked (or not) for its priority

    @property
    def name(self) -> str:
        """The thread's name."""
        return self._name

    def add(self, sender: Broadcaster) -> bool:
        """Step ``sender`` from the next pass on; False if it is already served."""
        with self._lock:
            if sender in self._senders:
                return False
            self._senders.append(sender)
        return True

    def remove(self, sender: Broadcaster) -> None:
        """Stop stepping ``sender`` (idempotent); waits for a step in progress to end."""
        with self._lock:
            if sender in self._senders:
                self._senders.remove(sender)

    def senders(self) -> list[Broadcaster]:
        """The broadcasters served, in the order they are stepped."""
        with self._lock:
            return list(self._senders)

    def grid(self, now: float) -> float:
        """The first instant of the loop's 20 ms grid at or after ``now``."""
        if self._origin is None:
            self._origin = now
        ticks = math.ceil((now - self._origin) / self._period - _EPSILON)
        return self._origin + max(0, ticks) * self._period

    def run_once(self) -> float:
        """Step every broadcaster once, in order; return seconds until the earliest next send.

        Each step reads the clock afresh. A broadcaster whose feed has ended
        is removed; one whose step raises is logged and stepped again next
        pass. With ``ahead``, every broadcaster then prepares its next frame.
        Returns one period when nothing is served; never negative.
        """
        # With ahead, the frames prepared in the last pass go out back to back here.
        earliest = self._step_all()
        if self._ahead:
            self._prepare_all()
        if earliest is None:
            return self._period
        return max(0.0, earliest - self._monotonic())

    def _prepare_all(self) -> None:
        for sender in self.senders():
            with self._lock:
                if sender not in self._senders:
                    continue  # removed meanwhile
                try:
                    sender.prepare()
                except Exception:
                    logger.exception("%s: %s failed to prepare a frame", self._name, sender.name)

    def _step_all(self) -> float | None:
        # One step of every broadcaster; the earliest instant one is due next.
        earliest: float | None = None
        # Newcomers join the grid from the pass's start, so that the stations
        # added together begin together (not one tick apart when a step before
        # theirs takes time).
        start = self.grid(self._monotonic())
        for sender in self.senders():
            with self._lock:
                if sender not in self._senders:
                    continue  # removed meanwhile
                now = self._monotonic()
                sender.begin(start)  # a no-op once it has begun
                try:
                    wait = sender.step(now)
                except Exception:
                    # A bug in one station must not silence the others: log and go on.
                    logger.exception("%s: %s failed to send a frame", self._name, sender.name)
                    wait = self._period
                if sender.ended:
                    self._senders.remove(sender)
                    continue
            due = now + wait
            earliest = due if earliest is None else min(earliest, due)
        return earliest

    # -- the thread ------------------------------------------------------------

    def start(self) -> None:
        """Run passes on a daemon thread until :meth:`stop` (idempotent).

        A stopped loop stays stopped. Returns once the thread has asked for
        its real-time priority (see :attr:`realtime`), before its first pass.
        """
        if self._thread is None and not self._stopping:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
            self._scheduled.wait()

    @property
    def wanted_realtime(self) -> int | None:
        """The SCHED_FIFO priority the thread asks for when it starts; None: it does not ask."""
        return self._want_realtime

    @property
    def realtime(self) -> int | None:
        """The SCHED_FIFO priority the thread runs at; None if normal (or not started)."""
        return self._realtime

    @property
    def native_id(self) -> int | None:
        """The thread's kernel id (what ``os.sched_getscheduler`` takes); None before start."""
        return None if self._thread is None else self._thread.native_id

    def stop(self) -> None:
        """Stop the thread and wait for it, at most one period (idempotent).

        The broadcasters keep their rooms.
        """
        self._stopping = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    @property
    def running(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._ask_realtime()
        finally:
            self._scheduled.set()
        while not self._stopping:
            wait = self.run_once()
            # A plain sleep: cheaper than an Event's wait (no lock to make and
            # take on every frame), and a new broadcaster or a stop waits at
            # most one period, which the grid makes it wait anyway. Never
            # less than MIN_SLEEP_S: a real-time thread must yield its core.
            self._sleep(min(max(wait, MIN_SLEEP_S), self._period))

    def _ask_realtime(self) -> None:
        priority = self._want_realtime
        if priority is None:
            return
        try:
            self._scheduler(getattr(os, "SCHED_FIFO", 1), priority)
        except NotImplementedError:
            logger.debug("%s: no real-time scheduling on this platform", self._name)
        except PermissionError as error:
            _note_refusal(self._name, priority, error)
        except OSError as error:
            logger.warning(
                "%s: real-time scheduling (SCHED_FIFO %d) failed: %s; sending at normal priority",
                self._name,
                priority,
                error,
            )
        else:
            self._realtime = priority
            logger.info("%s: sending at real-time priority (SCHED_FIFO %d)", self._name, priority)
