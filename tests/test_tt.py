"""Tensor-train structure: modes, TT-SVD, the contraction and its multiply count, modules, rank adaptation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ernn.shape.structures import TensorTrain, params_from_dict, tt_modes
from ernn.train import tt


@pytest.mark.parametrize(("size", "cores"), [(1024, 4), (12, 2), (13, 2), (12, 3), (32, 3), (100, 2), (7, 2)])
def test_modes_cover_the_size_balanced(size, cores):
    modes = tt_modes(size, cores)
    assert len(modes) == cores and min(modes) >= 2 and list(modes) == sorted(modes)
    assert modes[-1] <= 2 * modes[0]
    n = math.prod(modes)
    assert n >= size
    # no smaller padded size has a balanced factorization (padding is minimal)
    for smaller in range(size, n):
        with pytest.raises(AssertionError):
            assert math.prod(tt_modes(smaller, cores)) == smaller


def test_sr1_hidden_size_splits_as_the_issue_says():
    assert tt_modes(1024, 4) == (4, 4, 8, 8)


def test_bad_configurations_are_refused_by_name():
    with pytest.raises(ValueError, match="size 6 cannot be split into 3 tensor-train modes"):
        tt_modes(6, 3)
    with pytest.raises(ValueError, match="cores"):
        TensorTrain(1, 4)
    with pytest.raises(ValueError, match="rank"):
        TensorTrain(2, 0)
    with pytest.raises(ValueError, match="rank_threshold"):
        TensorTrain(2, 4, 1.5)
    with pytest.raises(
        ValueError, match=r"tt rank 40 is larger than any of the matrices .* choose rank <= 16"
    ):
        tt.TTGRU(12, 32, structure=TensorTrain(2, 40))
    with pytest.raises(ValueError, match="cannot be split"):
        tt.TTLSTM(3, 32, structure=TensorTrain(2, 4))
    assert params_from_dict(TensorTrain(3, 5, 0.01).to_dict()) == TensorTrain(3, 5, 0.01)


@pytest.mark.parametrize(("rows", "cols", "cores"), [(32, 12, 2), (32, 12, 3), (20, 13, 2), (64, 64, 3)])
def test_tt_svd_is_exact_at_full_rank(rows, cols, cores):
    torch.manual_seed(rows + cols + cores)
    w = torch.randn(3, rows, cols, dtype=torch.float64)
    full = TensorTrain(cores, max(TensorTrain(cores, 1).max_ranks(rows, cols)))
    lay = tt.layout(rows, cols, full)
    got = tt.tt_full(tt.tt_svd(w, lay), rows, cols)
    assert torch.allclose(got, w, atol=1e-12)


def test_tt_svd_truncation_error_is_the_discarded_singular_values_for_two_cores():
    torch.manual_seed(1)
    w = torch.randn(1, 16, 16, dtype=torch.float64)
    lay = tt.layout(16, 16, TensorTrain(2, 3))
    err = (tt.tt_full(tt.tt_svd(w, lay), 16, 16) - w).norm()
    # two cores: W reshaped to (m1 n1, m2 n2) truncated by SVD (Eckart-Young)
    mat = w[0].reshape(4, 4, 4, 4).permute(0, 2, 1, 3).reshape(16, 16)
    s = torch.linalg.svdvals(mat)
    assert math.isclose(float(err), float(s[3:].norm()), rel_tol=1e-9)


@pytest.mark.parametrize(("rows", "cols", "cores", "rank"), [(32, 12, 2, 3), (48, 20, 3, 4), (64, 64, 4, 5)])
def test_contraction_equals_the_reconstructed_matrix(rows, cols, cores, rank):
    torch.manual_seed(rank)
    lay = tt.layout(rows, cols, TensorTrain(cores, rank))
    core_list = [torch.randn(2, *lay.core_shape(k), dtype=torch.float64) for k in range(cores)]
    x = torch.randn(5, 7, cols, dtype=torch.float64)
    y = tt.tt_matvec(core_list, x, rows)
    w = tt.tt_full(core_list, rows, cols)  # (2, rows, cols)
    assert torch.allclose(y, torch.einsum("grc,abc->abgr", w, x).reshape(5, 7, 2 * rows), atol=1e-10)


@pytest.mark.parametrize("order", ["rl", "lr"])
@pytest.mark.parametrize(
    ("rows", "cols", "cores", "rank"), [(32, 12, 2, 3), (1024, 153, 2, 4), (48, 20, 3, 4)]
)
def test_both_contraction_orders_compute_the_same_product(rows, cols, cores, rank, order):
    torch.manual_seed(cores)
    lay = tt.layout(rows, cols, TensorTrain(cores, rank))
    core_list = [torch.randn(3, *lay.core_shape(k), dtype=torch.float64) for k in range(cores)]
    x = torch.randn(4, cols, dtype=torch.float64)
    w = tt.tt_full(core_list, rows, cols)
    expect = torch.einsum("grc,bc->bgr", w, x).reshape(4, 3 * rows)
    assert torch.allclose(tt.tt_matvec(core_list, x, rows, order=order), expect, atol=1e-9)


@pytest.mark.parametrize(
    ("rows", "cols", "cores", "rank"), [(1024, 153, 4, 8), (1024, 153, 2, 8), (32, 12, 2, 4)]
)
def test_each_order_counts_what_it_performs_and_the_cheaper_one_runs(monkeypatch, rows, cols, cores, rank):
    lay = tt.layout(rows, cols, TensorTrain(cores, rank))
    core_list = [torch.zeros(1, *lay.core_shape(k)) for k in range(cores)]
    einsum = torch.einsum
    counted: dict[str, list[int]] = {}

    def counting(eq, a, b):
        out = einsum(eq, a, b)
        # the core's summed axes: (n_k, r_k) right to left, (r_{k-1}, n_k) left to right
        summed = a.shape[3] * a.shape[4] if eq.endswith("bgpaiq") else a.shape[1] * a.shape[3]
        counted.setdefault("now", []).append(out.numel() // (out.shape[0] * out.shape[1]) * summed)
        return out

    monkeypatch.setattr(torch, "einsum", counting)
    totals = {}
    for order in ("rl", "lr"):
        counted.clear()
        tt.tt_matvec(core_list, torch.zeros(1, cols), rows, order=order)
        per_core = counted["now"][::-1] if order == "rl" else counted["now"]
        assert per_core == tt.contraction_multiplies(lay, order=order)
        totals[order] = sum(per_core)
    assert totals["rl"] != totals["lr"]  # these shapes are chosen so that the order matters
    cheaper = min(totals, key=totals.get)
    assert tt.contraction_order(lay) == cheaper
    assert tt.multiplies(rows, cols, TensorTrain(cores, rank))["structured"] == totals[cheaper]
    counted.clear()
    tt.tt_matvec(core_list, torch.zeros(1, cols), rows)  # the default takes the cheaper order
    assert sum(counted["now"]) == totals[cheaper]
    with pytest.raises(ValueError, match="contraction order 'up'"):
        tt.tt_matvec(core_list, torch.zeros(1, cols), rows, order="up")


def test_multiply_count_is_what_the_contraction_performs(monkeypatch):
    lay = tt.layout(1024, 1024, TensorTrain(4, 8))
    assert lay.row_modes == lay.col_modes == (4, 4, 8, 8)
    cores = [torch.zeros(1, *lay.core_shape(k)) for k in range(4)]
    counted = []
    einsum = torch.einsum

    def counting(eq, a, b):
        out = einsum(eq, a, b)
        # every output entry is a sum over the contracted j (n_k) and s (r_k) axes of the core
        counted.append(out.numel() // (out.shape[0] * out.shape[1]) * a.shape[3] * a.shape[4])
        return out

    monkeypatch.setattr(torch, "einsum", counting)
    tt.tt_matvec(cores, torch.zeros(1, 1024), 1024)
    assert counted[::-1] == tt.contraction_multiplies(lay)
    assert tt.multiplies(1024, 1024, TensorTrain(4, 8), gates=4) == {
        "dense": 4 * 1024 * 1024,
        "structured": 4 * sum(counted),
    }


def test_seam_functions_round_trip():
    params = TensorTrain(3, 6)
    torch.manual_seed(2)
    w = torch.randn(4, 32, 24, dtype=torch.float64)
    stored = tt.from_dense(w, params)
    assert tuple(stored.shape[1:]) == tt.parameter_shape(32, 24, params)
    dense = tt.dense_matrix(stored, 32, 24)
    assert torch.allclose(dense, tt.project_dense(w, params))
    assert torch.allclose(tt.project_dense(dense, params), dense, atol=1e-10)  # idempotent
    x = torch.randn(3, 24, dtype=torch.float64)
    assert torch.allclose(
        tt.apply(tt.prepare(stored), x, 32), torch.einsum("grc,bc->bgr", dense, x).reshape(3, -1)
    )
    assert tt.support(w, params) is None


def test_from_torch_at_full_rank_computes_what_the_torch_module_computes():
    torch.manual_seed(3)
    x = torch.randn(4, 6, 12, dtype=torch.float64)
    lstmp = nn.LSTM(12, 32, batch_first=True, proj_size=16).double()
    ours = tt.from_torch(lstmp, TensorTrain(2, 16))
    (a, (_, c)), (b, (_, c2)) = lstmp(x), ours(x)
    assert torch.allclose(a, b, atol=1e-12) and torch.allclose(c, c2, atol=1e-12)
    gru = nn.GRU(12, 32, batch_first=True).double()
    ours = tt.from_torch(gru, TensorTrain(3, 16))
    assert torch.allclose(gru(x)[0], ours(x)[0], atol=1e-12)
    back = ours.to_torch()
    assert torch.allclose(back(x)[0], gru(x)[0], atol=1e-12)


def test_parameter_counts_are_the_core_sizes():
    params = TensorTrain(2, 4)
    model = tt.TTLSTM(12, 32, proj_size=16, structure=params)
    cores = sum(p.numel() for n, p in model.named_parameters() if "_core" in n)
    counts = model.parameter_counts()
    assert counts["weights_stored"] == cores
    expect = 0
    for rows, cols, gates in ((32, 12, 4), (32, 16, 4), (16, 32, 1)):
        lay = tt.layout(rows, cols, params)
        expect += gates * sum(math.prod(lay.core_shape(k)) for k in range(2))
    assert cores == expect
    assert counts["weights_dense"] == 4 * 32 * 12 + 4 * 32 * 16 + 16 * 32
    assert counts["total_stored"] == cores + 2 * 4 * 32


def _fit_low_rank(threshold: float, seed: int) -> tuple[tt.TTLinear, torch.Tensor, torch.Tensor]:
    """A TT linear layer of rank 8 fitted to a map of TT-rank 2 (plus noise), with the rank prior."""
    torch.manual_seed(100)
    lay = tt.layout(16, 16, TensorTrain(2, 2))
    w = tt.tt_full([torch.randn(1, *lay.core_shape(k)) for k in range(2)], 16, 16)[0]
    x = torch.randn(256, 16)
    y = x @ w.T + 0.01 * torch.randn(256, 16)
    torch.manual_seed(seed)
    model = tt.TTLinear(16, 16, TensorTrain(2, 8, threshold))
    prior = tt.RankPrior(model, 256, threshold)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(300):
        loss = ((model(x) - y) ** 2).sum(1).mean() + prior.penalty()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 9:
            prior.update()
    return model, x, w


@pytest.mark.parametrize("seed", [0, 1])
def test_ranks_shrink_to_the_rank_of_the_data(seed):
    torch.set_num_threads(1)
    model, x, w = _fit_low_rank(0.02, seed)
    assert model.effective_ranks() == {"weight": [[1, 2, 1]]}
    with torch.no_grad():
        err = (model(x) - model.bias - x @ w.T).pow(2).mean() / (x @ w.T).pow(2).mean()
    assert float(err) < 1e-3
    assert model.parameter_counts()["weights_stored"] == 2 * (16 * 2)


def test_prior_update_keeps_the_matrix_and_prunes_nothing_without_a_threshold():
    torch.manual_seed(5)
    model = tt.TTLinear(16, 12, TensorTrain(3, 4))
    before = model.dense_weight("weight").clone()
    ranks = tt.RankPrior(model, 100, 0.0).update()
    assert torch.allclose(model.dense_weight("weight"), before, atol=1e-6)
    assert ranks == {"weight": [[1, *tt.layout(12, 16, TensorTrain(3, 4)).ranks[1:-1], 1]]}
