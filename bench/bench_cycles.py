"""Cycles per time step against the ideal over a seeded random sweep of shapes and P (issue 18).

Draws ``--count`` model shapes and lane counts from ``--seed`` (cell LSTM/GRU; input 3..48; hidden 8..64;
k 4/8/16; 1 or 2 layers; for LSTMs a projection and peepholes now and then; P log-uniform in 1..256),
plus the five shapes issue 18 names (``--issue-shapes``), exports each with random weights
(``ernn.export.writer.export_random``: the exporter's schedule and cell lanes for that shape and P),
simulates a few frames of one sequence on Verilator (no tvalid gaps, no back-pressure; ``ernn.sim.rtl``),
checks every output against the golden model and reports the steady-state cycles per step (the median
spacing of output beats) against the cycle model (``ernn.export.schedule.cycle_model``): the ideal,
ceil(complex MACs / P) + pipeline depth, and the model's prediction of the cycles. Prints a table
with the worst ratio cycles / ideal and the worst prediction error, and writes JSON.

    .venv/bin/python bench/bench_cycles.py --count 12 --out build/bench/cycles.json

``--what-if`` prints instead, without simulating, the timing model's cycles for the issue shapes under
designs the RTL does not have (``ernn.export.timing.step_timing``: two or four IFFTs, layers pipelined
across time steps), each with the cell lanes the exporter's rule would give it.
"""

from __future__ import annotations

import argparse
import math
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ernn.export import layout as hw_layout
from ernn.export import schedule
from ernn.export import writer as export
from ernn.export.timing import step_timing
from ernn.export.writer import ExportedModel
from ernn.files import atomic
from ernn.shape import BlockCirculant, ModelShape
from ernn.sim import rtl as rtl_sim

#: the shapes issue 18 lists as missing 1.25x (cell, sizes, k, P)
ISSUE_SHAPES = {
    "gru_6_32_k4_p32": dict(cell="gru", input_size=6, hidden_size=32, block_size=4, lanes=32),
    "lstmp_12_32_p16_k16_p7_2l": dict(
        cell="lstm",
        input_size=12,
        hidden_size=32,
        proj_size=16,
        peephole=True,
        num_layers=2,
        block_size=16,
        lanes=7,
    ),
    "gru_6_40_k16_p128": dict(cell="gru", input_size=6, hidden_size=40, block_size=16, lanes=128),
    "gru_37_12_k16_p8_2l": dict(
        cell="gru", input_size=37, hidden_size=12, num_layers=2, block_size=16, lanes=8
    ),
    "lstm_12_24_k4_p256": dict(cell="lstm", input_size=12, hidden_size=24, block_size=4, lanes=256),
}


def random_shapes(count: int, seed: int) -> dict[str, dict]:
    """``count`` shapes and P drawn from ``seed`` (named by their fields)."""
    rng = np.random.default_rng(seed)
    shapes: dict[str, dict] = {}
    while len(shapes) < count:
        cell = str(rng.choice(["lstm", "gru"]))
        shape = {
            "cell": cell,
            "input_size": int(rng.integers(3, 49)),
            "hidden_size": int(rng.integers(8, 65)),
            "block_size": int(rng.choice([4, 8, 16])),
            "num_layers": int(rng.choice([1, 2])),
            "lanes": round(math.exp(rng.uniform(0.0, math.log(256.0)))),
        }
        if cell == "lstm" and rng.random() < 0.3:
            shape["proj_size"] = int(rng.integers(4, shape["hidden_size"] + 1))
        if cell == "lstm" and rng.random() < 0.3:
            shape["peephole"] = True
        name = "_".join(f"{v}" if k == "cell" else f"{k[:2]}{int(v)}" for k, v in shape.items())
        shapes[name] = shape
    return shapes


def _variant(info: ModelShape, lanes: int, options: list[int], **kw: Any) -> tuple[int, int]:
    """Cycles and cell lanes of a what-if design: the lanes the exporter's rule (schedule.cell_lanes) gives it."""
    times = {cl: step_timing(info, lanes, cl, **kw).cycles for cl in options}
    best = min(times.values())
    cl = next(c for c in options if times[c] <= best * (1 + schedule.CELL_LANES_SLACK))
    return times[cl], cl


def what_if() -> None:
    """The timing model's cycles per step of the issue shapes now and under designs the RTL lacks."""
    print("| shape | P | ideal | predicted | 2 IFFTs | 4 IFFTs | layers pipelined | both (4 IFFTs) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, shape in ISSUE_SHAPES.items():
        kw = {k: v for k, v in shape.items() if k not in ("lanes", "block_size")}
        info = ModelShape(structure=BlockCirculant(shape["block_size"]), **kw)
        p = shape["lanes"]
        cm = hw_layout.cycle_model(info, p)
        k = shape["block_size"]
        options = sorted({hw_layout.default_cell_lanes(k), max(1, k // 2), k})

        cells = [
            _variant(info, p, options, iffts=2),
            _variant(info, p, options, iffts=4),
            _variant(info, p, options, layer_skew=True),
            _variant(info, p, options, iffts=4, layer_skew=True),
        ]
        text = " | ".join(
            f"{c} ({c / cm.ideal:.2f}, CL {cl})" for c, cl in [(cm.predicted, cm.cell_lanes), *cells]
        )
        print(f"| {name} | {p} | {cm.ideal} | {text} |")


def measure(name: str, shape: dict, frames: int, root: Path, seed: int) -> dict:
    model = root / name
    export.export_random(model, **shape, seed=seed, force=True)
    exported = ExportedModel(model)
    net = exported.net
    rng = np.random.default_rng(seed)
    d = net.numerics.data
    x = np.clip(
        np.rint(rng.standard_normal((frames, net.info.input_size)) * 2.0**d.frac), d.min_int, d.max_int
    )
    x = x.astype(np.int64)
    last = np.zeros(frames, dtype=bool)
    last[-1] = True
    with tempfile.TemporaryDirectory() as work:
        res = rtl_sim.run_rtl(model, x, last, sim="verilator", work_dir=work, seed=seed)
    expected, _ = net.run_stream(x, last)
    cm = hw_layout.cycle_model(net.info, shape["lanes"])
    cycles = float(res.cycles_per_step)
    row = {
        "name": name,
        "shape": shape,
        "cell_lanes": exported.config["hardware"]["cell_lanes"],
        "frames": frames,
        "bit_exact": bool(np.array_equal(res.outputs, expected)),
        "cycles_per_step": cycles,
        "constant_spacing": bool(np.all(np.diff(res.out_cycles) == np.diff(res.out_cycles)[0])),
        **cm.as_dict(),
        "ratio_to_ideal": cycles / cm.ideal,
        "prediction_error": (cm.predicted - cycles) / cycles,
        "wall_seconds": res.wall_seconds,
    }
    print(
        f"{name:44s} P={shape['lanes']:4d} CL={row['cell_lanes']:2d}: {cycles:6.1f} cycles/step, ideal {cm.ideal:4d}, "
        f"ratio {row['ratio_to_ideal']:.3f}, predicted {cm.predicted} ({100 * row['prediction_error']:+.1f} %), "
        f"bit-exact {row['bit_exact']} ({res.wall_seconds:.0f} s)",
        flush=True,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=12, help="random shapes (default 12)")
    ap.add_argument("--seed", type=int, default=18, help="seed of the sweep (default 18)")
    ap.add_argument("--frames", type=int, default=7, help="frames simulated per shape (default 7)")
    ap.add_argument("--no-issue-shapes", action="store_true", help="leave out the issue's five shapes")
    ap.add_argument(
        "--models", type=Path, default=Path("build/bench/cycles_models"), help="model directories"
    )
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--what-if", action="store_true", help="only the timing model's what-ifs (no simulation)")
    args = ap.parse_args()
    if args.what_if:
        what_if()
        return
    if args.frames < 4:
        ap.error("--frames must be >= 4 (the steady state needs several output beats)")
    args.models.mkdir(parents=True, exist_ok=True)
    shapes = {} if args.no_issue_shapes else dict(ISSUE_SHAPES)
    shapes.update(random_shapes(args.count, args.seed))
    rows = [measure(name, shape, args.frames, args.models, args.seed) for name, shape in shapes.items()]
    worst = max(rows, key=lambda r: r["ratio_to_ideal"])
    worst_pred = max(rows, key=lambda r: abs(r["prediction_error"]))
    print("\n| shape | P | cell lanes | cycles/step | ideal | ratio | predicted | error | bit-exact |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['name']} | {r['shape']['lanes']} | {r['cell_lanes']} | {r['cycles_per_step']:.0f} | {r['ideal']} | "
            f"{r['ratio_to_ideal']:.3f} | {r['predicted']} | {100 * r['prediction_error']:+.1f} % | "
            f"{'yes' if r['bit_exact'] else 'NO'} |"
        )
    print(
        f"\nworst cycles / ideal: {worst['ratio_to_ideal']:.3f} ({worst['name']}, P = {worst['shape']['lanes']}); "
        f"worst prediction error: {100 * worst_pred['prediction_error']:+.1f} % ({worst_pred['name']}); "
        f"all bit-exact: {all(r['bit_exact'] for r in rows)}"
    )
    if args.out:
        report = {
            "benchmark": "cycles per time step vs the ideal, seeded random sweep of shapes and P (Verilator)",
            "seed": args.seed,
            "count": args.count,
            "worst_ratio": worst["ratio_to_ideal"],
            "worst_ratio_shape": worst["name"],
            "worst_prediction_error": worst_pred["prediction_error"],
            "all_bit_exact": all(r["bit_exact"] for r in rows),
            "results": rows,
            "machine": {"platform": platform.platform(), "python": platform.python_version()},
            "command": "bench/bench_cycles.py",
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(args.out, report, force=True)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
