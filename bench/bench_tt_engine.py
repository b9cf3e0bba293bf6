"""Cycles, memory and resources of the TT training engine (rtl/ernn_tt_engine.v, ernn_tt_train_top.v).

For each TT-MLP shape: the step program's instruction mix (ernn/export/tt_program.py), the clocks
of one training step (tt_program.step_cycles: the program length plus the pipeline; the cocotb
testbench checks the RTL takes exactly that many on Icarus and Verilator) against the ideal
(multiplies / multipliers: one multiplier, the updates on their own unit in parallel), and where the
cycles go; the memory of the trained state in bits, per format (what a format-sized memory would hold)
and as built (every word DW bits), against dense training of the same layer (W, its exact gradient, the
saved input). ``--yosys`` adds a ``synth_xilinx -family xc7`` estimate of ernn_tt_train_top for the
first shape (out of context; cells classified by ernn.fpga.open_flow.classify_cells).

For each TT-GRU shape (golden.tt_train.gru_step with recompute): the clocks of one step against the same
ideal, the instruction mix, how many MACs are products of two variables and how many scale by a constant
(a sum's ``x * 1``, the output error's ``* 2**k``), and the clocks per phase of the program (forward over
T steps and the head, the head's backward, the recomputed forward of every step, the backward through
time, the update, the masks and pruning).

    .venv/bin/python bench/bench_tt_engine.py --out build/bench/tt_engine.json [--yosys]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from ernn.export.tt_program import (  # noqa: E402
    GE,
    LDI,
    MAC,
    MAX,
    NOP,
    OP_NAMES,
    UPD,
    Program,
    compile_gru,
    compile_mlp,
    step_cycles,
)
from ernn.golden import tt_train as gt  # noqa: E402
from ernn.golden.tt_formats import TTTrainFormats  # noqa: E402
from ernn.shape.structures import TensorTrain  # noqa: E402

DW = 48
# (inputs, outputs, cores, rank, batch, prune_shift)
SHAPES = [
    (12, 6, 2, 3, 3, 0),
    (16, 8, 3, 2, 2, 0),
    (16, 10, 2, 4, 4, 0),
    (16, 10, 2, 4, 4, 1),
    (64, 32, 3, 4, 4, 0),
]
NAMES = {NOP: "nop", MAC: "mac", UPD: "upd", LDI: "ldi", MAX: "max", GE: "ge"}
# (inputs, hidden, classes, tt cores, rank, batch, T, prune_shift): the RTL tests' shapes, then a
# JapaneseVowels-sized cell (12 features, hidden 16, 9 classes) on a batch of 4 sequences of 8 steps
GRU_SHAPES = [
    (4, 4, 3, 2, 2, 2, 3, 0),
    (6, 4, 3, 2, 2, 3, 4, 0),
    (6, 6, 4, 2, 3, 2, 3, 1),
    (12, 16, 9, 2, 4, 4, 8, 0),
]


def gru_row(case: tuple[int, ...]) -> dict[str, object]:
    """Cycles of one TT-GRU step: against the ideal, the mix, the MACs that multiply two variables, the
    clocks per phase (a phase's NOPs included)."""
    inputs, hidden, classes, cores, rank, batch, seq_len, prune = case
    fmts = TTTrainFormats(prune_shift=prune)
    shapes = gt.gru_shapes(inputs, hidden, classes, TensorTrain(cores, rank))
    prog: Program = compile_gru(shapes, batch, seq_len, fmts)
    step = prog.code[: prog.infer_pc]
    consts = set(prog.regions["const"].tolist())
    scaled = sum(1 for op, _f, _l, _s, _w, a, b, _d in step if op == MAC and (a in consts or b in consts))
    phases = {
        name: {
            "clocks": sum(e - s for s, e in ranges),
            "macs": sum(1 for s, e in ranges for op, *_ in prog.code[s:e] if op == MAC),
        }
        for name, ranges in prog.phases.items()
    }
    cycles = step_cycles(prog)
    ideal = max(prog.macs, prog.updates)
    return {
        "shape": case,
        "cycles": cycles,
        "multiplies": prog.macs,
        "products_of_two_variables": prog.macs - scaled,
        "scaled_adds": scaled,
        "updates": prog.updates,
        "ideal_cycles": ideal,
        "ratio": cycles / ideal,
        "mix": {OP_NAMES[op]: sum(1 for o, *_ in step if o == op) for op in sorted({o for o, *_ in step})},
        "phases": phases,
        "infer_cycles": len(prog.code) - prog.infer_pc + 6,
        "program_words": len(prog.code),
        "memory_words": prog.words,
        "rom_bits": len(prog.code) * prog.width,
    }


def memory_bits(prog, fmts: TTTrainFormats, inputs: int, outputs: int, batch: int) -> dict[str, int]:
    """Bits of the trained state and its gradients, per format (cores in ``core``, each exact core
    gradient in TTTrainFormats.gradient_word of its sum), against dense training of the same layer (W in
    ``core``, its exact gradient over the batch); and the engine's memories as built."""
    shape = prog.shape
    d = shape.cores
    tt = 0
    for k in range(d):
        entries = math.prod(shape.core_shape(k))
        # dG_k sums over the batch, the column modes left of k and the row modes right of k
        terms = batch * math.prod(shape.col_modes[:k]) * math.prod(shape.row_modes[k + 1 :])
        word = fmts.gradient_word(terms, fmts.x.word if k == d - 1 else fmts.inter.word)
        tt += entries * (fmts.core.word + word)
    dense_w = inputs * outputs
    dense = dense_w * (fmts.core.word + fmts.gradient_word(batch, fmts.x.word))
    return {
        "tt_core_entries": sum(math.prod(shape.core_shape(k)) for k in range(d)),
        "dense_entries": dense_w,
        "tt_cores_and_gradients_bits": tt,
        "dense_w_and_gradient_bits": dense,
        "memory_words": prog.words,
        "memory_bits_as_built": prog.words * DW * 2,  # two read-port copies of DW-bit words
        "rom_bits": len(prog.code) * prog.width,
    }


def yosys_estimate(case: tuple[int, ...]) -> dict[str, object]:
    from ernn.fpga.open_flow import classify_cells
    from ernn.sim import runner as rtl_runner

    inputs, outputs, cores, rank, batch, prune = case
    fmts = TTTrainFormats(prune_shift=prune)
    prog = compile_mlp(gt.mlp_shapes(inputs, outputs, TensorTrain(cores, rank))["w"], batch, fmts)
    with tempfile.TemporaryDirectory() as tmp:
        rom = rtl_runner.write_memh(Path(tmp) / "prog.mem", prog.encode(), prog.width)
        files = " ".join(str(p) for p in rtl_runner.rtl_sources("ernn_tt_train_top"))
        params = {
            "DW": DW, "MUL_W": 24, "DEPTH": prog.words, "AW": prog.aw, "PROG_DEPTH": len(prog.code),
            "PROG_FILE": f'"{rom}"', "INFER_PC": prog.infer_pc, "LANES": fmts.sr_lanes,
        }  # fmt: skip
        script = [f"read_verilog -defer {files}"]
        script += [f"chparam -set {k} {v} ernn_tt_train_top" for k, v in params.items()]
        script += [
            "synth_xilinx -family xc7 -top ernn_tt_train_top -noiopad -flatten",
            "tee -o stat.txt stat",
        ]
        (Path(tmp) / "s.ys").write_text("\n".join(script) + "\n")
        subprocess.run(["yosys", "-q", "-s", "s.ys"], cwd=tmp, check=True, capture_output=True, text=True)
        cells: dict[str, int] = {}
        for line in (Path(tmp) / "stat.txt").read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit() and not parts[0].startswith("Number"):
                cells[parts[0]] = int(parts[1])
    return {
        "shape": case,
        "tool": "yosys 0.23 synth_xilinx -family xc7 (out of context)",
        **classify_cells(cells),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/tt_engine.json"))
    ap.add_argument("--yosys", action="store_true", help="add a Yosys synth_xilinx estimate (minutes)")
    args = ap.parse_args()
    rows = []
    print(f"{'shape (in,out,cores,rank,B,prune)':36} {'cycles':>7} {'ideal':>6} {'ratio':>6}  mix")
    for case in SHAPES:
        inputs, outputs, cores, rank, batch, prune = case
        fmts = TTTrainFormats(prune_shift=prune)
        prog = compile_mlp(gt.mlp_shapes(inputs, outputs, TensorTrain(cores, rank))["w"], batch, fmts)
        step = prog.code[: prog.infer_pc]
        mix = {NAMES[op]: sum(1 for o, *_ in step if o == op) for op in NAMES}
        cycles = step_cycles(prog)
        ideal = max(prog.macs, prog.updates)  # one multiplier; the updates could overlap on their own unit
        row = {
            "shape": case,
            "cycles": cycles,
            "multiplies": prog.macs,
            "updates": prog.updates,
            "ideal_cycles": ideal,
            "ratio": cycles / ideal,
            "mix": mix,
            "infer_cycles": len(prog.code) - prog.infer_pc + 6,
            **memory_bits(prog, fmts, inputs, outputs, batch),
        }
        rows.append(row)
        print(f"{case!s:36} {cycles:7d} {ideal:6d} {cycles / ideal:6.2f}  {mix}")
        print(
            f"{'':36} memory: TT cores+gradients {row['tt_cores_and_gradients_bits']} bits, dense "
            f"{row['dense_w_and_gradient_bits']} bits; engine RAM as built {row['memory_bits_as_built']} bits, "
            f"ROM {row['rom_bits']} bits"
        )
    gru_rows = []
    print(
        f"\n{'TT-GRU (in,hid,cls,cores,rank,B,T,prune)':40} {'cycles':>8} {'ideal':>8} {'ratio':>6}  phases"
    )
    for case in GRU_SHAPES:
        row = gru_row(case)
        gru_rows.append(row)
        phases = ", ".join(f"{n} {v['clocks']}" for n, v in row["phases"].items())
        print(f"{case!s:40} {row['cycles']:8d} {row['ideal_cycles']:8d} {row['ratio']:6.2f}  {phases}")
        print(
            f"{'':40} MACs {row['multiplies']}: {row['products_of_two_variables']} products, "
            f"{row['scaled_adds']} scaled adds; mix {row['mix']}"
        )
    out = {
        "rows": rows,
        "gru_rows": gru_rows,
        "gradient_word_note": "exact core gradients sized by TTTrainFormats.gradient_word",
    }
    if args.yosys:
        out["yosys"] = yosys_estimate(SHAPES[0])
        print(out["yosys"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
