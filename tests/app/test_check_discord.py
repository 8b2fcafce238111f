"""``radio check`` checks the station file's ``discord:`` section the way ``radio run``
loads it: each problem at its place, and ``check`` passes exactly when ``run``'s
loader accepts the section. The data folder follows the station file's ``data:``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from radio.bot.config import load_discord_config
from radio.cli import main
from radio.errors import ConfigError
from radio.settings import load_settings

from .conftest import make_station

VALID = "discord:\n  guilds:\n    - id: 12\n      broadcast: 13\n"

# (what is appended to station.yaml, after its three lines: where check reports each problem)
BAD = {
    "negative room": ("discord:\n  guilds:\n    - id: 12\n      broadcast: -3\n", ["7:18 E110"]),
    "unknown key": ("discord:\n  guild:\n    - id: 12\n", ["5:3 E100", "5:3 E106"]),
    "no guilds": ("discord:\n  guilds: []\n", ["5:11 E110"]),
    "guild twice": (
        "discord:\n  guilds:\n    - {id: 12, broadcast: 13}\n    - {id: 12, broadcast: 14}\n",
        ["5:3 E106"],
    ),
    "prefix too long": (
        "discord:\n  prefix: '!!!!!!'\n" + VALID[len("discord:\n") :],
        ["5:11 E106"],
    ),
    "room not a number": (
        "discord:\n  guilds:\n    - id: 12\n      broadcast: studio\n",
        ["7:18 E106"],
    ),
    "not a mapping": ("discord: 12\n", ["4:10 E106"]),
}


@pytest.fixture
def station(tmp_path: Path) -> Path:
    return make_station(tmp_path / "station", show_start=None).root


def append(station: Path, text: str) -> Path:
    path = station / "station.yaml"
    with path.open("a", encoding="utf-8") as file:
        file.write(text)
    return path


def check(station: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = main(["check", str(station), "--no-media"])
    out, err = capsys.readouterr()
    return code, [line for line in out.splitlines() if line.strip()], err


def test_a_valid_section_passes_and_run_loads_it(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = append(station, VALID)
    code, lines, _ = check(station, capsys)
    assert [line for line in lines if " E" in line] == []
    assert code == 0
    assert load_discord_config(path).guilds[0].broadcast == 13


def test_a_station_without_the_section_passes_with_a_note(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = check(station, capsys)
    assert code == 0
    assert "no discord: section: radio run needs one" in err


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_problem_is_reported_at_its_place_and_run_refuses_it_too(
    case: str, station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, where = BAD[case]
    path = append(station, text)
    code, lines, _ = check(station, capsys)
    assert code == 1
    errors = [line for line in lines if re.search(r":\d+:\d+ E\d+ ", line)]
    assert [line.split("station.yaml:")[1].split(" ")[0:2] for line in errors] == [
        place.split(" ") for place in where
    ], lines
    with pytest.raises(ConfigError) as refused:
        load_discord_config(path)
    # radio run refuses it too, at the same places.
    for line in errors:
        assert line.split(" ", 2)[0] in str(refused.value)


def test_checking_does_not_import_discord(station: Path) -> None:
    append(station, BAD["negative room"][0])
    script = (
        "import argparse, sys\n"
        "from pathlib import Path\n"
        "from radio.commands.check import run\n"
        f"code = run(argparse.Namespace(station=Path({str(station)!r}), no_media=True, days=7,"
        " strict=False))\n"
        "assert code == 1\n"
        "print('discord' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1] == "False"


def test_the_data_folder_is_the_station_files_unless_radio_data_dir_says(
    station: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = append(station, "data: state/radio\n")
    for name in ("RADIO_DATA_DIR", "RADIO_STATION_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    monkeypatch.setenv("RADIO_STATION_FILE", str(path))
    assert load_settings(env_file=None).data_dir == station / "state" / "radio"
    monkeypatch.setenv("RADIO_DATA_DIR", str(station / "elsewhere"))
    assert load_settings(env_file=None).data_dir == station / "elsewhere"


def test_the_example_stations_commented_template_is_a_valid_section(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "station.yaml"
    lines = example.read_text(encoding="utf-8").splitlines()
    start = lines.index("# discord:")
    template = [line.removeprefix("# ") for line in lines[start:] if line.startswith("# ")]
    path = tmp_path / "station.yaml"
    path.write_text("\n".join(template) + "\n", encoding="utf-8")
    config = load_discord_config(path)
    assert [guild.broadcast for guild in config.guilds] == [333333333333333333]
