"""Fixed-point radix-2 FFT (real input, bins 0..k/2) and IFFT (Hermitian bins -> real), stage by stage.

Both transforms are k-point radix-2 decimation-in-time: the input is read in bit-reversed order, the
output comes out in natural order, and stage s = 1..log2 k combines pairs of 2**(s-1)-point transforms
with the butterfly (N = 2**s, j = 0..N/2-1, twiddle index m = j * k / N)

    t = round_half_up(W_k^m * b)      (one rounding per real/imag component, back to the data frac)
    forward:  a' = a + t,             b' = a - t                 -> saturated to Q(D + s, F)
    inverse:  a' = (a + t) >> 1,      b' = (a - t) >> 1          -> round-half-up, saturated to the IFFT format

Twiddles W_k^m = exp(-2 pi i m / k) are quantized once by :func:`twiddles` (the RTL export writes the same
integers); the inverse uses their conjugates. Twiddles m = 0 (1) and m = k/4 (-j, or +j for the inverse)
are applied without a multiply: the result equals the rounded product exactly. Stages 1 and 2 only use
these, so they are multiplier-free.

Formats: forward input Q(D, F) (``out.word - log2 k`` bits), stage s output Q(D + s, F), no scaling
(the output is k times larger than a unitary DFT's). Inverse: input, every stage and output in the IFFT
format; the log2 k halvings make the 1/k normalisation. Only the real part of the last inverse stage is
computed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .formats import QFormat, log2_exact
from .ops import IntArray, SaturationLog, as_int, check_headroom, fits, quantize, round_shift, saturate


@lru_cache(maxsize=64)
def bit_reverse_indices(k: int) -> IntArray:
    """Permutation p with p[i] = bit-reversal of i on log2 k bits (x[p] is the DIT input order)."""
    bits = log2_exact(k, name="block_size")
    idx = np.arange(k)
    rev = np.zeros(k, dtype=np.int64)
    for b in range(bits):
        rev |= ((idx >> b) & 1) << (bits - 1 - b)
    rev.setflags(write=False)
    return rev


@lru_cache(maxsize=64)
def twiddles(k: int, fmt: QFormat) -> tuple[IntArray, IntArray]:
    """Quantized W_k^m = cos(2 pi m/k) - j sin(2 pi m/k), m = 0..k/2-1, as (re, im) integers of ``fmt``.

    Round to nearest (ties to even; no ties occur for a power-of-two k except at exact values).
    W^0 = 2**frac and W^(k/4) = -j 2**frac exactly. This is the table the RTL export writes.
    """
    log2_exact(k, name="block_size")
    if fmt.frac > fmt.word - 2:
        raise ValueError(f"twiddle format {fmt} cannot hold +1.0: frac must be <= word - 2")
    m = np.arange(k // 2)
    ang = 2.0 * np.pi * m / k
    re = quantize(np.cos(ang), fmt)
    im = quantize(-np.sin(ang), fmt)
    re[0], im[0] = 1 << fmt.frac, 0
    if k >= 4:
        re[k // 4], im[k // 4] = 0, -(1 << fmt.frac)
    re.setflags(write=False)
    im.setflags(write=False)
    return re, im


def twiddle_product(
    wr: IntArray, wi: IntArray, br: IntArray, bi: IntArray, tw_frac: int, *, conjugate: bool = False
) -> tuple[IntArray, IntArray]:
    """round_half_up(W * b) (or conj(W) * b) per component: exact integer sums, one rounding by tw_frac."""
    if conjugate:
        pr = wr * br + wi * bi
        pi = wr * bi - wi * br
    else:
        pr = wr * br - wi * bi
        pi = wr * bi + wi * br
    check_headroom(pr, "twiddle product")
    check_headroom(pi, "twiddle product")
    return round_shift(pr, tw_frac), round_shift(pi, tw_frac)


def _stage_twiddles(k: int, n: int, fmt: QFormat) -> tuple[IntArray, IntArray]:
    re, im = twiddles(k, fmt)
    m = np.arange(n // 2) * (k // n)
    return re[m], im[m]


def _butterfly_t(b: IntArray, stage: int, k: int, tw_fmt: QFormat, *, inverse: bool) -> IntArray:
    """t = W b for all j of one stage; b is (2, ..., groups, N/2) = (re, im). Trivial twiddles skip the multiply."""
    if stage == 1:  # W^0 = 1
        return b
    if stage == 2:  # j = 0: W^0 = 1; j = 1: W^(k/4) = -j (inverse: +j)
        t = b.copy()
        if inverse:
            t[0, ..., 1], t[1, ..., 1] = -b[1, ..., 1], b[0, ..., 1]
        else:
            t[0, ..., 1], t[1, ..., 1] = b[1, ..., 1], -b[0, ..., 1]
        return t
    wr, wi = _stage_twiddles(k, 1 << stage, tw_fmt)
    # the multiply path gives exactly b and -j b at m = 0 and k/4 (W = 2**frac, -j 2**frac), so one
    # vectorised product covers the whole stage bit-exactly
    tr, ti = twiddle_product(wr, wi, b[0], b[1], tw_fmt.frac, conjugate=inverse)
    return np.stack((tr, ti))


def _stage(z: IntArray, stage: int, k: int, tw_fmt: QFormat, *, inverse: bool) -> IntArray:
    """One radix-2 DIT stage on z = (2, ..., k) (re, im), before rounding/saturation: (a + t, a - t)."""
    n = 1 << stage
    z4 = z.reshape(*z.shape[:-1], k // n, 2, n // 2)
    a, b = z4[..., 0, :], z4[..., 1, :]
    t = _butterfly_t(b, stage, k, tw_fmt, inverse=inverse)
    out = np.empty_like(z4)
    np.add(a, t, out=out[..., 0, :])
    np.subtract(a, t, out=out[..., 1, :])
    return out.reshape(z.shape)


def fft_real(
    x: IntArray, twiddle_fmt: QFormat, out_fmt: QFormat, log: SaturationLog | None = None, name: str = "fft"
) -> tuple[IntArray, IntArray]:
    """Forward k-point FFT of real integers ``x`` (..., k) -> (re, im) of bins 0..k/2, (..., k/2 + 1).

    ``x`` is in Q(out.word - log2 k, out.frac); stage s saturates to Q(out.word - log2 k + s, out.frac)
    (counted as ``{name}_stage{s}``); the result is in ``out_fmt``.
    """
    x = as_int(x)
    k = x.shape[-1]
    lk = log2_exact(k, name="block_size")
    in_fmt = QFormat(out_fmt.word - lk, out_fmt.frac)
    if not fits(x, in_fmt):
        raise ValueError(f"fft_real: input outside its format {in_fmt} (out {out_fmt}, k = {k})")
    z = np.zeros((2, *x.shape), dtype=np.int64)
    z[0] = x[..., bit_reverse_indices(k)]
    for s in range(1, lk + 1):
        fmt = QFormat(out_fmt.word - lk + s, out_fmt.frac)
        z = saturate(_stage(z, s, k, twiddle_fmt, inverse=False), fmt, log, f"{name}_stage{s}")
    nb = k // 2 + 1
    return z[0, ..., :nb], z[1, ..., :nb]


def hermitian_full(re: IntArray, im: IntArray) -> tuple[IntArray, IntArray]:
    """Bins 0..k/2 -> all k bins (X[k-m] = conj X[m]); the imaginary parts of bins 0 and k/2 are taken as 0."""
    re = as_int(re)
    im = as_int(im).copy()
    nb = re.shape[-1]
    k = 2 * (nb - 1)
    im[..., 0] = 0
    im[..., nb - 1] = 0
    mirror = np.arange(k // 2 - 1, 0, -1)
    return (
        np.concatenate((re, re[..., mirror]), axis=-1),
        np.concatenate((im, -im[..., mirror]), axis=-1),
    )


def ifft_real(
    re: IntArray,
    im: IntArray,
    twiddle_fmt: QFormat,
    fmt: QFormat,
    log: SaturationLog | None = None,
    name: str = "ifft",
) -> IntArray:
    """Inverse k-point FFT of Hermitian bins 0..k/2 (re, im: (..., k/2 + 1), in ``fmt``) -> real (..., k).

    The input must avoid the most negative code (bins are conjugated; see :func:`acc_to_ifft`).

    Every stage: t = round_half_up(conj(W) b); outputs round_half_up((a +- t) / 2) saturated to ``fmt``
    (counted as ``{name}_stage{s}``). The total scaling 2**-log2 k is the 1/k of the inverse DFT, so the
    result is in ``fmt`` with the same frac. Only the real part of the last stage is formed.
    """
    sym = QFormat(fmt.word, fmt.frac)
    if (
        not (fits(re, sym) and fits(im, sym))
        or min(np.min(re, initial=0), np.min(im, initial=0)) == fmt.min_int
    ):
        raise ValueError(
            f"ifft_real: input outside the symmetric IFFT range [-(2**{fmt.word - 1} - 1), 2**{fmt.word - 1} - 1]"
        )
    fr, fi = hermitian_full(re, im)
    k = fr.shape[-1]
    lk = log2_exact(k, name="block_size")
    rev = bit_reverse_indices(k)
    z = np.stack((fr[..., rev], fi[..., rev]))
    for s in range(1, lk):
        z = saturate(round_shift(_stage(z, s, k, twiddle_fmt, inverse=True), 1), fmt, log, f"{name}_stage{s}")
    # last stage: only the real part is formed
    n = k
    z4 = z.reshape(*z.shape[:-1], k // n, 2, n // 2)
    t = _butterfly_t(z4[..., 1, :], lk, k, twiddle_fmt, inverse=True)
    a = z4[0, ..., 0, :]
    out = np.concatenate((a + t[0], a - t[0]), axis=-1).reshape(*fr.shape)
    return saturate(round_shift(out, 1), fmt, log, f"{name}_stage{lk}")
