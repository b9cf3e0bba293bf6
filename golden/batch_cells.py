"""The LSTM and GRU cell updates of one unit over a tile of batch lanes, compiled, batch-minor.

The same integers and saturation counts as :func:`ernn.golden.cells.lstm_cell` and ``gru_cell`` (and
their batch-major twins in :mod:`ernn.golden.kernels`, whose arithmetic this copies line for line): every
term brought to Q(gate) with a round-half-up shift, summed, saturated once; activations by one lookup in
a table of every input code (``cells._full_table``: only used where no code saturates); LSTM c_t in
Q(cell), h_t in Q(data). Only the layout differs: the gate values of unit j arrive as the IFFT tile
writes them (``ernn.golden.unrolled.ifft_tile``: float64 integers of Q(ifft_out), one row of k
runs of lanes per gate), the states are (units, batch) arrays, passed whole with the unit and
the tile's first lane, and the loop over lanes is the innermost one (vectorised, the table lookups as
gathers). ``ernn.golden.fused`` runs these for every unit of a block right after the block's IFFT, so
the gate values are never written to memory.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import _rs, _sat


@njit(cache=False, nogil=True, inline="always")
def _r(v, left, rnd, right):  # pragma: no cover - jitted
    """kernels._rs with the shift amounts as scalars (held in registers across the loop over the batch)."""
    return ((v << left) + rnd) >> right


@njit(cache=False, nogil=True, boundscheck=False, inline="always")
def lstm_unit(
    y,
    o,
    w,
    j,
    i0,
    c_prev,
    bias,
    peep,
    use_peep,
    sig,
    tnh,
    st,
    sh,
    lims,
    h_out,
    c_out,
    h_lane,
    c_lane,
    counts,
    row,
    base,
):  # pragma: no cover - jitted
    """Unit j of an LSTM layer over lanes i0 .. i0 + w (``kernels.lstm_cell``'s arithmetic): gates i, f, g,
    o from y0[o + b], y1[o + b], y2[o + b], y3[o + b] (float64 integers of Q(ifft_out)), c_prev[j, i0 + b]
    Q(cell), bias[j] (4,) Q(bias), peep[j] (3,) Q(peephole) (read when use_peep) -> h_out[j, i0 + b]
    Q(data), c_out[j, i0 + b] Q(cell), and the same values into h_lane[b, j], c_lane[b, j] (the tile's
    lane-major copy, for the store into the caller's (N, T, H) layout); st = ``kernels._shift_table(sh[:8])``, sh and lims as
    ``kernels.lstm_shifts`` / ``cell_limits`` build them. Adds its saturations (gate_pre, cell, tanh_c_in,
    hidden) into counts[row, base:base + 4]. Whole arrays and scalar indices, no views: inlined into
    ``ernn.golden.fused``'s parallel loop, whose arrays numba then knows not to alias one another, so the
    loop over lanes vectorises with its table lookups (behind a view, the compiler must assume a store to
    h_out may change the tables, and it does not: 3x slower)."""
    g_lo, g_hi, c_lo, c_hi, d_lo, d_hi = lims[0], lims[1], lims[2], lims[3], lims[4], lims[5]
    s_lo, t_lo = sh[8], sh[9]
    s_top, t_top = sig.shape[0] - 1, tnh.shape[0] - 1
    l0, r0, s0 = st[0, 0], st[0, 1], st[0, 2]
    l2, r2, s2 = st[2, 0], st[2, 1], st[2, 2]
    l5, r5, s5 = st[5, 0], st[5, 1], st[5, 2]
    l6, r6, s6 = st[6, 0], st[6, 1], st[6, 2]
    l7, r7, s7 = st[7, 0], st[7, 1], st[7, 2]
    lift_f, lift_i = sh[3], sh[4]
    bi = _rs(bias[j, 0], st, 1)
    bf = _rs(bias[j, 1], st, 1)
    bg = _rs(bias[j, 2], st, 1)
    bo = _rs(bias[j, 3], st, 1)
    p0 = peep[j, 0]
    p1 = peep[j, 1]
    p2 = peep[j, 2]
    n_pre = 0
    n_cell = 0
    n_tc = 0
    n_hid = 0
    for b in range(w):
        cp = c_prev[j, i0 + b]
        pi = _r(np.int64(y[0, o + b]), l0, r0, s0) + bi
        pf = _r(np.int64(y[1, o + b]), l0, r0, s0) + bf
        pg = _r(np.int64(y[2, o + b]), l0, r0, s0) + bg
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
        po = _r(np.int64(y[3, o + b]), l0, r0, s0) + bo
        if use_peep:
            po += _r(p2 * cn, l2, r2, s2)
        n_pre += (po < g_lo) + (po > g_hi)
        ao = sig[_sat(_sat(po, g_lo, g_hi) - s_lo, 0, s_top)]
        tc = _r(cn, l6, r6, s6)
        n_tc += (tc < g_lo) + (tc > g_hi)
        at = tnh[_sat(_sat(tc, g_lo, g_hi) - t_lo, 0, t_top)]
        mv = _r(ao * at, l7, r7, s7)
        n_hid += (mv < d_lo) + (mv > d_hi)
        hv = _sat(mv, d_lo, d_hi)
        h_out[j, i0 + b] = hv
        c_out[j, i0 + b] = cn
        h_lane[b, j] = hv
        c_lane[b, j] = cn
    counts[row, base] += n_pre
    counts[row, base + 1] += n_cell
    counts[row, base + 2] += n_tc
    counts[row, base + 3] += n_hid


@njit(cache=False, nogil=True, boundscheck=False, inline="always")
def gru_unit(
    y, o, w, j, i0, h_prev, bias, b_hn, sig, tnh, st, sh, lims, h_out, h_lane, counts, row, base
):  # pragma: no cover - jitted
    """Unit j of a GRU layer over lanes i0 .. i0 + w (``kernels.gru_cell``'s arithmetic): gates r, z, in
    (W_in x), hn (W_hn h) from y0 .. y3 at o + b, h_prev[j, i0 + b] Q(data), bias[j] (3,), b_hn[j] ->
    h_out[j, i0 + b] Q(data) and h_lane[b, j]; sh as ``kernels.gru_shifts`` builds it, st its shift table. Adds (gate_pre,
    gru_hn, hidden) into counts[row, base:base + 3]. Whole arrays, as :func:`lstm_unit`."""
    g_lo, g_hi, d_lo, d_hi = lims[0], lims[1], lims[4], lims[5]
    s_lo, t_lo = sh[8], sh[9]
    s_top, t_top = sig.shape[0] - 1, tnh.shape[0] - 1
    l0, r0, s0 = st[0, 0], st[0, 1], st[0, 2]
    l2, r2, s2 = st[2, 0], st[2, 1], st[2, 2]
    l6, r6, s6 = st[6, 0], st[6, 1], st[6, 2]
    lift_n, lift_h, lift_a = sh[3], sh[4], sh[5]
    br = _rs(bias[j, 0], st, 1)
    bz = _rs(bias[j, 1], st, 1)
    bn = _rs(bias[j, 2], st, 1)
    bh = _rs(b_hn[j], st, 1)
    n_pre = 0
    n_hn = 0
    n_hid = 0
    for b in range(w):
        pr = _r(np.int64(y[0, o + b]), l0, r0, s0) + br
        pz = _r(np.int64(y[1, o + b]), l0, r0, s0) + bz
        n_pre += (pr < g_lo) + (pr > g_hi) + (pz < g_lo) + (pz > g_hi)
        rv = sig[_sat(_sat(pr, g_lo, g_hi) - s_lo, 0, s_top)]
        zv = sig[_sat(_sat(pz, g_lo, g_hi) - s_lo, 0, s_top)]
        hn = _r(np.int64(y[3, o + b]), l0, r0, s0) + bh
        n_hn += (hn < g_lo) + (hn > g_hi)
        hn = _sat(hn, g_lo, g_hi)
        pn = _r(np.int64(y[2, o + b]), l0, r0, s0) + bn + _r(rv * hn, l2, r2, s2)
        n_pre += (pn < g_lo) + (pn > g_hi)
        nv = tnh[_sat(_sat(pn, g_lo, g_hi) - t_lo, 0, t_top)]
        nd = nv << lift_n
        hd = h_prev[j, i0 + b] << lift_h
        hv = _r((nd << lift_a) + zv * (hd - nd), l6, r6, s6)
        n_hid += (hv < d_lo) + (hv > d_hi)
        hs = _sat(hv, d_lo, d_hi)
        h_out[j, i0 + b] = hs
        h_lane[b, j] = hs
    counts[row, base] += n_pre
    counts[row, base + 1] += n_hn
    counts[row, base + 2] += n_hid
