"""Phase II cost model: cycles per time step, LUT, FF, DSP and BRAM of ``rtl/ernn_top.v`` as functions of
the model shape, the block size k, the number formats and the PE's MAC lanes P.

Cycles come from the event-level timing model of the schedule (:func:`_raw_cycles`,
:mod:`ernn.export.timing`: every block of a few time steps through the loads, the MAC rounds, the IFFTs
and the cell unit, jobs in table order or with the layers pipelined across steps), with the hardware
choices the exporter makes for the shape and P (``ERNN_N_IFFT``, ``ERNN_LAYER_SKEW``, ``ERNN_REAL_BINS``:
``HwConfig.build``), plus two fitted controller constants that stay near zero: clocks per time step and
clocks per extra job hand-off (the GRU's in and hn jobs).

The calibration samples predate those choices (one IFFT, layers in order, complex lanes only; a sample
without the fields gets those defaults), so the extra IFFTs and the real lanes enter the features
structurally: each IFFT is one more "ifft" block, and a real lane (2 of every k/2 + 1 lanes when P is a
multiple of k/2 + 1) one multiply instead of three and about half a complex lane's adders and registers
(bench/bench_dsp_pack.py measured 0.852 of the lanes' DSPs and 0.842 of their LUTs at k = 16).

Resources are per functional block (``fpga.BLOCK_OF_KIND``: MAC lanes, weight memory, FFT, IFFT, PE
control and gearbox, cell unit, controller). Each block's resource is ``a * feature + b``, where the
feature is a structural count derived from the RTL (bits of adders and registers per lane, gearbox mux
inputs, butterfly bits, multipliers mapped to DSP48 slices, 36 Kb BRAMs of a memory) and ``a``, ``b`` are
fitted by least squares to Yosys ``synth_xilinx`` runs of a few calibration points
(``bench/bench_cost_samples.py --fit`` writes ``cost_coefficients.json``). Where the feature is an exact
count (DSPs of the MAC lanes, BRAMs of the weight memory) the fitted slope comes out close to 1.

Nothing here runs a tool; ``ernn dse`` checks the model against the measured samples and reports its
error (docs/dse.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

import ernn.export.dsp_pack as dsp_pack
from ernn.export import layout as hw_layout
from ernn.export import schedule
from ernn.export.timing import MREG, step_timing
from ernn.golden.formats import NumericsConfig
from ernn.shape import BlockCirculant, ModelShape

COEFFICIENTS_FILE = Path(__file__).with_name("cost_coefficients.json")
RESOURCES = ("lut", "ff", "dsp", "bram36")
#: Resources whose features count the primitives themselves (multipliers -> DSP slices, memory -> BRAM36).
EXACT_COUNTS = ("dsp", "bram36")
BLOCKS = ("mac_lanes", "weights", "fft", "ifft", "pe_control", "cell", "controller")

#: DSP48 multiplier operand widths (signed): DSP48E2 (UltraScale) 27 x 18, DSP48E1 (7 series) 25 x 18.
DSP_OPERANDS = {"xcu": (27, 18), "xcup": (27, 18), "xc7": (25, 18)}
#: A memory of at most this many words stays in LUTs/LUTRAM; deeper ones go to block RAM. Yosys 0.23
#: kept initialised ROMs of up to 202 words in LUTs (one LUT6 per 64 words per bit) and the 8-bit data
#: path's 256- and 128-entry activation tables in LUTRAM, and put 456 words and the 1024-entry tables
#: into BRAM (bench/bench_cost_samples.py).
BRAM_MAX_LUT_DEPTH = 256


@dataclass(frozen=True)
class HwConfig:
    """Everything the cost model needs about one accelerator: shape, formats, P."""

    cell: str
    input_size: int
    hidden_size: int
    proj_size: int
    num_layers: int
    peephole: bool
    k: int
    lanes: int
    cell_lanes: int
    w_depth: int
    xbuf_depth: int
    data_w: int
    fft_w: int
    ws_w: int
    acc_w: int
    ifft_w: int
    ifft_out_w: int
    bias_w: int
    cell_w: int
    peep_w: int
    act_w: int
    slope_w: int
    sigmoid_seg_bits: int
    tanh_seg_bits: int
    n_ifft: int = 1  # IFFTs side by side (ERNN_N_IFFT)
    layer_skew: bool = False  # layers pipelined across steps (ERNN_LAYER_SKEW)
    real_bins: bool = False  # real MAC lanes for bins 0 and k/2 (ERNN_REAL_BINS)
    gru_in_first: bool = False  # a GRU stage's jobs in the order in, rz, hn (schedule.gru_in_first)
    dsp_pack: bool = False  # two weight products per MAC multiply (ERNN_DSP_PACK, export --dsp-pack)
    # rtl/ernn_pe.v MREG: multiplier outputs registered (the RTL's default since issue 18; the
    # calibration samples predate it, so a sample without the field is 0)
    mreg: int = 0
    tw_w: int = 18  # twiddle word (Q(twiddle); the samples' 16-bit designs all had 18)

    @property
    def bins(self) -> int:
        return self.k // 2 + 1

    @property
    def log2k(self) -> int:
        return int(math.log2(self.k))

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    @property
    def shape(self) -> ModelShape:
        """The model shape this configuration runs (its fields are stored flat, as in cost_samples.json)."""
        return ModelShape(
            cell=self.cell,
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            proj_size=self.proj_size,
            num_layers=self.num_layers,
            peephole=self.peephole,
            structure=BlockCirculant(self.k),
        )

    @classmethod
    def build(
        cls, info: ModelShape, numerics: NumericsConfig, lanes: int, *, dsp_pack_lanes: bool = False
    ) -> HwConfig:
        """From a shape (or a golden model's ``ModelInfo``), its formats and P; ``dsp_pack_lanes``: the
        MAC lanes pack two weight products per multiply (the formats must allow it)."""
        lanes = hw_layout.check_lanes(lanes)
        if dsp_pack_lanes and (problem := dsp_pack.dsp_pack_problem(numerics)) is not None:
            raise ValueError(f"the MAC lanes cannot pack at these formats: {problem}")
        bins = info.block_size // 2 + 1
        return cls(
            cell=info.cell,
            input_size=info.input_size,
            hidden_size=info.hidden_size,
            proj_size=info.proj_size,
            num_layers=info.num_layers,
            peephole=bool(info.peephole),
            k=info.block_size,
            lanes=lanes,
            cell_lanes=hw_layout.cell_lanes(info, lanes),
            w_depth=sum(job.words(bins, lanes) for job in hw_layout.all_jobs(info)),
            xbuf_depth=hw_layout.xbuf_depth(info),
            data_w=numerics.data.word,
            fft_w=numerics.fft_out.word,
            ws_w=numerics.weight_spectrum.word,
            acc_w=numerics.accumulator.word,
            ifft_w=numerics.ifft.word,
            ifft_out_w=numerics.ifft_out.word,
            bias_w=numerics.bias.word,
            cell_w=numerics.cell.word,
            peep_w=numerics.peephole.word,
            act_w=numerics.act.word,
            slope_w=numerics.act_slope.word,
            sigmoid_seg_bits=numerics.sigmoid.seg_bits,
            tanh_seg_bits=numerics.tanh.seg_bits,
            n_ifft=schedule.n_ifft(info, lanes),
            layer_skew=schedule.layer_skew(info, lanes),
            real_bins=dsp_pack.real_bins(info.block_size, lanes),
            gru_in_first=schedule.gru_in_first(info, lanes),
            dsp_pack=dsp_pack_lanes,
            mreg=MREG,
            tw_w=numerics.twiddle.word,
        )


# ------------------------------------------------------------------------------------------------------
# structural counts
def dsp_per_multiply(a_bits: int, b_bits: int, family: str = "xcu") -> int:
    """DSP slices of one a x b signed product: the operands split into DSP-sized signed pieces."""
    da, db = DSP_OPERANDS[family]
    a_bits, b_bits = max(a_bits, b_bits), min(a_bits, b_bits)
    return math.ceil((a_bits - 1) / (da - 1)) * math.ceil((b_bits - 1) / (db - 1))


def twiddle_multipliers(k: int, inverse: bool) -> int:
    """Butterflies with a general (multiplying) twiddle in ``rtl/ernn_fft.v`` / ``rtl/ernn_ifft.v``.

    Stages 1 and 2 use only W = 1 and W = -j. In stage s (2**s-point spectra) butterfly j of a group
    uses W_k^m, m = j k / 2**s, and multiplies unless m is 0 or k/4. The forward FFT's last stage keeps
    only the butterflies that feed bins 0..k/2 (all k/2 of them); the inverse, fed bins 0..k/2 and
    their conjugates, builds every stage in full (pruning only imaginary outputs).
    """
    count = 0
    for s in range(3, int(math.log2(k)) + 1):
        half = 2 ** (s - 1)
        groups = k // 2**s
        general = sum(1 for j in range(half) if (j * k // 2**s) not in (0, k // 4))
        count += groups * general
    return count


def bram36(depth: int, width: int) -> float:
    """36 Kb block RAMs of one depth x width memory in its best aspect ratio (RAMB18 halves allowed)."""
    if depth <= BRAM_MAX_LUT_DEPTH or width <= 0:
        return 0.0
    best = math.inf
    # (width, depth) of a RAMB36 in simple dual port / single port modes, and RAMB18 halves
    for w, d, cost in (
        (72, 512, 1.0),
        (36, 1024, 1.0),
        (18, 2048, 1.0),
        (9, 4096, 1.0),
        (36, 512, 0.5),
        (18, 1024, 0.5),
        (9, 2048, 0.5),
    ):
        best = min(best, math.ceil(width / w) * math.ceil(depth / d) * cost)
    return float(best)


def act_table_brams(c: HwConfig) -> float:
    """BRAMs of the activation tables: a value and a slope table per function, one dual-port copy per two
    lanes (``rtl/ernn_act_pwl.v``); LSTM: sigmoid for i, f, o and tanh for g and c; GRU: sigmoid r, z and
    tanh n (one lane group each)."""
    copies = (c.cell_lanes + 1) // 2
    sig = bram36(2**c.sigmoid_seg_bits, c.act_w) + bram36(2**c.sigmoid_seg_bits, c.slope_w)
    tanh = bram36(2**c.tanh_seg_bits, c.act_w) + bram36(2**c.tanh_seg_bits, c.slope_w)
    units = (2, 2) if c.cell == "lstm" else (1, 1)  # act_pwl instances of each function
    return copies * (units[0] * sig + units[1] * tanh)


def gearbox_mux_inputs(lanes: int, bins: int) -> int:
    """Word inputs of the PE gearbox's entry muxes (rtl/ernn_pe.v): entry n of the bins + P - 1 takes
    lane n - d of a round that lands at d in [0, bins) when 0 <= n - d < P (only d = 0 when P is a
    multiple of bins: rounds of whole row blocks), or shifts in entry n + bins when a row block leaves."""
    cap = bins + lanes - 1
    last_landing = 0 if lanes % bins == 0 else bins - 1
    total = 0
    for n in range(cap):
        total += max(0, min(n, last_landing) - max(0, n - lanes + 1) + 1)
        total += 1 if n + bins < cap else 0
    return total


def rotation_mux_inputs(lanes: int, bins: int) -> int:
    """Word inputs of the PE's shared bin rotation: min(P, bins) selects of bins words, none when P is a
    multiple of bins (every round starts at bin 0)."""
    return 0 if lanes % bins == 0 else min(lanes, bins) * bins


def features(c: HwConfig, family: str = "xcu") -> dict[str, dict[str, float]]:
    """The structural feature of every (block, resource) pair (see the module docstring)."""
    p, bins = c.lanes, c.bins
    weight_bits = 2 * p * c.ws_w
    in_logic = c.w_depth <= BRAM_MAX_LUT_DEPTH
    rom_luts = math.ceil(c.w_depth / 64) * weight_bits  # LUT6 ROMs: 64 words per LUT per bit
    butterflies = c.k // 2 * c.log2k
    gates = 4  # gate slots per hidden unit: LSTM i, f, g, o; GRU r, z, in, hn
    cell_bits = c.cell_lanes * (
        gates * (c.ifft_out_w + c.bias_w)
        + (c.cell_w if c.cell == "lstm" else c.data_w)
        + (3 * c.peep_w if c.peephole else 0)
    )
    cell_mults = c.cell_lanes * ((3 + (3 if c.peephole else 0)) if c.cell == "lstm" else 3)
    ctrl_bits = (
        c.input_size * c.data_w
        + 2 * c.output_size * c.data_w
        + 4 * c.k * c.ifft_out_w
        + c.k * (c.cell_w + c.data_w)
    )
    mul_dsp = dsp_per_multiply(c.fft_w + 1, c.ws_w + 1, family)
    # real lanes (bins 0 and k/2): one multiply instead of three, about half a lane's adders and registers
    real_lanes = 2 * (p // bins) if c.real_bins else 0
    lane_bits = 2 * c.acc_w + 2 * c.fft_w + 2 * c.ws_w
    # gearbox mux inputs x IFFT word; the shared rotation of the stored spectrum (min(P, bins) selects
    # of bins words); per-lane rounding of the accumulators
    gearbox = (
        gearbox_mux_inputs(p, bins) * 2 * c.ifft_w
        + rotation_mux_inputs(p, bins) * 2 * c.fft_w
        + p * 2 * c.acc_w
    )
    # packed (rtl/ernn_cmac.v DSP_PACK): a complex lane's two multiplies x_re, x_im times a weight pair,
    # one slice each (the formats guarantee the pair fits the 27-bit port); a real lane one
    lane_dsp = (2 * p - real_lanes) if c.dsp_pack else (3 * p - 2 * real_lanes) * mul_dsp
    return {
        "mac_lanes": {
            "lut": (p - real_lanes / 2) * lane_bits,
            "ff": (p - real_lanes / 2) * lane_bits,
            "dsp": lane_dsp,
            "bram36": 0.0,
        },
        "weights": {
            "lut": rom_luts if in_logic else 0.0,
            "ff": weight_bits if in_logic else 0.0,
            "dsp": 0.0,
            "bram36": bram36(c.w_depth, weight_bits),
        },
        "fft": {
            "lut": butterflies * c.fft_w,
            "ff": butterflies * c.fft_w,
            "dsp": 3 * twiddle_multipliers(c.k, False) * dsp_per_multiply(c.fft_w, 18, family),
            "bram36": 0.0,
        },
        "ifft": {  # per IFFT, times the IFFTs side by side
            "lut": c.n_ifft * butterflies * c.ifft_w,
            "ff": c.n_ifft * butterflies * c.ifft_w,
            "dsp": c.n_ifft * 3 * twiddle_multipliers(c.k, True) * dsp_per_multiply(c.ifft_w + 1, 19, family),
            "bram36": 0.0,
        },
        "pe_control": {
            "lut": gearbox,
            "ff": gearbox,
            "dsp": 0.0,
            "bram36": bram36(c.xbuf_depth, bins * 2 * c.fft_w),
        },
        "cell": {"lut": cell_bits, "ff": cell_bits, "dsp": cell_mults, "bram36": act_table_brams(c)},
        "controller": {"lut": ctrl_bits, "ff": ctrl_bits, "dsp": 0.0, "bram36": 0.0},
    }


def mreg_flip_flops(c: HwConfig) -> dict[str, float]:
    """Flip-flops of the multiplier-output registers (``MREG = 1``), per block, counted from the RTL:
    they are added to the fitted estimate as they are, because the calibration samples were built
    without them. ``ernn_cmul`` registers each of its products: 3 of X_W + C_W + 1 bits (Gauss form),
    or 2 packed ones of 2 X_W + 2 C_W + 1 (``DSP_PACK``); a real lane's one product X_W + C_W + 1; a
    butterfly with a general twiddle adds the two components of its delayed ``a`` (rtl/ernn_fft_bfly.v
    ``LEVELS = 3``). Measured against Yosys (docs/performance.md): the default model's MAC lanes 1,728
    counted against 1,684 more FF than the fitted estimate, SR1 packed at P = 1,152 75,008 against 71,333."""
    if not c.mreg:
        return {block: 0.0 for block in BLOCKS}
    real = 2 * (c.lanes // c.bins) if c.real_bins else 0
    gauss = 3 * (c.fft_w + c.ws_w + 1)
    packed = 2 * (2 * c.fft_w + 2 * c.ws_w + 1)
    lanes = (c.lanes - real) * (packed if c.dsp_pack else gauss) + real * (c.fft_w + c.ws_w + 1)

    def butterflies(inverse: bool, width: int) -> float:
        return twiddle_multipliers(c.k, inverse) * (3 * (width + c.tw_w + 1) + 2 * width)

    out = {block: 0.0 for block in BLOCKS}
    out["mac_lanes"] = float(lanes)
    out["fft"] = butterflies(False, c.fft_w)
    out["ifft"] = c.n_ifft * butterflies(True, c.ifft_w)
    return out


# ------------------------------------------------------------------------------------------------------
# calibration
def _sample_config(sample: dict[str, Any]) -> HwConfig:
    if "hw_config" in sample:
        return HwConfig(**sample["hw_config"])
    from ernn.export.writer import ExportedModel

    net = ExportedModel(sample["model_dir"]).net
    return HwConfig.build(net.info.shape, net.numerics, sample["lanes"])


def fit(samples: list[dict[str, Any]], config_of: Callable[[dict[str, Any]], HwConfig] | None = None) -> dict:
    """Least-squares slope and intercept per (block, resource) on the ``calibration`` samples, and the
    cycle overheads (a constant per time step and one per extra job, :func:`_extra_jobs`), least squares
    on measured - :func:`_raw_cycles`.

    A slope is kept non-negative (a resource never shrinks as its structural count grows): when the
    unconstrained fit gives a negative slope, the block is fitted by its mean (slope 0). A feature that is
    zero on every calibration point keeps slope 1 for exact counts (DSP, BRAM36) and 0 otherwise.
    """
    config_of = config_of or _sample_config
    calib = [s for s in samples if s["role"] == "calibration"]
    if len(calib) < 2:
        raise ValueError(f"need at least 2 calibration samples to fit the cost model, got {len(calib)}")
    feats = [features(config_of(s)) for s in calib]
    coeffs: dict[str, Any] = {"blocks": {}, "calibration": [s["name"] for s in calib]}
    for block in BLOCKS:
        coeffs["blocks"][block] = {}
        for res in RESOURCES:
            x = np.array([f[block][res] for f in feats], dtype=float)
            y = np.array([s["yosys"]["blocks"].get(block, {}).get(res, 0.0) for s in calib], dtype=float)
            if np.ptp(x) == 0 and x[0] == 0:
                # the calibration never exercised this feature (e.g. every weight memory was too shallow
                # for BRAM): DSP and BRAM features are exact counts, so take them at face value
                slope, icpt = (1.0 if res in EXACT_COUNTS else 0.0), float(np.mean(y))
            elif np.ptp(x) == 0:
                slope, icpt = float(np.mean(y) / x[0]), 0.0
            else:
                slope, icpt = np.polyfit(x, y, 1)
                if slope < 0:
                    slope, icpt = 0.0, float(np.mean(y))
            coeffs["blocks"][block][res] = {"slope": float(slope), "intercept": float(icpt)}
    # cycles = raw + overhead + per_job * extra jobs, least squares over the calibration points
    configs = [config_of(s) for s in calib]
    a = np.array([[1.0, _extra_jobs(c)] for c in configs])
    r = np.array([s["cycles_per_step"] - _raw_cycles(c) for s, c in zip(calib, configs, strict=True)])
    if np.ptp(a[:, 1]) == 0:
        coeffs["cycle_overhead"], coeffs["cycle_per_extra_job"] = float(np.mean(r)), 0.0
    else:
        (c0, cj), *_ = np.linalg.lstsq(a, r, rcond=None)
        coeffs["cycle_overhead"], coeffs["cycle_per_extra_job"] = float(c0), float(max(cj, 0.0))
    return coeffs


def load_coefficients(path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path) if path else COEFFICIENTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run bench/bench_cost_samples.py --fit to calibrate the cost model"
        )
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------------------------------
# estimates
def _raw_cycles(c: HwConfig) -> int:
    """What the schedule fixes, before the fitted controller constants: the steady-state clocks per step
    of the event-level timing model (:func:`ernn.export.timing.step_timing`: loads one block per clock
    when their producer has written them, the MAC rounds and the gearbox's drain, the one IFFT at a row
    block per clock, the cell unit at k / CELL_LANES beats per block, the jobs in table order, the
    controller's hand-off clocks), with the configuration's IFFTs, layer order and GRU job order. It is within
    4 % of every measured sample (docs/dse.md)."""
    return step_timing(
        c.shape, c.lanes, c.cell_lanes, iffts=c.n_ifft, layer_skew=c.layer_skew, in_first=c.gru_in_first
    ).cycles


def _extra_jobs(c: HwConfig) -> int:
    """Job hand-offs inside a stage that the pipeline depth does not cover: the GRU's in and hn jobs
    (the cell needs all three jobs' rows of a block; each new job waits for the previous one's command
    to retire)."""
    return 2 * c.num_layers if c.cell == "gru" else 0


@dataclass(frozen=True)
class Estimate:
    lanes: int
    cycles_per_step: float
    ideal_cycles: int
    complex_macs: int
    used: dict[str, float]
    blocks: dict[str, dict[str, float]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate(c: HwConfig, coeffs: dict[str, Any] | None = None, family: str = "xcu") -> Estimate:
    """Cycles per time step and resources of one configuration."""
    coeffs = coeffs or load_coefficients()
    feats = features(c, family)
    mreg_ff = mreg_flip_flops(c)
    blocks: dict[str, dict[str, float]] = {}
    for block in BLOCKS:
        blocks[block] = {}
        for res in RESOURCES:
            k = coeffs["blocks"][block][res]
            blocks[block][res] = max(0.0, k["slope"] * feats[block][res] + k["intercept"])
        blocks[block]["ff"] += mreg_ff[block]
    used = {res: sum(blocks[b][res] for b in BLOCKS) for res in RESOURCES}
    cm = hw_layout.cycle_model(c.shape, c.lanes)
    cycles = _raw_cycles(c) + coeffs["cycle_overhead"] + coeffs["cycle_per_extra_job"] * _extra_jobs(c)
    return Estimate(c.lanes, float(cycles), cm.ideal, cm.complex_macs, used, blocks)
