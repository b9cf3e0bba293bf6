"""CSB group array utilization: the compiled schedule executed by the array, in the array model and in RTL
simulation.

Workload: the matrices of E-RNN's SR1 (2-layer LSTMP 153 -> 1024 -> 512: per layer W_ih, W_hh of 4 gates
and W_hr), Gaussian weights projected onto CSB at 32-blocks and 13x (``ernn.train.csb``), quantized by the
golden model, on the paper's engine (8 x 4 groups of 4 x 4 PEs, 512 PEs, ``--grid``). For each sharing mode
(none, horizontal, vertical, both; z3, and the greedy baseline for both) every matrix is compiled
(``ernn.export.csb_schedule``), turned into the array's program (``ernn.export.csb_program``) and executed
by the array model on a random input: outputs checked bit for bit against the golden matvec, busy PE-slots
and MAC clocks counted. Utilization = useful MACs / (PEs x MAC clocks); the clocks per vector add the
input and output beats and the tile rows' clear and reduction clocks. "shared x" is the utilization the same
schedules would reach if the P PEs of a PE column had to share one input neuron, as in the paper
(``ernn.export.csb_program.shared_input_cycles``; the array does not do that).

``--rtl`` also simulates ``rtl/ernn_csb_array.v`` (``--sim``, default Verilator) on a 1024 x 1024 matrix of
the same kind (one gate, 32-blocks, 13x) with and without balancing, and reads the array's own counters.

    .venv/bin/python bench/bench_csb_array.py --out build/bench/csb_array.json [--rtl]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ernn.export import csb_program as cp
from ernn.export import csb_schedule as cs
from ernn.files import atomic
from ernn.golden import csb as gcsb
from ernn.shape import ModelShape
from ernn.shape.structures import CSB
from ernn.train import csb as tcsb

SR1 = {"input": 153, "hidden": 1024, "proj": 512, "layers": 2}
RATE_13X = 1.0 - 1.0 / 13.0
RUNS = [("none", "z3"), ("horizontal", "z3"), ("vertical", "z3"), ("both", "z3"), ("both", "greedy")]
TB_DIR = Path(__file__).resolve().parents[1] / "tb" / "ernn_csb_array"


def sr1_shapes() -> list[tuple[str, tuple[int, int, int]]]:
    out = []
    for layer in range(SR1["layers"]):
        n_in = SR1["input"] if layer == 0 else SR1["proj"]
        out += [
            (f"l{layer}_w_ih", (4, SR1["hidden"], n_in)),
            (f"l{layer}_w_hh", (4, SR1["hidden"], SR1["proj"])),
            (f"l{layer}_w_hr", (1, SR1["proj"], SR1["hidden"])),
        ]
    return out


def matrix(shape: tuple[int, int, int], block: int, rng: np.random.Generator):
    """A Gaussian matrix projected onto CSB at 13x and quantized, with its numerics."""
    _, rows, cols = shape
    params = CSB(block, RATE_13X)
    dense = tcsb.project(torch.from_numpy(rng.normal(size=shape) * 0.5), params).numpy()
    info = ModelShape(cell="gru", input_size=cols, hidden_size=rows, structure=params)
    cfg = gcsb.numerics(info, float(np.abs(dense).max()), 1.0, 0.0)
    return gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum), cfg


def model_run(m, cfg, grid: cs.Grid, mode: str, method: str, rng: np.random.Generator) -> dict:
    """Compile, build the program, execute it in the array model; the counts (outputs checked)."""
    t0 = time.perf_counter()
    sched = cs.compile_matrix(m.counts, grid, mode, method)
    t1 = time.perf_counter()
    prog = cp.build(m, sched)
    x = rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=(1, m.cols))
    out = cp.run(prog, x, cfg)
    want = gcsb.finish(gcsb.accumulate(m, x, cfg), m.rows, cfg).reshape(1, -1)
    if not np.array_equal(out.y, want):
        raise AssertionError(f"array model differs from the golden matvec ({mode}, {method})")
    if out.mac_cycles != sched.cycles or out.busy != sched.macs:
        raise AssertionError("the array model does not follow the schedule")
    return {
        "macs": out.busy,
        "mac_cycles": out.mac_cycles,
        "cycles": out.cycles,
        "utilization": out.utilization,
        "schedule_utilization": sched.utilization,
        "shared_input_cycles": cp.shared_input_cycles(sched),
        "solve_s": sched.solve_seconds,
        "compile_s": t1 - t0,
    }


def rtl_run(sim: str, grid: cs.Grid, mode: str, seed: int, folder: Path) -> dict:
    """Simulate the array on a 1024 x 1024 SR1-like matrix; the counters as the array reports them."""
    sys.path.insert(0, str(TB_DIR))
    sys.path.insert(0, str(TB_DIR.parent))
    import test_ernn_csb_array as tb

    from ernn.sim import runner as rtl_runner

    _, _, sched, prog, conf, params = tb.setup(
        tb.SR1_SHAPE, (grid.k, grid.l, grid.p, grid.q), mode, seed, 2, folder
    )
    report = folder / "counters.json"
    conf |= {"p_gap": 0.0, "p_stall": 0.0, "period": cp.array_cycles(prog), "report": str(report)}
    t0 = time.perf_counter()
    res = rtl_runner.run(tb.TOPLEVEL, "test_ernn_csb_array", params, sim=sim, config=conf, test_dir=folder)
    wall = time.perf_counter() - t0
    got = json.loads(report.read_text())
    return {
        "sim": sim,
        "mode": mode,
        "vectors": got["vectors"],
        "mac_cycles": got["mac_cycles"],
        "busy": got["busy"],
        "utilization": got["busy"] / (grid.pes * got["mac_cycles"]),
        "schedule_utilization": sched.utilization,
        "cycles_per_vector": cp.array_cycles(prog),
        "build_s": res.build_seconds,
        "sim_s": res.test_seconds,
        "wall_s": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/csb_array.json"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--grid", type=int, nargs=4, default=(8, 4, 4, 4), metavar=("K", "L", "P", "Q"))
    ap.add_argument("--rtl", action="store_true", help="also simulate the array on a 1024 x 1024 matrix")
    ap.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    args = ap.parse_args()
    grid = cs.Grid(*args.grid)
    rng = np.random.default_rng(args.seed)
    mats = [(name, *matrix(shape, args.block, rng)) for name, shape in sr1_shapes()]
    result: dict = {
        "workload": f"SR1 matrices, random CSB at 13x, M = {args.block}, seed {args.seed}",
        "grid": list(args.grid),
        "pes": grid.pes,
        "machine": platform.platform(),
        "model": {},
    }
    print(f"SR1 on {grid.k} x {grid.l} groups of {grid.p} x {grid.q} PEs ({grid.pes} PEs), array model:")
    print(
        f"{'mode':<18}{'MACs':>9}{'MAC clocks':>12}{'clocks/step':>13}{'utilization':>13}{'shared x':>10}{'solver s':>10}"
    )
    for mode, method in RUNS:
        per = [model_run(m, cfg, grid, mode, method, rng) for _, m, cfg in mats]
        keys = ("macs", "mac_cycles", "cycles", "shared_input_cycles", "solve_s")
        tot = {k: sum(p[k] for p in per) for k in keys}
        tot["utilization"] = tot["macs"] / (grid.pes * tot["mac_cycles"])
        tot["shared_input_utilization"] = tot["macs"] / (grid.pes * tot["shared_input_cycles"])
        tot["matrices"] = dict(zip([n for n, _, _ in mats], per, strict=True))
        result["model"][f"{mode}/{method}"] = tot
        print(
            f"{mode + '/' + method:<18}{tot['macs']:>9}{tot['mac_cycles']:>12}{tot['cycles']:>13}"
            f"{tot['utilization']:>13.1%}{tot['shared_input_utilization']:>10.1%}{tot['solve_s']:>10.1f}"
        )
    if args.rtl:
        result["rtl"] = []
        for mode in ("none", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                r = rtl_run(args.sim, grid, mode, args.seed, Path(tmp))
            result["rtl"].append(r)
            print(
                f"RTL ({args.sim}) 1024 x 1024, {mode}: {r['mac_cycles']} MAC clocks, {r['busy']} busy slots over "
                f"{r['vectors']} vectors: utilization {r['utilization']:.1%} (schedule "
                f"{r['schedule_utilization']:.1%}), {r['cycles_per_vector']} clocks per vector, {r['wall_s']:.0f} s"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(args.out, result, force=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
