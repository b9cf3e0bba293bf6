"""Merged runs (ernn/export/csb_merge.py) and the program check (csb_program.check_program): a chain of kernel
columns cut into the fewest runs of one or two adjacent kernels (hand-worked chains); merged schedules built
into programs bit-exact with the golden matvec in every sharing mode, the array's clocks the schedule's and,
barrier by barrier, never more than the per-kernel-column runs schedule's (fewer on a 13x matrix), with
runs that do mix two kernels; a merged schedule checked against its matrix's kept columns; a program that
is not an execution of its matrix refused by name."""

import dataclasses
import re

import numpy as np
import pytest
from test_csb_program import CASES, assert_columns_share_inputs, random_matrix

from ernn.export import csb_merge as cm
from ernn.export import csb_program as cp
from ernn.export import csb_schedule as cs
from ernn.golden import csb as gcsb


@pytest.mark.parametrize(
    ("chain", "p", "window", "runs", "pieces"),
    [
        ((2, 2), 4, 2, 1, 2),  # two half runs fill one
        ((9, 7), 4, 2, 4, 5),  # 3 + 2 runs alone; 16 entries fill 4 (one of 9's entries joins 7's last run)
        ((2, 3, 2), 4, 2, 2, 4),  # the middle kernel split between its two neighbours' runs
        ((2, 3, 2), 4, 3, 2, 3),  # window 3: the outer two share a run (their middle row executes it)
        ((1, 2, 1), 4, 3, 1, 3),  # one run of three kernels
        ((1, 2, 1), 4, 2, 2, 3),
        ((1, 1, 1, 1), 4, 3, 2, 4),  # a run spans at most three kernels
        ((3, 3), 4, 3, 2, 2),  # 6 entries need 2 runs anyway: nothing merged
        ((5,), 4, 3, 2, 2),
        ((0, 0, 0), 4, 3, 0, 0),
        ((1, 0, 0, 1), 4, 3, 2, 2),  # three rows apart: no shared run
        ((2, 2), 4, 1, 2, 2),  # window 1: each kernel column on its own
        ((1, 1, 1, 1), 1, 3, 4, 4),  # P = 1: every entry its own run
    ],
)
def test_chain_runs_hand_worked(chain, p, window, runs, pieces):
    got = cm.chain_runs(chain, p, window)
    assert len(got) == runs
    assert sum(len(r) for r in got) == pieces
    per = [0] * len(chain)
    for run in got:
        assert 0 < sum(n for _, n in run) <= p
        ks = [k for k, _ in run]
        assert ks == sorted(set(ks)) and ks[-1] - ks[0] < window
        for k, n in run:
            per[k] += n
    assert per == list(chain)


def test_chain_runs_between_the_bounds():
    """Never more runs than each column alone or than a narrower window, never fewer than the entries over
    P."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        chain = tuple(int(v) for v in rng.integers(0, 12, size=int(rng.integers(1, 9))))
        p = int(rng.integers(1, 6))
        n = [len(cm.chain_runs(chain, p, w)) for w in (1, 2, 3)]
        assert -(-sum(chain) // p) <= n[2] <= n[1] <= n[0] == sum(-(-v // p) for v in chain), (chain, p)


@pytest.mark.parametrize("mode", ["vertical", "both"])  # without the vertical path nothing merges (below)
@pytest.mark.parametrize(("gates", "rows", "cols", "block", "rate", "grid"), CASES)
def test_merged_program_is_bit_exact_and_never_longer(gates, rows, cols, block, rate, grid, mode):
    seed = hash((gates, rows, cols, block, mode, "merged")) % 2**31
    m, cfg = random_matrix(gates, rows, cols, block, rate, seed)
    for scope in cs.SCOPES:
        merged = cm.compile_matrix(m.counts, cm.kept_columns(m), grid, mode, "flow", scope)
        runs = cs.compile_matrix(m.counts, grid, mode, "flow", scope)
        prog = cp.build(m, merged)
        x = np.random.default_rng(seed).integers(cfg.data.min_int, cfg.data.max_int + 1, size=(3, cols))
        x[0] = cfg.data.max_int
        out = cp.run(prog, x, cfg)
        np.testing.assert_array_equal(
            out.y, gcsb.finish(gcsb.accumulate(m, x, cfg), rows, cfg).reshape(3, -1)
        )
        assert out.busy == prog.macs == int(m.values.size)
        assert out.mac_cycles == prog.steps == cp.shared_input_cycles(merged) == merged.cycles
        a, b = cp.shared_barrier_cycles(merged), cp.shared_barrier_cycles(runs)
        assert all(u <= v for u, v in zip(a, b, strict=True)), (scope, a, b)
        assert_columns_share_inputs(prog)


def test_merging_saves_clocks_at_13x():
    """On a 13x matrix of 16-blocks at P = 4 (kernels of about 4 rows: partly empty runs), merged runs take
    fewer clocks per tile row with vertical sharing, and the program holds runs of two kernels; without the
    vertical path nothing merges."""
    scope = "tile_row"
    m, _ = random_matrix(4, 64, 96, 16, 1 - 1 / 13, 4)
    grid = cs.Grid(2, 3, 4, 2)
    for mode in ("vertical", "both"):
        merged = cm.compile_matrix(m.counts, cm.kept_columns(m), grid, mode, "flow", scope)
        runs = cs.compile_matrix(m.counts, grid, mode, "flow", scope)
        assert merged.cycles < runs.cycles, mode
        assert cp.mixed_runs(cp.build(m, merged)) > 0
    # without vertical sharing nothing can merge: the same clocks as the runs schedule
    merged = cm.compile_matrix(m.counts, cm.kept_columns(m), grid, "horizontal", "flow", scope)
    assert merged.cycles == cs.compile_matrix(m.counts, grid, "horizontal", "flow", scope).cycles


def test_merged_schedule_needs_and_checks_the_kept_columns():
    m, _ = random_matrix(4, 20, 12, 8, 0.6, 5)
    grid = cs.Grid(2, 2, 2, 2)
    keep = cm.kept_columns(m)
    sched = cm.compile_matrix(m.counts, keep, grid, "both")
    cs.check_schedule(sched, [m.counts], [keep])
    with pytest.raises(ValueError, match="checked against its matrices' kept columns"):
        cs.check_schedule(sched, [m.counts])
    other = keep.copy()
    g, i, j = (int(v) for v in np.argwhere(keep.any(axis=3) & ~keep.all(axis=3))[0])
    kept, free = np.flatnonzero(keep[g, i, j]), np.flatnonzero(~keep[g, i, j])
    other[g, i, j, kept[0]], other[g, i, j, free[0]] = False, True  # same count, another column
    with pytest.raises(ValueError, match=r"round \d+: the kernels' kept columns differ from the matrix"):
        cs.check_schedule(sched, [m.counts], [other])
    other[g, i, j, kept[0]] = True  # one column too many
    with pytest.raises(ValueError, match=rf"block \(stacked block row {g * 3 + i}, block column {j}\): "):
        cs.check_schedule(sched, [m.counts], [other])
    with pytest.raises(ValueError, match="units 'merged' need the kept columns"):
        cs.compile_matrix(m.counts, grid, "both", units="merged")
    with pytest.raises(ValueError, match="balanced by max flow"):
        cm.compile_matrix(m.counts, keep, grid, "both", "z3")


def _slot(prog: cp.Program, where) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.argwhere(where)[0])  # type: ignore[return-value]


def test_check_program_refuses_by_name():
    """A program that is not an execution of its matrix: an entry computed twice or never, a wrong value, a
    row that is not kept, a target outside the group's reach, a part in a direction the mode does not
    allow."""
    m, _ = random_matrix(4, 20, 12, 8, 0.6, 5)
    grid = cs.Grid(2, 2, 2, 2)
    prog = cp.build(m, cm.compile_matrix(m.counts, cm.kept_columns(m), grid, "both", "flow", "tile_row"))
    cp.check_program(prog, m, "both")

    def bad(**arrays):
        return dataclasses.replace(prog, **{k: v for k, v in arrays.items()})

    # a PE column step with one PE enabled and one free: duplicate the enabled slot into the free one
    en = prog.enable.reshape(-1, prog.steps, grid.p, grid.q)
    g, s, c = _slot(prog, en.sum(axis=2) == 1)
    pr = int(np.flatnonzero(en[g, s, :, c])[0])
    src, dst = pr * grid.q + c, (1 - pr) * grid.q + c
    arrays = {f: getattr(prog, f).copy() for f in ("enable", "value", "bank", "row")}
    for f in arrays:
        arrays[f][g, s, dst] = arrays[f][g, s, src]
    with pytest.raises(
        ValueError, match=r"kernel entry \(row \d+, column \d+\) of CSB block .* computed 2 times"
    ):
        cp.check_program(bad(**arrays), m)
    enable = prog.enable.copy()
    enable[g, s, src] = False
    with pytest.raises(ValueError, match="computed 0 times"):
        cp.check_program(bad(enable=enable), m)
    value = prog.value.copy()
    value[g, s, src] += 1
    with pytest.raises(
        ValueError,
        match=rf"group {re.escape(str(grid.groups()[g]))}, tile row \d+, step \d+, PE {src}: value",
    ):
        cp.check_program(bad(value=value), m)
    # a row offset the slot's block does not keep
    gi, s2, n2 = _slot(prog, prog.enable & (prog.bank == 0))
    tile = int(np.searchsorted(np.cumsum(prog.lens), s2, side="right"))
    i, j = tile * grid.k + grid.groups()[gi][0], int(prog.x_index[gi, s2, n2]) // m.block
    br, bc = m.counts.shape[1:3]
    ro, _, _ = m._offsets[i * bc + j]
    kept = set(m.row_index[ro : ro + int(m.counts[i // br, i % br, j, 0])].tolist())
    row = prog.row.copy()
    row[gi, s2, n2] = min(set(range(m.block)) - kept)
    with pytest.raises(
        ValueError, match=rf"PE {n2}: row offset {row[gi, s2, n2]} and column offset \d+ are not a kept"
    ):
        cp.check_program(bad(row=row), m)
    # bank 1 (the group row above) on the top group row: outside the grid
    gi, s3, n3 = _slot(prog, prog.enable & (np.arange(4)[:, None, None] < grid.l))
    bank = prog.bank.copy()
    bank[gi, s3, n3] = 1
    with pytest.raises(ValueError, match="which is not this group or a neighbour"):
        cp.check_program(bad(bank=bank), m)
    # the both-direction program under a mode without vertical sharing
    with pytest.raises(ValueError, match="a vertical part of CSB block .* mode 'horizontal' does not allow"):
        cp.check_program(prog, m, "horizontal")
    with pytest.raises(
        ValueError, match=r"program of \(gates, rows, cols, block\) \(4, 20, 12, 8\), the matrix"
    ):
        cp.check_program(prog, random_matrix(4, 40, 12, 8, 0.6, 5)[0], "both")
