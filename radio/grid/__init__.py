"""The programme grid: what plays when, as a pure function of the grid and ``now``.

Files to grid: :mod:`~radio.grid.model` (the YAML schema), :mod:`~radio.grid.loader`
(loading with positions), :mod:`~radio.grid.check` (every problem, in one pass).
Pure time: :mod:`~radio.grid.dst`, :mod:`~radio.grid.expand`,
:mod:`~radio.grid.timeline` (``on_air(grid, now)``), :mod:`~radio.grid.week`
(the week as a table or a calendar page).
On air: :mod:`~radio.grid.programme` (the source that follows the grid),
:mod:`~radio.grid.runner` (APScheduler jobs), :mod:`~radio.grid.watch` (live
reload), :mod:`~radio.grid.onair` (all three wired), :mod:`~radio.grid.render_window`
(a window rendered offline on a frame clock).
"""
