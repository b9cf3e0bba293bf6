"""CSB-RNN compressed structured blocks in torch: the projection (ADMM Z-step), its pattern, storage.

Convention
----------
A (rows, cols) weight matrix (one gate's) is cut into M x M blocks, M = ``params.block``; block (i, j)
covers rows i*M .. min((i+1)*M, rows) and columns j*M .. min((j+1)*M, cols), so a size that is not a
multiple of M leaves a narrower last block (the trainer requires M to divide the hidden and projection
sizes: only layer 0's input columns, the data's features, may end in one). Inside every block whole rows
and whole columns are pruned: the block keeps the cross-points of its kept rows and kept columns, a dense
kernel of m_b x n_b that differs from block to block. Biases are not part of any matrix and are never
pruned.

Stored representation (training stage)
--------------------------------------
A layer keeps each matrix as a dense (G, rows, cols) parameter whose pruned entries are 0 and the bool
pattern as a buffer ``<name>_mask`` of the same shape; every use multiplies the two
(:mod:`ernn.train.models`), so fine-tuning leaves pruned weights at exactly 0. The format the CSB engine
stores per block (kernel row and column counts, kept row indices, kept column indices, kernel values in
row-major order) is derived from the pattern; :func:`storage` counts it.

Projection (row step, then column step), r1 = 1 - sqrt(1 - prune_rate)
-----------------------------------------------------------------------
1. Rows: in each block-column strip (all rows, the columns of one block column) the row segments are
   ranked by L2 norm and the floor(r1 * rows + 1/2) smallest are pruned (and any segment whose norm is 0:
   it holds nothing).
2. Columns: in each block-row strip (the rows of one block row, all columns) a column segment has as many
   entries as its block kept rows in step 1. Segments are ranked by the L2 norm of the step-1 result and
   pruned in ascending order while the pruned entries stay nearest to r1 x the strip's entries that
   survived step 1 (the search stops at the first segment whose pruning would overshoot that target by
   more than half its length), so the two steps combine to the target rate (the rate counts entries in both steps: counting segments
   in step 2 would prune short segments, from blocks that lost rows, for almost nothing). A block that
   kept rows keeps at least one column (so every kept row stays non-zero, which makes the projection
   idempotent); segments of norm 0 are always pruned.

What holds (``tests/test_csb.py``):

* step 1 is the Euclidean projection onto "at most rows - floor(r1 * rows + 1/2) non-zero row segments per
  block-column strip" (largest norms kept; checked against enumeration);
* every kept entry keeps its value, so the result is the Euclidean projection of the weight onto the
  matrices with the result's pattern and ||W - P(W)||^2 = ||W||^2 - ||P(W)||^2;
* step 2 is greedy (a knapsack with an entry budget, ranked by norm), so the composite is not guaranteed
  to be the nearest CSB matrix of that rate: it is a projection only in the sense of the two lines above;
* idempotent, values and pattern, for weights without exactly-zero kept row segments;
* the pruned entries of each block-row strip lie within half a column segment (M/2 entries) of r1 x its
  step-1 survivors, unless every block of the strip that kept rows is down to one column (rates near
  1 - 1/M^2); step 1 misses r1 x rows by at most half a row per block-column strip. Over a matrix:
  |kept - (1 - rate) rows cols| <= (rows + cols) / 2.
"""

from __future__ import annotations

import math

import torch

from ernn.shape.structures import CSB
from ernn.train.masked import apply, dense_matrix, parameter_shape, prepare  # noqa: F401 (the seam)


def row_rate(prune_rate: float) -> float:
    """Rate of each of the two steps: (1 - r1)^2 = 1 - prune_rate."""
    return 1.0 - math.sqrt(1.0 - prune_rate)


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def _spans(size: int, block: int) -> list[tuple[int, int]]:
    return [(start, min(start + block, size)) for start in range(0, size, block)]


def row_step(w: torch.Tensor, block: int, r1: float) -> torch.Tensor:
    """Step 1 on one (rows, cols) matrix: ``keep[r, j]`` = row r kept in block column j."""
    rows, cols = w.shape
    col_spans = _spans(cols, block)
    prune_rows = _round(r1 * rows)
    keep = torch.zeros(rows, len(col_spans), dtype=torch.bool)
    for j, (c0, c1) in enumerate(col_spans):
        norms = w[:, c0:c1].norm(dim=1)
        kept = torch.ones(rows, dtype=torch.bool)
        kept[torch.argsort(norms, stable=True)[:prune_rows]] = False
        keep[:, j] = kept & (norms > 0)
    return keep


def _pattern_2d(w: torch.Tensor, block: int, r1: float) -> torch.Tensor:
    """The kept pattern of one (rows, cols) matrix (see the module docstring)."""
    rows, cols = w.shape
    col_spans = _spans(cols, block)
    block_col = torch.tensor([j for j, (c0, c1) in enumerate(col_spans) for _ in range(c0, c1)])
    row_pattern = row_step(w, block, r1)[:, block_col]  # (rows, cols)
    y = w * row_pattern
    pattern = row_pattern.clone()
    # step 2: per block-row strip, column segments ranked by norm, pruned up to r1 x the strip's entries
    for r0, r_end in _spans(rows, block):
        lengths = row_pattern[r0:r_end].sum(dim=0).tolist()  # kept rows of the segment's block
        norms = y[r0:r_end].norm(dim=0)
        target = r1 * sum(lengths)
        left = [sum(1 for c in range(c0, c1) if lengths[c] > 0) for c0, c1 in col_spans]
        pruned = 0
        for c in torch.argsort(norms, stable=True).tolist():
            if lengths[c] == 0:
                continue  # its block kept no row: nothing to prune
            zero = bool(norms[c] == 0)
            if pruned + lengths[c] / 2 > target and not zero:
                break  # pruning it would overshoot the target by more than it would undershoot
            j = int(block_col[c])
            if left[j] == 1 and not zero:
                continue  # the block's last column: the block keeps its rows
            pattern[r0:r_end, c] = False
            pruned += lengths[c]
            left[j] -= 1
    return pattern


def pattern(weight: torch.Tensor, params: CSB) -> torch.Tensor:
    """The kept pattern (bool, same shape) of the projection of ``weight`` (..., rows, cols)."""
    *_, rows, cols = weight.shape
    flat = weight.detach().reshape(-1, rows, cols).to("cpu", torch.float64)
    r1 = row_rate(params.prune_rate)
    out = torch.stack([_pattern_2d(m, params.block, r1) for m in flat])
    return out.reshape(weight.shape).to(weight.device)


def project(weight: torch.Tensor, params: CSB) -> torch.Tensor:
    """The projection of ``weight`` (..., rows, cols): pruned entries 0, kept ones unchanged."""
    return weight * pattern(weight, params)


def storage(pattern: torch.Tensor, params: CSB) -> dict[str, int]:
    """What the CSB format stores for the matrices of ``pattern`` (..., rows, cols): per block the kernel's
    row and column counts (ceil(log2(M + 1)) bits each), the kept row and column indices (ceil(log2 M) bits
    each) and the kernel values. ``values`` is the number of weights; the rest is index overhead."""
    *_, rows, cols = pattern.shape
    flat = pattern.reshape(-1, rows, cols)
    m = params.block
    count_bits, index_bits = math.ceil(math.log2(m + 1)), math.ceil(math.log2(m))
    values = indices = blocks = 0
    for r0, r1 in _spans(rows, m):
        for c0, c1 in _spans(cols, m):
            sub = flat[:, r0:r1, c0:c1]
            kept_rows = sub.any(dim=2).sum(dim=1)
            kept_cols = sub.any(dim=1).sum(dim=1)
            values += int(sub.sum())
            indices += int(kept_rows.sum() + kept_cols.sum())
            blocks += flat.shape[0]
    return {
        "values": values,
        "blocks": blocks,
        "index_entries": 2 * blocks + indices,
        "index_bits": 2 * blocks * count_bits + indices * index_bits,
    }


# ------------------------------------------------------------------------------------------------------
# the structure seam (ernn.train.structure.TorchStructure); parameter_shape, dense_matrix, prepare and
# apply come from ernn.train.masked: CSB, M = params.block
def from_dense(weight: torch.Tensor, params: CSB) -> torch.Tensor:
    return project(weight, params)


def project_dense(weight: torch.Tensor, params: CSB) -> torch.Tensor:
    return project(weight, params)


def multiplies(rows: int, cols: int, params: CSB, gates: int = 1) -> dict[str, int]:
    dense = gates * rows * cols
    return {"dense": dense, "structured": gates * _round((1.0 - params.prune_rate) * rows * cols)}


def support(weight: torch.Tensor, params: CSB) -> torch.Tensor:
    return pattern(weight, params)
