"""DSP48E2 packing in the PE's complex MAC (issue 18): Yosys estimate of what ``DSP_PACK`` saves.

Yosys ``synth_xilinx -family xcu`` (out of context, hierarchy kept, as docs/performance.md's table) of
``rtl/ernn_cmac_array.v`` (P lanes and their weight ROM) and of the whole ``rtl/ernn_pe.v`` at each P of
``--lanes``, side by side in one run for the multiplier forms of ``--forms``:

* ``3m``: today's three-multiplier complex product (3 multiplies per lane);
* ``4m``: the four-multiplier form (4 per lane);
* ``pack``: the packed form (``DSP_PACK = 1``, ernn_cmul PACK: 2 multiplies per lane, each forming two
  products x (c_hi 2**S + c_lo)), which needs FFT_W + 2 WS_W + 1 <= 27 and FFT_W <= 18;
* ``3m_real``, ``pack_real``: the same with real lanes for bins 0 and k/2 (``REAL_BINS``: one multiply
  each; P must be a multiple of k/2 + 1).

All at the same formats: ``NumericsConfig.for_data_bits(--bits, --k)`` with the weight spectra narrowed to
``--ws-bits`` (default: the widest that packs, ``ernn.export.dsp_pack``: 7 bits at 8-bit data and k = 16;
without a packed form the default, as wide as the data).
The weight ROM holds ``--w-depth`` random words (a constant ROM would let Yosys fold the multipliers).
Reported per (module, P, form): LUT (logic cells + LUTRAM cells), FF, DSP, BRAM36, CARRY8, the Yosys run
time, and per form the DSPs per lane; then each form's ratios to 3m, and (computed, to compare with the
``_real`` forms) the DSPs real lanes should save: with P a multiple of k/2 + 1, lanes l = 0 and k/2
(mod k/2 + 1) only ever see those bins.

``--accuracy RUN [RUN ...]`` (with ``--train``/``--test``) scores trained runs instead: each is exported at
``--bits`` (``ernn.export.writer.export``) and the golden model is evaluated on the test split with the
exported formats and with the weight spectra one bit narrower (the same range, one fraction bit less: the
exporter fits the range to the largest spectrum value, so only an LSB can go), without retraining.

    .venv/bin/python bench/bench_dsp_pack.py [--out build/bench/dsp_pack.json] [--lanes 9 18 36] \
        [--pe-lanes 9 18] [--forms 3m pack 3m_real pack_real] [--bits 8] [--k 16] [--ws-bits 7]
    .venv/bin/python bench/bench_dsp_pack.py --accuracy build/runs/fsdd/lstm_k8 build/runs/fsdd/gru_k8 \
        --train build/data/fsdd-take/train.npz --test build/data/fsdd-take/test.npz \
        --out build/bench/dsp_pack_accuracy.json
"""

from __future__ import annotations

import argparse
import math
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ernn.export import dsp_pack
from ernn.files import atomic
from ernn.fpga import open_flow as fpga
from ernn.golden.formats import NumericsConfig, QFormat, accumulator_word
from ernn.sim import runner as rtl_runner

XBUF_DEPTH = 8
#: multiplier forms: CMUL_3M, DSP_PACK, and whether the lanes of bins 0 and k/2 are real lanes (REAL_BINS)
FORMS = {
    "3m": (1, 0, False),
    "4m": (0, 0, False),
    "pack": (1, 1, False),
    "3m_real": (1, 0, True),
    "pack_real": (1, 1, True),
}


def numerics(bits: int, k: int, ws_bits: int) -> NumericsConfig:
    """Default formats for ``bits``, weight spectra narrowed to ``ws_bits`` (integer bits kept)."""
    cfg = NumericsConfig.for_data_bits(bits, k, max_input_blocks=XBUF_DEPTH)
    ws = QFormat(ws_bits, cfg.weight_spectrum.frac - (cfg.weight_spectrum.word - ws_bits))
    acc = QFormat(accumulator_word(cfg.fft_out.word, ws_bits, XBUF_DEPTH), cfg.fft_out.frac + ws.frac)
    return cfg.replace(weight_spectrum=ws, accumulator=acc)


def rom_file(work: Path, lanes: int, depth: int, width: int, seed: int) -> Path:
    """``depth`` random words of ``lanes`` x ``width`` bits (random weights: nothing constant to fold)."""
    rng = np.random.default_rng(seed)
    nbytes, mask = (lanes * width + 7) // 8, (1 << (lanes * width)) - 1
    words = [int.from_bytes(rng.bytes(nbytes), "little") & mask for _ in range(depth)]
    return rtl_runner.memh_file(work, f"w-p{lanes}", words, lanes * width)


def params_for(
    top: str, cfg: NumericsConfig, lanes: int, form: str, w_file: Path, tw_file: Path, depth: int
) -> dict[str, Any]:
    ws = cfg.weight_spectrum
    if top == "ernn_cmac_array":
        p = {"P": lanes, "X_W": cfg.fft_out.word, "W_W": ws.word, "ACC_W": cfg.accumulator.word}
    else:
        p = {
            "K": cfg.block_size,
            "P": lanes,
            "DATA_W": cfg.data.word,
            "DATA_F": cfg.data.frac,
            "FFT_W": cfg.fft_out.word,
            "TW_W": cfg.twiddle.word,
            "TW_F": cfg.twiddle.frac,
            "TW_FILE": str(tw_file),
            "WS_W": ws.word,
            "WS_F": ws.frac,
            "ACC_W": cfg.accumulator.word,
            "IFFT_W": cfg.ifft.word,
            "IFFT_F": cfg.ifft.frac,
            "OUT_W": cfg.ifft_out.word,
            "XBUF_DEPTH": XBUF_DEPTH,
            "ROWS_W": 8,
        }
    mul3, pack, real = FORMS[form]
    # the array takes the bins per row block, the PE a flag (it knows k)
    real_bins = (cfg.bins if top == "ernn_cmac_array" else 1) if real else 0
    return {
        **p,
        "W_DEPTH": depth,
        "W_FILE": str(w_file),
        "CMUL_3M": mul3,
        "DSP_PACK": pack,
        "REAL_BINS": real_bins,
    }


def pe_wrapper(params: dict[str, Any]) -> str:
    """A top that instantiates ernn_pe with ``params`` as literals and passes every port through (Yosys
    0.23's chparam on ernn_pe as the top stops at the first $error check, whatever the values)."""
    p = params
    xa, cnt = math.ceil(math.log2(p["XBUF_DEPTH"])), math.ceil(math.log2(p["XBUF_DEPTH"] + 1))
    wa = math.ceil(math.log2(p["W_DEPTH"]))
    lit = ", ".join(f'.{n}("{v}")' if isinstance(v, str) else f".{n}({v})" for n, v in p.items())
    ports = [
        ("input", 1, "s_cmd_valid"), ("output", 1, "s_cmd_ready"), ("input", xa, "s_cmd_load_base"),
        ("input", cnt, "s_cmd_load_count"), ("input", xa, "s_cmd_read_base"), ("input", cnt, "s_cmd_read_count"),
        ("input", p["ROWS_W"], "s_cmd_rows"), ("input", wa, "s_cmd_w_base"),
        ("input", p["K"] * p["DATA_W"], "s_axis_tdata"), ("input", 1, "s_axis_tvalid"), ("output", 1, "s_axis_tready"),
        ("output", p["K"] * p["OUT_W"], "m_axis_tdata"), ("output", 1, "m_axis_tuser"), ("output", 1, "m_axis_tlast"),
        ("output", 1, "m_axis_tvalid"), ("input", 1, "m_axis_tready"),
    ]  # fmt: skip
    decl = ",\n".join(f"    {d} wire [{w - 1}:0] {n}" for d, w, n in ports)
    conn = ", ".join(f".{n}({n})" for _, _, n in ports)
    return (
        f"module ernn_pe_synth (\n    input wire clk,\n    input wire rst,\n{decl}\n);\n"
        f"ernn_pe #({lit}) pe_inst (.clk(clk), .rst(rst), {conn});\nendmodule\n"
    )


def synth(top: str, params: dict[str, Any], work: Path) -> dict[str, float]:
    """synth_xilinx -family xcu of ``top`` with ``params``: LUT, FF, DSP, BRAM36, CARRY8, seconds."""
    work.mkdir(parents=True, exist_ok=True)
    # the PE's files (those that include an exported model's ernn_params.vh are not needed)
    files = " ".join(str(f) for f in fpga.rtl_files() if "`include" not in f.read_text())
    if top == "ernn_pe":
        (work / "ernn_pe_synth.v").write_text(pe_wrapper(params))
        lines = [f"read_verilog -defer {files} {work / 'ernn_pe_synth.v'}"]
        top = "ernn_pe_synth"
    else:
        lines = [f"read_verilog -defer {files}"]
        lines += [
            f'chparam -set {n} "{v}" {top}' if isinstance(v, str) else f"chparam -set {n} {v} {top}"
            for n, v in params.items()
        ]
    lines += [
        f"hierarchy -check -top {top}",
        f"synth_xilinx -family xcu -top {top} -noiopad",
        "tee -q -o stat.json stat -json",
    ]
    (work / "synth.ys").write_text("\n".join(lines) + "\n")
    yosys = fpga.need_tool("yosys")
    t0 = time.perf_counter()
    run = subprocess.run([yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=work, capture_output=True)
    wall = time.perf_counter() - t0
    if run.returncode:
        tail = (work / "yosys.log").read_text()[-2000:] if (work / "yosys.log").is_file() else ""
        raise RuntimeError(f"yosys failed on {top} {params}: {run.stderr.decode()[-500:]}\n{tail}")
    cells = fpga.total_cells(fpga.parse_stat_json((work / "stat.json").read_text()), top)
    used = fpga.classify_cells(cells)
    return {
        "lut": float(used["lut"] + used["lutram"]),
        "ff": float(used["ff"]),
        "dsp": float(used["dsp"]),
        "bram36": float(used["bram36"]),
        "carry8": float(used["carry"]),
        "yosys_s": wall,
    }


def real_bin_saving(k: int, lanes: int, dsp_per_lane: float) -> dict[str, float]:
    """DSPs a real multiply (1 DSP) would save on the lanes that only see bins 0 and k/2 (P a multiple of
    k/2 + 1: 2 such lanes per k/2 + 1); 0 when P is not a multiple (the lanes' bins rotate)."""
    bins = k // 2 + 1
    real_lanes = 2 * (lanes // bins) if lanes % bins == 0 else 0
    saved = real_lanes * (dsp_per_lane - 1)
    return {
        "real_lanes": real_lanes,
        "dsp_saved": saved,
        "fraction_of_mac_dsp": saved / (lanes * dsp_per_lane),
    }


def accuracy(run: Path, train: Path, test: Path, bits: int, work: Path) -> dict[str, Any]:
    """Golden accuracy of ``run`` exported at ``bits``, with its weight spectra as exported and one bit
    narrower (same range), on the test split."""
    from ernn import data
    from ernn.export import writer as export
    from ernn.golden.network import GoldenNetwork
    from ernn.sim import inference

    ds = data.load("classify", str(train), str(test))
    model_dir = work / f"{run.name}_q{bits}"
    export.export(run, model_dir, data_bits=bits, force=True, dataset=ds)
    model = export.ExportedModel(model_dir)
    cfg = model.net.numerics
    ws, acc = cfg.weight_spectrum, cfg.accumulator
    narrow = cfg.replace(
        weight_spectrum=QFormat(ws.word - 1, ws.frac - 1), accumulator=QFormat(acc.word - 1, acc.frac - 1)
    )
    out: dict[str, Any] = {"run": str(run), "bits": bits, "k": cfg.block_size, "sequences": len(ds.test)}
    for name, numerics_cfg in (("exported", cfg), ("narrow", narrow)):
        model.net = GoldenNetwork(model.desc, numerics_cfg)
        report = inference.evaluate(model, ds.test)
        out[name] = {
            "weight_spectrum": str(numerics_cfg.weight_spectrum),
            "packs": dsp_pack.dsp_pack(numerics_cfg),
            "float_accuracy": report["float_accuracy"],
            "golden_accuracy": report["golden_accuracy"],
            "output_rms_error": report["output_rms_error"],
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/dsp_pack.json"))
    ap.add_argument("--lanes", type=int, nargs="+", default=[9, 18, 36], help="P of the cmac array runs")
    ap.add_argument("--pe-lanes", type=int, nargs="*", default=[9, 18], help="P of the whole-PE runs")
    ap.add_argument(
        "--forms", nargs="+", default=["3m", "pack", "3m_real", "pack_real"], choices=sorted(FORMS)
    )
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument(
        "--ws-bits", type=int, default=None, help="weight-spectrum word (default: widest that packs)"
    )
    ap.add_argument("--w-depth", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--accuracy", type=Path, nargs="+", metavar="RUN", help="score trained runs instead")
    ap.add_argument("--train", type=Path, help="training split .npz of the runs (--accuracy)")
    ap.add_argument("--test", type=Path, help="test split .npz of the runs (--accuracy)")
    args = ap.parse_args()

    if args.accuracy:
        if args.train is None or args.test is None:
            ap.error("--accuracy needs --train and --test")
        rows = []
        with tempfile.TemporaryDirectory(prefix="ernn-dsp-pack-acc-") as tmp:
            for run in args.accuracy:
                r = accuracy(run, args.train, args.test, args.bits, Path(tmp))
                rows.append(r)
                e, n = r["exported"], r["narrow"]
                print(
                    f"{run}: k {r['k']}, {r['sequences']} test sequences, float {e['float_accuracy']:.2f} %; golden "
                    f"{e['weight_spectrum']} {e['golden_accuracy']:.2f} % (packs: {e['packs']}), "
                    f"{n['weight_spectrum']} {n['golden_accuracy']:.2f} % (packs: {n['packs']})"
                )
                atomic.write_json(args.out, {"machine": platform.platform(), "accuracy": rows}, force=True)
        print(f"wrote {args.out}")
        return

    fft_w = NumericsConfig.for_data_bits(args.bits, args.k).fft_out.word
    packs = any(FORMS[f][1] for f in args.forms)
    if args.ws_bits is not None:
        ws_bits = args.ws_bits
    elif packs:
        ws_bits = dsp_pack.widest_packable_weight_spectrum(fft_w)
    else:  # no packed form: the default weight-spectrum word (= data bits)
        ws_bits = NumericsConfig.for_data_bits(args.bits, args.k).weight_spectrum.word
    cfg = numerics(args.bits, args.k, ws_bits)
    pack_w = dsp_pack.packed_pair_bits(fft_w, ws_bits)
    problem = dsp_pack.dsp_pack_problem(cfg)
    if packs and problem is not None:
        sys.exit(f"bench_dsp_pack: {args.bits}-bit data at k = {args.k} does not pack: {problem}")
    print(
        f"synth_xilinx -family xcu, k = {args.k}, data {cfg.data}, input spectra {cfg.fft_out}, weight spectra "
        f"{cfg.weight_spectrum}"
        + (f" (packed pair {pack_w} bits)" if packs else "")
        + f", weight ROM {args.w_depth} words"
    )
    runs: list[dict[str, Any]] = []
    result: dict[str, Any] = {
        "machine": platform.platform(),
        "yosys": subprocess.run(
            [fpga.need_tool("yosys"), "-V"], capture_output=True, text=True
        ).stdout.strip(),
        "k": args.k,
        "numerics": cfg.to_dict(),
        "packed_pair_bits": pack_w,
        "runs": runs,
    }
    with tempfile.TemporaryDirectory(prefix="ernn-dsp-pack-") as tmp:
        work = Path(tmp)
        tw = rtl_runner.memh_file(
            work, "tw", rtl_runner.twiddle_words(args.k, cfg.twiddle), 2 * cfg.twiddle.word
        )
        plan = [("ernn_cmac_array", p) for p in args.lanes] + [("ernn_pe", p) for p in args.pe_lanes]
        for top, lanes in plan:
            wf = rom_file(work, lanes, args.w_depth, 2 * ws_bits, args.seed)
            by_form = {}
            for form in args.forms:
                params = params_for(top, cfg, lanes, form, wf, tw, args.w_depth)
                r = synth(top, params, work / f"{top}-p{lanes}-{form}")
                r.update(top=top, lanes=lanes, form=form, dsp_per_lane=r["dsp"] / lanes)
                by_form[form] = r
                runs.append(r)
                print(
                    f"  {top:16s} P {lanes:3d} {form:4s}: LUT {r['lut']:7.0f}  FF {r['ff']:7.0f}  DSP {r['dsp']:5.0f} "
                    f"({r['dsp_per_lane']:.2f}/lane)  BRAM36 {r['bram36']:5.1f}  CARRY8 {r['carry8']:5.0f}  {r['yosys_s']:.0f} s"
                )
                atomic.write_json(args.out, result, force=True)
            for form, r in by_form.items():
                if form != "3m" and "3m" in by_form:
                    b = by_form["3m"]
                    r["vs_3m"] = ratio = {
                        key: r[key] / b[key] if b[key] else None for key in ("lut", "ff", "dsp")
                    }
                    print(
                        f"  {'':16s}        {form}/3m: DSP {ratio['dsp']:.3f}  LUT {ratio['lut']:.3f}  FF {ratio['ff']:.3f}"
                    )
            if top == "ernn_cmac_array":
                for form, r in by_form.items():
                    if not FORMS[form][2]:
                        r["real_bins"] = real_bin_saving(args.k, lanes, r["dsp_per_lane"])
        atomic.write_json(args.out, result, force=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
