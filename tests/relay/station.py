"""The station side of the relay tests: a programme of tones published to a real Icecast.

The real SimulcastFeed encodes a tone that changes pitch every
:data:`TONE_FRAMES` frames, cycling through :data:`TONES`; the real
IcecastOutput publishes its packets (a new chained stream, titled, per tone);
a pump thread pulls one frame every 20 ms on an absolute grid, as the sender
would.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from radio.audio.frames import SAMPLE_RATE, SAMPLES_PER_FRAME
from radio.audio.source import Endless
from radio.audio.track import Track
from radio.bot.audio import SimulcastFeed
from radio.events import TrackStarted
from radio.outputs.icecast import IcecastOutput, StreamTitle
from radio.outputs.icecast_client import IcecastMount, SourceInfo

TONES = (440.0, 550.0, 660.0, 770.0, 880.0)
TONE_FRAMES = 75  # 1.5 s each
MOUNT = "/radio.opus"


def tone_title(index: int) -> StreamTitle:
    return StreamTitle(f"Tone {index}", "Test station")


class ToneProgramme(Endless):
    """Phase-continuous sine; the pump moves it to the next tone of the cycle."""

    def __init__(self) -> None:
        self.index = 0
        self.phase = 0.0

    @property
    def hz(self) -> float:
        return TONES[self.index % len(TONES)]

    def read(self) -> bytes:
        n = np.arange(SAMPLES_PER_FRAME)
        step = 2 * np.pi * self.hz / SAMPLE_RATE
        mono = (np.sin(self.phase + step * n) * 12_000).astype("<i2")
        self.phase = (self.phase + step * SAMPLES_PER_FRAME) % (2 * np.pi)
        return np.repeat(mono, 2).tobytes()

    def close(self) -> None:
        pass


class TonesStation:
    """The feed, its Icecast output and the pump (see the module docstring)."""

    def __init__(self, port: int, password: str) -> None:
        self.output = IcecastOutput(
            IcecastMount("127.0.0.1", port, MOUNT),
            password,
            monotonic=time.monotonic,
            info=SourceInfo(name="Test radio"),
            backoff_base=0.1,
            backoff_cap=0.5,
            connect_timeout=5.0,
            send_timeout=5.0,
        )
        self.programme = ToneProgramme()
        self.feed = SimulcastFeed(self.programme)
        self.feed.taps.add(self.output.packet, every_frame=True)
        self.pulled = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tones-pump", daemon=True)

    def start(self) -> None:
        self.output.title(tone_title(0))
        self.output.start()
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.output.close()

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            if self.pulled and self.pulled % TONE_FRAMES == 0:
                self.programme.index += 1
                title = tone_title(self.programme.index)
                self.output.on_event(
                    TrackStarted(self.pulled, Track("tone.flac", title.title, title.artist))
                )
            self.feed.next_packet()
            self.pulled += 1
            due += 0.02
            time.sleep(max(0.0, due - time.monotonic()))
