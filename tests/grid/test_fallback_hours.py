"""station.yaml's fallback_hours: gaps inside them are the plan, gaps outside are W401."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from radio.grid.check import check_station
from radio.grid.fallback_hours import describe, unexpected

from .conftest import NOW, STATION, Station

PARIS = ZoneInfo("Europe/Paris")
DAYTIME = """\
shows:
  - id: day
    days: [mon, tue, wed, thu, fri, sat, sun]
    start: "07:00"
    end: "{end}"
    rotation:
      - playlist: music
"""


def utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_a_gap_inside_the_hours_is_expected_and_the_rest_is_returned() -> None:
    night = [(time(23), time(7))]
    # 22:00 to 07:00 Paris (winter, UTC+1): only 22:00-23:00 is outside the hours.
    assert unexpected(utc(2026, 11, 23, 21), utc(2026, 11, 24, 6), night, PARIS) == [
        (utc(2026, 11, 23, 21), utc(2026, 11, 23, 22))
    ]
    assert unexpected(utc(2026, 11, 23, 22), utc(2026, 11, 24, 6), night, PARIS) == []
    # two windows, a gap across both and the hour between them
    two = [(time(23), time(2)), (time(3), time(7))]
    assert unexpected(utc(2026, 11, 23, 22), utc(2026, 11, 24, 6), two, PARIS) == [
        (utc(2026, 11, 24, 1), utc(2026, 11, 24, 2))
    ]
    # no hours: the whole gap
    gap = (utc(2026, 11, 23, 22), utc(2026, 11, 24, 6))
    assert unexpected(*gap, [], PARIS) == [gap]


def test_the_hours_keep_their_wall_times_across_daylight_saving() -> None:
    night = [(time(23), time(7))]
    # 29 March 2026: Paris jumps from 02:00 to 03:00; 07:00 is then 05:00 UTC, not 06:00.
    assert unexpected(utc(2026, 3, 28, 22), utc(2026, 3, 29, 6), night, PARIS) == [
        (utc(2026, 3, 29, 5), utc(2026, 3, 29, 6))
    ]


def test_describe_writes_the_hours_as_the_file_does() -> None:
    assert describe([(time(23), time(7)), (time(0), time(0)), (time(22), time(0))]) == (
        "23:00-07:00, 00:00-24:00, 22:00-24:00"
    )


def test_check_reports_only_the_gap_outside_the_fallback_hours(station: Station) -> None:
    station.tone("media/music/good.flac")
    station.write("schedules/week.yaml", DAYTIME.format(end="22:00"))
    before = check_station(station.root, NOW)
    assert [d.code for d in before.diagnostics] == ["W401"]
    assert "gap from 22:00 to 07:00 the next day" in before.diagnostics[0].message

    station.write("station.yaml", STATION + 'fallback_hours: ["23:00-07:00"]\n')
    after = check_station(station.root, NOW)
    lines = [str(d) for d in after.diagnostics]
    assert lines == [
        f"{station.root / 'schedules/week.yaml'}:5:10 W401 gap from 22:00 to 23:00 on "
        "Mon, Tue, Wed, Thu, Fri, Sat, Sun outside the fallback's hours (23:00-07:00), "
        "first on 2026-11-23 22:00 (366 times in the window): the fallback 'music' will play"
    ]

    station.write("schedules/week.yaml", DAYTIME.format(end="23:00"))
    assert check_station(station.root, NOW).diagnostics == []


def test_no_show_at_all_is_still_a_warning_unless_the_hours_cover_the_day(
    station: Station,
) -> None:
    station.tone("media/music/good.flac")
    station.write("schedules/week.yaml", "shows: []\n")
    station.write("station.yaml", STATION + 'fallback_hours: ["23:00-07:00"]\n')
    assert [d.code for d in check_station(station.root, NOW).diagnostics] == ["W401"]
    station.write("station.yaml", STATION + 'fallback_hours: ["00:00-24:00"]\n')
    assert check_station(station.root, NOW).diagnostics == []


def test_bad_hours_are_e101_at_their_place(station: Station) -> None:
    station.tone("media/music/good.flac")
    station.write("station.yaml", STATION + 'fallback_hours: ["23:00-7"]\n')
    result = check_station(station.root, NOW)
    assert [str(d) for d in result.errors] == [
        f"{station.root / 'station.yaml'}:3:18 E101 bad hours '23:00-7': "
        "write HH:MM-HH:MM, e.g. 23:00-07:00"
    ]
