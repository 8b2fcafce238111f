"""A blank track skipped by the engine reaches the programmers' room as one alert, and
the metrics' event counts: the real sequence's events into the real announcer."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from radio.audio import synth
from radio.audio.sequence import TrackSequence
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.bot.announcements import Alert, Announcer, Rooms
from radio.events import EventBus, TrackBlank
from radio.web.eventcounts import EventCounts

T0 = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)


def test_a_blank_track_is_one_alert_for_the_programmers_and_one_count(tmp_path: Path) -> None:
    blank = tmp_path / "blank.flac"
    source = "anullsrc=r=48000:cl=stereo:d=600"
    args = ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source]
    subprocess.run([*args, "-c:a", "flac", "-y", str(blank)], check=True)
    tone = synth.tone(tmp_path / "tone.wav", 440, 2.0)
    bus = EventBus()
    announcer = Announcer(Rooms(programmers=(400,), admins=(500,)), station="R")
    counts = EventCounts()
    seen: list[object] = []
    bus.subscribe(announcer.handle)
    bus.subscribe(counts)
    bus.subscribe(seen.append)
    seq = TrackSequence(
        TrackList([Track(str(blank), "Blank"), Track(str(tone), "Tone")]),
        events=bus,
        blank_limit=1.0,
    )
    for _ in range(150):  # 50 blank frames, the skip, then the tone
        assert seq.wait_buffered(10.0)
        seq.read()
    seq.close()
    assert [type(e) for e in seen].count(TrackBlank) == 1
    alerts = [a for a in announcer.due(T0) if isinstance(a, Alert)]
    assert [(a.channel_id, a.kind) for a in alerts] == [(400, "blank")]
    assert alerts[0].content.startswith(f"Skipped `{blank}`: blank (below -40 dBFS) for 1 s")
    assert counts.totals().blank_skips == 1
