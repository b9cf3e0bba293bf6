"""Cycles per time step against the ideal over a seeded random sweep of shapes and P (issue 18).

Draws ``--count`` model shapes and lane counts from ``--seed`` (cell LSTM/GRU; input 3..48; hidden 8..64;
k 4/8/16; 1 or 2 layers; for LSTMs a projection and peepholes now and then; P log-uniform in 1..256),
plus the five shapes issue 18 names (``--issue-shapes``), exports each with random weights
(``ernn.export.writer.export_random``: the exporter's schedule, cell lanes and IFFTs side by side,
``ERNN_N_IFFT``, for that shape and P),
simulates a few frames of one sequence on Verilator (no tvalid gaps, no back-pressure; ``ernn.sim.rtl``),
checks every output against the golden model and reports the steady-state cycles per step (the median
spacing of output beats) against the cycle model (``ernn.export.schedule.cycle_model``): the ideal,
ceil(complex MACs / P) + pipeline depth, and the model's prediction of the cycles. Prints a table
with the worst ratio cycles / ideal and the worst prediction error, and writes JSON.

    .venv/bin/python bench/bench_cycles.py --count 9 --out build/bench/cycles.json

``--what-if`` prints instead, without simulating, the timing model's cycles for the issue shapes with one
IFFT, with the exporter's IFFTs (``schedule.n_ifft``), and with the layers pipelined across time steps
(``ernn.export.timing.step_timing(layer_skew=True)``), each with the cell lanes the exporter's rule would
give it.

``--compare-skew`` simulates every multi-layer shape of the sweep twice in one run: as exported (the
exporter pipelines the layers across steps where the timing model says it is faster, ``ERNN_LAYER_SKEW``,
``schedule.layer_skew``) and the same model directory with the header forced to the layers in order
(``ERNN_LAYER_SKEW = 0``, the RTL of before), each against the timing model's prediction for what it runs.

    .venv/bin/python bench/bench_cycles.py --count 9 --compare-skew --out build/bench/cycles_skew.json

``--model-scan`` runs no simulation: the timing model's prediction for ``--count`` shapes drawn from
``--seed`` (the exporter's design for each), the worst predicted ratio to the ideal and every shape over
1.25 (``schedule.TARGET_RATIO``); seconds for hundreds of shapes.

    .venv/bin/python bench/bench_cycles.py --model-scan --count 300 --seed 37 --out build/bench/cycles_scan.json

``--grid`` takes the shapes of a fixed grid over the same space (``GRID``, 6,216 shapes: every cell,
projection fraction, input, hidden size in steps of 8, k, layer count and P of it) instead of a random
draw, which reaches its worst corner (a 1-layer LSTMP at k 4, wide hidden, small projection, large P)
about once in a thousand shapes. With ``--model-scan`` it also groups the shapes over 1.25 by family;
without, it simulates the shapes named by ``--only``.

    .venv/bin/python bench/bench_cycles.py --grid --model-scan --out build/bench/cycles_grid.json

``--ifft-cost`` prints what one more IFFT costs (Yosys ``synth_xilinx -family xcu``, out of context): the
``ernn_ifft`` that ``rtl/ernn_pe.v`` instantiates, with the word widths and twiddles of a model exported at
k = 4, 8, 16 (each extra IFFT of ``ERNN_N_IFFT`` is one more of these; the gate buffer's banks and the
writer's lanes add a few muxes).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import platform
import re
import subprocess
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
from ernn.files import atomic, manifest
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


#: the grid of ``--grid``: every combination over the sweep's space, at its corners and between them
GRID = {
    "cell": ("gru", "lstm", "lstmp"),
    "input_size": (3, 12, 24, 48),
    "hidden_size": (8, 16, 24, 32, 40, 48, 56, 64),
    "block_size": (4, 8, 16),
    "num_layers": (1, 2),
    "lanes": (8, 16, 32, 64, 128, 192, 256),
    "proj_fraction": (8, 4, 2),  # LSTMP: projection = hidden / this (at least 4)
}


def grid_shapes() -> dict[str, dict]:
    """The shapes and P of :data:`GRID` (named as :func:`random_shapes` names them). The random draw
    reaches a corner of the space (a 1-layer LSTMP at k 4, a wide hidden layer, a small projection and
    a large P) about once in a thousand shapes; the grid holds every such corner."""
    shapes: dict[str, dict] = {}
    for cell, inp, hidden, k, layers, lanes in itertools.product(
        *(GRID[f] for f in ("cell", "input_size", "hidden_size", "block_size", "num_layers", "lanes"))
    ):
        projs = [max(4, hidden // f) for f in GRID["proj_fraction"]] if cell == "lstmp" else [None]
        for proj in sorted(set(projs)):
            if proj is not None and proj >= hidden:
                continue
            shape = {"cell": "gru" if cell == "gru" else "lstm", "input_size": inp, "hidden_size": hidden}
            shape |= {"block_size": k, "num_layers": layers, "lanes": lanes}
            if proj is not None:
                shape["proj_size"] = proj
            name = "_".join(f"{v}" if f == "cell" else f"{f[:2]}{int(v)}" for f, v in shape.items())
            shapes[name] = shape
    return shapes


def _variant(info: ModelShape, lanes: int, options: list[int], **kw: Any) -> tuple[int, int]:
    """Cycles and cell lanes of a what-if design: the lanes the exporter's rule (schedule.cell_lanes) gives it."""
    times = {cl: step_timing(info, lanes, cl, **kw).cycles for cl in options}
    best = min(times.values())
    cl = next(c for c in options if times[c] <= best * (1 + schedule.CELL_LANES_SLACK))
    return times[cl], cl


def what_if() -> None:
    """The timing model's cycles per step of the issue shapes: one IFFT in order, the exporter's choice (its
    IFFTs, the layers pipelined and a GRU's in job first where that is faster), and the layers pipelined
    with one IFFT and with the exporter's IFFTs (GRU jobs rz first in the variants)."""
    print(
        "| shape | P | ideal | 1 IFFT, in order | exporter's choice (now) | N | skew | GRU in first "
        "| pipelined, 1 IFFT | pipelined, N IFFTs |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, shape in ISSUE_SHAPES.items():
        kw = {k: v for k, v in shape.items() if k not in ("lanes", "block_size")}
        info = ModelShape(structure=BlockCirculant(shape["block_size"]), **kw)
        p = shape["lanes"]
        cm = hw_layout.cycle_model(info, p)
        k = shape["block_size"]
        options = sorted({hw_layout.default_cell_lanes(k), max(1, k // 2), k})

        n = cm.n_ifft
        one = _variant(info, p, options, iffts=1)
        skew = [
            _variant(info, p, options, layer_skew=True),
            _variant(info, p, options, iffts=n, layer_skew=True),
        ]

        def cell(c: int, cl: int, ideal: int = cm.ideal) -> str:
            return f"{c} ({c / ideal:.2f}, CL {cl})"

        print(
            f"| {name} | {p} | {cm.ideal} | {cell(*one)} | {cell(cm.predicted, cm.cell_lanes)} | {n} | "
            f"{'on' if cm.layer_skew else 'off'} | {'yes' if cm.gru_in_first else '—'} | "
            + " | ".join(cell(*v) for v in skew)
            + " |"
        )


def ifft_cost() -> None:
    """Yosys resources of one ``ernn_ifft`` as ``ernn_pe`` instantiates it, at k = 4, 8, 16."""
    from ernn.fpga import open_flow

    yosys = open_flow.need_tool("yosys")
    rtl = open_flow.RTL_DIR
    files = " ".join(
        str(rtl / f"{m}.v") for m in ("ernn_ifft", "ernn_fft_stage", "ernn_fft_bfly", "ernn_delay")
    )
    files += " " + " ".join(str(rtl / f"{m}.v") for m in ("ernn_round_sat", "ernn_cmul"))
    print("| k | IFFT word | output word | LUT | FF | DSP | CARRY |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for k in (4, 8, 16):
            model = Path(work) / f"k{k}"
            export.export_random(
                model, cell="lstm", input_size=k, hidden_size=k, block_size=k, lanes=1, seed=0
            )
            header = (model / "ernn_params.vh").read_text()

            def value(name: str, text: str = header) -> int:
                return int(re.search(rf"localparam integer {name} = (\d+);", text).group(1))

            in_w, out_w = value("ERNN_IFFT_W"), value("ERNN_IFFT_OUT_W")
            tw_w, tw_f = value("ERNN_TWIDDLE_W"), value("ERNN_TWIDDLE_F")
            params = f"-set K {k} -set IN_W {in_w} -set OUT_W {out_w} -set TW_W {tw_w} -set TW_F {tw_f}"
            script = "\n".join(
                [
                    f"read_verilog -defer {files}",
                    f'chparam {params} -set TW_FILE "{model / "mem" / "twiddle.mem"}" ernn_ifft',
                    "hierarchy -check -top ernn_ifft",
                    "synth_xilinx -family xcu -top ernn_ifft -noiopad",
                    "tee -q -o stat.json stat -json",
                ]
            )
            (model / "ifft.ys").write_text(script + "\n")
            subprocess.run([yosys, "-q", "-s", "ifft.ys"], cwd=model, check=True, capture_output=True)
            stat = open_flow.parse_stat_json((model / "stat.json").read_text())
            used = open_flow.classify_cells(open_flow.total_cells(stat, "ernn_ifft"))
            print(
                f"| {k} | Q{in_w}.{value('ERNN_IFFT_F')} | Q{out_w}.{value('ERNN_IFFT_F')} | {used['lut']} | "
                f"{used['ff']} | {used['dsp']} | {used['carry']} |",
                flush=True,
            )


HEADER = "ernn_params.vh"
SKEW_LINE = re.compile(r"localparam integer ERNN_LAYER_SKEW = (\d+);")
INTER_LINE = re.compile(r"localparam integer ERNN_INTERLEAVE = (\d+);")


def force_skew(model: Path, skew: int) -> None:
    """Rewrite the model directory's ERNN_LAYER_SKEW to ``skew`` (and its manifest, which names the header);
    the layers in order also un-interleave the stages (``ERNN_INTERLEAVE`` needs the layers pipelined)."""
    header = model / HEADER
    text, count = SKEW_LINE.subn(f"localparam integer ERNN_LAYER_SKEW = {skew};", header.read_text())
    if count != 1:
        raise ValueError(f"{header}: expected one ERNN_LAYER_SKEW line, found {count}")
    if not skew:
        text = INTER_LINE.sub("localparam integer ERNN_INTERLEAVE = 0;", text)
    header.write_text(text)
    kind = manifest.read(model).kind
    (model / manifest.MANIFEST).write_text(manifest.build(model, kind).text())


def measure(
    name: str,
    shape: dict,
    frames: int,
    root: Path,
    seed: int,
    sim: str = "verilator",
    skew: int | None = None,
) -> dict:
    """Export ``shape`` with random weights (``skew``: force ERNN_LAYER_SKEW), simulate ``frames`` frames of
    one sequence and compare the steady-state cycles per step with the ideal and the timing model."""
    model = root / name
    export.export_random(model, **shape, seed=seed, force=True)
    if skew is not None:
        force_skew(model, skew)
    exported = ExportedModel(model)
    net = exported.net
    x, last = rtl_sim.gaussian_sequence(
        net.numerics.data, net.info.input_size, frames, np.random.default_rng(seed)
    )
    with tempfile.TemporaryDirectory() as work:
        res = rtl_sim.run_rtl(model, x, last, sim=sim, work_dir=work, seed=seed)
    expected, _ = net.run_stream(x, last)
    cm = hw_layout.cycle_model(net.info, shape["lanes"])
    run_skew = bool(int(SKEW_LINE.search((model / HEADER).read_text()).group(1)))
    run_inter = bool(int(INTER_LINE.search((model / HEADER).read_text()).group(1)))
    # the prediction for what the RTL runs (a forced header may differ from the exporter's choice)
    predicted = step_timing(
        net.info,
        shape["lanes"],
        cm.cell_lanes,
        iffts=cm.n_ifft,
        layer_skew=run_skew,
        in_first=cm.gru_in_first,
        load_ahead=cm.load_ahead,
        interleave=run_inter,
        gru_fused=cm.gru_fused,
        split=cm.split,
        gate_forward=cm.gate_forward,
        proj_engine=cm.proj_engine,
    ).cycles
    cm = dataclasses.replace(cm, predicted=predicted, layer_skew=run_skew, interleave=run_inter)
    cycles = float(res.cycles_per_step)
    row = {
        "name": name,
        "shape": shape,
        "simulator": sim,
        "cell_lanes": exported.config["hardware"]["cell_lanes"],
        "n_ifft": exported.config["hardware"]["n_ifft"],
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
        f"{name:44s} P={shape['lanes']:4d} CL={row['cell_lanes']:2d} N_IFFT={row['n_ifft']} skew={int(run_skew)} "
        f"in_first={int(cm.gru_in_first)} ahead={int(cm.load_ahead)} inter={int(cm.interleave)} "
        f"fused={int(cm.gru_fused)} split={int(cm.split)}: "
        f"{cycles:6.1f} cycles/step, ideal {cm.ideal:4d}, "
        f"ratio {row['ratio_to_ideal']:.3f}, predicted {cm.predicted} ({100 * row['prediction_error']:+.1f} %), "
        f"bit-exact {row['bit_exact']} ({res.wall_seconds:.0f} s)",
        flush=True,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=9, help="random shapes (default 9)")
    ap.add_argument("--seed", type=int, default=18, help="seed of the sweep (default 18)")
    ap.add_argument("--frames", type=int, default=7, help="frames simulated per shape (default 7)")
    ap.add_argument("--no-issue-shapes", action="store_true", help="leave out the issue's five shapes")
    ap.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="NAME",
        help="simulate only these shapes of the sweep (by name)",
    )
    ap.add_argument(
        "--models", type=Path, default=Path("build/bench/cycles_models"), help="model directories"
    )
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--what-if", action="store_true", help="only the timing model's what-ifs (no simulation)")
    ap.add_argument(
        "--ifft-cost", action="store_true", help="only the Yosys resources of one IFFT (k 4, 8, 16)"
    )
    ap.add_argument(
        "--compare-skew",
        action="store_true",
        help="multi-layer shapes only, each as exported (layers pipelined) and forced in order, side by side",
    )
    ap.add_argument(
        "--sim", default="verilator", choices=("verilator", "icarus"), help="simulator (default verilator)"
    )
    ap.add_argument(
        "--grid",
        action="store_true",
        help="the shapes of a fixed grid over the sweep's space (GRID) instead of --count drawn from --seed",
    )
    ap.add_argument(
        "--model-scan",
        action="store_true",
        help="only the timing model over --count shapes from --seed (no simulation): the worst predicted ratio",
    )
    args = ap.parse_args()
    if args.grid and not (args.model_scan or args.only):
        ap.error(
            f"--grid holds {len(grid_shapes())} shapes: simulate some of them (--only NAME ...) or --model-scan"
        )
    if args.model_scan:
        if args.count < 1 and not args.grid:
            ap.error("--model-scan needs --count >= 1")
        model_scan(args)
        return
    if args.what_if:
        what_if()
        return
    if args.ifft_cost:
        ifft_cost()
        return
    if args.frames < 4:
        ap.error("--frames must be >= 4 (the steady state needs several output beats)")
    args.models.mkdir(parents=True, exist_ok=True)
    shapes = {} if args.no_issue_shapes else dict(ISSUE_SHAPES)
    shapes.update(grid_shapes() if args.grid else random_shapes(args.count, args.seed))
    if args.only:
        unknown = sorted(set(args.only) - set(shapes))
        if unknown:
            ap.error(
                f"--only: no shape named {', '.join(unknown)} in this sweep (names: {', '.join(shapes)})"
            )
        shapes = {name: shape for name, shape in shapes.items() if name in args.only}
    # the grid (and the model scan) hold shapes no model can have: k above every layer dimension, which the
    # trainer refuses (ernn.train.models); simulate the others and say which were left out
    unbuildable = sorted(
        n for n, s in shapes.items() if s["block_size"] > max(s["input_size"], s["hidden_size"])
    )
    if unbuildable:
        print(
            f"left out (k larger than every layer dimension, no model can have it): {', '.join(unbuildable)}"
        )
        shapes = {name: shape for name, shape in shapes.items() if name not in unbuildable}
    if not shapes:
        ap.error("no shape left to simulate")
    if args.compare_skew:
        compare_skew(shapes, args)
        return
    rows = [
        measure(name, shape, args.frames, args.models, args.seed, args.sim) for name, shape in shapes.items()
    ]
    worst = max(rows, key=lambda r: r["ratio_to_ideal"])
    worst_pred = max(rows, key=lambda r: abs(r["prediction_error"]))
    print(
        "\n| shape | P | cell lanes | IFFTs | cycles/step | ideal | ratio | predicted | error | bit-exact |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['name']} | {r['shape']['lanes']} | {r['cell_lanes']} | {r['n_ifft']} | "
            f"{r['cycles_per_step']:.0f} | {r['ideal']} | "
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
            "only": args.only,
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


def model_scan(args: argparse.Namespace) -> None:
    """The timing model alone (no simulation) over ``--count`` shapes drawn from ``--seed``: the exporter's
    design for each (``schedule.cycle_model``), its predicted cycles against the ideal, the worst ratio and
    every shape over ``schedule.TARGET_RATIO``. The model is within 10 % of every simulated shape
    (the tables of docs/performance.md), so this says where to look, not what the RTL takes."""
    rows, refused = [], []
    shapes = grid_shapes() if args.grid else random_shapes(args.count, args.seed)
    for name, shape in shapes.items():
        kw = {k: v for k, v in shape.items() if k not in ("lanes", "block_size")}
        try:
            info = ModelShape(structure=BlockCirculant(shape["block_size"]), **kw)
        except ValueError as err:  # a draw no model can have (a projection as wide as the hidden layer)
            refused.append({"name": name, "error": str(err)})
            continue
        cm = hw_layout.cycle_model(info, shape["lanes"])
        rows.append(
            {"name": name, "shape": shape, **cm.as_dict(), "predicted_ratio": cm.predicted / cm.ideal}
        )
    rows.sort(key=lambda r: -r["predicted_ratio"])
    over = [r for r in rows if r["predicted_ratio"] > schedule.TARGET_RATIO]
    # the exporter's designs meet the bound with the model's margin where some choice can
    guard = schedule.TARGET_RATIO / (1 + schedule.MODEL_MARGIN)
    near = [r for r in rows if r["predicted_ratio"] > guard]
    engine = sum(r["proj_engine"] for r in rows)
    print(
        "| shape | P | ideal | predicted | ratio | IFFTs | cell lanes | skew | interleaved | GRU fused | split |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows[: max(10, min(len(over), 30))]:
        print(
            f"| {r['name']} | {r['lanes']} | {r['ideal']} | {r['predicted']} | {r['predicted_ratio']:.3f} | "
            f"{r['n_ifft']} | {r['cell_lanes']} | {int(r['layer_skew'])} | {int(r['interleave'])} | "
            f"{int(r['gru_fused'])} | {int(r['split'])} |"
        )
    cells = sorted({r["shape"]["cell"] for r in over})
    families = _families(over, rows)
    if over:
        print("\n| family over the target | shapes over | of | worst ratio |\n|---|---|---|---|")
        for fam, (n_over, n_all, worst) in families.items():
            print(f"| {fam} | {n_over} | {n_all} | {worst:.3f} |")
    print(
        f"\n{len(rows)} shapes ({'the grid' if args.grid else f'seed {args.seed}'}); worst predicted ratio {rows[0]['predicted_ratio']:.3f} "
        f"({rows[0]['name']}); {len(over)} over {schedule.TARGET_RATIO} (cells: {', '.join(cells) or 'none'}); "
        f"{len(refused)} draws refused by ModelShape; {len(near)} over {guard:.3f} (the bound with the model's "
        f"margin, {schedule.MODEL_MARGIN:.0%}: no design of the exporter's meets it there); {engine} on the "
        "projection engine"
    )
    if args.out:
        report = {
            "benchmark": "timing model only: predicted cycles per step vs the ideal, "
            + ("a grid of shapes and P (GRID)" if args.grid else "seeded random shapes and P"),
            **({"grid": GRID} if args.grid else {"seed": args.seed, "count": args.count}),
            "families_over_target": {
                f: dict(zip(("over", "of", "worst"), v, strict=True)) for f, v in families.items()
            },
            "worst_predicted_ratio": rows[0]["predicted_ratio"],
            "worst_shape": rows[0]["name"],
            "over_target": len(over),
            "model_margin": schedule.MODEL_MARGIN,
            "over_target_with_margin": [r["name"] for r in near],
            "proj_engine_designs": engine,
            "refused": refused,
            "results": rows,
            "machine": {"platform": platform.platform(), "python": platform.python_version()},
            "command": "bench/bench_cycles.py --model-scan",
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(args.out, report, force=True)
        print(f"written to {args.out}")


def _families(over: list[dict], rows: list[dict]) -> dict[str, tuple[int, int, float]]:
    """The shapes over the target grouped by cell, projection, layers and k: per family the count over,
    the family's size in the scan and its worst predicted ratio (worst family first)."""

    def family(r: dict) -> str:
        sh = r["shape"]
        cell = "LSTMP" if sh.get("proj_size") else sh["cell"].upper()
        return f"{sh.get('num_layers', 1)}-layer {cell}, k {sh['block_size']}"

    sizes: dict[str, int] = {}
    for r in rows:
        sizes[family(r)] = sizes.get(family(r), 0) + 1
    out: dict[str, tuple[int, int, float]] = {}
    for r in over:
        n, _, worst = out.get(family(r), (0, 0, 0.0))
        out[family(r)] = (n + 1, sizes[family(r)], max(worst, r["predicted_ratio"]))
    return dict(sorted(out.items(), key=lambda kv: -kv[1][2]))


def compare_skew(shapes: dict[str, dict], args: argparse.Namespace) -> None:
    """Each multi-layer shape as exported and forced to the layers in order, measured side by side."""
    pairs = []
    for name, shape in shapes.items():
        if shape.get("num_layers", 1) < 2:
            continue
        after = measure(name, shape, args.frames, args.models, args.seed, args.sim)
        before = measure(f"{name}-in_order", shape, args.frames, args.models, args.seed, args.sim, skew=0)
        pairs.append({"name": name, "shape": shape, "pipelined": after, "in_order": before})
    if not pairs:
        raise SystemExit("--compare-skew: no multi-layer shape in this sweep")
    print(
        "\n| shape | P | in order | pipelined | ideal | ratio before | ratio now | predicted (in order, "
        "pipelined) | error (in order, pipelined) | bit-exact |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for pair in pairs:
        a, b = pair["pipelined"], pair["in_order"]
        print(
            f"| {pair['name']} | {pair['shape']['lanes']} | {b['cycles_per_step']:.0f} | "
            f"{a['cycles_per_step']:.0f}{'' if a['layer_skew'] else ' (exporter: in order)'} | {a['ideal']} | "
            f"{b['ratio_to_ideal']:.3f} | {a['ratio_to_ideal']:.3f} | {b['predicted']}, {a['predicted']} | "
            f"{100 * b['prediction_error']:+.1f} %, {100 * a['prediction_error']:+.1f} % | "
            f"{'yes' if a['bit_exact'] and b['bit_exact'] else 'NO'} |"
        )
    worst = max(pairs, key=lambda p: p["pipelined"]["ratio_to_ideal"])
    worst_pred = max(pairs, key=lambda p: abs(p["pipelined"]["prediction_error"]))
    exact = all(p["pipelined"]["bit_exact"] and p["in_order"]["bit_exact"] for p in pairs)
    print(
        f"\nworst cycles / ideal of the multi-layer shapes: {worst['pipelined']['ratio_to_ideal']:.3f} "
        f"({worst['name']}); worst prediction error: {100 * worst_pred['pipelined']['prediction_error']:+.1f} % "
        f"({worst_pred['name']}); all bit-exact: {exact}"
    )
    if args.out:
        report = {
            "benchmark": "cycles per time step, layers pipelined across steps vs in order (issue 18)",
            "seed": args.seed,
            "count": args.count,
            "only": args.only,
            "simulator": args.sim,
            "worst_ratio": worst["pipelined"]["ratio_to_ideal"],
            "worst_ratio_shape": worst["name"],
            "worst_prediction_error": worst_pred["pipelined"]["prediction_error"],
            "all_bit_exact": exact,
            "results": pairs,
            "machine": {"platform": platform.platform(), "python": platform.python_version()},
            "command": "bench/bench_cycles.py --compare-skew",
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(args.out, report, force=True)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
