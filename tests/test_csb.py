"""CSB projection (ernn.train.csb): the properties its docstring claims, and the seam functions."""

import itertools
import math

import pytest
import torch

from ernn.shape.structures import CSB
from ernn.train import csb

CASES = [  # (rows, cols, block, rate): square, an input-side edge block (JapaneseVowels: 12 features), larger
    (32, 12, 16, 0.75),
    (32, 32, 16, 0.9),
    (32, 32, 8, 0.5),
    (64, 48, 16, 0.8636),
    (64, 64, 32, 0.95),
]


def _weight(rows, cols, seed, lead=()):
    return torch.randn(*lead, rows, cols, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _blocks(rows, cols, m):
    return [(r, c) for r in range(0, rows, m) for c in range(0, cols, m)]


@pytest.mark.parametrize("rows,cols,block,rate", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_projection_is_idempotent_and_keeps_values(rows, cols, block, rate, seed):
    params = CSB(block, rate)
    w = _weight(rows, cols, seed)
    z = csb.project(w, params)
    assert torch.equal(csb.project(z, params), z)  # values
    assert torch.equal(csb.pattern(z, params), csb.pattern(w, params))  # and pattern
    mask = csb.pattern(w, params)
    assert torch.equal(z[mask], w[mask]) and not z[~mask].any()
    # the residual is orthogonal to what is kept: ||W - Z||^2 = ||W||^2 - ||Z||^2
    assert math.isclose(float((w - z).pow(2).sum()), float(w.pow(2).sum() - z.pow(2).sum()), rel_tol=1e-12)


@pytest.mark.parametrize("rows,cols,block,rate", CASES)
def test_every_block_keeps_whole_rows_and_whole_columns(rows, cols, block, rate):
    mask = csb.pattern(_weight(rows, cols, 3), CSB(block, rate))
    for r0, c0 in _blocks(rows, cols, block):
        sub = mask[r0 : r0 + block, c0 : c0 + block]
        kept_rows, kept_cols = sub.any(dim=1), sub.any(dim=0)
        assert torch.equal(sub, kept_rows[:, None] & kept_cols[None, :]), (r0, c0)


@pytest.mark.parametrize("rows,cols,block,rate", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_row_and_column_steps_reach_the_target_rate(rows, cols, block, rate, seed):
    """Step 1 prunes floor(r1 rows + 1/2) row segments per block-column strip; step 2 prunes within half a
    column segment of r1 x the strip's step-1 entries; over the matrix the kept count lies within
    (rows + cols) / 2 of (1 - rate) rows cols."""
    params = CSB(block, rate)
    r1 = csb.row_rate(rate)
    assert math.isclose((1 - r1) ** 2, 1 - rate)
    mask = csb.pattern(_weight(rows, cols, seed), params)
    kept_rows = rows - math.floor(r1 * rows + 0.5)
    for c0 in range(0, cols, block):
        # a kept row keeps at least one column of its block, so it shows in the pattern
        assert int(mask[:, c0 : c0 + block].any(dim=1).sum()) == kept_rows
    for r0 in range(0, rows, block):
        strip = mask[r0 : r0 + block]
        step1 = sum(
            int(strip[:, c0 : c0 + block].any(dim=1).sum()) * strip[:, c0 : c0 + block].shape[1]
            for c0 in range(0, cols, block)
        )
        pruned = step1 - int(strip.sum())
        assert abs(pruned - r1 * step1) <= strip.shape[0] / 2, (r0, step1, pruned)
    kept, target = int(mask.sum()), (1 - rate) * rows * cols
    assert abs(kept - target) <= (rows + cols) / 2


def test_row_step_is_the_euclidean_projection_onto_its_set():
    """Step 1 keeps, in each block-column strip, the row segments of largest total energy: checked
    against every subset of the allowed size."""
    rows, cols, block, rate = 6, 4, 2, 0.6
    r1 = csb.row_rate(rate)
    keep_n = rows - math.floor(r1 * rows + 0.5)
    for seed in range(5):
        w = _weight(rows, cols, seed)
        keep = csb.row_step(w, block, r1)
        for j, c0 in enumerate(range(0, cols, block)):
            energy = w[:, c0 : c0 + block].pow(2).sum(dim=1)
            best = max(
                itertools.combinations(range(rows), keep_n), key=lambda s: float(energy[list(s)].sum())
            )
            assert sorted(keep[:, j].nonzero().flatten().tolist()) == sorted(best)


def test_stacked_gates_are_projected_one_by_one():
    params = CSB(8, 0.75)
    w = _weight(16, 12, 7, lead=(4,))
    z = csb.project_dense(w, params)
    for g in range(4):
        assert torch.equal(z[g], csb.project(w[g], params))
    assert torch.equal(csb.from_dense(w, params), z)
    assert torch.equal(csb.support(w, params), z != 0)


def test_apply_is_the_masked_dense_product():
    params = CSB(8, 0.75)
    stored = csb.project(_weight(16, 12, 8, lead=(3,)), params)
    x = _weight(5, 12, 9)
    y = csb.apply(csb.prepare(stored), x, 16)
    assert torch.allclose(y, x @ csb.dense_matrix(stored, 16, 12).reshape(48, 12).T)


def test_storage_counts_kernels_and_indices():
    params = CSB(8, 0.75)
    mask = csb.pattern(_weight(16, 12, 10, lead=(2,)), params)
    s = csb.storage(mask, params)
    blocks = 2 * 2 * 2  # 2 matrices x 2 block rows x 2 block columns (the second 4 wide)
    kept_rows = kept_cols = 0
    for g, (r0, c0) in itertools.product(range(2), _blocks(16, 12, 8)):
        sub = mask[g, r0 : r0 + 8, c0 : c0 + 8]
        kept_rows += int(sub.any(dim=1).sum())
        kept_cols += int(sub.any(dim=0).sum())
    assert s["values"] == int(mask.sum()) and s["blocks"] == blocks
    assert s["index_entries"] == 2 * blocks + kept_rows + kept_cols
    assert s["index_bits"] == 2 * blocks * 4 + (kept_rows + kept_cols) * 3  # counts 0..8: 4 bits; indices: 3


@pytest.mark.parametrize("bad", [0, 1, -0.5, 1.5, float("nan"), True])
def test_rate_outside_the_open_interval_is_refused(bad):
    with pytest.raises(ValueError, match="prune_rate must be"):
        CSB(16, bad)


@pytest.mark.parametrize("bad", [1, 0, 2.5, True])
def test_block_below_two_is_refused(bad):
    with pytest.raises(ValueError, match="block .* must be an integer >= 2"):
        CSB(bad, 0.5)
