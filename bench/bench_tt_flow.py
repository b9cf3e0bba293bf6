"""The TT training engine against its ideal, dense training and this machine's CPU (issue 17, "Must show").

Per TT-MLP shape (``ernn train-rtl``'s configurations, ernn/sim/tt_train.py):

* **cycles** -- one training step simulated on ``ernn_tt_train_top`` (Icarus; the status word the engine
  replies, measured in simulation; the run is checked bit-exact with the golden step) against the ideal,
  multiplies / multipliers (one multiplier; the updates could run beside it on their own unit), and
  where the cycles go: the step program's instructions by phase (forward, bias add, output error,
  backward activations, core and bias gradients, update, masks and pruning, constants, NOPs) plus the
  pipeline's fixed clocks;
* **memory** -- the engine's on-chip bits as built (data RAM: two read-port copies of 2**AW words of DW
  bits; program ROM: one word per instruction) for the TT model and for dense training of the same
  layer on the same engine (the compiler's one-core program: W as a single core), and the trained state
  with its exact gradients per format (what format-sized memories would hold) for both;
* **speed** -- steps per second on this machine's CPU, measured: the golden low-precision step
  (``golden.tt_train.mlp_step``, numpy) and a float PyTorch step of the same model (``ernn.train.tt
  .TTLinear``, squared error, SGD; torch's threads as set); against the engine at nextpnr's Fmax from the
  open-flow reports (``python -m ernn.sim.tt_flow``: measured by the placer's timing analysis, not on a
  board) and at the boards' oscillators, with the simulated cycles per step. The engine's figure assumes
  the batch is already on chip (the host's stream time is not counted) and that the design runs at the
  Fmax nextpnr reports; for shapes not placed and routed, the Fmax of the device's placed configuration
  is assumed (same engine, only the memories' depths differ). Prints a table and writes JSON.

    .venv/bin/python bench/bench_tt_flow.py --out build/bench/tt_flow.json \\
        --ecp5-report build/tt_flow/ecp5/report.json --ice40-report build/tt_flow/ice40/report.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ernn import paths
from ernn.export import tt_program as tp
from ernn.files import atomic
from ernn.sim import tt_train

# (inputs, outputs, cores, rank, batch): the ladder's small ones, the iCE40 and ECP5 fits, digits at rank 8
SHAPES = [(8, 4, 2, 2, 2), (12, 6, 2, 3, 3), (16, 8, 3, 2, 2), (64, 10, 2, 4, 4), (64, 10, 2, 8, 4)]
#: memory only (compiled, not simulated): a layer where the TT structure pays
MEMORY_ONLY = [(64, 64, 3, 4, 4), (128, 128, 4, 4, 4)]
PHASES = ("constants", "forward", "bias_add", "output_error", "backward", "core_gradients", "bias_gradient")
PHASES += ("update", "masks_and_pruning", "nop", "end")


def phases(prog: tp.Program) -> dict[str, int]:
    """The step program's instructions by phase, from the op and the region its result goes to (the
    compiler emits the phases in this order; see ernn/export/tt_program.py)."""
    reg = prog.regions
    where = {}
    for name, key in (("y", "bias_add"), ("gy", "output_error"), ("g_b", "bias_gradient")):
        where |= {int(a): key for a in np.asarray(reg[name]).reshape(-1) if a >= 0}
    for k in range(prog.shape.cores):
        where |= {int(a): "core_gradients" for a in np.asarray(reg[f"g_w{k}"]).reshape(-1)}
    out = dict.fromkeys(PHASES, 0)
    seen_error = seen_update = False
    for op, _first, _last, _shift, _satw, _a, _b, dst in prog.code[: prog.infer_pc]:
        if op == tp.NOP:
            key = "nop"
        elif op == tp.END:
            key = "end"
        elif op == tp.UPD:
            key, seen_update = "update", True
        elif seen_update:
            key = "masks_and_pruning"
        elif op == tp.LDI and not seen_error and dst not in where:
            key = "constants"
        else:
            key = where.get(int(dst), "backward" if seen_error else "forward")
            seen_error = seen_error or key == "output_error"
        out[key] += 1
    return out


def state_bits(prog: tp.Program, fmts) -> int:
    """Trained tensors and their exact gradients in their own formats: cores in ``core`` with each core
    gradient in TTTrainFormats.gradient_word of its sum; the bias in ``inter`` with its gradient in ``grad``
    plus the batch's growth; one bit per rank-mask entry."""
    shape, d, b = prog.shape, prog.shape.cores, prog.batch
    bits = 0
    for k in range(d):
        terms = b * math.prod(shape.col_modes[:k]) * math.prod(shape.row_modes[k + 1 :])
        word = fmts.gradient_word(terms, fmts.x.word if k == d - 1 else fmts.inter.word)
        bits += math.prod(shape.core_shape(k)) * (fmts.core.word + word)
    bits += shape.rows * (fmts.inter.word + fmts.grad.word + math.ceil(math.log2(max(b, 2))))
    return bits + sum(shape.ranks[1:-1])


def engine_bits(prog: tp.Program, dw: int) -> dict[str, int]:
    ram = 2 * (1 << prog.aw) * dw  # ernn_state_ram holds 2**AW words, one copy per read port
    rom = len(prog.code) * prog.width
    return {"ram_bits": ram, "rom_bits": rom, "total_bits": ram + rom, "memory_words": prog.words}


def memory_row(case: tuple[int, ...]) -> dict[str, object]:
    from ernn.golden import tt_train as gt
    from ernn.golden.tt_formats import TTTrainFormats
    from ernn.shape.structures import TensorTrain

    inputs, outputs, cores, rank, batch = case
    fmts = TTTrainFormats()
    tt = tp.compile_mlp(gt.mlp_shapes(inputs, outputs, TensorTrain(cores, rank))["w"], batch, fmts)
    dense = tp.compile_mlp(gt.mlp_shapes(inputs, outputs, None)["w"], batch, fmts)
    e_tt, e_dense = engine_bits(tt, tt_train.DW), engine_bits(dense, tt_train.DW)
    s_tt, s_dense = state_bits(tt, fmts), state_bits(dense, fmts)
    return {
        "shape": case,
        "engine_tt": e_tt,
        "engine_dense": e_dense,
        "engine_ratio_dense_over_tt": e_dense["total_bits"] / e_tt["total_bits"],
        "ram_ratio_dense_over_tt": e_dense["ram_bits"] / e_tt["ram_bits"],
        "state_tt_bits": s_tt,
        "state_dense_bits": s_dense,
        "state_ratio_dense_over_tt": s_dense / s_tt,
        "dense_step_cycles": tp.step_cycles(dense),
    }


def cpu_rates(prep: tt_train.Prepared, seconds: float) -> dict[str, float]:
    """Steps per second on this CPU (measured): the golden integer step and a float PyTorch step."""
    import torch

    from ernn.golden import tt_train as gt
    from ernn.golden.tt_formats import TTTrainFormats
    from ernn.shape.structures import TensorTrain
    from ernn.train.tt import TTLinear

    cfg = prep.config
    fmts = TTTrainFormats(lr_shift=cfg.lr_shift, prune_shift=cfg.prune_shift, seed=cfg.seed)
    shapes = gt.mlp_shapes(cfg.inputs, cfg.outputs, TensorTrain(cfg.cores, cfg.rank))
    state = gt.random_state(shapes, fmts, cfg.seed)
    x, t = prep.batches[0]
    labels = t.argmax(axis=1)

    def rate(step) -> tuple[float, float]:
        """Steps per wall second and per second of this process's CPU time: on a shared machine the
        second is the figure that other jobs do not dilute."""
        step()  # warm-up (imports, compiled kernels)
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            step()
            n += 1
        return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)

    golden = rate(lambda: gt.mlp_step(state, x, labels, fmts))
    layer = TTLinear(cfg.inputs, cfg.outputs, TensorTrain(cfg.cores, cfg.rank))
    opt = torch.optim.SGD(layer.parameters(), lr=2.0**-cfg.lr_shift)
    xf = torch.tensor(x / 2.0**fmts.x.frac, dtype=torch.float32)
    tf = torch.tensor(t / 2.0**fmts.inter.frac, dtype=torch.float32)

    def torch_step() -> None:
        opt.zero_grad()
        loss = 0.5 * ((layer(xf) - tf) ** 2).sum()
        loss.backward()
        opt.step()

    torch_rate = rate(torch_step)
    return {
        "golden_steps_per_s": golden[0],
        "golden_steps_per_cpu_s": golden[1],
        "torch_float_steps_per_s": torch_rate[0],
        "torch_float_steps_per_cpu_s": torch_rate[1],
    }


def simulated_cycles(prep: tt_train.Prepared) -> tuple[int, bool]:
    """One step on Icarus: the cycles the engine's status word reports, and whether it was bit-exact."""
    os.environ.setdefault("COCOTB_LOG_LEVEL", "WARNING")
    work = paths.cache_dir() / "runs"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-tt-", dir=work) as tmp:
        t0 = time.perf_counter()
        readback = tt_train.simulate(prep, sim="icarus", work_dir=Path(tmp))
        rep = tt_train.report(prep, readback, "icarus", time.perf_counter() - t0)
    return rep["cycles_per_step"][0], bool(rep["bit_exact"])


def _fmax(path: Path | None) -> dict[str, object] | None:
    if path is None or not path.is_file():
        return None
    r = json.loads(path.read_text())
    if "attempts" in r:  # a search's JSON: the largest configuration that fitted
        fits = [a for a in r["attempts"] if a["fits"]]
        if not fits:
            return None
        a = fits[-1]
        r = {"fmax": a["fmax"], "target_mhz": None, "program": a["program"], "device": r["device"]}
    return {
        "fmax_mhz": min(f["fmax_mhz"] for f in r["fmax"].values()),
        "target_mhz": r["target_mhz"],
        "config": r["program"]["config"],
        "device": r["device"],
        "report": str(path),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/tt_flow.json"))
    ap.add_argument(
        "--ecp5-report",
        type=Path,
        help="report.json of python -m ernn.sim.tt_flow ecp5 (or a search's JSON)",
    )
    ap.add_argument(
        "--ice40-report",
        type=Path,
        help="report.json of python -m ernn.sim.tt_flow ice40 (or a search's JSON)",
    )
    ap.add_argument(
        "--ice40-fmax", type=float, help="iCE40 Fmax in MHz from a search's log, when no report is at hand"
    )
    ap.add_argument("--seconds", type=float, default=2.0, help="time per CPU rate measurement")
    ap.add_argument("--quick", action="store_true", help="the first two shapes only")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # one core, as the golden step uses; a small layer gains nothing from more
    fmax = {"ecp5": _fmax(args.ecp5_report), "ice40": _fmax(args.ice40_report)}
    if fmax["ice40"] is None and args.ice40_fmax:
        fmax["ice40"] = {
            "fmax_mhz": args.ice40_fmax,
            "config": {},
            "device": "up5k",
            "report": "--ice40-fmax",
        }
    boards = {"ice40": 12.0, "ecp5": 25.0}
    rows = []
    head = f"{'shape (in,out,cores,rank,B)':28} {'cycles':>7} {'ideal':>7} {'ratio':>5} {'golden/cpu-s':>12} {'torch/cpu-s':>11}"
    head += "".join(f" {d + '@Fmax/s':>12}" for d in fmax if fmax[d])
    print(head)
    for case in SHAPES[:2] if args.quick else SHAPES:
        prep = tt_train.prepare(tt_train.TTTrainConfig(*case, steps=1))
        prog = prep.program
        cycles, exact = simulated_cycles(prep)
        ideal = max(prog.macs, prog.updates)
        row = {
            "shape": case,
            "cycles_simulated": cycles,
            "bit_exact": exact,
            "cycles_program": tp.step_cycles(prog),
            "multiplies": prog.macs,
            "updates": prog.updates,
            "ideal_cycles": ideal,
            "ratio_to_ideal": cycles / ideal,
            "cycles_by_phase": {**phases(prog), "pipeline": tp.PIPELINE_CYCLES},
            "memory": memory_row(case),
            "cpu": cpu_rates(prep, args.seconds),
        }
        row["engine_steps_per_s"] = {
            dev: {
                "at_fmax": f["fmax_mhz"] * 1e6 / cycles,
                "fmax_mhz": f["fmax_mhz"],
                "fmax_measured_for_this_shape": list(case)
                == [f["config"].get(k) for k in ("inputs", "outputs", "cores", "rank", "batch")],
                "at_board_clock": boards[dev] * 1e6 / cycles,
                "board_mhz": boards[dev],
            }
            for dev, f in fmax.items()
            if f
        }
        rows.append(row)
        line = f"{case!s:28} {cycles:7d} {ideal:7d} {cycles / ideal:5.2f} {row['cpu']['golden_steps_per_cpu_s']:12.0f}"
        line += f" {row['cpu']['torch_float_steps_per_cpu_s']:11.0f}"
        line += "".join(f" {v['at_fmax']:12.0f}" for v in row["engine_steps_per_s"].values())
        print(line)
    memory_only = [] if args.quick else [memory_row(c) for c in MEMORY_ONLY]
    print(
        f"\n{'memory (bits)':28} {'TT engine':>10} {'dense engine':>12} {'ratio':>6} {'TT state':>9} {'dense state':>11} {'ratio':>6}"
    )
    for m in [r["memory"] for r in rows] + memory_only:
        print(
            f"{m['shape']!s:28} {m['engine_tt']['total_bits']:10d} {m['engine_dense']['total_bits']:12d} "
            f"{m['engine_ratio_dense_over_tt']:6.2f} {m['state_tt_bits']:9d} {m['state_dense_bits']:11d} "
            f"{m['state_ratio_dense_over_tt']:6.2f}"
        )
    out = {
        "rows": rows,
        "memory_only": memory_only,
        "fmax": fmax,
        "measured": "CPU steps per wall second and per second of process CPU time (this machine, one thread), engine cycles per step (Icarus simulation of the "
        "RTL, bit-exact), Fmax (nextpnr's timing analysis of the routed design)",
        "assumed": "the chip runs at nextpnr's Fmax; the batch is on chip (stream time not counted); shapes "
        "not placed and routed run at the Fmax of the device's placed configuration",
        "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
        "cpu": os.uname().machine,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(args.out, out, force=True)  # temp + rename: an interrupted run leaves the old file
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
