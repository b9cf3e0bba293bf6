"""SR1 on the CSB engine behind ernn_top: simulated clocks per time step, bit-exact, against CSB-RNN's paper.

The TIMIT shape of the E-RNN and CSB-RNN papers (2-layer LSTMP 153 -> 1024 -> 512 with peepholes) in CSB
blocks of 32 at the paper's 13x (``ernn.export.writer.export_random`` with ``structure="csb"``: PyTorch's
initial weights through the CSB hard projection, not trained kernels), exported for ``rtl/ernn_top.v`` with the
CSB unit (``rtl/ernn_csb_unit.v``: one group array of ``--lanes`` PEs runs the four PE jobs of a step, each
its own program), simulated on Verilator for a few frames of one sequence without gaps or back-pressure
(``ernn.sim.rtl.run_rtl``) and checked bit for bit against the golden model. Per PE count it prints the
steady-state clocks per step, what the four jobs' group-array programs take (``job_array_cycles``: input
beats, MACs and reductions, the output beats they do not hide; ``job_mac_cycles``), the MAC floor
(ceil(kept weights / PEs)), the utilization of the MAC clocks, the latency at an assumed 200 MHz, and the
ratios to CSB-RNN's published 6.58 us (512 PEs, 200 MHz, ZCU102) and to our block-circulant design's
measured clocks (``--circulant-clocks``: SR1 packed, P = 1,152, 392 clocks; docs/performance.md).

    .venv/bin/python bench/bench_csb_top.py --lanes 512 1024 2048 --frames 4 --out build/bench/csb_top_sr1.json
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from ernn.dse import phase2 as dse_hw
from ernn.export import csb_unit
from ernn.export import writer as export
from ernn.export.writer import ExportedModel
from ernn.files import atomic
from ernn.sim import rtl as rtl_sim

CLOCK_MHZ = 200.0
PAPER_US = 6.58  # CSB-RNN (ICS 2020), SR1 on 512 PEs at 200 MHz
PAPER_PES = 512
BLOCK, RATE = 32, 1.0 - 1.0 / 13.0


def measure(
    lanes: int, frames: int, root: Path, seed: int, circulant_clocks: float, red_rows: int | None
) -> dict:
    shape = {k: v for k, v in dse_hw.SHAPES["sr1"].items() if k != "block_size"}
    model = root / (f"sr1-csb{BLOCK}-p{lanes}" + (f"-r{red_rows}" if red_rows else ""))
    csb_unit.RED_ROWS = red_rows  # None: the exporter's rule (csb_unit.reduction_rows)
    t0 = time.perf_counter()
    export.export_random(
        model, **shape, structure="csb", csb_block=BLOCK, prune_rate=RATE, lanes=lanes, seed=seed, force=True
    )
    export_s = time.perf_counter() - t0
    exported = ExportedModel(model)
    net, unit = exported.net, exported.config["hardware"]["csb_unit"]
    x, last = rtl_sim.gaussian_sequence(
        net.numerics.data, net.info.input_size, frames, np.random.default_rng(seed)
    )
    with tempfile.TemporaryDirectory() as work:
        res = rtl_sim.run_rtl(model, x, last, sim="verilator", work_dir=work, seed=seed)
    expected, _ = net.run_stream(x, last)
    cycles = float(res.cycles_per_step)
    macs = int(sum(unit["job_macs"]))
    mac_clocks = int(sum(unit["job_mac_cycles"]))
    row = {
        "lanes": lanes,
        "grid": unit["grid"],
        "red_rows": unit["red_rows"],
        "frames": frames,
        "bit_exact": bool(np.array_equal(res.outputs, expected)),
        "cycles_per_step": cycles,
        "output_spacing": np.diff(res.out_cycles).tolist(),
        "kept_weights": macs,
        "mac_floor": -(-macs // lanes),
        "job_mac_cycles": unit["job_mac_cycles"],
        "job_array_cycles": unit["job_array_cycles"],
        "mac_utilization": macs / (lanes * mac_clocks),
        "beyond_arrays": cycles - sum(unit["job_array_cycles"]),
        "latency_us_at_200mhz": cycles / CLOCK_MHZ,
        "vs_paper": cycles / CLOCK_MHZ / PAPER_US,
        "vs_circulant": cycles / circulant_clocks,
        "export_seconds": export_s,
        "sim_seconds": res.wall_seconds,
    }
    print(
        f"P = {lanes:5d}, {unit['red_rows']} rows reduced per clock: {cycles:7.1f} clocks/step ({row['latency_us_at_200mhz']:.2f} us at 200 MHz, "
        f"{row['vs_paper']:.2f}x the paper's {PAPER_US} us), MAC clocks {mac_clocks} (floor {row['mac_floor']}, "
        f"{100 * row['mac_utilization']:.1f} %), arrays {sum(unit['job_array_cycles'])}, "
        f"bit-exact {row['bit_exact']} (export {export_s:.0f} s, sim {res.wall_seconds:.0f} s)",
        flush=True,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lanes", type=int, nargs="+", default=[PAPER_PES], help="PE counts (powers of two)")
    ap.add_argument("--frames", type=int, default=4, help="frames simulated per PE count")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--red-rows", type=int, nargs="+", default=[0], help="rows reduced per clock (0: the exporter's rule)"
    )
    ap.add_argument(
        "--circulant-clocks", type=float, default=392.0, help="our circulant SR1's clocks per step"
    )
    ap.add_argument(
        "--models", type=Path, default=Path("build/bench/csb_top_models"), help="model directories"
    )
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args()
    if args.frames < 3:
        ap.error("--frames must be at least 3 (the steady state is the spacing after the first output)")
    args.models.mkdir(parents=True, exist_ok=True)
    rows = [
        measure(p, args.frames, args.models, args.seed, args.circulant_clocks, r or None)
        for p in args.lanes
        for r in args.red_rows
    ]
    print("\n| PEs | grid (K x L of P x Q) | rows reduced / clock | clocks/step | MAC clocks (floor) | utilization | us @ 200 MHz | "
          "vs paper 6.58 us | vs circulant | bit-exact |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        g = r["grid"]
        print(
            f"| {r['lanes']} | {g['K']} x {g['L']} of {g['P']} x {g['Q']} | {r['red_rows']} | {r['cycles_per_step']:.0f} | "
            f"{sum(r['job_mac_cycles'])} ({r['mac_floor']}) | {100 * r['mac_utilization']:.1f} % | "
            f"{r['latency_us_at_200mhz']:.2f} | {r['vs_paper']:.2f}x | {r['vs_circulant']:.2f}x | "
            f"{'yes' if r['bit_exact'] else 'NO'} |"
        )
    report = {
        "shape": "sr1",
        "csb_block": BLOCK,
        "prune_rate": RATE,
        "clock_mhz": CLOCK_MHZ,
        "paper_us": PAPER_US,
        "circulant_clocks": args.circulant_clocks,
        "results": rows,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "command": "bench/bench_csb_top.py",
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(args.out, report, force=True)
        print(f"\nwritten to {args.out}")
    if not all(r["bit_exact"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
