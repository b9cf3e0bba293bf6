"""Unstructured magnitude pruning (the ESE baseline) in torch: projection, pattern, storage.

Convention
----------
Each (rows, cols) gate matrix keeps K = floor((1 - prune_rate) * rows * cols + 1/2) weights, those of the
largest magnitude (ties: the lower flat index first), and drops any kept weight that is exactly 0 (it
holds nothing). ``params.pes`` = P > 0 is ESE's load-balance-aware pruning: row r of the matrix belongs to
processing element r mod P (ESE interleaves rows over PEs), PE p keeps K // P weights (+1 for the first
K mod P PEs), its own largest ones, so every PE has the same work within one multiply. Biases are never
pruned.

The stored representation is CSB's (:mod:`ernn.train.csb`): a dense (G, rows, cols) parameter with zeros at
pruned positions and the bool pattern as a buffer. :func:`storage` counts compressed sparse rows: one
column index per kept weight (ceil(log2 cols) bits) and rows + 1 row pointers (ceil(log2(rows cols + 1))
bits each); ESE's own format (4-bit relative indices with padding zeros) differs in its overhead.

What holds (``tests/test_sparse.py``): the projection is the Euclidean projection onto "at most K non-zero
weights" (P = 0) or "at most K_p non-zero weights in PE p's rows" (P > 0), it is idempotent, and kept
weights keep their values.
"""

from __future__ import annotations

import math

import torch

from ernn.shape.structures import Sparse
from ernn.train.masked import apply, dense_matrix, parameter_shape, prepare  # noqa: F401 (the seam)


def keep_count(rows: int, cols: int, prune_rate: float) -> int:
    return math.floor((1.0 - prune_rate) * rows * cols + 0.5)


def _top(values: torch.Tensor, k: int) -> torch.Tensor:
    """Bool mask of the k largest |values| (flat, ties: lower index first), zeros never kept."""
    keep = torch.zeros(values.numel(), dtype=torch.bool)
    order = torch.argsort(-values.abs().reshape(-1), stable=True)
    keep[order[:k]] = True
    return keep.reshape(values.shape) & (values != 0)


def _pattern_2d(w: torch.Tensor, params: Sparse) -> torch.Tensor:
    rows, cols = w.shape
    k = keep_count(rows, cols, params.prune_rate)
    if not params.pes:
        return _top(w, k)
    out = torch.zeros(rows, cols, dtype=torch.bool)
    for pe in range(params.pes):
        share = k // params.pes + (1 if pe < k % params.pes else 0)
        out[pe :: params.pes] = _top(w[pe :: params.pes], share)
    return out


def pattern(weight: torch.Tensor, params: Sparse) -> torch.Tensor:
    """The kept pattern (bool, same shape) of the projection of ``weight`` (..., rows, cols)."""
    *_, rows, cols = weight.shape
    flat = weight.detach().reshape(-1, rows, cols).to("cpu", torch.float64)
    out = torch.stack([_pattern_2d(m, params) for m in flat])
    return out.reshape(weight.shape).to(weight.device)


def project(weight: torch.Tensor, params: Sparse) -> torch.Tensor:
    return weight * pattern(weight, params)


def pe_loads(pattern: torch.Tensor, pes: int) -> torch.Tensor:
    """Kept weights per PE of every matrix of ``pattern`` (..., rows, cols): (matrices, pes)."""
    *_, rows, cols = pattern.shape
    flat = pattern.reshape(-1, rows, cols)
    return torch.stack([flat[:, pe::pes].sum(dim=(1, 2)) for pe in range(pes)], dim=1)


def storage(pattern: torch.Tensor, params: Sparse) -> dict[str, int]:
    """Compressed sparse rows of the matrices of ``pattern`` (..., rows, cols): ``values`` weights, one
    column index each and rows + 1 row pointers per matrix. With ``pes``: the per-PE load (the busiest
    PE's kept weights summed over matrices, against their mean)."""
    *_, rows, cols = pattern.shape
    matrices = pattern.reshape(-1, rows, cols).shape[0]
    values = int(pattern.sum())
    col_bits = max(1, math.ceil(math.log2(cols)))
    ptr_bits = math.ceil(math.log2(rows * cols + 1))
    out = {
        "values": values,
        "index_entries": values + matrices * (rows + 1),
        "index_bits": values * col_bits + matrices * (rows + 1) * ptr_bits,
    }
    if params.pes:
        loads = pe_loads(pattern, params.pes)
        out["pe_load_max"] = int(loads.max(dim=1).values.sum())
        out["pe_load_min"] = int(loads.min(dim=1).values.sum())
    return out


# ------------------------------------------------------------------------------------------------------
# the structure seam (ernn.train.structure.TorchStructure); parameter_shape, dense_matrix, prepare and
# apply come from ernn.train.masked
def from_dense(weight: torch.Tensor, params: Sparse) -> torch.Tensor:
    return project(weight, params)


def project_dense(weight: torch.Tensor, params: Sparse) -> torch.Tensor:
    return project(weight, params)


def multiplies(rows: int, cols: int, params: Sparse, gates: int = 1) -> dict[str, int]:
    return {"dense": gates * rows * cols, "structured": gates * keep_count(rows, cols, params.prune_rate)}


def support(weight: torch.Tensor, params: Sparse) -> torch.Tensor:
    return pattern(weight, params)
