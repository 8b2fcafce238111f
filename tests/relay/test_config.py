"""The relay file and ``radio relay``'s refusals: one clear message, at its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from radio.cli import main
from radio.errors import ConfigError
from radio.relay.config import load_relay_config

GOOD = """relay:
  source: http://127.0.0.1:8000/radio.opus
discord:
  guilds:
    - id: 222222222222222222
      broadcast: 333333333333333333
"""


def test_a_good_file_and_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(GOOD)
    config = load_relay_config(path)
    assert config.relay.source == "http://127.0.0.1:8000/radio.opus"
    assert config.relay.titles_url is None
    assert config.relay.buffer_frames == 15
    assert config.relay.token_env == "DISCORD_TOKEN"
    assert config.discord.guilds[0].broadcast == 333333333333333333


def test_a_titles_address_and_a_rounded_buffer(tmp_path: Path) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(
        GOOD.replace(
            "radio.opus\n",
            "radio.opus\n  titles: http://station:8080/api/nowplaying/radio\n  buffer_ms: 410\n",
        )
    )
    config = load_relay_config(path)
    assert config.relay.titles_url == "http://station:8080/api/nowplaying/radio"
    assert config.relay.buffer_frames == 21


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        ("http://127.0.0.1:8000/radio.opus", "ftp://x/radio.opus", "http://"),
        ("http://127.0.0.1:8000/radio.opus", "http://u:pw@x:8000/radio.opus", "password"),
        ("http://127.0.0.1:8000/radio.opus", "http://127.0.0.1:8000/", "names no mount"),
        ("  source:", "  sorce:", "sorce"),
    ],
)
def test_each_problem_is_named_at_its_line(
    tmp_path: Path, change: str, line: str, words: str
) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(GOOD.replace(change, line))
    with pytest.raises(ConfigError) as caught:
        load_relay_config(path)
    message = str(caught.value)
    assert f"{path}:2:" in message and words in message, message


def test_radio_relay_names_a_missing_file_and_a_missing_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RADIO_RELAY_FILE", raising=False)
    monkeypatch.delenv("RELAY_TOKEN", raising=False)
    assert main(["relay"]) == 1
    assert capsys.readouterr().err == (
        "radio: error: relay.yaml: no such relay file (see docs/relay.md for one)\n"
    )
    (tmp_path / "relay.yaml").write_text(
        GOOD.replace("radio.opus\n", "radio.opus\n  token_env: RELAY_TOKEN\n")
    )
    assert main(["relay"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("radio: error: RELAY_TOKEN: missing or empty")
    assert "Traceback" not in err
