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
