"""The CSB workload-balancing compiler (ernn/export/csb_schedule.py): every kernel entry exactly once, parts
only on the owner or a neighbour in the allowed directions, per round and per tile row; max-flow and the
z3 bisection reaching the same optimum (hand-solved rounds, random rounds), the greedy baseline and the
unshared schedule no better, the tile-row scope no worse than the round scope and within its bound; the idle
slots adding up; and a broken schedule refused by name."""

import dataclasses
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from ernn.export import csb_schedule as cs


def random_counts(rng, gates=2, block_rows=5, block_cols=7, block=8):
    """Kernel sizes of random CSB blocks, empty blocks included."""
    m = rng.integers(0, block + 1, size=(gates, block_rows, block_cols))
    n = np.where(m > 0, rng.integers(1, block + 1, size=m.shape), 0)
    return np.stack((m, n), axis=-1)


@pytest.mark.parametrize("units", cs.UNITS)
@pytest.mark.parametrize("scope", cs.SCOPES)
@pytest.mark.parametrize("mode", cs.MODES)
@pytest.mark.parametrize("method", cs.METHODS)
def test_schedule_covers_every_entry_once_on_the_grid(mode, method, scope, units):
    rng = np.random.default_rng(3)
    counts = [random_counts(rng), random_counts(rng, gates=1, block_rows=3, block_cols=2)]
    grid = cs.Grid(2, 3, 2, 2)
    sched = cs.compile_matrices(counts, grid, mode, method, scope, units)
    cs.check_schedule(sched, counts)
    # rounds: ceil(10 / 2) * ceil(7 / 3) + ceil(3 / 2) * ceil(2 / 3); tile rows: 5 + 2
    assert len(sched.rounds) == 5 * 3 + 2 * 1
    assert len(sched.barriers()) == (len(sched.rounds) if scope == "round" else 5 + 2)
    macs = sum(int((c[..., 0] * c[..., 1]).sum()) for c in counts)
    assert sched.macs == macs
    assert sched.utilization == pytest.approx(macs / (grid.pes * sched.cycles))
    idle = sched.idle()
    assert idle["useful"] + idle["rounding"] + idle["imbalance"] == idle["slots"] == grid.pes * sched.cycles
    assert min(idle.values()) >= 0
    for load, runs, (rounds, cycles) in zip(sched.loads(), sched.run_loads(), sched.barriers(), strict=True):
        if units == "entries":  # any P Q entries a clock
            assert cycles == max(math.ceil(v / grid.group_pes) for v in load.values())
        else:  # a kernel column's entries in runs of P (the PE column's shared input), Q runs a clock
            assert cycles == max(math.ceil(v / grid.q) for v in runs.values())
            # whole runs move: the runs add up to the kernels' own, none is cut short by a split
            assert sum(runs.values()) == sum(n * -(-m // grid.p) for r in rounds for m, n in r.sizes.values())
        assert sum(load.values()) == sum(m * n for r in rounds for m, n in r.sizes.values())
    for r in sched.rounds:
        assert r.cycles == 0 or scope == "round"
        for part in r.parts:
            kind = cs.direction(part.owner, part.helper)
            if mode == "none":
                assert kind == "local"
            elif mode != "both":
                assert kind in ("local", mode)


@pytest.mark.parametrize("scope", cs.SCOPES)
def test_flow_and_z3_reach_the_optimum_and_beat_the_others(scope):
    rng = np.random.default_rng(11)
    counts = random_counts(rng, gates=4, block_rows=4, block_cols=8, block=16)
    grid = cs.Grid(4, 4, 2, 2)
    z3s = {mode: cs.compile_matrix(counts, grid, mode, "z3", scope) for mode in cs.MODES}
    flows = {mode: cs.compile_matrix(counts, grid, mode, "flow", scope) for mode in cs.MODES}
    greedy = {mode: cs.compile_matrix(counts, grid, mode, "greedy", scope) for mode in cs.MODES[1:]}
    top = {name: {mode: [max(v.values()) for v in s.loads()] for mode, s in d.items()}
           for name, d in (("z3", z3s), ("flow", flows))}  # fmt: skip
    for mode in cs.MODES[1:]:
        # both exact: the same cycles at every barrier (the flow schedule may fill them less evenly)
        assert [c for _, c in flows[mode].barriers()] == [c for _, c in z3s[mode].barriers()]
        assert z3s[mode].cycles <= greedy[mode].cycles <= z3s["none"].cycles
        assert all(a <= b for a, b in zip(top["z3"][mode], top["z3"]["none"], strict=True))
        # the fewest moves under the cycles' bound: no more than z3's schedule of the same cycles moves
        moved = {name: sum(d[mode].moved()[k] for k in ("horizontal", "vertical")) for name, d in
                 (("z3", z3s), ("flow", flows))}  # fmt: skip
        assert 0 < moved["flow"] <= moved["z3"]
    both, h, v = (top["z3"][m] for m in ("both", "horizontal", "vertical"))
    assert all(a <= min(b, c) for a, b, c in zip(both, h, v, strict=True))
    assert z3s["both"].utilization > z3s["none"].utilization


def test_a_tile_row_barrier_is_no_worse_and_within_its_bound():
    rng = np.random.default_rng(13)
    counts = random_counts(rng, gates=4, block_rows=4, block_cols=9, block=16)
    grid = cs.Grid(4, 4, 2, 2)
    for mode in cs.MODES:
        per_round = cs.compile_matrix(counts, grid, mode, "flow", "round")
        per_row = cs.compile_matrix(counts, grid, mode, "flow", "tile_row")
        assert len(per_row.tile_rows) == 4 and [t.count for t in per_row.tile_rows] == [3] * 4
        for t in per_row.tile_rows:
            rounds = per_round.rounds[t.first : t.first + t.count]
            work = sum(m * n for r in rounds for m, n in r.sizes.values())
            # no worse than the rounds one after the other, no better than all PEs busy every cycle
            assert math.ceil(work / grid.pes) <= t.cycles <= sum(r.cycles for r in rounds)
    # the ragged last round of each tile row (one block column of four) leaves groups idle per round;
    # a tile row spreads it
    assert per_row.utilization > per_round.utilization


def _schedule():
    rng = np.random.default_rng(5)
    counts = random_counts(rng, gates=1, block_rows=2, block_cols=3)
    counts[0, 0, 0] = (8, 8)  # a full kernel next to smaller ones: work moves
    return counts, cs.compile_matrix(counts, cs.Grid(2, 3, 2, 2), "both", "z3")


def test_a_broken_schedule_is_refused_by_name():
    counts, sched = _schedule()
    r = sched.rounds[0]
    moved = next(p for p in r.parts if p.kind != "local")
    # an entry computed twice
    dup = dataclasses.replace(moved, entries=np.concatenate((moved.entries, moved.entries[:1])))
    r.parts[r.parts.index(moved)] = dup
    with pytest.raises(
        ValueError, match=r"round 0: kernel of group \(0, 0\) \(block \(0, 0\)\): entry .* 2 times"
    ):
        cs.check_schedule(sched, [counts])
    # an entry missing
    r.parts[r.parts.index(dup)] = dataclasses.replace(moved, entries=moved.entries[1:])
    with pytest.raises(ValueError, match="computed 0 times"):
        cs.check_schedule(sched, [counts])
    # a part on a group that is not a neighbour
    counts, sched = _schedule()
    r = sched.rounds[0]
    moved = next(p for p in r.parts if p.kind != "local")
    far = dataclasses.replace(moved, helper=(1, 2), kind="horizontal")
    r.parts[r.parts.index(moved)] = far
    with pytest.raises(ValueError, match=r"not neighbours|does not allow"):
        cs.check_schedule(sched, [counts])
    # a horizontal part in a vertical-only schedule
    counts, sched = _schedule()
    sched.mode = "vertical"
    assert any(p.kind == "horizontal" for r in sched.rounds for p in r.parts)
    with pytest.raises(ValueError, match="which mode 'vertical' does not allow"):
        cs.check_schedule(sched, [counts])
    # too few cycles: for the runs the array executes (a schedule balanced in runs) ...
    counts, sched = _schedule()
    sched.rounds[0].cycles -= 1
    with pytest.raises(ValueError, match="barrier 0: .* cycles do not cover a group's .* runs of P"):
        cs.check_schedule(sched, [counts])
    # ... and for the entries (balanced in entries, any P Q of them a clock)
    sched = cs.compile_matrix(counts, cs.Grid(2, 3, 2, 2), "both", "z3", units="entries")
    sched.rounds[0].cycles -= 1
    with pytest.raises(ValueError, match="round 0: .* cycles do not cover a load"):
        cs.check_schedule(sched, [counts])


def test_a_broken_tile_row_schedule_is_refused_by_name():
    rng = np.random.default_rng(7)
    counts = random_counts(rng, gates=1, block_rows=4, block_cols=6)
    grid = cs.Grid(2, 3, 2, 2)

    def sched(units="runs"):
        s = cs.compile_matrix(counts, grid, "both", "flow", "tile_row", units)
        cs.check_schedule(s, [counts])
        return s

    for units, message in (("runs", "barrier 1: .* cycles do not cover a group's"),
                           ("entries", "tile row at round 2: .* cycles do not cover a load")):  # fmt: skip
        s = sched(units)
        t = s.tile_rows[1]
        s.tile_rows[1] = dataclasses.replace(t, cycles=t.cycles - 1)
        with pytest.raises(ValueError, match=message):
            cs.check_schedule(s, [counts])
    # a round with cycles of its own (a round-by-round program builder would take it as a barrier)
    s = sched()
    s.rounds[3].cycles = 5
    with pytest.raises(ValueError, match="tile row at round 2: a round of a tile-row schedule has cycles"):
        cs.check_schedule(s, [counts])
    # tile rows that skip a round, or mix two tile rows
    s = sched()
    s.tile_rows[1] = dataclasses.replace(s.tile_rows[1], count=1)
    with pytest.raises(ValueError, match="do not cover its rounds in order"):
        cs.check_schedule(s, [counts])
    s = sched()
    s.tile_rows = [cs.TileRow(0, 1, 99), cs.TileRow(1, 2, 99), cs.TileRow(3, 1, 99)]
    with pytest.raises(ValueError, match=r"tile row at round 1: its rounds come from tile rows \[0, 1\]"):
        cs.check_schedule(s, [counts])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="grid Q must be an integer >= 1"):
        cs.Grid(2, 2, 2, 0)
    with pytest.raises(ValueError, match="sharing mode must be one of none, horizontal, vertical, both"):
        cs.compile_matrix(np.zeros((1, 1, 1, 2), dtype=int), cs.Grid(1, 1, 1, 1), "diagonal")
    with pytest.raises(ValueError, match="balancing method must be one of flow, z3, greedy"):
        cs.compile_matrix(np.zeros((1, 1, 1, 2), dtype=int), cs.Grid(1, 1, 1, 1), "both", "lp")
    with pytest.raises(ValueError, match="balancing units must be one of runs, entries"):
        cs.compile_matrix(np.zeros((1, 1, 1, 2), dtype=int), cs.Grid(1, 1, 1, 1), units="pes")
    with pytest.raises(ValueError, match="balancing scope must be one of round, tile_row"):
        cs.compile_matrix(np.zeros((1, 1, 1, 2), dtype=int), cs.Grid(1, 1, 1, 1), "both", "flow", "matrix")
    with pytest.raises(ValueError, match=r"kernel counts must be \(G, BR, BC, 2\)"):
        cs.block_grid(np.zeros((2, 2)))


def _tile_row_builder():
    """bench/csb_tile_row_rtl.py (the tile-row program builder), loaded from its file."""
    path = Path(__file__).resolve().parents[1] / "bench" / "csb_tile_row_rtl.py"
    spec = importlib.util.spec_from_file_location("csb_tile_row_rtl", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mode", ["none", "both"])
def test_a_tile_row_schedule_runs_on_the_array_model(mode):
    """Built per tile row (no round barrier), the program runs on the array model (ernn.export.csb_program.run,
    clock for clock the RTL) bit-exact with the golden matvec, its MAC clocks = the schedule's cycles."""
    import torch

    from ernn.export import csb_program as cp
    from ernn.golden import csb as gcsb
    from ernn.shape import ModelShape
    from ernn.shape.structures import CSB
    from ernn.train import csb as tcsb

    gates, rows, cols, block, grid = 4, 20, 36, 8, cs.Grid(2, 2, 2, 2)  # 5 block columns: ragged tiles
    params = CSB(block, 0.6)
    rng = np.random.default_rng(17)
    dense = tcsb.project(torch.from_numpy(rng.normal(size=(gates, rows, cols)) * 0.5), params).numpy()
    cfg = gcsb.numerics(
        ModelShape(cell="gru", input_size=cols, hidden_size=rows, structure=params),
        float(np.abs(dense).max()),
        1.0,
        0.0,
    )
    m = gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum)
    sched = cs.compile_matrix(m.counts, grid, mode, "flow", "tile_row")
    per_round = cs.compile_matrix(m.counts, grid, mode, "flow", "round")
    builder = _tile_row_builder()
    with pytest.raises(ValueError, match="takes a tile-row schedule"):
        builder.build_tile_rows(m, per_round)
    prog = builder.build_tile_rows(m, sched)
    x = rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=(3, cols))
    out = cp.run(prog, x, cfg)
    acc = gcsb.accumulate(m, x, cfg)
    np.testing.assert_array_equal(out.y, gcsb.finish(acc, rows, cfg).reshape(len(x), -1))
    assert out.busy == int(m.values.size) == sched.macs
    assert out.mac_cycles == prog.steps == sched.cycles < per_round.cycles
