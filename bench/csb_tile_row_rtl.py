"""Tile-row CSB schedules on the unchanged group array: a program builder and a pytest plugin.

``ernn.export.csb_schedule`` can balance a CSB matrix per tile row (``scope="tile_row"``: no barrier
between the rounds of a tile row, which is all ``rtl/ernn_csb_array.v`` synchronizes on: its lengths image
holds one word per tile row). ``ernn.export.csb_program.build`` fills a group's PE slots per tile row for
such a schedule (round by round otherwise), the program format unchanged (five images, ``Program``);
:func:`build_tile_rows` is that builder restricted to tile-row schedules.

As a pytest plugin it makes ``tb/ernn_csb_array`` compile its schedules with the max-flow solver at the scope
``ERNN_CSB_SCOPE`` names (``tile_row`` by default; ``csb_program.build`` builds either scope); the testbench
then checks the array bit-exact with the golden matvec and its
counters (MAC clocks, busy PE-slots) equal to the program's MAC steps (the schedule's with the PE columns'
shared input, ``csb_program.shared_input_cycles``) and entries::

    PYTHONPATH=bench SIM=icarus .venv/bin/python -m pytest -p no:xdist -p csb_tile_row_rtl \\
        tb/ernn_csb_array/test_ernn_csb_array.py::test_ernn_csb_array
"""

from __future__ import annotations

import os

from ernn.export import csb_program as cp
from ernn.export import csb_schedule as cs
from ernn.golden import csb as gcsb


def build_tile_rows(matrix: gcsb.CSBMatrix, schedule: cs.Schedule) -> cp.Program:
    """The array's program of a tile-row ``schedule``: ``csb_program.build``, which fills a group's slots per
    tile row for such a schedule; ValueError when the schedule is not a tile-row one (or not this matrix's)."""
    if schedule.scope != "tile_row":
        raise ValueError(f"build_tile_rows takes a tile-row schedule, got scope {schedule.scope!r}")
    return _build(matrix, schedule)


# ------------------------------------------------------------------------------------------------------
# the pytest plugin (``-p csb_tile_row_rtl``): makes the testbench compile its schedules at ERNN_CSB_SCOPE
_SCOPE = os.environ.get("ERNN_CSB_SCOPE", "tile_row")
_compile = cs.compile_matrix
_build = cp.build


def _compile_matrix(counts, grid, mode="both", method="flow", scope="round"):
    s = _compile(counts, grid, mode, "flow", _SCOPE)
    print(
        f"csb_tile_row_rtl: {_SCOPE} schedule, {mode}: {s.cycles} MAC clocks, utilization {s.utilization:.4f}"
    )
    return s


def pytest_configure(config) -> None:
    if _SCOPE not in cs.SCOPES:
        raise ValueError(f"ERNN_CSB_SCOPE must be one of {', '.join(cs.SCOPES)}, got {_SCOPE!r}")
    cs.compile_matrix = _compile_matrix
