"""The CLI: radio check exit codes and output, radio grid table, --at and --html (in Chromium)."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from radio.cli import build_parser, main
from radio.commands.station_arg import station_dir

from .conftest import WEEK, Station

CHROMIUM = shutil.which("chromium")


def test_check_passes_a_valid_station(station: Station, capsys: pytest.CaptureFixture[str]) -> None:
    station.tone("media/music/a.flac")
    assert main(["check", "--station", str(station.root)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().endswith("1 shows, 1 playlists, 1 tracks: 0 error(s), 0 warning(s)")


def test_check_fails_and_prints_path_line_col(
    station: Station, capsys: pytest.CaptureFixture[str]
) -> None:
    station.tone("media/music/a.flac")
    station.write("schedules/week.yaml", WEEK.replace("[mon,", "[lundi,"))
    assert main(["check", "--station", str(station.root)]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        f"{station.root / 'schedules/week.yaml'}:3:12 E102 unknown weekday 'lundi': "
        "use mon, tue, wed, thu, fri, sat or sun"
    ]


def test_check_strict_fails_on_warnings(
    station: Station, capsys: pytest.CaptureFixture[str]
) -> None:
    station.tone("media/music/a.flac")
    station.write("schedules/week.yaml", WEEK.replace(", sun]", "]"))
    assert main(["check", "--station", str(station.root)]) == 0
    assert main(["check", "--strict", "--station", str(station.root)]) == 1
    assert "W401" in capsys.readouterr().out


def test_grid_at_says_show_playlists_and_next_boundary(
    station: Station, capsys: pytest.CaptureFixture[str]
) -> None:
    station.write(
        "schedules/week.yaml",
        WEEK.replace('"00:00"', '"07:00"').replace('"24:00"', '"10:00"'),
    )
    assert main(["grid", "--station", str(station.root), "--at", "2026-11-24 08:30"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-11-24 08:30 CET: allday (allday)",
        "  plays: music; hard start",
        "  next boundary: 2026-11-24 10:00 CET → the fallback (music)",
    ]
    assert main(["grid", "--station", str(station.root), "--at", "2026-11-24 06:00"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "2026-11-24 06:00 CET: the fallback (music)"


def test_grid_table_lists_each_day(station: Station, capsys: pytest.CaptureFixture[str]) -> None:
    station.write(
        "schedules/week.yaml", WEEK.replace('"00:00"', '"07:00"').replace('"24:00"', '"10:00"')
    )
    assert main(["grid", "--station", str(station.root), "--week", "2026-11-25"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "radio: week of 2026-11-23 (Europe/Paris)"
    assert lines[1] == "Mon 2026-11-23"
    assert re.match(r"  00:00-07:00  -\s+\(fallback\)\s+fallback: music", lines[2])
    assert re.match(r"  07:00-10:00  allday\s+allday\s+music; hard start", lines[3])
    assert sum(1 for line in lines if re.match(r"\w{3} \d{4}-\d\d-\d\d$", line)) == 7


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test installs it)")
def test_grid_html_renders_in_chromium(station: Station, tmp_path: Path) -> None:
    station.write(
        "schedules/week.yaml",
        WEEK.replace("days: [mon, tue, wed, thu, fri, sat, sun]", "days: [mon, wed]")
        .replace('"00:00"', '"21:00"')
        .replace('"24:00"', '"02:00"')
        .replace("  - id: allday", "  - id: allday\n    title: Late Night Jazz"),
    )
    page = tmp_path / "week.html"
    assert (
        main(["grid", "--station", str(station.root), "--week", "2026-11-23", "--html", str(page)])
        == 0
    )
    assert CHROMIUM is not None
    flags = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90
    ).stdout
    assert "times in Europe/Paris" in dom
    assert "Week 2026-11-23 to 2026-11-29" in dom
    # Monday and Wednesday 21:00-02:00 cross midnight: two pieces each.
    shows = re.findall(r'data-show="allday"[^>]*title="Late Night Jazz ([0-9:–]+)"', dom)
    assert shows == ["21:00–24:00", "00:00–02:00", "21:00–24:00", "00:00–02:00"]
    assert len(re.findall(r'data-show="fallback"', dom)) == 7
    shot = tmp_path / "week.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1400,1000", page.as_uri()],
        capture_output=True,
        timeout=90,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000  # a drawn page, not a blank one


def test_render_from_to_writes_the_window(
    station: Station, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    station.tone("media/music/a.flac", 440, 1.0)
    out = tmp_path / "window.wav"
    code = main(
        [
            "render", "--station", str(station.root), "--from", "2026-11-24 08:00",
            "--to", "2026-11-24 08:00:03", "-o", str(out), "--no-normalize", "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    with wave.open(str(out)) as wav:
        assert (wav.getnframes(), wav.getframerate(), wav.getnchannels()) == (3 * 48_000, 48_000, 2)


def test_render_without_window_or_playlist_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["render", "-o", str(tmp_path / "x.wav")]) == 1
    assert "give a playlist and --duration, or --from and --to" in capsys.readouterr().err


def test_grid_at_in_a_dst_gap_says_it_does_not_exist_and_what_it_was_taken_as(
    station: Station, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["grid", "--station", str(station.root), "--at"]
    assert main([*args, "2026-03-29 02:30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "note: 2026-03-29 02:30 does not exist in Europe/Paris (the clocks jump forward over"
        " it); taken as 03:00 CEST (01:00 UTC), when the clocks jump",
        "2026-03-29 03:00 CEST: allday (allday)",
    ]
    assert main([*args, "2026-10-25 02:30"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "note: 2026-10-25 02:30 happens twice in Europe/Paris (the clocks go back);"
        " taken as the first, 02:30 CEST (00:30 UTC)"
    )
    assert main([*args, "2026-03-29 03:30"]) == 0  # an ordinary time: no note
    assert capsys.readouterr().out.startswith("2026-03-29 03:30 CEST: allday")


def test_grid_html_into_a_missing_folder_is_a_usage_error(
    station: Station, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "no" / "such" / "week.html"
    assert main(["grid", "--station", str(station.root), "--html", str(page)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"radio: error: --html {page}: the folder {page.parent} does not exist\n"
    assert not (tmp_path / "no").exists()  # nothing created


def test_grid_bad_week_is_one_line(station: Station, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grid", "--station", str(station.root), "--week", "next monday"]) == 1
    assert capsys.readouterr().err == (
        "radio: error: bad --week 'next monday': write a date, e.g. 2026-11-23\n"
    )


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"radio": parser, **action.choices}


def test_help_texts_have_no_markup_and_show_every_default() -> None:
    for name, parser in _subparsers().items():
        text = parser.format_help()
        for markup in ("``", ":class:", ":meth:", ":func:", ":data:", ":mod:"):
            assert markup not in text, (name, markup)
        for action in parser._actions:
            if not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
                continue
            if action.help == argparse.SUPPRESS:
                continue
            line = parser.formatter_class(prog=name)._expand_help(action)
            assert "default" in line.lower(), (name, action.option_strings, line)


@pytest.mark.parametrize("command", ["check", "grid", "render", "run", "demo"])
def test_every_command_names_the_station_folder_with_station(command: str) -> None:
    parser = _subparsers()[command]
    for flag in ("--station", "-s"):
        args = parser.parse_args([flag, "/srv/radio", *(["-o", "x.wav"] * (command == "render"))])
        assert station_dir(args, command) == Path("/srv/radio")
    args = parser.parse_args(["-o", "x.wav"] if command == "render" else [])
    assert station_dir(args, command) == Path(".")


def test_the_old_positional_folder_still_works_with_a_note(
    station: Station, capsys: pytest.CaptureFixture[str]
) -> None:
    station.tone("media/music/a.flac")
    assert main(["check", str(station.root)]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        "radio check: note: the station folder as a plain argument is deprecated;"
        f" write: radio check --station {station.root}"
    )
    assert main(["check", str(station.root), "--station", "/elsewhere"]) == 2
    assert capsys.readouterr().err == (
        f"radio: error: two station folders given ({station.root} and --station /elsewhere):"
        " give one\n"
    )


def test_run_reads_the_station_file_of_station(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RADIO_STATION_FILE", raising=False)  # restored after the test
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--station", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert f"no such file: {tmp_path / 'nowhere' / 'station.yaml'}" in err
