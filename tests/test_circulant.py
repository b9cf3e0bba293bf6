"""Block-circulant maths against an explicit dense construction."""

import itertools

import pytest
import torch

from ernn.train import circulant

SHAPES = [(8, 8), (16, 4), (4, 16), (10, 7), (5, 13), (33, 20), (3, 3)]
BLOCKS = [1, 2, 4, 8, 16, 32]


def explicit_dense(vectors: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """The definition, written out with loops: block (i, j), entry (r, s) = c_ij[(r - s) mod k]."""
    p, q, k = vectors.shape
    full = torch.zeros(p * k, q * k, dtype=vectors.dtype)
    for i, j, r, s in itertools.product(range(p), range(q), range(k), range(k)):
        full[i * k + r, j * k + s] = vectors[i, j, (r - s) % k]
    return full[:rows, :cols]


@pytest.mark.parametrize(("rows", "cols"), SHAPES)
@pytest.mark.parametrize("k", BLOCKS)
def test_expand_and_matvec_match_explicit_construction(rows, cols, k):
    gen = torch.Generator().manual_seed(rows * 1000 + cols * 10 + k)
    v = torch.randn(2, *circulant.vector_shape(rows, cols, k), generator=gen, dtype=torch.float64)
    dense = torch.stack([explicit_dense(v[g], rows, cols) for g in range(2)])
    assert torch.equal(circulant.expand(v, rows, cols), dense)
    x = torch.randn(5, cols, generator=gen, dtype=torch.float64)
    want = torch.einsum("grc,bc->bgr", dense, x).reshape(5, -1)
    torch.testing.assert_close(circulant.matvec(v, x, rows), want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(circulant.matvec_dense(v, x, rows), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("rows", "cols"), SHAPES)
@pytest.mark.parametrize("k", [2, 4, 8, 16])
def test_projection_is_idempotent_orthogonal_and_diagonal_mean(rows, cols, k):
    gen = torch.Generator().manual_seed(rows + 100 * cols + k)
    w = torch.randn(rows, cols, generator=gen, dtype=torch.float64)
    z = circulant.project(w, k)
    torch.testing.assert_close(circulant.project(z, k), z, rtol=0, atol=1e-12)  # idempotent
    # The residual is orthogonal to every element of the subspace (spanned by single-vector-entry matrices).
    p, q, _ = circulant.vector_shape(rows, cols, k)
    basis = torch.eye(p * q * k, dtype=torch.float64).reshape(-1, p, q, k)
    inner = torch.einsum("rc,nrc->n", w - z, circulant.expand(basis, rows, cols))
    assert inner.abs().max() < 1e-10
    # Diagonal averaging, written out: mean of the in-range entries of each wrapped diagonal.
    padded = torch.zeros(p * k, q * k, dtype=torch.float64)
    padded[:rows, :cols] = w
    for i, j, d in itertools.product(range(p), range(q), range(k)):
        entries = [
            padded[i * k + r, j * k + s]
            for r in range(k)
            for s in range(k)
            if (r - s) % k == d and i * k + r < rows and j * k + s < cols
        ]
        want = sum(entries) / len(entries) if entries else 0.0
        got = circulant.defining_vectors(w, k)[i, j, d]
        assert abs(float(got) - float(want)) < 1e-12


def test_block_size_one_is_dense():
    w = torch.randn(6, 5, dtype=torch.float64)
    assert torch.equal(circulant.project(w, 1), w)


@pytest.mark.parametrize("bad", [0, 3, 6, -4, 2.0, True])
def test_block_size_must_be_a_power_of_two(bad):
    with pytest.raises(ValueError, match="block_size"):
        circulant.check_block_size(bad)


def test_expand_rejects_mismatched_vectors():
    with pytest.raises(ValueError, match="do not define"):
        circulant.expand(torch.zeros(2, 2, 4), 16, 8)


def test_multiply_counts_favour_fft_for_large_blocks():
    counts = circulant.real_multiplies(1024, 1024, 16, gates=4)
    assert counts["dense"] == 4 * 1024 * 1024
    assert counts["fft"] < counts["dense"] / 4
