"""Does an RTL change move a clock? The same model, input and stall pattern on the RTL of REV and on this checkout.

For RTL changes that must be clock for clock neutral (a restructured gearbox, a re-encoded flag): each
model runs one seeded random stream, with tvalid gaps and tready back-pressure, on ``git archive REV rtl
fpga`` (through ``ERNN_HDL_DIR``) and on the working tree; both runs must be bit-exact with the golden
model, and the script reports whether every output beat came out on the same clock.

    .venv/bin/python bench/bench_same_clocks.py --before 4ab8b70 --models build/model_p80 \\
        --frames 12 --out build/bench/same_clocks.json

Exit status 1 when an output or a clock differs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ernn.export.writer import ExportedModel
from ernn.files import atomic
from ernn.paths import HDL_ENV
from ernn.sim import rtl as rtl_sim

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tb" / "ernn_top"))
from ernn_top_models import random_stream  # noqa: E402


def _run(model: Path, frames: int, sim: str, seed: int, work: Path) -> list[int]:
    net = ExportedModel(model).net
    x, last = random_stream(net, np.random.default_rng(seed), frames)
    res = rtl_sim.run_rtl(
        model, x, last, sim=sim, work_dir=work, seed=seed, valid_gap_prob=0.2, ready_stall_prob=0.2
    )
    expected, _ = net.run_stream(x, last)
    if not np.array_equal(res.outputs, expected):
        raise SystemExit(f"{model} on {sim} ({work.name}): outputs differ from the golden model")
    return [int(c) for c in res.out_cycles]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the commit whose RTL is compared with the checkout's")
    ap.add_argument("--models", type=Path, nargs="+", required=True, help="exported model directories")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--sim", default="verilator", choices=("icarus", "verilator"))
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", type=Path, help="write the result as JSON")
    args = ap.parse_args(argv)
    if args.frames < 2:
        ap.error(f"--frames must be >= 2 (got {args.frames})")
    for m in args.models:
        if not (m / "config.json").is_file():
            ap.error(f"--models: {m} is not an exported model directory (no config.json)")
    rev = subprocess.run(
        ["git", "rev-parse", "--verify", f"{args.before}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if rev.returncode:
        ap.error(f"--before: {args.before} is not a commit of this repository")
    results = []
    same_all = True
    with tempfile.TemporaryDirectory(prefix="ernn_same_clocks_") as tmp:
        hdl = Path(tmp) / "hdl_before"
        hdl.mkdir()
        archive = subprocess.run(
            ["git", "archive", rev.stdout.strip(), "rtl", "fpga"], cwd=ROOT, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(hdl)], input=archive.stdout, check=True)
        for model in args.models:
            os.environ[HDL_ENV] = str(hdl)
            try:
                before = _run(model, args.frames, args.sim, args.seed, Path(tmp) / f"{model.name}_before")
            finally:
                del os.environ[HDL_ENV]
            after = _run(model, args.frames, args.sim, args.seed, Path(tmp) / f"{model.name}_after")
            same = before == after
            same_all &= same
            moved = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
            print(
                f"{model}: bit-exact on both RTLs, {len(after)} output beats, "
                + (
                    "every beat on the same clock"
                    if same
                    else f"beats {moved[:8]} moved (first: {before[moved[0]]} -> {after[moved[0]]})"
                )
            )
            results.append({"model": str(model), "same_clocks": same, "before": before, "after": after})
    if args.out:
        atomic.write_json(
            args.out,
            {
                "before": args.before,
                "sim": args.sim,
                "frames": args.frames,
                "seed": args.seed,
                "models": results,
            },
            force=True,
        )
    return 0 if same_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
