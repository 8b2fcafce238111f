"""The programme source on generated sines: exact switch frames, reloads, prepared slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from radio.audio.operators import Sine
from radio.audio.source import Source
from radio.events import Event, ShowStarted
from radio.grid.frameclock import FrameClock
from radio.grid.grid import Grid, Occurrence
from radio.grid.model import ScheduleFile
from radio.grid.programme import Programme

from .conftest import dominant

START = datetime(2026, 11, 23, 5, 59, 58, tzinfo=UTC)  # 06:59:58 in Paris
FREQS = {None: 250.0, "a": 500.0, "b": 1000.0}


def _grid(*shows: tuple[str, str, str]) -> Grid:
    schedule = ScheduleFile.model_validate(
        {
            "shows": [
                {"id": i, "days": ["mon"], "start": s, "end": e, "rotation": [{"playlist": "x"}]}
                for i, s, e in shows
            ]
        }
    )
    return Grid(tz=ZoneInfo("Europe/Paris"), shows=tuple(schedule.shows), fallback="x")


class Harness:
    def __init__(self, grid: Grid) -> None:
        self.frames = 0
        self.built: list[str | None] = []
        self.events: list[Event] = []
        self.clock = FrameClock(START, lambda: self.frames)
        self.programme = Programme(
            grid,
            self.build,
            now=self.clock.now,
            position=lambda: self.frames,
            events=self.events.append,
            lead=timedelta(seconds=1),
        )

    def build(self, occurrence: Occurrence | None) -> Source:
        show = occurrence.show_id if occurrence else None
        self.built.append(show)
        return Sine(FREQS[show])

    def pull(self, count: int) -> list[float]:
        out = []
        for _ in range(count):
            assert self.programme.ready
            out.append(dominant(self.programme.read()))
            self.frames += 1
        return out


def test_hard_switch_lands_on_the_boundary_frame() -> None:
    h = Harness(_grid(("a", "07:00", "07:01")))
    heard = h.pull(200)  # 4 s: the boundary is at frame 100
    assert set(heard[:100]) == {FREQS[None]}
    assert set(heard[103:]) == {FREQS["a"]}  # after the 50 ms fade
    assert [(e.show_id, e.frame) for e in h.events if isinstance(e, ShowStarted)] == [
        ("", 0),
        ("a", 100),
    ]
    # The show was built one second (the lead) ahead, once.
    assert h.built == [None, "a"]


def test_reload_takes_effect_on_the_next_frame() -> None:
    h = Harness(_grid(("a", "07:00", "07:01")))
    h.pull(150)
    h.programme.set_grid(_grid(("b", "07:00", "07:01")))
    heard = h.pull(10)
    assert set(heard[3:]) == {FREQS["b"]}
    assert [(e.show_id, e.frame) for e in h.events if isinstance(e, ShowStarted)][-1] == ("b", 150)
    h.programme.set_grid(_grid())
    heard = h.pull(10)
    assert set(heard[3:]) == {FREQS[None]}
    assert h.programme.on_air is None


def test_next_boundary_and_maintain() -> None:
    h = Harness(_grid(("a", "07:00", "07:01")))
    assert h.programme.next_boundary == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    h.programme.maintain()  # what the scheduler's job does: no frame is read
    assert h.built == [None]
    h.frames = 60  # 06:59:59.2, within the 1 s lead: the next slot is prepared
    h.programme.maintain()
    assert h.built == [None, "a"]


def test_a_new_boundary_during_a_waiting_soft_start_wins() -> None:
    schedule = ScheduleFile.model_validate(
        {
            "shows": [
                {
                    "id": "a",
                    "days": ["mon"],
                    "start": "07:00",
                    "end": "07:01",
                    "start_mode": "soft",
                    "max_wait": "5m",
                    "rotation": [{"playlist": "x"}],
                },
                {
                    "id": "b",
                    "days": ["mon"],
                    "start": "07:01",
                    "end": "07:02",
                    "rotation": [{"playlist": "x"}],
                },
            ]
        }
    )
    grid = Grid(tz=ZoneInfo("Europe/Paris"), shows=tuple(schedule.shows), fallback="x")
    h = Harness(grid)
    # A sine never ends a track: the soft start of "a" waits (up to 5 min) ...
    heard = h.pull(100 + 3000 + 10)
    assert set(heard[: 100 + 3000]) == {FREQS[None]}
    # ... until 07:01, when the hard start of "b" takes the air on its frame.
    assert set(heard[100 + 3000 + 3 :]) == {FREQS["b"]}
    shows = [(e.show_id, e.frame) for e in h.events if isinstance(e, ShowStarted)]
    assert shows == [("", 0), ("b", 3100)]
    assert h.programme.on_air is not None and h.programme.on_air.show_id == "b"
