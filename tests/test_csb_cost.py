"""The CSB cost model's cycles are the schedule ``ernn export`` builds: merged runs, max flow, per tile row.

``ernn.dse.csb_cost`` prices each matrix with the compiler ``csb_unit`` uses for export; these tests hold it
to ``bench/bench_csb_schedule.py --units merged`` on the same kernels (a small LSTMP, seconds).
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


def test_csb_cost_cycles_are_the_benchs_merged_tile_row_clocks(capsys):
    """Per sharing mode, the cost model's MAC cycles and MACs equal the "tile_row merged flow" rows of
    bench_csb_schedule.measure on the same kernels: the program's clocks (shared input) and the schedule's."""
    bench = _bench()
    counts, columns = csb_cost.random_kernels(SHAPE)
    dense = _dense(SHAPE)
    # the cost model's kernels are the bench's reading of the same projected matrices
    for d, c, k in zip(dense, counts, columns, strict=True):
        assert np.array_equal(c, bench._counts(d, 8)) and np.array_equal(k, bench._kept(d, 8))
    rows = bench.measure("small", list(counts), list(columns), GRID, False, 8, [1], ["merged"])
    capsys.readouterr()
    num = csb_cost.numerics_for_shape(SHAPE, 16)
    for mode in cs.MODES:
        (row,) = [
            r
            for r in rows
            if (r.get("scope"), r.get("units"), r.get("method"), r["mode"])
            == ("tile_row", "merged", "flow", mode)
        ]
        c = csb_cost.HwConfig.build(SHAPE, num, 16, grid=GRID, mode=mode, method="z3")
        assert (c.units, c.scope, c.method) == (cs.MERGED, csb_unit.SCOPE, csb_unit.METHOD)
        _, mac, macs = csb_cost.step_cycles(c)
        assert (mac, macs) == (row["shared_input_cycles"], row["macs"])
        assert mac == row["cycles"]  # merged: the schedule's cycles are the program's
        # never more clocks than the runs schedule the model priced before (per round, the same kernels)
        before = csb_cost.HwConfig.build(SHAPE, num, 16, grid=GRID, mode=mode, units="runs", scope="round")
        assert mac <= csb_cost.step_cycles(before)[1]


def test_csb_cost_prices_an_exported_models_kernels_and_needs_their_columns():
    """model_kernels reads counts and kept columns off a model's CSBMatrix objects; merged runs without
    the columns are refused; "greedy" prices the greedy runs schedule per round (no merged form)."""
    params = SHAPE.structure
    dense = _dense(SHAPE)
    fmt = gcsb.numerics(SHAPE, max(float(np.abs(d).max()) for d in dense), 1.0, 0.0).weight_spectrum
    mats = [gcsb.quantize_matrix(gcsb.from_description(d, params), fmt) for d in dense]
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
