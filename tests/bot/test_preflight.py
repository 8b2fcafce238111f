"""Start-up checks run the real FFmpeg, libopus and davey, and name what is missing."""

from __future__ import annotations

import pytest

from radio.errors import PreflightError
from radio.preflight import (
    CheckResult,
    check_executable,
    check_libopus,
    check_module,
    require,
    run_checks,
)


def test_all_parts_present_on_this_machine() -> None:
    results = run_checks()
    assert [r.name for r in results] == ["davey", "libopus", "ffmpeg", "ffprobe"]
    assert all(r.ok for r in results), results
    require(results)  # does not raise
    by_name = {r.name: r for r in results}
    assert by_name["ffmpeg"].detail.startswith("ffmpeg version")
    assert by_name["ffprobe"].detail.startswith("ffprobe version")


def test_missing_executable_is_named() -> None:
    result = check_executable("ffmpeg", "/nonexistent/bin/ffmpeg")
    assert not result.ok
    assert "/nonexistent/bin/ffmpeg not found" in result.detail
    assert "apt-get install ffmpeg" in result.detail


def test_executable_that_fails_is_reported_with_its_exit_code() -> None:
    # `false` ignores its arguments and exits 1: a stand-in for a broken build.
    result = check_executable("ffprobe", "false")
    assert not result.ok
    assert "exited 1" in result.detail


def test_unloadable_libopus_is_named() -> None:
    result = check_libopus("/nonexistent/libopus.so.0")
    assert not result.ok
    assert result.name == "libopus"
    assert "apt-get install libopus0" in result.detail
    # discord.py's already-loaded library is untouched by the failed load.
    assert check_libopus().ok


def test_missing_module_is_named() -> None:
    result = check_module("davey_not_installed_here", "pip install it")
    assert not result.ok
    assert "cannot import davey_not_installed_here" in result.detail


def test_require_names_every_missing_part() -> None:
    results = [
        CheckResult("davey", False, "cannot import davey"),
        CheckResult("libopus", True, "encodes"),
        CheckResult("ffmpeg", False, "ffmpeg not found"),
    ]
    with pytest.raises(PreflightError) as caught:
        require(results)
    message = str(caught.value)
    assert message.splitlines()[0] == "the station cannot start, missing: davey, ffmpeg"
    assert "libopus" not in message
