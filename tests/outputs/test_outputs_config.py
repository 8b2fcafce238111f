"""station.yaml's outputs: section and the mount passwords from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from radio.config.outputs import OutputsModel
from radio.config.station import StationModel
from radio.errors import ConfigError
from radio.outputs.icecast_client import IcecastMount, SourceInfo, source_request
from radio.settings import secret_from_env


def test_a_mount_with_its_defaults() -> None:
    station = StationModel.model_validate(
        {
            "timezone": "UTC",
            "fallback": "music",
            "outputs": {"icecast": [{"url": "http://127.0.0.1:8000/radio.opus"}]},
        }
    )
    (mount,) = station.outputs.icecast
    assert mount.password_env == "RADIO_ICECAST_PASSWORD" and mount.format == "ogg-opus"
    assert IcecastMount.from_url(mount.url) == IcecastMount("127.0.0.1", 8000, "/radio.opus")
    assert StationModel.model_validate({"timezone": "UTC", "fallback": "m"}).outputs.icecast == []


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"url": "https://h/radio.opus"}, "http://"),
        ({"url": "http://source:pw@h/radio.opus"}, "password_env"),
        ({"url": "http://h/"}, "mount"),
        ({"url": "http://h/a/b"}, "mount"),
        ({"url": "http://h/radio.opus?x=1"}, "query"),
        ({"url": "http://h:0/radio.opus"}, "port"),
        ({"url": "http://h:70000/radio.opus"}, "port"),
        ({"url": "http://h/r.opus", "password_env": "lower"}, "pattern"),
        ({"url": "http://h/r.opus", "name": "two\r\nlines"}, "one line"),
        ({"url": "http://h/r.opus", "format": "mp3"}, "ogg-opus"),
        ({"url": "http://h/r.opus", "password": "x"}, "Extra inputs"),
    ],
)
def test_what_is_refused_and_why(entry: dict[str, str], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        OutputsModel.model_validate({"icecast": [entry]})


def test_a_mount_listed_twice_and_too_many_mounts_are_refused() -> None:
    twice = [{"url": "http://h/r.opus"}, {"url": "http://h:80/r.opus"}]
    with pytest.raises(ValidationError, match="listed twice"):
        OutputsModel.model_validate({"icecast": twice})
    many = [{"url": f"http://h/r{i}.opus"} for i in range(9)]
    with pytest.raises(ValidationError, match="at most 8"):
        OutputsModel.model_validate({"icecast": many})


def test_the_password_comes_from_the_environment_then_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RADIO_ICECAST_PASSWORD=from-file\n")
    monkeypatch.delenv("RADIO_ICECAST_PASSWORD", raising=False)
    assert secret_from_env("RADIO_ICECAST_PASSWORD", env_file).get_secret_value() == "from-file"
    monkeypatch.setenv("RADIO_ICECAST_PASSWORD", "from-env")
    assert secret_from_env("RADIO_ICECAST_PASSWORD", env_file).get_secret_value() == "from-env"
    monkeypatch.setenv("RADIO_ICECAST_PASSWORD", "  ")
    with pytest.raises(ConfigError, match="RADIO_ICECAST_PASSWORD: missing or empty"):
        secret_from_env("RADIO_ICECAST_PASSWORD", None)


def test_the_source_request_carries_basic_auth_and_the_stream_description() -> None:
    head = source_request(
        IcecastMount("127.0.0.1", 8000, "/radio.opus"),
        "hackme",
        SourceInfo(name="My radio", description="Music all day"),
    ).decode()
    assert head.startswith("PUT /radio.opus HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n")
    assert "Authorization: Basic c291cmNlOmhhY2ttZQ==\r\n" in head  # source:hackme
    assert "Content-Type: audio/ogg\r\n" in head and "Expect: 100-continue\r\n" in head
    assert "Ice-Name: My radio\r\n" in head and "Ice-Description: Music all day\r\n" in head
    assert head.endswith("\r\n\r\n")
    with pytest.raises(ValueError, match="line break"):
        source_request(IcecastMount("h", 80, "/m"), "p", SourceInfo(name="a\r\nX-Evil: 1"))
