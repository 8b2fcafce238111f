"""Hostile configuration files: every one answered with ``path:line:col CODE``, none hangs.

Each test writes one bad file into an otherwise valid station and asserts the
exact diagnostic. Files that could block a reader (a FIFO with no writer) are
checked in a worker thread joined with a generous timeout, so a regression fails
the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import threading

import pytest

from radio.config.yamlfile import MAX_BYTES
from radio.grid.check import CheckResult, check_station

from .conftest import NOW, WEEK, Station

SHOW = """\
  - id: {id}
{recurrence}
    rotation:
      - playlist: {playlist}
"""


def _check(station: Station) -> CheckResult:
    """check_station in a thread: a reader blocked on a FIFO fails here, not forever."""
    results: list[CheckResult] = []
    worker = threading.Thread(
        target=lambda: results.append(check_station(station.root, NOW, media=False)), daemon=True
    )
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the check is blocked"
    return results[0]


def _lines(result: CheckResult, station: Station) -> list[str]:
    return [str(d).replace(f"{station.root}/", "") for d in result.diagnostics]


def test_a_fifo_in_the_schedules_is_refused_without_blocking(station: Station) -> None:
    os.mkfifo(station.root / "schedules/extra.yaml")
    result = _check(station)
    assert _lines(result, station) == ["schedules/extra.yaml:1:1 E003 not a regular file (a FIFO)"]


def test_a_fifo_as_station_file_is_refused_without_blocking(station: Station) -> None:
    (station.root / "station.yaml").unlink()
    os.mkfifo(station.root / "station.yaml")
    result = _check(station)
    assert "station.yaml:1:1 E003 not a regular file (a FIFO)" in _lines(result, station)
    assert not result.ok


def test_a_directory_a_device_and_a_symlink_loop_named_yaml(station: Station) -> None:
    (station.root / "playlists/folder.yaml").mkdir()
    (station.root / "playlists/null.yaml").symlink_to("/dev/null")
    (station.root / "playlists/loop.yaml").symlink_to("loop.yaml")
    lines = _lines(_check(station), station)
    assert "playlists/folder.yaml:1:1 E003 not a regular file (a directory)" in lines
    assert "playlists/null.yaml:1:1 E003 not a regular file (a character device)" in lines
    assert (
        "playlists/loop.yaml:1:1 E002 cannot read the file: Too many levels of symbolic links"
        in (lines)
    )


def test_a_file_over_the_size_limit_is_e004(station: Station) -> None:
    station.write("schedules/week.yaml", WEEK + "#" * MAX_BYTES + "\n")
    assert _lines(_check(station), station) == [
        "schedules/week.yaml:1:1 E004 the file is larger than 256 kB: split it"
    ]


def test_nul_and_invalid_bytes_are_located_where_they_are(station: Station) -> None:
    station.write("schedules/week.yaml", WEEK.replace("allday\n", "all\x00day\n"))
    (station.root / "playlists/music.yaml").write_bytes(b"sources:\n  - media/m\xe9sic\n")
    assert _lines(_check(station), station) == [
        "playlists/music.yaml:2:12 E002 cannot read the file: not UTF-8 (byte 0xe9)",
        "schedules/week.yaml:2:12 E001 invalid YAML: unacceptable character #x0000"
        " (special characters are not allowed)",
        "station.yaml:2:11 E304 the fallback playlist 'music' does not exist"
        " (no playlists in playlists)",
    ]


def test_deep_nesting_and_self_reference_and_long_numbers(station: Station) -> None:
    station.write("playlists/deep.yaml", "sources:\n" + "  " * 1 + "- " * 40 + "x\n")
    station.write("playlists/self.yaml", "sources: &s [a, *s]\n")
    station.write("playlists/digits.yaml", "weight: " + "9" * 5000 + "\n")
    lines = _lines(_check(station), station)
    assert "playlists/deep.yaml:2:41 E005 nested more than 20 levels deep" in lines
    assert "playlists/self.yaml:1:17 E006 the alias *s refers to itself" in lines
    assert "playlists/digits.yaml:1:9 E110 bad value: a number of 5000 digits is too large" in (
        lines
    )


def test_billion_laughs_is_refused_at_the_alias_that_overflows(station: Station) -> None:
    text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
    )
    station.write("playlists/lol.yaml", text)
    lines = _lines(_check(station), station)
    assert [line for line in lines if "lol.yaml" in line] == [
        "playlists/lol.yaml:5:45 E006 the document expands to more than 100000 nodes (aliases?)"
    ]


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("1e308", "4:15 E108 bad duration 1e+308: at most 366 days"),
        (".inf", "4:15 E108 bad duration inf: it must be a finite number"),
        (".nan", "4:15 E108 bad duration nan: it must be a finite number"),
        ("-.inf", "4:15 E108 bad duration -inf: it must be a finite number"),
        ("99999999999999999999999h", "4:15 E108 bad duration '99999999999999999999999h': at most"),
        ("123456789012345678901234567890", "4:15 E108 bad duration 123456789012345678901234567890"),
    ],
)
def test_numbers_too_large_for_a_duration(station: Station, value: str, line: str) -> None:
    recurrence = f'    cron: "0 7 * * mon"\n    duration: {value}'
    station.write(
        "schedules/week.yaml",
        "shows:\n" + SHOW.format(id="big", recurrence=recurrence, playlist="music"),
    )
    lines = _lines(_check(station), station)
    assert [x for x in lines if x.startswith("schedules/week.yaml:" + line)], lines


def test_waits_and_weights_that_are_not_finite(station: Station) -> None:
    week = WEEK + "    max_wait: 1e300\n    start_mode: soft\n"
    station.write("schedules/week.yaml", week.replace("playlist: music", "{playlist: music}"))
    station.write("playlists/music.yaml", "sources: [media/music]\nweight: .inf\n")
    lines = _lines(_check(station), station)
    assert "schedules/week.yaml:8:15 E108 bad duration 1e+300: at most 366 days" in lines
    assert (
        "playlists/music.yaml:2:9 E110 bad value for weight: Input should be a finite number"
        in lines
    )


@pytest.mark.parametrize(
    ("recurrence", "where", "per_day"),
    [
        (
            '    rrule: "FREQ=SECONDLY"\n    dtstart: "2026-01-01T00:00"\n    duration: 1h',
            "12",
            86400,
        ),
        (
            '    rrule: "FREQ=MINUTELY"\n    dtstart: "2026-01-01T00:00"\n    duration: 1h',
            "12",
            1440,
        ),
        (
            '    rrule: "FREQ=DAILY;BYHOUR=1,2,3,4,5,6;BYMINUTE=0,10,20,30,40,50;'
            'BYSECOND=0,30,59"\n'
            '    dtstart: "2026-01-01T00:00"\n    duration: 1m',
            "12",
            108,
        ),
        ('    cron: "* * * * mon"\n    duration: 1m', "11", 1440),
    ],
)
def test_recurrences_that_fire_every_second_or_minute_are_refused(
    station: Station, recurrence: str, where: str, per_day: int
) -> None:
    station.write(
        "schedules/week.yaml",
        "shows:\n" + SHOW.format(id="busy", recurrence=recurrence, playlist="music"),
    )
    result = _check(station)
    lines = _lines(result, station)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"schedules/week.yaml:3:{where} E111 ")
    assert f"starts up to {per_day} times a day" in lines[0]


def test_recurrences_that_never_fire_are_warnings_at_their_place(station: Station) -> None:
    shows = "".join(
        SHOW.format(id=show_id, recurrence=recurrence, playlist="music")
        for show_id, recurrence in (
            ("feb31", '    cron: "0 7 31 feb *"\n    duration: 1h'),
            ("ended", '    rrule: "FREQ=WEEKLY;UNTIL=20250101"\n'
             '    dtstart: "2026-01-05T07:00"\n    duration: 1h'),
            ("feb30", '    rrule: "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"\n'
             '    dtstart: "2026-01-05T08:00"\n    duration: 1h'),
            ("none", '    rrule: "FREQ=DAILY;COUNT=0"\n'
             '    dtstart: "2026-01-05T09:00"\n    duration: 1h'),
        )
    )  # fmt: skip
    station.write(
        "schedules/week.yaml", WEEK + shows.replace("rotation:", "priority: 1\n    rotation:")
    )
    result = _check(station)
    assert result.ok
    assert [line for line in _lines(result, station) if "W404" in line] == [
        "schedules/week.yaml:9:11 W404 show 'feb31' never fires: no day matches '0 7 31 feb *'",
        "schedules/week.yaml:15:12 W404 show 'ended' never fires: it ends (2025-01-01 00:00)"
        " before it starts (2026-01-05 07:00)",
        "schedules/week.yaml:22:12 W404 show 'feb30' never fires: no month of the rule has"
        " those days",
        "schedules/week.yaml:29:12 W404 show 'none' never fires: its COUNT is 0",
    ]


def test_one_pass_reports_an_unknown_playlist_of_a_show_broken_elsewhere(
    station: Station,
) -> None:
    broken = WEEK.replace('"00:00"', '"25:00"').replace("playlist: music", "playlist: nope")
    station.write("schedules/week.yaml", broken + "    jingles: {playlist: nojingles, every: 0}\n")
    station.write("station.yaml", "timezone: Nowhere/City\nfallback: gone\n")
    lines = _lines(_check(station), station)
    known = " (known: music)"
    assert lines == [
        "schedules/week.yaml:4:12 E101 bad time '25:00': hours 00-23 (or 24:00), minutes 00-59",
        "schedules/week.yaml:7:19 E202 unknown playlist 'nope'" + known,
        "schedules/week.yaml:8:25 E202 unknown playlist 'nojingles'" + known,
        "schedules/week.yaml:8:43 E110 bad value for shows.0.jingles.every: Input should be"
        " greater than or equal to 1",
        "station.yaml:1:11 E103 unknown time zone 'Nowhere/City': use an IANA name such as"
        " Europe/Paris",
        "station.yaml:2:11 E304 the fallback playlist 'gone' does not exist" + known,
    ]
