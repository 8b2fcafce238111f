"""The recordings' tap: packets written while the live branch holds the air, one file
per stretch on air, nothing written before or after, files finished by the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from radio.outputs.recording import MARKER_SUFFIX, Recorder
from radio.outputs.tap import RecordingTap

from .conftest import FRAME, decode

START = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


def recorder(root: Path, minute: int) -> Recorder:
    return Recorder(
        root, show_id="night", presenter="ana", started=START + timedelta(minutes=minute)
    )


def test_each_stretch_on_air_is_its_own_file(tmp_path: Path, sine_packets: list[bytes]) -> None:
    on_air = [False]
    tap = RecordingTap(on_air=lambda: on_air[0])
    opened: list[int] = []

    def again() -> Recorder:
        opened.append(1)
        return recorder(tmp_path, 10 + len(opened))

    tap.arm(recorder(tmp_path, 0), again=again)
    packets = iter(sine_packets)
    plan = [(False, 5), (True, 40), (False, 7), (True, 30), (False, 3)]
    for state, count in plan:
        on_air[0] = state
        for _ in range(count):
            tap.packet(next(packets))
    assert tap.disarm()
    files = sorted((tmp_path / "night").glob("*.opus"))
    assert [f.name for f in files] == ["2026-12-02_2100_ana.opus", "2026-12-02_2111_ana.opus"]
    assert not list((tmp_path / "night").glob("*" + MARKER_SUFFIX))
    assert opened == [1]
    for path, frames in zip(files, (40, 30), strict=True):
        decoded = decode(path)
        assert decoded.stderr == ""
        # the file holds the packets written, less the codec's pre-skip (312 samples)
        assert decoded.samples == frames * FRAME - 312
    assert tap.written == 70 and tap.dropped == 0


def test_a_session_never_on_air_leaves_no_file(tmp_path: Path, sine_packets: list[bytes]) -> None:
    tap = RecordingTap(on_air=lambda: False)
    tap.arm(recorder(tmp_path, 0), again=lambda: recorder(tmp_path, 1))
    for packet in sine_packets[:20]:
        tap.packet(packet)
    assert tap.disarm()
    assert not list((tmp_path / "night").glob("*"))


def test_arming_again_finishes_the_previous_session(
    tmp_path: Path, sine_packets: list[bytes]
) -> None:
    tap = RecordingTap(on_air=lambda: True)
    tap.arm(recorder(tmp_path, 0))
    for packet in sine_packets[:10]:
        tap.packet(packet)
    tap.arm(recorder(tmp_path, 5))
    for packet in sine_packets[10:30]:
        tap.packet(packet)
    assert tap.recording is not None and tap.recording.name == "2026-12-02_2105_ana.opus"
    assert tap.disarm()
    assert tap.recording is None
    lengths = [decode(p).samples for p in sorted((tmp_path / "night").glob("*.opus"))]
    assert lengths == [10 * FRAME - 312, 20 * FRAME - 312]
