"""Train a TT-MLP on the RTL training engine in simulation and check every step against the golden step
(``ernn train-rtl``).

The engine is ``rtl/ernn_tt_train_top.v`` (``ernn_tt_engine`` behind AXI4-Stream commands, docs/tt_engine.md);
its program ROM comes from :func:`ernn.export.tt_program.compile_mlp` for the configuration asked for. A run:

1. builds the configuration (:func:`prepare`): a TT-MLP ``inputs -> outputs`` in ``cores`` cores of rank
   ``rank`` (golden ``TTShape``), the golden formats (``TTTrainFormats``: learning rate 2**-lr_shift, rank
   pruning, the LFSR seed), random initial cores (``golden.tt_train.random_state``) and ``steps`` batches:
   random inputs in the ``x`` format with random labels, or scikit-learn's 8x8 digits (64 -> 10, pixels
   scaled to [0, 1] and rounded to ``x`` as docs/tensor_train.md section 6 does);
2. runs the golden step (``golden.tt_train.mlp_step``) on those batches, keeping the state after each;
3. simulates the engine (:func:`simulate`, cocotb through :mod:`ernn.sim.runner`, Icarus or Verilator):
   the cores, bias and rank masks are written in, then per step the batch's inputs and one-hot targets,
   STEP, and every trained word is read back; at the end an INFER on a held batch and its outputs y;
4. compares every word read back with the golden state of that step (:func:`first_divergence` names the
   step, the tensor -- core ``w<k>``, the bias ``b`` or the mask ``m<k>`` -- and the word) and writes the
   report (:func:`report`): cycles per step as the engine counted them against the program's count
   (``step_cycles``) and the ideal (multiplies / multipliers), the status words, bit-exactness.

All values are integers of their formats (docs/numerics.md, "Tensor-train training"): cores in ``core``
(Q8.6), the bias and the outputs in ``inter`` (Q16.10), inputs in ``x`` (Q8.5), targets one-hot in
``inter``. On the stream they travel as 32-bit two's complement words, sign-extended to the engine's DW.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ernn.export.tt_program import PIPELINE_CYCLES, Program, compile_mlp, step_cycles
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_tt_train_top"
TEST_MODULE = "ernn.sim.tt_train"
STIMULUS_FILE = "tt_stimulus.npz"
RESULT_FILE = "tt_result.npz"
#: the engine's default word and multiplier widths (the configuration tb/ernn_tt_train verifies); a run may
#: ask for narrower ones (the compiler checks that every operand and exact sum fits), which this module's
#: comparison then proves bit-exact or not
DW, MUL_W = 48, 24
CMD_WRITE, CMD_READ, CMD_STEP, CMD_INFER = 1, 2, 3, 4
#: a command's length field has 12 bits: longer regions move in several commands
MAX_LEN = (1 << 12) - 1
CLOCK_NS = 10
DATA_SETS = ("random", "digits")
DIGITS_SHAPE = (64, 10)
#: what a train-rtl output folder is (ernn.files.manifest kinds)
KIND = "tt-train"


@dataclass
class TTTrainConfig:
    """What ``ernn train-rtl`` trains (the golden configuration's options)."""

    inputs: int = 12
    outputs: int = 6
    cores: int = 2
    rank: int = 3
    batch: int = 3
    steps: int = 3
    seed: int = 1
    lr_shift: int = 6
    prune_shift: int = 0
    data: str = "random"
    dw: int = DW
    mul_w: int = MUL_W

    def check(self) -> None:
        """Refuse a configuration the engine or the golden step cannot take, naming the option."""
        for name in ("inputs", "outputs", "cores", "rank", "batch", "steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"--{name} must be a positive integer, got {value!r}")
        if self.cores > min(self.inputs, self.outputs):
            raise ValueError(
                f"--cores {self.cores}: a TT matrix {self.inputs} -> {self.outputs} has at most "
                f"{min(self.inputs, self.outputs)} cores (one mode of at least 2 per core on each side)"
            )
        if self.data not in DATA_SETS:
            raise ValueError(f"--data must be one of {', '.join(DATA_SETS)}, got {self.data!r}")
        if self.data == "digits" and (self.inputs, self.outputs) != DIGITS_SHAPE:
            raise ValueError(
                f"--data digits is a {DIGITS_SHAPE[0]} -> {DIGITS_SHAPE[1]} layer; got --inputs {self.inputs} "
                f"--outputs {self.outputs}"
            )
        if not (32 <= self.dw <= 64 and 2 <= self.mul_w and 2 * self.mul_w <= self.dw):
            raise ValueError(
                f"--dw {self.dw} --mul-w {self.mul_w}: the engine needs 32 <= DW <= 64 (the 32-bit stream words "
                "are sign-extended to DW) and 2 * MUL_W <= DW"
            )
        if not 0 <= self.seed < 1 << 32:
            raise ValueError(f"--seed must be in [0, 2**32), got {self.seed}")
        if self.data == "digits":
            from sklearn.datasets import load_digits

            count, have = (self.steps + 1) * self.batch, len(load_digits().target)
            if count > have:
                raise ValueError(
                    f"--data digits has {have} images; (steps + 1) x batch = {count} asked (one batch more than "
                    "the steps: the inference check after them)"
                )


@dataclass
class Prepared:
    """A configuration made concrete: the program, the golden run, the stimulus."""

    config: TTTrainConfig
    fmts: Any  # golden TTTrainFormats
    program: Program
    initial: dict[str, np.ndarray]  # trained tensors by region name, before step 1
    batches: list[tuple[np.ndarray, np.ndarray]]  # (x, one-hot targets) per step
    golden: list[dict[str, np.ndarray]]  # trained tensors after each step
    losses: list[float]
    infer_x: np.ndarray
    infer_y: np.ndarray
    trained: list[str] = field(default_factory=list)  # region names read back after every step

    def params(self, rom: Path) -> dict[str, Any]:
        """Verilog parameters of ernn_tt_train_top for this program (ROM image ``rom``)."""
        prog = self.program
        return {
            "DW": self.config.dw, "MUL_W": self.config.mul_w, "DEPTH": prog.words, "AW": prog.aw, "PROG_DEPTH": max(len(prog.code), 2),
            "PROG_FILE": rom, "INFER_PC": prog.infer_pc, "LANES": self.fmts.sr_lanes, "SEED": self.fmts.seed,
        }  # fmt: skip

    def regions(self) -> dict[str, tuple[int, int]]:
        """First address and size of every region the host moves (addresses are consecutive per region)."""
        out = {}
        for name in [*self.trained, "x", "t", "y"]:
            addrs = self.program.regions[name].reshape(-1)
            if not np.array_equal(addrs, addrs[0] + np.arange(addrs.size)):
                raise RuntimeError(f"region {name} of the program is not contiguous")
            out[name] = (int(addrs[0]), int(addrs.size))
        return out


def _tensor(state, name: str) -> np.ndarray:
    """A trained tensor of a golden state by its region name (``m<k>``: the rank mask of boundary k)."""
    return state.masks[f"w_mask{name[1:]}"] if name.startswith("m") else state.tensors[name]


def _data(config: TTTrainConfig, fmts, rng: np.random.Generator, count: int):
    """``count`` samples (x in the ``x`` format, labels) of the configured data set."""
    if config.data == "digits":
        from sklearn.datasets import load_digits

        from ernn.golden.ops import quantize

        digits = load_digits()
        pick = rng.permutation(len(digits.target))[:count]
        return quantize(digits.data[pick] / 16.0, fmts.x), digits.target[pick]
    x = rng.integers(fmts.x.min_int, fmts.x.max_int + 1, size=(count, config.inputs))
    return x, rng.integers(0, config.outputs, size=count)


def prepare(config: TTTrainConfig) -> Prepared:
    """Compile the program and run the golden steps for ``config`` (checked first)."""
    from ernn.golden import tt_train as gt
    from ernn.golden.tt_formats import TTTrainFormats
    from ernn.shape.structures import TensorTrain

    config.check()
    fmts = TTTrainFormats(lr_shift=config.lr_shift, prune_shift=config.prune_shift, seed=config.seed)
    shapes = gt.mlp_shapes(config.inputs, config.outputs, TensorTrain(config.cores, config.rank))
    program = compile_mlp(shapes["w"], config.batch, fmts, mul_w=config.mul_w, dw=config.dw)
    state = gt.random_state(shapes, fmts, config.seed)
    d = shapes["w"].cores
    trained = [f"w{k}" for k in range(d)] + ["b"] + [f"m{k}" for k in range(1, d)]
    initial = {n: _tensor(state, n).copy() for n in trained}
    rng = np.random.default_rng(config.seed)
    x_all, labels_all = _data(config, fmts, rng, (config.steps + 1) * config.batch)
    batches, golden, losses = [], [], []
    for s in range(config.steps):
        sl = slice(s * config.batch, (s + 1) * config.batch)
        x, labels = x_all[sl], labels_all[sl]
        state, result = gt.mlp_step(state, x, labels, fmts)
        batches.append((x, gt.one_hot(labels, config.outputs, fmts.inter)))
        golden.append({n: _tensor(state, n).copy() for n in trained})
        losses.append(result.loss)
    infer_x = x_all[config.steps * config.batch :]
    infer_y = gt.mlp_predict(state, infer_x, fmts)
    return Prepared(config, fmts, program, initial, batches, golden, losses, infer_x, infer_y, trained)


def simulate(
    prep: Prepared,
    *,
    sim: str,
    work_dir: Path,
    seed: int = 0,
    valid_gap_prob: float = 0.0,
    ready_stall_prob: float = 0.0,
) -> dict[str, np.ndarray]:
    """Run the training steps on ``ernn_tt_train_top``; return what was read back (``after<s>_<name>``,
    ``status`` (steps, 2): the step count and cycles each STEP replied, ``infer_status`` (the INFER's two
    words), ``infer_y``)."""
    work = Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    rom = rtl_runner.write_memh(work / "tt_program.mem", prep.program.encode(), prep.program.width)
    arrays = {"initial_" + n: v.reshape(-1) for n, v in prep.initial.items()}
    for s, (x, t) in enumerate(prep.batches):
        arrays[f"x{s}"], arrays[f"t{s}"] = x.reshape(-1), t.reshape(-1)
    arrays["infer_x"] = prep.infer_x.reshape(-1)
    for path in (work / STIMULUS_FILE, work / RESULT_FILE):
        path.unlink(missing_ok=True)
    np.savez(work / STIMULUS_FILE, **arrays)
    config = {
        "work_dir": str(work),
        "regions": prep.regions(),
        "trained": prep.trained,
        "steps": len(prep.batches),
        "seed": int(seed),
        "valid_gap_prob": float(valid_gap_prob),
        "ready_stall_prob": float(ready_stall_prob),
    }
    rtl_runner.run(
        TOPLEVEL, TEST_MODULE, prep.params(rom), sim=sim, config=config, testcase="train_steps", test_dir=work
    )
    result = work / RESULT_FILE
    if not result.is_file():
        raise RuntimeError(f"{sim}: the simulation ended without writing {result}")
    with np.load(result) as res:
        return {k: res[k] for k in res.files}


def infer_cycles(prog: Program) -> int:
    """Clocks of one INFER as ernn_tt_train_top counts them: the inference program's instructions (its END
    included) plus the pipeline, as :func:`ernn.export.tt_program.step_cycles` counts a step."""
    return len(prog.code) - prog.infer_pc + PIPELINE_CYCLES


def first_divergence(
    prep: Prepared, readback: dict[str, np.ndarray]
) -> tuple[dict[str, Any] | None, int, int]:
    """The first word (in step order, then tensor order, then word) where the RTL's read-back differs from
    the golden state of that step; and the mismatched and compared word counts over the whole run."""
    first, mismatches, compared = None, 0, 0
    for step, expected in enumerate(prep.golden):
        for name in prep.trained:
            want = expected[name].reshape(-1)
            got = readback[f"after{step}_{name}"]
            bad = np.flatnonzero(got != want)
            mismatches += int(bad.size)
            compared += int(want.size)
            if bad.size and first is None:
                w = int(bad[0])
                first = {
                    "step": step + 1,
                    "tensor": name,
                    "word": w,
                    "index": [int(i) for i in np.unravel_index(w, expected[name].shape)],
                    "rtl": int(got[w]),
                    "golden": int(want[w]),
                }
    return first, mismatches, compared


def describe_divergence(d: dict[str, Any], seed: int) -> str:
    what = {"b": "the bias"}.get(d["tensor"], "")
    if not what:
        kind = "core" if d["tensor"].startswith("w") else "rank mask of boundary"
        what = f"{kind} {d['tensor'][1:]} ({d['tensor']})"
    return (
        f"after step {d['step']}, {what}: first divergence at word {d['word']} (index {tuple(d['index'])}): "
        f"RTL {d['rtl']}, golden {d['golden']} (seed {seed})"
    )


def report(prep: Prepared, readback: dict[str, np.ndarray], sim: str, wall: float, **extra) -> dict[str, Any]:
    """The run's report: configuration, program, cycles per step (measured, expected, ideal), status words,
    bit-exactness of every step and of the inference."""
    cfg, prog = prep.config, prep.program
    first, mismatches, compared = first_divergence(prep, readback)
    status = readback["status"]
    cycles = [int(c) for c in status[:, 1]]
    counts = [int(c) for c in status[:, 0]]
    expected = step_cycles(prog)
    ideal = max(prog.macs, prog.updates)  # one multiplier; the updates could overlap on their own unit
    infer_bad = np.flatnonzero(readback["infer_y"] != prep.infer_y.reshape(-1))
    # the INFER leaves the step count as it was and takes the inference program's clocks
    counts_ok = counts == list(range(1, cfg.steps + 1)) and [int(v) for v in readback["infer_status"]] == [
        cfg.steps,
        infer_cycles(prog),
    ]
    shape = prog.shape
    return {
        "toplevel": TOPLEVEL,
        "simulator": sim,
        "config": {**vars(cfg)},
        "shape": {
            "inputs": cfg.inputs,
            "outputs": cfg.outputs,
            "row_modes": list(shape.row_modes),
            "col_modes": list(shape.col_modes),
            "ranks": list(shape.ranks),
            "core_entries": sum(math.prod(shape.core_shape(k)) for k in range(shape.cores)),
        },
        "formats": prep.fmts.to_dict(),
        "program": {
            "instructions": len(prog.code),
            "step_instructions": prog.infer_pc,
            "multiplies": prog.macs,
            "updates": prog.updates,
            "memory_words": prog.words,
            "address_bits": prog.aw,
            "instruction_bits": prog.width,
        },
        "cycles_per_step": cycles,
        "cycles_expected": expected,
        "cycles_as_expected": all(c == expected for c in cycles),
        "ideal_cycles_per_step": ideal,
        "ratio_to_ideal": (sum(cycles) / len(cycles)) / ideal,
        "status": [{"steps": n, "cycles": c} for n, c in zip(counts, cycles, strict=True)],
        "status_ok": counts_ok,
        "words_compared": compared,
        "mismatches": mismatches,
        "first_divergence": first,
        "inference": {
            "status": [int(v) for v in readback["infer_status"]],
            "cycles_expected": infer_cycles(prog),
            "outputs_compared": int(prep.infer_y.size),
            "mismatches": int(infer_bad.size),
            "first_word": int(infer_bad[0]) if infer_bad.size else None,
        },
        "bit_exact": first is None and not infer_bad.size and counts_ok,
        "golden_loss": prep.losses,
        "wall_seconds": wall,
        **extra,
    }


def train_rtl(
    config: TTTrainConfig,
    out: str | Path,
    *,
    sim: str = "icarus",
    work_dir: str | Path | None = None,
    seed: int = 0,
    valid_gap_prob: float = 0.0,
    ready_stall_prob: float = 0.0,
    force: bool = False,
) -> dict[str, Any]:
    """``ernn train-rtl``: everything above, written to ``out`` in one step (kind ``tt-train``:
    ``report.json``, ``trained.npz`` -- the RTL's tensors after the last step --, ``tt_program.mem``).

    ``out`` follows :mod:`ernn.files.output_dir`: a folder of another kind, or one holding the user's files,
    is refused; an earlier ``train-rtl`` folder is replaced only with ``force``. Checked before anything
    is compiled or simulated."""
    import json
    import shutil
    import tempfile

    from ernn import paths
    from ernn.files.output_dir import check_output_dir, output_directory

    if sim not in rtl_runner.SIMULATORS:
        raise ValueError(f"--sim must be one of {', '.join(rtl_runner.SIMULATORS)}, got {sim!r}")
    for name, prob in (("--valid-gaps", valid_gap_prob), ("--ready-stalls", ready_stall_prob)):
        if not 0.0 <= prob < 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1), got {prob}")
    config.check()
    out = check_output_dir(out, KIND, force=force)
    prep = prepare(config)
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            runs = paths.cache_dir() / "runs"
            runs.mkdir(parents=True, exist_ok=True)
            work_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="tt-train-", dir=runs))
        readback = simulate(
            prep,
            sim=sim,
            work_dir=Path(work_dir),
            seed=seed,
            valid_gap_prob=valid_gap_prob,
            ready_stall_prob=ready_stall_prob,
        )
        rep = report(
            prep,
            readback,
            sim,
            time.perf_counter() - t0,
            handshake_seed=seed,
            valid_gap_prob=valid_gap_prob,
            ready_stall_prob=ready_stall_prob,
        )
        with output_directory(out, KIND, force=force) as stage:
            last = config.steps - 1
            trained = {
                n: readback[f"after{last}_{n}"].reshape(prep.golden[last][n].shape) for n in prep.trained
            }
            np.savez(stage / "trained.npz", **trained)
            shutil.copyfile(Path(work_dir) / "tt_program.mem", stage / "tt_program.mem")
            (stage / "report.json").write_text(json.dumps(rep, indent=2) + "\n")
    return rep


# ------------------------------------------------------------------------------------------------------
# the cocotb side (runs inside the simulator)
def _header(cmd: int, length: int, addr: int) -> int:
    return cmd << 28 | length << 16 | addr


try:
    import cocotb

    @cocotb.test(timeout_time=60, timeout_unit="sec")
    async def train_steps(dut) -> None:
        """Load the cores, run the steps reading every trained word back, then one inference; write
        ``tt_result.npz`` (compared with the golden model by the caller)."""
        from cocotb.clock import Clock
        from cocotb.triggers import RisingEdge
        from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

        cfg = rtl_runner.tb_config()
        work = Path(cfg["work_dir"])
        with np.load(work / STIMULUS_FILE) as f:
            stim = {k: f[k] for k in f.files}
        regions = {n: tuple(v) for n, v in cfg["regions"].items()}
        rng = np.random.default_rng(cfg["seed"])

        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        dut.s_axis_tvalid.value = 0
        dut.m_axis_tready.value = 0
        dut.rst.value = 1
        for _ in range(4):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        for log in (source.log, sink.log):
            log.setLevel(logging.WARNING)

        def pauses(prob: float):
            while True:
                yield bool(rng.random() < prob)

        if cfg["valid_gap_prob"] > 0:
            source.set_pause_generator(pauses(cfg["valid_gap_prob"]))
        if cfg["ready_stall_prob"] > 0:
            sink.set_pause_generator(pauses(cfg["ready_stall_prob"]))

        async def write(name: str, values: np.ndarray) -> None:
            addr, n = regions[name]
            if values.size != n:
                raise ValueError(f"{name}: {values.size} words for a region of {n}")
            words = rtl_runner.to_unsigned(values, 32)
            for s in range(0, n, MAX_LEN):
                part = words[s : s + MAX_LEN]
                await source.send(AxiStreamFrame([_header(CMD_WRITE, len(part), addr + s), *part]))

        async def read(name: str) -> np.ndarray:
            addr, n = regions[name]
            got: list[int] = []
            for s in range(0, n, MAX_LEN):
                length = min(MAX_LEN, n - s)
                await source.send(AxiStreamFrame([_header(CMD_READ, length, addr + s)]))
                frame = await sink.recv()
                if len(frame.tdata) != length:
                    raise AssertionError(f"READ of {name}: {len(frame.tdata)} words, expected {length}")
                got += [rtl_runner.from_unsigned(int(w), 32) for w in frame.tdata]
            return np.array(got, dtype=np.int64)

        async def run(cmd: int) -> tuple[int, int]:
            await source.send(AxiStreamFrame([_header(cmd, 0, 0)]))
            frame = await sink.recv()
            if len(frame.tdata) != 2:
                raise AssertionError(f"status reply of {len(frame.tdata)} words, expected 2")
            return int(frame.tdata[0]), int(frame.tdata[1])

        out: dict[str, np.ndarray] = {}
        for name in cfg["trained"]:
            await write(name, stim["initial_" + name])
        status = []
        for step in range(cfg["steps"]):
            await write("x", stim[f"x{step}"])
            await write("t", stim[f"t{step}"])
            status.append(await run(CMD_STEP))
            for name in cfg["trained"]:
                out[f"after{step}_{name}"] = await read(name)
        await write("x", stim["infer_x"])
        out["infer_status"] = np.array(await run(CMD_INFER), dtype=np.int64)
        out["infer_y"] = await read("y")
        out["status"] = np.array(status, dtype=np.int64).reshape(-1, 2)
        if int(dut.error.value):
            raise AssertionError("ernn_tt_train_top raised its error output (an unknown command)")
        np.savez(work / RESULT_FILE, **out)

except ImportError:  # pragma: no cover - the package is usable without cocotb; simulate() then fails in run()
    pass
