"""Tile-row CSB schedules on the unchanged group array: a program builder and a pytest plugin.

``ernn.export.csb_schedule`` can balance a CSB matrix per tile row (``scope="tile_row"``: no barrier
between the rounds of a tile row, which is all ``rtl/ernn_csb_array.v`` synchronizes on: its lengths image
holds one word per tile row). ``ernn.export.csb_program.build`` still fills a group's PE slots round by
round and refuses such a schedule. :func:`build_tile_rows` is the same builder with the fill kept per tile
row, the program format unchanged (five images, ``Program``): the change ``csb_program.build`` needs.

As a pytest plugin it makes ``tb/ernn_csb_array`` compile its schedules with the max-flow solver at the scope
``ERNN_CSB_SCOPE`` names (``tile_row`` by default) and, for ``tile_row``, build them with
:func:`build_tile_rows`; the testbench then checks the array bit-exact with the golden matvec and its
counters (MAC clocks, busy PE-slots) equal to the schedule's cycles and entries::

    PYTHONPATH=bench SIM=icarus .venv/bin/python -m pytest -p no:xdist -p csb_tile_row_rtl \\
        tb/ernn_csb_array/test_ernn_csb_array.py::test_ernn_csb_array
"""

from __future__ import annotations

import os

import numpy as np

from ernn.export import csb_program as cp
from ernn.export import csb_schedule as cs
from ernn.golden import csb as gcsb


def build_tile_rows(matrix: gcsb.CSBMatrix, schedule: cs.Schedule) -> cp.Program:
    """The array's program of a tile-row ``schedule`` (see the module docstring); ValueError when the
    schedule is not this matrix's or not a tile-row one."""
    if schedule.scope != "tile_row":
        raise ValueError(f"build_tile_rows takes a tile-row schedule, got scope {schedule.scope!r}")
    grid = schedule.grid
    cs.check_schedule(schedule, [matrix.counts])
    groups = grid.groups()
    pq = grid.group_pes
    br, bc = matrix.counts.shape[1], matrix.counts.shape[2]
    blocks = [(g * br + i, j) for g in range(matrix.gates) for i in range(br) for j in range(bc)]
    offsets = dict(zip(blocks, matrix._offsets, strict=True))
    lens = np.array([t.cycles for t in schedule.tile_rows], dtype=np.int64)
    if len(lens) != cp.tile_row_blocks(matrix.gates, matrix.rows, matrix.block, grid):
        raise ValueError(f"schedule has {len(lens)} tile rows, the matrix on this grid has another number")
    steps = int(lens.sum())
    shape = (len(groups), steps, pq)
    enable = np.zeros(shape, dtype=bool)
    value, x_index, bank, row = (np.zeros(shape, dtype=np.int64) for _ in range(4))
    start = 0
    for t in schedule.tile_rows:
        fill = {g: 0 for g in groups}  # slots used so far in this tile row, per group: no round barrier
        for r in schedule.rounds[t.first : t.first + t.count]:
            for part in r.parts:
                bi, bj = r.blocks[part.owner]
                ro, co, vo = offsets[(bi, bj)]
                _, n = r.sizes[part.owner]
                gi = groups.index(part.helper)
                e = part.entries
                slots = fill[part.helper] + np.arange(len(e))
                fill[part.helper] += len(e)
                if slots.size and slots[-1] >= t.cycles * pq:
                    raise ValueError(
                        f"tile row {r.tile[0]}: group {part.helper} has more entries than its cycles"
                    )
                s, pe = start + slots // pq, slots % pq
                enable[gi, s, pe] = True
                value[gi, s, pe] = matrix.values[vo + e[:, 0] * n + e[:, 1]]
                x_index[gi, s, pe] = bj * matrix.block + matrix.col_index[co + e[:, 1]]
                bank[gi, s, pe] = cp.bank_of(part.owner, part.helper)
                row[gi, s, pe] = matrix.row_index[ro + e[:, 0]]
        start += t.cycles
    return cp.Program(grid, matrix.gates, matrix.rows, matrix.cols, matrix.block, lens, enable, value,
                      x_index, bank, row)  # fmt: skip


# ------------------------------------------------------------------------------------------------------
# the pytest plugin (``-p csb_tile_row_rtl``): patches the two functions the testbench calls
_SCOPE = os.environ.get("ERNN_CSB_SCOPE", "tile_row")
_compile = cs.compile_matrix
_build = cp.build


def _compile_matrix(counts, grid, mode="both", method="flow", scope="round"):
    s = _compile(counts, grid, mode, "flow", _SCOPE)
    print(
        f"csb_tile_row_rtl: {_SCOPE} schedule, {mode}: {s.cycles} MAC clocks, utilization {s.utilization:.4f}"
    )
    return s


def _build_any(matrix, schedule):
    return build_tile_rows(matrix, schedule) if schedule.scope == "tile_row" else _build(matrix, schedule)


def pytest_configure(config) -> None:
    if _SCOPE not in cs.SCOPES:
        raise ValueError(f"ERNN_CSB_SCOPE must be one of {', '.join(cs.SCOPES)}, got {_SCOPE!r}")
    cs.compile_matrix = _compile_matrix
    cp.build = _build_any
