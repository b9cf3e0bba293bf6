"""Fixed-point block-circulant matrix-vector product in the frequency domain (the circulant PE).

    y_i = IFFT( sum_j S_ij * FFT(x_j) )          (ernn.train.circulant convention: first-column vectors c_ij,
                                                 S_ij = RFFT(c_ij), x zero-padded at the end, y cropped)

Steps and formats (docs/numerics.md, "Circulant matvec"):

1. x (Q(data)) is zero-padded to q*k and cut into q blocks; each block goes through :func:`fft_real`
   -> q spectra of k/2 + 1 bins in Q(fft_out).
2. Complex MAC (:func:`cmac`): acc[g, i, m] = sum_j S[g, i, j, m] * X[j, m], exact integer products and sums
   in Q(accumulator) (frac = fft_out.frac + weight_spectrum.frac; the width is chosen so that it cannot
   overflow). Several matrices feeding one accumulator (LSTM: W_ih x + W_hh h) are just added.
3. :func:`acc_to_ifft`: round-half-up shift to Q(ifft), saturated symmetrically (point ``ifft_in``).
4. :func:`ifft_real` per output block, then saturated to Q(ifft_out) (point ``ifft_out``) and cropped to
   ``rows``.

Weight spectra S are computed offline from the float circulant vectors (float64 RFFT, bins 0 and k/2 forced
real) and quantized once to Q(weight_spectrum) by :func:`quantize_spectra`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

import ernn.golden.kernels as kernels  # the module itself (set_threads, exactness checks), not the package
from ernn.shape import BlockCirculant, ModelShape

from .fft import fft_real as _numpy_fft_real
from .fft import ifft_real as _numpy_ifft_real
from .formats import HEADROOM_BITS, NumericsConfig, QFormat
from .kernels import acc_from_bins_major, output_blocks_bins_major, spectra_to_bins_major
from .kernels import fft_real as _compiled_fft_real
from .kernels import ifft_real as _compiled_ifft_real
from .kernels import output_blocks as _compiled_output_blocks
from .ops import IntArray, SaturationLog, as_int, fits, quantize, round_shift, saturate

#: Work size (blocks of one FFT/IFFT/MAC call, elements of one activation) from which the fast path takes
#: over: the compiled kernels of :mod:`ernn.golden.kernels` instead of :mod:`ernn.golden.fft`, the MAC on
#: float64 BLAS, the activations by a table of every input code (:func:`ernn.golden.cells.activate`).
#: Below it numba's one-off compile (about a second per process) would cost more than it saves. Same
#: integers and saturation counts either way (tests/test_golden_batched.py); ``None`` turns it off.
COMPILED_MIN_BLOCKS: int | None = 4096


def fast_path(size: int) -> bool:
    """Whether work of ``size`` blocks (or elements) takes the fast path (:data:`COMPILED_MIN_BLOCKS`)."""
    return COMPILED_MIN_BLOCKS is not None and size >= COMPILED_MIN_BLOCKS


_BLAS = ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[object]:
    """Run numpy's BLAS on one thread inside the ``with`` block (``GoldenNetwork.run`` holds it for a
    whole batch). On a busy machine OpenBLAS's threads spin against each other: the MAC of a 512-sequence
    step of hidden 256, k 16 took 25 ms on two threads and 1 ms on one. Set once per run, not per call:
    changing OpenBLAS's thread count costs about 15 ms."""
    return _BLAS.limit(limits=1, user_api="blas")


def _float_matmul(w: npt.NDArray[np.float64], xf: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per-bin w (bins, R, C) @ xf (bins, C, M) on float64 BLAS, exact when every partial sum (at most
    C max|w| max|x| in magnitude) is an integer below 2**53, which the caller checks."""
    out = np.empty((w.shape[0], w.shape[1], xf.shape[2]), dtype=np.float64)
    for b in range(w.shape[0]):
        np.matmul(w[b], xf[b], out=out[b])
    return out


def _fft_real(blocks: int):
    """The FFT for a call of ``blocks`` blocks: compiled on the fast path, else numpy."""
    return _compiled_fft_real if fast_path(blocks) else _numpy_fft_real


def _ifft_real(blocks: int):
    """The IFFT for a call of ``blocks`` blocks: compiled on the fast path, else numpy."""
    return _compiled_ifft_real if fast_path(blocks) else _numpy_ifft_real


def weight_spectra_float(vectors: npt.ArrayLike) -> npt.NDArray[np.complex128]:
    """RFFT of circulant defining vectors (..., k) in float64, bins 0 and k/2 exactly real."""
    v = np.asarray(vectors, dtype=np.float64)
    spec = np.fft.rfft(v, axis=-1)
    spec[..., 0] = spec[..., 0].real
    spec[..., -1] = spec[..., -1].real
    return spec


def max_spectrum_component(vectors: npt.ArrayLike) -> float:
    """Largest |Re| or |Im| of the spectra of ``vectors`` (0.0 for an empty array)."""
    spec = weight_spectra_float(vectors)
    if spec.size == 0:
        return 0.0
    return float(max(np.abs(spec.real).max(), np.abs(spec.imag).max()))


def quantize_spectra(
    vectors: npt.ArrayLike, fmt: QFormat, log: SaturationLog | None = None, name: str = "weight_spectrum"
) -> tuple[IntArray, IntArray]:
    """(re, im) integers of Q(fmt) of RFFT(vectors): round to nearest even, saturated (counted)."""
    spec = weight_spectra_float(vectors)
    return quantize(spec.real, fmt, log, name), quantize(spec.imag, fmt, log, name)


@dataclass(eq=False)
class Spectra:
    """Quantized weight spectra of G stacked block-circulant matrices: re, im of shape (G, p, q, k/2 + 1)."""

    re: IntArray
    im: IntArray
    _stacked: IntArray | None = field(default=None, repr=False)
    _stacked_float: npt.NDArray[np.float64] | None = field(default=None, repr=False)
    _max_component: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.re = as_int(self.re)
        self.im = as_int(self.im)
        if self.re.ndim != 4 or self.re.shape != self.im.shape:
            raise ValueError(
                f"spectra must be two arrays of shape (G, p, q, bins), got {self.re.shape}, {self.im.shape}"
            )

    @property
    def shape(self) -> tuple[int, int, int, int]:
        g, p, q, b = self.re.shape
        return g, p, q, b

    @property
    def block_size(self) -> int:
        return 2 * (self.re.shape[-1] - 1)

    def stacked(self) -> IntArray:
        """Per-bin real matrix [[Re, -Im], [Im, Re]] of shape (bins, 2*G*p, 2*q) (the MAC as one matmul)."""
        if self._stacked is None:
            g, p, q, b = self.shape
            wr = self.re.transpose(3, 0, 1, 2).reshape(b, g * p, q)
            wi = self.im.transpose(3, 0, 1, 2).reshape(b, g * p, q)
            top = np.concatenate((wr, -wi), axis=2)
            bot = np.concatenate((wi, wr), axis=2)
            self._stacked = np.ascontiguousarray(np.concatenate((top, bot), axis=1))
        return self._stacked

    def max_component(self) -> int:
        """Largest |Re| or |Im| of the spectra (computed once: the MAC's exactness bound uses it per step)."""
        if self._max_component is None:
            self._max_component = max(
                int(np.abs(self.re).max(initial=0)), int(np.abs(self.im).max(initial=0))
            )
        return self._max_component

    def stacked_float(self) -> npt.NDArray[np.float64]:
        """:meth:`stacked` in float64 (the BLAS operand of a large MAC)."""
        if self._stacked_float is None:
            self._stacked_float = self.stacked().astype(np.float64)
        return self._stacked_float

    def mac(self, x_re: IntArray, x_im: IntArray) -> tuple[IntArray, IntArray]:
        """acc[..., g, i, m] = sum_j S[g, i, j, m] X[..., j, m], exact (see :func:`cmac`)."""
        g, p, q, b = self.shape
        x_re, x_im = as_int(x_re), as_int(x_im)
        if x_re.shape[-2:] != (q, b) or x_im.shape != x_re.shape:
            raise ValueError(
                f"cmac: input spectra must be (..., {q}, {b}), got {x_re.shape} and {x_im.shape}"
            )
        lead = x_re.shape[:-2]
        # exactness: every partial sum is bounded by 2 q max|S| max|X| (one complex product component
        # is at most 2 max|S| max|X|); make sure that stays inside the int64 headroom
        ws = max(int(np.abs(self.re).max(initial=0)), int(np.abs(self.im).max(initial=0)))
        xs = max(int(np.abs(x_re).max(initial=0)), int(np.abs(x_im).max(initial=0)))
        if 2 * q * ws * xs >= 1 << HEADROOM_BITS:
            raise OverflowError("cmac: products could exceed 2**62; operands are wider than any valid format")
        m = int(np.prod(lead, dtype=np.int64))
        bm = self._mac_bins_major(x_re.reshape(m, q, b), x_im.reshape(m, q, b), 2 * q * ws * xs, lead)
        if bm is not None:
            return bm.re, bm.im
        xs_ = np.concatenate((x_re.reshape(m, q, b), x_im.reshape(m, q, b)), axis=1)  # (M, 2q, bins)
        xs_ = xs_.transpose(2, 1, 0)  # (bins, 2q, M)
        acc = np.matmul(self.stacked(), xs_)  # (bins, 2Gp, M)
        acc = acc.transpose(2, 1, 0).reshape(*lead, 2, g, p, b)
        return acc[..., 0, :, :, :], acc[..., 1, :, :, :]

    def _mac_bins_major(
        self, x_re: IntArray, x_im: IntArray, bound: int, lead: tuple[int, ...]
    ) -> BinsMajorAccumulators | None:
        """The MAC of (M, q, bins) spectra on float64 BLAS, left in its layout; None unless the work is
        large (:func:`fast_path`) and every partial sum (at most ``bound``) is an exact float64 integer."""
        g, p, q, b = self.shape
        m = x_re.shape[0]
        if not (fast_path(m * q) and bound < _EXACT):
            return None
        xf = spectra_to_bins_major(x_re, x_im)  # (bins, 2q, M)
        accf = _float_matmul(self.stacked_float(), xf)  # (bins, 2Gp, M)
        return BinsMajorAccumulators(accf.reshape(b, 2, g, p, m), lead, bound)


def cmac(w_re: IntArray, w_im: IntArray, x_re: IntArray, x_im: IntArray) -> tuple[IntArray, IntArray]:
    """Frequency-domain complex MAC: acc (..., G, p, bins) = sum over q of W (G, p, q, bins) * X (..., q, bins).

    Exact: Re = sum(Wr Xr - Wi Xi), Im = sum(Wr Xi + Wi Xr) (a 3-multiplier complex product gives the
    same integers).
    """
    return Spectra(w_re, w_im).mac(x_re, x_im)


def input_spectra(
    x: IntArray, blocks: int, cfg: NumericsConfig, log: SaturationLog | None = None, name: str = "fft"
) -> tuple[IntArray, IntArray]:
    """Zero-pad Q(data) vectors x (..., cols) to ``blocks`` * k, FFT each block -> (..., blocks, bins)."""
    x = as_int(x)
    k = cfg.block_size
    cols = x.shape[-1]
    if cols > blocks * k:
        raise ValueError(f"input has {cols} features but the matrix takes at most {blocks * k}")
    if not fits(x, cfg.data):
        raise ValueError(f"{name}: input outside the data format {cfg.data}")
    if cols < blocks * k:
        x = np.concatenate((x, np.zeros((*x.shape[:-1], blocks * k - cols), dtype=np.int64)), axis=-1)
    x = x.reshape(*x.shape[:-1], blocks, k)
    return _fft_real(x.size // k)(x, cfg.twiddle, cfg.fft_out, log, name)


def acc_to_ifft(
    acc_re: IntArray,
    acc_im: IntArray,
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
    name: str = "ifft_in",
) -> tuple[IntArray, IntArray]:
    """Accumulator -> IFFT input: round-half-up shift by accumulator.frac - ifft.frac, then symmetric
    saturation to [-(2**(W-1) - 1), 2**(W-1) - 1] of Q(ifft) (counted): the IFFT conjugates bins, and the
    most negative code has no positive counterpart."""
    if not (fits(acc_re, cfg.accumulator) and fits(acc_im, cfg.accumulator)):
        raise OverflowError(
            f"accumulator value outside {cfg.accumulator}: numerics.accumulator.word is too small for this model"
        )
    shift = cfg.accumulator.frac - cfg.ifft.frac
    return (
        saturate(round_shift(acc_re, shift), cfg.ifft, log, name, symmetric=True),
        saturate(round_shift(acc_im, shift), cfg.ifft, log, name, symmetric=True),
    )


def output_blocks(
    acc_re: IntArray,
    acc_im: IntArray,
    rows: int,
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
    name: str = "ifft",
) -> IntArray:
    """Accumulators (..., G, p, bins) -> Q(ifft_out) outputs (..., G, rows): shift, IFFT, saturate, crop."""
    y = (
        _compiled_output_blocks(acc_re, acc_im, cfg, log, name)
        if fast_path(acc_re.size // acc_re.shape[-1])
        else None
    )
    if y is not None:  # the same steps in one compiled pass
        y = y.reshape(*y.shape[:-2], y.shape[-2] * y.shape[-1])
        return y[..., :rows]
    ir, ii = acc_to_ifft(acc_re, acc_im, cfg, log, f"{name}_in")
    y = _ifft_real(ir.size // ir.shape[-1])(ir, ii, cfg.twiddle, cfg.ifft, log, name)  # (..., G, p, k)
    y = saturate(y, cfg.ifft_out, log, f"{name}_out")
    y = y.reshape(*y.shape[:-2], y.shape[-2] * y.shape[-1])
    return y[..., :rows]


def circulant_matvec(
    x: IntArray,
    spectra: Spectra,
    rows: int,
    cfg: NumericsConfig,
    log: SaturationLog | None = None,
    name: str = "mv",
) -> IntArray:
    """y = W x for G stacked block-circulant matrices: Q(data) (..., cols) -> Q(ifft_out) (..., G, rows)."""
    _, _, q, _ = spectra.shape
    xr, xi = input_spectra(x, q, cfg, log, f"{name}/fft")
    ar, ai = spectra.mac(xr, xi)
    return output_blocks(ar, ai, rows, cfg, log, f"{name}/ifft")


# ------------------------------------------------------------------------------------------------------
# the structure seam (ernn.golden.structure.GoldenStructure): block-circulant
class Accumulators(NamedTuple):
    """Exact frequency-domain accumulators (..., G, p, bins) in Q(accumulator): re, im. ``a + b`` adds
    them (the products of W_ih x and W_hh h meet here before the one IFFT); unpacks as ``re, im``."""

    re: IntArray
    im: IntArray

    def __add__(self, other: object) -> Accumulators:  # type: ignore[override]
        if not isinstance(other, Accumulators):
            return NotImplemented
        return Accumulators(self.re + other.re, self.im + other.im)

    def gates(self, select: slice) -> Accumulators:
        """The accumulators of some gates (the gate axis is -3)."""
        return Accumulators(self.re[..., select, :, :], self.im[..., select, :, :])


#: float64 holds every integer below this exactly
_EXACT = 1 << 53


@dataclass(eq=False)
class BinsMajorAccumulators:
    """:class:`Accumulators` of a batch as the float64 BLAS MAC leaves them: f (bins, 2, G, p, M) holding
    exact integers (re, im on axis 1; M the batch, ``lead`` its shape); ``bound`` bounds every |value|.
    A sum of two stays in this layout while exact (bound < 2**53) and is not formed: ``f2`` holds the
    second term, and :func:`finish` adds the two where it reads them (the x and h products of a step
    reach the IFFT without a separate pass over memory or an int64 copy and transpose). :meth:`total`
    forms the sum; ``re``, ``im`` and unpacking give the int64 (..., G, p, bins) arrays of
    :class:`Accumulators`."""

    f: npt.NDArray[np.float64]
    lead: tuple[int, ...]
    bound: int
    f2: npt.NDArray[np.float64] | None = None

    def total(self) -> npt.NDArray[np.float64]:
        """f + f2 (exact: the bound is below 2**53), or f."""
        return self.f if self.f2 is None else self.f + self.f2

    def ints(self) -> Accumulators:
        f = self.total()
        b, _, g, p, m = f.shape
        acc = acc_from_bins_major(f.reshape(b, 2 * g * p, m))  # (2, M, Gp, bins)
        return Accumulators(acc[0].reshape(*self.lead, g, p, b), acc[1].reshape(*self.lead, g, p, b))

    @property
    def re(self) -> IntArray:
        return self.ints().re

    @property
    def im(self) -> IntArray:
        return self.ints().im

    def __iter__(self):  # unpacks as re, im like Accumulators
        return iter(self.ints())

    def __add__(self, other: object) -> Accumulators | BinsMajorAccumulators:
        if isinstance(other, BinsMajorAccumulators) and self.bound + other.bound < _EXACT:
            if self.f2 is None and other.f2 is None:  # summed where finish() reads it
                return BinsMajorAccumulators(self.f, self.lead, self.bound + other.bound, other.f)
            return BinsMajorAccumulators(self.total() + other.total(), self.lead, self.bound + other.bound)
        if isinstance(other, Accumulators | BinsMajorAccumulators):
            return self.ints() + Accumulators(*other)
        return NotImplemented

    def __radd__(self, other: object) -> Accumulators:
        if isinstance(other, Accumulators):
            return other + self.ints()
        return NotImplemented

    def gates(self, select: slice) -> BinsMajorAccumulators:
        """The accumulators of some gates."""
        f2 = None if self.f2 is None else self.f2[:, :, select]
        return BinsMajorAccumulators(self.f[:, :, select], self.lead, self.bound, f2)


def concat_gates(parts: list[Accumulators]) -> Accumulators:
    """Accumulators of several gate groups, stacked along the gate axis."""
    if all(isinstance(a, BinsMajorAccumulators) for a in parts):
        return BinsMajorAccumulators(  # type: ignore[return-value]
            np.concatenate([a.total() for a in parts], axis=2), parts[0].lead, max(a.bound for a in parts)
        )
    parts = [a.ints() if isinstance(a, BinsMajorAccumulators) else a for a in parts]  # one conversion each
    return Accumulators(np.concatenate([a.re for a in parts], -3), np.concatenate([a.im for a in parts], -3))


def quantize_matrix(stored: npt.ArrayLike, fmt: QFormat, log: SaturationLog | None = None) -> Spectra:
    """Defining vectors (G, p, q, k) -> quantized weight spectra (what the PE's weight memory holds)."""
    return Spectra(*quantize_spectra(stored, fmt, log))


def accumulate(
    matrix: Spectra, x: IntArray, cfg: NumericsConfig, log: SaturationLog | None = None, name: str = "mv"
) -> Accumulators:
    """FFT of x (..., cols) Q(data) block by block, then the exact complex MAC with every weight spectrum."""
    q = matrix.shape[2]
    if x.ndim == 2 and fast_path(x.shape[0] * q):  # a batch: the FFT writes the MAC's operand directly
        bm = _accumulate_bins_major(matrix, as_int(x), cfg, log, name)
        if bm is not None:
            return bm
    xr, xi = input_spectra(x, q, cfg, log, f"{name}/fft")
    if xr.ndim == 3:  # a batch (M, q, bins): on the fast path the MAC results stay in BLAS's layout
        bm = matrix._mac_bins_major(xr, xi, 2 * q * matrix.max_component() * _peak(xr, xi), xr.shape[:1])
        if bm is not None:
            return bm
    return Accumulators(*matrix.mac(xr, xi))


def _peak(xr: IntArray, xi: IntArray) -> int:
    return max(int(np.abs(xr).max(initial=0)), int(np.abs(xi).max(initial=0)))


def _accumulate_bins_major(
    matrix: Spectra, x: IntArray, cfg: NumericsConfig, log: SaturationLog | None, name: str
) -> BinsMajorAccumulators | None:
    """:func:`accumulate` of a batch x (M, cols) in one FFT pass that writes the float64 MAC operand
    (``kernels.fft_bins_major``) and one BLAS MAC; None (nothing logged) when either would not be exact
    in float64, so the caller's path runs instead."""
    g, p, q, b = matrix.shape
    k = cfg.block_size
    m, cols = x.shape
    if cols > q * k:
        raise ValueError(f"input has {cols} features but the matrix takes at most {q * k}")
    if not kernels.float_fft_exact(cfg.twiddle, cfg.fft_out):
        return None
    if not fits(x, cfg.data):
        raise ValueError(f"{name}/fft: input outside the data format {cfg.data}")
    # the spectra's bound before the FFT runs (so that nothing is logged twice on a fallback): every
    # component is at most the stage-saturated Q(fft_out) maximum
    if 2 * q * matrix.max_component() * cfg.fft_out.max_int >= _EXACT:
        return None
    if cols < q * k:
        x = np.concatenate((x, np.zeros((m, q * k - cols), dtype=np.int64)), axis=1)
    res = kernels.fft_bins_major(x, q, cfg.twiddle, cfg.fft_out, log, f"{name}/fft")
    assert res is not None  # float_fft_exact checked above
    xf, peak = res
    accf = _float_matmul(matrix.stacked_float(), xf)  # (bins, 2Gp, M)
    return BinsMajorAccumulators(accf.reshape(b, 2, g, p, m), (m,), 2 * q * matrix.max_component() * peak)


def finish(
    acc: Accumulators, rows: int, cfg: NumericsConfig, log: SaturationLog | None = None, name: str = "mv"
) -> IntArray:
    """Accumulators -> y (..., G, rows) in Q(ifft_out): shift, IFFT, saturate, crop (:func:`output_blocks`)."""
    if isinstance(acc, BinsMajorAccumulators):
        b, _, g, _, m = acc.f.shape
        y = output_blocks_bins_major(
            acc.f.reshape(b, 2, -1, m),
            cfg,
            log,
            f"{name}/ifft",
            None if acc.f2 is None else acc.f2.reshape(b, 2, -1, m),
        )
        if y is None:
            acc = acc.ints()
        else:  # (M, G p, k) -> (..., G, p k), cropped
            return y.reshape(*acc.lead, g, -1)[..., :rows]
    return output_blocks(acc.re, acc.im, rows, cfg, log, f"{name}/ifft")


def max_weight(stored: npt.ArrayLike) -> float:
    """Largest |Re|, |Im| of the weight spectra (what Q(weight_spectrum) must hold)."""
    return max_spectrum_component(stored)


def from_description(value: npt.ArrayLike, params: BlockCirculant) -> npt.NDArray[np.float64]:
    """A model description's first-column vectors (G, p, q, k) are what the circulant stage quantizes."""
    return np.asarray(value, dtype=np.float64)


def stored_shape(rows: int, cols: int, params: BlockCirculant) -> tuple[int, ...]:
    """(p, q, k): one length-k vector per k x k block."""
    return params.blocks(rows), params.blocks(cols), params.block_size


def numerics(
    shape: ModelShape, max_weight: float, max_bias: float, max_peephole: float, bits: int = 16
) -> NumericsConfig:
    """:meth:`NumericsConfig.for_weights` (``max_weight``: the largest spectrum component)."""
    return NumericsConfig.for_weights(shape, max_weight, max_bias, max_peephole, bits)


def check_numerics(cfg: NumericsConfig, shape: ModelShape) -> None:
    """ValueError when ``cfg``'s block size is not the model's or its accumulator cannot hold the most
    input blocks summed into one accumulator."""
    if cfg.block_size != shape.block_size:
        raise ValueError(
            f"numerics.block_size = {cfg.block_size} does not match the model's block_size = {shape.block_size}"
        )
    blocks = shape.max_input_blocks
    need = cfg.required_accumulator_word(blocks)
    if cfg.accumulator.word < need:
        raise ValueError(
            f"numerics.accumulator.word = {cfg.accumulator.word} is too small for this model: "
            f"allowed >= fft_out.word + weight_spectrum.word + clog2({blocks} blocks) = {need}"
        )


def int_arrays(matrix: Spectra) -> dict[str, IntArray]:
    """The quantized spectra's real and imaginary parts."""
    return {"re": matrix.re.copy(), "im": matrix.im.copy()}
