"""The relay file and ``radio relay``'s refusals: one clear message, at its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from radio.cli import main
from radio.errors import ConfigError
from radio.relay.config import RelayFile, load_relay_config
from radio.relay.voices import require_a_token

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


VOICES = """relay:
  source: http://127.0.0.1:8000/radio.opus
  token_env: RELAY_TOKEN
discord:
  guilds:
    - id: 1
      broadcast: 10
    - id: 2
      broadcast: 20
  voices:
    - name: stage-1
    - name: stage-2
      token_env: RELAY_2_TOKEN
      rooms: [{guild: 1, room: 11}]
"""


def plan(config: RelayFile) -> list[tuple[str, str, dict[int, int]]]:
    return [(v.name, v.token_env, dict(v.rooms)) for v in config.voice_plan()]


def test_the_one_token_file_is_one_voice_in_every_broadcast_room(tmp_path: Path) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(GOOD.replace("radio.opus\n", "radio.opus\n  token_env: RELAY_TOKEN\n"))
    assert plan(load_relay_config(path)) == [
        ("main", "RELAY_TOKEN", {222222222222222222: 333333333333333333})
    ]


def test_voices_the_first_reading_relay_token_env(tmp_path: Path) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(VOICES)
    assert plan(load_relay_config(path)) == [
        ("stage-1", "RELAY_TOKEN", {1: 10, 2: 20}),
        ("stage-2", "RELAY_2_TOKEN", {1: 11}),
    ]


def test_the_first_voice_may_name_its_own_variable(tmp_path: Path) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(
        VOICES.replace("  token_env: RELAY_TOKEN\n", "").replace(
            "    - name: stage-1\n", "    - name: stage-1\n      token_env: RELAY_1_TOKEN\n"
        )
    )
    assert [v.token_env for v in load_relay_config(path).voice_plan()] == [
        "RELAY_1_TOKEN",
        "RELAY_2_TOKEN",
    ]


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        # The first voice's token named twice.
        ("    - name: stage-1\n", "    - {name: stage-1, token_env: X}\n", "keep one"),
        # relay.token_env is the first voice's: another voice may not read it.
        ("RELAY_2_TOKEN", "RELAY_TOKEN", "two voices read their token from RELAY_TOKEN"),
        # The station's rules: one room per voice per server, rooms of known guilds.
        ("[{guild: 1, room: 11}]", "[{guild: 1, room: 11}, {guild: 1, room: 12}]", "two rooms"),
        ("[{guild: 1, room: 11}]", "[{guild: 3, room: 30}]", "guild 3 is not in guilds"),
        ("      rooms: [{guild: 1, room: 11}]\n", "", "lists no rooms"),
    ],
)
def test_each_voice_problem_is_named_at_the_discord_section(
    tmp_path: Path, change: str, line: str, words: str
) -> None:
    path = tmp_path / "relay.yaml"
    assert change in VOICES
    path.write_text(VOICES.replace(change, line))
    with pytest.raises(ConfigError) as caught:
        load_relay_config(path)
    message = str(caught.value)
    assert f"{path}:5:3 " in message and words in message, message


def test_a_token_for_one_voice_is_enough_to_start(tmp_path: Path) -> None:
    path = tmp_path / "relay.yaml"
    path.write_text(VOICES)
    voices = load_relay_config(path).voice_plan()
    tokens = {"RELAY_2_TOKEN": "secret"}

    def token(name: str) -> str:
        if name not in tokens:
            raise ConfigError(f"{name}: missing or empty")
        return tokens[name]

    require_a_token(voices, token)  # the first voice is told when it starts
    tokens.clear()
    with pytest.raises(ConfigError, match=r"^RELAY_TOKEN: missing or empty$"):
        require_a_token(voices, token)


def test_the_example_relay_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "relay.example.yaml"
    config = load_relay_config(example)
    assert plan(config) == [
        ("stage-2", "RELAY_DISCORD_TOKEN", {222222222222222222: 333333333333333333}),
        ("stage-3", "RELAY_2_DISCORD_TOKEN", {222222222222222222: 666666666666666666}),
    ]
