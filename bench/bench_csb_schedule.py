"""CSB engine utilization with and without workload sharing (ernn.export.csb_schedule), and solver time.

Two workloads:

* **SR1, random**: the matrices of E-RNN's SR1 (2-layer LSTMP 153 -> 1024 -> 512: per layer W_ih, W_hh of
  4 gates and W_hr) drawn Gaussian and projected onto CSB at 32-blocks and 13x (prune rate 1 - 1/13, the
  paper's SR1 compression) by the training stage's projection (``ernn.train.csb``), ``--seeds`` draws; on
  the paper's engine, 8 x 4 groups of 4 x 4 PEs (512 PEs, ``--grid``);
* **JapaneseVowels, trained**: an LSTM h32 CSB run (``--jv-block`` 8, 13x, ``--jv-epochs`` ADMM epochs,
  seed 0), trained once into ``--runs`` and reused; its quantized kernels (``ernn.golden.csb``) on a
  smaller engine (``--jv-grid``, default 4 x 4 groups of 2 x 2 PEs: a 32 x 32 matrix has only 4 x 4
  blocks of 8 per gate).

For each: utilization (useful MACs / (PEs x cycles)) and cycles without sharing, with one direction
(horizontal, vertical) and both, balanced by z3 (bisection on the largest load) and by the greedy
baseline; the solver's wall time; the bound a perfect split of every round over all PEs would reach
(the tiling into rounds alone). Prints a table, writes JSON.

    .venv/bin/python bench/bench_csb_schedule.py --out build/bench/csb_schedule.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import numpy as np
import torch

from ernn import cli
from ernn.export import csb_schedule as cs
from ernn.files import atomic
from ernn.golden import csb as gcsb
from ernn.golden.network import GoldenNetwork
from ernn.shape.structures import CSB
from ernn.train import csb as tcsb
from ernn.train import run_directory as runs

SR1 = {"input": 153, "hidden": 1024, "proj": 512, "layers": 2}
RATE_13X = 1.0 - 1.0 / 13.0


def sr1_counts(seed: int, block: int) -> list[np.ndarray]:
    """Kernel counts of SR1's six matrices, Gaussian weights projected onto CSB at 13x."""
    rng = np.random.default_rng(seed)
    params = CSB(block, RATE_13X)
    shapes = []
    for layer in range(SR1["layers"]):
        n_in = SR1["input"] if layer == 0 else SR1["proj"]
        shapes += [(4, SR1["hidden"], n_in), (4, SR1["hidden"], SR1["proj"]), (1, SR1["proj"], SR1["hidden"])]
    out = []
    for shape in shapes:
        w = torch.from_numpy(rng.normal(size=shape))
        dense = tcsb.project(w, params).numpy()
        out.append(_counts(dense, block))
    return out


def _counts(dense: np.ndarray, block: int) -> np.ndarray:
    """(G, BR, BC, 2) kept rows / columns per block (as ernn.golden.csb.quantize_matrix stores them)."""
    g, rows, cols = dense.shape
    spans_r, spans_c = gcsb.spans(rows, block), gcsb.spans(cols, block)
    counts = np.zeros((g, len(spans_r), len(spans_c), 2), dtype=np.int64)
    for i, (r0, r1) in enumerate(spans_r):
        for j, (c0, c1) in enumerate(spans_c):
            nz = dense[:, r0:r1, c0:c1] != 0
            counts[:, i, j, 0] = nz.any(axis=2).sum(axis=1)
            counts[:, i, j, 1] = nz.any(axis=1).sum(axis=1)
    return counts


def jv_counts(run_dir: Path, block: int, epochs: int) -> tuple[list[np.ndarray], dict]:
    """Train (once) a JapaneseVowels CSB LSTM h32 at 13x and return its quantized kernels' counts."""
    if not (run_dir / "config.json").is_file():
        args = ["train", "--out", str(run_dir), "--hidden-size", "32", "--epochs", str(epochs), "--quiet"]
        args += [
            "--structure",
            "csb",
            "--csb-block",
            str(block),
            "--prune-rate",
            f"{RATE_13X:.6f}",
            "--seed",
            "0",
        ]
        if cli.main(args) != 0:
            raise SystemExit(f"training the JapaneseVowels CSB run into {run_dir} failed")
    model, _ = runs.load_run(run_dir)
    net = GoldenNetwork(model.rnn.describe())
    counts = [m.counts for layer in net.layers for m in (layer.w_ih, layer.w_hh) if m is not None]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return counts, {"run": str(run_dir), "test_accuracy": metrics.get("test_accuracy")}


def tiling_bound(counts: list[np.ndarray], grid: cs.Grid) -> float:
    """Utilization if every round's MACs were spread over all PEs (only the tiling into rounds is lost)."""
    macs = cycles = 0
    for c in counts:
        for r in cs.tiles(c, grid):
            work = sum(m * n for m, n in r.sizes.values())
            macs += work
            cycles += math.ceil(work / grid.pes)
    return macs / (grid.pes * cycles)


def measure(name: str, counts: list[np.ndarray], grid: cs.Grid) -> list[dict]:
    rows = []
    for mode in cs.MODES:
        for method in ("z3",) if mode == "none" else cs.METHODS:
            t0 = time.perf_counter()
            sched = cs.compile_matrices(counts, grid, mode, method)
            wall = time.perf_counter() - t0
            cs.check_schedule(sched, counts)
            rows.append(
                {
                    "workload": name,
                    "grid": [grid.k, grid.l, grid.p, grid.q],
                    "pes": grid.pes,
                    "mode": mode,
                    "method": "-" if mode == "none" else method,
                    "rounds": len(sched.rounds),
                    "macs": sched.macs,
                    "cycles": sched.cycles,
                    "utilization": sched.utilization,
                    "margin": sched.margin(),
                    "solve_seconds": sched.solve_seconds,
                    "wall_seconds": wall,
                }
            )
            r = rows[-1]
            print(
                f"{name:24s} {r['mode']:10s} {r['method']:6s} util {100 * r['utilization']:5.1f} %  "
                f"cycles {r['cycles']:6d}  max/avg load - 1 {r['margin']:6.3f}  solver {r['solve_seconds']:7.2f} s "
                f"({r['rounds']} rounds)",
                flush=True,
            )
    bound = tiling_bound(counts, grid)
    print(f"{name:24s} bound of the tiling into rounds: {100 * bound:5.1f} %")
    rows.append({"workload": name, "mode": "tiling bound", "utilization": bound})
    return rows


def _grid(text: str) -> cs.Grid:
    k, l, p, q = (int(v) for v in text.split(","))  # noqa: E741
    return cs.Grid(k, l, p, q)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("build/bench/csb_schedule.json"))
    ap.add_argument("--grid", default="8,4,4,4", help="K,L,P,Q of the SR1 engine (the paper's 512 PEs)")
    ap.add_argument("--block", type=int, default=32, help="CSB block of the random SR1 matrices")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="draws of the random SR1 matrices")
    ap.add_argument("--jv-grid", default="4,4,2,2", help="K,L,P,Q for the JapaneseVowels model")
    ap.add_argument("--jv-block", type=int, default=8)
    ap.add_argument("--jv-epochs", type=int, default=20)
    ap.add_argument("--runs", type=Path, default=Path("build/bench/csb_schedule_runs"))
    ap.add_argument("--skip-sr1", action="store_true")
    args = ap.parse_args()
    rows: list[dict] = []
    info: dict = {}
    if not args.skip_sr1:
        for seed in args.seeds:
            t0 = time.perf_counter()
            counts = sr1_counts(seed, args.block)
            print(
                f"SR1 random CSB matrices (seed {seed}) projected in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            rows += measure(f"SR1 random 13x s{seed}", counts, _grid(args.grid))
    args.runs.mkdir(parents=True, exist_ok=True)
    run = args.runs / f"jv-lstm-h32-csb-b{args.jv_block}-13x-e{args.jv_epochs}-s0"
    counts, info = jv_counts(run, args.jv_block, args.jv_epochs)
    rows += measure("JapaneseVowels trained 13x", counts, _grid(args.jv_grid))
    result = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "sr1": {**SR1, "block": args.block, "prune_rate": RATE_13X, "seeds": args.seeds, "grid": args.grid},
        "japanese_vowels": {**info, "block": args.jv_block, "epochs": args.jv_epochs, "grid": args.jv_grid},
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(args.out, result, force=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
