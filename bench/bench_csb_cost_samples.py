"""Yosys samples of the CSB engine for the CSB cost model (``ernn.dse.csb_cost``), and its fit.

For every point (gates, rows, cols, CSB block, prune rate, data-path bits) the script draws a random matrix,
projects it onto CSB with the training stage's projection (``ernn.train.csb``), quantizes it with the golden
model (``ernn.golden.csb``), writes the exporter's four images (``ernn.export.csb.write_matrix``) and runs
Yosys ``synth_xilinx -family xcu`` on ``rtl/ernn_csb_engine.v`` (the one-MAC engine) with those images:
LUT, FF, DSP, BRAM36 of the whole engine. Resources do not depend on the weight values, only on the shape,
the widths and the image depths.

``--fit`` then fits ``ernn.dse.csb_cost``'s coefficients (least squares per resource on the structural
features of :func:`ernn.dse.csb_cost.engine_features`) on the ``calibration`` points and writes
``ernn/dse/csb_cost_coefficients.json`` with every point, its measured and predicted resources and the error,
calibration and check points apart.

    .venv/bin/python bench/bench_csb_cost_samples.py --out build/bench/csb_cost_samples.json --fit
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ernn.dse import csb_cost
from ernn.export import csb as ecsb
from ernn.files import atomic
from ernn.fpga import open_flow as fpga
from ernn.golden import csb as gcsb
from ernn.shape import ModelShape
from ernn.shape.structures import CSB
from ernn.train import csb as tcsb

#: name -> (gates, rows, cols, block, prune rate, data bits, role). The calibration points span the
#: accumulator count, the value memory in LUTs and in BRAM, and the data-path width; the check points
#: lie between and beyond them. All have power-of-two block rows and columns per gate: the engine finds a
#: block's place with blk / (BLOCK_ROWS BLOCK_COLS), blk / BLOCK_COLS and blk % BLOCK_COLS, which Yosys
#: builds as dividers when those are not powers of two (the "divider" point, kept apart from the fit).
POINTS: dict[str, tuple[int, int, int, int, float, int, str]] = {
    "g4_16x12_b8_r60_d16": (4, 16, 12, 8, 0.60, 16, "calibration"),
    "g4_32x32_b8_r75_d16": (4, 32, 32, 8, 0.75, 16, "calibration"),
    "g1_64x64_b16_r90_d16": (1, 64, 64, 16, 0.90, 16, "calibration"),
    "g3_32x40_b8_r50_d8": (3, 32, 40, 8, 0.50, 8, "divider"),
    "g4_64x64_b16_r85_d16": (4, 64, 64, 16, 0.85, 16, "calibration"),
    "g1_16x16_b4_r85_d8": (1, 16, 16, 4, 0.85, 8, "calibration"),
    "g3_32x32_b8_r60_d8": (3, 32, 32, 8, 0.60, 8, "calibration"),
    "g3_64x32_b16_r80_d12": (3, 64, 32, 16, 0.80, 12, "check"),
    "g4_128x64_b32_r92_d16": (4, 128, 64, 32, 0.923, 16, "check"),
    "g1_32x128_b32_r75_d8": (1, 32, 128, 32, 0.75, 8, "check"),
}


def matrix(gates: int, rows: int, cols: int, block: int, rate: float, bits: int, seed: int = 0):
    """A random CSB matrix, quantized by the golden model at a ``bits`` data path, and its numerics."""
    params = CSB(block, rate)
    rng = np.random.default_rng(seed)
    dense = tcsb.project(torch.from_numpy(rng.normal(size=(gates, rows, cols)) * 0.5), params).numpy()
    shape = ModelShape(cell="gru", input_size=cols, hidden_size=rows, structure=params)
    cfg = gcsb.numerics(shape, float(np.abs(dense).max()), 1.0, 0.0, bits=bits)
    return gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum), cfg


def engine_params(m, cfg, folder: Path) -> dict[str, object]:
    """ernn_csb_engine's parameters for a golden CSBMatrix (images written into ``folder``)."""
    staged = ecsb.write_matrix(m, folder, "m", cfg.weight_spectrum.word)
    return {
        "GATES": m.gates,
        "ROWS": m.rows,
        "COLS": m.cols,
        "BLOCK": m.block,
        "DATA_W": cfg.data.word,
        "W_W": cfg.weight_spectrum.word,
        "ACC_W": cfg.accumulator.word,
        "OUT_W": cfg.ifft_out.word,
        "SHIFT": cfg.accumulator.frac - cfg.ifft_out.frac,
        "COUNT_W": ecsb.count_word(m.block),
        "INDEX_W": ecsb.index_word(m.block),
        "ROWS_USED": int(m.row_index.size),
        "COLS_USED": int(m.col_index.size),
        "VALUES_USED": int(m.values.size),
        "COUNTS_FILE": str(Path(staged["counts"]).resolve()),
        "ROWS_FILE": str(Path(staged["rows"]).resolve()),
        "COLS_FILE": str(Path(staged["cols"]).resolve()),
        "VALUES_FILE": str(Path(staged["values"]).resolve()),
    }


#: the engine's elaboration-time checks lie between these (rtl/ernn_csb_engine.v)
CHECK_START = "initial begin\n    if (GATES < 1"
CHECK_IMAGES = "    $readmemh(COUNTS_FILE"
CHECK_WALK = "    // the images, block by block"
CHECK_END = "end\n/* verilator lint_on WIDTHEXPAND */"


def synthesizable_engine(work: Path, params: dict[str, object]) -> Path:
    """A copy of rtl/ernn_csb_engine.v with only the $readmemh calls left in its initial block: Yosys 0.23
    stops at the elaboration checks' $error ("Can't resolve task name `$error'": the file-name and image
    checks are not constant-folded) and they build no hardware. The parameters given here come from the
    exporter, whose images the simulators' elaboration check accepts (tb/ernn_csb_engine). The parameters
    are written in as the defaults (Yosys 0.23's chparam lost the file-name strings)."""
    text = (fpga.RTL_DIR / "ernn_csb_engine.v").read_text()
    start = text.index(CHECK_START)
    images = text.index(CHECK_IMAGES, start)
    walk = text.index(CHECK_WALK, images)
    end = text.index(CHECK_END, walk)
    path = work / "ernn_csb_engine.v"
    text = text[:start] + "initial begin\n" + text[images:walk] + text[end:]
    for name, value in params.items():
        text, n = re.subn(
            rf"(parameter {name} = )[^,\n]*",
            lambda mt, v=value: mt.group(1) + (f'"{v}"' if isinstance(v, str) else str(v)),
            text,
            count=1,
        )
        if n != 1:
            raise RuntimeError(f"rtl/ernn_csb_engine.v has no parameter {name}")
    path.write_text(text)
    return path


def synthesize(params: dict[str, object], work: Path) -> dict[str, float]:
    """Yosys synth_xilinx (xcu, hierarchy kept) of ernn_csb_engine with ``params``: LUT, FF, DSP, BRAM36."""
    yosys = fpga.need_tool("yosys")
    top = "ernn_csb_engine"
    sources = f"{synthesizable_engine(work, params)} {fpga.RTL_DIR / 'ernn_round_sat.v'}"
    lines = [
        f"read_verilog {sources}",
        f"hierarchy -check -top {top}",
        f"synth_xilinx -family xcu -top {top} -noiopad",
        "tee -q -o stat.json stat -json",
    ]
    (work / "synth.ys").write_text("\n".join(lines) + "\n")
    run = subprocess.run([yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=work, capture_output=True)
    if run.returncode:
        tail = (work / "yosys.log").read_text()[-2000:] if (work / "yosys.log").is_file() else ""
        raise RuntimeError(f"yosys failed on {params}: {run.stderr.decode()[-500:]}\n{tail}")
    stat = fpga.parse_stat_json((work / "stat.json").read_text())
    cells = fpga.total_cells(stat, top)
    used = fpga.classify_cells(cells)
    lutram_luts = sum(n * lutram_luts_per_cell(cell) for cell, n in cells.items())
    # the engine's accumulators, input buffer and images map to LUTRAM, which occupies SLICEM LUTs: the
    # model's LUT counts both (`lut_logic` is Yosys' LUT cells alone)
    return {
        "lut": float(used["lut"] + lutram_luts),
        "lut_logic": float(used["lut"]),
        "lutram_luts": float(lutram_luts),
        "ff": float(used["ff"]),
        "dsp": float(used["dsp"]),
        "bram36": float(used["bram36"]),
        "cells": cells,
    }


def lutram_luts_per_cell(cell: str) -> int:
    """LUT6 sites one distributed-RAM or shift-register cell occupies (UltraScale CLB)."""
    return fpga.lutram_sites(cell)


def sample(name: str) -> dict[str, object]:
    gates, rows, cols, block, rate, bits, role = POINTS[name]
    m, cfg = matrix(gates, rows, cols, block, rate, bits)
    with tempfile.TemporaryDirectory(prefix="csb_cost_") as tmp:
        work = Path(tmp)
        (work / "mem").mkdir()
        params = engine_params(m, cfg, work / "mem")
        t0 = time.perf_counter()
        used = synthesize(params, work)
        seconds = time.perf_counter() - t0
    config = csb_cost.EngineConfig(
        gates=gates,
        rows=rows,
        cols=cols,
        block=block,
        blocks=int(m.counts[..., 0].size),
        values=int(m.values.size),
        index_entries=int(m.row_index.size + m.col_index.size),
        data_w=cfg.data.word,
        w_w=cfg.weight_spectrum.word,
        acc_w=cfg.accumulator.word,
        out_w=cfg.ifft_out.word,
    )
    return {
        "name": name,
        "role": role,
        "engine": config.as_dict(),
        "yosys": used,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/bench/csb_cost_samples.json")
    ap.add_argument("--only", nargs="+", choices=sorted(POINTS))
    ap.add_argument("--fit", action="store_true", help="fit and write ernn/dse/csb_cost_coefficients.json")
    args = ap.parse_args()
    out = Path(args.out)
    done = json.loads(out.read_text()) if out.is_file() else {}
    for name in args.only or list(POINTS):
        if name in done and done[name]["engine"]["gates"] == POINTS[name][0]:
            continue
        s = sample(name)
        done[name] = s
        atomic.write_json(out, done, force=True)
        print(f"{name}: {s['yosys']} ({s['seconds']} s)")
    if args.fit:
        for name, s in done.items():  # the roles are this script's, not the stored ones
            s["role"] = POINTS[name][6] if name in POINTS else "unused"
        coeffs = csb_cost.fit([s for s in done.values() if s["role"] != "unused"])
        atomic.write_json(csb_cost.COEFFICIENTS_FILE, coeffs, force=True)
        for role, err in coeffs["error"].items():
            print(
                role, {q: f"{e['mean_abs_percent']:.1f} / {e['max_abs_percent']:.1f}" for q, e in err.items()}
            )


if __name__ == "__main__":
    main()
