"""Live takeover through the whole application: real FFmpeg as the presenter's
encoder, the real StationApp and bot on the local Discord, a listener's ears.

The station plays its fallback tones (440, 550, 660 Hz); alice presents the show
on air. Her encoder (``ffmpeg -re … icecast://…``, PUT with MP3, or the legacy
SOURCE with Ogg/Opus) sends a 1,500 Hz tone for three seconds. The listener
must hear: the programme, then the presenter's tone with no silent packet at the
cut-in, then the grace's silence, then the programme again on a fresh track,
whose first frame is the one after the live branch let go. The encoder's
``updinfo`` becomes the live title; the session is recorded to an Ogg/Opus file
that holds the same tone.
"""

from __future__ import annotations

import asyncio
import functools
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from support.station_app import on_air, station_app
from support.wait import until

from radio.app import StationApp
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.events import Event, LiveEnded, LiveStarted, LiveTitle, TrackStarted
from radio.sandbox import Emulator
from radio.sandbox.presenter import encoder_args, update_title
from radio.sandbox.record import PacketRecord
from radio.store.presenters import PresenterCredentials

from .conftest import make_station, packet_tone

pytestmark = pytest.mark.e2e

LIVE_HZ = 1500.0
PROGRAMME_HZ = (440.0, 550.0, 660.0)
GRACE_S = 1.0
PASSWORD = "alices-secret"


# 0.0 for silence, the programme's or the presenter's tone, None for a mixture
tone_of = functools.partial(packet_tone, tones=(*PROGRAMME_HZ, LIVE_HZ))


class ProgrammeBack:
    """True once the listener has heard a programme tone after the presenter's tone,
    in packets from ``mark`` on; each packet is looked at once."""

    def __init__(self, live: Live, mark: int) -> None:
        self._live = live
        self._next = mark
        self._live_heard = False

    def __call__(self) -> bool:
        packets = self._live.heard()
        for packet in packets[self._next :]:
            self._next += 1
            tone = tone_of(packet)
            if tone == LIVE_HZ:
                self._live_heard = True
            elif self._live_heard and tone in PROGRAMME_HZ:
                return True
        return False


@dataclass
class Live:
    app: StationApp
    emulator: Emulator
    events: list[Event]
    user: str

    @property
    def port(self) -> int:
        assert self.app.ingest is not None
        return self.app.ingest.port

    def heard(self) -> list[PacketRecord]:
        return self.emulator.record.audio_packets(channel_id=self.emulator.world.voice_channel.id)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in list(self.events) if isinstance(e, kind)]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    station = make_station(tmp_path / "station", show_start=None)
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emulator:
        world = emulator.world
        alice = world.people["alice"]
        (station.root / "station.yaml").write_text(
            "name: Tiny FM\ntimezone: UTC\nfallback: music\n"
            f"live: {{grace: {GRACE_S}, fade: 0.2}}\n",
            encoding="utf-8",
        )
        (station.root / "schedules" / "week.yaml").write_text(
            "shows:\n"
            "  - id: night\n"
            "    title: Night Live\n"
            "    days: [mon, tue, wed, thu, fri, sat, sun]\n"
            '    start: "00:00"\n'
            '    end: "00:00"\n'
            f"    presenters: [{alice.id}]\n"
            "    live: {allowed: true, record: true}\n"
            "    rotation: [{playlist: music}]\n",
            encoding="utf-8",
        )
        config = DiscordConfig.model_validate(
            {"guilds": [{"id": world.guild.id, "broadcast": world.voice_channel.id}]}
        )
        app = station_app(station.root, station.data, config)
        credentials = PresenterCredentials(app.db).set_password(alice.id, "alice", PASSWORD)
        events: list[Event] = []
        app.events.subscribe(events.append)
        async with on_air(
            app, emulator, ready=lambda: app.ingest is not None and app.ingest.listening
        ):
            yield Live(app, emulator, events, credentials.user)


@pytest.mark.parametrize("legacy", [False, True], ids=["put-mp3", "source-ogg-opus"])
async def test_presenter_goes_live_and_the_programme_comes_back_fresh(
    live: Live, legacy: bool
) -> None:
    app = live.app
    await until(lambda: len(live.heard()) >= 50)  # the programme is on air
    mark = len(live.heard())
    process = await asyncio.create_subprocess_exec(
        *encoder_args(
            f"icecast://{live.user}:{PASSWORD}@127.0.0.1:{live.port}/live",
            hz=LIVE_HZ,
            format="ogg-opus" if legacy else "mp3",
            legacy=legacy,
        ),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await until(lambda: bool(live.of(LiveStarted)))
        assert (
            await update_title("127.0.0.1", live.port, live.user, PASSWORD, "Alice - Night Talk")
            == 200
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    await until(lambda: bool(live.of(LiveEnded)))
    ended = live.of(LiveEnded)[0]
    assert isinstance(ended, LiveEnded)
    # the programme's next track starts on the frame after live let go
    await until(lambda: any(e.frame > ended.frame for e in live.of(TrackStarted)))
    back = next(e for e in live.of(TrackStarted) if e.frame > ended.frame)
    assert back.frame == ended.frame + 1
    # the programme heard again after the presenter (a packet count would not do:
    # on a busy machine the events run ahead of what the listener has heard)
    await until(ProgrammeBack(live, mark))
    [started] = live.of(LiveStarted)
    assert isinstance(started, LiveStarted)
    assert (started.presenter, started.via, started.show) == ("alice", "encoder", "night")
    assert ended.reason == "ended"
    titles = [e.title for e in live.of(LiveTitle) if isinstance(e, LiveTitle)]
    assert "Alice - Night Talk" in titles

    tones = [tone_of(p) for p in live.heard()[mark:]]
    live_at = [i for i, t in enumerate(tones) if t == LIVE_HZ]
    first_live, last_live = live_at[0], live_at[-1]
    # the presenter's three seconds, every packet of them heard
    assert 140 <= len(live_at) <= 160, len(live_at)
    # at the cut-in, the fade: no silent packet between the programme and the presenter
    # (the encoder's own first frame may be silent: priming)
    assert tones[:first_live].count(0.0) <= 1
    # live to programme: only the grace's silence (and the encoder's own tail), then
    # the programme again, a track of the fallback from its first frame
    after = tones[last_live + 1 :]
    first_programme = next(i for i, t in enumerate(after) if t in PROGRAMME_HZ)
    silent = after[:first_programme]
    assert all(t in (0.0, None) for t in silent)
    assert GRACE_S * 50 - 2 <= len(silent) <= GRACE_S * 50 + 3, len(silent)
    assert app.onair.root.dead_air_frames == 0

    # the recording: the presenter's tone, as long as what went on air
    recordings = sorted((app.recordings / "night").glob("*.opus"))
    await until(lambda: not list((app.recordings / "night").glob("*.recording")), 20)
    assert len(recordings) == 1
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(recordings[0]), "-f", "s16le", "-ac", "1",
         "-ar", "48000", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    frames = len(samples) // 960
    on_air_frames = ended.frame - started.frame + 1
    # Frames the sender skipped to stay on time (a busy machine) never went on air,
    # so they are not in the recording either.
    skipped = app.bot.broadcaster.stats().skipped
    assert on_air_frames - skipped - 2 <= frames <= on_air_frames + 2, (
        frames,
        on_air_frames,
        skipped,
    )
    loud = samples[: len(live_at) * 960]
    spectrum = np.abs(np.fft.rfft(loud * np.hanning(loud.size)))
    assert abs(float(np.argmax(spectrum)) * 48000 / loud.size - LIVE_HZ) < 5
    assert stderr is not None
