"""Measured samples for the Phase II cost model: Yosys resources and RTL cycles per (model shape, P).

For every sample point the script exports a model with random weights (``ernn.export.writer.export_random``;
resources and cycles do not depend on the weight values), then

* runs ``ernn.fpga.open_flow.yosys_estimate`` (Yosys ``synth_xilinx -family xcu``, hierarchy kept) and keeps the
  total, the per-module and per-block breakdowns and the cost model's per-part one
  (``cost_model.part_breakdown``; LUT, FF, DSP, BRAM36, LUTRAM);
* simulates a few frames on Verilator (``ernn.sim.rtl.run_rtl``), checks the outputs bit for bit against
  the golden model, and keeps the steady-state cycles per time step.

``ernn.dse.cost_model`` is calibrated on the ``calibration`` points (``--fit`` writes its coefficients to
``ernn/dse/cost_coefficients.json``) and checked on all of them; ``ernn dse`` reports the error.
Results are appended to ``--out`` point by point, so an interrupted run resumes where it stopped. Each
point records the RTL revision it was built from; to measure a committed revision while rtl/ is being
edited, point ``ERNN_HDL_DIR`` at a copy (``git archive HEAD rtl fpga | tar -x -C DIR`` and the commit
in ``DIR/REVISION``). ``--reference`` adds a design synthesized elsewhere (``ernn synth``) as a check
point.

    ERNN_HDL_DIR=DIR .venv/bin/python bench/bench_cost_samples.py --out build/bench/cost_samples.json \
        [--only NAME ...] [--fit]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ernn import paths
from ernn.dse import phase2 as dse_hw
from ernn.export import writer as export
from ernn.export.writer import ExportedModel
from ernn.files import atomic
from ernn.fpga import open_flow as fpga
from ernn.sim import rtl as rtl_sim

#: name -> (export_random keyword arguments, P, role). Calibration points span P, k, cell, width and
#: model size; the check points (SR1, and the ones in between) are not used for fitting.
POINTS: dict[str, tuple[dict, int, str]] = {
    "lstm12x32_k8_p4": (
        {"cell": "lstm", "input_size": 12, "hidden_size": 32, "block_size": 8},
        4,
        "calibration",
    ),
    "lstm12x32_k8_p16": ({"cell": "lstm", "input_size": 12, "hidden_size": 32, "block_size": 8}, 16, "check"),
    "lstm12x32_k8_p32": (
        {"cell": "lstm", "input_size": 12, "hidden_size": 32, "block_size": 8},
        32,
        "calibration",
    ),
    "gru12x32_k8_p8": (
        {"cell": "gru", "input_size": 12, "hidden_size": 32, "block_size": 8},
        8,
        "calibration",
    ),
    "lstm12x64_k16_p16": (
        {"cell": "lstm", "input_size": 12, "hidden_size": 64, "block_size": 16},
        16,
        "calibration",
    ),
    "lstm12x64_k4_p8": ({"cell": "lstm", "input_size": 12, "hidden_size": 64, "block_size": 4}, 8, "check"),
    "lstmp40x64p32x2_k8_p16_peep": (
        {
            "cell": "lstm",
            "input_size": 40,
            "hidden_size": 64,
            "proj_size": 32,
            "num_layers": 2,
            "peephole": True,
            "block_size": 8,
        },
        16,
        "calibration",
    ),
    "gru12x32_k8_p16_8bit": (
        {"cell": "gru", "input_size": 12, "hidden_size": 32, "block_size": 8, "data_bits": 8},
        16,
        "check",
    ),
    # P a multiple of the 5 bins: rounds of whole row blocks, no gearbox lane muxes or bin rotation
    "lstm12x32_k8_p15": ({"cell": "lstm", "input_size": 12, "hidden_size": 32, "block_size": 8}, 15, "check"),
    # today's hardware choices (issue 18): an 8-bit data path with packed lanes (two weight products
    # per multiply), real lanes for bins 0 and k/2, two IFFTs side by side and the layers pipelined
    "lstmp40x64p32x2_k16_p144_8bit_pack": (
        {
            "cell": "lstm",
            "input_size": 40,
            "hidden_size": 64,
            "proj_size": 32,
            "num_layers": 2,
            "peephole": True,
            "block_size": 16,
            "data_bits": 8,
            "dsp_pack": True,
        },
        144,
        "calibration",
    ),
    # two IFFTs, 16 cell lanes (the exporter's choice for the issue's GRU 6 -> 40)
    "gru6x40_k16_p128": (
        {"cell": "gru", "input_size": 6, "hidden_size": 40, "block_size": 16},
        128,
        "calibration",
    ),
    # four IFFTs at k = 4 (the issue's LSTM 12 -> 24)
    "lstm12x24_k4_p256": (
        {"cell": "lstm", "input_size": 12, "hidden_size": 24, "block_size": 4},
        256,
        "check",
    ),
    "sr1_k16_p256": (dse_hw.SHAPES["sr1"], 256, "check"),
    # Phase II's choice for SR1 under CSB-RNN's 6.58 us: 32 row blocks of 9 bins per round
    "sr1_k16_p288": (dse_hw.SHAPES["sr1"], 288, "check"),
}


def simulate_cycles(model: Path, frames: int, seed: int) -> dict:
    net = ExportedModel(model).net
    d = net.numerics.data
    rng = np.random.default_rng(seed)
    x = np.clip(
        np.rint(rng.standard_normal((frames, net.info.input_size)) * 2.0**d.frac), d.min_int, d.max_int
    )
    x = x.astype(np.int64)
    last = np.zeros(frames, dtype=bool)
    last[-1] = True
    with tempfile.TemporaryDirectory() as work:
        res = rtl_sim.run_rtl(model, x, last, sim="verilator", work_dir=work, seed=seed)
    expected, _ = net.run_stream(x, last)
    return {
        "cycles_per_step": float(res.cycles_per_step),
        "bit_exact": bool(np.array_equal(res.outputs, expected)),
        "frames": frames,
        "sim_seconds": res.wall_seconds,
    }


def rtl_revision() -> str:
    """The revision of the RTL that is synthesized and simulated: the checkout's commit, with ``+dirty``
    when rtl/ has uncommitted changes, or the REVISION file of a copy named by ``ERNN_HDL_DIR`` (e.g.
    ``git archive HEAD rtl fpga``, so that a run is not mixed with someone's edits in progress)."""
    root = paths.hdl_root()
    if (root / "REVISION").is_file():
        return (root / "REVISION").read_text().strip()
    git = ["git", "-C", str(root)]
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "rtl"], capture_output=True, text=True).stdout
    return (head or "unknown") + ("+dirty" if dirty.strip() else "")


def measure(name: str, root: Path, seed: int) -> dict:
    shape, lanes, role = POINTS[name]
    revision = rtl_revision()  # before the build: what the synthesis reads
    model = root / name
    export.export_random(model, **shape, lanes=lanes, seed=seed, force=True)
    synth = fpga.yosys_estimate(model, root / f"{name}-synth", family="xcu", force=True)
    frames = 4 if shape["hidden_size"] > 256 else 8
    sim = simulate_cycles(model, frames, seed)
    row = {
        "name": name,
        "role": role,
        "shape": shape,
        "lanes": lanes,
        "model_dir": str(model),
        "rtl_revision": revision,
        "yosys": {k: synth[k] for k in ("used", "modules", "blocks", "seconds", "yosys", "family")},
        **sim,
    }
    refresh(row)
    used = synth["used"]
    print(
        f"{name}: LUT {used['lut']}, FF {used['ff']}, DSP {used['dsp']}, BRAM36 {used['bram36']} "
        f"({synth['seconds']:.0f} s); {sim['cycles_per_step']:.0f} cycles/step, bit-exact {sim['bit_exact']}",
        flush=True,
    )
    return row


def refresh(row: dict) -> None:
    """Fill in what the cost model reads: the block and part breakdowns (from Yosys's stat.json) and
    the cost model's configuration of the exported model (so that checks run without the model
    directory)."""
    from dataclasses import asdict

    from ernn.dse import cost_model

    model = Path(row["model_dir"])
    synth = Path(row.get("synth_dir") or model.parent / f"{model.name}-synth")
    stat = fpga.parse_stat_json((synth / "stat.json").read_text())
    row["yosys"]["blocks"] = fpga.block_breakdown(stat, "ernn_top")
    row["yosys"]["parts"] = cost_model.part_breakdown(stat, "ernn_top")
    row["hw_config"] = asdict(cost_model.config_of_model(model))


def reference(name: str, model: str, synth: str, cycles: str, revision: str) -> dict:
    """A check sample measured elsewhere: ``ernn synth``'s report.json and stat.json in ``synth`` for
    the exported ``model``, and its cycles per step from a bit-exact simulation (e.g. bench/bench_top.py),
    on the RTL of ``revision``."""
    stat = fpga.parse_stat_json((Path(synth) / "stat.json").read_text())
    report_file = Path(synth) / "report.json"  # written after the netlist's logic-depth walk
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    yosys = {
        "used": fpga.classify_cells(fpga.total_cells(stat, "ernn_top")),
        "modules": fpga.hierarchy_breakdown(stat, "ernn_top"),
        "seconds": report.get("seconds"),
        "yosys": report.get("yosys", "yosys (stat.json only)"),
        "family": report.get("family", "xcu"),
    }
    row = {
        "name": name,
        "role": "check",
        "shape": None,
        "lanes": json.loads((Path(model) / "config.json").read_text())["hardware"]["lanes"],
        "model_dir": model,
        "synth_dir": synth,
        "rtl_revision": revision,
        "yosys": yosys,
        "cycles_per_step": float(cycles),
        "bit_exact": True,
    }
    refresh(row)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("build/bench/cost_samples.json"))
    ap.add_argument("--only", nargs="+", choices=sorted(POINTS), help="measure only these points")
    ap.add_argument("--redo", action="store_true", help="measure points already in --out again")
    ap.add_argument("--models", type=Path, default=Path("build/bench/cost_models"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--refresh", action="store_true", help="recompute block breakdowns and configurations")
    ap.add_argument("--fit", action="store_true", help="then fit the cost model and write its coefficients")
    ap.add_argument(
        "--reference",
        nargs=5,
        action="append",
        default=[],
        metavar=("NAME", "MODEL", "SYNTH", "CYCLES", "REVISION"),
        help="add a check sample synthesized elsewhere (ernn synth --out SYNTH), its simulated cycles per "
        "step and the RTL revision it was built from",
    )
    args = ap.parse_args()
    args.models.mkdir(parents=True, exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(args.out.read_text()) if args.out.exists() else {"samples": {}}
    for name in [] if args.refresh else args.only or list(POINTS):
        if name in data["samples"] and not args.redo:
            print(f"{name}: already measured")
            continue
        data["samples"][name] = measure(name, args.models, args.seed)
        data["time"] = time.strftime("%Y-%m-%d %H:%M:%S")
        data["command"] = "bench/bench_cost_samples.py"
        atomic.write_text(args.out, json.dumps(data, indent=1) + "\n", force=True)  # kept after each point
    for ref in args.reference:
        data["samples"][ref[0]] = reference(*ref)
        atomic.write_text(args.out, json.dumps(data, indent=1) + "\n", force=True)
    if args.refresh:
        for row in data["samples"].values():
            refresh(row)
        atomic.write_text(args.out, json.dumps(data, indent=1) + "\n", force=True)
    if args.fit:
        from ernn.dse import cost_model

        coeffs = cost_model.fit(list(data["samples"].values()))
        atomic.write_text(cost_model.COEFFICIENTS_FILE, json.dumps(coeffs, indent=1) + "\n", force=True)
        print(f"coefficients: {cost_model.COEFFICIENTS_FILE}")


if __name__ == "__main__":
    main()
