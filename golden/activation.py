"""Piecewise-linear sigmoid and tanh on integers, shared bit for bit with the RTL (one table each).

Input: gate pre-activation x in Q(gate); output in Q(act). For a function with range 2**r and 2**s
segments (:class:`~ernn.golden.formats.ActivationSpec`), with G = gate.frac, B = r + 1 + G - s:

    xc  = clamp(x, -2**(r+G), 2**(r+G) - 1)          # designed input range, not a saturation
    u   = xc + 2**(r+G)                               # unsigned, r + 1 + G bits
    seg = u >> B                                      # top s bits: table address
    off = u & (2**B - 1)                              # low B bits: position inside the segment
    y   = VALUE[seg] + round_half_up(SLOPE[seg] * off, act_slope.frac)   -> saturated to Q(act)

VALUE (Q(act)) and SLOPE (Q(act_slope), in act LSBs per input LSB) come from :func:`activation_table`,
which the RTL export writes as $readmemh files. Construction: node values at every segment start (and one
past the end) are f(node) plus the minimax offset of the node-to-node chords around it, rounded and made
non-decreasing; SLOPE[i] = round((VALUE[i+1] - VALUE[i]) / 2**B) in Q(act_slope). Its rounding can never
carry a segment's last output past the next node, so the function is non-decreasing (and within [0, 1]
for sigmoid, [-1, 1] for tanh). :func:`activation_error` measures the error against float64 over every input
code; docs/numerics.md records it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from .formats import ActivationSpec, NumericsConfig, QFormat
from .ops import IntArray, SaturationLog, as_int, fits, round_shift, saturate

Kind = Literal["sigmoid", "tanh"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


_FUNCS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"sigmoid": _sigmoid, "tanh": np.tanh}


@dataclass(frozen=True, eq=False)
class ActivationTable:
    """Segment tables of one piecewise-linear activation and the formats they assume."""

    kind: str
    spec: ActivationSpec
    in_fmt: QFormat  # gate pre-activation
    out_fmt: QFormat  # act
    slope_fmt: QFormat  # act_slope
    values: IntArray  # (2**seg_bits,) Q(act)
    slopes: IntArray  # (2**seg_bits,) Q(act_slope)

    @property
    def offset_bits(self) -> int:
        """B: input LSBs per segment = 2**B."""
        return self.spec.range_log2 + 1 + self.in_fmt.frac - self.spec.seg_bits

    @property
    def lo_int(self) -> int:
        return -(1 << (self.spec.range_log2 + self.in_fmt.frac))

    @property
    def hi_int(self) -> int:
        return (1 << (self.spec.range_log2 + self.in_fmt.frac)) - 1


def _eval(
    values: IntArray, slopes: IntArray, x: IntArray, lo: int, hi: int, b: int, slope_frac: int
) -> IntArray:
    u = np.clip(x, lo, hi) - lo
    seg = u >> b
    off = u & ((1 << b) - 1)
    return values[seg] + round_shift(slopes[seg] * off, slope_frac)


def _build(kind: str, spec: ActivationSpec, gate: QFormat, act: QFormat, slope: QFormat) -> ActivationTable:
    if kind not in _FUNCS:
        raise ValueError(f"activation kind must be 'sigmoid' or 'tanh', got {kind!r}")
    func = _FUNCS[kind]
    g, a, sf = gate.frac, act.frac, slope.frac
    b = spec.range_log2 + 1 + g - spec.seg_bits
    nseg, width = 1 << spec.seg_bits, 1 << b
    lo = -(1 << (spec.range_log2 + g))
    codes = lo + np.arange(nseg)[:, None] * width + np.arange(width)[None, :]  # (nseg, width) input codes
    target = np.ldexp(func(np.ldexp(codes.astype(np.float64), -g)), a)  # in act LSBs
    off = np.arange(width, dtype=np.int64)
    nodes = np.ldexp(func(np.ldexp((lo + np.arange(nseg + 1) * width).astype(np.float64), -g)), a)
    if width > 1:
        # minimax offset of each segment's node-to-node chord, shared by the two segments around a node
        chord = nodes[:-1, None] + (nodes[1:] - nodes[:-1])[:, None] * (off[None, :] / width)
        dev = target - chord
        shift = 0.5 * (dev.max(axis=1) + dev.min(axis=1))
        node_shift = np.concatenate((shift[:1], 0.5 * (shift[:-1] + shift[1:]), shift[-1:]))
        node_vals = np.maximum.accumulate(np.rint(nodes + node_shift).astype(np.int64))
        # slope from node i to node i+1; its rounding cannot carry a segment's last output past node i+1
        slopes = np.rint(np.ldexp((node_vals[1:] - node_vals[:-1]) / width, sf)).astype(np.int64)
        best = node_vals[:-1].copy()
    else:
        slopes = np.zeros(nseg, dtype=np.int64)
        best = np.rint(nodes[:-1]).astype(np.int64)
    values = best
    if not fits(values, act):
        raise ValueError(f"numerics.act: {act} cannot hold the {kind} table values")
    if not fits(slopes, slope):
        need = int(np.abs(slopes).max()).bit_length() + 1
        raise ValueError(
            f"numerics.act_slope: {slope} cannot hold the {kind} slopes (needs word >= {need} at frac {sf}); "
            f"allowed: word >= {need} or a smaller frac"
        )
    values.setflags(write=False)
    slopes.setflags(write=False)
    return ActivationTable(kind, spec, gate, act, slope, values, slopes)


@lru_cache(maxsize=32)
def _cached(kind: str, spec: ActivationSpec, gate: QFormat, act: QFormat, slope: QFormat) -> ActivationTable:
    return _build(kind, spec, gate, act, slope)


def activation_table(kind: Kind, cfg: NumericsConfig) -> ActivationTable:
    """The (VALUE, SLOPE) tables of ``kind`` for ``cfg`` (cached; also what the RTL export writes)."""
    spec = cfg.sigmoid if kind == "sigmoid" else cfg.tanh
    return _cached(kind, spec, cfg.gate, cfg.act, cfg.act_slope)


def activate(
    x: IntArray, table: ActivationTable, log: SaturationLog | None = None, name: str | None = None
) -> IntArray:
    """Apply the piecewise-linear activation to gate pre-activations ``x`` -> Q(act) (saturation counted)."""
    y = _eval(
        table.values,
        table.slopes,
        as_int(x),
        table.lo_int,
        table.hi_int,
        table.offset_bits,
        table.slope_fmt.frac,
    )
    return saturate(y, table.out_fmt, log, name or f"{table.kind}_out")


def sigmoid(x: IntArray, cfg: NumericsConfig, log: SaturationLog | None = None) -> IntArray:
    """Fixed-point sigmoid: Q(gate) -> Q(act)."""
    return activate(x, activation_table("sigmoid", cfg), log)


def tanh(x: IntArray, cfg: NumericsConfig, log: SaturationLog | None = None) -> IntArray:
    """Fixed-point tanh: Q(gate) -> Q(act)."""
    return activate(x, activation_table("tanh", cfg), log)


def activation_error(table: ActivationTable) -> dict[str, float]:
    """Max and RMS |fixed - float64| (real units and act LSBs) over every input code of the gate format.

    Codes inside the table range are all evaluated; outside it the output is constant and the float
    function is monotonic, so the two extreme codes of the gate format bound the error there.
    """
    func = _FUNCS[table.kind]
    codes = np.arange(table.lo_int, table.hi_int + 1, dtype=np.int64)
    extremes = np.array([table.in_fmt.min_int, table.in_fmt.max_int], dtype=np.int64)
    codes = np.concatenate((codes, extremes))
    y = activate(codes, table)
    ref = func(np.ldexp(codes.astype(np.float64), -table.in_fmt.frac))
    err = np.abs(np.ldexp(y.astype(np.float64), -table.out_fmt.frac) - ref)
    worst = int(np.argmax(err))
    return {
        "max_abs": float(err.max()),
        "max_lsb": float(err.max() * 2.0**table.out_fmt.frac),
        "rms": float(np.sqrt(np.mean(err[:-2] ** 2))),
        "at_input": float(np.ldexp(float(codes[worst]), -table.in_fmt.frac)),
    }


def _round_up(value: float, digits: int = 3) -> float:
    """``value`` rounded up to ``digits`` significant digits (documented bounds never understate)."""
    if value <= 0:
        return 0.0
    scale = 10.0 ** (digits - 1 - int(np.floor(np.log10(value))))
    return float(np.ceil(value * scale) / scale)


def error_table(bits_list: tuple[int, ...] = (8, 10, 12, 16)) -> str:
    """Markdown table of the measured activation errors for the default formats (docs/numerics.md)."""
    lines = [
        "| data bits | function | input | output | segments | max abs error | max error (LSB) | RMS error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for bits in bits_list:
        cfg = NumericsConfig.for_data_bits(bits)
        for kind in ("sigmoid", "tanh"):
            table = activation_table(kind, cfg)  # type: ignore[arg-type]
            err = activation_error(table)
            lsb = np.ceil(err["max_lsb"] * 100) / 100
            lines.append(
                f"| {bits} | {kind} | {cfg.gate} | {cfg.act} | {1 << table.spec.seg_bits} | "
                f"{_round_up(err['max_abs']):.3g} | {lsb:.2f} | {_round_up(err['rms']):.3g} |"
            )
    return "\n".join(lines)
