"""Phase II cost model of a CSB model: cycles per time step on a K x L array of P x Q PE groups, and LUT, FF,
DSP and BRAM36, calibrated on Yosys runs of the one-MAC engine ``rtl/ernn_csb_engine.v``.

Cycles
------
Export's schedule (merged runs, max flow, per tile row; ``HwConfig`` ``units`` "merged", the default) is
priced as the CSB unit behind ``rtl/ernn_top.v`` runs it (:func:`unit_step_cycles`): the model's PE jobs
(per layer the gate job, ``[W_ih | W_hh]`` stacked with the gates' rows interleaved as the controller
orders them, and for LSTMP the projection ``W_hr``; GRU's extra jobs) are compiled for the grid by
``csb_unit.grid_jobs``, the compiler and program builder export uses (:mod:`ernn.export.csb_merge`: a run of
P PEs reads one input neuron and may hold that neuron's entries of up to three vertically adjacent
kernels), and each job costs its program's exact group-array clocks, ``csb_program.array_cycles`` at the
controller's k elements per beat and ``red_rows`` rows reduced per clock: input beats, the MAC and
reduction engines overlapped, the output beats they do not hide. These are the clocks ``config.json``
records as ``hardware.csb_unit.job_array_cycles`` (equal on every shape of ``tests/test_csb_cost.py`` and
``bench/bench_csb_step_cycles.py``). The step adds ``STEP_FIXED`` + ``STEP_PER_JOB`` per job for the
controller's command and hand-offs and the cell unit's latency where a job waits for h: two constants
fitted to the RTL's clocks (set against measurements as ``ernn.export.timing.HANDOFF`` is), not derived
from it; the bench reports the error on shapes outside the fit. The programs need the kernels' kept
columns, not only their counts (:class:`HwConfig` ``columns``).

Any other schedule of the compiler (``units`` "runs" or "entries", ``scope`` "round", ``method``
"greedy": the baselines the balancing is compared with, ``bench/bench_csb_schedule.py``) is priced per
matrix, as before the unit existed: the schedule's clocks as ``csb_program.shared_input_cycles`` counts
them, plus per matrix ``MAC_PIPE`` clocks of multiplier and accumulator pipeline, ``ceil(log2 L)`` of the
adder tree and one of rounding, and per layer the cell unit's ``ceil(H / cell_lanes)`` beats, its latency
(``CELL_LATENCY``) and the controller's hand-offs (``HANDOFF``); loads and clearing hidden. These are
structural assumptions, not the array's clocks.

The kernels (counts and kept columns) come from an exported CSB model (its stored counts and column
indices) or, for a shape, from Gaussian weights projected onto CSB at the shape's rate by the training
stage's projection (``ernn.train.csb``; :func:`random_kernels`), as ``bench/bench_csb_schedule.py`` draws SR1.

Resources
---------
The CSB unit's group array is priced from its structure (:mod:`ernn.dse.csb_array_cost`): its PEs' logic
and LUT RAM, the reduction trees' adders, the x read ports' LUT RAM copies, the array's own logic, the
pipeline registers and the program images in block RAM. Each part is sized by the RTL and priced at what
Yosys built for it in the whole SR1 model at 512 PEs and in one SR1-size gate at 64 PEs; held-out grids
check it (``tests/test_csb_cost.py``). LUT counts LUT sites: logic and the LUTs of LUT RAM. The sum word
is ``HwConfig.sum_w``, or the accumulator's (an upper bound) when the weights are not known. The cell unit
and the controller are the circulant design's (``cost_model`` blocks ``cell`` and ``controller``), which
the CSB unit shares.

Before session 33 the array was priced as PEs x the one-MAC engine ``rtl/ernn_csb_engine.v``, calibrated
by ``bench/bench_csb_cost_samples.py --fit`` (:func:`predict`, :func:`fit`; ``csb_cost_coefficients.json``).
That model priced SR1 at 512 PEs at 81,709 LUT, where Yosys measured about 400 k. It is kept for the
one-MAC engine itself.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ernn.dse import cost_model
from ernn.dse import csb_array_cost as array_cost
from ernn.export import csb as ecsb
from ernn.export import csb_merge as cm
from ernn.export import csb_program as cprog
from ernn.export import csb_schedule as cs
from ernn.export import csb_unit
from ernn.export.jobs import CELL_LATENCY, all_jobs
from ernn.export.timing import HANDOFF
from ernn.golden.formats import NumericsConfig
from ernn.shape import ModelShape
from ernn.shape.structures import CSB, BlockCirculant

COEFFICIENTS_FILE = Path(__file__).with_name("csb_cost_coefficients.json")
RESOURCES = cost_model.RESOURCES
FEATURES = ("pe_bits", "storage_bits", "lut_memory_bits")
#: multiplier and accumulator pipeline of a PE (operand read, product register, accumulate)
MAC_PIPE = 3
#: the paper's ZCU102 engine: 8 x 4 groups of 4 x 4 PEs
PAPER_GRID = cs.Grid(8, 4, 4, 4)


@dataclass(frozen=True)
class EngineConfig:
    """What sets the one-MAC engine's resources (one matrix of ``gates`` stacked ``rows`` x ``cols``)."""

    gates: int
    rows: int
    cols: int
    block: int
    blocks: int  # entries of the counts image
    values: int  # kernel values (entries of the values image)
    index_entries: int  # kept row and column offsets (entries of the rows and cols images)
    data_w: int
    w_w: int
    acc_w: int
    out_w: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


#: the values image goes to block RAM above this many words per bank; Yosys 0.23 kept 302 and 405 words
#: in LUTRAM and put 1016 and 1945 into a RAMB18 (bench/bench_csb_cost_samples.py); the narrow index and
#: count images stayed in LUTs at every size sampled (up to 671 entries)
VALUES_BRAM_MIN_DEPTH = 512


def _memories(c: EngineConfig, banks: int = 1, lanes: int = 1) -> list[tuple[str, int, int]]:
    """(image, depth, width) of every image memory, split into ``banks`` banks ``lanes`` entries wide."""
    count_w = max(1, math.ceil(math.log2(c.block + 1)))
    index_w = max(1, math.ceil(math.log2(c.block)))
    out = []
    for name, entries, width in (
        ("values", c.values, c.w_w),
        ("index", c.index_entries, index_w),
        ("counts", c.blocks, 2 * count_w),
    ):
        depth = max(1, -(-entries // (banks * lanes)))
        out += [(name, depth, width * lanes)] * banks
    return out


def engine_features(c: EngineConfig, pes: int = 1, banks: int = 1, reduction_adders: int = 0) -> dict:
    """Structural features of a CSB engine: ``pes`` PEs (1: the one-MAC engine), images split into ``banks``
    banks each ``pes // banks`` values wide, ``reduction_adders`` accumulator-wide adders (see module doc)."""
    lanes = max(1, pes // banks)
    mems = _memories(c, banks, lanes)

    def in_bram(name: str, depth: int) -> bool:
        return name == "values" and depth > VALUES_BRAM_MIN_DEPTH

    return {
        "pe_bits": pes * (c.data_w + c.w_w + c.acc_w) + reduction_adders * c.acc_w,
        "storage_bits": c.gates * c.rows * c.acc_w + c.cols * c.data_w,
        "lut_memory_bits": sum(d * w for n, d, w in mems if not in_bram(n, d)),
        "dsp": pes * cost_model.dsp_per_multiply(c.data_w, c.w_w),
        "bram36": sum(_bram36(d, w) for n, d, w in mems if in_bram(n, d)),
    }


def _bram36(depth: int, width: int) -> float:
    """36 Kb block RAMs of a memory in its best aspect ratio (``cost_model.bram36`` without its depth floor)."""
    return cost_model.bram36(max(depth, cost_model.BRAM_MAX_LUT_DEPTH + 1), width)


# ------------------------------------------------------------------------------------------------------
# calibration
def _nnls_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative slopes, free intercept (last column of ``x`` is ones): a resource never shrinks as a
    structural count grows."""
    from scipy.optimize import nnls

    # a free intercept as the difference of two non-negative ones
    xx = np.hstack([x, -x[:, -1:]])
    sol, _ = nnls(xx, y)
    return np.append(sol[:-2], sol[-2] - sol[-1])


def pe_floor(c: EngineConfig) -> dict[str, float]:
    """The least one PE (or reduction adder) costs, whatever the fit says: LUT one per accumulator bit (the
    carry-chain adder), FF its operand and accumulator registers (a PE of the array is pipelined to meet
    the clock; the one-MAC engine's product feeds its accumulator memory unregistered)."""
    return {"lut": float(c.acc_w), "ff": float(c.data_w + c.w_w + c.acc_w)}


def predict(
    c: EngineConfig, coeffs: dict[str, Any], *, array: bool = False, **scale: int
) -> dict[str, float]:
    """LUT, FF, DSP, BRAM36 of an engine from the fitted coefficients. For an ``array`` (the K x L group
    engine) a PE's LUT and FF are the fitted ``pe_bits`` share or :func:`pe_floor`, whichever is larger: the
    one-MAC calibration engine cannot separate its one, unregistered PE from the rest (docs/dse.md), and a
    slope of 0 would make PEs free. Without ``array`` (the one-MAC engine itself) the fit alone."""
    f = engine_features(c, **scale)
    pes = (scale.get("pes", 1) + scale.get("reduction_adders", 0)) if array else 0
    out = {}
    for res in RESOURCES:
        k = coeffs["resources"][res]
        if res in cost_model.EXACT_COUNTS:
            out[res] = max(0.0, k["slope"] * f[res] + k["intercept"])
        else:
            pe = max(k["pe_bits"] * f["pe_bits"], pes * pe_floor(c)[res])
            rest = sum(k[name] * f[name] for name in FEATURES if name != "pe_bits")
            out[res] = max(0.0, pe + rest + k["intercept"])
    return out


def fit(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Coefficients from the ``calibration`` samples (``bench/bench_csb_cost_samples.py``), with every
    sample's measured and predicted resources and the error per role."""
    calib = [s for s in samples if s["role"] == "calibration"]
    if len(calib) < len(FEATURES) + 1:
        raise ValueError(f"need at least {len(FEATURES) + 1} calibration samples, got {len(calib)}")
    feats = [engine_features(EngineConfig(**s["engine"])) for s in calib]
    coeffs: dict[str, Any] = {"resources": {}}
    for res in RESOURCES:
        y = np.array([s["yosys"][res] for s in calib], dtype=float)
        if res in cost_model.EXACT_COUNTS:
            x = np.array([f[res] for f in feats], dtype=float)
            if np.ptp(x) == 0:
                slope, icpt = 1.0, float(np.mean(y - x))
            else:
                slope, icpt = (float(v) for v in np.polyfit(x, y, 1))
            coeffs["resources"][res] = {"slope": slope, "intercept": icpt}
        else:
            x = np.array([[f[n] for n in FEATURES] + [1.0] for f in feats], dtype=float)
            sol = _nnls_fit(x, y)
            coeffs["resources"][res] = {
                **{n: float(v) for n, v in zip(FEATURES, sol[:-1], strict=True)},
                "intercept": float(sol[-1]),
            }
    coeffs["calibration"] = [s["name"] for s in calib]
    coeffs["samples"] = check(samples, coeffs)
    coeffs["error"] = error_summary(coeffs["samples"])
    coeffs["source"] = (
        "yosys synth_xilinx -family xcu of rtl/ernn_csb_engine.v (one MAC) per sample; "
        "bench/bench_csb_cost_samples.py --fit"
    )
    return coeffs


def check(samples: list[dict[str, Any]], coeffs: dict[str, Any]) -> list[dict[str, Any]]:
    """Measured against predicted, per sample (BRAM relative to at least one BRAM36)."""
    rows = []
    for s in samples:
        pred = predict(EngineConfig(**s["engine"]), coeffs)
        meas = {r: float(s["yosys"][r]) for r in RESOURCES}
        rel = {
            r: (pred[r] - meas[r]) / max(meas[r], 1.0 if r == "bram36" else 1e-9)
            if meas[r] or r == "bram36"
            else (0.0 if pred[r] == 0 else float("inf"))
            for r in RESOURCES
        }
        rows.append(
            {
                "name": s["name"],
                "role": s["role"],
                "engine": s["engine"],
                "measured": meas,
                "predicted": pred,
                "relative_error": rel,
            }
        )
    return rows


def error_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for role in ("calibration", "check"):
        pick = [r for r in rows if r["role"] == role]
        if pick:
            out[role] = {
                q: {
                    "mean_abs_percent": 100.0 * float(np.mean([abs(r["relative_error"][q]) for r in pick])),
                    "max_abs_percent": 100.0 * float(np.max([abs(r["relative_error"][q]) for r in pick])),
                }
                for q in RESOURCES
            }
    return out


def load_coefficients(path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path) if path else COEFFICIENTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run bench/bench_csb_cost_samples.py --fit to calibrate the CSB cost model"
        )
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------------------------------
# the model's matrices
def matrix_shapes(shape: ModelShape) -> list[tuple[int, int, int, int]]:
    """(layer, gates, rows, cols) of every CSB matrix of a shape, in step order."""
    out = []
    for layer in range(shape.num_layers):
        out.append((layer, shape.gates, shape.hidden_size, shape.layer_input_size(layer)))
        out.append((layer, shape.gates, shape.hidden_size, shape.output_size))
        if shape.proj_size:
            out.append((layer, 1, shape.proj_size, shape.hidden_size))
    return out


Kernels = tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]


@functools.lru_cache(maxsize=16)
def random_kernels(shape: ModelShape, seed: int = 0) -> Kernels:
    """(counts, kept columns) of every matrix: (G, BR, BC, 2) kernel counts and (G, BR, BC, M) kept-column
    masks of Gaussian weights projected onto the shape's CSB structure by the training stage's projection
    (the pattern, not the values, sets the cycles; the draws of ``bench/bench_csb_schedule.sr1_kernels``)."""
    import torch

    from ernn.train import csb as tcsb

    params = _csb(shape)
    rng = np.random.default_rng(seed)
    counts, columns = [], []
    for _, gates, rows, cols in matrix_shapes(shape):
        w = torch.from_numpy(rng.normal(size=(gates, rows, cols)))
        kept = tcsb.project(w, params).numpy() != 0
        counts.append(_counts(kept, params.block))
        columns.append(_columns(kept, params.block))
    return tuple(counts), tuple(columns)


def random_counts(shape: ModelShape, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Kernel counts (G, BR, BC, 2) of every matrix of :func:`random_kernels`."""
    return random_kernels(shape, seed)[0]


def model_kernels(net: Any) -> Kernels:
    """(counts, kept columns) of an exported CSB model's matrices (a ``GoldenNetwork`` of CSB layers), in the
    cost model's order (layer: ``w_ih``, ``w_hh``, ``w_hr``)."""
    mats = [
        getattr(layer, n)
        for layer in net.layers
        for n in ("w_ih", "w_hh", "w_hr")
        if getattr(layer, n) is not None
    ]
    return tuple(m.counts for m in mats), tuple(cm.kept_columns(m) for m in mats)


def _columns(kept: np.ndarray, block: int) -> np.ndarray:
    """(G, BR, BC, M) kept-column masks of a bool pattern: offset c of a block is kept where the block holds
    a weight in that column (``csb_merge.kept_columns`` of the stored matrix)."""
    g, rows, cols = kept.shape
    br, bc = -(-rows // block), -(-cols // block)
    out = np.zeros((g, br, bc, block), dtype=bool)
    for i in range(br):
        for j in range(bc):
            b = kept[:, i * block : (i + 1) * block, j * block : (j + 1) * block]
            out[:, i, j, : b.shape[2]] = b.any(axis=1)
    return out


def _counts(kept: np.ndarray, block: int) -> np.ndarray:
    """(G, BR, BC, 2) kept-row and kept-column counts of each block of a bool pattern."""
    g, rows, cols = kept.shape
    br, bc = -(-rows // block), -(-cols // block)
    out = np.zeros((g, br, bc, 2), dtype=np.int64)
    for i in range(br):
        for j in range(bc):
            b = kept[:, i * block : (i + 1) * block, j * block : (j + 1) * block]
            out[:, i, j, 0] = b.any(axis=2).sum(axis=1)
            out[:, i, j, 1] = b.any(axis=1).sum(axis=1)
    return out


def numerics_for_shape(shape: ModelShape, bits: int = 16) -> NumericsConfig:
    """The formats of a CSB shape before any weight exists (the golden CSB rule, ``ernn.golden.csb``): word
    widths are final; the weight fraction, which sets no width, is the one of weights within +-1."""
    from ernn.golden import csb as gcsb

    return gcsb.numerics(shape, 1.0, 1.0, 0.0, bits=bits)


def _csb(shape: ModelShape) -> CSB:
    if not isinstance(shape.structure, CSB):
        raise ValueError(f"CSB cost model: the shape is {shape.structure.describe()}, not CSB")
    return shape.structure


# ------------------------------------------------------------------------------------------------------
# the configuration and its estimate
@dataclass(frozen=True)
class HwConfig:
    """A CSB model on a K x L x P x Q engine at a sharing mode (the structure seam's ``HwConfig``)."""

    shape: ModelShape
    grid: cs.Grid
    mode: str
    method: str
    data_w: int
    w_w: int
    acc_w: int
    out_w: int
    counts: tuple[np.ndarray, ...] | None = None  # kernel counts per matrix (None: random_kernels(shape))
    columns: tuple[np.ndarray, ...] | None = None  # their kept-column masks (merged runs need them)
    units: str = cs.MERGED  # what the compiler balances: merged runs (export's), runs or entries
    scope: str = csb_unit.SCOPE  # the barrier: tile row (export's) or round
    red_rows: int = 1  # output rows the group array reduces per clock (export's --csb-red-rows)
    sum_w: int | None = None  # the array's sum word (golden csb.sum_word of the weights); None: acc_w

    @property
    def lanes(self) -> int:
        return self.grid.pes

    @property
    def label(self) -> str:
        g = self.grid
        return f"{g.k}x{g.l} groups of {g.p}x{g.q}, sharing {self.mode}"

    @classmethod
    def build(
        cls,
        shape: ModelShape,
        numerics: NumericsConfig,
        lanes: int,
        *,
        grid: cs.Grid | None = None,
        mode: str = "both",
        method: str = "z3",
        counts: tuple[np.ndarray, ...] | None = None,
        columns: tuple[np.ndarray, ...] | None = None,
        units: str | None = None,
        scope: str | None = None,
        red_rows: int = 1,
        sum_w: int | None = None,
    ) -> HwConfig:
        """From a CSB shape and its formats; ``lanes`` PEs as :func:`grid_for_pes` lays them out unless a
        ``grid`` is given (its PE count must then be ``lanes``). The schedule priced is export's (merged
        runs, max flow, per tile row) for ``method`` "flow" or "z3", the greedy runs schedule per round for
        "greedy" (module doc), unless ``units`` / ``scope`` say otherwise. ``counts`` (and, for merged runs,
        their kept ``columns``) are the model's kernels; without them, :func:`random_kernels` of the shape.
        ``red_rows``: the group array's reduction width (a divisor of the block size); ``sum_w``: the word
        its partial sums need (``golden.csb.sum_word`` of the weights; None: the accumulator's)."""
        csb_unit.check_red_rows(red_rows, _csb(shape).block)
        lo, hi = numerics.data.word + numerics.weight_spectrum.word, numerics.accumulator.word
        if sum_w is not None and not lo < sum_w <= hi:
            raise ValueError(
                f"sum word {sum_w} must be > data + weight bits = {lo} and <= the accumulator's {hi}"
            )
        grid = grid or grid_for_pes(lanes)
        if grid.pes != lanes:
            raise ValueError(f"grid {grid} has {grid.pes} PEs, not lanes = {lanes}")
        if mode not in cs.MODES:
            raise ValueError(f"sharing mode must be one of {', '.join(cs.MODES)}, got {mode!r}")
        if method not in cs.METHODS:
            raise ValueError(f"balancing method must be one of {', '.join(cs.METHODS)}, got {method!r}")
        if units is None:
            units = cs.MERGED if method != "greedy" else "runs"
        if scope is None:
            scope = csb_unit.SCOPE if units == cs.MERGED else "round"
        if units not in (*cs.UNITS, cs.MERGED):
            raise ValueError(
                f"balancing units must be one of {', '.join((*cs.UNITS, cs.MERGED))}, got {units!r}"
            )
        if scope not in cs.SCOPES:
            raise ValueError(f"balancing scope must be one of {', '.join(cs.SCOPES)}, got {scope!r}")
        if units == cs.MERGED:
            if method == "greedy":
                raise ValueError("merged runs are balanced by max flow ('flow' or 'z3'), not 'greedy'")
            method = csb_unit.METHOD  # the merged compiler's (exact) solver; z3 gives the same cycles
            if counts is not None and columns is None:
                raise ValueError(
                    "merged runs need the kernels' kept columns, not only their counts: "
                    "pass columns (csb_cost.model_kernels of the model)"
                )
        if columns is not None and (counts is None or len(columns) != len(counts)):
            raise ValueError("kept columns given without the matching kernel counts")
        return cls(
            shape=shape,
            grid=grid,
            mode=mode,
            method=method,
            data_w=numerics.data.word,
            w_w=numerics.weight_spectrum.word,
            acc_w=numerics.accumulator.word,
            out_w=numerics.ifft_out.word,
            counts=counts,
            columns=columns,
            units=units,
            scope=scope,
            red_rows=red_rows,
            sum_w=sum_w,
        )

    def kernel_counts(self) -> tuple[np.ndarray, ...]:
        return self.counts if self.counts is not None else random_counts(self.shape)

    def kernel_columns(self) -> tuple[np.ndarray, ...] | None:
        """The kept-column masks per matrix: the given ones, :func:`random_kernels`' with random counts, or
        None (counts given without columns: only the runs and entries schedules can be priced)."""
        if self.counts is None:
            return random_kernels(self.shape)[1]
        return self.columns


def grid_for_pes(pes: int) -> cs.Grid:
    """A PE count laid out as the paper lays out 512: groups of 4 x 4 (2 x 2 or 1 x 1 below 16 PEs), the
    groups 2 : 1 in K : L as far as powers of two allow (512 -> 8 x 4 groups of 4 x 4)."""
    if isinstance(pes, bool) or not isinstance(pes, int) or pes < 1 or pes & (pes - 1):
        raise ValueError(f"PEs of a CSB engine laid out automatically must be a power of two, got {pes!r}")
    side = 4 if pes >= 16 else 2 if pes >= 4 else 1
    groups = pes // (side * side)
    lg = int(math.log2(groups))
    k = 2 ** ((lg + 1) // 2)
    return cs.Grid(k, groups // k, side, side)


@functools.lru_cache(maxsize=256)
def _compiled_cycles(
    key: tuple, grid: cs.Grid, mode: str, method: str, scope: str, units: str
) -> tuple[int, int]:
    counts, columns = _KERNELS_BY_KEY[key]
    if units == cs.MERGED:
        s = cm.compile_matrix(counts, columns, grid, mode, method, scope)
    else:
        s = cs.compile_matrix(counts, grid, mode, method, scope, units)
    # the group array's PE columns share one input neuron (``rtl/ernn_csb_group.v``): the program runs the
    # schedule's entries in runs of P per kernel column (per input neuron in merged runs), which takes more
    # clocks than an "entries" schedule's own count (any P Q entries per clock) wherever P > 1
    return cprog.shared_input_cycles(s), s.macs


_KERNELS_BY_KEY: dict[tuple, tuple[np.ndarray, np.ndarray | None]] = {}


def matrix_cycles(
    counts: np.ndarray,
    grid: cs.Grid,
    mode: str,
    method: str,
    *,
    columns: np.ndarray | None = None,
    scope: str = "round",
    units: str = "runs",
) -> tuple[int, int]:
    """(cycles, MACs) of one matrix from the compiler: ``units`` "merged" with the kernels' kept ``columns``
    (``csb_merge``), else ``csb_schedule``'s runs or entries (cached on the kernels: z3 and the merged
    compiler take seconds on SR1's matrices and a sweep asks for the same ones again)."""
    if units == cs.MERGED and columns is None:
        raise ValueError("merged runs need the kernels' kept columns, not only their counts")
    cols = None if units != cs.MERGED else np.asarray(columns, dtype=bool)
    key = (counts.shape, counts.tobytes(), None if cols is None else cols.tobytes())
    _KERNELS_BY_KEY[key] = (counts, cols)
    return _compiled_cycles(key, grid, mode, method, scope, units)


#: hidden units per cell-unit beat: the circulant design's default at k = 16 (k / 4), the cell unit the CSB
#: engine is to share
CELL_LANES = 4


@dataclass(frozen=True)
class Estimate:
    lanes: int
    cycles_per_step: float
    ideal_cycles: int
    complex_macs: int  # the CSB engine's real MACs per step (kept weights); named as the circulant field
    used: dict[str, float]
    blocks: dict[str, dict[str, float]]
    mac_cycles: int
    utilization: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: clocks of a time step beyond the CSB unit's array clocks (:func:`unit_step_cycles`): STEP_FIXED per step
#: and STEP_PER_JOB per PE job (the controller's command and hand-offs, and the cell unit's latency where a
#: job waits for the cell's h: the projection, the next layer, the next step). Not derived from the RTL: a
#: least-squares fit, rounded, to the RTL's steady-state clocks of seven small CSB models behind ernn_top
#: (1 to 6 jobs, within 4 clocks of each), which leaves SR1 at 512 PEs 13 clocks (0.8 %) over;
#: ``bench/bench_csb_step_cycles.py`` measures the error on shapes of its own (docs/csb.md)
STEP_FIXED, STEP_PER_JOB = 17, 2


def _pattern_matrix(counts: np.ndarray, columns: np.ndarray, rows: int, cols: int, block: int) -> Any:
    """A CSB matrix with the kernel pattern of ``counts`` and kept ``columns`` (kept rows the first of each
    block, values 1): what the compiler and the program builder read, without the weights."""
    from ernn.golden.csb import CSBMatrix

    counts = np.asarray(counts, dtype=np.int64)
    row_idx, col_idx, vals = [], [], []
    for g, i, j in np.ndindex(*counts.shape[:3]):
        m, n = (int(v) for v in counts[g, i, j])
        if m:
            row_idx.append(np.arange(m))
            col_idx.append(np.flatnonzero(columns[g, i, j]))
            vals.append(np.ones(m * n, dtype=np.int64))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)  # noqa: E731
    return CSBMatrix(rows, cols, block, counts, cat(row_idx), cat(col_idx), cat(vals))


@functools.lru_cache(maxsize=64)
def _unit_programs(key: tuple, shape: ModelShape, grid: cs.Grid, mode: str) -> tuple[Any, ...]:
    """The CSB unit's programs (``csb_unit.grid_jobs``) of the kernels stored under ``key``, cached: SR1's
    take seconds per grid and a sweep asks for the same ones again."""
    from types import SimpleNamespace

    counts, columns = _UNIT_KERNELS[key]
    block = _csb(shape).block
    mats = [
        _pattern_matrix(cnt, col, rows, cols, block)
        for cnt, col, (_, _, rows, cols) in zip(counts, columns, matrix_shapes(shape), strict=True)
    ]
    per = 3 if shape.proj_size else 2
    layers = [
        SimpleNamespace(w_ih=mats[i], w_hh=mats[i + 1], w_hr=mats[i + 2] if shape.proj_size else None)
        for i in range(0, len(mats), per)
    ]
    net = SimpleNamespace(info=shape, layers=layers)
    return tuple(uj.program for uj in csb_unit.grid_jobs(net, grid, mode, csb_unit.METHOD, csb_unit.SCOPE))


_UNIT_KERNELS: dict[tuple, tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]] = {}


def unit_step_cycles(c: HwConfig) -> tuple[int, int, int, list[int]]:
    """(cycles per step, MAC clocks, MACs, each job's array clocks) of export's schedule (merged runs, max
    flow, per tile row) on the CSB unit behind ernn_top: the model's PE jobs (``[W_ih | W_hh]`` stacked per
    gate job, ``W_hr`` alone) compiled for ``c.grid`` into the group array's programs, each job's clocks
    ``csb_program.array_cycles`` at the controller's k elements per beat and ``c.red_rows`` rows reduced per
    clock (what ``config.json``'s ``hardware.csb_unit.job_array_cycles`` records), plus
    :data:`STEP_FIXED` + :data:`STEP_PER_JOB` per job."""
    counts, columns = c.kernel_counts(), c.kernel_columns()
    if columns is None:
        raise ValueError("the CSB unit's programs need the kernels' kept columns, not only their counts")
    counts = tuple(np.asarray(k, dtype=np.int64) for k in counts)
    columns = tuple(np.asarray(k, dtype=bool) for k in columns)
    key = tuple((k.shape, k.tobytes(), m.tobytes()) for k, m in zip(counts, columns, strict=True))
    _UNIT_KERNELS[key] = (counts, columns)
    progs = _unit_programs(key, c.shape, c.grid, c.mode)
    k = csb_unit.controller_block(_csb(c.shape).block)
    jobs = [cprog.array_cycles(p, k, c.red_rows) for p in progs]
    return (
        sum(jobs) + STEP_FIXED + STEP_PER_JOB * len(jobs),
        sum(p.steps for p in progs),
        sum(p.macs for p in progs),
        jobs,
    )


def step_cycles(c: HwConfig) -> tuple[int, int, int]:
    """(cycles per step, MAC cycles from the compiler, MACs) of a configuration: export's schedule (merged
    runs) as the CSB unit runs it (:func:`unit_step_cycles`); any other schedule per matrix with the
    structural overheads of the module doc (the baselines the compiler is compared with)."""
    if c.units == cs.MERGED:
        return unit_step_cycles(c)[:3]
    shapes = matrix_shapes(c.shape)
    counts = c.kernel_counts()
    if len(counts) != len(shapes):
        raise ValueError(f"{len(counts)} kernel-count arrays for the shape's {len(shapes)} matrices")
    columns = c.kernel_columns()
    if c.units == cs.MERGED and columns is None:
        raise ValueError("merged runs need the kernels' kept columns, not only their counts")
    mac_cycles = macs = 0
    for i, cnt in enumerate(counts):
        cyc, m = matrix_cycles(
            np.asarray(cnt),
            c.grid,
            c.mode,
            c.method,
            columns=None if columns is None else columns[i],
            scope=c.scope,
            units=c.units,
        )
        mac_cycles += cyc
        macs += m
    per_matrix = MAC_PIPE + math.ceil(math.log2(c.grid.l)) + 1
    per_layer = -(-c.shape.hidden_size // CELL_LANES) + CELL_LATENCY[c.shape.cell] + sum(HANDOFF.values())
    return mac_cycles + per_matrix * len(shapes) + per_layer * c.shape.num_layers, mac_cycles, macs


def one_mac_cycles(counts: np.ndarray, rows: int, cols: int) -> int:
    """Clocks per vector of the one-MAC engine from the compiler on a 1 x 1 x 1 x 1 grid: load x (cols), clear
    the accumulators (G rows), the compiler's MAC cycles, one clock per empty block, stream y (G rows);
    equals ``ernn.export.csb.engine_cycles`` (tests/test_cost_model.py)."""
    c = np.asarray(counts)
    gates = c.shape[0]
    mac, _ = matrix_cycles(c, cs.Grid(1, 1, 1, 1), "none", "greedy")
    empty = int(((c[..., 0] * c[..., 1]) == 0).sum())
    return cols + 2 * gates * rows + mac + empty


def _engine_config(c: HwConfig) -> EngineConfig:
    """The engine of a whole model: accumulators of its largest matrix, an input buffer of its widest
    input, and every matrix's images (the engine holds them all)."""
    shapes = matrix_shapes(c.shape)
    counts = [np.asarray(k) for k in c.kernel_counts()]
    _, gates, rows, _ = max(shapes, key=lambda s: s[1] * s[2])
    return EngineConfig(
        gates=gates,
        rows=rows,
        cols=max(s[3] for s in shapes),
        block=_csb(c.shape).block,
        blocks=sum(int(k[..., 0].size) for k in counts),
        values=sum(int((k[..., 0] * k[..., 1]).sum()) for k in counts),
        index_entries=sum(int(k.sum()) for k in counts),
        data_w=c.data_w,
        w_w=c.w_w,
        acc_w=c.acc_w,
        out_w=c.out_w,
    )


def _unit_cols(c: HwConfig) -> list[int]:
    """Columns of each of the CSB unit's jobs (its input blocks of k), in job order."""
    ctrl = csb_unit.controller_shape(c.shape)
    return [job.read_count * ctrl.block_size for job in all_jobs(ctrl)]


def _image_words(c: HwConfig) -> tuple[int, int]:
    """(X_W, INDEX_W) of the unit's program images: the widest job's input index and the row offset."""
    return cprog.x_word(max(_unit_cols(c))), ecsb.index_word(_csb(c.shape).block)


def array_shape(c: HwConfig) -> array_cost.ArrayShape:
    """The CSB unit's group array for ``c``: its grid, the sum word (``c.sum_w``, or the accumulator's when
    the weights are not known: the bound of every model of the shape), the widest job's columns, k
    elements per beat, ``c.red_rows`` and the formats."""
    g = c.grid
    return array_cost.ArrayShape(
        k=g.k,
        l=g.l,
        p=g.p,
        q=g.q,
        sum_w=c.sum_w or c.acc_w,
        cols=max(_unit_cols(c)),
        elems=csb_unit.controller_block(_csb(c.shape).block),
        block=_csb(c.shape).block,
        red_rows=c.red_rows,
        data_w=c.data_w,
        w_w=c.w_w,
    )


def _shared_blocks(c: HwConfig, family: str) -> dict[str, dict[str, float]]:
    """The cell unit and the controller, as the circulant cost model estimates them for the same shape
    (the CSB engine is to sit behind the same controller and cell units)."""
    s = c.shape
    k = 1 << max(2, math.ceil(math.log2(min(_csb(s).block, 32))))
    circ = ModelShape(
        cell=s.cell,
        input_size=s.input_size,
        hidden_size=s.hidden_size,
        proj_size=s.proj_size,
        num_layers=s.num_layers,
        peephole=s.peephole,
        structure=BlockCirculant(k),
    )
    hw = cost_model.HwConfig.build(circ, NumericsConfig.for_shape(circ, c.data_w), k // 2 + 1)
    est = cost_model.estimate(hw, family=family)
    return {b: est.blocks[b] for b in ("cell", "controller")}


def estimate(c: HwConfig, coeffs: dict[str, Any] | None = None, family: str = "xcu") -> Estimate:
    """Cycles per time step and resources of one configuration (the structure seam's ``estimate``)."""
    cycles, mac_cycles, macs = step_cycles(c)
    g = c.grid
    engine = array_cost.estimate(array_shape(c), mac_cycles, *_image_words(c))
    blocks = {"csb_engine": engine, **_shared_blocks(c, family)}
    used = {r: sum(b[r] for b in blocks.values()) for r in RESOURCES}
    ideal = -(-macs // g.pes)
    util = macs / (g.pes * mac_cycles) if mac_cycles else 0.0
    return Estimate(g.pes, float(cycles), ideal, macs, used, blocks, mac_cycles, util)
