"""Track metadata from tags (ffprobe) or the file name; sources as files, folders and globs."""

from __future__ import annotations

from pathlib import Path

import pytest

from radio.audio import synth
from radio.errors import SourceError
from radio.playlists.library import Library, from_file_name


def test_tags_win_and_file_name_is_the_fallback(tmp_path: Path) -> None:
    tagged = synth.tone(tmp_path / "a.flac", 440, 1.0, title="Sunrise", artist="Alba", album="Hits")
    untagged = synth.tone(tmp_path / "Moss - Green Rooms.ogg", 550, 0.5)
    bare = synth.tone(tmp_path / "just_a_title.wav", 660, 0.5)
    library = Library(tmp_path)

    a = library.track(tagged)
    assert (a.title, a.artist, a.album) == ("Sunrise", "Alba", "Hits")
    assert a.duration == pytest.approx(1.0, abs=0.05)
    b = library.track(untagged)
    assert (b.title, b.artist) == ("Green Rooms", "Moss")
    c = library.track(bare)
    assert (c.title, c.artist) == ("just a title", "")


def test_sources_resolve_files_folders_and_globs(tmp_path: Path) -> None:
    for name in ("x/1.flac", "x/sub/2.flac", "x/notes.txt", "y/3.flac"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    library = Library(tmp_path)
    rel = lambda r: [p.relative_to(tmp_path).as_posix() for p in r.files]  # noqa: E731
    assert rel(library.resolve("x")) == ["x/1.flac", "x/sub/2.flac"]
    assert rel(library.resolve("x/*.flac")) == ["x/1.flac"]
    assert rel(library.resolve("**/*.flac")) == ["x/1.flac", "x/sub/2.flac", "y/3.flac"]
    assert rel(library.resolve("y/3.flac")) == ["y/3.flac"]
    assert library.resolve("nowhere").files == ()


def test_missing_and_broken_files_raise_source_error_naming_the_file(tmp_path: Path) -> None:
    library = Library(tmp_path)
    with pytest.raises(SourceError, match=r"gone\.flac"):
        library.track(tmp_path / "gone.flac")
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(SourceError, match=r"broken\.mp3"):
        library.track(broken)


def test_probe_cache_follows_the_file(tmp_path: Path) -> None:
    path = synth.tone(tmp_path / "t.flac", 440, 0.5, title="One")
    library = Library(tmp_path)
    assert library.track(path).title == "One"
    synth.tone(path, 440, 1.5, title="Two")
    assert library.track(path).title == "Two"


def test_file_name_guess() -> None:
    assert from_file_name(Path("a/Artist - Song - Live.flac")) == ("Artist", "Song - Live")
    assert from_file_name(Path("Song.flac")) == ("", "Song")
