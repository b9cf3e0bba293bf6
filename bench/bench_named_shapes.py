"""Cycles per step of a fixed set of named shapes, on the checkout's RTL or another (``ERNN_HDL_DIR``).

The shapes whose figures tests pin (the split, fused and interleaved designs of tests/test_export_timing.py
and tb/ernn_top/test_ernn_top_split.py), the worst of the grid scan (``bench_cycles.py --grid``) and the
five shapes issue 18 names: each exported with random weights (the exporter's design for its shape and P),
simulated for a few frames on Verilator, every output compared with the golden model, and its steady state
reported against the ideal and the timing model (``bench_cycles.measure``). Run it twice, once with
``ERNN_HDL_DIR`` at a copy of an older revision's RTL, to compare two RTLs on the same exports:

    .venv/bin/python bench/bench_named_shapes.py --models build/bench/named_models --out build/bench/named.json
    git archive REV rtl fpga | (mkdir -p build/hdl_rev && tar -x -C build/hdl_rev)
    ERNN_HDL_DIR=$PWD/build/hdl_rev .venv/bin/python bench/bench_named_shapes.py \\
        --models build/bench/named_models_rev --out build/bench/named_rev.json

(docs/performance.md, "Loads forwarded from the writers": 18 shapes, about 10 minutes.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ernn.files import atomic

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_cycles

#: name -> bench_cycles.measure's shape (export_random keywords and P)
SHAPES: dict[str, dict] = {
    "lstmp_12_32_p16_k16_p7_2l": dict(
        cell="lstm",
        input_size=12,
        hidden_size=32,
        block_size=16,
        num_layers=2,
        lanes=7,
        proj_size=16,
        peephole=True,
    ),
    "gru_36_14_k4_p57": dict(cell="gru", input_size=36, hidden_size=14, block_size=4, num_layers=1, lanes=57),
    "gru_35_34_k4_p198_2l": dict(
        cell="gru", input_size=35, hidden_size=34, block_size=4, num_layers=2, lanes=198
    ),
    "gru_18_56_k4_p145_2l": dict(
        cell="gru", input_size=18, hidden_size=56, block_size=4, num_layers=2, lanes=145
    ),
    "gru_6_59_k4_p42_2l": dict(
        cell="gru", input_size=6, hidden_size=59, block_size=4, num_layers=2, lanes=42
    ),
    "gru_22_34_k4_p26_2l": dict(
        cell="gru", input_size=22, hidden_size=34, block_size=4, num_layers=2, lanes=26
    ),
    "gru_8_43_k4_p32_2l": dict(
        cell="gru", input_size=8, hidden_size=43, block_size=4, num_layers=2, lanes=32
    ),
    "gru_6_32_k4_p32": dict(cell="gru", input_size=6, hidden_size=32, block_size=4, num_layers=1, lanes=32),
    "lstm_12_24_k4_p256": dict(
        cell="lstm", input_size=12, hidden_size=24, block_size=4, num_layers=1, lanes=256
    ),
    "gru_6_40_k16_p128": dict(
        cell="gru", input_size=6, hidden_size=40, block_size=16, num_layers=1, lanes=128
    ),
    "gru_37_12_k16_p8_2l": dict(
        cell="gru", input_size=37, hidden_size=12, block_size=16, num_layers=2, lanes=8
    ),
    "lstmp_3_64_p8_k4_p256": dict(
        cell="lstm", input_size=3, hidden_size=64, block_size=4, num_layers=1, lanes=256, proj_size=8
    ),
    "lstmp_3_64_p8_k4_p256_2l": dict(
        cell="lstm", input_size=3, hidden_size=64, block_size=4, num_layers=2, lanes=256, proj_size=8
    ),
    "gru_3_40_k4_p256": dict(cell="gru", input_size=3, hidden_size=40, block_size=4, num_layers=1, lanes=256),
    "lstmp_3_64_p32_k8_p256": dict(
        cell="lstm", input_size=3, hidden_size=64, block_size=8, num_layers=1, lanes=256, proj_size=32
    ),
    "lstm_3_24_k4_p256": dict(
        cell="lstm", input_size=3, hidden_size=24, block_size=4, num_layers=1, lanes=256
    ),
    "lstmp_20_33_p6_k4_p171": dict(
        cell="lstm",
        input_size=20,
        hidden_size=33,
        block_size=4,
        num_layers=1,
        lanes=171,
        proj_size=6,
        peephole=True,
    ),
    "lstm_8_53_k4_p153_2l": dict(
        cell="lstm", input_size=8, hidden_size=53, block_size=4, num_layers=2, lanes=153
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, default=Path("build/bench/named_models"), help="model directories")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--frames", type=int, default=7, help="frames simulated per shape (default 7)")
    ap.add_argument("--seed", type=int, default=18, help="weights and input seed (default 18)")
    ap.add_argument("--only", nargs="+", choices=sorted(SHAPES), metavar="NAME", help="only these shapes")
    args = ap.parse_args()
    rows = []
    for name in args.only or list(SHAPES):
        rows.append(bench_cycles.measure(name, SHAPES[name], args.frames, args.models, seed=args.seed))
        if args.out is not None:  # kept after each shape: a long run interrupted keeps what it measured
            atomic.write_text(args.out, json.dumps(rows, indent=1) + "\n", force=True)
    bad = [r["name"] for r in rows if not r["bit_exact"]]
    print(
        f"{len(rows)} shapes, worst ratio {max(r['ratio_to_ideal'] for r in rows):.3f}; not bit-exact: {bad or 'none'}"
    )
    if args.out is not None:
        print(f"written to {args.out}")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
