"""Phase II cost model: cycles per time step, LUT, FF, DSP and BRAM of ``rtl/ernn_top.v`` as functions of
the model shape, the block size k, the number formats and the PE's MAC lanes P.

Cycles come from the event-level timing model of the schedule (:func:`_raw_cycles`,
:mod:`ernn.export.timing`: every block of a few time steps through the loads, the MAC rounds, the IFFTs
and the cell unit, jobs in table order or with the layers pipelined across steps), with the hardware
choices the exporter makes for the shape and P (``ERNN_N_IFFT``, ``ERNN_LAYER_SKEW``, ``ERNN_REAL_BINS``:
``HwConfig.build``), plus two fitted controller constants that stay near zero: clocks per time step and
clocks per extra job hand-off (the GRU's in and hn jobs).

The exporter's choices enter the resources structurally too: each IFFT is one more set of butterflies
and twiddle multipliers, a real lane (2 of every k/2 + 1 lanes when P is a multiple of k/2 + 1) one
multiply instead of three, about half a complex lane's adders and registers and no imaginary weight,
packed lanes (``dsp_pack``) two multiplies per complex lane and, with real lanes, one multiply per two
real lanes (row blocks 2n and 2n + 1 share it: ``ernn_rmac_pair``), and the IFFTs side by side widen
the gearbox's window, the gate buffer's banks and the PE writer's rows.

The PE's gearbox has two forms (rtl/ernn_pe.v): with P a multiple of k/2 + 1 (the *hold* form) each
round stays where it landed and a window select hands its rows to the IFFTs; its words are the lanes'
rounded, unclamped sums (HOLD_W bits), clamped to the IFFT word once per IFFT input. Otherwise (the
*shift* form) the lanes round and clamp, and the rounds land in a shift register of IFFT words. The
calibration samples predate both the hold form and the real-lane pairs (a377d90: the shift form for
every P): :class:`HwConfig`'s ``hold_gearbox``, ``late_sat`` and ``pair_real`` say which RTL a
configuration describes (a stored sample without them the one it was measured on), and the hold form's
features are priced with slopes fitted on the shift form's.

Resources are per *part* (:data:`PARTS`): the functional blocks of ``fpga.BLOCK_OF_KIND`` (MAC lanes,
weight memory, FFT, IFFT, PE control, cell unit, controller) split by RTL module where the modules grow
by different laws (the PE's gearbox, bin rotation, lane rounders and registers; butterflies and twiddle
multipliers; the cell's arithmetic and activation units; the controller's selects, gate buffer and state
memories). Each part's resource is ``a * feature + b``, where the feature is a structural count derived
from the RTL (bits of adders and registers per lane, gearbox mux inputs, butterfly bits, select output
bits, multipliers mapped to DSP48 slices by their operand widths, 36 Kb BRAMs of a memory) and ``a``,
``b`` are fitted by least squares to the per-part breakdown (:func:`part_breakdown`) of Yosys
``synth_xilinx`` runs of a few calibration points (``bench/bench_cost_samples.py --fit`` writes
``cost_coefficients.json``). The multiplier-output registers (``MREG``) are counted exactly and added
as they are (:func:`mreg_flip_flops`). Where the feature is an exact count (DSPs, BRAMs, register bits)
the fitted slope comes out close to 1.

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
from ernn.export.jobs import split_lane
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
#: The controller's state memories (ernn_state_ram, no initial contents) go to BRAM above 64 words and
#: to LUTRAM (RAM64) up to it: SR1 packed's h and c (128 words) took 6 BRAM36, its m (64) none.
CTRL_LUTRAM_DEPTH = 64


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
    load_ahead: bool = False  # spectrum slots in two banks, the PE loading ahead (schedule.load_ahead)
    interleave: bool = False  # a slot's gate jobs before its projections (ERNN_INTERLEAVE)
    gru_fused: bool = False  # a GRU stage as one job (schedule.gru_fused)
    split: bool = False  # last rounds split over two lane groups (ERNN_SPLIT, schedule.split)
    # the feeder reads a gate-buffer block as it is completed (ERNN_GATE_FORWARD, schedule.gate_forward;
    # the calibration samples predate it, so a sample without the field is False)
    gate_forward: bool = False
    # the LSTM projection on the engine beside the PE (ERNN_PROJ_ENGINE, schedule.proj_engine): no
    # projection jobs in the PE, no m memory; the engine priced by :func:`proj_engine_units`
    proj_engine: bool = False
    dsp_pack: bool = False  # two weight products per MAC multiply (ERNN_DSP_PACK, export --dsp-pack)
    # rtl/ernn_pe.v MREG: multiplier outputs registered (the RTL's default since issue 18; the
    # calibration samples predate it, so a sample without the field is 0)
    mreg: int = 0
    tw_w: int = 18  # twiddle word (Q(twiddle); the samples' 16-bit designs all had 18)
    # read by the per-module parts (issue 18's recalibration); the defaults are the 16-bit default's
    gate_w: int = 16  # gate pre-activation word (Q(gate): the activation units' input)
    acc_shift: int = 11  # bits the lane rounders drop (rtl/ernn_pe.v ACC_SHIFT = D + S - I)
    sigmoid_offset_bits: int = 6  # B of rtl/ernn_act_pwl.v: 0 = a plain table, no multiplier
    tanh_offset_bits: int = 5
    # The PE's RTL revision where its structure changed. A stored sample without a field was built
    # before that change (the calibration samples, a377d90: the shift gearbox for every P, two clamping
    # rounders per lane, one multiply per real lane), so its features stay those of the RTL it was
    # measured on; HwConfig.build sets today's RTL.
    # rtl/ernn_pe.v, P a multiple of bins: each round held in place, a window select (126ac59, b5d21a7)
    hold_gearbox: bool = False
    # the hold gearbox holds rounded, unclamped words and clamps once per IFFT input (948c96d)
    late_sat: bool = False
    # DSP_PACK with real lanes: row blocks 2n and 2n + 1 share one multiply (948c96d, ernn_rmac_pair)
    pair_real: bool = False
    # the late clamp's window registered a clock ahead: a second set of clamps (the landing round's
    # rows beside the window one pointer on) and a register of the clamped window (6fdb966)
    win_reg: bool = False

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
            w_depth=sum(
                job.words(bins, lanes, schedule.split(info, lanes))
                for job in hw_layout.all_jobs(
                    info,
                    gru_fused=schedule.gru_fused(info, lanes),
                    proj_engine=schedule.proj_engine(info, lanes),
                )
            ),
            xbuf_depth=hw_layout.xbuf_depth(
                info,
                schedule.gru_in_first(info, lanes),
                schedule.load_ahead(info, lanes),
                schedule.interleave(info, lanes),
                schedule.gru_fused(info, lanes),
                schedule.proj_engine(info, lanes),
            ),
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
            load_ahead=schedule.load_ahead(info, lanes),
            interleave=schedule.interleave(info, lanes),
            gru_fused=schedule.gru_fused(info, lanes),
            split=schedule.split(info, lanes),
            gate_forward=schedule.gate_forward(info, lanes),
            proj_engine=schedule.proj_engine(info, lanes),
            dsp_pack=dsp_pack_lanes,
            mreg=MREG,
            tw_w=numerics.twiddle.word,
            gate_w=numerics.gate.word,
            acc_shift=numerics.data.frac + numerics.weight_spectrum.frac - numerics.ifft.frac,
            sigmoid_offset_bits=_offset_bits(numerics, numerics.sigmoid),
            tanh_offset_bits=_offset_bits(numerics, numerics.tanh),
            hold_gearbox=True,
            late_sat=True,
            pair_real=True,
            win_reg=True,
        )


def _offset_bits(numerics: NumericsConfig, spec: Any) -> int:
    """rtl/ernn_act_pwl.v's B = R + 1 + G - S: the input bits below the table address."""
    return spec.range_log2 + 1 + numerics.gate.frac - spec.seg_bits


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


def twiddle_dsp(x_bits: int, tw_bits: int, family: str = "xcu") -> int:
    """DSP slices of one butterfly's general twiddle product (rtl/ernn_cmul.v, three-multiplier form):
    (X + 1) x C and twice X x (C + 1) bits; the 16-bit path's 19-bit twiddle sums take two slices."""
    return dsp_per_multiply(x_bits + 1, tw_bits, family) + 2 * dsp_per_multiply(x_bits, tw_bits + 1, family)


def bram36(depth: int, width: int, min_depth: int = BRAM_MAX_LUT_DEPTH) -> float:
    """36 Kb block RAMs of one depth x width memory in its best aspect ratio (RAMB18 halves allowed);
    none for a memory of at most ``min_depth`` words (kept in LUTs)."""
    if depth <= min_depth or width <= 0:
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


def act_lookups(c: HwConfig) -> tuple[int, int]:
    """Activation lookups per hidden unit (sigmoid, tanh): LSTM i, f, o and g, tanh(c); GRU r, z and n."""
    return (3, 2) if c.cell == "lstm" else (2, 1)


def act_table_copies(c: HwConfig) -> tuple[int, int]:
    """Copies of the (sigmoid, tanh) tables, each a dual-port ROM serving two lookups: LSTM (rtl/ernn_lstm_cell.v)
    sigmoid i/f LANES copies, sigmoid o, tanh g and tanh c ceil(LANES/2) each; GRU (rtl/ernn_gru_cell.v)
    LANES sigmoid copies (r and z), ceil(LANES/2) tanh copies."""
    half = (c.cell_lanes + 1) // 2
    return (c.cell_lanes + half, 2 * half) if c.cell == "lstm" else (c.cell_lanes, half)


def act_table_brams(c: HwConfig) -> float:
    """BRAMs of the activation tables: a value and a slope table per copy (:func:`act_table_copies`);
    a slope table only where the unit interpolates (offset bits B > 0, rtl/ernn_act_pwl.v)."""
    copies = act_table_copies(c)
    total = 0.0
    for n, seg, off in zip(
        copies,
        (c.sigmoid_seg_bits, c.tanh_seg_bits),
        (c.sigmoid_offset_bits, c.tanh_offset_bits),
        strict=True,
    ):
        total += n * (bram36(2**seg, c.act_w) + (bram36(2**seg, c.slope_w) if off > 0 else 0.0))
    return total


def cell_multipliers(c: HwConfig, family: str = "xcu") -> tuple[float, float]:
    """DSP slices of the cell unit per hidden-unit lane: (activation interpolations, cell arithmetic),
    each product priced by its operand widths (the RTL headers' "Resources per lane"). LSTM f c_{t-1}
    (act x cell), i g and o tanh(c_t) (act x act), peepholes 3 x (peephole x cell); GRU r hn (act x gate)
    and z (h' - n') (act x max(act, data) + 1); every interpolating lookup slope x (B + 1)."""
    sig, tanh = act_lookups(c)
    act = 0.0
    for n, off in ((sig, c.sigmoid_offset_bits), (tanh, c.tanh_offset_bits)):
        act += n * (dsp_per_multiply(c.slope_w, off + 1, family) if off > 0 else 0)
    if c.cell == "lstm":
        arith = dsp_per_multiply(c.act_w, c.cell_w, family) + 2 * dsp_per_multiply(c.act_w, c.act_w, family)
        arith += 3 * dsp_per_multiply(c.peep_w, c.cell_w, family) if c.peephole else 0
    else:
        arith = dsp_per_multiply(c.act_w, c.gate_w, family)
        arith += dsp_per_multiply(c.act_w, max(c.act_w, c.data_w) + 1, family)
    return act, float(arith)


def gearbox_inputs(lanes: int, bins: int, emit: int = 1, hold: bool = False) -> tuple[int, int]:
    """Word inputs of the PE gearbox's muxes (rtl/ernn_pe.v), as (lane inputs, shift inputs).

    Shift form (``g_gb_shift``; every P before 126ac59): entry n of the bins + P - 1 takes lane n - d
    of a round that lands at d in [0, bins) when 0 <= n - d < P (only d = 0 when P is a multiple of
    bins: rounds of whole row blocks), or shifts in entry n + f bins when f = 1..``emit`` row blocks
    leave (``emit``: EMIT_MAX, the row blocks the gearbox hands the IFFTs per clock).

    Hold form (``hold`` and P a multiple of bins, ``g_gb_hold``): no entry muxes; the round stays where
    it landed and each word of the ``emit`` window rows (bins words each) selects among its
    NQ = ceil((P / bins) / emit) candidate rows by a shared pointer, a mux tree like a shift input's
    (counted as shift inputs; rows past the round are zeros, counted too). With NQ = 1 the select is
    still there, the one row against a zero (the pointer steps past it on an emission): an AND per bit.
    """
    if hold and lanes % bins == 0:
        nq = -(-(lanes // bins) // emit)
        return 0, emit * bins * nq
    cap = bins + lanes - 1
    last_landing = 0 if lanes % bins == 0 else bins - 1
    lane_in = shift_in = 0
    for n in range(cap):
        lane_in += max(0, min(n, last_landing) - max(0, n - lanes + 1) + 1)
        shift_in += sum(1 for f in range(1, emit + 1) if n + f * bins < cap)
    return lane_in, shift_in


def gearbox_mux_inputs(lanes: int, bins: int, emit: int = 1, hold: bool = False) -> int:
    """All word inputs of the gearbox's muxes (:func:`gearbox_inputs`)."""
    return sum(gearbox_inputs(lanes, bins, emit, hold))


#: LUTs of a gearbox shift input against a lane input, per bit. A lane input's condition is the
#: entry's own (round landing at d, n - d below the round's count); a shift input's select (f row
#: blocks leave) is shared by every entry, so a 4:1 mux (one LUT6 and the MUXF7s) takes three of them.
#: Yosys, ernn_pe's own LUTs per entry and word bit: 6.66 at k = 8, P = 32 (5 lane inputs, 1 shift per
#: entry), 2.90 at SR1 packed, P = 1152 (1 lane, 4 shifts): 1.25 per lane input, 0.41 per shift input.
#: The hold form's window select (a mux tree per output bit on a shared pointer) takes the same weight
#: per input; no calibration sample has it (their RTL, a377d90, predates it).
GEARBOX_SHIFT_WEIGHT = 1 / 3


def gearbox_emit(c: HwConfig) -> int:
    """rtl/ernn_pe.v EMIT_MAX: row blocks the gearbox hands the IFFTs per clock."""
    return min(c.n_ifft, (c.bins + c.lanes - 1) // c.bins)


def hold_form(c: HwConfig) -> bool:
    """rtl/ernn_pe.v ``LANDINGS == 1`` on RTL with the hold gearbox: every round is whole row blocks."""
    return c.hold_gearbox and c.lanes % c.bins == 0


def pre_round(c: HwConfig) -> bool:
    """rtl/ernn_pe.v ``PRE_ROUND``: the lanes' sums start at the rounding constant (the rounding shift is
    a truncation) when 0 < ACC_SHIFT < min(FFT_W, WS_W) and ACC_W >= FFT_W + WS_W + clog2(READ_MAX), READ_MAX
    the most spectrum slots one job reads (``ernn_ctrl``: the job table's largest read_count; the buffer
    holds more with the slots in two banks)."""
    read_max = max(
        job.read_count
        for job in hw_layout.all_jobs(c.shape, gru_fused=c.gru_fused, proj_engine=c.proj_engine)
    )
    need = c.fft_w + c.ws_w + (read_max - 1).bit_length()
    return 0 < c.acc_shift < min(c.fft_w, c.ws_w) and c.acc_w >= need


def hold_width(c: HwConfig) -> int:
    """rtl/ernn_pe.v ``HOLD_W``, the bits of one gearbox word and of one lane of the round register:
    IFFT_W where the lanes clamp; with the late clamp (hold form) the rounded word, ACC_W - ACC_SHIFT
    when pre-rounded (the top bit of the shifted word repeats its sign), else SH_W."""
    if not (hold_form(c) and c.late_sat):
        return c.ifft_w
    if pre_round(c):
        return c.acc_w - c.acc_shift
    return c.acc_w + 1 - c.acc_shift if c.acc_shift > 0 else c.acc_w - c.acc_shift


def rounder_bits(in_w: int, shift: int, out_w: int, pre_rounded: bool, symmetric: bool = True) -> int:
    """The structural count of one ``rtl/ernn_round_sat.v``: the distinct bits of its shifted word when
    it clamps (SH_W > OUT_W: the SH_W - OUT_W + 1 bits checked against the sign, the OUT_W - 1 below
    selected; SH_W = OUT_W with ``symmetric``: the most negative code's check and select; a pre-rounded
    word's top bit repeats its sign, so IN_W - SHIFT), plus the SH_W bits of its rounding adder when
    SHIFT > 0 and the input is not pre-rounded. The fitted slope is per bit of the pre-rounded, clamping
    lane rounders of the calibration samples (none had an adder)."""
    sh_w = in_w + 1 - shift if shift > 0 else in_w - shift
    adder = sh_w if shift > 0 and not pre_rounded else 0
    if sh_w < out_w or (sh_w == out_w and not symmetric):
        return adder  # no clamp: a sign extension or the word as it is
    distinct = in_w - shift if shift > 0 and pre_rounded else min(sh_w, in_w)
    return distinct + adder


def pe_rounders(c: HwConfig) -> list[tuple[int, int]]:
    """(instances, :func:`rounder_bits` each) of the PE's ``ernn_round_sat``: two per lane that round
    and clamp to IFFT_W (shift form, or hold form before 948c96d); in the hold form with the late clamp
    none in the lanes when pre-rounded (a truncation, wires) or two per lane that only round (OUT_W =
    SH_W), and one clamp of HOLD_W to IFFT_W bits per IFFT input word (EMIT_MAX rows of 2 bins), two
    with the registered window (``win_reg``: the landing round's rows and the window one pointer on)."""
    p, pre = c.lanes, pre_round(c)
    if not (hold_form(c) and c.late_sat):
        return [(2 * p, rounder_bits(c.acc_w, c.acc_shift, c.ifft_w, pre))]
    hold_w = hold_width(c)
    clamps = 2 * gearbox_emit(c) * c.bins * (2 if c.win_reg else 1)
    out = [(clamps, rounder_bits(hold_w, 0, c.ifft_w, False))]
    if not pre:
        out.insert(0, (2 * p, rounder_bits(c.acc_w, c.acc_shift, hold_w, False, symmetric=False)))
    return out


def window_register_bits(c: HwConfig) -> int:
    """Register bits of rtl/ernn_pe.v's clamped window (``g_sat_reg``, hold form with the late clamp
    since 6fdb966): EMIT_MAX rows of 2 bins words of IFFT_W; 0 in the other forms."""
    if not (hold_form(c) and c.late_sat and c.win_reg):
        return 0
    return gearbox_emit(c) * 2 * c.bins * c.ifft_w


def real_lane_multiplies(c: HwConfig) -> tuple[int, int]:
    """(pairs, lone real lanes) of rtl/ernn_cmac_array.v: with DSP_PACK and real lanes (RTL since
    948c96d) the real lanes of row blocks 2n and 2n + 1 share one ``ernn_rmac_pair`` (bins 0 and k/2
    of R = P / bins row blocks: 2 floor(R / 2) pairs, 2 (R mod 2) lone lanes); else every real lane is
    alone (an ``ernn_cmac`` REAL)."""
    if not c.real_bins:
        return 0, 0
    rows = c.lanes // c.bins
    if c.pair_real and c.dsp_pack:
        return 2 * (rows // 2), 2 * (rows % 2)
    return 0, 2 * rows


def rotation_mux_inputs(lanes: int, bins: int) -> int:
    """Word inputs of the PE's shared bin rotation: min(P, bins) selects of bins words, none when P is a
    multiple of bins (every round starts at bin 0)."""
    return 0 if lanes % bins == 0 else min(lanes, bins) * bins


def controller_memories(c: HwConfig) -> list[tuple[int, int]]:
    """(depth, width) of the controller's memories (rtl/ernn_ctrl.v, ernn_state_mem, ernn_gate_buf): h
    (twice with the layers pipelined), c (LSTM) or the GRU's second h copy, m (projection), the gate
    buffer's four slots in one bank per IFFT, one block (k samples) per word. With the stages
    interleaved m has a region per layer."""
    k, layers = c.k, c.num_layers
    qh = -(-c.output_size // k)
    pb = -(-c.hidden_size // k)
    h_depth = max(2, (2 if c.layer_skew else 1) * layers * qh)
    mems = [(h_depth, k * c.data_w)]
    mems.append((max(2, layers * pb), k * c.cell_w) if c.cell == "lstm" else (h_depth, k * c.data_w))
    if c.proj_size and not c.proj_engine:  # the engine takes m from the cell writer: no m memory
        mems.append((max(2, (layers if c.interleave else 1) * pb), k * c.data_w))
    bank = -(-max(2, pb) // c.n_ifft)
    mems += [(bank, k * c.ifft_out_w)] * (4 * c.n_ifft)
    return mems


#: The cost model's parts: each functional block (``ernn.fpga.open_flow.BLOCK_OF_KIND``) split where its
#: RTL modules grow by different laws. A part is the block's cells in the listed module kinds; a block's
#: first part takes every kind not listed. Each part has its own structural feature per resource
#: (:func:`features`) and its own fitted slope and intercept.
PARTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # part: (block, description, module kinds)
    "mac_lanes": ("mac_lanes", "MAC lanes: multipliers, accumulators", ()),
    "weights": ("weights", "weight ROM", ()),
    "fft": ("fft", "FFT butterflies and their rounders", ()),
    "fft_twiddles": ("fft", "FFT twiddle multipliers", ("ernn_cmul",)),
    "ifft": ("ifft", "IFFT butterflies and their rounders", ()),
    "ifft_twiddles": ("ifft", "IFFT twiddle multipliers", ("ernn_cmul",)),
    "pe_gearbox": ("pe_control", "PE gearbox, spectrum buffer, job control", ()),
    "pe_rotation": ("pe_control", "bin rotation of the stored spectra", ("ernn_sel",)),
    "pe_rounders": ("pe_control", "lane rounders, or the hold form's IFFT-input clamps", ("ernn_round_sat",)),
    "pe_registers": ("pe_control", "rounded-lane and output registers", ("ernn_delay", "ernn_axis_skid")),
    "cell": ("cell", "cell arithmetic, rounders", ()),
    "cell_act": ("cell", "activation units and tables", ("ernn_act_pwl",)),
    "controller": ("controller", "command, feeder, writers, selects", ()),
    "ctrl_gate_buf": ("controller", "gate buffer flags and banks", ("ernn_gate_buf",)),
    "ctrl_memories": ("controller", "state memories", ("ernn_state_ram", "ernn_state_mem", "ernn_out_vec")),
}


def part_of(block: str, kind: str) -> str:
    """The part (:data:`PARTS`) that a module kind's cells belong to inside a block."""
    first = None
    for part, (b, _, kinds) in PARTS.items():
        if b != block:
            continue
        if kind in kinds:
            return part
        first = first or part
    if first is None:
        raise KeyError(f"no cost-model part for block {block!r} (module {kind!r})")
    return first


def part_breakdown(stat: dict[str, Any], top: str = "ernn_top") -> dict[str, dict[str, float]]:
    """Resources per part (:data:`PARTS`) from Yosys's ``stat -json`` of a hierarchical synthesis: the
    blocks of ``ernn.fpga.open_flow.block_breakdown`` split by module kind. Summed over parts this is
    the design's total."""
    from ernn.fpga import open_flow as fpga

    modules = {name: m["num_cells_by_type"] for name, m in stat["modules"].items()}
    parts = {part: dict.fromkeys(fpga.classify_cells({}), 0) for part in PARTS}

    def visit(name: str, count: int, block: str | None, parent_kind: str) -> None:
        kind = fpga.module_kind(name)
        if kind == "ernn_rom" and parent_kind == "ernn_cmac_array":
            block = "weights"
        else:
            block = fpga.BLOCK_OF_KIND.get(kind, block)
        own = {cell: n * count for cell, n in modules[name].items() if cell not in modules}
        used = fpga.classify_cells(own)
        if block is None:
            if any(used.values()):
                raise ValueError(f"cells of {name} lie outside every functional block")
        else:
            acc = parts[part_of(block, kind)]
            for key, value in used.items():
                acc[key] += value
        for child, n in modules[name].items():
            if child in modules:
                visit(child, count * n, block, kind)

    visit(next(name for name in modules if fpga.module_kind(name) == top), 1, None, "")
    return parts


def proj_engine_units(c: HwConfig) -> dict[str, float]:
    """What the projection engine (rtl/ernn_proj_pe.v) is built of, counted from its RTL, in the units
    of the PE's parts that it repeats: complex MAC lanes (``QH x BINS`` ernn_cmul with their exact
    accumulators), one FFT and one IFFT of k, a weight ROM of ``LAYERS x PB`` words of ``QH x BINS``
    complex weights, ``2 BINS`` lane rounders (ACC_W -> IFFT_W, symmetric) in front of the IFFT, and
    words of the two-entry latch that the reader selects a block of a clock from (``2 QH BINS`` words
    of ACC_W in the controller's selects). Zero where the configuration has no engine."""
    if not c.proj_engine:
        return dict.fromkeys(("lanes", "ffts", "iffts", "rom_depth", "rom_bits", "rounders", "latch_bits"), 0)
    qh = -(-c.output_size // c.k)
    pb = -(-c.hidden_size // c.k)
    return {
        "lanes": qh * c.bins,
        "ffts": 1,
        "iffts": 1,
        "rom_depth": c.num_layers * pb,
        "rom_bits": qh * c.bins * 2 * c.ws_w,
        "rounders": 2 * c.bins,
        "latch_bits": 2 * qh * c.bins * 2 * c.acc_w,
    }


def features(c: HwConfig, family: str = "xcu") -> dict[str, dict[str, float]]:
    """The structural feature of every (part, resource) pair (see the module docstring and :data:`PARTS`),
    counted from the RTL the configuration describes (:class:`HwConfig`'s ``hold_gearbox``, ``late_sat``,
    ``pair_real``): the gearbox's mux inputs (:func:`gearbox_inputs`) and words (:func:`hold_width`),
    the rounders (:func:`pe_rounders`), the real lanes' multiplies (:func:`real_lane_multiplies`)."""
    p, bins, k = c.lanes, c.bins, c.k
    # real lanes (bins 0 and k/2): one multiply instead of three, about half a lane's adders and
    # registers, and no imaginary weight (a zero column of the ROM, which Yosys drops)
    real_lanes = 2 * (p // bins) if c.real_bins else 0
    weight_bits = (2 * p - real_lanes) * c.ws_w
    in_logic = c.w_depth <= BRAM_MAX_LUT_DEPTH
    rom_luts = math.ceil(c.w_depth / 64) * weight_bits  # LUT6 ROMs: 64 words per LUT per bit
    butterflies = k // 2 * c.log2k
    fft_tw, ifft_tw = twiddle_multipliers(k, False), twiddle_multipliers(k, True)
    gates = 4  # gate slots per hidden unit: LSTM i, f, g, o; GRU r, z, in, hn
    state_w = c.cell_w if c.cell == "lstm" else c.data_w  # the cell's state: c_{t-1}, or the GRU's h_{t-1}
    cell_bits = c.cell_lanes * (
        gates * (c.ifft_out_w + c.bias_w) + state_w + (3 * c.peep_w if c.peephole else 0)
    )
    act_dsp, arith_dsp = cell_multipliers(c, family)
    sig, tanh = act_lookups(c)
    act_bits = c.cell_lanes * sum(
        n * (c.act_w + (c.slope_w + off + 1 if off > 0 else 0))
        for n, off in ((sig, c.sigmoid_offset_bits), (tanh, c.tanh_offset_bits))
    )
    # the controller's word selects, about one LUT per output bit each (ernn_sel): the command side's
    # input frame (one of ceil(input / k) blocks), the feeder's sub-beats (CELL_LANES units of the
    # block's slots, biases, state and peepholes; a select of up to 4), the PE writer's rows (one of
    # n_ifft, or projected)
    feeder = c.cell_lanes * (
        gates * (c.ifft_out_w + c.bias_w) + state_w + (3 * c.peep_w if c.peephole else 0)
    )
    writer = c.n_ifft * k * c.ifft_out_w if (c.n_ifft > 1 or (c.proj_size and not c.proj_engine)) else 0
    ctrl_bits = -(-c.input_size // k) * k * c.data_w + feeder * math.ceil(k / c.cell_lanes / 4) + writer
    # the projection engine (:func:`proj_engine_units`): priced as the PE parts it repeats, its latch's
    # block select with the controller's selects
    eng = proj_engine_units(c)
    ctrl_bits += eng["latch_bits"]
    # its registers: the input frame and a block on its way to the PE (ernn_cmd), and the cell writer's
    # block of h (and c) assembled from the cell unit's beats (none when a beat is a whole block)
    ctrl_regs = c.input_size * c.data_w + k * c.data_w
    ctrl_regs += k * (c.data_w + (c.cell_w if c.cell == "lstm" else 0)) if c.cell_lanes < k else 0
    mems = controller_memories(c)
    # the gate buffer: each of its 4 slots x n_ifft banks takes a block from one of the n_ifft write lanes
    gate_buf = 4 * c.n_ifft**2 * k * c.ifft_out_w
    mul_dsp = dsp_per_multiply(c.fft_w + 1, c.ws_w + 1, family)
    lane_bits = 2 * c.acc_w + 2 * c.fft_w + 2 * c.ws_w
    # real lanes sharing a packed multiply (ernn_rmac_pair): per pair one x register fewer than two
    # real lanes, and the split's adder (the high field plus the low field's sign, X + W + 1 bits);
    # the mac_lanes slopes were fitted on samples without pairs (a377d90)
    pairs, lone_real = real_lane_multiplies(c)
    # the gearbox's words: IFFT_W bits, or with the hold form's late clamp the rounded word HOLD_W
    hold, hold_w = hold_form(c), hold_width(c)
    # gearbox mux inputs x word: the shift form's entry muxes, or the hold form's window select (its
    # inputs weighted as shift inputs; the pe_gearbox slopes were fitted on the shift form only, a377d90)
    lane_in, shift_in = gearbox_inputs(p, bins, gearbox_emit(c), hold)
    gearbox = (lane_in + GEARBOX_SHIFT_WEIGHT * shift_in) * 2 * hold_w
    # the shift form's CAP = bins + P - 1 entries, or the hold form's P words, of two words each
    gearbox_ff = (p if hold else bins + p - 1) * 2 * hold_w
    # packed (rtl/ernn_cmac.v DSP_PACK): a complex lane's two multiplies x_re, x_im times a weight pair,
    # one slice each (the formats guarantee the pair fits the 27-bit port); a lone real lane one, a pair
    # of real lanes one (its two weights packed against the one x: ernn_rmac_pair)
    if c.dsp_pack:
        lane_dsp = 2 * (p - real_lanes) + lone_real + pairs
    else:
        lane_dsp = (3 * p - 2 * real_lanes) * mul_dsp
    lane_dsp += 3 * eng["lanes"] * mul_dsp  # the engine's ernn_cmul (Gauss, never packed)
    eng_rom_luts = math.ceil(eng["rom_depth"] / 64) * eng["rom_bits"]
    eng_rom_in_logic = eng["rom_depth"] <= BRAM_MAX_LUT_DEPTH
    zero = {"dsp": 0.0, "bram36": 0.0}
    n_fft, n_ifft = 1 + eng["ffts"], c.n_ifft + eng["iffts"]
    return {
        "mac_lanes": {
            "lut": (p - real_lanes / 2 + eng["lanes"]) * lane_bits + pairs * (c.fft_w + c.ws_w + 1),
            "ff": (p - real_lanes / 2 + eng["lanes"]) * lane_bits - pairs * c.fft_w,
            "dsp": lane_dsp,
            "bram36": 0.0,
        },
        "weights": {
            "lut": (rom_luts if in_logic else 0.0) + (eng_rom_luts if eng_rom_in_logic else 0.0),
            "ff": (weight_bits if in_logic else 0.0) + (eng["rom_bits"] if eng_rom_in_logic else 0.0),
            "dsp": 0.0,
            "bram36": bram36(c.w_depth, weight_bits)
            + (bram36(eng["rom_depth"], eng["rom_bits"]) if eng["rom_depth"] else 0.0),
        },
        # butterflies: adders and the rounders of every stage, about the same LUTs per butterfly bit
        # at every k; the general twiddles' complex multipliers apart (pre- and post-adders, DSPs)
        # (the projection engine's FFT beside the PE's)
        "fft": {"lut": n_fft * butterflies * c.fft_w, "ff": n_fft * butterflies * c.fft_w, **zero},
        "fft_twiddles": {
            "lut": n_fft * fft_tw * (c.fft_w + c.tw_w),
            "ff": n_fft * fft_tw * (c.fft_w + c.tw_w),
            "dsp": n_fft * fft_tw * twiddle_dsp(c.fft_w, c.tw_w, family),
            "bram36": 0.0,
        },
        # per IFFT, times the IFFTs side by side (and the projection engine's)
        "ifft": {"lut": n_ifft * butterflies * c.ifft_w, "ff": n_ifft * butterflies * c.ifft_w, **zero},
        "ifft_twiddles": {
            "lut": n_ifft * ifft_tw * (c.ifft_w + c.tw_w),
            "ff": n_ifft * ifft_tw * (c.ifft_w + c.tw_w),
            "dsp": n_ifft * ifft_tw * twiddle_dsp(c.ifft_w, c.tw_w, family),
            "bram36": 0.0,
        },
        "pe_gearbox": {
            "lut": gearbox,
            "ff": gearbox_ff,
            "dsp": 0.0,
            "bram36": bram36(c.xbuf_depth, bins * 2 * c.fft_w),
        },
        # the shared rotation of the stored spectrum: min(P, bins) selects of bins words
        "pe_rotation": {"lut": rotation_mux_inputs(p, bins) * 2 * c.fft_w, "ff": 0.0, **zero},
        # rtl/ernn_round_sat.v (:func:`pe_rounders`): two per lane that clamp the accumulator's bits
        # above the dropped ones (the slope's samples, a377d90, all pre-rounded: ACC_W - ACC_SHIFT each),
        # or in the hold form one clamp of HOLD_W bits per IFFT input word
        "pe_rounders": {
            "lut": sum(n * bits for n, bits in pe_rounders(c))
            + eng["rounders"] * rounder_bits(c.acc_w, c.acc_shift, c.ifft_w, False),
            "ff": 0.0,
            **zero,
        },
        # the rounded lanes' register (2 P words of HOLD_W bits: IFFT_W but in the hold form with its
        # late clamp), the output skid buffer (two beats of n_ifft row blocks; LUTs: the skid's select)
        # and the registered clamped window (EMIT_MAX rows of 2 bins words of IFFT_W, ``win_reg``)
        "pe_registers": {
            "lut": c.n_ifft * k * c.ifft_out_w,
            "ff": 2 * p * hold_w + 2 * c.n_ifft * k * c.ifft_out_w + window_register_bits(c),
            **zero,
        },
        "cell": {"lut": cell_bits, "ff": cell_bits, "dsp": c.cell_lanes * arith_dsp, "bram36": 0.0},
        "cell_act": {
            "lut": act_bits,
            "ff": act_bits,
            "dsp": c.cell_lanes * act_dsp,
            "bram36": act_table_brams(c),
        },
        "controller": {"lut": ctrl_bits, "ff": ctrl_regs, **zero},
        "ctrl_gate_buf": {"lut": gate_buf, "ff": c.n_ifft * k * c.ifft_out_w, **zero},
        # memories deeper than 64 words in BRAM (Yosys 0.23 on these samples); shallower ones in LUTRAM
        # with a registered read port of one word (ernn_state_ram); the output vector assembled and held
        # (ernn_out_vec: two registers of the output)
        "ctrl_memories": {
            "lut": 0.0,
            "ff": float(sum(w for d, w in mems if d <= CTRL_LUTRAM_DEPTH) + 2 * c.output_size * c.data_w),
            "dsp": 0.0,
            "bram36": sum(bram36(d, w, min_depth=CTRL_LUTRAM_DEPTH) for d, w in mems),
        },
    }


def mreg_flip_flops(c: HwConfig) -> dict[str, float]:
    """Flip-flops of the multiplier-output registers (``MREG = 1``), per part, counted from the RTL:
    they are added to the fitted estimate as they are (the fit takes them off the measured FFs first,
    so samples built before them, ``mreg = 0``, and after calibrate the same coefficients).
    ``ernn_cmul`` registers each of its products: 3 of X_W + C_W + 1 bits (Gauss form), or 2 packed ones
    of 2 X_W + 2 C_W + 1 (``DSP_PACK``); a lone real lane its one product X_W + C_W + 1, a pair of real
    lanes (``ernn_rmac_pair``, :func:`real_lane_multiplies`) its one packed product X_W + 2 C_W + 1 + X_W;
    a butterfly with a general twiddle adds the two components of its delayed ``a`` (rtl/ernn_fft_bfly.v
    ``LEVELS = 3``). Measured against Yosys (docs/performance.md): the default model's MAC lanes 1,728
    counted against 1,684 more FF than the fitted estimate, SR1 packed at P = 1,152 (RTL before the
    pairs: 256 lone real lanes) 75,008 against 71,333."""
    out = dict.fromkeys(PARTS, 0.0)
    if not c.mreg:
        return out
    real = 2 * (c.lanes // c.bins) if c.real_bins else 0
    pairs, lone = real_lane_multiplies(c)
    gauss = 3 * (c.fft_w + c.ws_w + 1)
    packed = 2 * (2 * c.fft_w + 2 * c.ws_w + 1)
    lanes = (c.lanes - real) * (packed if c.dsp_pack else gauss) + lone * (c.fft_w + c.ws_w + 1)
    # a pair of real lanes registers its one packed product (ernn_rmac_pair M_W = 2 X + 2 C + 1)
    lanes += pairs * (2 * c.fft_w + 2 * c.ws_w + 1)

    fft_tw, ifft_tw = twiddle_multipliers(c.k, False), twiddle_multipliers(c.k, True)

    eng = proj_engine_units(c)
    lanes += eng["lanes"] * gauss  # the projection engine's ernn_cmul
    n_fft, n_ifft = 1 + eng["ffts"], c.n_ifft + eng["iffts"]

    out["mac_lanes"] = float(lanes)
    # a general twiddle's three products (ernn_cmul) and its butterfly's delayed a (ernn_fft_bfly)
    out["fft_twiddles"] = n_fft * fft_tw * 3 * (c.fft_w + c.tw_w + 1)
    out["fft"] = n_fft * fft_tw * 2 * c.fft_w
    out["ifft_twiddles"] = n_ifft * ifft_tw * 3 * (c.ifft_w + c.tw_w + 1)
    out["ifft"] = n_ifft * ifft_tw * 2 * c.ifft_w
    return out


def split_resources(c: HwConfig) -> dict[str, dict[str, float]]:
    """What ``ERNN_SPLIT`` adds (rtl/ernn_pe.v "Split rounds"), counted from the RTL and added to the
    fitted estimate as it is (no sample was built with it): per part, LUT, FF and BRAM36. The split sums:
    an adder of ACC_W bits per component in each of the first SPLIT_LANE lanes (the real lanes' imaginary
    sums are 0: no adder) and a register level of every lane's two sums; the second read port of the
    spectrum buffer (its memory twice) with its register and its rotation; the second group's lanes'
    select between the two slots' bins (two words of FFT_W each)."""
    out = {part: {"lut": 0.0, "ff": 0.0, "bram36": 0.0} for part in PARTS}
    if not c.split:
        return out
    p, bins = c.lanes, c.bins
    first = split_lane(p, bins)
    real_first = 2 * (first // bins) if c.real_bins else 0
    out["mac_lanes"]["lut"] = (2 * first - real_first) * c.acc_w + (p - first) * 2 * c.fft_w
    out["pe_registers"]["ff"] = 2 * p * c.acc_w
    out["pe_rotation"]["lut"] = rotation_mux_inputs(p, bins) * 2 * c.fft_w
    out["pe_gearbox"]["ff"] = bins * 2 * c.fft_w  # the second slot's read register
    out["pe_gearbox"]["bram36"] = bram36(c.xbuf_depth, bins * 2 * c.fft_w)
    return out


# ------------------------------------------------------------------------------------------------------
# calibration
def config_of_model(model_dir: str | Path) -> HwConfig:
    """The configuration of an exported model directory as it was built: its shape, formats, P and
    packing, with the hardware choices the exporter recorded (``config.json`` ``hardware``: cell lanes,
    IFFTs, layer skew, real lanes) where they differ from :meth:`HwConfig.build`'s."""
    import dataclasses

    from ernn.export.writer import ExportedModel

    model = ExportedModel(model_dir)
    hw = model.hardware
    c = HwConfig.build(
        model.net.info.shape, model.net.numerics, hw["lanes"], dsp_pack_lanes=bool(hw.get("dsp_pack", False))
    )
    built = {f: hw[f] for f in ("cell_lanes", "n_ifft", "layer_skew", "real_bins") if f in hw}
    # a directory exported before the slots could be placed in two banks holds one bank
    built["load_ahead"] = bool(hw.get("load_ahead", False))
    built["interleave"] = bool(hw.get("interleave", False))
    built["gru_fused"] = bool(hw.get("gru_fused", False))
    built["split"] = bool(hw.get("split", False))
    built["proj_engine"] = bool(hw.get("proj_engine", False))
    if "pe_weight_words" in hw:
        built["w_depth"] = hw["pe_weight_words"]
    if "pe_spectrum_slots" in hw:
        built["xbuf_depth"] = hw["pe_spectrum_slots"]
    return dataclasses.replace(c, **built)


def _sample_config(sample: dict[str, Any]) -> HwConfig:
    if "hw_config" in sample:
        return HwConfig(**sample["hw_config"])
    return config_of_model(sample["model_dir"])


def measured_part(sample: dict[str, Any], part: str) -> dict[str, float]:
    """A sample's measured resources of one part: its Yosys part breakdown (``bench_cost_samples.py``
    stores it), or for a part that is its block's only one, the block breakdown."""
    yosys = sample["yosys"]
    if "parts" in yosys:
        return yosys["parts"][part]
    block = PARTS[part][0]
    if sum(1 for b, _, _ in PARTS.values() if b == block) == 1:
        return yosys["blocks"].get(block, dict.fromkeys(RESOURCES, 0.0))
    raise ValueError(
        f"sample {sample['name']!r} has no per-part breakdown for {part!r}: "
        "run bench/bench_cost_samples.py --refresh on it"
    )


def fit(samples: list[dict[str, Any]], config_of: Callable[[dict[str, Any]], HwConfig] | None = None) -> dict:
    """Least-squares slope and intercept per (part, resource) on the ``calibration`` samples, and the
    cycle overheads (a constant per time step and one per extra job, :func:`_extra_jobs`), least squares
    on measured - :func:`_raw_cycles`. FFs are fitted after the counted multiplier registers
    (:func:`mreg_flip_flops`) are taken off.

    A slope is kept non-negative (a resource never shrinks as its structural count grows): when the
    unconstrained fit gives a negative slope, the part is fitted by its mean (slope 0). A feature that is
    zero on every calibration point keeps slope 1 for exact counts (DSP, BRAM36) and 0 otherwise.
    """
    config_of = config_of or _sample_config
    calib = [s for s in samples if s["role"] == "calibration"]
    if len(calib) < 2:
        raise ValueError(f"need at least 2 calibration samples to fit the cost model, got {len(calib)}")
    configs = [config_of(s) for s in calib]
    feats = [features(c) for c in configs]
    mregs = [mreg_flip_flops(c) for c in configs]
    coeffs: dict[str, Any] = {
        "parts": {},
        "calibration": [s["name"] for s in calib],
        "rtl_revisions": sorted({s.get("rtl_revision", "unrecorded") for s in calib}),
    }
    for part in PARTS:
        coeffs["parts"][part] = {}
        measured = [measured_part(s, part) for s in calib]
        for res in RESOURCES:
            x = np.array([f[part][res] for f in feats], dtype=float)
            y = np.array([m.get(res, 0.0) for m in measured], dtype=float)
            if res == "ff":
                y -= np.array([m[part] for m in mregs])
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
            coeffs["parts"][part][res] = {"slope": float(slope), "intercept": float(icpt)}
    # cycles = raw + overhead + per_job * extra jobs, least squares over the calibration points
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
    controller's hand-off clocks), with the configuration's IFFTs, layer order, GRU job order and slot
    placement. It is within 4 % of every measured sample (docs/dse.md)."""
    return step_timing(
        c.shape,
        c.lanes,
        c.cell_lanes,
        iffts=c.n_ifft,
        layer_skew=c.layer_skew,
        in_first=c.gru_in_first,
        load_ahead=c.load_ahead,
        interleave=c.interleave,
        gru_fused=c.gru_fused,
        split=c.split,
        gate_forward=c.gate_forward,
        proj_engine=c.proj_engine,
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
    parts: dict[str, dict[str, float]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate(c: HwConfig, coeffs: dict[str, Any] | None = None, family: str = "xcu") -> Estimate:
    """Cycles per time step and resources of one configuration: every part's fitted estimate (its
    counted multiplier registers added to FF), summed into its block."""
    coeffs = coeffs or load_coefficients()
    if "parts" not in coeffs or set(coeffs["parts"]) != set(PARTS):
        raise ValueError(
            "the cost-model coefficients do not match the model's parts "
            f"({sorted(coeffs.get('parts', coeffs.get('blocks', {})))} vs {sorted(PARTS)}): "
            "run bench/bench_cost_samples.py --fit"
        )
    feats = features(c, family)
    mreg_ff = mreg_flip_flops(c)
    split_extra = split_resources(c)
    parts: dict[str, dict[str, float]] = {}
    blocks = {block: dict.fromkeys(RESOURCES, 0.0) for block in BLOCKS}
    for part, (block, _, _) in PARTS.items():
        parts[part] = {}
        for res in RESOURCES:
            k = coeffs["parts"][part][res]
            parts[part][res] = max(0.0, k["slope"] * feats[part][res] + k["intercept"])
        parts[part]["ff"] += mreg_ff[part]
        for res, extra in split_extra[part].items():
            parts[part][res] += extra
        for res in RESOURCES:
            blocks[block][res] += parts[part][res]
    used = {res: sum(blocks[b][res] for b in BLOCKS) for res in RESOURCES}
    cm = hw_layout.cycle_model(c.shape, c.lanes)
    cycles = _raw_cycles(c) + coeffs["cycle_overhead"] + coeffs["cycle_per_extra_job"] * _extra_jobs(c)
    return Estimate(c.lanes, float(cycles), cm.ideal, cm.complex_macs, used, blocks, parts)
