"""The CSB cost model's cycles are the programs ``ernn export`` builds: merged runs, max flow, per tile row,
one program per PE job of the CSB unit.

``ernn.dse.csb_cost`` compiles the model's jobs with the compiler ``csb_unit`` uses for export; these tests
hold it to ``csb_unit.grid_jobs`` on the real matrices of the same kernels (a small LSTMP, seconds), whose
counts and kept columns are the ones ``bench/bench_csb_schedule.py`` reads.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ernn.dse import csb_cost
from ernn.export import csb_program as cprog
from ernn.export import csb_schedule as cs
from ernn.export import csb_unit
from ernn.golden import csb as gcsb
from ernn.shape import ModelShape
from ernn.shape.structures import CSB
from ernn.train import csb as tcsb

ROOT = Path(__file__).resolve().parents[1]
SHAPE = ModelShape(cell="lstm", input_size=24, hidden_size=32, proj_size=16, structure=CSB(8, 0.8))
GRID = cs.Grid(2, 2, 2, 2)


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_csb_schedule", ROOT / "bench" / "bench_csb_schedule.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _dense(shape: ModelShape, seed: int = 0) -> list[np.ndarray]:
    """The projected matrices random_kernels draws (same generator, same order)."""
    rng = np.random.default_rng(seed)
    return [
        tcsb.project(torch.from_numpy(rng.normal(size=(g, r, c))), shape.structure).numpy()
        for _, g, r, c in csb_cost.matrix_shapes(shape)
    ]


def _quantized(shape: ModelShape) -> list[gcsb.CSBMatrix]:
    """The projected matrices of :func:`_dense` as the golden model stores them (kept rows and values)."""
    dense = _dense(shape)
    fmt = gcsb.numerics(shape, max(float(np.abs(d).max()) for d in dense), 1.0, 0.0).weight_spectrum
    return [gcsb.quantize_matrix(gcsb.from_description(d, shape.structure), fmt) for d in dense]


def test_csb_cost_cycles_are_the_units_programs_on_the_same_kernels(capsys):
    """Per sharing mode and reduction width, the cost model's clocks are the CSB unit's: each job's array
    clocks, MAC clocks and MACs equal those of csb_unit.grid_jobs run on the real quantized matrices (kept
    rows and values, where the cost model has only the counts and kept columns), and the step adds
    STEP_FIXED + STEP_PER_JOB per job; the kernels are the ones bench_csb_schedule reads off the same
    projected matrices."""
    bench = _bench()
    counts, columns = csb_cost.random_kernels(SHAPE)
    for d, c, k in zip(_dense(SHAPE), counts, columns, strict=True):
        assert np.array_equal(c, bench._counts(d, 8)) and np.array_equal(k, bench._kept(d, 8))
    capsys.readouterr()
    mats = _quantized(SHAPE)
    net = SimpleNamespace(info=SHAPE, layers=[SimpleNamespace(w_ih=mats[0], w_hh=mats[1], w_hr=mats[2])])
    num = csb_cost.numerics_for_shape(SHAPE, 16)
    k = csb_unit.controller_block(8)
    totals = {}
    for mode in cs.MODES:
        real = [uj.program for uj in csb_unit.grid_jobs(net, GRID, mode)]
        assert len(real) == 2  # the gate job [W_ih | W_hh] and the projection
        for red_rows in (1, 2):
            c = csb_cost.HwConfig.build(SHAPE, num, 16, grid=GRID, mode=mode, method="z3", red_rows=red_rows)
            assert (c.units, c.scope, c.method) == (cs.MERGED, csb_unit.SCOPE, csb_unit.METHOD)
            total, mac, macs, jobs = csb_cost.unit_step_cycles(c)
            assert jobs == [cprog.array_cycles(p, k, red_rows) for p in real]
            assert mac == sum(p.steps for p in real) and macs == sum(p.macs for p in real)
            assert macs == sum(int(m.values.size) for m in mats)
            assert total == sum(jobs) + csb_cost.STEP_FIXED + csb_cost.STEP_PER_JOB * 2
            assert csb_cost.step_cycles(c) == (total, mac, macs)
            totals[mode, red_rows] = total
    assert totals["both", 1] < totals["none", 1]  # sharing balances the groups
    assert totals["both", 2] <= totals["both", 1]  # a wider reduction hides more of it
    with pytest.raises(ValueError, match="CSB reduction rows per clock 3 must be 'auto' or divide"):
        csb_cost.HwConfig.build(SHAPE, num, 16, grid=GRID, red_rows=3)


def test_csb_cost_prices_an_exported_models_kernels_and_needs_their_columns():
    """model_kernels reads counts and kept columns off a model's CSBMatrix objects; merged runs without
    the columns are refused; "greedy" prices the greedy runs schedule per round (no merged form)."""
    mats = _quantized(SHAPE)
    net = SimpleNamespace(layers=[SimpleNamespace(w_ih=mats[0], w_hh=mats[1], w_hr=mats[2])])
    counts, columns = csb_cost.model_kernels(net)
    drawn = csb_cost.random_kernels(SHAPE)
    for a, b in zip((counts, columns), drawn, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    num = csb_cost.numerics_for_shape(SHAPE, 16)
    given = csb_cost.HwConfig.build(SHAPE, num, 16, grid=GRID, method="flow", counts=counts, columns=columns)
    drawn_cfg = csb_cost.HwConfig.build(SHAPE, num, 16, grid=GRID, method="flow")
    assert csb_cost.step_cycles(given) == csb_cost.step_cycles(drawn_cfg)
    with pytest.raises(ValueError, match="kept columns"):
        csb_cost.HwConfig.build(SHAPE, num, 16, grid=GRID, counts=counts)
    with pytest.raises(ValueError, match="not 'greedy'"):
        csb_cost.HwConfig.build(SHAPE, num, 16, grid=GRID, method="greedy", units=cs.MERGED)
    greedy = csb_cost.HwConfig.build(SHAPE, num, 16, grid=GRID, method="greedy")
    sched = cs.compile_matrices(list(counts), GRID, "both", "greedy")
    assert csb_cost.step_cycles(greedy)[1] == cprog.shared_input_cycles(sched)


def _array(point: dict) -> tuple:
    from ernn.dse import csb_array_cost as ac

    a = ac.ArrayShape(
        *point["grid"], sum_w=point["sum_w"], cols=point["cols"], elems=point["elems"], block=32
    )
    return ac, a


def test_array_resources_follow_the_measured_netlists():
    """The group array's resource model (ernn.dse.csb_array_cost) against Yosys: its calibration points
    within 1 % of their LUT sites and 4 % of their FF, the held-out grids within 15 % of their LUT sites
    (the 128-PE one, a CSB unit's stream width, within 6 % and its FF within 5 %); the parts add up, and
    each grows as the RTL says (trees: one SUM_W adder per node)."""
    from ernn.dse import csb_array_cost as ac

    steps = {(8, 4, 4, 4): 1327, (2, 2, 4, 4): 787}
    for what, _, point, lut, ff in ac.CALIBRATION:
        _, a = _array(point)
        est = ac.estimate(a, steps[point["grid"]], 10, 5)
        assert est["lut"] == pytest.approx(lut, rel=0.01), what
        assert est["ff"] == pytest.approx(ff, rel=0.04), what
        assert est["dsp"] == a.pes
    for what, _, point, lut, ff in ac.HELD_OUT:
        _, a = _array(point)
        est = ac.estimate(a, point["steps"], point["x_w"], 5)
        assert est["lut"] == pytest.approx(lut, rel=0.15), what
        if ff is not None:
            assert est["lut"] == pytest.approx(lut, rel=0.06), what
            assert est["ff"] == pytest.approx(ff, rel=0.05), what
    # SR1 at 512 PEs: 1,520 adders in the trees (Yosys's ernn_add instances), 144 LUT RAM sites a PE
    _, a = _array(ac.CALIBRATION[0][2])
    assert ac.tree_adders(a) == 1520
    assert ac.memory_sites(32, 38) == 24 and ac.memory_sites(64, 38) == 40
    parts = ac.parts(a)
    assert parts["pe_memories"]["lut"] == 512 * 144
    assert sum(p["lut"] for p in parts.values()) == ac.estimate(a, 1327, 10, 5)["lut"]


def test_csb_cost_prices_sr1_on_512_pes_as_yosys_measured_it():
    """Phase II's estimate of SR1 at 13x on 512 PEs (random kernels, the accumulator as the sum word)
    within 5 % of the whole model Yosys measured at that sum word (418,779 LUT sites with LUT RAM, 600 DSP,
    573 BRAM36; docs/csb.md), where the one-MAC-engine model it replaced said 81,709 LUT."""
    from ernn.dse import phase2 as dse_hw

    sh = {k: v for k, v in dse_hw.SHAPES["sr1"].items() if k != "block_size"}
    shape = ModelShape(**sh, structure=CSB(32, 1 - 1 / 13))
    cfg = csb_cost.numerics_for_shape(shape)
    est = csb_cost.estimate(csb_cost.HwConfig.build(shape, cfg, 512, method="flow"))
    assert cfg.accumulator.word == 42
    assert est.used["lut"] == pytest.approx(418779, rel=0.05)
    assert est.used["dsp"] == 600
    assert est.used["bram36"] == pytest.approx(573, rel=0.05)
    # the sum word of SR1's kernels (37) takes the array's LUTs down as measured (395,853 in all)
    narrow = csb_cost.estimate(csb_cost.HwConfig.build(shape, cfg, 512, method="flow", sum_w=37))
    assert narrow.used["lut"] == pytest.approx(395853, rel=0.05) and narrow.used["lut"] < est.used["lut"]
