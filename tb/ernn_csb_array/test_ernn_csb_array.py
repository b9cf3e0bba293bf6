"""Testbench of rtl/ernn_csb_array.v: y = W x of a CSB matrix on K x L groups of P x Q PEs running the
balanced schedule (``ernn.export.csb_schedule``) compiled into program images (``ernn.export.csb_program``),
bit for bit with the golden CSB matvec (``ernn.golden.csb.accumulate`` + ``finish``), with random input gaps
and output back-pressure, a reset in the middle of a vector, at one and at several elements per stream beat
(``ELEMS``: the lanes past the vector in the last input beat carry random data the array must ignore, those
past it in the last output beat must be zero), on Icarus and Verilator; the utilization
measured by the array's counters (busy PE-slots / (PEs x MAC clocks)) equal to the program's (the schedule
with one input neuron per PE column: ``csb_program.shared_input_cycles``); and the
program's elaboration checks naming the group, step and block. The both-direction case runs a merged
program (``ernn.export.csb_merge``, per tile row, as ``ernn export`` builds them): PE columns whose runs hold
entries of two kernels (one input neuron, targets in two banks); the others per-kernel-column runs.

The matrices are random weights projected onto CSB by the training stage (``ernn.train.csb``) and quantized
by the golden model; the inputs random Q(data) vectors, full scale included. Expected outputs come from the
golden model and reach the cocotb side in the run's configuration. A mismatch names the first diverging
vector and row, and the seed.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest
from ernn_tbutil import first_divergence, pause_generator, reset_dut, seed_for, sim_time_ns

from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_csb_array"

try:
    import cocotb

    @cocotb.test(timeout_time=200, timeout_unit="ms")
    async def csb_array_matches_golden(dut) -> None:
        from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
        from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

        conf = rtl_runner.tb_config()
        seed, dw, ow = int(conf["seed"]), int(conf["data_w"]), int(conf["out_w"])
        elems = int(conf["elems"])
        xs, ys = conf["x"], [np.asarray(y, dtype=np.int64) for y in conf["y"]]
        # several programs (JOBS > 1): vector i runs program progs[i], one vector at a time (`prog` holds
        # from a vector's first input beat to its last); one program: vectors back to back
        progs = conf.get("progs")
        rng = np.random.default_rng(seed)
        bus = {"byte_lanes": elems}  # one lane per element: DATA_W / OUT_W bits each
        source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, **bus)
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, **bus)

        def beats(x: list[int]) -> list[int]:
            # the vector, its last beat filled with random words (the array must ignore them)
            fill = -len(x) % elems
            pad = rng.integers(-(1 << (dw - 1)), 1 << (dw - 1), size=fill).tolist()
            return rtl_runner.to_unsigned(list(x) + pad, dw)

        source.set_pause_generator(pause_generator(rng, float(conf["p_gap"])))
        sink.set_pause_generator(pause_generator(rng, float(conf["p_stall"])))
        await reset_dut(dut)
        if conf.get("reset_in_overlap") is not None:
            # a reset while the MAC engine fills one half and the reduction engine empties the other: nothing
            # of that vector may come out, the counters restart, the halves start empty, and the stream
            # after the reset starts clean (every vector right, none missing, none extra)
            await source.send(AxiStreamFrame(beats(conf["x_cut"])))
            seen = 0
            for _ in range(int(conf["reset_within"])):
                await RisingEdge(dut.clk)
                await ReadOnly()
                if int(dut.mac_go.value) and int(dut.red_go.value):
                    seen += 1
                    if seen > int(conf["reset_in_overlap"]):
                        break
            assert seen > int(conf["reset_in_overlap"]), (
                f"ernn_csb_array: only {seen} clocks with both engines busy, the model has more"
            )
            assert sink.empty(), "ernn_csb_array: a vector came out before the reset, earlier than the model"
            await FallingEdge(dut.clk)
            dut.rst.value = 1  # takes effect at the next edge, with both engines still busy
            for _ in range(2):
                await RisingEdge(dut.clk)
            await FallingEdge(dut.clk)
            dut.rst.value = 0
            source.clear()
            await RisingEdge(dut.clk)
        got, done_ns = [], []

        async def receive(i: int) -> None:
            frame = await sink.recv()
            done_ns.append(sim_time_ns())
            outs = len(ys[i])
            words = [rtl_runner.from_unsigned(int(w), ow) for w in frame.tdata]
            assert len(words) == -(-outs // elems) * elems, (
                f"ernn_csb_array: vector {i}: {len(words)} output lanes for {outs} outputs"
            )
            assert not any(words[outs:]), f"ernn_csb_array: lanes past the vector not zero: {words[outs:]}"
            got.append(words[:outs])

        if progs is None:
            for x in xs:
                await source.send(AxiStreamFrame(beats(x)))
            for i in range(len(xs)):
                await receive(i)
        else:
            for i, (x, j) in enumerate(zip(xs, progs, strict=True)):
                dut.prog.value = int(j)
                await source.send(AxiStreamFrame(beats(x)))
                await source.wait()  # its last input beat taken: the array keeps the program itself
                dut.prog.value = (int(j) + 1) % (max(progs) + 1)
                await receive(i)
        if conf.get("period") is not None:  # no gaps, no stalls: one vector every `period` clocks
            spacing = {(b - a) // 10 for a, b in itertools.pairwise(done_ns)}  # 10 ns clock
            assert spacing == {int(conf["period"])}, (
                f"vector spacing {spacing} clocks, the model {conf['period']}"
            )
        for _ in range(4):
            await RisingEdge(dut.clk)
        if progs is None:
            msg = first_divergence(np.array(got), np.array(ys), ("vector", "row"), seed, "ernn_csb_array: ")
            assert msg is None, msg
        else:
            for i, (g, y) in enumerate(zip(got, ys, strict=True)):
                msg = first_divergence(
                    np.array([g]), y[None], ("vector", "row"), seed, f"ernn_csb_array: program {progs[i]}, "
                )
                assert msg is None, f"vector {i}: {msg}"
        assert sink.empty(), "ernn_csb_array: more vectors came out than went in"
        # the utilization the array measures: its counters against the program's MAC steps and entries
        mac, busy = int(dut.stat_mac_cycles.value), int(dut.stat_busy.value)
        n = len(xs)
        dut._log.info(
            "measured: %d MAC clocks, %d busy PE-slots over %d vectors: utilization %.4f (program %.4f)",
            mac,
            busy,
            n,
            busy / (int(conf["pes"]) * mac) if mac else 0.0,
            float(conf.get("utilization", float("nan"))),  # one program's (none with several)
        )
        if conf.get("report"):  # bench/bench_csb_array.py reads the counters back
            Path(conf["report"]).write_text(
                json.dumps({"vectors": n, "mac_cycles": mac, "busy": busy, "done_ns": done_ns})
            )
        if progs is None:
            assert (mac, busy) == (n * int(conf["steps"]), n * int(conf["macs"])), (
                f"counters {mac} MAC clocks / {busy} busy slots, the program {n} x "
                f"({conf['steps']}, {conf['macs']})"
            )
            assert busy * 1.0 / (int(conf["pes"]) * mac) == float(conf["utilization"])
        else:  # each vector's program's MAC steps and kernel entries
            want = (sum(conf["steps"][j] for j in progs), sum(conf["macs"][j] for j in progs))
            assert (mac, busy) == want, f"counters {mac} MAC clocks / {busy} busy slots, the programs {want}"

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


def _matrix(gates: int, rows: int, cols: int, block: int, rate: float, seed: int):
    """A random CSB matrix quantized by the golden model, and its numerics."""
    import torch

    from ernn.golden import csb as gcsb
    from ernn.shape import ModelShape
    from ernn.shape.structures import CSB
    from ernn.train import csb as tcsb

    params = CSB(block, rate)
    rng = np.random.default_rng(seed)
    dense = tcsb.project(torch.from_numpy(rng.normal(size=(gates, rows, cols)) * 0.5), params).numpy()
    shape = ModelShape(cell="gru", input_size=cols, hidden_size=rows, structure=params)
    cfg = gcsb.numerics(shape, float(np.abs(dense).max()), 1.0, 0.0)
    return gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum), cfg


def array_params(
    prog, cfg, folder: Path, elems: int = 1, red_rows: int = 1, sum_w: int | None = None
) -> dict[str, object]:
    """Verilog parameters of ernn_csb_array for a program (its images written into ``folder``) at a stream
    width of ``elems`` elements per beat, reducing ``red_rows`` rows per clock, summing in ``sum_w`` bits
    (None: the accumulator's)."""
    from ernn.export import csb_program as cp

    paths = cp.write(prog, folder, "p", cfg.weight_spectrum.word)
    sums = {} if sum_w is None else {"SUM_W": sum_w}
    return prog.sizes() | format_params(cfg, paths, elems, red_rows) | sums


def format_params(cfg, paths, elems: int, red_rows: int) -> dict[str, object]:
    """The stream width, reduction width, number formats and image files of ernn_csb_array."""
    return {
        "ELEMS": elems,
        "RED_ROWS": red_rows,
        "DATA_W": cfg.data.word,
        "W_W": cfg.weight_spectrum.word,
        "ACC_W": cfg.accumulator.word,
        "OUT_W": cfg.ifft_out.word,
        "SHIFT": cfg.accumulator.frac - cfg.ifft_out.frac,
        "EN_FILE": paths["en"],
        "VAL_FILE": paths["val"],
        "X_FILE": paths["x"],
        "TGT_FILE": paths["tgt"],
        "LENS_FILE": paths["lens"],
    }


def setup(
    shape,
    grid,
    mode,
    seed,
    vectors,
    folder: Path,
    method: str = "z3",
    elems: int = 1,
    red_rows: int = 1,
    units: str = "runs",
):
    """Matrix, schedule, program, inputs, golden outputs and the run's configuration, for an array of
    ``elems`` elements per stream beat reducing ``red_rows`` rows per clock; ``units`` "runs": the per-round
    schedule of ``method``, each kernel column in runs of its own; "merged": the per-tile-row merged
    schedule (max flow), whose program must hold runs of two kernels."""
    from ernn.export import csb_merge as cm
    from ernn.export import csb_program as cp
    from ernn.export import csb_schedule as cs
    from ernn.golden import csb as gcsb

    gates, rows, cols, block, rate = shape
    m, cfg = _matrix(gates, rows, cols, block, rate, seed)
    if units == "merged":
        # the first matrix from seed, seed + 1, ... on which merging saves a run (on some draws no run is
        # saved, and then the compiler merges none: the program is the per-kernel-column one)
        for draw in range(seed, seed + 20):
            m, cfg = _matrix(gates, rows, cols, block, rate, draw)
            sched = cm.compile_matrix(m.counts, cm.kept_columns(m), cs.Grid(*grid), mode, "flow", "tile_row")
            prog = cp.build(m, sched)
            if cp.mixed_runs(prog):
                break
        assert cp.mixed_runs(prog) > 0, (
            f"seeds {seed}..{draw}: no merged program shares a run between kernels"
        )
    else:
        sched = cs.compile_matrix(m.counts, cs.Grid(*grid), mode, method)
        prog = cp.build(m, sched)
    rng = np.random.default_rng(seed)
    x = rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=(vectors, cols))
    x[0] = cfg.data.max_int  # full scale, both signs
    if vectors > 1:
        x[1] = cfg.data.min_int
    if vectors > 2:
        # the input that drives the largest row (sum of |w|) to about -B, the edge of SUM_W (sum_word)
        w = m.dense().reshape(-1, cols)
        x[2] = np.where(w[np.abs(w).sum(axis=1).argmax()] > 0, cfg.data.min_int, cfg.data.max_int)
    y = gcsb.finish(gcsb.accumulate(m, x, cfg), rows, cfg).reshape(len(x), gates * rows)
    conf = {
        "seed": seed,
        "elems": elems,
        "data_w": cfg.data.word,
        "out_w": cfg.ifft_out.word,
        "x": x.tolist(),
        "y": y.tolist(),
        "p_gap": 0.3,
        "p_stall": 0.3,
        "pes": sched.grid.pes,
        "steps": prog.steps,
        "macs": prog.macs,
        "utilization": prog.utilization,
    }
    # one input neuron per PE column: the program's clocks are the schedule's, each PE column's kernel
    # entries in runs of P (csb_program.shared_input_cycles), never fewer
    assert prog.steps == cp.shared_input_cycles(sched) >= sched.cycles
    # the partial sums in the narrowest word that holds every exact row sum (golden sum_word), as export
    # sizes the unit's array
    sum_w = gcsb.sum_word(m, cfg.data.word, cfg.weight_spectrum.word)
    assert cfg.data.word + cfg.weight_spectrum.word < sum_w <= cfg.accumulator.word
    return m, cfg, sched, prog, conf, array_params(prog, cfg, folder, elems, red_rows, sum_w)


# (gates, rows, cols, block, rate), (K, L, P, Q), mode, rows reduced per clock, program: an LSTM-like stack
# with a ragged last block row and column, both directions, merged runs per tile row; a single gate with
# empty blocks, horizontal only, on 1 x 3 groups, two rows reduced per clock; two gates, vertical only, with
# more group rows than block rows in the last tile row, four rows per clock; the unshared schedule
CASES = [
    ((4, 20, 12, 8, 0.6), (2, 2, 2, 2), "both", 1, "merged"),
    ((1, 32, 32, 4, 0.85), (3, 2, 1, 3), "horizontal", 2, "runs"),
    ((2, 16, 28, 8, 0.3), (3, 3, 2, 1), "vertical", 4, "runs"),
    ((4, 20, 12, 8, 0.6), (2, 2, 2, 2), "none", 1, "runs"),
    # for the banked y buffer at ELEMS a multiple of M (WIDE): one gate of ragged rows (34 = 8 blocks of 4
    # and one of 2), and three stacked gates whose ROWS is a multiple of M
    ((1, 34, 24, 4, 0.6), (2, 2, 2, 1), "both", 2, "merged"),
    ((3, 16, 20, 8, 0.5), (2, 1, 2, 2), "vertical", 1, "runs"),
]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("shape", "grid", "mode", "red_rows", "units"), CASES)
def test_ernn_csb_array(sim, shape, grid, mode, red_rows, units, request, tmp_path) -> None:
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    *_, conf, params = setup(shape, grid, mode, seed, 5, tmp_path, red_rows=red_rows, units=units)
    rtl_runner.run(TOPLEVEL, "test_ernn_csb_array", params, sim=sim, config=conf)


# (case index into CASES, elements per beat): on the 20 x 12 stack, 12 inputs in 3 beats of 5 (the last with
# 3 lanes of fill) and 80 outputs in 16; one input beat of 16 (4 lanes of fill), 80 outputs in 5; on the
# 32 x 32 gate, 32 inputs and 32 outputs in 11 beats of 3 (one lane of fill in, one zero lane out)
# (case, ELEMS): the y buffer a register file (ELEMS not a multiple of M, or stacked gates of ragged ROWS)
# and banked (cases 4 and 5 at one and two block rows per beat: bank = group row, one LUT RAM per row offset)
WIDE = [(0, 5), (0, 16), (1, 3), (4, 4), (4, 8), (5, 8), (5, 16)]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("case", "elems"), WIDE)
def test_ernn_csb_array_wide_stream(sim, case, elems, request, tmp_path) -> None:
    """ELEMS elements per beat: bit-exact under gaps and back-pressure, the counters as at one per beat."""
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    shape, grid, mode, red_rows, units = CASES[case]
    *_, conf, params = setup(
        shape, grid, mode, seed, 5, tmp_path, elems=elems, red_rows=red_rows, units=units
    )
    rtl_runner.run(TOPLEVEL, "test_ernn_csb_array", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("elems", "red_rows"), [(1, 1), (4, 2), (7, 4)])
def test_ernn_csb_array_cycles(sim, elems, red_rows, request, tmp_path) -> None:
    """Vectors back to back without gaps and stalls leave every ernn.export.csb_program.array_cycles clocks
    (the MAC and reduction engines overlapped as csb_program.timeline says), at the stream width's beats
    (32 elements: 32, 8 and 5 beats, the last of 7 partial) and 1, 2 and 4 reduced rows per clock (4, 2 and
    1 reduction clocks per tile row of 4-blocks)."""
    from ernn.export import csb_program as cp

    seed = seed_for(request.node.nodeid)
    _, _, _, prog, conf, params = setup(
        (1, 32, 32, 4, 0.85), (3, 2, 1, 3), "both", 123, 4, tmp_path, elems=elems, red_rows=red_rows
    )
    tl = cp.timeline(prog, red_rows)
    # tile rows back to back; with one row per clock a reduction overlaps the next tile row's MACs
    assert prog.tile_rows > 1
    assert red_rows > 1 or (tl.red_start[:-1] < tl.mac_end[1:]).any()
    conf |= {"seed": seed, "p_gap": 0.0, "p_stall": 0.0, "period": cp.array_cycles(prog, elems, red_rows)}
    rtl_runner.run(TOPLEVEL, "test_ernn_csb_array", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("elems", "red_rows"), [(1, 1), (4, 2)])
def test_ernn_csb_array_reset_mid_vector(sim, elems, red_rows, request, tmp_path) -> None:
    """A reset in a clock where a tile row's reduction overlaps the next tile row's MACs (the seeded n-th
    such clock of a vector): that vector never comes out, the counters restart, both halves of the partial
    sums start empty, and the vectors after the reset are bit-exact, under gaps and back-pressure."""
    from ernn.export import csb_program as cp

    seed = seed_for(request.node.nodeid)
    m, cfg, _, prog, conf, params = setup(
        (4, 20, 12, 8, 0.6), (2, 2, 2, 2), "both", seed, 4, tmp_path, elems=elems, red_rows=red_rows
    )
    tl = cp.timeline(prog, red_rows)
    # clocks in which both engines run (the MAC engine on tile row a + 1, the reduction on a)
    both = sum(
        max(0, min(tl.red_end[a], tl.mac_end[a + 1]) - max(tl.red_start[a], tl.mac_start[a + 1]))
        for a in range(prog.tile_rows - 1)
    )
    rng = np.random.default_rng(seed + 1)
    nth = int(rng.integers(0, both))
    print(f"seed {seed}: reset in the {nth}-th of {both} overlapped clocks of a vector")
    conf |= {
        "x_cut": rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=m.cols).tolist(),
        "reset_in_overlap": nth,
        "reset_within": 20 * cp.array_cycles(prog, elems, red_rows),  # input gaps stretch the load
    }
    rtl_runner.run(TOPLEVEL, "test_ernn_csb_array", params, sim=sim, config=conf)


#: several programs on one array (ernn_csb_unit runs every PE job of a model so): two gates each, in
#: 8-blocks, of 20 x 12 (a ragged block row), 16 x 28 and 8 x 40 (one block row: one tile row, fewer than
#: the grid's group rows), on 2 x 2 groups of 2 x 2 PEs with both sharing directions, merged runs
JOINT = [(2, 20, 12, 8, 0.6), (2, 16, 28, 8, 0.3), (2, 8, 40, 8, 0.5)]


def joint_setup(seed: int, folder: Path, elems: int, red_rows: int):
    """The JOINT programs in one array's images, one numerics for all (the widest matrix's accumulator, the
    largest weight's scale), a seeded order of vectors over the programs (each program at least twice, and
    one program twice in a row), their golden outputs, the run's configuration and the parameters."""
    import torch

    from ernn.export import csb_merge as cm
    from ernn.export import csb_program as cp
    from ernn.export import csb_schedule as cs
    from ernn.golden import csb as gcsb
    from ernn.shape import ModelShape
    from ernn.shape.structures import CSB
    from ernn.train import csb as tcsb

    rng = np.random.default_rng(seed)
    grid = cs.Grid(2, 2, 2, 2)
    dense = [
        tcsb.project(torch.from_numpy(rng.normal(size=(g, r, c)) * 0.5), CSB(b, rate)).numpy()
        for g, r, c, b, rate in JOINT
    ]
    widest = max(JOINT, key=lambda spec: spec[2])
    shape = ModelShape(cell="gru", input_size=widest[2], hidden_size=widest[1], structure=CSB(8, 0.5))
    cfg = gcsb.numerics(shape, max(float(np.abs(d).max()) for d in dense), 1.0, 0.0)
    mats, progs = [], []
    for d, (_, _, _, b, rate) in zip(dense, JOINT, strict=True):
        m = gcsb.quantize_matrix(gcsb.from_description(d, CSB(b, rate)), cfg.weight_spectrum)
        sched = cm.compile_matrix(m.counts, cm.kept_columns(m), grid, "both", "flow", "tile_row")
        mats.append(m)
        progs.append(cp.build(m, sched))
    order = [0, 1, 2, 2, 0, 1, *rng.integers(0, len(JOINT), 3).tolist()]
    xs, ys = [], []
    for j in order:
        x = rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=(1, mats[j].cols))
        xs.append(x[0].tolist())
        ys.append(gcsb.finish(gcsb.accumulate(mats[j], x, cfg), mats[j].rows, cfg).reshape(-1).tolist())
    paths = cp.write_joint(progs, folder, "j", cfg.weight_spectrum.word)
    x_w, len_w = cp.joint_widths(progs)
    table = 0
    for row in cp.joint_table(progs):
        for v in row:
            table = (table << 32) | v
    params = (
        progs[0].sizes()
        | {"X_W": x_w, "LEN_W": len_w, "JOBS": len(progs), "JOB_TABLE": table}
        | format_params(cfg, paths, elems, red_rows)
        | {"SUM_W": max(gcsb.sum_word(m, cfg.data.word, cfg.weight_spectrum.word) for m in mats)}
    )
    conf = {
        "seed": seed,
        "elems": elems,
        "data_w": cfg.data.word,
        "out_w": cfg.ifft_out.word,
        "x": xs,
        "y": ys,
        "progs": order,
        "p_gap": 0.3,
        "p_stall": 0.3,
        "pes": grid.pes,
        "steps": [p.steps for p in progs],
        "macs": [p.macs for p in progs],
    }
    return progs, cfg, conf, params


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("elems", "red_rows"), [(1, 1), (8, 2)])
def test_ernn_csb_array_programs(sim, elems, red_rows, request, tmp_path) -> None:
    """Three programs of different rows and columns on one array, switched by `prog` from vector to vector
    (the same program twice in a row too): every vector bit-exact with its matrix's golden matvec under
    gaps and back-pressure, output lanes past each vector zero, and the counters the sum of the vectors'
    programs' MAC steps and entries."""
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    progs, _, conf, params = joint_setup(seed, tmp_path, elems, red_rows)
    assert len({(p.rows, p.cols, p.steps) for p in progs}) == len(progs)  # really different programs
    rtl_runner.run(TOPLEVEL, "test_ernn_csb_array", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_csb_array_refuses_bad_joint_programs(sim, tmp_path) -> None:
    """A bad slot in the second of three programs is refused naming that program; a JOB_TABLE whose
    kernel-entry count is not the program's too."""
    from ernn.export import csb_program as cp

    progs, cfg, _, params = joint_setup(11, tmp_path / "good", 1, 1)
    p1 = progs[1]
    g, s, n = (int(v[0]) for v in np.nonzero(p1.enable))
    x_index = p1.x_index.copy()
    x_index[g, s, n % 2 :: 2] = p1.cols  # fits X_W (the widest program's), outside this program's COLS
    bad_progs = [progs[0], dataclasses.replace(p1, x_index=x_index), progs[2]]
    paths = cp.write_joint(bad_progs, tmp_path / "bad", "j", cfg.weight_spectrum.word)
    bad = params | {k.upper() + "_FILE": str(v) for k, v in paths.items()}
    rtl_runner.expect_elaboration_error(
        TOPLEVEL,
        bad,
        rf"program 1, group \({g // 2}, {g % 2}\), .*input index {p1.cols} outside COLS = {p1.cols}",
        sim=sim,
    )
    table = int(params["JOB_TABLE"]) + 1  # program 2's MACS (the lowest field) one too many
    rtl_runner.expect_elaboration_error(
        TOPLEVEL,
        dict(params, JOB_TABLE=table),
        r"program 2 holds .* enabled slots; STEPS = .*, MACS = ",
        sim=sim,
    )


#: the SR1-shape measurement: a 1024 x 1024 matrix in 32-blocks at 13x on the paper's engine (8 x 4 groups
#: of 4 x 4 PEs, 512 PEs), with the unshared and the z3-balanced both-direction schedule per round, and the
#: merged both-direction schedule per tile row
SR1_SHAPE = (1, 1024, 1024, 32, 1.0 - 1.0 / 13.0)
SR1_GRID = (8, 4, 4, 4)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("mode", "units"), [("none", "runs"), ("both", "runs"), ("both", "merged")])
def test_ernn_csb_array_sr1_utilization(sim, mode, units, request, tmp_path) -> None:
    """The utilization measured in simulation on the SR1 shape equals the program's (bit-exact outputs,
    no gaps: the vector period is array_cycles); ``bench/bench_csb_array.py --rtl`` prints the figures."""
    from ernn.export import csb_program as cp

    seed = seed_for(request.node.nodeid)
    _, _, sched, prog, conf, params = setup(SR1_SHAPE, SR1_GRID, mode, seed, 2, tmp_path, units=units)
    print(
        f"seed {seed}: {mode} ({units}): schedule utilization {sched.utilization:.4f}, {sched.cycles} MAC clocks; "
        f"with one input neuron per PE column {prog.utilization:.4f}, {prog.steps}"
    )
    conf |= {"p_gap": 0.0, "p_stall": 0.0, "period": cp.array_cycles(prog)}
    rtl_runner.run(TOPLEVEL, "test_ernn_csb_array", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_csb_array_refuses_bad_programs(sim, tmp_path) -> None:
    """An input index outside COLS, a row offset outside a ragged block row, and a slot count that is not
    MACS stop the elaboration with a message naming the group, step and block; so does a reduction width
    that does not divide the block."""

    m, cfg, _, prog, _, params = setup((4, 20, 12, 8, 0.6), (2, 2, 2, 2), "both", 7, 1, tmp_path / "good")
    g, s, n = (int(v[0]) for v in np.nonzero(prog.enable))
    a = int(np.searchsorted(np.cumsum(prog.lens), s, side="right"))
    step = s - int(prog.lens[:a].sum())
    x_index = prog.x_index.copy()
    x_index[g, s, n % 2 :: 2] = m.cols  # PE n's column (Q = 2) reads 12: fits X_W = 4, outside COLS = 12
    bad = array_params(dataclasses.replace(prog, x_index=x_index), cfg, tmp_path / "x")
    rtl_runner.expect_elaboration_error(
        TOPLEVEL,
        bad,
        rf"group \({g // 2}, {g % 2}\), tile row {a}, step {step}, PE {n}: input index 12 outside COLS = 12",
        sim=sim,
    )
    # a bank-0 slot of a group whose block row is the ragged one (20 = 8 + 8 + 4 rows: block row 2 of
    # each gate), given row offset 5 (fits INDEX_W = 3, outside the 4 rows)
    k_of = np.arange(4) // 2
    hits = [
        (gi, si, ni)
        for gi, si, ni in zip(*np.nonzero(prog.enable & (prog.bank == 0)), strict=True)
        if (int(np.searchsorted(np.cumsum(prog.lens), si, side="right")) * 2 + k_of[gi]) % 3 == 2
    ]
    g, s, n = (int(v) for v in hits[0])
    a = int(np.searchsorted(np.cumsum(prog.lens), s, side="right"))
    blk = a * 2 + g // 2
    row = prog.row.copy()
    row[g, s, n] = 5
    bad = array_params(dataclasses.replace(prog, row=row), cfg, tmp_path / "row")
    rtl_runner.expect_elaboration_error(
        TOPLEVEL,
        bad,
        rf"PE {n}: target bank 0 row 5 is outside CSB block \(gate {blk // 3}, block row 2\)",
        sim=sim,
    )
    bad = dict(params, MACS=prog.macs + 1)
    rtl_runner.expect_elaboration_error(TOPLEVEL, bad, r"enabled slots; STEPS = .*, MACS = ", sim=sim)
    bad = dict(params, RED_ROWS=3)
    rtl_runner.expect_elaboration_error(TOPLEVEL, bad, r"RED_ROWS = 3 must divide BLOCK = 8", sim=sim)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
