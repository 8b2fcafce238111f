"""Media sources confined to the station's media roots; special files and symlink loops
skipped at scan time without being opened; every refusal at its source's position."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from radio.audio import synth
from radio.grid.check import CheckResult, check_station

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    station = tmp_path / "station"
    for folder in ("schedules", "playlists", "media/music"):
        (station / folder).mkdir(parents=True)
    (station / "station.yaml").write_text("timezone: UTC\nfallback: music\n")
    (station / "schedules/week.yaml").write_text("shows: []\n")
    synth.tone(station / "media/music/good.flac", 440, 0.5)
    return station


def _check(root: Path) -> CheckResult:
    results: list[CheckResult] = []
    worker = threading.Thread(target=lambda: results.append(check_station(root, NOW)), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the check is blocked"
    return results[0]


def _playlist(root: Path, sources: list[str]) -> None:
    lines = "".join(f"  - {source!r}\n" for source in sources)
    (root / "playlists/music.yaml").write_text("sources:\n" + lines)


def _media(result: CheckResult, root: Path) -> list[str]:
    return [
        str(d).replace(f"{root}/", "")
        for d in result.diagnostics
        if d.code.startswith(("E3", "W405"))
    ]


def test_a_symlink_out_of_the_media_folder_is_refused_at_its_source(
    root: Path, tmp_path: Path
) -> None:
    outside = synth.tone(tmp_path / "elsewhere/secret.flac", 660, 0.5)
    (root / "media/music/link.flac").symlink_to(outside)
    _playlist(root, ["media/music"])
    result = _check(root)
    assert _media(result, root) == [
        f"playlists/music.yaml:2:5 E305 media/music/link.flac resolves to {outside},"
        " outside the media roots (media): refused"
    ]
    assert not result.ok


def test_a_source_outside_the_roots_is_refused_and_media_roots_admit_it(
    root: Path, tmp_path: Path
) -> None:
    outside = synth.tone(tmp_path / "shared/jingle.flac", 660, 0.5)
    _playlist(root, ["media/music", str(outside), "../shared/*.flac"])
    result = _check(root)
    lines = _media(result, root)
    assert [line.split(" E305 ")[0] for line in lines] == [
        "playlists/music.yaml:3:5",
        "playlists/music.yaml:4:5",
    ]
    assert all(" E305 " in line for line in lines)

    (root / "station.yaml").write_text("timezone: UTC\nfallback: music\nmedia_roots: [../shared]\n")
    result = _check(root)
    assert _media(result, root) == []
    assert result.ok
    assert sorted(t.title for t in result.tracks["music"]) == ["good", "jingle", "jingle"]


def test_special_files_are_skipped_unopened_with_a_warning(root: Path) -> None:
    os.mkfifo(root / "media/music/stuck.flac")
    (root / "media/music/zero.flac").symlink_to("/dev/zero")
    _playlist(root, ["media/music", "media/music/stuck.flac"])
    result = _check(root)
    fifo = "media/music/stuck.flac: not a regular file (a FIFO)"
    assert _media(result, root) == [
        f"playlists/music.yaml:2:5 W405 skipped {fifo}",
        "playlists/music.yaml:2:5 W405 skipped media/music/zero.flac:"
        " not a regular file (a character device)",
        f"playlists/music.yaml:3:5 W405 skipped {fifo}",
    ]
    assert result.ok
    assert [t.title for t in result.tracks["music"]] == ["good"]


def test_symlink_loops_under_media_end_the_walk(root: Path) -> None:
    music = root / "media/music"
    (music / "again").symlink_to(".")
    (music / "up").symlink_to("..")
    (music / "self.flac").symlink_to("self.flac")
    (music / "sub").mkdir()
    (music / "sub/back").symlink_to("../..")
    _playlist(root, ["media/music", "media/**/*.flac"])
    result = _check(root)
    assert _media(result, root) == [
        "playlists/music.yaml:2:5 W405 skipped media/music/self.flac: cannot read it:"
        " Too many levels of symbolic links",
        "playlists/music.yaml:3:5 W405 skipped media/music/self.flac: cannot read it:"
        " Too many levels of symbolic links",
    ]
    assert [t.title for t in result.tracks["music"]] == ["good", "good"]


def test_a_source_walking_too_many_entries_is_e306(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("radio.playlists.library.MAX_FILES", 5)
    for i in range(10):
        (root / f"media/music/note{i}.txt").write_text("not audio")
    _playlist(root, ["media/music"])
    lines = _media(_check(root), root)
    assert [line.split(" walks")[0] for line in lines if " E306 " in line] == [
        "playlists/music.yaml:2:5 E306 'media/music'"
    ]
