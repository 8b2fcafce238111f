"""Every diagnostic code, each from a deliberately broken file, at its exact path:line:col."""

from __future__ import annotations

import pytest

from radio.config.diagnostics import CODES
from radio.grid.check import check_station

from .conftest import NOW, WEEK, Station

SHOW = """\
shows:
  - id: weekly
{recurrence}
    rotation:
      - playlist: music
"""

SECOND = """\
  - id: {id}
    days: [{day}]
    start: "{start}"
    end: "{end}"
    priority: {priority}
    rotation:
      - playlist: music
"""

# (code, file to overwrite, its broken contents, expected "line:col", every error code found).
# Each case breaks one thing; warnings other than the one under test may appear.
CASES: list[tuple[str, str, str, str, set[str]]] = [
    ("E001", "schedules/week.yaml", "shows:\n  - id: a\n    days: [mon\n  x: 1\n", "4:4", {"E001"}),
    ("E100", "schedules/week.yaml", WEEK + "    colour: red\n", "8:5", {"E100"}),
    ("E101", "schedules/week.yaml", WEEK.replace('"00:00"', '"25:00"'), "4:12", {"E101"}),
    ("E102", "schedules/week.yaml", WEEK.replace("sat, sun]", "sat, xyz]"), "3:42", {"E102"}),
    ("E103", "station.yaml", "timezone: Europe/Pariss\nfallback: music\n", "1:11", {"E103"}),
    (
        "E104",
        "schedules/week.yaml",
        SHOW.format(
            recurrence='    rrule: "FREQ=SOMETIMES"\n    dtstart: "2026-01-05T00:00"\n'
            "    duration: 1h"
        ),
        "3:12",
        {"E104"},
    ),
    (
        "E105",
        "schedules/week.yaml",
        SHOW.format(recurrence='    cron: "0 7 * * 1"\n    duration: 1h'),
        "3:11",
        {"E105"},
    ),
    ("E106", "schedules/week.yaml", WEEK.split("    rotation:")[0], "2:5", {"E106"}),
    ("E107", "schedules/week.yaml", WEEK + '    cron: "0 7 * * mon"\n', "2:5", {"E107"}),
    (
        "E108",
        "schedules/week.yaml",
        SHOW.format(recurrence='    cron: "0 7 * * mon"\n    duration: forever'),
        "4:15",
        {"E108"},
    ),
    (
        "E109",
        "schedules/week.yaml",
        WEEK + "exceptions:\n  - date: 2026-13-01\n    cancel: [allday]\n",
        "9:11",
        {"E109"},
    ),
    (
        "E005",
        "schedules/week.yaml",
        WEEK + "    title: " + "[" * 30 + "]" * 30 + "\n",
        "8:29",
        {"E005"},
    ),
    (
        "E006",
        "schedules/week.yaml",
        WEEK
        + "x0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
        + "".join(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 6)),
        "12:45",
        {"E006"},
    ),
    ("E110", "schedules/week.yaml", WEEK + "    start_mode: sometimes\n", "8:17", {"E110"}),
    (
        "E111",
        "schedules/week.yaml",
        SHOW.format(recurrence='    cron: "*/5 0-9 * * mon"\n    duration: 5m'),
        "3:11",
        {"E111"},
    ),
    (
        "E201",
        "schedules/week.yaml",
        WEEK + SECOND.format(id="allday", day="mon", start="01:00", end="02:00", priority=5),
        "8:9",
        {"E201"},
    ),
    (
        "E202",
        "schedules/week.yaml",
        WEEK.replace("playlist: music", "playlist: nope"),
        "7:19",
        {"E202"},
    ),
    (
        "E203",
        "schedules/week.yaml",
        WEEK + SECOND.format(id="late", day="tue", start="21:00", end="22:00", priority=0),
        "8:9",
        {"E203"},
    ),
    (
        "E204",
        "schedules/week.yaml",
        WEEK + "exceptions:\n  - date: 2026-12-25\n    cancel: [nosuch]\n",
        "10:14",
        {"E204"},
    ),
    (
        "E301",
        "playlists/music.yaml",
        "sources:\n  - media/music\n  - media/nothing\n",
        "3:5",
        {"E301"},
    ),
    ("E302", "playlists/music.yaml", "sources:\n  - media/music\n  - media/bad\n", "3:5", {"E302"}),
    ("E303", "playlists/empty.yaml", "title: Nothing yet\nsources: []\n", "2:1", {"E303"}),
    ("E304", "station.yaml", "timezone: Europe/Paris\nfallback: nosuch\n", "2:11", {"E304"}),
    ("W401", "schedules/week.yaml", WEEK.replace(", sun]", "]"), "5:10", set()),
    (
        "W402",
        "schedules/week.yaml",
        WEEK
        + "  - id: spring\n"
        + '    rrule: "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"\n'
        + '    dtstart: "2026-01-01T02:30"\n'
        + "    duration: 1h\n"
        + "    priority: 5\n"
        + "    rotation:\n      - playlist: music\n",
        "9:12",
        set(),
    ),
    (
        "W403",
        "schedules/week.yaml",
        WEEK + SECOND.format(id="night", day="sun", start="01:00", end="02:30", priority=5),
        "11:10",
        set(),
    ),
    (
        "W404",
        "schedules/week.yaml",
        WEEK
        + '  - id: never\n    cron: "0 7 31 feb *"\n    duration: 1h\n    priority: 5\n'
        + "    rotation:\n      - playlist: music\n",
        "9:11",
        set(),
    ),
    (
        "W406",
        "playlists/music.yaml",
        "sources:\n  - media/music\nseparation:\n  artist: 1m\n",
        "4:11",
        set(),
    ),
]


def test_every_code_has_a_case() -> None:
    # E002-E004 need files that cannot be written as text: tests/grid/test_hostile_files.py;
    # E305, E306 and W405 need links and special files: tests/playlists/test_media_confinement.py
    tested = {case[0] for case in CASES} | {"E002", "E003", "E004", "E305", "E306", "W405"}
    assert tested == set(CODES)


@pytest.mark.parametrize(
    ("code", "relative", "text", "where", "errors"), CASES, ids=[c[0] for c in CASES]
)
def test_broken_file_reports_code_at_exact_position(
    station: Station, code: str, relative: str, text: str, where: str, errors: set[str]
) -> None:
    station.tone("media/music/good.flac")
    station.write("media/bad/broken.flac", "this is not audio\n")
    station.write(relative, text)

    result = check_station(station.root, NOW)

    expected_prefix = f"{station.root / relative}:{where} {code} "
    lines = [str(d) for d in result.diagnostics]
    assert [line for line in lines if line.startswith(expected_prefix)], "\n".join(lines)
    assert {d.code for d in result.errors} == errors, "\n".join(lines)
    assert result.ok is (not errors)


def test_unreadable_file_is_e002(station: Station) -> None:
    station.tone("media/music/good.flac")
    (station.root / "schedules/week.yaml").write_bytes(b"shows: \xff\xfe\n")
    result = check_station(station.root, NOW)
    assert [str(d) for d in result.errors] == [
        f"{station.root / 'schedules/week.yaml'}:1:8 E002 cannot read the file: "
        "not UTF-8 (byte 0xff)"
    ]


def test_valid_station_has_no_diagnostic(station: Station) -> None:
    station.tone("media/music/good.flac")
    result = check_station(station.root, NOW)
    assert result.diagnostics == []
    assert result.ok
    assert [t.title for t in result.tracks["music"]] == ["good"]


def test_fallback_without_playable_media_is_fatal(station: Station) -> None:
    station.write("media/music/broken.flac", "not audio")
    result = check_station(station.root, NOW)
    lines = [str(d) for d in result.errors]
    root = station.root
    assert lines == [
        f"{root / 'playlists/music.yaml'}:1:1 E303 playlist 'music' has no playable track",
        f"{root / 'playlists/music.yaml'}:2:5 E302 unreadable media: "
        f"{root / 'media/music/broken.flac'}: no decodable audio (no channels or sample rate)",
        f"{root / 'station.yaml'}:2:11 E304 the fallback playlist 'music' has no playable track: "
        "the station would go silent",
    ]


def test_missing_media_before_generation_is_reported_per_source(station: Station) -> None:
    result = check_station(station.root, NOW)
    assert [(d.code, d.line, d.col) for d in result.errors] == [
        ("E303", 1, 1),
        ("E301", 2, 5),
        ("E304", 2, 11),
    ]
    assert "'media/music' matches no audio file" in str(result.errors[1])


def test_every_error_of_every_file_in_one_pass(station: Station) -> None:
    station.tone("media/music/good.flac")
    station.write("station.yaml", "timezone: Mars/Olympus\nfallback: music\nvolume: 11\n")
    station.write(
        "schedules/week.yaml",
        WEEK.replace('"00:00"', '"7h"').replace("sat, sun]", "sat, sunday, caturday]"),
    )
    result = check_station(station.root, NOW)
    assert [(d.path.rsplit("/", 1)[1], d.line, d.col, d.code) for d in result.errors] == [
        ("week.yaml", 3, 50, "E102"),
        ("week.yaml", 4, 12, "E101"),
        ("station.yaml", 1, 11, "E103"),
        ("station.yaml", 3, 1, "E100"),
    ]


def test_unknown_key_suggests_the_nearest_known_key(station: Station) -> None:
    station.tone("media/music/good.flac")
    station.write("schedules/week.yaml", WEEK.replace("    end:", "    ned:") + "    colour: red\n")
    result = check_station(station.root, NOW)
    path = station.root / "schedules/week.yaml"
    assert [str(d) for d in result.errors] == [
        f"{path}:5:5 E100 unknown key 'ned' (did you mean 'end'?)",
        f"{path}:8:5 E100 unknown key 'colour'",
    ]
