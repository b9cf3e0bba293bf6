"""The CSB cost model's clocks per step against the RTL's, behind ernn_top, on shapes it was and was not fitted to.

``ernn.dse.csb_cost.unit_step_cycles`` prices a CSB model as the CSB unit runs it: each PE job's group-array
program (export's compiler) at its exact array clocks (``csb_program.array_cycles``), plus ``STEP_FIXED`` and
``STEP_PER_JOB`` per job, two constants fitted to the RTL on the "fit" shapes below. This bench exports each
shape with random weights (``export_random(structure="csb")``), simulates a few frames on Verilator (bit-exact
against the golden model, or it stops), and prints the measured steady-state clocks per step, the sum of
the jobs' array clocks, what is left over, the cost model's prediction from the model's own kernels and
its error; the "check" shapes were not used for the fit.

    .venv/bin/python bench/bench_csb_step_cycles.py --out build/bench/csb_step_cycles.json
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from ernn.dse import csb_cost
from ernn.export import csb_unit
from ernn.export import writer as export
from ernn.export.writer import ExportedModel
from ernn.files import atomic
from ernn.sim import rtl as rtl_sim

#: (role, export_random arguments): "fit" shapes set STEP_FIXED and STEP_PER_JOB, "check" shapes did not
SHAPES = [
    ("fit", dict(cell="lstm", input_size=6, hidden_size=16, csb_block=4, lanes=16)),
    ("fit", dict(cell="gru", input_size=6, hidden_size=12, csb_block=4, lanes=16)),
    (
        "fit",
        dict(cell="lstm", input_size=6, hidden_size=16, proj_size=8, peephole=True, csb_block=8, lanes=16),
    ),
    ("fit", dict(cell="gru", input_size=6, hidden_size=8, num_layers=2, csb_block=2, lanes=16)),
    ("fit", dict(cell="lstm", input_size=10, hidden_size=32, num_layers=2, csb_block=8, lanes=64)),
    ("fit", dict(cell="lstm", input_size=20, hidden_size=64, csb_block=16, lanes=32, csb_red_rows=2)),
    ("fit", dict(cell="gru", input_size=7, hidden_size=24, csb_block=4, lanes=8)),
    (
        "check",
        dict(cell="lstm", input_size=13, hidden_size=48, proj_size=16, num_layers=2, csb_block=8, lanes=32),
    ),
    (
        "check",
        dict(cell="gru", input_size=12, hidden_size=40, num_layers=2, csb_block=8, lanes=64, csb_red_rows=2),
    ),
    ("check", dict(cell="lstm", input_size=40, hidden_size=128, csb_block=32, lanes=128)),
    ("check", dict(cell="gru", input_size=20, hidden_size=32, proj_size=0, csb_block=16, lanes=16)),
    (
        "check",
        dict(cell="lstm", input_size=8, hidden_size=64, proj_size=32, peephole=True, csb_block=16, lanes=64),
    ),
]
RATE = 0.75


def measure(role: str, args: dict, seed: int, frames: int, root: Path) -> dict:
    model = root / f"m{seed}"
    export.export_random(model, structure="csb", prune_rate=RATE, seed=seed, force=True, **args)
    ex = ExportedModel(model)
    net, unit = ex.net, ex.config["hardware"]["csb_unit"]
    x, last = rtl_sim.gaussian_sequence(
        net.numerics.data, net.info.input_size, frames, np.random.default_rng(seed)
    )
    with tempfile.TemporaryDirectory() as work:
        res = rtl_sim.run_rtl(model, x, last, sim="verilator", work_dir=work, seed=seed)
    expected, _ = net.run_stream(x, last)
    if not np.array_equal(np.asarray(res.outputs), np.asarray(expected)):
        raise SystemExit(f"shape {args}: the RTL's outputs differ from the golden model's")
    counts, columns = csb_cost.model_kernels(net)
    lanes = ex.hardware["lanes"]
    cfg = csb_cost.HwConfig.build(
        net.info.shape if hasattr(net.info, "shape") else net.info, net.numerics, lanes,
        grid=csb_unit.engine_grid(lanes), counts=counts, columns=columns, method="flow",
        red_rows=unit["red_rows"],
    )  # fmt: skip
    predicted, _, _, jobs = csb_cost.unit_step_cycles(cfg)
    if jobs != unit["job_array_cycles"]:
        raise SystemExit(
            f"shape {args}: the cost model's job clocks {jobs} are not export's {unit['job_array_cycles']}"
        )
    measured = float(res.cycles_per_step)
    return {
        "role": role,
        "shape": args,
        "jobs": len(jobs),
        "job_array_cycles": jobs,
        "measured": measured,
        "beyond_arrays": measured - sum(jobs),
        "predicted": predicted,
        "error_percent": 100.0 * (predicted - measured) / measured,
        "bit_exact": True,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=6, help="frames simulated per shape")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args()
    rows = []
    t0 = time.perf_counter()
    print(f"STEP_FIXED {csb_cost.STEP_FIXED}, STEP_PER_JOB {csb_cost.STEP_PER_JOB}")
    print(
        f"{'role':5s} {'shape':70s} {'jobs':>4s} {'RTL':>6s} {'arrays':>6s} {'left':>5s} {'model':>6s} {'error':>7s}"
    )
    with tempfile.TemporaryDirectory(prefix="csb_step_") as tmp:
        for seed, (role, shape) in enumerate(SHAPES):
            r = measure(role, shape, seed, args.frames, Path(tmp))
            rows.append(r)
            desc = " ".join(f"{k}={v}" for k, v in shape.items())
            print(
                f"{role:5s} {desc:70s} {r['jobs']:4d} {r['measured']:6.0f} {sum(r['job_array_cycles']):6d} "
                f"{r['beyond_arrays']:5.0f} {r['predicted']:6d} {r['error_percent']:+6.1f}%",
                flush=True,
            )
    summary = {
        role: max(abs(r["error_percent"]) for r in rows if r["role"] == role) for role in ("fit", "check")
    }
    print(f"largest |error|: fit {summary['fit']:.1f} %, check {summary['check']:.1f} %")
    if args.out:
        result = {
            "bench": "csb_step_cycles",
            "step_fixed": csb_cost.STEP_FIXED,
            "step_per_job": csb_cost.STEP_PER_JOB,
            "prune_rate": RATE,
            "frames": args.frames,
            "rows": rows,
            "max_abs_error_percent": summary,
            "platform": platform.platform(),
            "seconds": time.perf_counter() - t0,
        }
        atomic.write_json(args.out, result, force=True)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
