"""The programme grid: what plays when, as a pure function of the grid and ``now``."""
