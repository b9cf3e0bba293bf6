"""LSTM and GRU cell updates on integers, after the circulant matvecs (PyTorch semantics).

Inputs are the matvec outputs y in Q(ifft_out); every term of a gate pre-activation is first brought to
gate.frac (round-half-up), summed exactly, then saturated once to Q(gate). With A = act.frac,
D = data.frac, C = cell.frac, G = gate.frac (docs/numerics.md, "Cells"):

LSTM (gate order i, f, g, o; optional peepholes p_i, p_f, p_o in Q(peephole))
    pre_x = sat_G( rnd(y_x -> G) + rnd(b_x -> G) [+ rnd(p_x * c -> G)] )   (c = c_{t-1} for i, f; c_t for o)
    i, f, o = sigmoid(pre_i, pre_f, pre_o);  g = tanh(pre_g)                           Q(act)
    c_t = sat_C( rnd( f*c_{t-1} * 2**(F - A - C) + i*g * 2**(F - 2A),  F - C ) ),  F = max(A + C, 2A)
    m_t = sat_D( rnd( o * tanh(sat_G(rnd(c_t -> G))),  2A - D ) )            (h_t = m_t, or W_hr m_t)

GRU (gate order r, z, n; reset applied after the hidden matvec)
    r, z = sigmoid(sat_G(rnd(y_r|z -> G) + rnd(b_r|z -> G)))     (y_r, y_z: W_i x + W_h h in one IFFT)
    hn   = sat_G( rnd(y_hn -> G) + rnd(b_hn -> G) )
    n    = tanh( sat_G( rnd(y_in -> G) + rnd(b_in -> G) + rnd(r * hn, A) ) )
    h_t  = sat_D( rnd( n' * 2**A + z * (h' - n'),  F + A - D ) ),  F = max(A, D),
           n' = n * 2**(F - A),  h' = h_{t-1} * 2**(F - D)       (= (1 - z) n + z h, one rounding)

rnd(v, s) is round_shift (round-half-up); "-> G" means align from the value's frac to G.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .activation import ActivationTable, activation_table
from .activation import activate as _activate_pwl
from .formats import NumericsConfig
from .kernels import gru_cell as compiled_gru_cell
from .kernels import lstm_cell as compiled_lstm_cell
from .matvec import fast_path
from .ops import IntArray, SaturationLog, align, as_int, round_shift, saturate

#: most input codes an activation may have for :func:`activate` to look every one up in a full table
_FULL_TABLE_CODES = 1 << 18


@lru_cache(maxsize=16)
def _full_table(table: ActivationTable) -> IntArray | None:
    """The activation's output for every code of its designed input range (inputs outside it clamp to the
    ends), or None when the range is too large or some code saturates the output format (then its count
    needs the piecewise evaluation)."""
    codes = table.hi_int - table.lo_int + 1
    if codes > _FULL_TABLE_CODES:
        return None
    x = np.arange(table.lo_int, table.hi_int + 1, dtype=np.int64)
    log = SaturationLog()
    y = _activate_pwl(x, table, log, "all")
    if log.total:
        return None
    y.setflags(write=False)
    return y


def activate(
    x: IntArray, table: ActivationTable, log: SaturationLog | None = None, name: str | None = None
) -> IntArray:
    """:func:`ernn.golden.activation.activate` by one lookup in a table of every input code (same integers,
    same saturation counts: none, or the table is not used); a large batch spends most of its cell time in
    the piecewise evaluation's two lookups, multiply and rounding."""
    full = _full_table(table) if fast_path(np.size(x)) else None
    if full is None:
        return _activate_pwl(x, table, log, name)
    x = as_int(x)
    y = full[np.clip(x, table.lo_int, table.hi_int) - table.lo_int]
    if log is not None:
        log.record(name or f"{table.kind}_out", 0, y.size)
    return y


def _compiled_tables(
    size: int, cfg: NumericsConfig
) -> tuple[tuple[IntArray, int], tuple[IntArray, int]] | None:
    """(sigmoid, tanh) full tables with their lowest codes for the compiled cell step of ``size`` matvec
    outputs, or None: small work (the numpy path, :func:`ernn.golden.matvec.fast_path`) or a table that
    saturates some code (its count needs the piecewise evaluation)."""
    if not fast_path(size):
        return None
    sig, tnh = activation_table("sigmoid", cfg), activation_table("tanh", cfg)
    fs, ft = _full_table(sig), _full_table(tnh)
    if fs is None or ft is None:
        return None
    return (fs, sig.lo_int), (ft, tnh.lo_int)


def to_gate_frac(y: IntArray, cfg: NumericsConfig) -> IntArray:
    """Matvec output Q(ifft_out) -> gate.frac (round-half-up, not saturated)."""
    return align(y, cfg.ifft_out.frac, cfg.gate.frac)


def bias_to_gate_frac(b: IntArray, cfg: NumericsConfig) -> IntArray:
    """Q(bias) -> gate.frac (an exact left shift for the default formats)."""
    return align(b, cfg.bias.frac, cfg.gate.frac)


def peephole_term(p: IntArray, c: IntArray, cfg: NumericsConfig) -> IntArray:
    """p * c (Q(peephole) x Q(cell)) rounded half-up to gate.frac, not saturated."""
    return round_shift(as_int(p) * as_int(c), cfg.peephole.frac + cfg.cell.frac - cfg.gate.frac)


def gate_preact(
    y: IntArray,
    bias: IntArray,
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
    extra: IntArray | None = None,
    name: str = "gate_pre",
) -> IntArray:
    """sat_G( rnd(y -> G) + rnd(bias -> G) [+ extra at gate.frac] ): the gate pre-activation Q(gate)."""
    s = to_gate_frac(y, cfg) + bias_to_gate_frac(bias, cfg)
    if extra is not None:
        s = s + extra
    return saturate(s, cfg.gate, log, name)


def lstm_cell_state(
    i: IntArray,
    f: IntArray,
    g: IntArray,
    c_prev: IntArray,
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
) -> IntArray:
    """c_t = f * c_{t-1} + i * g with one round-half-up to Q(cell), saturated (point ``cell``)."""
    a, cf = cfg.act.frac, cfg.cell.frac
    top = max(a + cf, 2 * a)
    s = (as_int(f) * as_int(c_prev) << (top - a - cf)) + (as_int(i) * as_int(g) << (top - 2 * a))
    return saturate(round_shift(s, top - cf), cfg.cell, log, "cell")


def lstm_output(o: IntArray, c: IntArray, cfg: NumericsConfig, log: SaturationLog | None = None) -> IntArray:
    """m_t = o * tanh(c_t) in Q(data): c -> Q(gate) (point ``tanh_c_in``), tanh, product rounded once."""
    tc_in = saturate(align(c, cfg.cell.frac, cfg.gate.frac), cfg.gate, log, "tanh_c_in")
    tc = activate(tc_in, activation_table("tanh", cfg), log, "tanh_out")
    return saturate(round_shift(as_int(o) * tc, 2 * cfg.act.frac - cfg.data.frac), cfg.data, log, "hidden")


def lstm_cell(
    y: IntArray,
    c_prev: IntArray,
    bias: IntArray,
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
    peephole: IntArray | None = None,
) -> tuple[IntArray, IntArray]:
    """One LSTM cell update after the matvecs.

    y: (..., 4, H) Q(ifft_out) = W_ih x + W_hh h per gate (i, f, g, o); c_prev: (..., H) Q(cell);
    bias: (4, H) Q(bias) (b_ih + b_hh); peephole: (3, H) Q(peephole) (p_i, p_f, p_o) or None.
    Returns (m_t in Q(data), c_t in Q(cell)); m_t is h_t unless the layer has a projection.
    """
    y = as_int(y)
    tables = _compiled_tables(y.size, cfg) if y.ndim == 3 else None
    if tables is not None:  # one compiled pass, the same integers and counts (tests/test_golden_batched.py)
        return compiled_lstm_cell(y, c_prev, bias, peephole, *tables, cfg, log)
    sig = activation_table("sigmoid", cfg)
    tnh = activation_table("tanh", cfg)
    if peephole is None:
        pre = gate_preact(y, bias, cfg, log)
        i, f, o = _split3(activate(pre[..., [0, 1, 3], :], sig, log, "sigmoid_out"))
        g = activate(pre[..., 2, :], tnh, log, "tanh_out")
        c = lstm_cell_state(i, f, g, c_prev, cfg, log)
        return lstm_output(o, c, cfg, log), c
    p = as_int(peephole)
    peep_if = np.stack((peephole_term(p[0], c_prev, cfg), peephole_term(p[1], c_prev, cfg)), axis=-2)
    zero = np.zeros_like(peep_if[..., :1, :])
    pre_ifg = gate_preact(y[..., :3, :], bias[:3], cfg, log, extra=np.concatenate((peep_if, zero), axis=-2))
    if_act = activate(pre_ifg[..., :2, :], sig, log, "sigmoid_out")
    i, f = if_act[..., 0, :], if_act[..., 1, :]
    g = activate(pre_ifg[..., 2, :], tnh, log, "tanh_out")
    c = lstm_cell_state(i, f, g, c_prev, cfg, log)
    pre_o = gate_preact(y[..., 3, :], bias[3], cfg, log, extra=peephole_term(p[2], c, cfg))
    o = activate(pre_o, sig, log, "sigmoid_out")
    return lstm_output(o, c, cfg, log), c


def _split3(a: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    return a[..., 0, :], a[..., 1, :], a[..., 2, :]


def gru_output(
    n: IntArray, z: IntArray, h_prev: IntArray, cfg: NumericsConfig, log: SaturationLog | None = None
) -> IntArray:
    """h_t = (1 - z) n + z h_{t-1} = n + z (h - n), one round-half-up to Q(data), saturated (point ``hidden``)."""
    a, d = cfg.act.frac, cfg.data.frac
    top = max(a, d)
    nd = as_int(n) << (top - a)
    hd = as_int(h_prev) << (top - d)
    s = (nd << a) + as_int(z) * (hd - nd)
    return saturate(round_shift(s, top + a - d), cfg.data, log, "hidden")


def gru_cell(
    y_rz: IntArray,
    y_in: IntArray,
    y_hn: IntArray,
    h_prev: IntArray,
    bias: IntArray,
    b_hn: IntArray,
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
) -> IntArray:
    """One GRU cell update after the matvecs (PyTorch ``nn.GRU``, reset after the hidden matvec).

    y_rz: (..., 2, H) Q(ifft_out) = W_i{r,z} x + W_h{r,z} h; y_in: (..., H) = W_in x; y_hn: (..., H) = W_hn h;
    h_prev: (..., H) Q(data); bias: (3, H) Q(bias) = (b_ir + b_hr, b_iz + b_hz, b_in); b_hn: (H,) Q(bias).
    Returns h_t in Q(data).
    """
    tables = _compiled_tables(3 * np.size(y_in), cfg) if np.ndim(y_in) == 2 else None
    if tables is not None:  # one compiled pass, the same integers and counts (tests/test_golden_batched.py)
        return compiled_gru_cell(y_rz, y_in, y_hn, h_prev, bias, b_hn, *tables, cfg, log)
    sig = activation_table("sigmoid", cfg)
    tnh = activation_table("tanh", cfg)
    rz = activate(gate_preact(y_rz, bias[:2], cfg, log), sig, log, "sigmoid_out")
    r, z = rz[..., 0, :], rz[..., 1, :]
    hn = gate_preact(y_hn, b_hn, cfg, log, name="gru_hn")
    reset = round_shift(r * hn, cfg.act.frac)
    n = activate(gate_preact(y_in, bias[2], cfg, log, extra=reset), tnh, log, "tanh_out")
    return gru_output(n, z, h_prev, cfg, log)
