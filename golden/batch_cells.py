"""The LSTM and GRU cell updates compiled for batch-minor arrays (features x batch).

The same integers and saturation counts as :func:`ernn.golden.cells.lstm_cell` and ``gru_cell`` (and
their batch-major twins in :mod:`ernn.golden.kernels`, whose arithmetic this copies line for line): every
term brought to Q(gate) with a round-half-up shift, summed, saturated once; activations by one lookup in
a table of every input code (``cells._full_table``: only used where no code saturates); LSTM c_t in
Q(cell), h_t in Q(data). Only the layout differs: the matvec outputs y arrive as the batch-minor IFFT pass
writes them (``ernn.golden.unrolled.ifft_pass``: row g P + j is gate g, unit j, P = p k the padded gate
height; one column per batch element) and the states are (units, batch), so the loop over batch elements
is the innermost one and every access is contiguous. Units are split over the threads (numba
``prange``), each unit counting into its own row, so the counts do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .kernels import _rs, _sat, _shift_table


@njit(cache=False, nogil=True, inline="always")
def _r(v, left, rnd, right):  # pragma: no cover - jitted
    """kernels._rs with the shift amounts as scalars (held in registers across the loop over the batch)."""
    return ((v << left) + rnd) >> right


@njit(cache=False, nogil=True, boundscheck=False, parallel=True)
def _lstm_kernel(m, y, pk, c_prev, bias, peep, use_peep, sig, tnh, sh, lims, h_out, c_out, counts):
    """Every unit in parallel (prange over units; each unit counts into its own row of counts (H, 4)),
    the batch columns :m innermost."""  # pragma: no cover - jitted
    h = h_out.shape[0]
    st = _shift_table(sh[:8])
    g_lo, g_hi, c_lo, c_hi, d_lo, d_hi = lims[0], lims[1], lims[2], lims[3], lims[4], lims[5]
    s_lo, t_lo = sh[8], sh[9]
    s_top, t_top = sig.shape[0] - 1, tnh.shape[0] - 1
    l0, r0, s0 = st[0, 0], st[0, 1], st[0, 2]
    l2, r2, s2 = st[2, 0], st[2, 1], st[2, 2]
    l5, r5, s5 = st[5, 0], st[5, 1], st[5, 2]
    l6, r6, s6 = st[6, 0], st[6, 1], st[6, 2]
    l7, r7, s7 = st[7, 0], st[7, 1], st[7, 2]
    lift_f, lift_i = sh[3], sh[4]
    for j in prange(h):
        bi = _rs(bias[0, j], st, 1)
        bf = _rs(bias[1, j], st, 1)
        bg = _rs(bias[2, j], st, 1)
        bo = _rs(bias[3, j], st, 1)
        p0 = peep[0, j]
        p1 = peep[1, j]
        p2 = peep[2, j]
        n_pre = 0
        n_cell = 0
        n_tc = 0
        n_hid = 0
        for b in range(m):
            cp = c_prev[j, b]
            pi = _r(y[j, b], l0, r0, s0) + bi
            pf = _r(y[pk + j, b], l0, r0, s0) + bf
            pg = _r(y[2 * pk + j, b], l0, r0, s0) + bg
            if use_peep:
                pi += _r(p0 * cp, l2, r2, s2)
                pf += _r(p1 * cp, l2, r2, s2)
            n_pre += (pi < g_lo) + (pi > g_hi) + (pf < g_lo) + (pf > g_hi) + (pg < g_lo) + (pg > g_hi)
            ai = sig[_sat(_sat(pi, g_lo, g_hi) - s_lo, 0, s_top)]
            af = sig[_sat(_sat(pf, g_lo, g_hi) - s_lo, 0, s_top)]
            ag = tnh[_sat(_sat(pg, g_lo, g_hi) - t_lo, 0, t_top)]
            cs = _r(((af * cp) << lift_f) + ((ai * ag) << lift_i), l5, r5, s5)
            n_cell += (cs < c_lo) + (cs > c_hi)
            cn = _sat(cs, c_lo, c_hi)
            po = _r(y[3 * pk + j, b], l0, r0, s0) + bo
            if use_peep:
                po += _r(p2 * cn, l2, r2, s2)
            n_pre += (po < g_lo) + (po > g_hi)
            ao = sig[_sat(_sat(po, g_lo, g_hi) - s_lo, 0, s_top)]
            tc = _r(cn, l6, r6, s6)
            n_tc += (tc < g_lo) + (tc > g_hi)
            at = tnh[_sat(_sat(tc, g_lo, g_hi) - t_lo, 0, t_top)]
            mv = _r(ao * at, l7, r7, s7)
            n_hid += (mv < d_lo) + (mv > d_hi)
            h_out[j, b] = _sat(mv, d_lo, d_hi)
            c_out[j, b] = cn
        counts[j, 0] = n_pre
        counts[j, 1] = n_cell
        counts[j, 2] = n_tc
        counts[j, 3] = n_hid


@njit(cache=False, nogil=True, boundscheck=False, parallel=True)
def _gru_kernel(m, y, pk, h_prev, bias, b_hn, sig, tnh, sh, lims, h_out, counts):
    """Every unit in parallel (prange over units, counts (H, 3) a row each), the batch columns :m
    innermost; y rows: r, z, in, hn gates of P = pk rows each."""  # pragma: no cover - jitted
    h = h_out.shape[0]
    st = _shift_table(sh[:8])
    g_lo, g_hi, d_lo, d_hi = lims[0], lims[1], lims[4], lims[5]
    s_lo, t_lo = sh[8], sh[9]
    s_top, t_top = sig.shape[0] - 1, tnh.shape[0] - 1
    l0, r0, s0 = st[0, 0], st[0, 1], st[0, 2]
    l2, r2, s2 = st[2, 0], st[2, 1], st[2, 2]
    l6, r6, s6 = st[6, 0], st[6, 1], st[6, 2]
    lift_n, lift_h, lift_a = sh[3], sh[4], sh[5]
    for j in prange(h):
        br = _rs(bias[0, j], st, 1)
        bz = _rs(bias[1, j], st, 1)
        bn = _rs(bias[2, j], st, 1)
        bh = _rs(b_hn[j], st, 1)
        n_pre = 0
        n_hn = 0
        n_hid = 0
        for b in range(m):
            pr = _r(y[j, b], l0, r0, s0) + br
            pz = _r(y[pk + j, b], l0, r0, s0) + bz
            n_pre += (pr < g_lo) + (pr > g_hi) + (pz < g_lo) + (pz > g_hi)
            rv = sig[_sat(_sat(pr, g_lo, g_hi) - s_lo, 0, s_top)]
            zv = sig[_sat(_sat(pz, g_lo, g_hi) - s_lo, 0, s_top)]
            hn = _r(y[3 * pk + j, b], l0, r0, s0) + bh
            n_hn += (hn < g_lo) + (hn > g_hi)
            hn = _sat(hn, g_lo, g_hi)
            pn = _r(y[2 * pk + j, b], l0, r0, s0) + bn + _r(rv * hn, l2, r2, s2)
            n_pre += (pn < g_lo) + (pn > g_hi)
            nv = tnh[_sat(_sat(pn, g_lo, g_hi) - t_lo, 0, t_top)]
            nd = nv << lift_n
            hd = h_prev[j, b] << lift_h
            hv = _r((nd << lift_a) + zv * (hd - nd), l6, r6, s6)
            n_hid += (hv < d_lo) + (hv > d_hi)
            h_out[j, b] = _sat(hv, d_lo, d_hi)
        counts[j, 0] = n_pre
        counts[j, 1] = n_hn
        counts[j, 2] = n_hid


def lstm_cell(m, y, pk, c_prev, bias, peep, sig, tnh, sh, lims, h_out, c_out) -> np.ndarray:
    """Batch-minor :func:`ernn.golden.kernels.lstm_cell` (``sh``, ``lims`` as built there) for batch
    columns :m: y (4 pk, N) int64 Q(ifft_out), c_prev (H, N) -> h_out (H, N) Q(data), c_out (H, N)
    Q(cell). Returns the counts (gate_pre, cell, tanh_c_in, hidden)."""
    h = h_out.shape[0]
    counts = np.zeros((h, 4), dtype=np.int64)
    use = peep is not None
    p = peep if use else np.zeros((3, h), dtype=np.int64)
    _lstm_kernel(m, y, pk, c_prev, bias, p, use, sig, tnh, sh, lims, h_out, c_out, counts)
    return counts.sum(axis=0)


def gru_cell(m, y, pk, h_prev, bias, b_hn, sig, tnh, sh, lims, h_out) -> np.ndarray:
    """Batch-minor :func:`ernn.golden.kernels.gru_cell` for batch columns :m: y (4 pk, N) (r, z, in, hn),
    h_prev (H, N) -> h_out (H, N) Q(data). Returns the counts (gate_pre, gru_hn, hidden)."""
    counts = np.zeros((h_out.shape[0], 3), dtype=np.int64)
    _gru_kernel(m, y, pk, h_prev, bias, b_hn, sig, tnh, sh, lims, h_out, counts)
    return counts.sum(axis=0)
