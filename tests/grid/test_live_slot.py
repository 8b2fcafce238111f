"""Who may go live when, and which tracks are requestable, from the grid."""

from __future__ import annotations

from datetime import UTC, datetime

from radio.grid.check import check_station
from radio.grid.live_slot import live_slot, requestable_tracks

from .conftest import NOW, Station

WEEK = """\
shows:
  - id: evening
    title: Evening Live
    days: [mon]
    start: "20:00"
    end: "23:00"
    presenters: [111, "222"]
    live: {allowed: true, record: true}
    rotation:
      - playlist: music
"""


def test_live_slot_and_requestable_tracks(station: Station) -> None:
    station.tone("media/music/a.flac")
    station.tone("media/extra/b.flac")
    station.write("playlists/extra.yaml", "sources: [media/extra]\nrequestable: true\n")
    station.write("schedules/week.yaml", WEEK)
    result = check_station(station.root, NOW)
    assert result.grid is not None and not result.errors

    slot = live_slot(result.grid, datetime(2026, 11, 23, 19, 30, tzinfo=UTC))  # 20:30 Paris
    assert slot is not None
    assert (slot.show_id, slot.title, slot.presenters, slot.allowed, slot.record) == (
        "evening",
        "Evening Live",
        frozenset({111, 222}),
        True,
        True,
    )
    assert live_slot(result.grid, datetime(2026, 11, 23, 22, 0, tzinfo=UTC)) is None
    assert [t.title for t in requestable_tracks(result)] == ["b"]
