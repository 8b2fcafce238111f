"""``radio run`` refuses to start on a bad setup with one clear message naming what is wrong."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from radio.cli import main

from .conftest import make_station

VARIABLES = ("DISCORD_TOKEN", "RADIO_DATA_DIR", "RADIO_LOG_LEVEL", "RADIO_STATION_FILE")


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and none of the station's variables set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_missing_token_is_named(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / "station.yaml").write_text("timezone: UTC\nfallback: music\n")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("radio: error: invalid settings")
    assert "DISCORD_TOKEN: missing" in err
    assert err.count("\n  ") == 1  # one problem, one line


def test_every_bad_variable_is_named_once_from_the_env_file(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / ".env").write_text(
        "DISCORD_TOKEN=Bot abc.def\nRADIO_LOG_LEVEL=LOUD\nRADIO_STATION_FILE=nowhere.yaml\n"
    )
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    lines = [line.strip() for line in err.splitlines()[1:]]
    assert [line.split(":")[0] for line in lines] == [
        "DISCORD_TOKEN",
        "RADIO_LOG_LEVEL",
        "RADIO_STATION_FILE",
    ]
    assert "without the 'Bot ' prefix" in lines[0]
    assert "abc.def" not in err  # the token is never printed
    assert "no such file: nowhere.yaml" in lines[2]


def test_station_file_without_discord_section_is_named_with_its_place(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    station = clean_env / "station.yaml"
    station.write_text("timezone: UTC\nfallback: music\n")
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"radio: error: {station.name}: the discord section is invalid")
    assert "discord" in err.splitlines()[1] and ":1:1 " in err.splitlines()[1]


def test_bad_ids_in_the_discord_section_point_at_their_line(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / "station.yaml").write_text(
        "timezone: UTC\nfallback: music\ndiscord:\n  guilds:\n    - id: 12\n      broadcast: -3\n"
    )
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "station.yaml:6:" in err and "broadcast" in err


def test_a_station_that_cannot_go_on_air_stops_before_discord(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A valid discord section, but the fallback playlist does not exist: the
    # station is checked before the bot logs in (no network is touched).
    (clean_env / "station.yaml").write_text(
        "timezone: UTC\nfallback: music\ndiscord:\n  guilds:\n    - id: 12\n      broadcast: 13\n"
    )
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    monkeypatch.setenv("RADIO_DATA_DIR", str(clean_env / "data"))
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "the station cannot go on air" in err
    assert "station.yaml:2:" in err and "music" in err


def test_demo_outside_a_station_folder_says_so(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--seconds", "1", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("radio: error: .: not a station folder:")
    assert "E002 no station file" in err
    assert not (clean_env / "media").exists()  # nothing generated


def test_demo_with_a_broken_grid_names_the_problem_and_stops_everything(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / "station.yaml").write_text("timezone: UTC\nfallback: music\n")
    assert main(["demo", "--seconds", "1", "--port", "0", "--no-generate"]) == 1
    err = capsys.readouterr().err
    assert "the station cannot go on air" in err and "music" in err


def test_demo_on_a_busy_port_says_which_and_how_to_choose(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    station = clean_env / "station"
    make_station(station, show_start=None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["demo", "--station", str(station), "--no-generate", "--port", str(port)])
    assert code == 1
    err = capsys.readouterr().err
    assert f"cannot serve the listening page on 127.0.0.1:{port}" in err
    assert "--port" in err
