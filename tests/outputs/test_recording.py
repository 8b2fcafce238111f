"""Recordings of live sessions: names, crash safety under a real SIGKILL, finalising, retention."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from radio.errors import OutputError
from radio.outputs.oggopus import OPUS_PRE_SKIP
from radio.outputs.recording import Recorder, finalise_unfinished, prune, safe_name

from .conftest import FRAME, decode, dominant_hz, ogg_pages

REPO = Path(__file__).resolve().parents[2]
STARTED = datetime(2025, 3, 14, 21, 5, tzinfo=ZoneInfo("Europe/Paris"))

# The writer in a real process of its own: it records the packets it is given,
# says how many after each, and waits to be killed.
CHILD = """
import struct, sys
from datetime import datetime
from pathlib import Path
from radio.outputs.recording import Recorder

root, packets_file, stop_after = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
data = packets_file.read_bytes()
packets, offset = [], 0
while offset < len(data):
    (size,) = struct.unpack_from("<I", data, offset)
    packets.append(data[offset + 4 : offset + 4 + size])
    offset += 4 + size
started = datetime(2025, 3, 14, 23, 0)
recorder = Recorder(root, show_id="late-show", presenter="Ana", started=started)
print(recorder.path, flush=True)
for packet in packets[:stop_after]:
    recorder.write(packet)
print(recorder.frames, flush=True)
sys.stdin.read()
"""


def kill_mid_recording(tmp_path: Path, packets: list[bytes], stop_after: int) -> Path:
    """Run a Recorder in a child, SIGKILL it once it has written ``stop_after`` packets."""
    packets_file = tmp_path / "packets.bin"
    packets_file.write_bytes(b"".join(struct.pack("<I", len(p)) + p for p in packets))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "rec"), str(packets_file), str(stop_after)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        path = Path(child.stdout.readline().strip())
        assert child.stdout.readline().strip() == str(stop_after)  # every packet handed over
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        assert child.stdin is not None
        child.stdin.close()
    return path


def marker_of(path: Path) -> Path:
    return path.with_name(path.name + ".recording")


def test_a_session_is_recorded_under_its_show(tmp_path: Path, sine_packets: list[bytes]) -> None:
    recorder = Recorder(tmp_path, show_id="morning", presenter="Zoë Dubois", started=STARTED)
    assert recorder.path == tmp_path / "morning" / "2025-03-14_2105_Zoe-Dubois.opus"
    assert marker_of(recorder.path).exists()  # being written
    for packet in sine_packets:
        recorder.write(packet)
    assert recorder.frames == len(sine_packets)
    recorder.close()
    recorder.close()  # idempotent
    assert not marker_of(recorder.path).exists()

    check = ogg_pages(recorder.path)
    assert check.clean and check.pages[-1].eos
    tags = check.pages[1].body
    for comment in (
        b"TITLE=morning",
        "ARTIST=Zoë Dubois".encode(),
        b"DATE=2025-03-14T21:05:00+01:00",
    ):
        assert comment in tags
    decoded = decode(recorder.path)
    assert decoded.stderr == ""
    assert decoded.samples == len(sine_packets) * FRAME - OPUS_PRE_SKIP
    assert dominant_hz(decoded.left[FRAME:]) == pytest.approx(440, abs=1)
    with pytest.raises(ValueError):
        recorder.write(sine_packets[0])


def test_names_never_escape_the_root(tmp_path: Path, sine_packets: list[bytes]) -> None:
    root = tmp_path / "recordings"
    recorder = Recorder(root, show_id="../../etc", presenter="../../x/..", started=STARTED)
    recorder.write(sine_packets[0])
    recorder.close()
    assert recorder.path == root / "etc" / "2025-03-14_2105_x.opus"
    for text in ("..", "/", "a/../b", ".hidden", "-rf", "", "Ünïcödé ☃ name", "a" * 200):
        name = safe_name(text)
        assert name and "/" not in name and not name.startswith((".", "-"))
        assert len(name) <= 64
    assert safe_name("Ünïcödé ☃ name") == "Unicode-name"


def test_a_second_session_in_the_same_minute_gets_its_own_file(
    tmp_path: Path, sine_packets: list[bytes]
) -> None:
    first = Recorder(tmp_path, show_id="s", presenter="ana", started=STARTED)
    second = Recorder(tmp_path, show_id="s", presenter="ana", started=STARTED)
    assert second.path == first.path.with_name("2025-03-14_2105_ana-2.opus")
    for recorder in (first, second):
        recorder.write(sine_packets[0])
        recorder.close()
    assert first.path.exists() and second.path.exists()


def test_a_session_with_no_audio_leaves_no_file(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, show_id="s", presenter="ana", started=STARTED)
    recorder.close()
    assert list((tmp_path / "s").iterdir()) == []


def test_a_recorder_that_cannot_start_raises_output_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputError):
        Recorder(tmp_path / "file", show_id="s", presenter="ana", started=STARTED)


def test_kill_9_leaves_a_playable_file_that_finalising_ends(
    tmp_path: Path, sine_packets: list[bytes]
) -> None:
    # 130 packets handed over: two whole pages (100 packets) were written, the
    # third page's 30 were still being gathered when the writer died.
    path = kill_mid_recording(tmp_path, sine_packets, 130)
    assert path.parent == tmp_path / "rec" / "late-show"
    assert marker_of(path).exists()

    partial = ogg_pages(path)
    assert partial.clean and not partial.pages[-1].eos
    decoded = decode(path)
    assert decoded.stderr == ""
    assert decoded.samples == 100 * FRAME - OPUS_PRE_SKIP
    assert dominant_hz(decoded.left[FRAME:]) == pytest.approx(440, abs=1)
    assert (
        prune(tmp_path / "rec", now=STARTED + timedelta(days=999), keep_days=0, max_bytes=0) == []
    )

    assert finalise_unfinished(tmp_path / "rec") == [path]
    assert not marker_of(path).exists()
    check = ogg_pages(path)
    assert check.clean
    assert [page.eos for page in check.pages] == [False] * 3 + [True]
    decoded = decode(path)
    assert decoded.stderr == ""
    assert decoded.samples == 100 * FRAME - OPUS_PRE_SKIP
    assert finalise_unfinished(tmp_path / "rec") == []  # nothing left to do


def test_finalising_cuts_a_torn_page(tmp_path: Path, sine_packets: list[bytes]) -> None:
    path = kill_mid_recording(tmp_path, sine_packets, 130)
    # As if the kill had landed while the second audio page was being written.
    pages = ogg_pages(path).pages
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size - len(pages[-1].body) // 3)

    assert finalise_unfinished(tmp_path / "rec") == [path]
    check = ogg_pages(path)
    assert check.clean
    assert [(page.eos, page.granule) for page in check.pages[2:]] == [(True, 50 * FRAME)]
    decoded = decode(path)
    assert decoded.stderr == ""
    assert decoded.samples == 50 * FRAME - OPUS_PRE_SKIP


def test_finalising_removes_what_holds_no_audio(tmp_path: Path, sine_packets: list[bytes]) -> None:
    path = kill_mid_recording(tmp_path, sine_packets, 30)  # died before its first page
    assert len(ogg_pages(path).pages) == 2
    lonely_marker = path.parent / "2025-03-14_2300_ghost.opus.recording"
    lonely_marker.write_text("{}")
    assert finalise_unfinished(tmp_path / "rec") == []
    assert list(path.parent.iterdir()) == []


def make_recording(root: Path, show: str, name: str, size: int) -> Path:
    path = root / show / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(size))
    return path


def test_prune_by_age(tmp_path: Path) -> None:
    old = make_recording(tmp_path, "a", "2025-03-01_2100_ana.opus", 10)
    older = make_recording(tmp_path, "b", "2025-02-01_0900_bo.opus", 10)
    recent = make_recording(tmp_path, "a", "2025-03-10_2100_ana.opus", 10)
    now = datetime(2025, 3, 12, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert prune(tmp_path, now=now, keep_days=7, max_bytes=None) == [older, old]
    assert recent.exists() and not old.exists()
    assert prune(tmp_path, now=now, keep_days=7, max_bytes=None) == []


def test_prune_by_size_oldest_first(tmp_path: Path) -> None:
    first = make_recording(tmp_path, "a", "2025-03-01_2100_ana.opus", 100)
    second = make_recording(tmp_path, "b", "2025-03-02_2100_bo.opus", 100)
    third = make_recording(tmp_path, "a", "2025-03-03_2100_ana.opus", 100)
    now = datetime(2025, 3, 4)
    assert prune(tmp_path, now=now, keep_days=None, max_bytes=250) == [first]
    assert prune(tmp_path, now=now, keep_days=None, max_bytes=200) == []
    assert prune(tmp_path, now=now, keep_days=None, max_bytes=99) == [second, third]


def test_prune_falls_back_to_mtime_and_spares_what_is_being_written(tmp_path: Path) -> None:
    now = datetime(2025, 3, 12, 12, 0, tzinfo=ZoneInfo("UTC"))
    unnamed = make_recording(tmp_path, "a", "imported.opus", 10)
    month_ago = (now - timedelta(days=30)).timestamp()
    os.utime(unnamed, (month_ago, month_ago))
    writing = make_recording(tmp_path, "a", "2025-01-01_1000_ana.opus", 1000)
    marker_of(writing).write_text("{}")
    fresh = make_recording(tmp_path, "a", "2025-03-12_1000_ana.opus", 10)
    other = make_recording(tmp_path, "a", "notes.txt", 10)
    assert prune(tmp_path, now=now, keep_days=7, max_bytes=0) == [unnamed, fresh]
    assert writing.exists() and other.exists()


def test_prune_refuses_negative_limits(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        prune(tmp_path, now=STARTED, keep_days=-1, max_bytes=None)
    with pytest.raises(ValueError):
        prune(tmp_path, now=STARTED, keep_days=None, max_bytes=-1)
    assert prune(tmp_path / "missing", now=STARTED, keep_days=1, max_bytes=1) == []


def test_bad_tags_leave_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Recorder(tmp_path, show_id="s", presenter="ana", started=STARTED, tags={"A=B": "c"})
    assert list((tmp_path / "s").iterdir()) == []
