"""What plays at ``now``: table tests over ordinary, spring-forward and fall-back weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from radio.grid.expand import occurrences
from radio.grid.grid import Grid
from radio.grid.model import ScheduleFile
from radio.grid.timeline import on_air

PARIS = ZoneInfo("Europe/Paris")


def _show(**fields: object) -> dict[str, object]:
    return {"rotation": [{"playlist": "music"}], **fields}


SCHEDULE = ScheduleFile.model_validate(
    {
        "shows": [
            _show(
                id="morning", days=["mon", "tue", "wed", "thu", "fri"], start="07:00", end="10:00"
            ),
            _show(id="day", days=["mon", "tue", "wed", "thu", "fri"], start="10:00", end="18:00"),
            _show(id="news", cron="0 12 * * mon-fri", duration="10m", priority=20),
            # Crosses midnight, into the DST change on the last Sunday of March and October.
            _show(id="night", days=["sat"], start="23:00", end="03:00"),
            _show(id="early", days=["sun"], start="03:00", end="05:00"),
            _show(
                id="monthly",
                rrule="FREQ=MONTHLY;BYDAY=1WE",
                dtstart="2026-01-07T20:00",
                duration="1h30m",
            ),
        ],
        "exceptions": [
            {"date": "2026-12-25", "cancel": ["morning", "day"]},
            {
                "date": "2026-12-31",
                "add": [_show(id="party", start="21:00", end="02:00", priority=50)],
            },
        ],
    }
)


def _grid() -> Grid:
    shows = tuple(SCHEDULE.shows) + tuple(e for x in SCHEDULE.exceptions for e in x.add)
    cancelled = {x.date: frozenset(x.cancel) for x in SCHEDULE.exceptions if x.cancel}
    return Grid(
        tz=PARIS,
        shows=shows,
        fallback="music",
        cancelled=cancelled,  # type: ignore[arg-type]
        one_off=frozenset({len(shows) - 1}),
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# (instant in UTC, expected show id or None for the fallback, expected next boundary UTC)
TABLE: list[tuple[datetime, str | None, datetime]] = [
    # An ordinary week in winter (CET, UTC+1).
    (utc(2026, 11, 23, 5, 59, 59), None, utc(2026, 11, 23, 6, 0)),
    (utc(2026, 11, 23, 6, 0), "morning", utc(2026, 11, 23, 9, 0)),
    (utc(2026, 11, 23, 8, 59, 59), "morning", utc(2026, 11, 23, 9, 0)),
    (utc(2026, 11, 23, 9, 0), "day", utc(2026, 11, 23, 11, 0)),
    (utc(2026, 11, 23, 11, 0), "news", utc(2026, 11, 23, 11, 10)),
    (utc(2026, 11, 23, 11, 10), "day", utc(2026, 11, 23, 17, 0)),
    (utc(2026, 11, 23, 17, 0), None, utc(2026, 11, 24, 6, 0)),
    # Spring forward: Sunday 29 March 2026, 02:00 CET becomes 03:00 CEST (01:00 UTC).
    (utc(2026, 3, 28, 21, 59), None, utc(2026, 3, 28, 22, 0)),
    (utc(2026, 3, 28, 22, 0), "night", utc(2026, 3, 29, 1, 0)),  # 23:00 CET
    (utc(2026, 3, 29, 0, 59, 59), "night", utc(2026, 3, 29, 1, 0)),  # 01:59:59 CET
    (utc(2026, 3, 29, 1, 0), "early", utc(2026, 3, 29, 3, 0)),  # 03:00 CEST
    (utc(2026, 3, 29, 3, 0), None, utc(2026, 3, 30, 5, 0)),  # 05:00 CEST
    (utc(2026, 3, 30, 4, 59), None, utc(2026, 3, 30, 5, 0)),
    (utc(2026, 3, 30, 5, 0), "morning", utc(2026, 3, 30, 8, 0)),  # 07:00 CEST
    (utc(2026, 3, 30, 10, 0), "news", utc(2026, 3, 30, 10, 10)),  # 12:00 CEST
    # Fall back: Sunday 25 October 2026, 03:00 CEST becomes 02:00 CET (01:00 UTC).
    (utc(2026, 10, 24, 21, 0), "night", utc(2026, 10, 25, 2, 0)),  # 23:00 CEST
    (utc(2026, 10, 25, 0, 30), "night", utc(2026, 10, 25, 2, 0)),  # the first 02:30
    (utc(2026, 10, 25, 1, 30), "night", utc(2026, 10, 25, 2, 0)),  # the second 02:30
    (utc(2026, 10, 25, 1, 59, 59), "night", utc(2026, 10, 25, 2, 0)),
    (utc(2026, 10, 25, 2, 0), "early", utc(2026, 10, 25, 4, 0)),  # 03:00 CET
    (utc(2026, 10, 26, 5, 59), None, utc(2026, 10, 26, 6, 0)),
    (utc(2026, 10, 26, 6, 0), "morning", utc(2026, 10, 26, 9, 0)),  # 07:00 CET
    # rrule: the first Wednesday of the month, 20:00-21:30 (elapsed time).
    (utc(2026, 12, 2, 19, 0), "monthly", utc(2026, 12, 2, 20, 30)),
    (utc(2026, 12, 9, 19, 0), None, utc(2026, 12, 10, 6, 0)),
    # Exceptions: Christmas Day has no weekday shows (news still runs).
    (utc(2026, 12, 25, 7, 0), None, utc(2026, 12, 25, 11, 0)),
    (utc(2026, 12, 25, 11, 5), "news", utc(2026, 12, 25, 11, 10)),
    (utc(2026, 12, 24, 7, 0), "morning", utc(2026, 12, 24, 9, 0)),
    # ... and New Year's Eve has a one-off party crossing midnight (priority over all).
    (utc(2026, 12, 31, 20, 0), "party", utc(2027, 1, 1, 1, 0)),
    (utc(2027, 1, 1, 0, 59), "party", utc(2027, 1, 1, 1, 0)),
    (utc(2027, 1, 1, 1, 0), None, utc(2027, 1, 1, 6, 0)),
]


@pytest.mark.parametrize(("now", "expected", "boundary"), TABLE, ids=[str(t[0]) for t in TABLE])
def test_on_air(now: datetime, expected: str | None, boundary: datetime) -> None:
    slot = on_air(_grid(), now)
    assert slot.show_id == expected
    assert slot.next_boundary == boundary


def test_on_air_accepts_any_offset_and_refuses_naive() -> None:
    local = datetime(2026, 11, 23, 7, 30, tzinfo=PARIS)
    assert on_air(_grid(), local).show_id == "morning"
    with pytest.raises(ValueError):
        on_air(_grid(), datetime(2026, 11, 23, 7, 30))


def test_night_show_lengths_across_dst_changes() -> None:
    grid = _grid()
    nights = [
        o for o in occurrences(grid, utc(2026, 3, 1), utc(2026, 11, 1)) if o.show_id == "night"
    ]
    lengths = {o.wall_start.date().isoformat(): o.end - o.start for o in nights}
    # Wall clock 23:00-03:00 is 4 hours, except when the clocks change overnight.
    assert lengths["2026-03-21"] == timedelta(hours=4)
    assert lengths["2026-03-28"] == timedelta(hours=3)
    assert lengths["2026-10-24"] == timedelta(hours=5)
    assert lengths["2026-10-17"] == timedelta(hours=4)
    # Every Saturday from 7 March to 31 October 2026 (35), plus 28 February's night,
    # which runs into the window.
    assert len(nights) == 36


def test_cron_and_rrule_counts_over_a_year() -> None:
    occs = occurrences(_grid(), utc(2027, 1, 1), utc(2028, 1, 1))
    counts: dict[str, int] = {}
    for o in occs:
        counts[o.show_id] = counts.get(o.show_id, 0) + 1
    assert counts["news"] == 261  # weekdays in 2027
    assert counts["monthly"] == 12
    assert counts["night"] == 52  # Saturdays in 2027 (2 January to 25 December)
    assert counts["party"] == 1  # New Year's Eve 2026 runs into 2027
