"""The fixed-point FFT and IFFT unrolled for one block size, on one tile of batch lanes (batch-minor).

Same integers and saturation counts as :mod:`ernn.golden.fft` (and the float64 kernels of
:mod:`ernn.golden.kernels`): radix-2 DIT on bit-reversed input, twiddle products rounded half-up by
Q(twiddle).frac, forward stages saturated to Q(fft_out.word - log2 k + s, fft_out.frac), inverse stages
halved (round half-up) and saturated to Q(ifft), only the real part of the last inverse stage formed. The
arithmetic runs in float64 where :func:`ernn.golden.kernels.float_fft_exact` and ``float_ifft_exact``
show it is exact (every intermediate an integer below 2**52: products, sums, a multiply by 2**-f and
``floor`` give the integer path's shifts exactly).

What differs is the layout and the code. Every array here has the batch on its last axis (a row per
feature, bin or output point), and one call transforms one block for a tile of :data:`LANES` batch
columns, so the loop over lanes is the innermost one and every load and store is contiguous. The
k-point transform is generated as straight-line Python source for the given k and twiddle table
(:func:`fft_tile`, :func:`ifft_tile`) and compiled by numba: each of the k values is a local variable,
the twiddles are literals, the W^0 = 1 and W^(k/4) = -j products are left out (the twiddle table holds
both exactly, so their rounded products are b and -j b), and values known to be zero (the imaginary
parts of a real input, of bins 0 and k/2 of a Hermitian one) are not computed, so the compiler
vectorises one whole transform per lane instead of one butterfly at a time. ``ernn.golden.fused`` calls
the tiles from its step over the batch.

Formats: the FFT reads Q(data) integers (int64) and writes Q(fft_out) spectra as float64 integers, in the
layout of the right operands of the Gauss MAC (Re X, Im X and Re X + Im X, an exact sum); the IFFT reads
that MAC's three float64 products, forms the Q(accumulator) values Re = P1 - P2 and Im = P3 - P1 - P2
(exact integers below 2**53), shifts them to Q(ifft) (round half-up, symmetric saturation), transforms
and writes Q(ifft_out) values as float64 integers. Each tile adds its saturation counts into the row of
counts it is given (one per lane tile in ``fused``), so the totals do not depend on how the tiles are
split over threads.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from .fft import bit_reverse_indices, twiddles
from .formats import NumericsConfig, QFormat, log2_exact

#: batch lanes per tile: the transform reads and writes two local tiles at constant offsets (one base
#: pointer each), which the compiler vectorises, where 2k separate rows of the big arrays it would not;
#: 64 measured faster than 32 and 128 for the fused step (hidden 256, k 16)
LANES = 64

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


def _compile(src: str, name: str):
    scope: dict[str, object] = {"np": np}
    exec(compile(src, f"<ernn.golden.unrolled {name}>", "exec"), scope)  # our own generated source
    return njit(cache=False, nogil=True, boundscheck=False)(scope[name])


@lru_cache(maxsize=32)
def _fft_kernel(k: int, twr: tuple[float, ...], twi: tuple[float, ...], tw_frac: int):
    lk = log2_exact(k, name="block_size")
    nb = k // 2 + 1
    rev = bit_reverse_indices(k)
    e = _Emitter(" " * 8)
    zr: list[str | None] = [e.var(f"tin[{int(rev[p]) * LANES} + i]") for p in range(k)]
    zi: list[str | None] = [None] * k
    hn, s = 1, 0
    while hn < k:
        _stage(e, zr, zi, hn, k, twr, twi, False, f"LO{s}", f"HI{s}", f"c{s}")
        hn, s = 2 * hn, s + 1
    for m in range(nb):
        e.lines.append(f"{e.indent}tout[{2 * m * LANES} + i] = {zr[m] or 0.0}")
        e.lines.append(f"{e.indent}tout[{(2 * m + 1) * LANES} + i] = {zi[m] or 0.0}")
    counts = "\n".join(f"    c{s} = 0" for s in range(lk))
    stores = "\n".join(f"    counts[row, base + {s}] += c{s}" for s in range(lk))
    limits = "\n".join(f"    LO{s} = los[{s}]\n    HI{s} = his[{s}]" for s in range(lk))
    src = f"""
def fft_tile(x, j, i0, w, los, his, out, col, stride, o0, wo, tin, tout, counts, row, base):
    HALF = {float(1 << (tw_frac - 1)) if tw_frac > 0 else 0.0!r}
    SCALE = {1.0 / float(1 << tw_frac)!r}
{limits}
    r0 = j * {k}
{counts}
    for p in range({k}):  # one contiguous run per input row; idle lanes zero (nothing saturates)
        for i in range(w):
            tin[p * {LANES} + i] = float(x[r0 + p, i0 + i])
        for i in range(w, {LANES}):
            tin[p * {LANES} + i] = 0.0
    for i in range({LANES}):
{chr(10).join(e.lines)}
    for b in range({nb}):
        for i in range(wo):
            out[b, col + j, o0 + i] = tout[2 * b * {LANES} + i]
            out[b, col + stride + j, o0 + i] = tout[(2 * b + 1) * {LANES} + i]
            # Re + Im, the right operand of the Gauss MAC's third product (exact)
            out[b, col + 2 * stride + j, o0 + i] = tout[2 * b * {LANES} + i] + tout[(2 * b + 1) * {LANES} + i]
{stores}
"""
    return _compile(src, "fft_tile")


def fft_limits(k: int, out_fmt: QFormat) -> tuple[np.ndarray, np.ndarray]:
    """The FFT tile's ``los``, ``his``: the saturation limits of stage s, Q(fft_out.word - log2 k + s,
    fft_out.frac), float64."""
    lk = log2_exact(k, name="block_size")
    stage_fmts = [QFormat(out_fmt.word - lk + s, out_fmt.frac) for s in range(1, lk + 1)]
    los = np.array([f.min_int for f in stage_fmts], dtype=np.float64)
    his = np.array([f.max_int for f in stage_fmts], dtype=np.float64)
    return los, his


def fft_tile(k: int, twiddle_fmt: QFormat):
    """The compiled FFT tile for block size k: ``tile(x, j, i0, w, los, his, out, col, stride, o0, wo, tin,
    tout, counts, row, base)`` transforms block j of x (rows j k ..., int64 Q(data)) for batch columns
    i0 .. i0 + w (w <= LANES; lanes from w on transform zeros) and writes lanes :wo of Re, Im and
    Re + Im of bin b to out[b, col + j, o0 + i], out[b, col + stride + j, ...], out[b, col + 2 stride +
    j, ...]; tin, tout are scratch of k LANES and (k + 2) LANES; adds its per-stage counts into
    counts[row, base + s]."""
    twr, twi = twiddles(k, twiddle_fmt)
    return _fft_kernel(k, tuple(map(float, twr)), tuple(map(float, twi)), twiddle_fmt.frac)


@lru_cache(maxsize=32)
def _ifft_kernel(k: int, twr: tuple[float, ...], twi: tuple[float, ...], tw_frac: int):
    lk = log2_exact(k, name="block_size")
    nb = k // 2 + 1
    rev = bit_reverse_indices(k)
    e = _Emitter(" " * 8)
    pr: list[str] = []
    pi: list[str] = []
    for b in range(nb):  # accumulator -> Q(ifft): round-half-up shift, symmetric saturation
        vr = e.var(f"tin[{2 * b * LANES} + i]")
        vi = e.var(f"tin[{(2 * b + 1) * LANES} + i]")
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
        e.lines.append(f"{e.indent}tout[g, {p * LANES} + i] = {y}")
    names = ["bad", "c_in", *(f"c{s}" for s in range(lk)), "c_out"]
    zero = "\n".join(f"    {n} = 0" for n in names)
    stores = "\n".join(f"    counts[row, base + {n}] += {v}" for n, v in enumerate(names))
    src = f"""
def ifft_tile(acc, r, rr, i0, w, limf, shift, tin, tout, g, counts, row, base):
    HALF = {float(1 << (tw_frac - 1)) if tw_frac > 0 else 0.0!r}
    SCALE = {1.0 / float(1 << tw_frac)!r}
    A_LO, A_HI, I_LO, I_HI, O_LO, O_HI = limf[0], limf[1], limf[2], limf[3], limf[4], limf[5]
    F_HI = I_HI
    RND = float(1 << (shift - 1))
    A_SCALE = 1.0 / float(1 << shift)
{zero}
    for b in range({nb}):  # one contiguous run per input row; idle lanes zero (nothing saturates)
        if b == 0 or b == {nb - 1}:  # real bins: only Re S Re X formed (Im is exactly 0)
            for i in range(w):
                tin[2 * b * {LANES} + i] = acc[b, r, i0 + i]
                tin[(2 * b + 1) * {LANES} + i] = 0.0
        else:  # Gauss: Re = P1 - P2, Im = P3 - P1 - P2 (exact integers below 2**53)
            for i in range(w):
                p1 = acc[b, r, i0 + i]
                p2 = acc[b, rr + r, i0 + i]
                tin[2 * b * {LANES} + i] = p1 - p2
                tin[(2 * b + 1) * {LANES} + i] = acc[b, 2 * rr + r, i0 + i] - p1 - p2
        for i in range(w, {LANES}):
            tin[2 * b * {LANES} + i] = 0.0
            tin[(2 * b + 1) * {LANES} + i] = 0.0
    for i in range({LANES}):
{chr(10).join(e.lines)}
{stores}
"""
    return _compile(src, "ifft_tile")


def ifft_limits(cfg: NumericsConfig) -> tuple[np.ndarray, int]:
    """The IFFT tile's ``limf`` (accumulator, Q(ifft), Q(ifft_out) limits, float64) and its accumulator ->
    Q(ifft) right shift, refused unless it is one."""
    shift = cfg.accumulator.frac - cfg.ifft.frac
    if shift <= 0:
        raise ValueError(f"ifft_limits: the accumulator -> Q(ifft) shift must be a right shift, got {shift}")
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
    return limf, shift


def ifft_tile(k: int, cfg: NumericsConfig):
    """The compiled IFFT tile for block size k and ``cfg``'s twiddles: ``tile(acc, r, rr,
    i0, w, limf, shift, tin, tout, g, counts, row, base)`` transforms accumulator row r of the Gauss products
    acc for batch columns i0 .. i0 + w (w <= LANES) into tout[g, p LANES + i] (float64 integers of
    Q(ifft_out), output point p, lane i; lanes from w on hold the transform of zeros), tin a scratch of
    (k + 2) LANES, and adds its counts (accumulator out of range, ifft_in, every stage, ifft_out) into
    counts[row, base:base + log2 k + 3]."""
    twr, twi = twiddles(k, cfg.twiddle)
    return _ifft_kernel(k, tuple(map(float, twr)), tuple(map(float, twi)), cfg.twiddle.frac)
