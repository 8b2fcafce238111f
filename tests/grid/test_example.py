"""The shipped example station: missing media reported before generation, clean after."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from radio.demo.media import DEMO_LIBRARY, generate
from radio.grid.check import check_station
from radio.grid.timeline import on_air

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _copy_example(tmp_path: Path) -> Path:
    root = tmp_path / "station"
    root.mkdir()
    shutil.copy(REPO / "station.yaml", root / "station.yaml")
    shutil.copytree(REPO / "schedules", root / "schedules")
    shutil.copytree(REPO / "playlists", root / "playlists")
    return root


def test_example_station_before_and_after_media_generation(tmp_path: Path) -> None:
    root = _copy_example(tmp_path)

    before = check_station(root, NOW)
    missing = [d for d in before.errors if d.code == "E301"]
    assert len(missing) == 7  # one per playlist folder, each naming its source
    assert {d.path.rsplit("/", 1)[1] for d in missing} == {
        p.name for p in (root / "playlists").glob("*.yaml")
    }
    assert any(d.code == "E304" for d in before.errors)  # and the fallback cannot play

    written = generate(root / "media", seconds=1.0)
    assert len(written) == len(DEMO_LIBRARY)
    after = check_station(root, NOW)
    assert after.errors == []
    # 1-second files cannot keep 2-minute separations: W406 names each rule; at the
    # demo's real lengths the rules hold (tests/playlists/test_separation.py).
    assert {(d.code, d.path.rsplit("/", 1)[1]) for d in after.warnings} == {
        ("W406", "evening.yaml"),
        ("W406", "indie.yaml"),
        ("W406", "morning-hits.yaml"),
    }
    assert sum(len(t) for t in after.tracks.values()) == len(DEMO_LIBRARY)
    assert generate(root / "media") == []  # nothing to do the second time

    assert after.grid is not None
    tuesday_evening = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)  # 21:30 in Paris
    assert on_air(after.grid, tuesday_evening).show_id == "evening-live"
    christmas = datetime(2026, 12, 25, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    assert on_air(after.grid, christmas).show_id == "christmas-morning"
    assert on_air(after.grid, datetime(2026, 11, 24, 2, 0, tzinfo=UTC)).show_id is None  # night
    assert on_air(after.grid, datetime(2026, 12, 31, 22, 0, tzinfo=UTC)).show_id == "new-year-party"


def test_example_grid_is_clean_with_the_nights_left_to_the_fallback(tmp_path: Path) -> None:
    # No warning on the shipped grid, over a year: every gap is in fallback_hours.
    root = _copy_example(tmp_path)
    result = check_station(root, NOW, media=False)
    assert result.diagnostics == []
    (root / "station.yaml").write_text(
        (root / "station.yaml").read_text().replace('fallback_hours: ["23:00-07:00"]', "")
    )
    nights = check_station(root, NOW, media=False).diagnostics
    assert {d.code for d in nights} == {"W401"}  # without the role, every night is a gap
