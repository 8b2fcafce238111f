"""One send loop for every station: order, counts and gaps of sends on a manual clock."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import os
import threading
import time

import discord.opus
import pytest

from radio.audio.operators import Sine
from radio.bot import sendloop
from radio.bot.audio import OPUS_SILENCE, SimulcastFeed
from radio.bot.client import RadioBot
from radio.bot.config import DiscordConfig
from radio.bot.sender import MIN_GAP_S, PERIOD_S, STOP_SILENCE_FRAMES, Broadcaster
from radio.bot.sendloop import MIN_SLEEP_S, REALTIME_PRIORITY, SendLoop
from radio.clock import SystemClock
from radio.sandbox import Emulator, point_discord_at
from radio.sandbox.analysis import missing_sequences, tone_runs
from radio.sandbox.state import ChannelType

from .doubles import CountingEncoder, SteppedMonotonic
from .e2e import until

START = 500.0


class ManualClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class TimedLink:
    """A voice connection double: notes the clock at each send; a send may take time."""

    def __init__(self, name: str, clock: ManualClock, log: list[tuple[str, float]]) -> None:
        self.name = name
        self.clock = clock
        self.log = log
        self.connected = True
        self.ws = object()
        self.sends: list[float] = []
        self.packets: list[bytes] = []
        self.slow: dict[int, float] = {}  # send index -> seconds that send takes

    def is_connected(self) -> bool:
        return self.connected

    def session(self) -> object:
        return self.ws

    def send(self, packet: bytes) -> None:
        self.sends.append(self.clock.now)
        self.packets.append(packet)
        self.log.append((self.name, self.clock.now))
        self.clock.now += self.slow.pop(len(self.sends) - 1, 0.0)

    def speak(self, speaking: bool) -> None:
        pass


class Rig:
    """A send loop on a manual clock and its stations, each a Sine, a real encoder and a room."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.loop = SendLoop(self.clock)
        self.log: list[tuple[str, float]] = []
        self.senders: dict[str, Broadcaster] = {}
        self.links: dict[str, TimedLink] = {}
        self.encoders: dict[str, CountingEncoder] = {}
        self.feeds: dict[str, SimulcastFeed] = {}
        self.passes = 0

    def station(self, name: str, encoder: CountingEncoder | None = None) -> Broadcaster:
        self.encoders[name] = encoder if encoder is not None else CountingEncoder()
        self.feeds[name] = SimulcastFeed(Sine(300.0 + 50 * len(self.senders)), self.encoders[name])
        sender = Broadcaster(self.feeds[name], name=name)
        link = TimedLink(name, self.clock, self.log)
        assert sender.attach(link, link)
        self.senders[name], self.links[name] = sender, link
        assert self.loop.add(sender)
        return sender

    def run_until(self, instant: float) -> None:
        """Run passes, moving the clock by what each pass says to wait, up to ``instant``."""
        while self.clock.now < instant:
            wait = self.loop.run_once()
            self.passes += 1
            assert wait > 0 or self.passes < 10_000, "the loop never waits"
            self.clock.now += wait


def at(frames: float) -> float:
    return START + frames * PERIOD_S


def gaps(sends: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(sends)]


def test_one_pass_per_tick_serves_every_station_in_the_order_added() -> None:
    rig = Rig()
    for name in ("a", "b", "c"):
        rig.station(name)
    rig.run_until(at(49.5))
    for name in ("a", "b", "c"):
        assert rig.links[name].sends == pytest.approx([at(n) for n in range(50)])
        assert rig.encoders[name].calls == 50
    assert [name for name, _ in rig.log] == ["a", "b", "c"] * 50
    # Aligned on one grid: one pass per frame, not one per station and frame.
    assert rig.passes == 50


def test_the_packets_are_those_of_a_station_sending_alone() -> None:
    rig = Rig()
    rig.station("a")
    rig.station("b")
    rig.run_until(at(19.5))
    alone = Broadcaster(SimulcastFeed(Sine(350.0), discord.opus.Encoder()), name="alone")
    link = TimedLink("alone", ManualClock(), [])
    alone.attach(link, link)
    for n in range(20):
        alone.step(at(n))
    assert rig.links["b"].packets == link.packets


def test_a_slow_station_delays_the_next_but_never_makes_it_burst() -> None:
    rig = Rig()
    rig.station("slow")
    rig.station("other")
    rig.links["slow"].slow = {10: 0.035, 30: 0.019}  # e.g. the thread was descheduled
    rig.run_until(at(59.5))
    for name in ("slow", "other"):
        sends = rig.links[name].sends
        assert min(gaps(sends)) >= MIN_GAP_S - 1e-9
        # 35 ms late is not far enough behind to skip: every frame is sent.
        assert len(sends) == 60
        assert rig.senders[name].stats().skipped == 0
    other = rig.links["other"].sends
    assert other[10] == pytest.approx(at(10) + 0.035)  # delayed in that tick ...
    assert other[11] == pytest.approx(other[10] + MIN_GAP_S)  # ... catching up gradually
    assert other[20] == pytest.approx(at(20))  # back on its deadlines
    assert other[30] == pytest.approx(at(30) + 0.019)
    assert other[31] == pytest.approx(other[30] + MIN_GAP_S)
    assert other[33] == pytest.approx(at(33))


def test_far_behind_each_station_skips_ahead_rather_than_sends_a_backlog() -> None:
    rig = Rig()
    rig.station("slow")
    rig.station("other")
    rig.links["slow"].slow = {5: 0.150}
    rig.run_until(at(29.5))
    other = rig.links["other"].sends
    assert min(gaps(other)) >= MIN_GAP_S - 1e-9
    assert rig.senders["other"].stats().skipped > 0
    # Every station's programme stays in real time: as many frames pulled as due.
    for name in ("slow", "other"):
        assert rig.feeds[name].position == 30


def test_stations_added_while_running_join_the_grid_and_removed_ones_stop() -> None:
    rig = Rig()
    rig.station("a")
    rig.run_until(at(9.3))
    late = rig.station("late")
    rig.run_until(at(19.5))
    assert rig.links["late"].sends == pytest.approx([at(n) for n in range(10, 20)])
    rig.loop.remove(late)
    rig.loop.remove(late)  # idempotent
    assert rig.loop.senders() == [rig.senders["a"]]
    rig.run_until(at(29.5))
    assert len(rig.links["late"].sends) == 10
    assert rig.links["a"].sends == pytest.approx([at(n) for n in range(30)])
    assert not rig.loop.add(rig.senders["a"])  # already served


def test_a_station_whose_feed_ends_is_hushed_and_dropped() -> None:
    rig = Rig()
    rig.station("a")
    ending = rig.station("ending")
    rig.run_until(at(4.5))
    rig.feeds["ending"].close()
    rig.run_until(at(9.5))
    assert ending.ended
    assert rig.loop.senders() == [rig.senders["a"]]
    assert rig.links["ending"].packets[5:] == [OPUS_SILENCE] * STOP_SILENCE_FRAMES
    assert len(rig.links["a"].sends) == 10


class FailingEncoder(CountingEncoder):
    """The real encoder, failing on its third call."""

    def encode(self, pcm: bytes, frame_size: int) -> bytes:
        if self.calls == 2:
            self.calls += 1
            raise discord.opus.OpusError(-3)
        return super().encode(pcm, frame_size)


def test_a_failing_station_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig()
    rig.station("broken", FailingEncoder())
    rig.station("fine")
    rig.run_until(at(9.5))
    assert len(rig.links["fine"].sends) == 10
    assert len(rig.links["broken"].sends) == 9  # all but the failed frame
    assert sum("broken failed to send a frame" in r.getMessage() for r in caplog.records) == 1


def test_with_nothing_to_serve_the_loop_waits_one_period() -> None:
    loop = SendLoop(ManualClock())
    assert loop.run_once() == pytest.approx(PERIOD_S)


def test_the_thread_steps_every_station_on_the_clock_it_is_given() -> None:
    # A clock that stands still at frame 0: the thread sends frame 0 of each, then waits.
    rig = Rig()
    rig.station("a")
    rig.station("b")
    pause = threading.Event()
    rig.loop.start()
    try:
        for _ in range(1000):  # a deadlock guard, not a measure
            if all(feed.position for feed in rig.feeds.values()):
                break
            pause.wait(0.01)
    finally:
        rig.loop.stop()
        rig.loop.stop()  # idempotent
    assert not rig.loop.running
    assert [name for name, _ in rig.log] == ["a", "b"]
    # Stopping the loop leaves the rooms to their broadcasters.
    assert all(sender.stats().rooms == 1 for sender in rig.senders.values())


class SlowEncoder(CountingEncoder):
    """The real encoder; each encode takes one millisecond of the manual clock."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock

    def encode(self, pcm: bytes, frame_size: int) -> bytes:
        self.clock.now += 0.001
        return super().encode(pcm, frame_size)


@pytest.mark.parametrize("ahead", [False, True])
def test_ahead_sends_every_station_before_encoding_the_next_frames(ahead: bool) -> None:
    rig = Rig()
    rig.loop = SendLoop(rig.clock, ahead=ahead)
    for name in ("a", "b", "c"):
        rig.station(name, SlowEncoder(rig.clock))
    rig.run_until(at(9.5))
    for k, name in enumerate(("a", "b", "c")):
        sends = rig.links[name].sends
        assert len(sends) == 10 and rig.encoders[name].calls == (11 if ahead else 10)
        # Without ahead a station's send waits for its encode and those of the
        # stations before it; with ahead only the first frame does.
        offsets = [sends[n] - at(n) for n in range(1, 10)]
        expected = 0.0 if ahead else 0.001 * (k + 1)
        assert offsets == pytest.approx([expected] * 9)
    # The packets are the same either way: one frame encoded ahead, not another.
    plain = Rig()
    for name in ("a", "b", "c"):
        plain.station(name)
    plain.run_until(at(9.5))
    assert all(rig.links[n].packets == plain.links[n].packets for n in ("a", "b", "c"))


def test_ahead_encodes_nothing_for_a_station_with_no_room_connected() -> None:
    rig = Rig()
    rig.loop = SendLoop(rig.clock, ahead=True)
    rig.station("a")
    rig.links["a"].connected = False
    rig.run_until(at(9.5))
    assert rig.encoders["a"].calls == 0 and rig.feeds["a"].position == 10


# -- on the local Discord -------------------------------------------------------


E2E_FRAMES = 40


@pytest.mark.e2e
async def test_two_stations_share_one_sender_thread_and_each_room_hears_its_own() -> None:
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic, guilds=2) as emulator:
        world = emulator.world
        guilds = list(world.guilds.values())
        rooms = [g.channel_of_type(ChannelType.VOICE).id for g in guilds]
        clock = SteppedMonotonic(1000.0)
        loop = SendLoop(clock, name="radio-sender-shared")
        feeds = [SimulcastFeed(Sine(hz, level_dbfs=-12.0)) for hz in (440.0, 660.0)]
        bots = [
            RadioBot(
                DiscordConfig.model_validate({"guilds": [{"id": guild.id, "broadcast": room}]}),
                feed,
                clock=SystemClock(),
                connect_timeout=5.0,
                poll_interval=0.05,
                send_loop=loop,
            )
            for guild, room, feed in zip(guilds, rooms, feeds, strict=True)
        ]
        tasks = []
        for bot in bots:
            point_discord_at(bot, emulator.addresses)
            tasks.append(asyncio.create_task(bot.start(world.token)))

        def heard(room: int) -> int:
            return len(emulator.record.audio_packets(channel_id=room))

        def attached(bot: RadioBot) -> bool:
            return any(bot.broadcaster.is_attached(vc) for vc in bot.voice_clients)

        try:
            await until(lambda: all(attached(b) for b in bots) or any(t.done() for t in tasks))
            assert not any(t.done() for t in tasks)
            assert loop.senders() == [b.broadcaster for b in bots]
            # The clock stands still: each station took frame 0 (sent or idle).
            await until(lambda: all(feed.position == 1 for feed in feeds))
            before = [heard(room) for room in rooms]
            for n in range(1, 1 + E2E_FRAMES):
                clock.to_frame(n)
                await until(lambda n=n: all(feed.position == n + 1 for feed in feeds))
            await until(
                lambda: all(heard(r) == b + E2E_FRAMES for r, b in zip(rooms, before, strict=True))
            )
            # One thread for both; none of the bots' own (named after their guild).
            names = [t.name for t in threading.enumerate()]
            assert names.count("radio-sender-shared") == 1
            assert not {f"radio-sender:{g.id}" for g in guilds} & set(names)

            # One station closes: the other keeps the loop and its room.
            await bots[0].close()
            assert loop.senders() == [bots[1].broadcaster] and loop.running
            after = heard(rooms[1])
            for n in range(1 + E2E_FRAMES, 1 + 2 * E2E_FRAMES):
                clock.to_frame(n)
                await until(lambda n=n: feeds[1].position == n + 1)
            await until(lambda: heard(rooms[1]) == after + E2E_FRAMES)
        finally:
            for bot in bots:
                await bot.close()
            loop.stop()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 5)
            for feed in feeds:
                feed.close()

        for room, hz in zip(rooms, (440.0, 660.0), strict=True):
            packets = emulator.record.audio_packets(channel_id=room)
            assert missing_sequences(packets) == []
            runs = tone_runs(emulator.record.pcm(packets[:E2E_FRAMES]))
            assert runs and all(abs(run.frequency - hz) < 1.0 for run in runs)


# -- real-time priority ---------------------------------------------------------


class Scheduling:
    """A scheduler that notes each request and the thread that made it; may refuse."""

    def __init__(self, refuse: OSError | None = None) -> None:
        self.refuse = refuse
        self.calls: list[tuple[int, int, int]] = []  # policy, priority, native thread id

    def __call__(self, policy: int, priority: int) -> None:
        self.calls.append((policy, priority, threading.get_native_id()))
        if self.refuse is not None:
            raise self.refuse


def test_the_thread_asks_for_sched_fifo_at_its_priority_once() -> None:
    scheduling = Scheduling()
    loop = SendLoop(ManualClock(), realtime=7, scheduler=scheduling)
    assert loop.realtime is None
    loop.start()
    loop.start()  # idempotent: one thread, one request
    loop.stop()
    assert scheduling.calls == [(os.SCHED_FIFO, 7, loop.native_id)]
    assert loop.native_id != threading.get_native_id()  # the loop's thread, not the caller
    assert loop.realtime == 7


def test_a_loop_told_not_to_never_asks() -> None:
    scheduling = Scheduling()
    loop = SendLoop(ManualClock(), realtime=None, scheduler=scheduling)
    loop.start()
    loop.stop()
    assert scheduling.calls == []
    assert loop.realtime is None


def test_priorities_outside_sched_fifo_are_refused_at_once() -> None:
    for priority in (0, 100):
        with pytest.raises(ValueError, match="between 1 and 99"):
            SendLoop(ManualClock(), realtime=priority)


def test_a_refusal_is_said_once_per_process_and_the_stations_still_play(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sendloop, "_refusal_noted", False)  # other tests may have been refused
    caplog.set_level(logging.INFO, logger="radio.bot.sendloop")
    refused = Scheduling(PermissionError(errno.EPERM, "Operation not permitted"))
    rig = Rig()
    rig.loop = SendLoop(rig.clock, scheduler=refused)
    rig.station("a")
    other = SendLoop(ManualClock(), scheduler=refused)
    pause = threading.Event()
    rig.loop.start()
    other.start()
    try:
        for _ in range(1000):  # a deadlock guard, not a measure
            if rig.feeds["a"].position:
                break
            pause.wait(0.01)
    finally:
        rig.loop.stop()
        other.stop()

    assert [call[:2] for call in refused.calls] == [(os.SCHED_FIFO, REALTIME_PRIORITY)] * 2
    assert (rig.loop.realtime, other.realtime) == (None, None)
    assert [name for name, _ in rig.log] == ["a"]  # frame 0 sent at normal priority
    said = [r for r in caplog.records if "real-time" in r.getMessage()]
    assert len(said) == 1
    assert said[0].levelno == logging.INFO
    for hint in ("refused", "CAP_SYS_NICE", "--ulimit rtprio=10", "rtprio"):
        assert hint in said[0].getMessage()


def test_other_failures_are_warned_and_the_loop_runs_on(caplog: pytest.LogCaptureFixture) -> None:
    failing = Scheduling(OSError(errno.EINVAL, "Invalid argument"))
    loop = SendLoop(ManualClock(), scheduler=failing)
    loop.start()
    running = loop.running
    loop.stop()
    assert running
    assert loop.realtime is None
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux scheduling calls")
def test_the_kernel_runs_the_thread_as_it_says() -> None:
    # Granted (CAP_SYS_NICE or an rtprio limit) or refused, whichever this
    # machine does: the thread's policy is what the loop reports, and only
    # the loop's thread changed.
    loop = SendLoop(ManualClock())
    loop.start()
    try:
        thread = loop.native_id
        assert thread is not None
        policy = os.sched_getscheduler(thread)
        priority = os.sched_getparam(thread).sched_priority
    finally:
        loop.stop()
    if loop.realtime is None:
        assert (policy, priority) == (os.SCHED_OTHER, 0)
    else:
        assert (policy, priority) == (os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, REALTIME_PRIORITY)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_the_thread_sleeps_after_every_pass_even_when_always_late() -> None:
    # A clock that leaps a second at every reading: every station is always
    # overdue and each pass says "no wait"; the thread still sleeps MIN_SLEEP_S.
    class Leaping:
        now = START

        def __call__(self) -> float:
            self.now += 1.0
            return self.now

    sleeps: list[float] = []
    loop: SendLoop

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 20:
            loop.stop()

    clock = Leaping()
    loop = SendLoop(clock, sleep=sleep, realtime=None)
    feed = SimulcastFeed(Sine(440.0), CountingEncoder())
    sender = Broadcaster(feed, name="late")
    link = TimedLink("late", ManualClock(), [])
    assert sender.attach(link, link)
    loop.add(sender)
    assert loop.run_once() == 0.0  # the premise: a pass that says no wait
    loop.start()
    for _ in range(1000):  # a deadlock guard, not a measure
        if not loop.running:
            break
        threading.Event().wait(0.01)
    assert len(sleeps) == 20
    assert set(sleeps) == {MIN_SLEEP_S}
