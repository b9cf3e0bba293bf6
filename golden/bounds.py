"""Worst-case error bounds of the fixed-point datapath, computed from the formats (first-order analysis).

Every bound compares the golden model with exact float64 arithmetic on the *same* quantized operands (input
integers, dequantized weight spectra / biases / peepholes: :meth:`GoldenNetwork.float_equivalent`), so it
covers the datapath's roundings, not parameter quantization. Error magnitudes are complex moduli (which
bound each component). Notation: delta = max |W_q - W| of a quantized twiddle (<= 2**-(TW_F+1) sqrt 2),
one half-up rounding of a complex value errs by at most sqrt(2)/2 LSB.

FFT (values in input LSBs, |x| <= X): E_0 = 0,
    E_s = (2 + delta) E_{s-1} + [s >= 3] (delta 2**(s-1) X + sqrt(2)/2)
(stages 1 and 2 only use the exact twiddles 1 and -j). IFFT (|Y| <= Ymax, input error E_0):
    E_s = (2 + delta)/2 E_{s-1} + [s >= 3] (delta Ymax + sqrt(2)/2)/2 + sqrt(2)/2
(the halving rounding is at most 1/2 LSB per component). The network bound chains these with the
Lipschitz constants of the cells (sigmoid 1/4, tanh 1, products bounded by the signals' magnitudes) and
the measured activation-table errors; see docs/numerics.md, "Error budget".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .activation import activation_error, activation_table
from .float_reference import FloatResult, expand, run_float
from .formats import NumericsConfig, QFormat

if TYPE_CHECKING:
    from .network import GoldenNetwork, GoldenResult

_R = math.sqrt(2.0) / 2.0  # one half-up rounding of a complex value, in LSBs


def twiddle_delta(fmt: QFormat) -> float:
    """Bound on |W_q - W| for twiddles rounded to nearest in ``fmt``."""
    return math.sqrt(2.0) * 2.0 ** -(fmt.frac + 1)


def fft_error_bound(k: int, x_max_lsb: float, tw_fmt: QFormat) -> float:
    """Bound (in input LSBs) on |fft_real(x) - DFT(x)| per bin, for integer inputs with |x| <= x_max_lsb."""
    delta = twiddle_delta(tw_fmt)
    err = 0.0
    for s in range(1, int(math.log2(k)) + 1):
        err = (2.0 + delta) * err + ((delta * 2.0 ** (s - 1) * x_max_lsb + _R) if s >= 3 else 0.0)
    return err


def ifft_error_bound(k: int, y_max_lsb: float, tw_fmt: QFormat, in_err_lsb: float = 0.0) -> float:
    """Bound (in IFFT LSBs) on |ifft_real(Y) - IDFT(Y)| for bins with |Y| <= y_max_lsb and input error given."""
    delta = twiddle_delta(tw_fmt)
    err = in_err_lsb
    for s in range(1, int(math.log2(k)) + 1):
        err = (2.0 + delta) / 2.0 * err + ((delta * y_max_lsb + _R) / 2.0 if s >= 3 else 0.0) + _R
    return err


def matvec_error_bound(
    spectra: list[npt.NDArray[np.complex128]], x_max: list[float], cfg: NumericsConfig
) -> float:
    """Bound (real units) on the rounding error of one accumulator's matvec output (one IFFT per block).

    spectra: per input vector, the dequantized weight spectra (G, p, q, bins) summed into the accumulator;
    x_max: per input vector, a bound on |x| (real units). Exact reference: sum_j W_j x_j in float64.
    """
    k = cfg.block_size
    lsb_d, lsb_i = cfg.fft_out.lsb, cfg.ifft.lsb
    spec_err = 0.0  # per-bin accumulator error, real units
    y_max = 0.0  # per-bin accumulator magnitude, real units
    acc_err_rows = None
    acc_max_rows = None
    for s, xm in zip(spectra, x_max, strict=True):
        x_lsb = xm / lsb_d
        e_fft = fft_error_bound(k, x_lsb, cfg.twiddle) * lsb_d
        mag = np.abs(s).sum(axis=2)  # (G, p, bins): sum over input blocks
        e_rows = (mag * e_fft).max(axis=-1)
        m_rows = (mag * k * xm).max(axis=-1)
        acc_err_rows = e_rows if acc_err_rows is None else acc_err_rows + e_rows
        acc_max_rows = m_rows if acc_max_rows is None else acc_max_rows + m_rows
    if acc_err_rows is not None and acc_max_rows is not None:
        spec_err = float(acc_err_rows.max())
        y_max = float(acc_max_rows.max())
    in_err = spec_err / lsb_i + _R  # + the accumulator -> IFFT rounding
    return ifft_error_bound(k, y_max / lsb_i + in_err, cfg.twiddle, in_err) * lsb_i


def _row_norm(vectors: npt.ArrayLike, rows: int, cols: int) -> float:
    """Max row |.|-sum of the expanded matrices (the inf-norm: |W e| <= norm * |e|_inf)."""
    dense = expand(vectors, rows, cols)
    return float(np.abs(dense).sum(axis=-1).max())


def network_error_bound(
    net: GoldenNetwork, result: GoldenResult, reference: FloatResult | None = None
) -> list[float]:
    """Per layer, a bound on max |h_golden - h_float| over the run ``result`` of ``net``.

    h_float is :func:`run_float` of ``net.float_equivalent()`` on the dequantized golden input (pass it as
    ``reference``, run with ``trace=True``, or it is computed here). The error recursion runs per time step
    on inf-norms; products use the float signals' magnitudes at that step (from the trace), matvecs the
    inf-norm of the expanded float-equivalent matrices. Valid only if the run saturated nowhere (checked).
    Useful when the recurrence is contractive (small recurrent weights, short sequences): the worst-case
    gain of a step is compounded over time.
    """
    if result.log.total:
        raise ValueError(f"the bound assumes no saturation; this run saturated: {result.log.nonzero()}")
    cfg = net.numerics
    fe = net.float_equivalent()
    if reference is None or reference.trace is None:
        reference = run_float(fe, result.input_int * cfg.data.lsb, result.lengths, trace=True)
    assert reference.trace is not None
    info = net.info
    hidden, out = info.hidden_size, info.output_size
    eps_s = activation_error(activation_table("sigmoid", cfg))["max_abs"]
    eps_t = activation_error(activation_table("tanh", cfg))["max_abs"]
    rg, rc, rd = 0.5 * cfg.gate.lsb, 0.5 * cfg.cell.lsb, 0.5 * cfg.data.lsb
    rb = 0.5 * cfg.gate.lsb if cfg.bias.frac > cfg.gate.frac else 0.0
    t_max = result.output_int.shape[1]
    steps = int(result.lengths.max(initial=0))

    def peak(a: np.ndarray, t: int) -> float:
        return float(np.abs(a[:, t]).max(initial=0.0)) if 0 <= t < a.shape[1] else 0.0

    bounds: list[float] = []
    x_float = result.input_int * cfg.data.lsb
    e_in_t = np.zeros(t_max)  # per time step: bound on the layer input's error
    for li, layer in enumerate(fe["layers"]):
        n_in = info.input_size if li == 0 else out
        spec_ih = np.fft.rfft(np.asarray(layer["w_ih"]), axis=-1)
        spec_hh = np.fft.rfft(np.asarray(layer["w_hh"]), axis=-1)
        n_ih = _row_norm(layer["w_ih"], hidden, n_in)
        n_hh = _row_norm(layer["w_hh"], hidden, out)
        tr = reference.trace[li]
        h_f = reference.h[li]
        pe = layer.get("peephole")
        p_max = 0.0 if pe is None else float(np.abs(pe).max())
        e_h = e_c = 0.0
        e_out = np.zeros(t_max)
        for t in range(steps):
            x_max = peak(x_float, t) + float(e_in_t[t])
            h_max = peak(h_f, t - 1) + e_h
            e_x = float(e_in_t[t])
            if info.cell == "lstm":
                assert reference.c is not None
                c_f = reference.c[li]
                mv = matvec_error_bound([spec_ih, spec_hh], [x_max, h_max], cfg)
                e_y = n_ih * e_x + n_hh * e_h + mv + rg + rb
                e_i = e_f = 0.25 * (e_y + (p_max * e_c + rg if pe is not None else 0.0)) + eps_s
                e_g = e_y + eps_t
                e_c_new = (
                    peak(tr["f"], t) * e_c
                    + e_f * (peak(c_f, t - 1) + e_c)
                    + peak(tr["i"], t) * e_g
                    + e_i * (peak(tr["g"], t) + e_g)
                    + rc
                )
                e_o = 0.25 * (e_y + (p_max * e_c_new + rg if pe is not None else 0.0)) + eps_s
                e_tc = e_c_new + rg + eps_t
                tc_max = float(np.tanh(peak(c_f, t)))
                e_m = peak(tr["o"], t) * e_tc + e_o * (tc_max + e_tc) + rd
                if layer.get("w_hr") is not None:
                    spec_hr = np.fft.rfft(np.asarray(layer["w_hr"]), axis=-1)
                    n_hr = _row_norm(layer["w_hr"], info.proj_size, hidden)
                    mv_p = matvec_error_bound([spec_hr], [peak(tr["m"], t) + e_m], cfg)
                    e_h_new = n_hr * e_m + mv_p + rd
                else:
                    e_h_new = e_m
                e_c = e_c_new
            else:
                mv_rz = matvec_error_bound([spec_ih[:2], spec_hh[:2]], [x_max, h_max], cfg)
                mv_in = matvec_error_bound([spec_ih[2:]], [x_max], cfg)
                mv_hn = matvec_error_bound([spec_hh[2:]], [h_max], cfg)
                e_rz = 0.25 * (n_ih * e_x + n_hh * e_h + mv_rz + rg + rb) + eps_s
                e_hn = n_hh * e_h + mv_hn + rg + rb
                e_pre_n = (
                    n_ih * e_x
                    + mv_in
                    + rg
                    + rb
                    + peak(tr["r"], t) * e_hn
                    + e_rz * (peak(tr["hn"], t) + e_hn)
                    + rg
                )
                e_n = e_pre_n + eps_t
                z = tr["z"][:, t]
                one_minus_z = float((1.0 - z).max(initial=0.0))
                diff = float(np.abs(h_f[:, t - 1] - tr["n"][:, t]).max()) if t else peak(tr["n"], t)
                e_h_new = one_minus_z * e_n + peak(tr["z"], t) * e_h + e_rz * (diff + e_h + e_n) + rd
            e_h = e_h_new
            e_out[t] = e_h
        bounds.append(float(e_out.max(initial=0.0)))
        x_float = result.h_int[li] * cfg.data.lsb
        e_in_t = e_out
    return bounds


def describe_bounds(cfg: NumericsConfig, x_max: float = 1.0) -> dict[str, Any]:
    """FFT/IFFT round-off bounds for full-scale data, in real units (for reports)."""
    k = cfg.block_size
    x_lsb = x_max / cfg.data.lsb
    e_fft = fft_error_bound(k, x_lsb, cfg.twiddle)
    y = k * x_max / cfg.ifft.lsb
    return {
        "fft_per_bin": e_fft * cfg.fft_out.lsb,
        "ifft_per_sample": ifft_error_bound(k, y, cfg.twiddle) * cfg.ifft.lsb,
    }
