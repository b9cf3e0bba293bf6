"""Unstructured magnitude pruning (ernn.train.sparse): Euclidean projection, balance, storage."""

import math

import pytest
import torch

from ernn.shape.structures import Sparse
from ernn.train import sparse


def _weight(rows, cols, seed, lead=()):
    return torch.randn(*lead, rows, cols, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("rows,cols,rate", [(32, 12, 0.75), (32, 32, 0.9), (20, 7, 0.5)])
def test_projection_keeps_the_largest_magnitudes_and_is_idempotent(rows, cols, rate):
    params = Sparse(rate)
    w = _weight(rows, cols, 0)
    z = sparse.project(w, params)
    k = math.floor((1 - rate) * rows * cols + 0.5)
    assert int((z != 0).sum()) == k
    # Euclidean projection onto "at most k non-zeros": the kept energy is the k largest squares
    top = w.reshape(-1).pow(2).sort(descending=True).values[:k].sum()
    assert math.isclose(float(z.pow(2).sum()), float(top), rel_tol=1e-12)
    mask = z != 0
    assert torch.equal(z[mask], w[mask])
    assert torch.equal(sparse.project(z, params), z)


@pytest.mark.parametrize("rows,pes", [(32, 8), (30, 8), (12, 5)])
def test_balanced_variant_gives_every_pe_the_same_load(rows, pes):
    cols, rate = 16, 0.8
    params = Sparse(rate, pes)
    w = _weight(rows, cols, 1, lead=(3,))
    mask = sparse.pattern(w, params)
    k = math.floor((1 - rate) * rows * cols + 0.5)
    loads = sparse.pe_loads(mask, pes)
    assert loads.shape == (3, pes)
    assert (loads.sum(dim=1) == k).all() and (loads.max(dim=1).values - loads.min(dim=1).values <= 1).all()
    for g in range(3):  # each PE keeps its own largest weights (rows pe, pe + P, ...)
        for pe in range(pes):
            rows_pe, kept = w[g, pe::pes].abs().reshape(-1), mask[g, pe::pes].reshape(-1)
            if kept.any() and (~kept).any():
                assert float(rows_pe[kept].min()) >= float(rows_pe[~kept].max())
    assert torch.equal(sparse.project(sparse.project(w, params), params), sparse.project(w, params))
    s = sparse.storage(mask, params)
    assert s["pe_load_max"] == int(loads.max(dim=1).values.sum())


def test_plain_pruning_is_unbalanced_where_the_balanced_one_is_not():
    """A matrix whose large weights sit in a few rows: plain pruning loads one PE, the balanced variant
    spreads the same number of weights evenly (ESE's reason for it)."""
    w = _weight(16, 16, 2) * 0.01
    w[0] += 10  # row 0 (PE 0 of 4) holds the largest weights
    plain = sparse.pe_loads(sparse.pattern(w, Sparse(0.9)), 4)
    balanced = sparse.pe_loads(sparse.pattern(w, Sparse(0.9, 4)), 4)
    assert plain.max() > plain.min() + 1
    assert balanced.max() - balanced.min() <= 1 and balanced.sum() == plain.sum()


def test_storage_is_compressed_sparse_rows():
    params = Sparse(0.75)
    mask = sparse.pattern(_weight(32, 12, 3, lead=(4,)), params)
    s = sparse.storage(mask, params)
    nnz = int(mask.sum())
    assert s["values"] == nnz
    assert s["index_entries"] == nnz + 4 * 33
    assert s["index_bits"] == nnz * 4 + 4 * 33 * math.ceil(math.log2(32 * 12 + 1))


@pytest.mark.parametrize("bad", [0, 1, 2, -1, float("inf")])
def test_rate_outside_the_open_interval_is_refused(bad):
    with pytest.raises(ValueError, match="prune_rate must be"):
        Sparse(bad)


def test_negative_pes_are_refused():
    with pytest.raises(ValueError, match="pes .* must be an integer >= 0"):
        Sparse(0.5, -1)
