"""The CSB array's compiler back end and array model (ernn/export/csb_program.py): bit-exact with the golden
matvec in every sharing mode, the array following the schedule with one input neuron per PE column (busy
PE-cycles = kernel entries, MAC cycles = shared_input_cycles of the schedule: the schedule's own cycles when it
is balanced in runs, the default; never fewer when balanced in entries, equal with P = 1), balancing in runs
never costing the array clocks against balancing in entries, the images read back unchanged, a PE column with two input indices refused, and a schedule
that is not the matrix's refused."""

import dataclasses

import numpy as np
import pytest
import torch

from ernn.export import csb_program as cp
from ernn.export import csb_schedule as cs
from ernn.golden import csb as gcsb
from ernn.shape import ModelShape
from ernn.shape.structures import CSB
from ernn.train import csb as tcsb


def random_matrix(gates, rows, cols, block, rate, seed):
    """A random CSB matrix (Gaussian weights projected by the training stage) quantized by the golden model."""
    params = CSB(block, rate)
    rng = np.random.default_rng(seed)
    dense = tcsb.project(torch.from_numpy(rng.normal(size=(gates, rows, cols)) * 0.5), params).numpy()
    shape = ModelShape(cell="gru", input_size=cols, hidden_size=rows, structure=params)
    cfg = gcsb.numerics(shape, float(np.abs(dense).max()), 1.0, 0.0)
    return gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum), cfg


# (gates, rows, cols, block, rate, grid): a ragged last block row and column, empty blocks at a high rate,
# a grid with more group rows than block rows in the last tile row
CASES = [
    (4, 20, 12, 8, 0.6, cs.Grid(2, 2, 2, 2)),
    (1, 32, 32, 4, 0.85, cs.Grid(3, 2, 1, 3)),
    (2, 16, 28, 8, 0.3, cs.Grid(3, 3, 2, 1)),
]


@pytest.mark.parametrize("mode", cs.MODES)
@pytest.mark.parametrize(("gates", "rows", "cols", "block", "rate", "grid"), CASES)
def test_array_model_is_bit_exact_and_follows_the_schedule(gates, rows, cols, block, rate, grid, mode):
    seed = hash((gates, rows, cols, block, mode)) % 2**31
    m, cfg = random_matrix(gates, rows, cols, block, rate, seed)
    sched = cs.compile_matrix(m.counts, grid, mode)
    prog = cp.build(m, sched)
    rng = np.random.default_rng(seed)
    x = rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=(5, cols))
    x[0], x[1] = cfg.data.max_int, cfg.data.min_int
    out = cp.run(prog, x, cfg)
    acc = gcsb.accumulate(m, x, cfg)
    np.testing.assert_array_equal(out.acc, acc.re[..., 0])
    np.testing.assert_array_equal(out.y, gcsb.finish(acc, rows, cfg).reshape(len(x), -1))
    assert out.busy == prog.macs == int(m.values.size)
    # balanced in runs (the default): the array takes exactly the schedule's cycles
    assert out.mac_cycles == prog.steps == cp.shared_input_cycles(sched) == sched.cycles
    assert out.utilization == prog.utilization == pytest.approx(sched.utilization)
    assert_columns_share_inputs(prog)
    # the output beats overlap the later tile rows (output_clocks); never before the rows are final
    sent = cp.output_clocks(prog)
    assert (
        out.cycles
        == cols + int(sent[-1]) + 1
        <= cols + cp.timeline(prog).clocks + cp.REDUCTION_PIPE + gates * rows
    )
    assert sent[-1] >= cp.timeline(prog).clocks and (np.diff(sent) >= 1).all()
    vertical = any(p.kind == "vertical" for r in sched.rounds for p in r.parts)
    assert (prog.bank[prog.enable] != 0).any() == vertical  # partial sums of another block row: banks 1, 2


def assert_columns_share_inputs(prog: cp.Program) -> None:
    """Every PE column of every group reads one input index per step (its enabled PEs agree)."""
    g = prog.grid
    x = prog.x_index.reshape(-1, prog.steps, g.p, g.q)
    en = prog.enable.reshape(-1, prog.steps, g.p, g.q)
    same = np.where(en, x == x[:, :, :1, :], True)  # disabled PEs carry the column's index too
    assert same.all() and (x == x[:, :, :1, :]).all()


def test_stream_width_shortens_only_the_beats():
    """ELEMS elements per beat: ceil(COLS / ELEMS) input beats and ceil(G ROWS / ELEMS) output beats, which
    go out as their tile rows are reduced (one output beat: after the last reduction), the MAC and
    reduction clocks unchanged; outputs unchanged; a width below 1 refused."""
    m, cfg = random_matrix(4, 20, 12, 8, 0.6, 5)
    prog = cp.build(m, cs.compile_matrix(m.counts, cs.Grid(2, 2, 2, 2), "both"))
    x = np.random.default_rng(1).integers(cfg.data.min_int, cfg.data.max_int + 1, size=(2, 12))
    inner = cp.timeline(prog).clocks
    for elems, beats_in, beats_out in ((1, 12, 80), (5, 3, 16), (12, 1, 7), (80, 1, 1), (200, 1, 1)):
        sent = cp.output_clocks(prog, elems)
        assert sent.size == beats_out and sent[-1] >= inner
        assert (
            cp.array_cycles(prog, elems)
            == beats_in + int(sent[-1]) + 1
            <= beats_in + inner + cp.REDUCTION_PIPE + beats_out
        )
        out = cp.run(prog, x, cfg, elems)
        assert out.cycles == cp.array_cycles(prog, elems)
        np.testing.assert_array_equal(out.y, cp.run(prog, x, cfg).y)
    # one output beat: the whole vector, after the last reduction and the reduction pipeline
    assert cp.array_cycles(prog, 80) == 1 + inner + cp.REDUCTION_PIPE + 1
    with pytest.raises(ValueError, match="stream width must be >= 1"):
        cp.array_cycles(prog, 0)


@pytest.mark.parametrize("mode", ["both", "none"])
def test_tile_row_schedule_fills_slots_per_tile_row(mode):
    """A tile-row schedule (no barrier between the rounds of a tile row) becomes a program whose lengths are
    the tile rows' cycles: bit-exact with the golden matvec, busy slots = kernel entries, MAC clocks = the
    schedule's, never more than the per-round schedule's."""
    m, cfg = random_matrix(4, 20, 12, 8, 0.6, 11)
    grid = cs.Grid(2, 2, 2, 2)
    sched = cs.compile_matrix(m.counts, grid, mode, "flow", "tile_row")
    prog = cp.build(m, sched)
    assert len(prog.lens) == len(sched.tile_rows)
    assert all(n >= t.cycles for n, t in zip(prog.lens.tolist(), sched.tile_rows, strict=True))
    x = np.random.default_rng(3).integers(cfg.data.min_int, cfg.data.max_int + 1, size=(3, m.cols))
    out = cp.run(prog, x, cfg)
    np.testing.assert_array_equal(out.y, gcsb.finish(gcsb.accumulate(m, x, cfg), m.rows, cfg).reshape(3, -1))
    assert (out.busy, out.mac_cycles) == (int(m.values.size), cp.shared_input_cycles(sched))
    assert_columns_share_inputs(prog)
    assert prog.steps <= cp.build(m, cs.compile_matrix(m.counts, grid, mode, "flow")).steps


def test_timeline_overlaps_reductions_with_the_next_tile_rows_macs():
    """The MAC engine fills one half while the reduction engine empties the other: hand-worked clocks for
    tile rows of 5, 0, 20 and 3 steps in 8-blocks, at 1 and 2 reduced rows per clock; a width that does not
    divide the block refused."""
    m, _ = random_matrix(4, 20, 12, 8, 0.6, 5)
    prog = dataclasses.replace(
        cp.build(m, cs.compile_matrix(m.counts, cs.Grid(2, 2, 2, 2), "both")),
        lens=np.array([5, 0, 20, 3, 2, 1]),
    )
    # tile row a: MAC steps read in [start, end), reduction [start, end); an empty tile row takes one MAC
    # clock; a reduction starts MAC_PIPE clocks after its tile row's last MAC step is read
    tl = cp.timeline(prog)
    assert cp.MAC_PIPE == 1
    assert tl.mac_start.tolist() == [0, 5, 14, 34, 43, 51] and tl.mac_end.tolist() == [5, 6, 34, 37, 45, 52]
    assert tl.red_start.tolist() == [6, 14, 35, 43, 51, 59] and tl.red_end.tolist() == [
        14,
        22,
        43,
        51,
        59,
        67,
    ]
    # 4 gates of 20 rows in 8-blocks (8 + 8 + 4), 2 block rows per tile row: after tile row a the first
    # 16, 28, 40, 56, 68, 80 rows are final; beats of 4 rows go out once theirs are, one per clock
    assert [cp.rows_after(prog, a) for a in range(6)] == [16, 28, 40, 56, 68, 80]
    assert cp.output_clocks(prog, 4).tolist() == [
        16, 17, 18, 19, 24, 25, 26, 45, 46, 47, 53, 54, 55, 56, 61, 62, 63, 69, 70, 71
    ]  # fmt: skip
    # was 3 + 65 + 20 with the beats after the last reduction; each beat one clock after its tile row's
    # reduction ends plus the reduction pipeline's two clocks (REDUCTION_PIPE)
    assert cp.REDUCTION_PIPE == 2 and cp.array_cycles(prog, 4) == 3 + 72
    tl = cp.timeline(prog, 2)  # 4 reduction clocks: the MACs set the pace
    assert tl.mac_start.tolist()[:4] == [0, 5, 10, 30] and tl.red_end.tolist() == [10, 14, 35, 39, 43, 47]
    with pytest.raises(ValueError, match=r"rows per clock \(3\) must divide the block size 8"):
        cp.timeline(prog, 3)
    short = dataclasses.replace(prog, lens=np.array([5, 0, 20, 3]))  # lengths of 4 tile rows, 6 needed
    with pytest.raises(ValueError, match=r"4 tile rows of 2 block rows do not cover its 80 output rows"):
        cp.array_cycles(short, 4)


def test_images_read_back(tmp_path):
    m, cfg = random_matrix(4, 20, 12, 8, 0.6, 5)
    grid = cs.Grid(2, 2, 2, 2)
    prog = cp.build(m, cs.compile_matrix(m.counts, grid, "both"))
    paths = cp.write(prog, tmp_path, "a", cfg.weight_spectrum.word)
    assert set(paths) == set(cp.IMAGES)
    back = cp.read(tmp_path, "a", grid, (4, 20, 12, 8), cfg.weight_spectrum.word)
    for f in dataclasses.fields(cp.Program):
        a, b = getattr(prog, f.name), getattr(back, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name
    # one word per step, every group's fields in it (the groups run in lockstep: one read port)
    en = [int(w, 16) for w in (tmp_path / "a_en.mem").read_text().split()]
    assert len(en) == prog.steps
    for t in (0, prog.steps - 1):
        for g in range(len(grid.groups())):
            bits = [(en[t] >> (g * 4 + n)) & 1 for n in range(4)]
            assert bits == prog.enable[g, t].astype(int).tolist(), (t, g)
    # one input index per PE column: 4 groups x Q fields of X_W = 4 bits per word
    assert {len(w) for w in (tmp_path / "a_x.mem").read_text().split()} == {8}
    assert f"localparam integer ERNN_CSB_ARRAY_STEPS = {prog.steps};" in prog.header_lines()
    assert prog.sizes()["MACS"] == int(m.values.size)


def test_joint_images_hold_each_program_in_order(tmp_path):
    """write_joint (one array, several programs: the CSB unit's): program j's words after those of the
    programs before it, each equal to the program written alone once its indices and lengths are widened to
    the widest program's X_W and LEN_W; programs of another grid, gate count or block refused."""
    grid = cs.Grid(2, 2, 2, 2)
    specs = [(2, 20, 12, 8, 0.6, 1), (2, 16, 40, 8, 0.3, 2)]  # X_W 4 and 6
    progs, ww = [], None
    for g, r, c, b, rate, seed in specs:
        m, cfg = random_matrix(g, r, c, b, rate, seed)
        ww = cfg.weight_spectrum.word
        progs.append(cp.build(m, cs.compile_matrix(m.counts, grid, "both")))
    x_w, len_w = cp.joint_widths(progs)
    assert x_w == 6 and len_w == max(p.sizes()["LEN_W"] for p in progs)
    joint = cp.write_joint(progs, tmp_path / "joint", "j", ww)
    words = {n: (tmp_path / "joint" / f"j_{n}.mem").read_text().split() for n in cp.IMAGES}
    offset = {n: 0 for n in cp.IMAGES}
    for j, prog in enumerate(progs):
        alone = cp.write(prog, tmp_path / f"p{j}", "a", ww)
        for name in cp.IMAGES:
            own = [int(w, 16) for w in alone[name].read_text().split()]
            got = [int(w, 16) for w in words[name][offset[name] : offset[name] + len(own)]]
            if name == "x":  # 4 groups x Q indices per word: the same indices, each in the wider field
                w0, n = prog.sizes()["X_W"], 4 * grid.q
                own = [[(v >> (i * w0)) & ((1 << w0) - 1) for i in range(n)] for v in own]
                got = [[(v >> (i * x_w)) & ((1 << x_w) - 1) for i in range(n)] for v in got]
            assert got == own, (j, name)
            offset[name] += len(own)
    assert offset == {n: len(words[n]) for n in cp.IMAGES}
    # every x word in the joint width: 4 groups x Q fields of 6 bits = 12 hex digits
    assert {len(w) for w in words["x"]} == {12}
    assert set(joint) == set(cp.IMAGES)
    assert cp.joint_table(progs) == [(p.rows, p.cols, p.steps, p.tile_rows, p.macs) for p in progs]
    m3, _ = random_matrix(2, 20, 12, 8, 0.6, 3)
    other = cp.build(m3, cs.compile_matrix(m3.counts, cs.Grid(1, 2, 2, 2), "both"))
    with pytest.raises(ValueError, match=r"program 1: grid .*\(one array runs them all\)"):
        cp.write_joint([progs[0], other], tmp_path / "bad", "j", ww)
    with pytest.raises(ValueError, match="no programs"):
        cp.write_joint([], tmp_path / "none", "j", ww)


def test_sharing_raises_the_measured_utilization():
    m, cfg = random_matrix(4, 64, 64, 16, 1 - 1 / 13, 2)
    grid = cs.Grid(2, 2, 2, 2)
    x = np.random.default_rng(0).integers(-100, 100, size=(1, 64))
    util = {mode: cp.run(cp.build(m, cs.compile_matrix(m.counts, grid, mode)), x, cfg).utilization
            for mode in ("none", "both")}  # fmt: skip
    assert util["both"] > util["none"]


def test_refuses_a_schedule_of_another_matrix():
    m, _ = random_matrix(2, 16, 16, 8, 0.5, 1)
    other, _ = random_matrix(2, 16, 16, 8, 0.5, 2)
    assume = (m.counts != other.counts).any()
    assert assume
    with pytest.raises(ValueError, match="round 0: blocks or kernel sizes differ"):
        cp.build(m, cs.compile_matrix(other.counts, cs.Grid(2, 2, 2, 2), "both"))


def test_bank_of():
    assert cp.bank_of((1, 0), (1, 1)) == 0
    assert cp.bank_of((0, 1), (1, 1)) == 1
    assert cp.bank_of((2, 1), (1, 1)) == 2
    with pytest.raises(ValueError, match="cannot hold partial sums"):
        cp.bank_of((3, 1), (1, 1))


def test_a_pe_column_reading_two_inputs_is_refused(tmp_path):
    m, cfg = random_matrix(4, 20, 12, 8, 0.6, 5)
    prog = cp.build(m, cs.compile_matrix(m.counts, cs.Grid(2, 2, 2, 2), "both"))
    # a step of group 0 whose PE column 0 has both PEs enabled: give PE row 1 another input index
    s = int(np.flatnonzero(prog.enable[0, :, 0] & prog.enable[0, :, 2])[0])
    x_index = prog.x_index.copy()
    x_index[0, s, 2] = (x_index[0, s, 0] + 1) % m.cols
    bad = dataclasses.replace(prog, x_index=x_index)
    with pytest.raises(
        ValueError, match=rf"group \(0, 0\), step {s}, PE column 0: .* shares one input neuron"
    ):
        cp.write(bad, tmp_path, "a", cfg.weight_spectrum.word)


def test_shared_input_cycles_bounds():
    """Sharing one input neuron per PE column can only lengthen the rounds; with P = 1 it changes nothing."""
    m, _ = random_matrix(4, 20, 12, 8, 0.6, 5)
    for grid in (cs.Grid(2, 2, 2, 2), cs.Grid(2, 2, 1, 4)):
        sched = cs.compile_matrix(m.counts, grid, "both", units="entries")
        shared = cp.shared_input_cycles(sched)
        assert shared == cp.build(m, sched).steps >= sched.cycles
        if grid.p == 1:
            assert shared == sched.cycles
    one = cs.Grid(1, 1, 3, 1)  # one group, no sharing: per block, columns in runs of 3
    sched = cs.compile_matrix(m.counts, one, "none")
    assert cp.shared_input_cycles(sched) == int((-(-m.counts[..., 0] // 3) * m.counts[..., 1]).sum())


@pytest.mark.parametrize("scope", cs.SCOPES)
def test_balancing_in_runs_never_costs_the_array_clocks(scope):
    """Balanced in runs (each kernel column's entries P at a time, Q runs a clock, whole runs moved), the
    array's clocks are the schedule's and, barrier by barrier, no more than a schedule balanced in entries
    takes on the array; on a 13x matrix (kernels of a few entries per column) fewer in all."""
    m, _ = random_matrix(4, 64, 96, 16, 1 - 1 / 13, 4)
    grid = cs.Grid(2, 3, 4, 2)
    for mode in cs.MODES:
        runs = cs.compile_matrix(m.counts, grid, mode, "flow", scope)
        entries = cs.compile_matrix(m.counts, grid, mode, "flow", scope, units="entries")
        a, b = cp.shared_barrier_cycles(runs), cp.shared_barrier_cycles(entries)
        assert a == [c for _, c in runs.barriers()] and cp.build(m, runs).steps == sum(a)
        assert all(x <= y for x, y in zip(a, b, strict=True)), mode
        if mode == "both":
            assert sum(a) < sum(b)


def test_inputs_come_from_the_own_or_a_horizontal_neighbours_column_block():
    """A group reads x only in its own column block of the round or its left / right neighbour's (the extra
    input-buffer port); vertical helpers share the owner's column block, so they read their own."""
    m, _ = random_matrix(2, 32, 40, 8, 0.7, 9)
    grid = cs.Grid(2, 2, 2, 2)
    sched = cs.compile_matrix(m.counts, grid, "both")
    prog = cp.build(m, sched)
    start, seen_neighbour = 0, False
    for r, n in zip(sched.rounds, cp.shared_barrier_cycles(sched), strict=True):
        b = r.tile[1]
        for gi, (k, col) in enumerate(grid.groups()):
            idx = prog.x_index[gi, start : start + n][prog.enable[gi, start : start + n]]
            cols = set((idx // m.block).tolist())
            own = b * grid.l + col
            assert cols <= {own - 1, own, own + 1}, (r.tile, (k, col), cols)
            seen_neighbour |= bool(cols - {own})
        start += n
    assert seen_neighbour  # the schedule did share horizontally
