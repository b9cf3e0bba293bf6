"""The fixed-point FFT and IFFT pass unrolled for one block size, on batch-minor (features x batch) arrays.

Same integers and saturation counts as :mod:`ernn.golden.fft` (and the float64 kernels of
:mod:`ernn.golden.kernels`): radix-2 DIT on bit-reversed input, twiddle products rounded half-up by
Q(twiddle).frac, forward stages saturated to Q(fft_out.word - log2 k + s, fft_out.frac), inverse stages
halved (round half-up) and saturated to Q(ifft), only the real part of the last inverse stage formed. The
arithmetic runs in float64 where :func:`ernn.golden.kernels.float_fft_exact` and ``float_ifft_exact``
show it is exact (every intermediate an integer below 2**52: products, sums, a multiply by 2**-f and
``floor`` give the integer path's shifts exactly).

What differs is the layout and the code. Every array here has the batch on its last axis (a row per
feature, bin or output point), so the loop over batch elements is the innermost one and every load and
store is contiguous. The k-point transform is generated as straight-line Python source for the given k
and twiddle table (:func:`fft_pass`, :func:`ifft_pass`) and compiled by numba: each of the k values is a
local variable, the twiddles are literals, the W^0 = 1 and W^(k/4) = -j products are left out (the
twiddle table holds both exactly, so their rounded products are b and -j b), and values known to be zero
(the imaginary parts of a real input, of bins 0 and k/2 of a Hermitian one) are not computed, so the
compiler vectorises one whole transform per batch lane instead of one butterfly at a time.

Formats: the FFT reads Q(data) integers (int64) and writes Q(fft_out) spectra as float64 integers, in the
layout of the right operands of ``ernn.golden.batched``'s Gauss MAC (Re X, Im X and Re X + Im X, an
exact sum); the IFFT pass reads that MAC's three float64 products, forms the Q(accumulator) values
Re = P1 - P2 and Im = P3 - P1 - P2 (exact integers below 2**53), shifts them to Q(ifft) (round
half-up, symmetric saturation), transforms and writes Q(ifft_out) int64 outputs. Each kernel counts its saturations per row (a row of counts per output
row or input block), so the totals do not depend on how the rows are split over threads.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
from numba import njit, prange

from .fft import bit_reverse_indices, twiddles
from .formats import NumericsConfig, QFormat, log2_exact

#: batch lanes per tile: the transform reads and writes two local tiles at constant offsets (one base
#: pointer each), which the compiler vectorises, where 2k separate rows of the big arrays it would not
_LANES = 64

#: largest block size generated (the source grows as k log k; larger k use ernn.golden.kernels)
MAX_UNROLLED_BLOCK = 32


class _Emitter:
    """Straight-line source of one transform: values are variable names, or ``None`` for an exact zero."""

    def __init__(self, indent: str) -> None:
        self.lines: list[str] = []
        self.indent = indent
        self.n = 0

    def var(self, expr: str) -> str:
        name = f"v{self.n}"
        self.n += 1
        self.lines.append(f"{self.indent}{name} = {expr}")
        return name

    def clamp(self, v: str, lo: str, hi: str, cnt: str) -> str:
        """min(max(v, lo), hi), counting a change in ``cnt``."""
        c = self.var(f"min(max({v}, {lo}), {hi})")
        self.lines.append(f"{self.indent}{cnt} += {c} != {v}")
        return c


def _neg(e: _Emitter, v: str | None) -> str | None:
    return None if v is None else e.var(f"-{v}")


def _twiddle_product(e: _Emitter, wr: float, wi: float, br: str | None, bi: str | None, conj: bool):
    """round_half_up(W b) (or conj(W) b) per component; None for a component known to be zero."""
    s = -1.0 if conj else 1.0
    terms_r = [(wr, br), (-s * wi, bi)]  # Re: wr br - wi bi   (conj: wr br + wi bi)
    terms_i = [(wr, bi), (s * wi, br)]  # Im: wr bi + wi br   (conj: wr bi - wi br)
    out = []
    for terms in (terms_r, terms_i):
        live = [f"{c!r} * {v}" for c, v in terms if v is not None and c != 0.0]
        out.append(None if not live else e.var(f"np.floor(({' + '.join(live)} + HALF) * SCALE)"))
    return out[0], out[1]


def _butterfly_product(e: _Emitter, j: int, hn: int, k: int, twr, twi, br, bi, conj: bool):
    """The product of a butterfly's lower input b with its twiddle W^(j k / 2hn) (conj for the IFFT)."""
    idx = j * (k // (2 * hn))
    if idx == 0:  # W^0 = 1 exactly
        return br, bi
    if 4 * idx == k:  # W^(k/4) = -j exactly: W b = bi - j br; conj(W) b = j b = -bi + j br
        return (_neg(e, bi), br) if conj else (bi, _neg(e, br))
    return _twiddle_product(e, float(twr[idx]), float(twi[idx]), br, bi, conj)


def _add(e: _Emitter, a: str | None, b: str | None, sign: str, halve: bool) -> str | None:
    """a + b or a - b (``sign``), halved with round half-up for the IFFT; None when both are zero."""
    if a is None and b is None:
        return None
    if a is None:
        expr = b if sign == "+" else f"-{b}"
    elif b is None:
        expr = a
    else:
        expr = f"{a} {sign} {b}"
    return e.var(f"np.floor(({expr} + 1.0) * 0.5)" if halve else expr)


def _stage(e: _Emitter, zr, zi, hn, k, twr, twi, conj, lo, hi, cnt):
    """One radix-2 stage in place on the value lists zr, zi (every group of 2hn points)."""
    for g in range(0, k, 2 * hn):
        for j in range(hn):
            pa, pb = g + j, g + j + hn
            tr, ti = _butterfly_product(e, j, hn, k, twr, twi, zr[pb], zi[pb], conj)
            outs = []
            for a, t in ((zr[pa], tr), (zi[pa], ti)):
                outs.append((_add(e, a, t, "+", conj), _add(e, a, t, "-", conj)))
            (v0, v2), (v1, v3) = outs
            zr[pa], zi[pa], zr[pb], zi[pb] = (
                None if v is None else e.clamp(v, lo, hi, cnt) for v in (v0, v1, v2, v3)
            )


def _compile(src: str, name: str, parallel: bool):
    scope: dict[str, object] = {"np": np, "numba": numba, "prange": prange}
    exec(compile(src, f"<ernn.golden.unrolled {name}>", "exec"), scope)  # our own generated source
    return njit(cache=False, nogil=True, boundscheck=False, parallel=parallel)(scope[name])


@lru_cache(maxsize=32)
def _fft_kernel(k: int, twr: tuple[float, ...], twi: tuple[float, ...], tw_frac: int):
    lk = log2_exact(k, name="block_size")
    nb = k // 2 + 1
    rev = bit_reverse_indices(k)
    e = _Emitter(" " * 12)
    zr: list[str | None] = [e.var(f"tin[{int(rev[p]) * _LANES} + i]") for p in range(k)]
    zi: list[str | None] = [None] * k
    hn, s = 1, 0
    while hn < k:
        _stage(e, zr, zi, hn, k, twr, twi, False, f"LO{s}", f"HI{s}", f"c{s}")
        hn, s = 2 * hn, s + 1
    for m in range(nb):
        e.lines.append(f"{e.indent}tout[{2 * m * _LANES} + i] = {zr[m] or 0.0}")
        e.lines.append(f"{e.indent}tout[{(2 * m + 1) * _LANES} + i] = {zi[m] or 0.0}")
    counts = "\n".join(f"    c{s} = 0" for s in range(lk))
    stores = "\n".join(f"    counts[j, {s}] += c{s}" for s in range(lk))
    limits = "\n".join(f"    LO{s} = los[{s}]\n    HI{s} = his[{s}]" for s in range(lk))
    src = f"""
def fft_block(x, j, q, m, los, his, out, col, stride, counts):
    HALF = {float(1 << (tw_frac - 1)) if tw_frac > 0 else 0.0!r}
    SCALE = {1.0 / float(1 << tw_frac)!r}
{limits}
    r0 = j * {k}
{counts}
    tin = np.empty({k * _LANES}, dtype=np.float64)
    tout = np.empty({2 * nb * _LANES}, dtype=np.float64)
    for i0 in range(0, m, {_LANES}):
        w = min({_LANES}, m - i0)
        for p in range({k}):  # one contiguous run per input row; idle lanes zero (nothing saturates)
            for i in range(w):
                tin[p * {_LANES} + i] = float(x[r0 + p, i0 + i])
            for i in range(w, {_LANES}):
                tin[p * {_LANES} + i] = 0.0
        for i in range({_LANES}):
{chr(10).join(e.lines)}
        for b in range({nb}):
            for i in range(w):
                out[b, col + j, i0 + i] = tout[2 * b * {_LANES} + i]
                out[b, col + stride + j, i0 + i] = tout[(2 * b + 1) * {_LANES} + i]
                # Re + Im, the right operand of the Gauss MAC's third product (exact)
                out[b, col + 2 * stride + j, i0 + i] = tout[2 * b * {_LANES} + i] + tout[(2 * b + 1) * {_LANES} + i]
{stores}
"""
    block = _compile(src, "fft_block", parallel=False)

    @njit(cache=False, nogil=True, boundscheck=False, parallel=True)
    def fft_k(x, q, m, los, his, out, col, stride, counts):  # pragma: no cover - jitted
        nch = max(1, min(numba.get_num_threads(), q))
        for ch in prange(nch):
            for j in range(ch * q // nch, (ch + 1) * q // nch):
                block(x, j, q, m, los, his, out, col, stride, counts)

    return fft_k


def fft_pass(
    x: np.ndarray,
    q: int,
    m: int,
    twiddle_fmt: QFormat,
    out_fmt: QFormat,
    out: np.ndarray,
    col: int,
    stride: int,
) -> np.ndarray:
    """FFT of the q blocks of batch-minor x (>= q k rows, >= m columns; rows past the input are zero
    padding, int64 Q(data)) for batch columns :m, into out (bins, K, N) float64 as the Gauss MAC's right
    operands: Re of block j on row col + j, Im on row col + stride + j, Re + Im on row col + 2 stride + j.
    Returns the per-block saturation counts (q, log2 k), one column per stage."""
    k = 2 * (out.shape[0] - 1)
    lk = log2_exact(k, name="block_size")
    twr, twi = twiddles(k, twiddle_fmt)
    stage_fmts = [QFormat(out_fmt.word - lk + s, out_fmt.frac) for s in range(1, lk + 1)]
    los = np.array([f.min_int for f in stage_fmts], dtype=np.float64)
    his = np.array([f.max_int for f in stage_fmts], dtype=np.float64)
    counts = np.zeros((q, lk), dtype=np.int64)
    kern = _fft_kernel(k, tuple(map(float, twr)), tuple(map(float, twi)), twiddle_fmt.frac)
    kern(x, q, m, los, his, out, col, stride, counts)
    return counts


@lru_cache(maxsize=32)
def _ifft_kernel(k: int, twr: tuple[float, ...], twi: tuple[float, ...], tw_frac: int):
    lk = log2_exact(k, name="block_size")
    nb = k // 2 + 1
    rev = bit_reverse_indices(k)
    e = _Emitter(" " * 12)
    pr: list[str] = []
    pi: list[str] = []
    for b in range(nb):  # accumulator -> Q(ifft): round-half-up shift, symmetric saturation
        vr = e.var(f"tin[{2 * b * _LANES} + i]")
        vi = e.var(f"tin[{(2 * b + 1) * _LANES} + i]")
        e.lines.append(f"{e.indent}bad += (min({vr}, {vi}) < A_LO) + (max({vr}, {vi}) > A_HI)")
        sr = e.var(f"np.floor(({vr} + RND) * A_SCALE)")
        si = e.var(f"np.floor(({vi} + RND) * A_SCALE)")
        pr.append(e.clamp(sr, "-F_HI", "F_HI", "c_in"))
        pi.append(e.clamp(si, "-F_HI", "F_HI", "c_in"))
    zr: list[str | None] = []
    zi: list[str | None] = []
    for p in range(k):  # all k bins (X[k-m] = conj X[m]; Im of bins 0 and k/2 taken as 0), bit-reversed
        b = int(rev[p])
        if b < nb:
            zr.append(pr[b])
            zi.append(None if b in (0, nb - 1) else pi[b])
        else:
            zr.append(pr[k - b])
            zi.append(_neg(e, pi[k - b]))
    hn, s = 1, 0
    while 2 * hn < k:
        _stage(e, zr, zi, hn, k, twr, twi, True, "I_LO", "I_HI", f"c{s}")
        hn, s = 2 * hn, s + 1
    yr: list[str | None] = [None] * k
    for j in range(hn):  # last stage: the real part only
        tr, _ = _butterfly_product(e, j, hn, k, twr, twi, zr[j + hn], zi[j + hn], True)
        for p, sign in ((j, "+"), (j + hn, "-")):
            v = _add(e, zr[j], tr, sign, True)
            yr[p] = None if v is None else e.clamp(v, "I_LO", "I_HI", f"c{s}")
    for p in range(k):
        y = e.clamp(yr[p], "O_LO", "O_HI", "c_out") if yr[p] is not None else "0.0"
        e.lines.append(f"{e.indent}tout[{p * _LANES} + i] = {y}")
    names = ["bad", "c_in", *(f"c{s}" for s in range(lk)), "c_out"]
    zero = "\n".join(f"    {n} = 0" for n in names)
    stores = "\n".join(f"    counts[r, {n}] += {v}" for n, v in enumerate(names))
    src = f"""
def ifft_row(acc, r, rr, m, limf, shift, out, counts):
    HALF = {float(1 << (tw_frac - 1)) if tw_frac > 0 else 0.0!r}
    SCALE = {1.0 / float(1 << tw_frac)!r}
    A_LO, A_HI, I_LO, I_HI, O_LO, O_HI = limf[0], limf[1], limf[2], limf[3], limf[4], limf[5]
    F_HI = I_HI
    RND = float(1 << (shift - 1))
    A_SCALE = 1.0 / float(1 << shift)
{zero}
    tin = np.empty({2 * nb * _LANES}, dtype=np.float64)
    tout = np.empty({k * _LANES}, dtype=np.float64)
    for i0 in range(0, m, {_LANES}):
        w = min({_LANES}, m - i0)
        for b in range({nb}):  # one contiguous run per input row; idle lanes zero (nothing saturates)
            if b == 0 or b == {nb - 1}:  # real bins: only Re S Re X formed (Im is exactly 0)
                for i in range(w):
                    tin[2 * b * {_LANES} + i] = acc[b, r, i0 + i]
                    tin[(2 * b + 1) * {_LANES} + i] = 0.0
            else:  # Gauss: Re = P1 - P2, Im = P3 - P1 - P2 (exact integers below 2**53)
                for i in range(w):
                    p1 = acc[b, r, i0 + i]
                    p2 = acc[b, rr + r, i0 + i]
                    tin[2 * b * {_LANES} + i] = p1 - p2
                    tin[(2 * b + 1) * {_LANES} + i] = acc[b, 2 * rr + r, i0 + i] - p1 - p2
            for i in range(w, {_LANES}):
                tin[2 * b * {_LANES} + i] = 0.0
                tin[(2 * b + 1) * {_LANES} + i] = 0.0
        for i in range({_LANES}):
{chr(10).join(e.lines)}
        for p in range({k}):
            for i in range(w):
                out[r * {k} + p, i0 + i] = np.int64(tout[p * {_LANES} + i])
{stores}
"""
    row = _compile(src, "ifft_row", parallel=False)

    @njit(cache=False, nogil=True, boundscheck=False, parallel=True)
    def ifft_k(acc, rr, m, limf, shift, out, counts):  # pragma: no cover - jitted
        nch = max(1, min(numba.get_num_threads(), rr))
        for ch in prange(nch):
            for r in range(ch * rr // nch, (ch + 1) * rr // nch):
                row(acc, r, rr, m, limf, shift, out, counts)

    return ifft_k


def ifft_pass(acc: np.ndarray, rr: int, m: int, cfg: NumericsConfig, out: np.ndarray) -> np.ndarray:
    """The three products of the Gauss MAC, acc (bins, 3 rr, N) float64 (P1 = Re S Re X, P2 = Im S Im X,
    P3 = (Re S + Im S)(Re X + Im X) of accumulator row r on rows r, rr + r, 2 rr + r; of bins 0 and k/2,
    which are real, P1 alone), batch columns :m -> out[r k + p, :m] int64 Q(ifft_out): Re = P1 - P2 and
    Im = P3 - P1 - P2 (exact integers of Q(accumulator)), shift to Q(ifft), IFFT, saturate. Returns the
    per-row counts (rr, log2 k + 3): accumulator values out of range, ifft_in, every stage, ifft_out."""
    k = 2 * (acc.shape[0] - 1)
    lk = log2_exact(k, name="block_size")
    shift = cfg.accumulator.frac - cfg.ifft.frac
    if shift <= 0:
        raise ValueError(f"ifft_pass: the accumulator -> Q(ifft) shift must be a right shift, got {shift}")
    limf = np.array(
        [
            cfg.accumulator.min_int,
            cfg.accumulator.max_int,
            cfg.ifft.min_int,
            cfg.ifft.max_int,
            cfg.ifft_out.min_int,
            cfg.ifft_out.max_int,
        ],
        dtype=np.float64,
    )
    twr, twi = twiddles(k, cfg.twiddle)
    counts = np.zeros((rr, lk + 3), dtype=np.int64)
    kern = _ifft_kernel(k, tuple(map(float, twr)), tuple(map(float, twi)), cfg.twiddle.frac)
    kern(acc, rr, m, limf, shift, out, counts)
    return counts
