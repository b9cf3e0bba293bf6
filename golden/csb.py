"""Fixed-point CSB matrix-vector product (CSB-RNN compressed structured blocks) over the stored kernels.

    y[g, r] = sum over blocks (g, i, j), kept rows a, kept columns b with i*M + a = r of K[a, b] x[j*M + b]

A (rows, cols) matrix of gate g is cut into M x M blocks (M = ``CSB.block``; the last block row / column may
be narrower, :mod:`ernn.train.csb`). Block (g, i, j) stores a dense kernel K of m_b x n_b integers: the
cross-points of its kept rows and kept columns. The stored format is the paper's, per block in (g, i, j)
row-major order:

* ``counts[g, i, j] = (m_b, n_b)`` — kept rows and kept columns (both 0 for an empty block);
* ``row_index`` — the m_b kept row offsets inside the block (0 .. M-1, strictly increasing), block after block;
* ``col_index`` — the n_b kept column offsets, likewise;
* ``values`` — the m_b * n_b kernel values in row-major kernel order, block after block, Q(weight).

Numerics (docs/numerics.md, "CSB matvec"): x in Q(data), K in Q(weight_spectrum) (the CSB kernels use the
weight field of :class:`~ernn.golden.formats.NumericsConfig`), every product and sum exact in
Q(accumulator) (frac = data.frac + weight.frac; W_ih x and W_hh h add there as in the circulant path),
then one round-half-up shift to ifft_out.frac and a saturation to Q(ifft_out) (point ``csb_out``): the
matvec result has the circulant path's format, so the cells downstream are shared.

The accumulators travel in the circulant path's container (:class:`~ernn.golden.matvec.Accumulators`)
with one "bin" and a zero imaginary part, so the network's layer step (sum of W_ih x and W_hh h, GRU gate
split) needs no second code path.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ernn.shape import ModelShape
from ernn.shape.structures import CSB

from .formats import HEADROOM_BITS, MIN_BLOCK, NumericsConfig, QFormat, clog2, fit_frac
from .matvec import Accumulators
from .ops import IntArray, SaturationLog, as_int, fits, quantize, round_shift, saturate


def spans(size: int, block: int) -> list[tuple[int, int]]:
    """[start, end) of every block along an axis of ``size`` (the last one may be narrower)."""
    return [(start, min(start + block, size)) for start in range(0, size, block)]


@dataclass(frozen=True)
class CSBWeights:
    """What the CSB golden stage quantizes: G dense (rows, cols) float matrices whose pruned entries are 0
    (the model description's ``w_ih`` / ``w_hh`` / ``w_hr``) and the block size M they were pruned with."""

    dense: npt.NDArray[np.float64]
    block: int

    def __post_init__(self) -> None:
        arr = np.asarray(self.dense, dtype=np.float64)
        if arr.ndim != 3:
            raise ValueError(f"CSB weights must be (G, rows, cols), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("CSB weights hold NaN or infinite values")
        object.__setattr__(self, "dense", arr)


@dataclass(eq=False)
class CSBMatrix:
    """G stacked CSB matrices as the engine stores them (see the module docstring): ``counts`` (G, BR, BC, 2),
    ``row_index``, ``col_index``, ``values`` (int64, concatenated block after block). Checked on
    construction: an index array out of range, unsorted, repeated or inconsistent with the counts raises
    ValueError naming the block."""

    rows: int
    cols: int
    block: int
    counts: IntArray
    row_index: IntArray
    col_index: IntArray
    values: IntArray
    _offsets: list[tuple[int, int, int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.counts = as_int(self.counts)
        self.row_index, self.col_index, self.values = (
            as_int(a).reshape(-1) for a in (self.row_index, self.col_index, self.values)
        )
        row_spans, col_spans = spans(self.rows, self.block), spans(self.cols, self.block)
        g = self.counts.shape[0] if self.counts.ndim == 4 else -1
        if self.counts.shape != (g, len(row_spans), len(col_spans), 2):
            raise ValueError(
                f"CSB counts must have shape (G, {len(row_spans)}, {len(col_spans)}, 2) for a "
                f"{self.rows} x {self.cols} matrix in {self.block}-blocks, got {self.counts.shape}"
            )
        for gi, i, j in np.ndindex(*self.counts.shape[:3]):  # counts first: the totals below use them
            m, n = (int(v) for v in self.counts[gi, i, j])
            (r0, r1), (c0, c1) = row_spans[i], col_spans[j]
            where = f"CSB block (gate {gi}, block row {i}, block column {j})"
            if not (0 <= m <= r1 - r0 and 0 <= n <= c1 - c0):
                raise ValueError(f"{where}: counts ({m}, {n}) outside [0, {r1 - r0}] x [0, {c1 - c0}]")
            if (m == 0) != (n == 0):
                raise ValueError(f"{where}: counts ({m}, {n}): a kernel with rows has columns and vice versa")
        m_all, n_all = self.counts[..., 0], self.counts[..., 1]
        for name, arr, need in (
            ("row_index", self.row_index, int(m_all.sum())),
            ("col_index", self.col_index, int(n_all.sum())),
            ("values", self.values, int((m_all * n_all).sum())),
        ):
            if arr.size != need:
                raise ValueError(f"CSB {name} holds {arr.size} entries, the counts give {need}")
        ro = co = vo = 0
        offsets = []
        for gi in range(g):
            for i, (r0, r1) in enumerate(row_spans):
                for j, (c0, c1) in enumerate(col_spans):
                    m, n = (int(v) for v in self.counts[gi, i, j])
                    where = f"CSB block (gate {gi}, block row {i}, block column {j})"
                    _check_index(self.row_index[ro : ro + m], r1 - r0, f"{where}: kept rows")
                    _check_index(self.col_index[co : co + n], c1 - c0, f"{where}: kept columns")
                    offsets.append((ro, co, vo))
                    ro, co, vo = ro + m, co + n, vo + m * n
        self._offsets = offsets

    @property
    def gates(self) -> int:
        return int(self.counts.shape[0])

    def kernels(self) -> Any:
        """Every non-empty kernel: (g, row start, col start, kept rows, kept cols, values (m_b, n_b))."""
        row_spans, col_spans = spans(self.rows, self.block), spans(self.cols, self.block)
        it = iter(self._offsets)
        for g in range(self.gates):
            for i, (r0, _) in enumerate(row_spans):
                for j, (c0, _) in enumerate(col_spans):
                    ro, co, vo = next(it)
                    m, n = (int(v) for v in self.counts[g, i, j])
                    if m:
                        yield (
                            g,
                            r0,
                            c0,
                            self.row_index[ro : ro + m],
                            self.col_index[co : co + n],
                            self.values[vo : vo + m * n].reshape(m, n),
                        )

    def dense(self) -> IntArray:
        """The (G, rows, cols) integer matrix the kernels stand for (zeros where pruned)."""
        out = np.zeros((self.gates, self.rows, self.cols), dtype=np.int64)
        for g, r0, c0, ri, ci, k in self.kernels():
            out[g, (r0 + ri)[:, None], (c0 + ci)[None, :]] = k
        return out

    def arrays(self) -> dict[str, IntArray]:
        """The four stored arrays (what ``params.npz`` and the memory images hold)."""
        return {
            "counts": self.counts.copy(),
            "row_index": self.row_index.copy(),
            "col_index": self.col_index.copy(),
            "values": self.values.copy(),
        }


def _check_index(idx: IntArray, span: int, where: str) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= span):
        raise ValueError(f"{where} {idx.tolist()} out of range [0, {span - 1}]")
    if idx.size > 1 and np.any(np.diff(idx) <= 0):
        raise ValueError(f"{where} {idx.tolist()} not strictly increasing")


def from_arrays(arrays: dict[str, npt.ArrayLike], rows: int, cols: int, block: int) -> CSBMatrix:
    """A :class:`CSBMatrix` from its four stored arrays (checked; errors name the block)."""
    missing = {"counts", "row_index", "col_index", "values"} - set(arrays)
    if missing:
        raise ValueError(f"CSB matrix: missing arrays {sorted(missing)}")
    return CSBMatrix(
        rows, cols, block, arrays["counts"], arrays["row_index"], arrays["col_index"], arrays["values"]
    )


# ------------------------------------------------------------------------------------------------------
# the structure seam (ernn.golden.structure.GoldenStructure): CSB
def from_description(value: npt.ArrayLike, params: CSB) -> CSBWeights:
    """A model description's dense pruned matrix (G, rows, cols) with the block size it was pruned with."""
    return CSBWeights(np.asarray(value, dtype=np.float64), params.block)


def stored_shape(rows: int, cols: int, params: CSB) -> tuple[int, ...]:
    """A CSB matrix is described dense: (rows, cols) per gate, zeros where pruned."""
    return rows, cols


def quantize_matrix(stored: CSBWeights, fmt: QFormat, log: SaturationLog | None = None) -> CSBMatrix:
    """Dense pruned matrices -> the stored kernels: per block the rows and columns holding a non-zero
    weight, and the cross-points of both quantized to Q(fmt) (round to nearest even, saturated, counted).

    A kept cross-point whose float value is 0 is not stored when its whole row or column is 0 in the block;
    any other zero inside a kernel is stored as 0 (a CSB kernel is dense by construction)."""
    w = stored.dense
    g, rows, cols = w.shape
    row_spans, col_spans = spans(rows, stored.block), spans(cols, stored.block)
    counts = np.zeros((g, len(row_spans), len(col_spans), 2), dtype=np.int64)
    ri, ci, vals = [], [], []
    for gi in range(g):
        for i, (r0, r1) in enumerate(row_spans):
            for j, (c0, c1) in enumerate(col_spans):
                nz = w[gi, r0:r1, c0:c1] != 0
                kr, kc = np.flatnonzero(nz.any(axis=1)), np.flatnonzero(nz.any(axis=0))
                counts[gi, i, j] = kr.size, kc.size
                ri.append(kr)
                ci.append(kc)
                vals.append(w[gi, r0 + kr[:, None], c0 + kc[None, :]].reshape(-1))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
    values = quantize(cat(vals), fmt, log, "weight")
    return CSBMatrix(
        rows, cols, stored.block, counts, cat(ri).astype(np.int64), cat(ci).astype(np.int64), values
    )


def accumulate(
    matrix: CSBMatrix, x: IntArray, cfg: NumericsConfig, log: SaturationLog | None = None, name: str = "mv"
) -> Accumulators:
    """Exact accumulators (..., G, rows, 1) in Q(accumulator) of x (..., cols) Q(data): kernel by kernel,
    the kept columns of x times the kernel, added into the kept rows (integer arithmetic, no rounding)."""
    x = as_int(x)
    if x.shape[-1] != matrix.cols:
        raise ValueError(f"{name}: input has {x.shape[-1]} features, the CSB matrix takes {matrix.cols}")
    if not fits(x, cfg.data):
        raise ValueError(f"{name}: input outside the data format {cfg.data}")
    # exactness: a row sums at most cols products of |w| <= max|w| and |x| <= max|x|
    ws = int(np.abs(matrix.values).max(initial=0))
    xs = int(np.abs(x).max(initial=0))
    if matrix.cols * ws * xs >= 1 << HEADROOM_BITS:
        raise OverflowError(f"{name}: CSB products could exceed 2**{HEADROOM_BITS}")
    acc = np.zeros((*x.shape[:-1], matrix.gates, matrix.rows), dtype=np.int64)
    for g, r0, c0, ri, ci, k in matrix.kernels():
        acc[..., g, r0 + ri] += x[..., c0 + ci] @ k.T
    return Accumulators(acc[..., None], np.zeros_like(acc)[..., None])


def finish(
    acc: Accumulators, rows: int, cfg: NumericsConfig, log: SaturationLog | None = None, name: str = "mv"
) -> IntArray:
    """Accumulators -> y (..., G, rows) in Q(ifft_out): round half up by accumulator.frac - ifft_out.frac,
    saturate (point ``<name>/csb_out``). The one rounding of the CSB matvec."""
    re = acc.re[..., 0]
    if np.any(acc.im):
        raise ValueError(f"{name}: CSB accumulators are real, got a non-zero imaginary part")
    if not fits(re, cfg.accumulator):
        raise OverflowError(
            f"accumulator value outside {cfg.accumulator}: numerics.accumulator.word is too small for this model"
        )
    y = saturate(
        round_shift(re, cfg.accumulator.frac - cfg.ifft_out.frac), cfg.ifft_out, log, f"{name}/csb_out"
    )
    return y[..., :rows]


def max_weight(stored: CSBWeights) -> float:
    """Largest |weight| (what Q(weight_spectrum) must hold for the CSB kernels)."""
    return float(np.abs(stored.dense).max(initial=0.0))


def products_per_accumulator(shape: ModelShape) -> int:
    """T: the most products summed into one accumulator: a gate row's input and recurrent columns
    (n_l + out), or the projection's hidden columns. Pruning only lowers it; the formats use the shape."""
    most = max(shape.layer_input_size(layer) + shape.output_size for layer in range(shape.num_layers))
    return max(most, shape.hidden_size if shape.proj_size else 1)


def accumulator_word(data_word: int, weight_word: int, products: int) -> int:
    """ACC_W = data.word + weight.word + max(2, clog2(T)): a product of a data_word- and a weight_word-bit
    integer needs data_word + weight_word - 1 bits, a sum of T of them clog2(T) more; the floor of 2 is the
    config's own bound (fft_out.word + weight.word at its nominal k = 4), which the CSB path does not need."""
    return data_word + weight_word + max(2, clog2(products))


def row_abs_sums(matrix: CSBMatrix) -> IntArray:
    """(G, rows) sum over each output row's kept kernel values of |value| (integers)."""
    out = np.zeros((matrix.gates, matrix.rows), dtype=np.int64)
    for g, r0, _, ri, _, vals in matrix.kernels():
        out[g, r0 + ri] += np.abs(vals).sum(axis=1)
    return out


def sum_word(matrix: CSBMatrix, data_word: int, weight_word: int) -> int:
    """The bits that hold every exact row sum of ``matrix`` for any input: |sum_c W[r, c] x_c| <= B =
    max_r sum_c |W[r, c]| * 2**(data_word - 1) (x is a data_word-bit two's-complement integer), so a signed
    word of B.bit_length() + 1 bits holds it; at least data_word + weight_word + 1 (one product and its
    sign). Partial sums kept modulo 2**SUM_W add up to the exact row sum whatever their order, so the group
    array sums in this width instead of the shape's ACC_W (docs/numerics.md section 15)."""
    bound = int(row_abs_sums(matrix).max(initial=0)) << (data_word - 1)
    return max(data_word + weight_word + 1, bound.bit_length() + 1)


def numerics(
    shape: ModelShape, max_weight: float, max_bias: float, max_peephole: float, bits: int = 16
) -> NumericsConfig:
    """The formats of a CSB model on a ``bits``-wide data path: the defaults of
    :meth:`NumericsConfig.for_data_bits` at the nominal ``block_size`` 4 (the FFT fields are unused by
    the CSB matvec), the weight fraction fitted to the largest |weight|, bias and peephole fractions lowered
    only if a value would not fit (as for block-circulant), the accumulator from :func:`accumulator_word`."""
    base = NumericsConfig.for_data_bits(bits, MIN_BLOCK, max_input_blocks=1)
    ww = base.weight_spectrum.word
    wf = fit_frac(max_weight, ww, max_frac=2 * ww)
    acc = QFormat(accumulator_word(base.data.word, ww, products_per_accumulator(shape)), base.data.frac + wf)
    bias = QFormat(base.bias.word, fit_frac(max_bias, base.bias.word, max_frac=base.bias.frac))
    peep = QFormat(
        base.peephole.word, fit_frac(max_peephole, base.peephole.word, max_frac=base.peephole.frac)
    )
    return dataclasses.replace(
        base, weight_spectrum=QFormat(ww, wf), accumulator=acc, bias=bias, peephole=peep
    )


def check_numerics(cfg: NumericsConfig, shape: ModelShape) -> None:
    """ValueError when ``cfg`` cannot run this CSB shape exactly (the accumulator is too narrow)."""
    need = accumulator_word(cfg.data.word, cfg.weight_spectrum.word, products_per_accumulator(shape))
    if cfg.accumulator.word < need:
        raise ValueError(
            f"numerics.accumulator.word = {cfg.accumulator.word} is too small for this CSB model: allowed >= "
            f"data.word + weight_spectrum.word + max(2, clog2({products_per_accumulator(shape)} products)) = {need}"
        )


def int_arrays(matrix: CSBMatrix) -> dict[str, IntArray]:
    """The integers the engine's memories hold for one matrix (:meth:`CSBMatrix.arrays`)."""
    return matrix.arrays()
