"""Compiled (numba) twins of the fixed-point FFT and IFFT of :mod:`ernn.golden.fft`, for large batches.

Same integers, same saturation counts: :func:`fft_real` and :func:`ifft_real` here compute exactly what
the numpy functions of the same names compute (radix-2 DIT, bit-reversed input, round-half-up twiddle
products ``(W b + 2**(f-1)) >> f``, forward stages saturated to Q(out.word - log2 k + s, out.frac), inverse
stages halved with round-half-up and saturated to the IFFT format, only the real part of the last inverse
stage formed; formats as in ``fft.py``). They differ only in how the work is laid out: the numpy version
makes a temporary array per operation, which at a batch of thousands of blocks streams every operand
through memory a dozen times per stage; here the blocks are taken a tile at a time (``_TILE`` blocks, the
k points of each in registers or L1), each stage is one loop over the tile that the compiler vectorises,
and a saturation is counted where it happens.

The trivial twiddles (W^0 = 1, W^(k/4) = -j) go through the multiply like every other: ``fft.py`` shows
that the rounded product is exactly b and -j b there, so the result is the same.

The fast path of a batch (:mod:`ernn.golden.matvec`) runs the FFT and the IFFT pass in float64 where
that is exact (:func:`float_fft_exact`, :func:`float_ifft_exact`: every intermediate an integer below
2**52, true of the default formats), the FFT writing the MAC's float64 operand directly
(:func:`fft_bins_major`) and the IFFT pass adding the x and h products where it reads them. Those and
the cell kernels are parallel over tiles or batch elements on :func:`threads` threads (default 1, or
``ERNN_GOLDEN_THREADS``; :func:`set_threads`); each tile counts its saturations into its own row, so
the integers and the counts are the same for every thread count.

numba compiles each kernel on its first call (about a second); :mod:`ernn.golden.matvec` only calls them
for batches large enough to repay that (``matvec.COMPILED_MIN_BLOCKS``), and ``tests/test_golden_batched.py``
compares them with ``fft.py`` on random and saturating inputs.
"""

from __future__ import annotations

import os

import numba
import numpy as np
from numba import njit, prange

from .fft import bit_reverse_indices, twiddles
from .formats import NumericsConfig, QFormat, log2_exact
from .ops import IntArray, SaturationLog, as_int, fits

#: blocks per tile: 2 x k x _TILE int64 working values stay in L1/L2 for k <= 64
_TILE = 64


@njit(cache=False, nogil=True, boundscheck=False)
def _fft_kernel(x, rev, twr, twi, tw_frac, los, his, out_re, out_im, counts):  # pragma: no cover - jitted
    n, k = x.shape
    nb = k // 2 + 1
    half = (1 << (tw_frac - 1)) if tw_frac > 0 else 0
    zr = np.empty((k, _TILE), dtype=np.int64)
    zi = np.empty((k, _TILE), dtype=np.int64)
    for c0 in range(0, n, _TILE):
        w = min(_TILE, n - c0)
        for p in range(k):
            src = rev[p]
            for i in range(w):
                zr[p, i] = x[c0 + i, src]
                zi[p, i] = 0
        s = 0
        hn = 1
        while hn < k:
            nn = 2 * hn
            step = k // nn
            lo = los[s]
            hi = his[s]
            cnt = 0
            for g in range(0, k, nn):
                for j in range(hn):
                    wr = twr[j * step]
                    wi = twi[j * step]
                    pa = g + j
                    pb = pa + hn
                    for i in range(w):
                        br = zr[pb, i]
                        bi = zi[pb, i]
                        tr = (wr * br - wi * bi + half) >> tw_frac
                        ti = (wr * bi + wi * br + half) >> tw_frac
                        ar = zr[pa, i]
                        ai = zi[pa, i]
                        v0 = ar + tr
                        v1 = ai + ti
                        v2 = ar - tr
                        v3 = ai - ti
                        cnt += (v0 > hi) + (v0 < lo) + (v1 > hi) + (v1 < lo)
                        cnt += (v2 > hi) + (v2 < lo) + (v3 > hi) + (v3 < lo)
                        zr[pa, i] = min(max(v0, lo), hi)
                        zi[pa, i] = min(max(v1, lo), hi)
                        zr[pb, i] = min(max(v2, lo), hi)
                        zi[pb, i] = min(max(v3, lo), hi)
            counts[s] += cnt
            s += 1
            hn = nn
        for m in range(nb):
            for i in range(w):
                out_re[c0 + i, m] = zr[m, i]
                out_im[c0 + i, m] = zi[m, i]


@njit(cache=False, nogil=True, boundscheck=False)
def _load_hermitian(re, im, c0, w, rev, zr, zi):  # pragma: no cover - jitted
    """Bins 0..k/2 of rows c0..c0+w of re/im -> all k bins (X[k-m] = conj X[m], Im of bins 0 and k/2
    taken as 0), bit-reversed, into the tile zr/zi (k, _TILE)."""
    nb = re.shape[1]
    k = zr.shape[0]
    for p in range(k):
        m = rev[p]
        if m < nb:
            real_bin = m == 0 or m == nb - 1
            for i in range(w):
                zr[p, i] = re[c0 + i, m]
                zi[p, i] = 0 if real_bin else im[c0 + i, m]
        else:
            for i in range(w):
                zr[p, i] = re[c0 + i, k - m]
                zi[p, i] = -im[c0 + i, k - m]


@njit(cache=False, nogil=True, boundscheck=False)
def _load_hermitian_t(re, im, w, rev, zr, zi):  # pragma: no cover - jitted
    """:func:`_load_hermitian` of a tile held bin-major, re/im (bins, _TILE)."""
    nb = re.shape[0]
    k = zr.shape[0]
    for p in range(k):
        m = rev[p]
        if m < nb:
            real_bin = m == 0 or m == nb - 1
            for i in range(w):
                zr[p, i] = re[m, i]
                zi[p, i] = 0 if real_bin else im[m, i]
        else:
            for i in range(w):
                zr[p, i] = re[k - m, i]
                zi[p, i] = -im[k - m, i]


@njit(cache=False, nogil=True, boundscheck=False)
def _ifft_stages(zr, zi, w, twr, twi, tw_frac, lo, hi, yr, counts):  # pragma: no cover - jitted
    """Every inverse stage on the tile zr/zi (in place); the last stage's real part into yr (k, _TILE)."""
    k = zr.shape[0]
    half = (1 << (tw_frac - 1)) if tw_frac > 0 else 0
    s = 0
    hn = 1
    while 2 * hn < k:  # every stage but the last: full complex outputs
        nn = 2 * hn
        step = k // nn
        cnt = 0
        for g in range(0, k, nn):
            for j in range(hn):
                wr = twr[j * step]
                wi = twi[j * step]
                pa = g + j
                pb = pa + hn
                for i in range(w):
                    br = zr[pb, i]
                    bi = zi[pb, i]
                    tr = (wr * br + wi * bi + half) >> tw_frac  # conj(W) b
                    ti = (wr * bi - wi * br + half) >> tw_frac
                    ar = zr[pa, i]
                    ai = zi[pa, i]
                    v0 = (ar + tr + 1) >> 1
                    v1 = (ai + ti + 1) >> 1
                    v2 = (ar - tr + 1) >> 1
                    v3 = (ai - ti + 1) >> 1
                    cnt += (v0 > hi) + (v0 < lo) + (v1 > hi) + (v1 < lo)
                    cnt += (v2 > hi) + (v2 < lo) + (v3 > hi) + (v3 < lo)
                    zr[pa, i] = min(max(v0, lo), hi)
                    zi[pa, i] = min(max(v1, lo), hi)
                    zr[pb, i] = min(max(v2, lo), hi)
                    zi[pb, i] = min(max(v3, lo), hi)
        counts[s] += cnt
        s += 1
        hn = nn
    # last stage (one group of k points): only the real part
    cnt = 0
    for j in range(hn):
        wr = twr[j]
        wi = twi[j]
        pb = j + hn
        for i in range(w):
            tr = (wr * zr[pb, i] + wi * zi[pb, i] + half) >> tw_frac
            v0 = (zr[j, i] + tr + 1) >> 1
            v2 = (zr[j, i] - tr + 1) >> 1
            cnt += (v0 > hi) + (v0 < lo) + (v2 > hi) + (v2 < lo)
            yr[j, i] = min(max(v0, lo), hi)
            yr[pb, i] = min(max(v2, lo), hi)
    counts[s] += cnt


@njit(cache=False, nogil=True, boundscheck=False)
def _ifft_kernel(re, im, rev, twr, twi, tw_frac, lo, hi, out, counts):  # pragma: no cover - jitted
    n, nb = re.shape
    k = 2 * (nb - 1)
    zr = np.empty((k, _TILE), dtype=np.int64)
    zi = np.empty((k, _TILE), dtype=np.int64)
    yr = np.empty((k, _TILE), dtype=np.int64)
    for c0 in range(0, n, _TILE):
        w = min(_TILE, n - c0)
        _load_hermitian(re, im, c0, w, rev, zr, zi)
        _ifft_stages(zr, zi, w, twr, twi, tw_frac, lo, hi, yr, counts)
        for p in range(k):
            for i in range(w):
                out[c0 + i, p] = yr[p, i]


@njit(cache=False, nogil=True, boundscheck=False)
def _finish_tile(vr, vi, i, m, a_lo, a_hi, f_hi, shift, pr, pi):  # pragma: no cover - jitted
    """One accumulator pair -> IFFT input slot (i, m): returns (out-of-range accumulators, ifft_in saturations)."""
    bad = (vr < a_lo) + (vr > a_hi) + (vi < a_lo) + (vi > a_hi)
    rnd = 1 << (shift - 1)
    vr = (vr + rnd) >> shift
    vi = (vi + rnd) >> shift
    cnt = (vr < -f_hi) + (vr > f_hi) + (vi < -f_hi) + (vi > f_hi)
    pr[i, m] = min(max(vr, -f_hi), f_hi)
    pi[i, m] = min(max(vi, -f_hi), f_hi)
    return bad, cnt


@njit(cache=False, nogil=True, boundscheck=False)
def _finish_rest(c0, step, w, lims, twr, twi, tw_frac, zr, zi, yr, out, counts):  # pragma: no cover
    """The loaded tile's IFFT and output saturation (rows c0, c0 + step, ... of out, w of them)."""
    k = zr.shape[0]
    o_lo, o_hi = lims[4], lims[5]
    _ifft_stages(zr, zi, w, twr, twi, tw_frac, lims[2], lims[3], yr, counts[2 : counts.shape[0] - 1])
    cnt = 0
    for p in range(k):
        for i in range(w):
            v = yr[p, i]
            cnt += (v < o_lo) + (v > o_hi)
            out[c0 + i * step, p] = min(max(v, o_lo), o_hi)
    counts[counts.shape[0] - 1] += cnt


@njit(cache=False, nogil=True, boundscheck=False)
def _finish_kernel(acc_re, acc_im, lims, shift, rev, twr, twi, tw_frac, out, counts):  # pragma: no cover
    """Accumulators -> IFFT input (round-half-up shift, symmetric saturation) -> IFFT -> output format.

    lims: accumulator lo, hi; IFFT lo, hi; output lo, hi. counts: [out-of-range accumulators, ifft_in,
    IFFT stages 1..log2 k, ifft_out]."""
    n, nb = acc_re.shape
    k = 2 * (nb - 1)
    pr = np.empty((n if n < _TILE else _TILE, nb), dtype=np.int64)
    pi = np.empty_like(pr)
    zr = np.empty((k, _TILE), dtype=np.int64)
    zi = np.empty((k, _TILE), dtype=np.int64)
    yr = np.empty((k, _TILE), dtype=np.int64)
    for c0 in range(0, n, _TILE):
        w = min(_TILE, n - c0)
        for i in range(w):
            for m in range(nb):
                b, c = _finish_tile(
                    acc_re[c0 + i, m], acc_im[c0 + i, m], i, m, lims[0], lims[1], lims[3], shift, pr, pi
                )
                counts[0] += b
                counts[1] += c
        _load_hermitian(pr, pi, 0, w, rev, zr, zi)
        _finish_rest(c0, 1, w, lims, twr, twi, tw_frac, zr, zi, yr, out, counts)


@njit(cache=False, nogil=True, boundscheck=False)
def _finish_bins_major_kernel(accf, lims, shift, rev, twr, twi, tw_frac, out, counts):  # pragma: no cover
    """:func:`_finish_kernel` reading the float64 MAC results where BLAS left them: accf (bins, 2, R, M)
    holding exact integers (re/im on axis 1); out row t is batch element t // R, accumulator row t % R."""
    nb, _, rr, mm = accf.shape
    k = 2 * (nb - 1)
    pr = np.empty((nb, _TILE), dtype=np.int64)  # bin-major: the loads and the Hermitian fill run along i
    pi = np.empty_like(pr)
    zr = np.empty((k, _TILE), dtype=np.int64)
    zi = np.empty((k, _TILE), dtype=np.int64)
    yr = np.empty((k, _TILE), dtype=np.int64)
    a_lo, a_hi, f_hi = lims[0], lims[1], lims[3]
    rnd = 1 << (shift - 1)
    # a tile is _TILE batch elements of one accumulator row r: every read runs along accf's last axis
    for r in range(rr):
        for j0 in range(0, mm, _TILE):
            w = min(_TILE, mm - j0)
            bad = 0
            cnt = 0
            for m in range(nb):
                for i in range(w):
                    vr = np.int64(accf[m, 0, r, j0 + i])
                    vi = np.int64(accf[m, 1, r, j0 + i])
                    bad += (vr < a_lo) + (vr > a_hi) + (vi < a_lo) + (vi > a_hi)
                    vr = (vr + rnd) >> shift
                    vi = (vi + rnd) >> shift
                    cnt += (vr < -f_hi) + (vr > f_hi) + (vi < -f_hi) + (vi > f_hi)
                    pr[m, i] = min(max(vr, -f_hi), f_hi)
                    pi[m, i] = min(max(vi, -f_hi), f_hi)
            counts[0] += bad
            counts[1] += cnt
            _load_hermitian_t(pr, pi, w, rev, zr, zi)
            _finish_rest(j0 * rr + r, rr, w, lims, twr, twi, tw_frac, zr, zi, yr, out, counts)


# ------------------------------------------------------------------------------------------------------
# the IFFT pass in float64: the same integers where every intermediate is an integer below 2**53
#
# With the default formats (Q(twiddle) 18 bits, Q(ifft) 23 bits) a twiddle product is below 2**42, so
# the butterflies can run on float64 lanes: a product, a sum and an add of 2**(f-1) are exact, the
# multiply by 2**-f is exact (a power of two), and floor() of it is the arithmetic right shift
# ``>> f`` of the integer path; (a + t + 1) >> 1 is floor((a + t + 1) * 0.5) the same way; min, max and
# the comparisons that count saturations are exact on integers. Float multiplies vectorise where the
# int64 ones (a three-uop vpmullq) do not pay, and the accumulators are read as they are (float64) with
# no conversion. :func:`float_ifft_exact` checks the bound; otherwise the int64 kernel above runs.


@njit(cache=False, nogil=True, boundscheck=False)
def _ifft_stages_f(zr, zi, w, twr, twi, scale, half, lo, hi, yr, counts):  # pragma: no cover - jitted
    """:func:`_ifft_stages` on float64 tiles holding integers (scale = 2**-tw_frac, half = 2**(tw_frac-1));
    counts (stages,) for this tile. A saturation is counted as clamp(v) != v (one compare, not two).
    The W^0 and W^(k/4) products are skipped: ``fft.twiddles`` refuses a Q(twiddle) that cannot hold +1,
    so W^0 is 2**f and (2**f b + 2**(f-1)) >> f is b, and W^(k/4) is -j 2**f, so conj(W) b is j b
    exactly (``unit``, ``unit_j`` re-check it on the table given)."""
    k = zr.shape[0]
    unit = twr[0] * scale == 1.0 and twi[0] == 0.0
    unit_j = k >= 4 and twr[k // 4] == 0.0 and twi[k // 4] * scale == -1.0
    s = 0
    hn = 1
    while 2 * hn < k:
        nn = 2 * hn
        step = k // nn
        cnt = 0
        for g in range(0, k, nn):
            for j in range(hn):
                wr = twr[j * step]
                wi = twi[j * step]
                pa = g + j
                pb = pa + hn
                one = j == 0 and unit  # W^0 = 1 exactly: the rounded product is b itself
                mj = 2 * j == hn and unit_j  # W^(k/4) = -j exactly: conj(W) b = j b
                for i in range(w):
                    br = zr[pb, i]
                    bi = zi[pb, i]
                    if one:
                        tr = br
                        ti = bi
                    elif mj:
                        tr = -bi
                        ti = br
                    else:
                        tr = np.floor((wr * br + wi * bi + half) * scale)  # conj(W) b, round half up
                        ti = np.floor((wr * bi - wi * br + half) * scale)
                    ar = zr[pa, i]
                    ai = zi[pa, i]
                    v0 = np.floor((ar + tr + 1.0) * 0.5)
                    v1 = np.floor((ai + ti + 1.0) * 0.5)
                    v2 = np.floor((ar - tr + 1.0) * 0.5)
                    v3 = np.floor((ai - ti + 1.0) * 0.5)
                    c0 = min(max(v0, lo), hi)
                    c1 = min(max(v1, lo), hi)
                    c2 = min(max(v2, lo), hi)
                    c3 = min(max(v3, lo), hi)
                    cnt += (c0 != v0) + (c1 != v1) + (c2 != v2) + (c3 != v3)
                    zr[pa, i] = c0
                    zi[pa, i] = c1
                    zr[pb, i] = c2
                    zi[pb, i] = c3
        counts[s] += cnt
        s += 1
        hn = nn
    cnt = 0
    for j in range(hn):
        wr = twr[j]
        wi = twi[j]
        pb = j + hn
        one = j == 0 and unit
        mj = 2 * j == hn and unit_j
        for i in range(w):
            if one:
                tr = zr[pb, i]
            elif mj:
                tr = -zi[pb, i]
            else:
                tr = np.floor((wr * zr[pb, i] + wi * zi[pb, i] + half) * scale)
            v0 = np.floor((zr[j, i] + tr + 1.0) * 0.5)
            v2 = np.floor((zr[j, i] - tr + 1.0) * 0.5)
            c0 = min(max(v0, lo), hi)
            c2 = min(max(v2, lo), hi)
            cnt += (c0 != v0) + (c2 != v2)
            yr[j, i] = c0
            yr[pb, i] = c2
    counts[s] += cnt


@njit(cache=False, nogil=True, boundscheck=False, parallel=True)
def _finish_bins_major_f_kernel(
    acc1, acc2, two, limf, shift, rev, twr, twi, tw_frac, out, counts
):  # pragma: no cover
    """:func:`_finish_bins_major_kernel` in float64 (the bound checked by the caller), reading acc1 + acc2
    when ``two`` (the x and h products of a step, summed here instead of in a separate pass: exact while
    their bound stays below 2**53, checked by the caller) else acc1. The tiles (one accumulator row r, up
    to _TILE batch elements) are split into one contiguous run per thread (numba prange over
    ``get_num_threads()`` chunks, each with its own scratch tiles); each tile writes its own row of
    counts (ntiles, stages + 3), summed by the caller, so the totals do not depend on the thread count.
    limf: accumulator lo, hi; IFFT lo, hi; output lo, hi as float64."""
    nb, _, rr, mm = acc1.shape
    k = 2 * (nb - 1)
    a_lo, a_hi, i_lo, i_hi, o_lo, o_hi = limf[0], limf[1], limf[2], limf[3], limf[4], limf[5]
    f_hi = i_hi
    rnd = float(1 << (shift - 1))
    a_scale = 1.0 / float(1 << shift)
    t_scale = 1.0 / float(1 << tw_frac)
    t_half = float(1 << (tw_frac - 1)) if tw_frac > 0 else 0.0
    per_row = (mm + _TILE - 1) // _TILE
    ntiles = rr * per_row
    nchunks = max(1, min(numba.get_num_threads(), ntiles))
    for ch in prange(nchunks):
        pr = np.empty((nb, _TILE), dtype=np.float64)
        pi = np.empty((nb, _TILE), dtype=np.float64)
        zr = np.empty((k, _TILE), dtype=np.float64)
        zi = np.empty((k, _TILE), dtype=np.float64)
        yr = np.empty((k, _TILE), dtype=np.float64)
        for t in range(ch * ntiles // nchunks, (ch + 1) * ntiles // nchunks):
            r = t // per_row
            j0 = (t % per_row) * _TILE
            w = min(_TILE, mm - j0)
            bad = 0
            cnt = 0
            for m in range(nb):
                for i in range(w):
                    vr = acc1[m, 0, r, j0 + i]
                    vi = acc1[m, 1, r, j0 + i]
                    if two:
                        vr += acc2[m, 0, r, j0 + i]
                        vi += acc2[m, 1, r, j0 + i]
                    bad += (min(vr, vi) < a_lo) + (max(vr, vi) > a_hi)  # nonzero iff any is out of range
                    vr = np.floor((vr + rnd) * a_scale)
                    vi = np.floor((vi + rnd) * a_scale)
                    cr = min(max(vr, -f_hi), f_hi)
                    ci = min(max(vi, -f_hi), f_hi)
                    cnt += (cr != vr) + (ci != vi)
                    pr[m, i] = cr
                    pi[m, i] = ci
            c = counts[t]
            c[0] += bad
            c[1] += cnt
            _load_hermitian_t(pr, pi, w, rev, zr, zi)
            _ifft_stages_f(zr, zi, w, twr, twi, t_scale, t_half, i_lo, i_hi, yr, c[2 : c.shape[0] - 1])
            cnt = 0
            row0 = j0 * rr + r
            for p in range(k):
                for i in range(w):
                    v = yr[p, i]
                    cv = min(max(v, o_lo), o_hi)
                    cnt += cv != v
                    out[row0 + i * rr, p] = np.int64(cv)
            c[c.shape[0] - 1] += cnt


@njit(cache=False, nogil=True, boundscheck=False, parallel=True)
def _fft_bins_major_f_kernel(x, q, rev, twr, twi, tw_frac, los, his, out, counts, peaks):  # pragma: no cover
    """:func:`_fft_kernel` in float64 (exact as the IFFT pass is; bound checked by the caller) writing
    the spectra straight into the per-bin MAC operand: x (M q, k) (block j of batch element i on row
    i q + j) -> out (bins, 2q, M), Re of block j on row j, Im on row q + j. Tiles split into one run per
    thread as in :func:`_finish_bins_major_f_kernel`, each tile with its own row of counts (ntiles,
    stages) and its largest |component| in peaks (ntiles,)."""
    n, k = x.shape
    nb = k // 2 + 1
    scale = 1.0 / float(1 << tw_frac)
    half = float(1 << (tw_frac - 1)) if tw_frac > 0 else 0.0
    unit = twr[0] * scale == 1.0 and twi[0] == 0.0  # W^0 and W^(k/4) products skipped, as in _ifft_stages_f
    unit_j = k >= 4 and twr[k // 4] == 0.0 and twi[k // 4] * scale == -1.0
    ntiles = (n + _TILE - 1) // _TILE
    nchunks = max(1, min(numba.get_num_threads(), ntiles))
    for ch in prange(nchunks):
        zr = np.empty((k, _TILE), dtype=np.float64)
        zi = np.empty((k, _TILE), dtype=np.float64)
        for t in range(ch * ntiles // nchunks, (ch + 1) * ntiles // nchunks):
            c0 = t * _TILE
            w = min(_TILE, n - c0)
            for p in range(k):
                src = rev[p]
                for i in range(w):
                    zr[p, i] = x[c0 + i, src]
                    zi[p, i] = 0.0
            s = 0
            hn = 1
            while hn < k:
                nn = 2 * hn
                step = k // nn
                lo = los[s]
                hi = his[s]
                cnt = 0
                for g in range(0, k, nn):
                    for j in range(hn):
                        wr = twr[j * step]
                        wi = twi[j * step]
                        pa = g + j
                        pb = pa + hn
                        one = j == 0 and unit  # W^0 = 1 exactly: the rounded product is b itself
                        mj = 2 * j == hn and unit_j  # W^(k/4) = -j exactly: W b = -j b
                        for i in range(w):
                            br = zr[pb, i]
                            bi = zi[pb, i]
                            if one:
                                tr = br
                                ti = bi
                            elif mj:
                                tr = bi
                                ti = -br
                            else:
                                tr = np.floor((wr * br - wi * bi + half) * scale)
                                ti = np.floor((wr * bi + wi * br + half) * scale)
                            ar = zr[pa, i]
                            ai = zi[pa, i]
                            v0 = ar + tr
                            v1 = ai + ti
                            v2 = ar - tr
                            v3 = ai - ti
                            d0 = min(max(v0, lo), hi)
                            d1 = min(max(v1, lo), hi)
                            d2 = min(max(v2, lo), hi)
                            d3 = min(max(v3, lo), hi)
                            cnt += (d0 != v0) + (d1 != v1) + (d2 != v2) + (d3 != v3)
                            zr[pa, i] = d0
                            zi[pa, i] = d1
                            zr[pb, i] = d2
                            zi[pb, i] = d3
                counts[t, s] += cnt
                s += 1
                hn = nn
            peak = 0.0
            for m in range(nb):
                for i in range(w):
                    row = c0 + i
                    b = row // q
                    j = row - b * q
                    vr = zr[m, i]
                    vi = zi[m, i]
                    out[m, j, b] = vr
                    out[m, q + j, b] = vi
                    peak = max(peak, abs(vr), abs(vi))
            peaks[t] = peak


def float_fft_exact(twiddle_fmt: QFormat, out_fmt: QFormat) -> bool:
    """Whether :func:`fft_bins_major` runs in float64 exactly: every twiddle product sum below 2**52."""
    return (1 << twiddle_fmt.word) * (1 << (out_fmt.word - 1)) + (1 << max(twiddle_fmt.frac, 1)) < 1 << 52


def fft_bins_major(
    x: IntArray,
    q: int,
    twiddle_fmt: QFormat,
    out_fmt: QFormat,
    log: SaturationLog | None = None,
    name: str = "fft",
) -> tuple[np.ndarray, int] | None:
    """:func:`fft_real` of the q blocks of each row of x (M, q k), written as the float64 right operand of
    the per-bin MAC (bins, 2q, M) (what :func:`spectra_to_bins_major` makes of fft_real's output), and
    the largest |Re| or |Im| of the spectra (the MAC's exactness bound). None when float64 would not be
    exact (:func:`float_fft_exact`): then fft_real and spectra_to_bins_major do it in two passes."""
    if not float_fft_exact(twiddle_fmt, out_fmt):
        return None
    x = as_int(x)
    m, cols = x.shape
    k = cols // q
    if cols != q * k:
        raise ValueError(f"fft_bins_major: x has {cols} columns, not {q} blocks")
    lk = log2_exact(k, name="block_size")
    in_fmt = QFormat(out_fmt.word - lk, out_fmt.frac)
    if not fits(x, in_fmt):
        raise ValueError(f"fft_real: input outside its format {in_fmt} (out {out_fmt}, k = {k})")
    flat = np.ascontiguousarray(x).reshape(m * q, k)
    twr, twi = twiddles(k, twiddle_fmt)
    stage_fmts = [QFormat(out_fmt.word - lk + s, out_fmt.frac) for s in range(1, lk + 1)]
    los = np.array([f.min_int for f in stage_fmts], dtype=np.float64)
    his = np.array([f.max_int for f in stage_fmts], dtype=np.float64)
    nb = k // 2 + 1
    out = np.empty((nb, 2 * q, m), dtype=np.float64)
    ntiles = (m * q + _TILE - 1) // _TILE
    counts = np.zeros((ntiles, lk), dtype=np.int64)
    peaks = np.zeros(ntiles, dtype=np.float64)
    _use_threads()
    _fft_bins_major_f_kernel(
        flat,
        q,
        bit_reverse_indices(k),
        twr.astype(np.float64),
        twi.astype(np.float64),
        twiddle_fmt.frac,
        los,
        his,
        out,
        counts,
        peaks,
    )
    if log is not None:
        total = counts.sum(axis=0)
        for s in range(1, lk + 1):
            log.record(f"{name}_stage{s}", int(total[s - 1]), 2 * x.size)
    return out, int(peaks.max(initial=0.0))


def float_ifft_exact(cfg: NumericsConfig) -> bool:
    """Whether the float64 IFFT pass is exact for ``cfg``: every twiddle product sum (two products of a
    twiddle and a Q(ifft) value, plus the rounding constant) and every butterfly sum stay integers below
    2**53, and every accumulator value read is one too (the accumulator word is checked per call)."""
    tw = 1 << (cfg.twiddle.word - 1)
    data = 1 << (cfg.ifft.word - 1)
    return 2 * tw * data + (1 << max(cfg.twiddle.frac, 1)) < 1 << 52 and cfg.accumulator.word < 52


#: compute threads of the parallel kernels (numba ``set_num_threads``); :func:`threads` sets it
def _threads_from_env() -> int:
    value = os.environ.get("ERNN_GOLDEN_THREADS", "1")
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"ERNN_GOLDEN_THREADS must be a whole number >= 1, got {value!r}")
    return int(value)


_THREADS = _threads_from_env()


def threads() -> int:
    """Threads the fast path's parallel kernels use (default 1, or ``ERNN_GOLDEN_THREADS``): the
    integers and counts are the same for every count (each tile counts into its own row)."""
    return _THREADS


def set_threads(n: int) -> None:
    """Use ``n`` threads in the parallel kernels (capped at numba's pool, ``NUMBA_NUM_THREADS``)."""
    global _THREADS
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    _THREADS = n


def _use_threads() -> None:
    numba.set_num_threads(min(_THREADS, numba.config.NUMBA_NUM_THREADS))


def fft_real(
    x: IntArray, twiddle_fmt: QFormat, out_fmt: QFormat, log: SaturationLog | None = None, name: str = "fft"
) -> tuple[IntArray, IntArray]:
    """:func:`ernn.golden.fft.fft_real`, compiled: real x (..., k) -> (re, im) of bins 0..k/2."""
    x = as_int(x)
    k = x.shape[-1]
    lk = log2_exact(k, name="block_size")
    in_fmt = QFormat(out_fmt.word - lk, out_fmt.frac)
    if not fits(x, in_fmt):
        raise ValueError(f"fft_real: input outside its format {in_fmt} (out {out_fmt}, k = {k})")
    lead = x.shape[:-1]
    flat = np.ascontiguousarray(x.reshape(-1, k))
    twr, twi = twiddles(k, twiddle_fmt)
    stage_fmts = [QFormat(out_fmt.word - lk + s, out_fmt.frac) for s in range(1, lk + 1)]
    los = np.array([f.min_int for f in stage_fmts], dtype=np.int64)
    his = np.array([f.max_int for f in stage_fmts], dtype=np.int64)
    nb = k // 2 + 1
    out_re = np.empty((flat.shape[0], nb), dtype=np.int64)
    out_im = np.empty_like(out_re)
    counts = np.zeros(lk, dtype=np.int64)
    _fft_kernel(flat, bit_reverse_indices(k), twr, twi, twiddle_fmt.frac, los, his, out_re, out_im, counts)
    if log is not None:
        for s in range(1, lk + 1):
            log.record(f"{name}_stage{s}", int(counts[s - 1]), 2 * x.size)
    return out_re.reshape(*lead, nb), out_im.reshape(*lead, nb)


def ifft_real(
    re: IntArray,
    im: IntArray,
    twiddle_fmt: QFormat,
    fmt: QFormat,
    log: SaturationLog | None = None,
    name: str = "ifft",
) -> IntArray:
    """:func:`ernn.golden.fft.ifft_real`, compiled: Hermitian bins 0..k/2 (..., k/2 + 1) -> real (..., k)."""
    re, im = as_int(re), as_int(im)
    if (
        not (fits(re, fmt) and fits(im, fmt))
        or min(np.min(re, initial=0), np.min(im, initial=0)) == fmt.min_int
    ):
        raise ValueError(
            f"ifft_real: input outside the symmetric IFFT range [-(2**{fmt.word - 1} - 1), 2**{fmt.word - 1} - 1]"
        )
    nb = re.shape[-1]
    k = 2 * (nb - 1)
    lk = log2_exact(k, name="block_size")
    lead = re.shape[:-1]
    fr = np.ascontiguousarray(re.reshape(-1, nb))
    fi = np.ascontiguousarray(im.reshape(-1, nb))
    twr, twi = twiddles(k, twiddle_fmt)
    out = np.empty((fr.shape[0], k), dtype=np.int64)
    counts = np.zeros(lk, dtype=np.int64)
    _ifft_kernel(
        fr, fi, bit_reverse_indices(k), twr, twi, twiddle_fmt.frac, fmt.min_int, fmt.max_int, out, counts
    )
    if log is not None:
        for s in range(1, lk):
            log.record(f"{name}_stage{s}", int(counts[s - 1]), 2 * out.size)
        log.record(f"{name}_stage{lk}", int(counts[lk - 1]), out.size)
    return out.reshape(*lead, k)


def output_blocks(
    acc_re: IntArray,
    acc_im: IntArray,
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
    name: str = "ifft",
) -> IntArray | None:
    """:func:`ernn.golden.matvec.output_blocks` before the crop, in one compiled pass: accumulators
    (..., bins) Q(accumulator) -> Q(ifft_out) (..., k), counting ``{name}_in``, the stages and
    ``{name}_out`` as the numpy path does. None when the shift to Q(ifft) is not a right shift (the numpy
    path handles that)."""
    nb = acc_re.shape[-1]
    ar = np.ascontiguousarray(as_int(acc_re).reshape(-1, nb))
    ai = np.ascontiguousarray(as_int(acc_im).reshape(-1, nb))
    out = _run_finish(cfg, nb, ar.shape[0], log, name, lambda *a: _finish_kernel(ar, ai, *a))
    return None if out is None else out.reshape(*acc_re.shape[:-1], out.shape[-1])


def output_blocks_bins_major(
    accf: np.ndarray,
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
    name: str = "ifft",
    accf2: np.ndarray | None = None,
) -> IntArray | None:
    """:func:`output_blocks` of the float64 MAC results in their BLAS layout accf (bins, 2, R, M) (exact
    integers; re/im on axis 1), plus ``accf2`` of the same shape when given (the caller makes sure every
    sum is below 2**53): -> (M, R, k) Q(ifft_out), with no int64 copy in between. In float64 with
    :func:`threads` threads when :func:`float_ifft_exact`, else the int64 kernel. None as there."""
    nb, two, rr, mm = accf.shape
    if two != 2:
        raise ValueError(f"output_blocks_bins_major: accf must be (bins, 2, R, M), got {accf.shape}")
    if accf2 is not None and accf2.shape != accf.shape:
        raise ValueError(f"output_blocks_bins_major: accf2 {accf2.shape} does not match accf {accf.shape}")
    if float_ifft_exact(cfg):
        ntiles = rr * ((mm + _TILE - 1) // _TILE)

        def run(lims, shift, rev, twr, twi, tw_frac, out, counts):
            per_tile = np.zeros((ntiles, counts.shape[0]), dtype=np.int64)
            _use_threads()
            _finish_bins_major_f_kernel(
                accf,
                accf if accf2 is None else accf2,
                accf2 is not None,
                lims.astype(np.float64),
                shift,
                rev,
                twr.astype(np.float64),
                twi.astype(np.float64),
                tw_frac,
                out,
                per_tile,
            )
            counts += per_tile.sum(axis=0)

        out = _run_finish(cfg, nb, rr * mm, log, name, run)
    else:
        if accf2 is not None:
            accf = accf + accf2
        out = _run_finish(cfg, nb, rr * mm, log, name, lambda *a: _finish_bins_major_kernel(accf, *a))
    return None if out is None else out.reshape(mm, rr, out.shape[-1])


def _run_finish(cfg: NumericsConfig, nb: int, rows: int, log: SaturationLog | None, name: str, kernel):
    """Run a finish kernel over ``rows`` accumulator rows of ``nb`` bins; record its counts."""
    shift = cfg.accumulator.frac - cfg.ifft.frac
    if shift <= 0:
        return None
    k = 2 * (nb - 1)
    lk = log2_exact(k, name="block_size")
    lims = np.array(
        [
            cfg.accumulator.min_int,
            cfg.accumulator.max_int,
            cfg.ifft.min_int,
            cfg.ifft.max_int,
            cfg.ifft_out.min_int,
            cfg.ifft_out.max_int,
        ],
        dtype=np.int64,
    )
    twr, twi = twiddles(k, cfg.twiddle)
    out = np.empty((rows, k), dtype=np.int64)
    counts = np.zeros(lk + 3, dtype=np.int64)
    kernel(lims, shift, bit_reverse_indices(k), twr, twi, cfg.twiddle.frac, out, counts)
    if counts[0]:
        raise OverflowError(
            f"accumulator value outside {cfg.accumulator}: numerics.accumulator.word is too small for this model"
        )
    if log is not None:
        log.record(f"{name}_in", int(counts[1]), 2 * rows * nb)
        for s in range(1, lk):
            log.record(f"{name}_stage{s}", int(counts[1 + s]), 2 * out.size)
        log.record(f"{name}_stage{lk}", int(counts[1 + lk]), out.size)
        log.record(f"{name}_out", int(counts[2 + lk]), out.size)
    return out


@njit(cache=False, nogil=True, boundscheck=False)
def _spectra_to_bins_major(x_re, x_im, out):  # pragma: no cover - jitted
    m, q, bins = x_re.shape
    for b in range(bins):
        for j in range(q):
            for i in range(m):
                out[b, j, i] = x_re[i, j, b]
                out[b, q + j, i] = x_im[i, j, b]


@njit(cache=False, nogil=True, boundscheck=False)
def _acc_from_bins_major(accf, out):  # pragma: no cover - jitted
    bins, two_r, m = accf.shape
    rows = two_r // 2
    for c in range(2):
        for r in range(rows):
            for i in range(m):
                for b in range(bins):
                    out[c, i, r, b] = np.int64(accf[b, c * rows + r, i])


def spectra_to_bins_major(x_re: IntArray, x_im: IntArray) -> np.ndarray:
    """Input spectra (M, q, bins) re/im -> the float64 right operand of the per-bin MAC, (bins, 2q, M):
    Re blocks then Im blocks (``Spectra.stacked``'s column order), in one pass."""
    x_re = np.ascontiguousarray(as_int(x_re))
    x_im = np.ascontiguousarray(as_int(x_im))
    m, q, bins = x_re.shape
    out = np.empty((bins, 2 * q, m), dtype=np.float64)
    _spectra_to_bins_major(x_re, x_im, out)
    return out


def acc_from_bins_major(accf: np.ndarray) -> IntArray:
    """Per-bin MAC results (bins, 2R, M) float64 holding integers -> (2, M, R, bins) int64 (re, im), in one
    pass (the float values are exact integers, so the conversion only changes the type)."""
    bins, two_r, m = accf.shape
    out = np.empty((2, m, two_r // 2, bins), dtype=np.int64)
    _acc_from_bins_major(np.ascontiguousarray(accf), out)
    return out


# ------------------------------------------------------------------------------------------------------
# cell updates (ernn.golden.cells), one compiled pass per step: every gate, activation and state of a
# batch element computed where its inputs are, instead of a dozen int64 temporaries of (N, G, H) each


@njit(cache=False, nogil=True, inline="always")
def _rs(v, sh, n):  # pragma: no cover - jitted
    """ops.round_shift of one integer by shift number n of a :func:`_shift_table` sh: round-half-up right
    shift for a positive shift, left shift for a negative one, with no branch (so a loop over units
    vectorises): ((v << left) + rounding) >> right, one of left and right being 0."""
    return ((v << sh[n, 0]) + sh[n, 1]) >> sh[n, 2]


@njit(cache=False, nogil=True)
def _shift_table(sh):  # pragma: no cover - jitted
    """Shifts sh (n,) -> (n, 3): left amount, rounding constant, right amount (see :func:`_rs`)."""
    out = np.zeros((sh.shape[0], 3), dtype=np.int64)
    for n in range(sh.shape[0]):
        if sh[n] > 0:
            out[n, 1] = 1 << (sh[n] - 1)
            out[n, 2] = sh[n]
        elif sh[n] < 0:
            out[n, 0] = -sh[n]
    return out


@njit(cache=False, nogil=True, inline="always")
def _sat(v, lo, hi):  # pragma: no cover - jitted
    return min(max(v, lo), hi)


@njit(cache=False, nogil=True, boundscheck=False, parallel=True)
def _lstm_cell_kernel(
    y, c_prev, bias, peep, use_peep, sig, tnh, sh, lims, m_out, c_out, counts
):  # pragma: no cover
    """cells.lstm_cell on a batch. sh: [y -> G, bias -> G, p*c -> G, f*c lift, i*g lift, c_t round,
    c -> G, o*tanh(c) round, sigmoid lo, tanh lo]; lims: gate lo/hi, cell lo/hi, data lo/hi; sig, tnh:
    every code's activation (codes clamp to the table's ends). counts: gate_pre, cell, tanh_c_in, hidden.
    Batch elements in parallel (prange; the counts are sums, the same for every thread count); the bias
    is brought to Q(gate) once, not per element."""
    n, _, h = y.shape
    g_lo, g_hi, c_lo, c_hi, d_lo, d_hi = lims[0], lims[1], lims[2], lims[3], lims[4], lims[5]
    s_lo, t_lo = sh[8], sh[9]
    s_top, t_top = sig.shape[0] - 1, tnh.shape[0] - 1
    st = _shift_table(sh[:8])
    bg = np.empty((4, h), dtype=np.int64)
    for q in range(4):
        for j in range(h):
            bg[q, j] = _rs(bias[q, j], st, 1)
    per_row = np.zeros((n, 4), dtype=np.int64)  # each element's counts: no shared reduction variable
    for b in prange(n):
        n_pre = 0
        n_cell = 0
        n_tc = 0
        n_hid = 0
        for j in range(h):
            cp = c_prev[b, j]
            pi = _rs(y[b, 0, j], st, 0) + bg[0, j]
            pf = _rs(y[b, 1, j], st, 0) + bg[1, j]
            pg = _rs(y[b, 2, j], st, 0) + bg[2, j]
            if use_peep:
                pi += _rs(peep[0, j] * cp, st, 2)
                pf += _rs(peep[1, j] * cp, st, 2)
            n_pre += (pi < g_lo) + (pi > g_hi) + (pf < g_lo) + (pf > g_hi) + (pg < g_lo) + (pg > g_hi)
            ai = sig[_sat(_sat(pi, g_lo, g_hi) - s_lo, 0, s_top)]
            af = sig[_sat(_sat(pf, g_lo, g_hi) - s_lo, 0, s_top)]
            ag = tnh[_sat(_sat(pg, g_lo, g_hi) - t_lo, 0, t_top)]
            cs = _rs(((af * cp) << sh[3]) + ((ai * ag) << sh[4]), st, 5)  # sh[3], sh[4] >= 0: lifts
            n_cell += (cs < c_lo) + (cs > c_hi)
            cn = _sat(cs, c_lo, c_hi)
            po = _rs(y[b, 3, j], st, 0) + bg[3, j]
            if use_peep:
                po += _rs(peep[2, j] * cn, st, 2)
            n_pre += (po < g_lo) + (po > g_hi)
            ao = sig[_sat(_sat(po, g_lo, g_hi) - s_lo, 0, s_top)]
            tc = _rs(cn, st, 6)
            n_tc += (tc < g_lo) + (tc > g_hi)
            at = tnh[_sat(_sat(tc, g_lo, g_hi) - t_lo, 0, t_top)]
            mv = _rs(ao * at, st, 7)
            n_hid += (mv < d_lo) + (mv > d_hi)
            m_out[b, j] = _sat(mv, d_lo, d_hi)
            c_out[b, j] = cn
        per_row[b, 0] = n_pre
        per_row[b, 1] = n_cell
        per_row[b, 2] = n_tc
        per_row[b, 3] = n_hid
    for q in range(4):
        counts[q] += per_row[:, q].sum()


@njit(cache=False, nogil=True, boundscheck=False, parallel=True)
def _gru_cell_kernel(
    y_rz, y_in, y_hn, h_prev, bias, b_hn, sig, tnh, sh, lims, h_out, counts
):  # pragma: no cover
    """cells.gru_cell on a batch. sh: [y -> G, bias -> G, r*hn round (A), n lift, h lift, A, h_t round,
    -, sigmoid lo, tanh lo]; lims: gate lo/hi, -, -, data lo/hi. counts: gate_pre, gru_hn, hidden.
    Batch elements in parallel, as :func:`_lstm_cell_kernel`."""
    n, _, h = y_rz.shape
    g_lo, g_hi, d_lo, d_hi = lims[0], lims[1], lims[4], lims[5]
    s_lo, t_lo = sh[8], sh[9]
    s_top, t_top = sig.shape[0] - 1, tnh.shape[0] - 1
    st = _shift_table(sh[:8])
    bg = np.empty((4, h), dtype=np.int64)
    for j in range(h):
        for q in range(3):
            bg[q, j] = _rs(bias[q, j], st, 1)
        bg[3, j] = _rs(b_hn[j], st, 1)
    per_row = np.zeros((n, 3), dtype=np.int64)
    for b in prange(n):
        n_pre = 0
        n_hn = 0
        n_hid = 0
        for j in range(h):
            pr = _rs(y_rz[b, 0, j], st, 0) + bg[0, j]
            pz = _rs(y_rz[b, 1, j], st, 0) + bg[1, j]
            n_pre += (pr < g_lo) + (pr > g_hi) + (pz < g_lo) + (pz > g_hi)
            r = sig[_sat(_sat(pr, g_lo, g_hi) - s_lo, 0, s_top)]
            z = sig[_sat(_sat(pz, g_lo, g_hi) - s_lo, 0, s_top)]
            hn = _rs(y_hn[b, j], st, 0) + bg[3, j]
            n_hn += (hn < g_lo) + (hn > g_hi)
            hn = _sat(hn, g_lo, g_hi)
            pn = _rs(y_in[b, j], st, 0) + bg[2, j] + _rs(r * hn, st, 2)
            n_pre += (pn < g_lo) + (pn > g_hi)
            nv = tnh[_sat(_sat(pn, g_lo, g_hi) - t_lo, 0, t_top)]
            nd = nv << sh[3]
            hd = h_prev[b, j] << sh[4]
            hv = _rs((nd << sh[5]) + z * (hd - nd), st, 6)
            n_hid += (hv < d_lo) + (hv > d_hi)
            h_out[b, j] = _sat(hv, d_lo, d_hi)
        per_row[b, 0] = n_pre
        per_row[b, 1] = n_hn
        per_row[b, 2] = n_hid
    for q in range(3):
        counts[q] += per_row[:, q].sum()


def lstm_shifts(cfg: NumericsConfig, sig_lo: int, tnh_lo: int) -> np.ndarray:
    """The shift vector ``sh`` of :func:`_lstm_cell_kernel` for ``cfg`` (activation tables starting at
    codes sig_lo, tnh_lo)."""
    a, cf, gf, d = cfg.act.frac, cfg.cell.frac, cfg.gate.frac, cfg.data.frac
    top = max(a + cf, 2 * a)
    pf = cfg.peephole.frac + cf - gf
    return np.array(
        [
            cfg.ifft_out.frac - gf,
            cfg.bias.frac - gf,
            pf,
            top - a - cf,
            top - 2 * a,
            top - cf,
            cf - gf,
            2 * a - d,
            sig_lo,
            tnh_lo,
        ],
        dtype=np.int64,
    )


def gru_shifts(cfg: NumericsConfig, sig_lo: int, tnh_lo: int) -> np.ndarray:
    """The shift vector ``sh`` of :func:`_gru_cell_kernel` for ``cfg``."""
    a, d, gf = cfg.act.frac, cfg.data.frac, cfg.gate.frac
    top = max(a, d)
    return np.array(
        [cfg.ifft_out.frac - gf, cfg.bias.frac - gf, a, top - a, top - d, a, top + a - d, 0, sig_lo, tnh_lo],
        dtype=np.int64,
    )


def cell_limits(cfg: NumericsConfig) -> np.ndarray:
    """gate lo/hi, cell lo/hi, data lo/hi (the ``lims`` of the cell kernels)."""
    return _cell_limits(cfg)


def _cell_limits(cfg: NumericsConfig) -> np.ndarray:
    return np.array(
        [
            cfg.gate.min_int,
            cfg.gate.max_int,
            cfg.cell.min_int,
            cfg.cell.max_int,
            cfg.data.min_int,
            cfg.data.max_int,
        ],
        dtype=np.int64,
    )


def lstm_cell(
    y: IntArray,
    c_prev: IntArray,
    bias: IntArray,
    peephole: IntArray | None,
    sig: tuple[IntArray, int],
    tnh: tuple[IntArray, int],
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
) -> tuple[IntArray, IntArray]:
    """:func:`ernn.golden.cells.lstm_cell` compiled, for y (N, 4, H), c_prev (N, H): (m_t, c_t), the same
    integers and counts. sig, tnh: (every code's output, lowest code) of activation tables that saturate
    no code (``cells._full_table``; the piecewise path counts output saturations, this one cannot)."""
    y, c_prev = as_int(y), as_int(c_prev)
    n, g, h = y.shape
    if g != 4 or c_prev.shape != (n, h):
        raise ValueError(
            f"lstm_cell: y must be (N, 4, H) and c_prev (N, H), got {y.shape} and {c_prev.shape}"
        )
    sh = lstm_shifts(cfg, sig[1], tnh[1])
    peep = as_int(peephole) if peephole is not None else np.zeros((3, h), dtype=np.int64)
    m_out = np.empty((n, h), dtype=np.int64)
    c_out = np.empty((n, h), dtype=np.int64)
    counts = np.zeros(4, dtype=np.int64)
    _use_threads()
    _lstm_cell_kernel(
        y,
        c_prev,
        as_int(bias),
        peep,
        peephole is not None,
        sig[0],
        tnh[0],
        sh,
        _cell_limits(cfg),
        m_out,
        c_out,
        counts,
    )
    if log is not None:
        size = n * h
        log.record("gate_pre", int(counts[0]), 4 * size)
        log.record("sigmoid_out", 0, 3 * size)
        log.record("tanh_out", 0, 2 * size)
        log.record("cell", int(counts[1]), size)
        log.record("tanh_c_in", int(counts[2]), size)
        log.record("hidden", int(counts[3]), size)
    return m_out, c_out


def gru_cell(
    y_rz: IntArray,
    y_in: IntArray,
    y_hn: IntArray,
    h_prev: IntArray,
    bias: IntArray,
    b_hn: IntArray,
    sig: tuple[IntArray, int],
    tnh: tuple[IntArray, int],
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
) -> IntArray:
    """:func:`ernn.golden.cells.gru_cell` compiled, for y_rz (N, 2, H), y_in, y_hn, h_prev (N, H): h_t,
    the same integers and counts (sig, tnh as in :func:`lstm_cell`)."""
    y_rz, y_in, y_hn, h_prev = as_int(y_rz), as_int(y_in), as_int(y_hn), as_int(h_prev)
    n, g, h = y_rz.shape
    if g != 2 or y_in.shape != (n, h) or y_hn.shape != (n, h) or h_prev.shape != (n, h):
        raise ValueError(
            f"gru_cell: y_rz must be (N, 2, H) and y_in, y_hn, h_prev (N, H), got {y_rz.shape}, {y_in.shape}, "
            f"{y_hn.shape}, {h_prev.shape}"
        )
    sh = gru_shifts(cfg, sig[1], tnh[1])
    h_out = np.empty((n, h), dtype=np.int64)
    counts = np.zeros(3, dtype=np.int64)
    _use_threads()
    _gru_cell_kernel(
        y_rz,
        y_in,
        y_hn,
        h_prev,
        as_int(bias),
        as_int(b_hn),
        sig[0],
        tnh[0],
        sh,
        _cell_limits(cfg),
        h_out,
        counts,
    )
    if log is not None:
        size = n * h
        log.record("gate_pre", int(counts[0]), 3 * size)
        log.record("sigmoid_out", 0, 2 * size)
        log.record("gru_hn", int(counts[1]), size)
        log.record("tanh_out", 0, size)
        log.record("hidden", int(counts[2]), size)
    return h_out
