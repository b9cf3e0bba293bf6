"""CSB engine utilization with and without workload sharing (ernn.export.csb_schedule), where the idle
PE-slots go, and the solvers' time and optimality.

Workloads:

* **SR1, random**: the matrices of E-RNN's SR1 (2-layer LSTMP 153 -> 1024 -> 512: per layer W_ih, W_hh of
  4 gates and W_hr) drawn Gaussian and projected onto CSB at 32-blocks and 13x (prune rate 1 - 1/13, the
  paper's SR1 compression) by the training stage's projection (``ernn.train.csb``), ``--seeds`` draws; on
  the paper's engine, 8 x 4 groups of 4 x 4 PEs (512 PEs, ``--grid``);
* **SR1, uneven norms** (trained-like): the same, each Gaussian matrix scaled by a log-normal factor per
  row and per column (``--norm-sigma``, 1 by default: a 1-sigma row is 2.7x the median), so the
  magnitude-based projection keeps the strong rows and columns in every block they cross, as a trained
  matrix with uneven neurons would;
* **JapaneseVowels, trained**: an LSTM CSB run (``--jv-hidden`` 32 units, ``--jv-block`` 8, 13x, ``--jv-epochs`` ADMM epochs,
  seed 0), trained once into ``--runs`` and reused; its quantized kernels (``ernn.golden.csb``) on a
  smaller engine (``--jv-grid``, default 4 x 4 groups of 2 x 2 PEs).

For each, side by side in one run: utilization (useful MACs / (PEs x cycles)) and cycles without sharing,
with one direction (horizontal, vertical) and both, for

* scope "round" (every round a barrier: the schedule ``ernn.export.csb_program.build`` runs on the array
  today) balanced by max-flow (exact), by z3 (bisection, exact: the cross-check) and by the greedy baseline;
* scope "tile_row" (only a tile row a barrier, the array's own; needs a program builder that packs a tile
  row's rounds back to back: ``bench/csb_tile_row_rtl.py``) by the same three;

each balanced in the units ``--units`` names: "runs", what the array executes (a kernel column's entries P at
a time, Q runs a clock; the compiler's default since issue 15), "entries" (any P Q entries a clock: the
compiler before it) and "merged" (``ernn.export.csb_merge``: a run may hold the entries of up to three
vertically adjacent kernels that keep the same input column; max flow only), side by side on the same
kernels;

the idle slots split into rounding (what a perfect spread over all PEs leaves) and imbalance (what the
links leave); entries moved to neighbours; the solver's wall time; whether max-flow and z3 give the same
cycles at every barrier (the optimality gap, 0 when they do); for both directions, the group array's MAC
and reduction clocks with the reduction overlapped (``csb_program.timeline`` at ``--red-rows`` rows per
clock), where a tile row whose MACs are shorter than its reduction waits for it. Beside each schedule's
figure ("shared" rows, ``shared_input_*`` in the JSON) the same schedule as the array runs it since its PE
columns share one input neuron (``csb_program.shared_barrier_cycles``: per barrier and group, each kernel
column's entries in runs of P, Q runs per clock): the utilization cost of the shared input, side by side
on the same kernels. Prints tables, writes JSON.

    .venv/bin/python bench/bench_csb_schedule.py --out build/bench/csb_schedule.json
    .venv/bin/python bench/bench_csb_schedule.py --no-z3 --skip-jv --units runs merged --out build/bench/csb_schedule_merged.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from ernn import cli
from ernn.export import csb_merge as cm
from ernn.export import csb_program as cp
from ernn.export import csb_schedule as cs
from ernn.files import atomic
from ernn.golden import csb as gcsb
from ernn.golden.network import GoldenNetwork
from ernn.shape.structures import CSB
from ernn.train import csb as tcsb
from ernn.train import run_directory as runs

SR1 = {"input": 153, "hidden": 1024, "proj": 512, "layers": 2}
RATE_13X = 1.0 - 1.0 / 13.0
#: (scope, method) pairs measured; "none" needs no method
SOLVERS = [
    ("round", "flow"),
    ("round", "z3"),
    ("round", "greedy"),
    ("tile_row", "flow"),
    ("tile_row", "z3"),
    ("tile_row", "greedy"),
]


def sr1_kernels(seed: int, block: int, norm_sigma: float = 0.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Kernel counts and kept-column masks of SR1's six matrices, Gaussian weights (rows and columns scaled
    by log-normal factors of ``norm_sigma`` when it is > 0) projected onto CSB at 13x."""
    rng = np.random.default_rng(seed)
    params = CSB(block, RATE_13X)
    shapes = []
    for layer in range(SR1["layers"]):
        n_in = SR1["input"] if layer == 0 else SR1["proj"]
        shapes += [(4, SR1["hidden"], n_in), (4, SR1["hidden"], SR1["proj"]), (1, SR1["proj"], SR1["hidden"])]
    out, kept = [], []
    for shape in shapes:
        w = rng.normal(size=shape)
        if norm_sigma > 0:
            w *= rng.lognormal(0.0, norm_sigma, size=(shape[0], shape[1], 1))
            w *= rng.lognormal(0.0, norm_sigma, size=(1, 1, shape[2]))
        dense = tcsb.project(torch.from_numpy(w), params).numpy()
        out.append(_counts(dense, block))
        kept.append(_kept(dense, block))
    return out, kept


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


def _kept(dense: np.ndarray, block: int) -> np.ndarray:
    """(G, BR, BC, M) kept-column masks (a column offset is kept where the block holds a non-zero in it)."""
    g, rows, cols = dense.shape
    spans_r, spans_c = gcsb.spans(rows, block), gcsb.spans(cols, block)
    keep = np.zeros((g, len(spans_r), len(spans_c), block), dtype=bool)
    for i, (r0, r1) in enumerate(spans_r):
        for j, (c0, c1) in enumerate(spans_c):
            keep[:, i, j, : c1 - c0] = (dense[:, r0:r1, c0:c1] != 0).any(axis=1)
    return keep


def jv_counts(
    run_dir: Path, block: int, epochs: int, hidden: int = 32
) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    """Train (once) a JapaneseVowels CSB LSTM (``hidden`` units) at 13x and return its quantized kernels'
    counts and kept-column masks."""
    if not (run_dir / "config.json").is_file():
        args = [
            "train",
            "--out",
            str(run_dir),
            "--hidden-size",
            str(hidden),
            "--epochs",
            str(epochs),
            "--quiet",
        ]
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
    mats = [m for layer in net.layers for m in (layer.w_ih, layer.w_hh) if m is not None]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return (
        [m.counts for m in mats],
        [cm.kept_columns(m) for m in mats],
        {"run": str(run_dir), "test_accuracy": metrics.get("test_accuracy")},
    )


def kernel_spread(counts: list[np.ndarray]) -> dict:
    """Kernel entries per block: mean, coefficient of variation, largest / mean (blocks of all matrices)."""
    w = np.concatenate([(c[..., 0] * c[..., 1]).ravel() for c in counts]).astype(float)
    return {
        "mean": float(w.mean()),
        "cv": float(w.std() / w.mean()),
        "max_over_mean": float(w.max() / w.mean()),
    }


def tiling_bound(counts: list[np.ndarray], grid: cs.Grid, scope: str) -> float:
    """Utilization if every stretch between two barriers were spread over all PEs (only whole cycles lost)."""
    sched = cs.compile_matrices(counts, grid, "none", "flow", scope)
    i = sched.idle()
    return i["useful"] / (i["useful"] + i["rounding"])


def runs_bound(
    counts: list[np.ndarray], grid: cs.Grid, scope: str, columns: list[np.ndarray] | None = None
) -> tuple[float, int, float]:
    """If every stretch's runs (a kernel column's entries P at a time, unsplit; with ``columns``, the merged
    runs of ``csb_merge.chain_runs``) were spread over all K L Q PE columns: (utilization, MAC clocks, the
    runs' fill: entries / (P x runs))."""
    sched = cs.compile_matrices(counts, grid, "none", "flow", scope, "runs")
    if columns is None:
        runs = [sum(v.values()) for v in sched.run_loads()]
    else:
        runs = [n for c, k in zip(counts, columns, strict=True) for n in cm.barrier_runs(c, k, grid, scope)]
    clocks = sum(-(-r // (grid.k * grid.l * grid.q)) for r in runs)
    return sched.macs / (grid.pes * clocks), clocks, sched.macs / (grid.p * sum(runs))


def chain_floor(counts: list[np.ndarray], columns: list[np.ndarray], grid: cs.Grid) -> float:
    """The runs' fill no program of the array can beat: per round, group column and input neuron, the
    kernels' entries of that neuron (a tile row's only ones: other tile rows fill the other half) in
    ceil(entries / P) runs, as if any group could hold any of them."""
    entries = runs = 0
    for c, k in zip(counts, columns, strict=True):
        for r in cs.tiles(c, grid, k):
            per: dict[tuple[int, int], int] = {}
            for g, cols in r.columns.items():
                for off in cols:
                    key = (r.blocks[g][1], off)
                    per[key] = per.get(key, 0) + r.sizes[g][0]
            entries += sum(per.values())
            runs += sum(-(-n // grid.p) for n in per.values())
    return entries / (grid.p * runs) if runs else 0.0


def tile_row_lengths(
    sched: cs.Schedule, counts: list[np.ndarray], barrier_cycles: list[int] | None = None
) -> list[np.ndarray]:
    """Per matrix, the MAC clocks of each tile row (the array's lengths image) of a schedule: its own cycles,
    or ``barrier_cycles`` per barrier (e.g. ``csb_program.shared_barrier_cycles``, the array's program)."""
    cycles = barrier_cycles if barrier_cycles is not None else _barrier_cycles(sched)
    if sched.scope == "tile_row":
        of_row = {id(t): c for t, c in zip(sched.tile_rows, cycles, strict=True)}
    else:
        of_round = {id(r): c for r, c in zip(sched.rounds, cycles, strict=True)}
    out, first = [], 0
    for c in counts:
        n = len(cs.tiles(c, sched.grid))
        rounds = sched.rounds[first : first + n]
        if sched.scope == "tile_row":
            rows = [t for t in sched.tile_rows if first <= t.first < first + n]
            out.append(np.array([of_row[id(t)] for t in rows], dtype=np.int64))
        else:
            by_row: dict[int, int] = {}
            for r in rounds:
                by_row[r.tile[0]] = by_row.get(r.tile[0], 0) + of_round[id(r)]
            out.append(np.array([by_row[a] for a in sorted(by_row)], dtype=np.int64))
        first += n
    return out


def overlapped_clocks(lengths: list[np.ndarray], block: int, red_rows: int) -> int:
    """MAC and reduction clocks of the matrices one after the other on the group array, its reduction of M /
    ``red_rows`` clocks per tile row overlapped with the next tile row's MACs (``csb_program.timeline``,
    which reads only a program's tile-row lengths and block; stream beats not counted)."""
    total = 0
    for lens in lengths:
        prog = SimpleNamespace(lens=lens, block=block, tile_rows=len(lens))  # the fields timeline reads
        total += cp.timeline(prog, red_rows).clocks  # type: ignore[arg-type]
    return total


def _barrier_cycles(sched: cs.Schedule) -> list[int]:
    return [c for _, c in sched.barriers()]


def measure(
    name: str,
    counts: list[np.ndarray],
    columns: list[np.ndarray],
    grid: cs.Grid,
    z3: bool,
    block: int,
    red_rows: list[int],
    units: tuple[str, ...] | list[str] = (*cs.UNITS, cs.MERGED),
) -> list[dict]:
    rows = []
    combos = [
        (s, m, u) for s, m in SOLVERS for u in units if (z3 or m != "z3") and (u != "merged" or m == "flow")
    ]
    for scope, method, unit in combos:
        for mode in cs.MODES:
            t0 = time.perf_counter()
            if unit == "merged":  # needs the kept columns; max flow only
                sched = cm.compile_matrices(counts, columns, grid, mode, method, scope)
            else:
                sched = cs.compile_matrices(counts, grid, mode, method, scope, unit)
            wall = time.perf_counter() - t0
            cs.check_schedule(sched, counts, columns if unit == "merged" else None)
            idle = sched.idle()
            shared = cp.shared_barrier_cycles(sched)
            rows.append(
                {
                    "workload": name,
                    "grid": [grid.k, grid.l, grid.p, grid.q],
                    "pes": grid.pes,
                    "scope": scope,
                    "mode": mode,
                    "method": method,
                    "units": unit,
                    "barriers": len(sched.barriers()),
                    "macs": sched.macs,
                    "cycles": sched.cycles,
                    "barrier_cycles": _barrier_cycles(sched),
                    "utilization": sched.utilization,
                    # the array's program: one input neuron per PE column (csb_program.build)
                    "shared_input_cycles": sum(shared),
                    "shared_input_utilization": sched.macs / (grid.pes * sum(shared)) if sum(shared) else 0.0,
                    "idle": {k: v / idle["slots"] for k, v in idle.items() if k != "slots"},
                    "moved": sched.moved(),
                    "margin": sched.margin(),
                    "solve_seconds": sched.solve_seconds,
                    "wall_seconds": wall,
                }
            )
            if mode == "both" and method == "flow":
                lengths = tile_row_lengths(sched, counts)
                rows[-1]["overlapped_clocks"] = {r: overlapped_clocks(lengths, block, r) for r in red_rows}
                lengths = tile_row_lengths(sched, counts, shared)
                rows[-1]["overlapped_clocks_shared_input"] = {
                    r: overlapped_clocks(lengths, block, r) for r in red_rows
                }
    _gaps(rows)
    _print(name, rows)
    for r in rows:
        if "overlapped_clocks" in r:
            print(
                f"  {r['scope']:8s} {r['units']:7s} both flow on the array, MAC + overlapped reduction clocks (no I/O) at RED_ROWS "
                + ", ".join(
                    f"{k}: {v} (shared input {r['overlapped_clocks_shared_input'][k]})"
                    for k, v in r["overlapped_clocks"].items()
                )
            )
    bounds = {scope: tiling_bound(counts, grid, scope) for scope in cs.SCOPES}
    print(
        f"{name}: a perfect spread between barriers reaches "
        + ", ".join(f"{100 * v:.1f} % ({s})" for s, v in bounds.items())
    )
    rows.append(
        {"workload": name, "mode": "tiling bound", "utilization": bounds["round"], "by_scope": bounds}
    )
    spread = {scope: runs_bound(counts, grid, scope) for scope in cs.SCOPES}
    print(
        f"{name}: a perfect spread of the runs reaches "
        + ", ".join(f"{100 * u:.1f} % ({c} clocks, {s})" for s, (u, c, _) in spread.items())
        + f"; the runs' fill {100 * spread['round'][2]:.1f} %"
    )
    rows.append(
        {
            "workload": name,
            "mode": "runs bound",
            "utilization": spread["round"][0],
            "by_scope": {s: {"utilization": u, "clocks": c, "fill": f} for s, (u, c, f) in spread.items()},
        }
    )
    if "merged" in units:
        spread = {scope: runs_bound(counts, grid, scope, columns) for scope in cs.SCOPES}
        print(
            f"{name}: a perfect spread of the merged runs reaches "
            + ", ".join(f"{100 * u:.1f} % ({c} clocks, {s})" for s, (u, c, _) in spread.items())
            + f"; the merged runs' fill {100 * spread['round'][2]:.1f} %, at most "
            + f"{100 * chain_floor(counts, columns, grid):.1f} % for any program of the array"
        )
        rows.append(
            {
                "workload": name,
                "mode": "merged runs bound",
                "utilization": spread["round"][0],
                "fill_floor": chain_floor(counts, columns, grid),
                "by_scope": {
                    s: {"utilization": u, "clocks": c, "fill": f} for s, (u, c, f) in spread.items()
                },
            }
        )
    return rows


def _gaps(rows: list[dict]) -> None:
    """Optimality: the flow schedule's cycles at each barrier against z3's and greedy's (same scope, mode)."""
    key = {(r["scope"], r["mode"], r["method"], r["units"]): r for r in rows}
    for r in rows:
        if r["method"] != "flow":
            continue
        for other in ("z3", "greedy"):
            o = key.get((r["scope"], r["mode"], other, r["units"]))
            if o is not None:
                d = np.array(o["barrier_cycles"]) - np.array(r["barrier_cycles"])
                r[f"vs_{other}"] = {
                    "barriers_fewer_cycles": int((d > 0).sum()),
                    "barriers_more_cycles": int((d < 0).sum()),
                }


def _print(name: str, rows: list[dict]) -> None:
    print(f"\n{name}: utilization % (cycles)")
    print(
        f"{'scope':9s} {'units':8s} {'method':7s}"
        + "".join(f"{m:>18s}" for m in cs.MODES)
        + "   solver s (both)"
    )
    for scope, method, unit in dict.fromkeys((r["scope"], r["method"], r["units"]) for r in rows):
        cells = {r["mode"]: r for r in rows if (r["scope"], r["method"], r["units"]) == (scope, method, unit)}
        line = f"{scope:9s} {unit:8s} {method:7s}"
        for mode in cs.MODES:
            r = cells[mode]
            line += f"{100 * r['utilization']:10.1f} ({r['cycles']:5d})"
        print(line + f"   {cells['both']['solve_seconds']:7.2f}")
        line = (
            f"{'':9s} {'':8s} {'shared':7s}"  # the same schedules, one input neuron per PE column (the array)
        )
        for mode in cs.MODES:
            r = cells[mode]
            line += f"{100 * r['shared_input_utilization']:10.1f} ({r['shared_input_cycles']:5d})"
        print(line)
    for r in rows:
        if r["method"] == "flow" and r["mode"] != "none":
            i, mv = r["idle"], r["moved"]
            gap = ", ".join(
                f"vs {o}: {r[f'vs_{o}']['barriers_more_cycles']} barriers more, {r[f'vs_{o}']['barriers_fewer_cycles']} fewer"
                for o in ("z3", "greedy")
                if f"vs_{o}" in r
            )
            print(
                f"  {r['scope']:8s} {r['units']:7s} {r['mode']:10s} flow: idle {100 * i['rounding']:4.1f} % rounding + "
                f"{100 * i['imbalance']:4.1f} % imbalance; moved {mv['horizontal']} h + {mv['vertical']} v of "
                f"{r['macs']}; {gap}"
            )


def _grid(text: str) -> cs.Grid:
    k, l, p, q = (int(v) for v in text.split(","))  # noqa: E741
    return cs.Grid(k, l, p, q)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("build/bench/csb_schedule.json"))
    ap.add_argument("--grid", default="8,4,4,4", help="K,L,P,Q of the SR1 engine (the paper's 512 PEs)")
    ap.add_argument("--block", type=int, default=32, help="CSB block of the SR1 matrices")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="draws of the SR1 matrices")
    ap.add_argument("--norm-sigma", type=float, default=1.0, help="log-normal row / column scale (uneven)")
    ap.add_argument("--jv-grid", default="4,4,2,2", help="K,L,P,Q for the JapaneseVowels model")
    ap.add_argument("--jv-block", type=int, default=8)
    ap.add_argument("--jv-hidden", type=int, default=32)
    ap.add_argument("--jv-epochs", type=int, default=20)
    ap.add_argument("--runs", type=Path, default=Path("build/bench/csb_schedule_runs"))
    ap.add_argument("--skip-sr1", action="store_true")
    ap.add_argument(
        "--red-rows",
        type=int,
        nargs="+",
        default=[1, 2, 4, 8],
        help="reduced rows per clock (array's RED_ROWS)",
    )
    ap.add_argument("--no-z3", action="store_true", help="skip the z3 cross-check (the slowest solver)")
    ap.add_argument(
        "--units",
        nargs="+",
        choices=[*cs.UNITS, cs.MERGED],
        default=[*cs.UNITS, cs.MERGED],
        help="what the compiler balances: runs (the array's cost), entries (before issue 15), merged (runs of two kernels)",
    )
    ap.add_argument("--skip-jv", action="store_true", help="skip the JapaneseVowels model (trains once)")
    args = ap.parse_args()
    rows: list[dict] = []
    spreads: dict[str, dict] = {}
    z3 = not args.no_z3
    if not args.skip_sr1:
        for seed in args.seeds:
            for label, sigma in (("random", 0.0), (f"uneven norms s{args.norm_sigma:g}", args.norm_sigma)):
                t0 = time.perf_counter()
                counts, columns = sr1_kernels(seed, args.block, sigma)
                name = f"SR1 {label} 13x seed {seed}"
                spreads[name] = kernel_spread(counts)
                print(
                    f"{name}: projected in {time.perf_counter() - t0:.1f} s; kernel entries per block "
                    f"{spreads[name]}",
                    flush=True,
                )
                rows += measure(
                    name, counts, columns, _grid(args.grid), z3, args.block, args.red_rows, args.units
                )
    info: dict = {"skipped": True}
    if not args.skip_jv:
        args.runs.mkdir(parents=True, exist_ok=True)
        run = args.runs / f"jv-lstm-h{args.jv_hidden}-csb-b{args.jv_block}-13x-e{args.jv_epochs}-s0"
        counts, columns, info = jv_counts(run, args.jv_block, args.jv_epochs, args.jv_hidden)
        spreads[f"JapaneseVowels h{args.jv_hidden} trained 13x"] = kernel_spread(counts)
        rows += measure(
            f"JapaneseVowels h{args.jv_hidden} trained 13x",
            counts,
            columns,
            _grid(args.jv_grid),
            z3,
            args.jv_block,
            args.red_rows,
            args.units,
        )
    result = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "sr1": {
            **SR1,
            "block": args.block,
            "prune_rate": RATE_13X,
            "seeds": args.seeds,
            "grid": args.grid,
            "norm_sigma": args.norm_sigma,
        },
        "units": args.units,
        "japanese_vowels": {
            **info,
            "hidden": args.jv_hidden,
            "block": args.jv_block,
            "epochs": args.jv_epochs,
            "grid": args.jv_grid,
        },
        "kernel_spread": spreads,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(args.out, result, force=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
