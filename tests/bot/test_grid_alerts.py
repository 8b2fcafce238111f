"""Grid problems told once: the watcher's broken states, and the grid commands' replies.

Real station files in a temporary folder, checked by the real checker (media
not probed: these tests are about the grid files), and the real announcer.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from radio.bot.announcements import Alert, Announcer, Rooms, grid_fixed_alert
from radio.bot.config import DiscordConfig
from radio.bot.gridreport import diagnostic_line, format_check, format_reload, on_air_line
from radio.bot.settings_card import Deployment, settings_embed
from radio.config.diagnostics import Diagnostic
from radio.grid.check import CheckResult, check_station
from radio.grid.watch import GridWatcher

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday
PROGRAMMERS = 400

WEEK = """\
shows:
  - id: allday
    title: All Day
    days: [mon, tue, wed, thu, fri, sat, sun]
    start: "00:00"
    end: "24:00"
    rotation: [{playlist: music}]
"""


def write(root: Path, relative: str, text: str) -> Path:
    """Write a station file and move its mtime on (coarse file system timestamps)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    return path


def station(root: Path) -> Path:
    write(root, "station.yaml", "name: Test FM\ntimezone: Europe/Paris\nfallback: music\n")
    write(root, "playlists/music.yaml", "title: Non-stop\nsources: [media/music]\n")
    write(root, "schedules/week.yaml", "shows: []\n")
    return root


def load(root: Path) -> CheckResult:
    return check_station(root, NOW, media=False)


def test_a_broken_state_is_told_once_and_its_fix_once(tmp_path: Path) -> None:
    root = station(tmp_path)
    announcer = Announcer(Rooms(programmers=(PROGRAMMERS,)), station="Test FM")
    told: list[list[Diagnostic]] = []
    applied: list[CheckResult] = []

    def invalid(problems: list[Diagnostic]) -> None:
        told.append(problems)
        announcer.grid_rejected([diagnostic_line(p, root) for p in problems])

    watcher = GridWatcher(
        root,
        load=lambda: load(root),
        apply=applied.append,
        invalid=invalid,
        fixed=announcer.grid_fixed,
    )
    week = write(root, "schedules/week.yaml", WEEK.replace('"00:00"', '"25:00"'))
    assert watcher.scan() is False
    assert [(d.code, d.line, d.col) for d in told[0]] == [("E101", 5, 12)]
    assert watcher.broken == tuple(told[0])
    [alert] = announcer.due(NOW)
    assert isinstance(alert, Alert) and alert.kind == "grid"
    assert "schedules/week.yaml:5:12 E101" in alert.content

    # The same broken files, saved again, polled again or reloaded: refused, not told again.
    write(root, "schedules/week.yaml", week.read_text(encoding="utf-8"))
    assert watcher.scan() is False
    assert watcher.scan() is None
    assert watcher.reload().applied is False
    assert (len(told), watcher.rejected) == (1, 3)

    # Another broken state is news.
    write(root, "schedules/week.yaml", WEEK.replace("24:00", "24:30"))
    assert watcher.scan() is False
    assert [(d.code, d.line) for d in told[1]] == [("E101", 6)]

    # Fixed: applied and told once; a later good edit is not a fix.
    write(root, "schedules/week.yaml", WEEK)
    assert watcher.scan() is True
    write(root, "schedules/week.yaml", WEEK.replace("All Day", "All Day Long"))
    assert watcher.scan() is True
    assert (len(applied), len(told), watcher.broken) == (2, 2, None)
    later = NOW.replace(minute=5)
    assert announcer.due(later) == [Alert(PROGRAMMERS, "grid", grid_fixed_alert())]


def test_check_does_not_apply_or_tell_and_reload_loads_unchanged_files(tmp_path: Path) -> None:
    root = station(tmp_path)
    applied: list[CheckResult] = []
    told: list[list[Diagnostic]] = []
    watcher = GridWatcher(root, load=lambda: load(root), apply=applied.append, invalid=told.append)
    write(root, "schedules/week.yaml", WEEK.replace("music}", "nope}"))
    result = watcher.check()
    assert [d.code for d in result.errors] == ["E202"]
    assert (applied, told, watcher.rejected) == ([], [], 0)
    assert watcher.scan() is False  # check() did not mark the edit as seen
    write(root, "schedules/week.yaml", WEEK)
    assert watcher.check().ok and applied == []
    outcome = watcher.reload()
    assert outcome.applied and applied == [outcome.result]
    assert watcher.scan() is None  # reload() saw the files
    assert watcher.reload().applied and len(applied) == 2  # unchanged files load too


def test_check_and_reload_replies(tmp_path: Path) -> None:
    root = station(tmp_path)
    good = load(root)
    assert good.ok and good.grid is not None
    text = format_check(good, NOW, root)
    assert text.startswith("OK: 0 shows, 1 playlist, 0 tracks, 1 warning.")
    assert "By these files, now: **Non-stop** until" in text
    assert "W401" in text  # warnings follow the summary

    write(root, "schedules/week.yaml", WEEK)
    with_show = load(root)
    assert with_show.grid is not None
    assert on_air_line(with_show.grid, NOW) == (
        "On air now: **All Day** until Tue 00:00 (Europe/Paris), then **All Day**."
    )

    watcher = GridWatcher(root, load=lambda: load(root), apply=lambda r: None)
    text = format_reload(good.grid, watcher.reload(), NOW, root)
    assert text == (
        "Reloaded: the new grid is on air (0 shows → 1). "
        "On air now: **All Day** until Tue 00:00 (Europe/Paris), then **All Day**."
    )

    # Hundreds of errors: one message, relative paths, the rest counted.
    shows = "".join(
        f'  - id: s{n}\n    days: [mon]\n    start: "2{n % 10}:7{n % 10}"\n    end: "23:00"\n'
        f"    rotation: [{{playlist: music}}]\n"
        for n in range(300)
    )
    write(root, "schedules/week.yaml", "shows:\n" + shows)
    broken = watcher.reload()
    assert not broken.applied
    errors = len(broken.result.errors)
    assert errors >= 300
    text = format_reload(good.grid, broken, NOW, root)
    assert len(text) <= 2000
    assert text.startswith(
        f"Not reloaded: the files have {errors} errors; the last good grid stays on air:"
    )
    assert "\nschedules/week.yaml:4:12 E101" in text
    assert str(root) not in text
    shown = text.count(" E1")
    assert f"… and {errors - shown} more" in text
    checked = format_check(broken.result, NOW, root)
    assert checked.startswith(f"The station's files have {errors} errors and 0 warnings;")
    assert len(checked) <= 2000


def test_settings_card_names_unset_rooms_and_never_holds_a_token() -> None:
    config = DiscordConfig.model_validate(
        {"guilds": [{"id": 1, "broadcast": 2}, {"id": 9, "broadcast": 8}], "now_playing": "edit"}
    )
    card = settings_embed(
        config,
        config.guilds[0],
        station="Test *FM*",
        timezone="Europe/Paris",
        deployment=Deployment(Path("/srv/radio/data"), "WARNING"),
    )
    fields = {f["name"]: f["value"] for f in card["fields"]}
    assert fields["Station"] == "Test \\*FM\\* · Europe/Paris"
    assert fields["Broadcast room"] == "<#2>"
    assert fields["Announcements"] == fields["Admins' room"] == "not set"
    assert fields["Now playing"] == "edit"
    assert fields["Other servers"] == "1"
    assert fields["Owners"] == "the application's owner"
    assert fields["Prefix"] == "`!` (or a mention)"
    assert (fields["Data folder"], fields["Log level"]) == ("`/srv/radio/data`", "WARNING")
    assert not set(Deployment.__dataclass_fields__) & {"token", "discord_token"}
