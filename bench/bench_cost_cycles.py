"""Cycles only of the cost model's sample points on the checkout's RTL, against the cost model.

``bench_cost_samples.py`` measures each point's cycles and its Yosys resources on one revision (about
25 minutes with Yosys); this exports the same points (``bench_cost_samples.POINTS``, seed 0, as it does),
simulates them on Verilator (``bench_cost_samples.simulate_cycles``: 8 frames, every output compared with
the golden model) and compares the steady state with ``ernn.dse.cost_model.estimate``'s cycles, so that
an RTL change that moves clocks can be priced against the committed coefficients in minutes:

    .venv/bin/python bench/bench_cost_cycles.py --models build/bench/cost_cycle_models --out build/bench/cost_cycles.json

(docs/dse.md, "Cycles on session 41's RTL": 12 points, about 5 minutes.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ernn.dse import cost_model
from ernn.export import writer as export
from ernn.files import atomic

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_cost_samples

#: the points of docs/dse.md's tables, in their order (SR1 at P 256 and 288 left out: minutes each)
POINTS = [
    "lstm12x32_k8_p4",
    "lstmp40x64p32x2_k16_p144_8bit_pack",
    "lstm12x32_k8_p32",
    "gru12x32_k8_p8",
    "lstm12x64_k16_p16",
    "lstmp40x64p32x2_k8_p16_peep",
    "gru6x40_k16_p128",
    "lstm12x32_k8_p16",
    "lstm12x32_k8_p15",
    "gru12x32_k8_p16_8bit",
    "lstm12x64_k4_p8",
    "lstm12x24_k4_p256",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, default=Path("build/bench/cost_cycle_models"))
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--only", nargs="+", choices=POINTS, metavar="NAME", help="only these points")
    args = ap.parse_args()
    rows = []
    for name in args.only or POINTS:
        shape, lanes, role = bench_cost_samples.POINTS[name]
        model = args.models / name
        export.export_random(model, **shape, lanes=lanes, seed=0, force=True)
        sim = bench_cost_samples.simulate_cycles(model, 8, 0)
        predicted = cost_model.estimate(cost_model.config_of_model(model)).cycles_per_step
        row = {
            "name": name,
            "role": role,
            "rtl_revision": bench_cost_samples.rtl_revision(),
            "model_cycles": predicted,
            **sim,
            "error": (predicted - sim["cycles_per_step"]) / sim["cycles_per_step"],
        }
        rows.append(row)
        print(
            f"{name:40s} {sim['cycles_per_step']:6.1f} clocks, cost model {predicted:6.1f} "
            f"({100 * row['error']:+.1f} %), bit-exact {sim['bit_exact']}",
            flush=True,
        )
        if args.out is not None:
            atomic.write_text(args.out, json.dumps(rows, indent=1) + "\n", force=True)
    errors = [abs(r["error"]) for r in rows]
    print(
        f"{len(rows)} points: cost-model cycle error mean {100 * sum(errors) / len(errors):.1f} %, max {100 * max(errors):.1f} %"
    )
    if args.out is not None:
        print(f"written to {args.out}")
    if not all(r["bit_exact"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
