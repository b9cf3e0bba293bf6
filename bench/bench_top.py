"""Accelerator throughput: simulated steady-state cycles per time step of rtl/ernn_top.v against the ideal.

Models (PyTorch's random initial weights; cycle counts do not depend on the weights):

* ``default`` — the embedded default model (LSTM, input 12, hidden 32, 1 layer, k 8) at several P,
  including the exporter's default;
* ``sr1`` — the E-RNN paper's SR1 shape for TIMIT: 2-layer LSTM with projection (LSTMP) and peepholes,
  input 153, hidden 1024, projection 512, k 16, at ``--sr1-lanes`` P.

Each is exported (``ernn.export.writer.export_random``, memories in the PE's layout for its P), simulated on
Verilator for a few frames of one sequence with no tvalid gaps and no back-pressure (``ernn.sim.rtl.run_rtl``),
checked bit for bit against the golden model, and compared with the cycle model
(``ernn.export.layout.cycle_model``): ideal = ceil(complex MACs / P) + pipeline latency; the PE's own round
schedule (``pe_issue_cycles``) and what the step takes beyond it (``beyond_pe_issue``: the part of the
recurrence latency the MACs do not hide) say where the cycles go. The latency at 200 MHz is set next to the published E-RNN (7.40 us, their FPGA design) and
CSB-RNN (6.58 us, 512 PEs) figures for the same TIMIT model.

    .venv/bin/python bench/bench_top.py --out build/bench/top.json
    # SR1's packed design point (8-bit data, two weight products per DSP multiply, P = 1152)
    .venv/bin/python bench/bench_top.py --skip-default --sr1-lanes 1152 --sr1-data-bits 8 --sr1-dsp-pack \
        --sr1-frames 4 --out build/bench/top_sr1_pack.json
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from ernn.dse import phase2 as dse_hw
from ernn.export import layout as hw_layout
from ernn.export import writer as export
from ernn.export.writer import ExportedModel
from ernn.files import atomic
from ernn.sim import rtl as rtl_sim

CLOCK_MHZ = 200.0
#: Published latency per time step of the SR1 TIMIT model (microseconds).
PUBLISHED = {"E-RNN (HPCA 2019)": 7.40, "CSB-RNN (512 PEs)": 6.58}

#: the default model and SR1 (shared with the Phase II exploration)
SHAPES = dse_hw.SHAPES


def measure(
    name: str,
    lanes: int,
    frames: int,
    sim: str,
    root: Path,
    seed: int,
    data_bits: int = 16,
    dsp_pack: bool = False,
) -> dict:
    model = root / (
        f"{name}-p{lanes}" + (f"-d{data_bits}" if data_bits != 16 else "") + ("-pack" if dsp_pack else "")
    )
    export.export_random(
        model, **SHAPES[name], lanes=lanes, seed=seed, data_bits=data_bits, dsp_pack=dsp_pack, force=True
    )
    exported = ExportedModel(model)
    net = exported.net
    x, last = rtl_sim.gaussian_sequence(
        net.numerics.data, net.info.input_size, frames, np.random.default_rng(seed)
    )
    with tempfile.TemporaryDirectory() as work:
        res = rtl_sim.run_rtl(model, x, last, sim=sim, work_dir=work, seed=seed)
    expected, _ = net.run_stream(x, last)
    cm = hw_layout.cycle_model(net.info, lanes)
    cycles = res.cycles_per_step
    row = {
        "model": name,
        "shape": SHAPES[name],
        "lanes": lanes,
        "data": str(net.numerics.data),
        "input_spectra": str(net.numerics.fft_out),
        "weight_spectra": str(net.numerics.weight_spectrum),
        "dsp_pack": bool(exported.config["hardware"].get("dsp_pack")),
        "real_bins": bool(exported.config["hardware"].get("real_bins")),
        "n_ifft": exported.config["hardware"]["n_ifft"],
        "cell_lanes": exported.config["hardware"]["cell_lanes"],
        "frames": frames,
        "sim": sim,
        "bit_exact": bool(np.array_equal(res.outputs, expected)),
        "cycles_per_step": cycles,
        "output_spacing": np.diff(res.out_cycles).tolist(),
        "first_output_latency": int(res.out_cycles[0] - res.in_cycles[0]),
        **cm.as_dict(),
        "ratio_to_ideal": cycles / cm.ideal,
        "beyond_pe_issue": cycles - cm.pe_issue_cycles,
        "latency_us_at_200mhz": cycles / CLOCK_MHZ,
        "wall_seconds": res.wall_seconds,
    }
    print(
        f"{name:8s} P={lanes:4d}: {cycles:7.1f} cycles/step, ideal {cm.ideal} "
        f"(MACs {cm.mac_cycles} + depth {cm.pipeline_depth}; PE issue {cm.pe_issue_cycles}), "
        f"ratio {row['ratio_to_ideal']:.3f}, {row['latency_us_at_200mhz']:.2f} us at 200 MHz, "
        f"bit-exact {row['bit_exact']} ({res.wall_seconds:.0f} s)",
        flush=True,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    ap.add_argument(
        "--default-lanes", type=int, nargs="+", default=None, help="P values for the default model"
    )
    ap.add_argument("--sr1-lanes", type=int, default=256, help="P for the SR1 shape")
    ap.add_argument("--frames", type=int, default=12, help="frames simulated for the default model")
    ap.add_argument("--sr1-frames", type=int, default=5, help="frames simulated for SR1")
    ap.add_argument("--skip-sr1", action="store_true", help="only the default model")
    ap.add_argument("--skip-default", action="store_true", help="only SR1")
    ap.add_argument("--sr1-data-bits", type=int, default=16, help="SR1's data-path width")
    ap.add_argument(
        "--sr1-dsp-pack",
        action="store_true",
        help="SR1 with two weight products per MAC multiply (export --dsp-pack; 8-bit data)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", type=Path, default=Path("build/bench/top_models"), help="model directories")
    args = ap.parse_args()
    args.models.mkdir(parents=True, exist_ok=True)

    from ernn.golden.float_reference import random_model
    from ernn.golden.network import describe_model

    default_desc = random_model("lstm", 12, 32, block_size=8)
    default_p = hw_layout.default_lanes(describe_model(default_desc))
    lanes = args.default_lanes or sorted({4, 8, default_p, 32})
    rows = []
    if not args.skip_default:
        rows = [measure("default", p, args.frames, args.sim, args.models, args.seed) for p in lanes]
    if not args.skip_sr1:
        rows.append(
            measure(
                "sr1",
                args.sr1_lanes,
                args.sr1_frames,
                args.sim,
                args.models,
                args.seed,
                args.sr1_data_bits,
                args.sr1_dsp_pack,
            )
        )
    sr1 = next((r for r in rows if r["model"] == "sr1"), None)
    report = {
        "clock_mhz": CLOCK_MHZ,
        "default_lanes": default_p,
        "published_us": PUBLISHED,
        "results": rows,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "command": "bench/bench_top.py",
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if sr1 is not None:
        report["sr1_vs_published"] = {k: v / sr1["latency_us_at_200mhz"] for k, v in PUBLISHED.items()}
    print(
        "\n| model | P | cycles/step | ideal | ratio | MAC cycles | depth | PE issue | us @ 200 MHz | bit-exact |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['lanes']} | {r['cycles_per_step']:.0f} | {r['ideal']} | {r['ratio_to_ideal']:.3f} | "
            f"{r['mac_cycles']} | {r['pipeline_depth']} | {r['pe_issue_cycles']} | "
            f"{r['latency_us_at_200mhz']:.2f} | {'yes' if r['bit_exact'] else 'NO'} |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(args.out, report, force=True)
        print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
