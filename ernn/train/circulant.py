"""Block-circulant matrices: expansion, FFT-domain products and Euclidean projection.

Convention (used everywhere in the toolkit, golden model and RTL included)
-------------------------------------------------------------------------
A weight matrix W of shape (rows, cols) is cut into k x k blocks, k = ``block_size`` a power of two.
Block (i, j) is circulant and defined by its *first column* c_ij (length k):

    C_ij[r, s] = c_ij[(r - s) mod k]      so      C_ij @ x = c_ij (*) x = IFFT(FFT(c_ij) * FFT(x))

where (*) is circular convolution. The defining vectors of a matrix are stored as an array of shape
(p, q, k) with p = ceil(rows / k) output blocks and q = ceil(cols / k) input blocks (leading batch
dimensions, e.g. the gates of an LSTM, are allowed in front).

Sizes that are not multiples of k (zero-padding rule)
----------------------------------------------------
The matrix is the top-left (rows, cols) corner of the (p*k, q*k) block-circulant matrix. In a product the
input vector is zero-padded at the end to q*k entries and the output is cropped to its first ``rows``
entries, so the padding rows/columns never influence a result. The projection (below) is onto this set of
cropped matrices: entries that fall in the padding are unconstrained, so each defining-vector element is
the mean of the wrapped diagonal's entries that lie inside the corner (and 0 if none does).

Frequency-domain accumulation
-----------------------------
y_i = IRFFT( sum_j RFFT(c_ij) * RFFT(x_j) ): one real FFT per input block, one inverse FFT per output
block; only the k/2 + 1 non-redundant bins of a real signal are used (bins 0 and k/2 are real).
Block size 1 is an ordinary dense matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ernn.shape import BlockCirculant


def check_block_size(block_size: int, *, name: str = "block_size") -> int:
    """Return ``block_size`` if it is a positive power of two, else raise a ValueError naming it."""
    if isinstance(block_size, bool) or not isinstance(block_size, int):
        raise ValueError(f"{name} must be an integer power of two (1, 2, 4, ...), got {block_size!r}")
    if block_size < 1 or block_size & (block_size - 1):
        raise ValueError(f"{name} must be a power of two (1, 2, 4, 8, 16, 32, ...), got {block_size}")
    return block_size


def num_blocks(size: int, block_size: int) -> int:
    """Number of k-blocks needed to cover ``size`` entries (the last one zero-padded)."""
    return -(-size // block_size)


def vector_shape(rows: int, cols: int, block_size: int) -> tuple[int, int, int]:
    """Shape (p, q, k) of the defining vectors of a (rows, cols) block-circulant matrix."""
    return num_blocks(rows, block_size), num_blocks(cols, block_size), block_size


def _circulant_index(block_size: int, device: torch.device | None = None) -> torch.Tensor:
    """idx[r, s] = (r - s) mod k: which defining-vector element sits at (r, s) of a circulant block."""
    r = torch.arange(block_size, device=device)
    return (r[:, None] - r[None, :]) % block_size


def expand(vectors: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Dense matrix of shape (..., rows, cols) from defining vectors of shape (..., p, q, k)."""
    *lead, p, q, k = vectors.shape
    if (p, q) != vector_shape(rows, cols, k)[:2]:
        raise ValueError(
            f"vectors of shape {tuple(vectors.shape)} do not define a ({rows}, {cols}) matrix "
            f"with block size {k}: expected (..., {num_blocks(rows, k)}, {num_blocks(cols, k)}, {k})"
        )
    blocks = vectors[..., _circulant_index(k, vectors.device)]  # (..., p, q, k, k): [.., i, j, r, s]
    dense = blocks.transpose(-3, -2).reshape(*lead, p * k, q * k)
    return dense[..., :rows, :cols]


def defining_vectors(weight: torch.Tensor, block_size: int) -> torch.Tensor:
    """Defining vectors (..., p, q, k) of the projection of ``weight`` (..., rows, cols) (diagonal means)."""
    check_block_size(block_size)
    *lead, rows, cols = weight.shape
    k = block_size
    p, q, _ = vector_shape(rows, cols, k)
    padded = weight.new_zeros(*lead, p * k, q * k)
    padded[..., :rows, :cols] = weight
    inside = weight.new_zeros(p * k, q * k)
    inside[:rows, :cols] = 1.0
    # blocks[..., i, j, r, s]
    blocks = padded.reshape(*lead, p, k, q, k).transpose(-3, -2)
    mask = inside.reshape(p, k, q, k).transpose(1, 2)
    idx = _circulant_index(k, weight.device).reshape(-1)
    onehot = torch.nn.functional.one_hot(idx, k).to(weight.dtype)  # (k*k, k): entry -> diagonal
    sums = blocks.reshape(*lead, p, q, k * k) @ onehot
    counts = mask.reshape(p, q, k * k) @ onehot
    return torch.where(counts > 0, sums / counts.clamp(min=1.0), torch.zeros_like(sums))


def project(weight: torch.Tensor, block_size: int) -> torch.Tensor:
    """Euclidean projection of ``weight`` (..., rows, cols) onto the block-circulant set (same shape).

    This is the ADMM Z-step: each wrapped diagonal of each block is replaced by its mean.
    """
    rows, cols = weight.shape[-2:]
    return expand(defining_vectors(weight, block_size), rows, cols)


def weight_spectra(vectors: torch.Tensor) -> torch.Tensor:
    """Complex spectra RFFT(c) of the defining vectors: (..., p, q, k/2 + 1)."""
    return torch.fft.rfft(vectors, dim=-1)


def matvec(vectors: torch.Tensor, x: torch.Tensor, rows: int) -> torch.Tensor:
    """y = W x for the block-circulant W defined by ``vectors`` (G, p, q, k), computed in the FFT domain.

    ``x`` has shape (..., cols) with cols <= q*k; the result has shape (..., G * rows): the G matrices
    (gates) stacked one after the other, as PyTorch stacks the gates of ``weight_ih``.
    One RFFT per input block (shared by all G matrices), frequency-domain accumulation over the q input
    blocks, one IRFFT per output block.
    """
    if vectors.shape[-1] == 1:  # dense: a plain matrix product is the fast path
        return matvec_spectra(vectors, x, rows)
    return matvec_spectra(weight_spectra(vectors), x, rows, vectors.shape[-1])


def matvec_spectra(wf: torch.Tensor, x: torch.Tensor, rows: int, k: int = 1) -> torch.Tensor:
    """:func:`matvec` from the weight spectra ``wf`` = :func:`weight_spectra` (G, p, q, k/2 + 1) of
    block size ``k``; for k = 1, ``wf`` is the (G, p, q, 1) dense weight itself. A recurrent layer
    computes the spectra once per forward pass instead of at every time step."""
    g, p, q = wf.shape[:3]
    cols = x.shape[-1]
    if cols > q * k:
        raise ValueError(f"input has {cols} features but the matrix takes at most {q * k}")
    if k == 1:
        return torch.nn.functional.linear(x, wf.reshape(g * p, q)[:, :cols])
    if cols < q * k:
        x = torch.nn.functional.pad(x, (0, q * k - cols))
    xf = torch.fft.rfft(x.reshape(*x.shape[:-1], q, k), dim=-1)  # (..., q, F)
    yf = torch.einsum("gpqf,...qf->...gpf", wf, xf)
    y = torch.fft.irfft(yf, n=k, dim=-1).reshape(*x.shape[:-1], g, p * k)
    return y[..., :rows].reshape(*x.shape[:-1], g * rows)


def matvec_dense(vectors: torch.Tensor, x: torch.Tensor, rows: int) -> torch.Tensor:
    """Same result as :func:`matvec` through the expanded dense matrix (the baseline for benchmarks)."""
    g = vectors.shape[0]
    dense = expand(vectors, rows, vectors.shape[2] * vectors.shape[3]).reshape(g * rows, -1)
    return torch.nn.functional.linear(x, dense[:, : x.shape[-1]])


def real_multiplies(rows: int, cols: int, block_size: int, gates: int = 1) -> dict[str, int]:
    """Real multiplications for ``gates`` products W_g x with one input x: dense vs FFT domain.

    An operation count, not a timing. FFT-domain count: 4 real multiplies per complex MAC (bins 0 and
    k/2 are real: 1 each), plus the radix-2 transforms, counted as (k/2) log2 k butterflies of 4 real
    multiplies for each of the q input-block RFFTs (shared by the gates) and the gates * p output-block
    IRFFTs (an upper bound: trivial twiddles are not discounted).
    """
    k = check_block_size(block_size)
    dense = gates * rows * cols
    if k == 1:
        return {"dense": dense, "fft": dense}
    p, q, _ = vector_shape(rows, cols, k)
    per_block = 2 * 1 + (k // 2 - 1) * 4
    transforms = (q + gates * p) * (k // 2) * int(math.log2(k)) * 4
    return {"dense": dense, "fft": gates * p * q * per_block + transforms}


# ------------------------------------------------------------------------------------------------------
# the structure seam (ernn.train.structure.TorchStructure): block-circulant, k = params.block_size
def parameter_shape(rows: int, cols: int, params: BlockCirculant) -> tuple[int, int, int]:
    return vector_shape(rows, cols, params.block_size)


def dense_matrix(stored: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    return expand(stored, rows, cols)


@dataclass(frozen=True)
class Prepared:
    """The operand of :func:`apply`: weight spectra (or the dense weight at k = 1) and the block size."""

    operand: torch.Tensor
    block_size: int


def prepare(stored: torch.Tensor) -> Prepared:
    k = stored.shape[-1]
    return Prepared(stored if k == 1 else weight_spectra(stored), k)


def apply(prepared: Prepared, x: torch.Tensor, rows: int) -> torch.Tensor:
    return matvec_spectra(prepared.operand, x, rows, prepared.block_size)


def from_dense(weight: torch.Tensor, params: BlockCirculant) -> torch.Tensor:
    return defining_vectors(weight, params.block_size)


def project_dense(weight: torch.Tensor, params: BlockCirculant) -> torch.Tensor:
    return project(weight, params.block_size)


def multiplies(rows: int, cols: int, params: BlockCirculant, gates: int = 1) -> dict[str, int]:
    counts = real_multiplies(rows, cols, params.block_size, gates)
    return {"dense": counts["dense"], "structured": counts["fft"]}


def support(weight: torch.Tensor, params: BlockCirculant) -> None:
    """Block-circulant weights have no pruning pattern: every defining-vector element stays free."""
    return None
