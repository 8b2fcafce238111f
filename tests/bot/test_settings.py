"""Settings come from the environment or .env; every bad one is named once."""

from __future__ import annotations

from pathlib import Path

import pytest

from radio.audio.operators import Silence
from radio.bot.audio import SimulcastFeed
from radio.bot.client import RadioBot
from radio.bot.config import DiscordConfig, GuildConfig
from radio.bot.sendloop import REALTIME_PRIORITY
from radio.clock import SystemClock
from radio.errors import ConfigError
from radio.settings import load_settings

_VARS = (
    "DISCORD_TOKEN",
    "RADIO_DATA_DIR",
    "RADIO_LOG_LEVEL",
    "RADIO_STATION_FILE",
    "RADIO_REALTIME_SENDER",
)
_TOKEN = "MTA1NjQ.Gx1a2b.c3d4e5f6g7h8i9j0"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment, run from an empty folder holding a station file."""
    for name in _VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "station.yaml").write_text("name: test\n")
    return monkeypatch


def test_defaults_and_token_from_environment(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("DISCORD_TOKEN", _TOKEN)
    settings = load_settings(env_file=None)
    assert settings.discord_token.get_secret_value() == _TOKEN
    assert settings.data_dir == Path("data")
    assert settings.log_level == "INFO"
    assert settings.station_file == Path("station.yaml")
    assert settings.realtime_sender is True
    assert settings.database_path == Path("data") / "radio.sqlite3"


def test_dotenv_is_read_and_environment_wins(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"DISCORD_TOKEN={_TOKEN}\nRADIO_LOG_LEVEL=debug\nRADIO_DATA_DIR=/srv/radio\nOTHER=1\n"
    )
    env.setenv("RADIO_DATA_DIR", str(tmp_path / "elsewhere"))
    settings = load_settings(env_file=dotenv)
    assert settings.discord_token.get_secret_value() == _TOKEN
    assert settings.log_level == "DEBUG"
    assert settings.data_dir == tmp_path / "elsewhere"


def test_missing_token_is_named_with_where_to_get_it(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert message.splitlines()[0] == "invalid settings (read from the environment):"
    assert message.count("\n") == 1
    assert "DISCORD_TOKEN: missing; set it to the bot token" in message


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("   ", "is empty"),
        (f"Bot {_TOKEN}", "paste the token alone, without the 'Bot ' prefix"),
        ("abc def", "contains whitespace"),
    ],
)
def test_invalid_token_is_named_and_not_echoed(
    env: pytest.MonkeyPatch, token: str, reason: str
) -> None:
    env.setenv("DISCORD_TOKEN", token)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert f"DISCORD_TOKEN: {reason}" in message
    assert "abc def" not in message
    assert _TOKEN not in message


def test_every_bad_variable_is_named_once(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    env.setenv("RADIO_LOG_LEVEL", "loud")
    env.setenv("RADIO_DATA_DIR", str(tmp_path / "afile"))
    env.setenv("RADIO_STATION_FILE", "nowhere.yaml")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    lines = str(caught.value).splitlines()[1:]
    names = sorted(line.split(":")[0].strip() for line in lines)
    assert names == ["DISCORD_TOKEN", "RADIO_DATA_DIR", "RADIO_LOG_LEVEL", "RADIO_STATION_FILE"]
    by_name = {line.split(":")[0].strip(): line for line in lines}
    assert "exists and is not a folder" in by_name["RADIO_DATA_DIR"]
    assert "no such file: nowhere.yaml" in by_name["RADIO_STATION_FILE"]
    assert "(got 'LOUD')" in by_name["RADIO_LOG_LEVEL"]


@pytest.mark.parametrize(("value", "wanted"), [("false", False), ("0", False), ("yes", True)])
def test_realtime_sender_can_be_switched_off(
    env: pytest.MonkeyPatch, value: str, wanted: bool
) -> None:
    env.setenv("DISCORD_TOKEN", _TOKEN)
    env.setenv("RADIO_REALTIME_SENDER", value)
    assert load_settings(env_file=None).realtime_sender is wanted


def test_a_bad_realtime_sender_value_is_named(env: pytest.MonkeyPatch) -> None:
    env.setenv("DISCORD_TOKEN", _TOKEN)
    env.setenv("RADIO_REALTIME_SENDER", "sometimes")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert "RADIO_REALTIME_SENDER" in str(caught.value)


@pytest.mark.parametrize(("realtime", "priority"), [(True, REALTIME_PRIORITY), (False, None)])
def test_the_setting_reaches_the_sender_thread(realtime: bool, priority: int | None) -> None:
    config = DiscordConfig(guilds=[GuildConfig(id=1, broadcast=2)])
    bot = RadioBot(config, SimulcastFeed(Silence()), clock=SystemClock(), realtime=realtime)
    assert bot.send_loop.wanted_realtime == priority
