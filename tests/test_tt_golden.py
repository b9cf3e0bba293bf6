"""The integer golden training step of tensor-train networks (golden/tt_train.py, golden/tt_formats.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ernn.golden import tt_train as g
from ernn.golden.formats import QFormat
from ernn.golden.reference import fx, raw, rq
from ernn.golden.tt_formats import (
    LFSR_POLY,
    LaneLFSR,
    TTTrainFormats,
    galois_polynomial,
    is_primitive_gf2,
)
from ernn.shape.structures import TensorTrain
from ernn.train import tt as torch_tt

FMT = TTTrainFormats()


# ------------------------------------------------------------------------------------------------ LFSR
def test_lfsr_polynomial_is_primitive():
    assert galois_polynomial(LFSR_POLY) == (1 << 32) | (1 << 22) | (1 << 2) | (1 << 1) | 1
    assert is_primitive_gf2(galois_polynomial(LFSR_POLY))
    assert not is_primitive_gf2((1 << 32) | 1)  # x^32 + 1 is not: the check can fail


def _one_lane_reference(seed: int, count: int, bits: int) -> list[int]:
    """The docstring's LFSR, written out one step at a time."""
    s = (seed & 0xFFFFFFFF) or 1
    out = []
    for _ in range(count):
        v = 0
        for _ in range(bits):
            bit = s & 1
            s >>= 1
            if bit:
                s ^= LFSR_POLY
            v = (v << 1) | bit
        out.append(v)
    return out


def test_lfsr_draws_follow_the_documented_order():
    lanes, seed = 3, 12345
    lfsr = LaneLFSR(seed, lanes)
    got = list(lfsr.draw(5, 7)) + list(lfsr.draw(6, 7))  # a call boundary inside a round
    refs = [_one_lane_reference(seed + lane * 0x9E3779B9, 4, 7) for lane in range(lanes)]
    assert got == [refs[i % lanes][i // lanes] for i in range(11)]


def test_stochastic_rounding_is_unbiased():
    shift, count = 6, 20000
    lfsr = LaneLFSR(7, 8)
    value = 1000  # 15.625 LSBs after the shift
    rounded = (value + lfsr.draw(count, shift)) >> shift
    assert set(np.unique(rounded)) == {15, 16}
    p = (value % (1 << shift)) / (1 << shift)
    sigma = np.sqrt(p * (1 - p) / count)
    assert abs(rounded.mean() - value / (1 << shift)) < 5 * sigma


# ------------------------------------------------------------------------------------------------ formats
def test_formats_too_narrow_are_refused_at_configuration_time():
    with pytest.raises(ValueError, match="grad Q16.12 is too narrow for the gradients"):
        TTTrainFormats(grad=QFormat(16, 12))
    with pytest.raises(ValueError, match="must hold 1.0 and -1.0"):
        TTTrainFormats(act=QFormat(8, 7))
    with pytest.raises(ValueError, match="at most 16 bits"):
        TTTrainFormats(core=QFormat(20, 10))
    with pytest.raises(ValueError, match="lr_shift"):
        TTTrainFormats(lr_shift=-1)


# ------------------------------------------------------------------------------------------------ TT-MLP
def _mlp_case(seed: int, cores: int = 2, rank: int = 4, batch: int = 8):
    shapes = g.mlp_shapes(16, 10, TensorTrain(cores, rank))
    state = g.random_state(shapes, FMT, seed)
    rng = np.random.default_rng(seed)
    return state, rng.integers(-64, 64, (batch, 16)), rng.integers(0, 10, batch)


@pytest.mark.parametrize(("seed", "cores"), [(0, 2), (1, 2), (2, 3)])
def test_mlp_forward_and_gradients_lie_within_the_computed_bounds(seed, cores):
    state, x, labels = _mlp_case(seed, cores)
    _, res = g.mlp_step(state, x, labels, FMT)
    deq = g.dequantized(state, FMT)
    _, y_float, grads_float = g.float_mlp_step(deq, state.shapes["w"], x / 2**FMT.x.frac, labels, 0.0)
    y_bound, _ = g.mlp_forward_bound(state, x, FMT)
    assert np.all(np.abs(res.y / 2**FMT.inter.frac - y_float) <= y_bound)
    bounds = g.mlp_gradient_bound(state, x, labels, FMT)
    for name, exact in grads_float.items():
        got = res.grads[name] / 2.0 ** res.grad_fracs[name]
        err = np.abs(got - exact)
        assert np.all(err <= bounds[name]), f"seed {seed}: {name} beyond its bound"
        # the bound is informative: well below the gradient itself
        assert bounds[name].max() < 0.25 * np.abs(exact).max()


def test_mlp_float_reference_is_autograd_of_the_same_algorithm():
    state, x, labels = _mlp_case(3, cores=3)
    deq = g.dequantized(state, FMT)
    shape = state.shapes["w"]
    _, _, grads = g.float_mlp_step(deq, shape, x / 2**FMT.x.frac, labels, 0.0)
    cores = [torch.tensor(deq[f"w{k}"], requires_grad=True) for k in range(shape.cores)]
    bias = torch.tensor(deq["b"], requires_grad=True)
    y = torch_tt.tt_matvec(cores, torch.tensor(x / 2**FMT.x.frac), shape.rows) + bias
    target = torch.nn.functional.one_hot(torch.tensor(labels), 10).double()
    (0.5 * (y - target).pow(2).sum()).backward()
    for k, core in enumerate(cores):
        assert np.allclose(core.grad.numpy(), grads[f"w{k}"], atol=1e-12)
    assert np.allclose(bias.grad.numpy(), grads["b"], atol=1e-12)


def test_mlp_rounding_points_match_fxpmath():
    """Each core's rounding (round half up, saturate into inter) and the stochastic update, through fxpmath."""
    state, x, labels = _mlp_case(4, cores=2)
    shape = state.shapes["w"]
    cores = state.cores("w")
    shifts = [FMT.core.frac + (FMT.x.frac if k == 1 else FMT.inter.frac) - FMT.inter.frac for k in range(2)]
    y, saved = g.tt_forward(cores, x, shape, shifts, FMT.inter)
    for k in (1, 0):
        exact = np.einsum("gaijs,bgpjsq->bgpaiq", cores[k], saved[k])
        frac = FMT.core.frac + (FMT.x.frac if k == 1 else FMT.inter.frac)
        ref = raw(rq(fx(exact, QFormat(40, frac)), FMT.inter))
        ours = g.tt_forward(cores, x, shape, shifts, FMT.inter)[1][0] if k == 1 else None
        if k == 1:  # core 1's rounded output is core 0's input
            assert np.array_equal(ref.reshape(ours.shape), ours)
        else:
            assert np.array_equal(ref.reshape(len(x), -1)[:, : shape.rows], y)
    new, res = g.mlp_step(state, x, labels, FMT)
    lfsr = LaneLFSR(FMT.seed, FMT.sr_lanes)
    for name in ("w0", "w1", "b"):  # UPDATE_ORDER: the matrix, then its bias
        fmt = FMT.inter if name == "b" else FMT.core
        shift = res.grad_fracs[name] + FMT.lr_shift - fmt.frac
        grad = res.grads[name]
        rand = lfsr.draw(grad.size, shift).reshape(grad.shape)
        stepped = rq(fx(grad + rand, QFormat(48, shift)), QFormat(48, 0), rounding="floor")
        ref = raw(rq(fx(state.tensors[name] - raw(stepped), QFormat(48, 0)), QFormat(fmt.word, 0)))
        assert np.array_equal(ref, new.tensors[name]), name


def test_same_seed_same_integers_other_seed_other_integers():
    def run(seed: int) -> g.TTState:
        fmts = TTTrainFormats(seed=seed)
        state, x, labels = _mlp_case(5)
        state.lfsr = LaneLFSR(fmts.seed, fmts.sr_lanes)
        for _ in range(3):
            state, _ = g.mlp_step(state, x, labels, fmts)
        return state

    a, b, c = run(11), run(11), run(12)
    assert all(np.array_equal(a.tensors[n], b.tensors[n]) for n in a.tensors)
    assert np.array_equal(a.lfsr.state, b.lfsr.state)
    assert any(not np.array_equal(a.tensors[n], c.tensors[n]) for n in a.tensors)


def test_mlp_training_lowers_the_loss():
    state, x, labels = _mlp_case(6, batch=32)
    first = None
    for _ in range(30):
        state, res = g.mlp_step(state, x, labels, FMT)
        first = first if first is not None else res.loss
    assert res.loss < 0.5 * first


# ------------------------------------------------------------------------------------------------ rank
def test_a_weak_rank_slice_is_pruned_and_stays_zero():
    fmts = TTTrainFormats(prune_shift=6, lr_shift=12)
    state, x, labels = _mlp_case(7, rank=4)
    state.tensors["w0"][..., 2] //= 16  # slice 2 of the boundary: ~1/256 of the others' energy
    state.tensors["w1"][:, 2] //= 16
    new, _ = g.mlp_step(state, x, labels, fmts)
    assert g.ranks(new)["w"] == [[1, 3, 1]]
    assert not new.tensors["w0"][..., 2].any() and not new.tensors["w1"][:, 2].any()
    again, _ = g.mlp_step(new, x, labels, fmts)
    assert not again.tensors["w0"][..., 2].any() and g.ranks(again)["w"] == [[1, 3, 1]]


def test_prior_decay_is_the_documented_integer_formula():
    fmts = TTTrainFormats(prior_samples=270)
    state, _, _ = _mlp_case(8, rank=3)
    decay = g.prior_decay(state, fmts, batch=16)["w_decay1"]
    left, right = state.tensors["w0"], state.tensors["w1"]
    for j in range(3):
        energy = int((left[..., j].astype(object) ** 2).sum() + (right[:, j].astype(object) ** 2).sum())
        count = left[..., j].size + right[:, j].size
        want = min((16 * (count + 2) << (2 * fmts.core.frac + 16)) // (270 * energy), (1 << 24) - 1)
        assert decay[0, j] == want


# ------------------------------------------------------------------------------------------------ TT-GRU
def _gru_case(seed: int):
    shapes = g.gru_shapes(12, 16, 9, TensorTrain(2, 4))
    state = g.random_state(shapes, FMT, seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(-64, 64, (4, 6, 12))
    return state, x, np.array([6, 3, 5, 1]), rng.integers(0, 9, 4)


def _torch_gru_grads(deq, shapes, x, lengths, labels):
    """Autograd of the same float algorithm written in torch (hard sigmoid / tanh as clamps)."""
    ten = {n: torch.tensor(v, requires_grad=True) for n, v in deq.items()}
    hid = shapes["h_core"].rows
    xc = [ten[f"x_core{k}"] for k in range(2)]
    hc = [ten[f"h_core{k}"] for k in range(2)]
    h = torch.zeros(len(x), hid, dtype=torch.float64)
    xt = torch.tensor(x)
    for t in range(x.shape[1]):
        ax = torch_tt.tt_matvec(xc, xt[:, t], hid) + ten["bx"]
        ah = torch_tt.tt_matvec(hc, h, hid) + ten["bh"]
        r = torch.clamp((ax[:, :hid] + ah[:, :hid]) / 4 + 0.5, 0, 1)
        z = torch.clamp((ax[:, hid : 2 * hid] + ah[:, hid : 2 * hid]) / 4 + 0.5, 0, 1)
        n = torch.clamp(ax[:, 2 * hid :] + r * ah[:, 2 * hid :], -1, 1)
        h_new = n + z * (h - n)
        valid = torch.tensor(t < lengths)[:, None]
        h = torch.where(valid, h_new, h)
    y = torch_tt.tt_matvec([ten["head0"]], h, 9) + ten["bhead"]
    target = torch.nn.functional.one_hot(torch.tensor(labels), 9).double()
    (0.5 * (y - target).pow(2).sum()).backward()
    return {n: v.grad.numpy() for n, v in ten.items()}


def test_gru_float_reference_is_autograd_of_the_same_algorithm():
    state, x, lengths, labels = _gru_case(0)
    deq = g.dequantized(state, FMT)
    _, _, grads, _ = g.float_gru_step(deq, state.shapes, x / 2**FMT.x.frac, lengths, labels, 0.0)
    auto = _torch_gru_grads(deq, state.shapes, x / 2**FMT.x.frac, lengths, labels)
    for name, value in grads.items():
        assert np.allclose(value, auto[name], atol=1e-12), name


@pytest.mark.parametrize("seed", [1, 2])
def test_gru_integer_step_follows_the_float_reference(seed):
    state, x, lengths, labels = _gru_case(seed)
    _, res = g.gru_step(state, x, lengths, labels, FMT)
    deq = g.dequantized(state, FMT)
    _, y_float, grads, _ = g.float_gru_step(deq, state.shapes, x / 2**FMT.x.frac, lengths, labels, 0.0)
    # no per-element bound through time is derived (the gates' clip points make it data dependent): the
    # outputs are checked to a tenth of their range and every gradient by its direction
    assert np.abs(res.y / 2**FMT.inter.frac - y_float).max() < 0.1 * np.abs(y_float).max()
    for name, exact in grads.items():
        got = res.grads[name] / 2.0 ** res.grad_fracs[name]
        cos = float((got * exact).sum() / np.sqrt((got**2).sum() * (exact**2).sum()))
        assert cos > 0.995, f"seed {seed}: {name} cosine {cos}"


def test_gru_step_is_deterministic_and_keeps_formats():
    state, x, lengths, labels = _gru_case(3)
    a, _ = g.gru_step(state, x, lengths, labels, FMT)
    b, _ = g.gru_step(state, x, lengths, labels, FMT)
    for name, value in a.tensors.items():
        assert np.array_equal(value, b.tensors[name])
        fmt = FMT.inter if name.startswith("b") else FMT.core
        assert value.min() >= fmt.min_int and value.max() <= fmt.max_int


def test_recomputing_the_forward_in_the_backward_pass_gives_the_same_integers():
    state, x, lengths, labels = _gru_case(4)
    kept, res_kept = g.gru_step(state, x, lengths, labels, FMT)
    again, res_again = g.gru_step(state, x, lengths, labels, FMT, recompute=True)
    for name, value in kept.tensors.items():
        assert np.array_equal(value, again.tensors[name]), name
    for name, value in res_kept.grads.items():
        assert np.array_equal(value, res_again.grads[name]), name


def test_a_tt_head_trains_like_the_float_reference():
    shapes = g.gru_shapes(12, 16, 9, TensorTrain(2, 4), head=TensorTrain(2, 3))
    assert shapes["head"].cores == 2
    state = g.random_state(shapes, FMT, 5)
    rng = np.random.default_rng(5)
    x, lengths, labels = rng.integers(-64, 64, (4, 5, 12)), np.array([5, 2, 4, 3]), rng.integers(0, 9, 4)
    _, res = g.gru_step(state, x, lengths, labels, FMT)
    deq = g.dequantized(state, FMT)
    _, _, grads, _ = g.float_gru_step(deq, shapes, x / 2**FMT.x.frac, lengths, labels, 0.0)
    for name in ("head0", "head1"):
        got = res.grads[name] / 2.0 ** res.grad_fracs[name]
        cos = float((got * grads[name]).sum() / np.sqrt((got**2).sum() * (grads[name] ** 2).sum()))
        assert cos > 0.995, f"{name} cosine {cos}"


def test_a_pruned_slice_never_comes_back_even_when_the_kept_ones_decay_to_zero():
    fmts = TTTrainFormats(prune_shift=2)
    state, _, _ = _mlp_case(9, rank=4)
    state.masks["w_mask1"][:] = [[0, 1, 0, 0]]  # only slice 1 kept ...
    state.tensors["w0"][:] = 0  # ... and it has decayed to nothing
    state.tensors["w1"][:] = 0
    g.prune(state, fmts)
    assert state.masks["w_mask1"].tolist() == [[0, 1, 0, 0]]


# ------------------------------------------------------------------------------------------------ TT-LSTM
#: wide formats (16-bit act and cores, 16 inter fraction bits): the running-error bounds shrink with the
#: LSBs, so at these widths they must also be small against the gradients (the analysis is not vacuous)
WIDE = TTTrainFormats(
    core=QFormat(16, 12), x=QFormat(16, 11), act=QFormat(16, 12), inter=QFormat(28, 16), grad=QFormat(32, 18)
)


def _lstm_case(seed: int, fmts: TTTrainFormats = FMT, steps: int = 6, batch: int = 4):
    shapes = g.lstm_shapes(12, 16, 9, TensorTrain(2, 4))
    state = g.random_state(shapes, fmts, seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(-64, 64, (batch, steps, 12)) << (fmts.x.frac - FMT.x.frac)
    lengths = rng.integers(1, steps + 1, batch)
    lengths[0] = steps
    return state, x, lengths, rng.integers(0, 9, batch)


def _torch_lstm_grads(deq, shapes, x, lengths, labels):
    """Autograd of the same float algorithm written in torch (hard sigmoid / tanh as clamps)."""
    ten = {n: torch.tensor(v, requires_grad=True) for n, v in deq.items()}
    hid = shapes["h_core"].rows
    xc = [ten[f"x_core{k}"] for k in range(2)]
    hc = [ten[f"h_core{k}"] for k in range(2)]
    h = torch.zeros(len(x), hid, dtype=torch.float64)
    c = torch.zeros_like(h)
    xt = torch.tensor(x)
    for t in range(x.shape[1]):
        pre = torch_tt.tt_matvec(xc, xt[:, t], hid) + ten["bx"] + torch_tt.tt_matvec(hc, h, hid) + ten["bh"]
        i, f, gg, o = pre.split(hid, dim=1)
        i, f, o = (torch.clamp(v / 4 + 0.5, 0, 1) for v in (i, f, o))
        c_new = f * c + i * torch.clamp(gg, -1, 1)
        h_new = o * torch.clamp(c_new, -1, 1)
        valid = torch.tensor(t < lengths)[:, None]
        h, c = torch.where(valid, h_new, h), torch.where(valid, c_new, c)
    y = torch_tt.tt_matvec([ten["head0"]], h, 9) + ten["bhead"]
    target = torch.nn.functional.one_hot(torch.tensor(labels), 9).double()
    (0.5 * (y - target).pow(2).sum()).backward()
    return {n: v.grad.numpy() for n, v in ten.items()}


def test_lstm_float_reference_is_autograd_of_the_same_algorithm():
    state, x, lengths, labels = _lstm_case(0)
    deq = g.dequantized(state, FMT)
    _, _, grads, _ = g.float_lstm_step(deq, state.shapes, x / 2**FMT.x.frac, lengths, labels, 0.0)
    auto = _torch_lstm_grads(deq, state.shapes, x / 2**FMT.x.frac, lengths, labels)
    assert set(grads) == set(auto)
    for name, value in grads.items():
        assert np.allclose(value, auto[name], atol=1e-12), name


def _check_lstm_bounds(state, x, lengths, labels, fmts, seed):
    """Every output and gradient element of the integer step within the computed bound of the float one;
    returns the largest bound / largest |gradient| over the tensors."""
    _, res = g.lstm_step(state, x, lengths, labels, fmts)
    deq = g.dequantized(state, fmts)
    _, y_float, grads, _ = g.float_lstm_step(deq, state.shapes, x / 2**fmts.x.frac, lengths, labels, 0.0)
    y_bound, bounds = g.lstm_bounds(state, x, lengths, labels, fmts)
    y_err = np.abs(res.y / 2**fmts.inter.frac - y_float)
    assert np.all(y_err <= y_bound), f"seed {seed}: y beyond its bound at {np.argwhere(y_err > y_bound)[0]}"
    worst = 0.0
    for name, exact in grads.items():
        err = np.abs(res.grads[name] / 2.0 ** res.grad_fracs[name] - exact)
        beyond = np.argwhere(err > bounds[name])
        assert not len(beyond), f"seed {seed}: {name} beyond its bound first at {beyond[0]}"
        worst = max(worst, float(bounds[name].max() / np.abs(exact).max()))
    return res, grads, worst


@pytest.mark.parametrize("seed", [1, 2])
def test_lstm_integer_step_lies_within_the_computed_bounds(seed):
    state, x, lengths, labels = _lstm_case(seed)
    res, grads, _ = _check_lstm_bounds(state, x, lengths, labels, FMT, seed)
    # at 8-bit activations the worst-case bound through six steps is loose (numerics section 16): the
    # gradients' directions are checked as for the GRU
    for name, exact in grads.items():
        got = res.grads[name] / 2.0 ** res.grad_fracs[name]
        cos = float((got * exact).sum() / np.sqrt((got**2).sum() * (exact**2).sum()))
        assert cos > 0.995, f"seed {seed}: {name} cosine {cos}"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lstm_bounds_are_tight_at_wide_formats(seed):
    state, x, lengths, labels = _lstm_case(seed, WIDE, steps=4)
    _, _, worst = _check_lstm_bounds(state, x, lengths, labels, WIDE, seed)
    assert worst < 0.25, f"seed {seed}: a bound is {worst:.2f} of its gradient's largest element"


def test_lstm_cell_rounding_points_match_fxpmath():
    """c_t = round_inter(f c_{t-1} + i g) with one rounding and h_t = round_act(o clip(c_t)), via fxpmath."""
    state, x, _, labels = _lstm_case(3)
    lengths = np.full(len(x), x.shape[1])
    tape: list = []
    _, _, hs, _ = g._lstm_run(
        state.tensors, state.shapes, x, lengths, labels, FMT, backward=False, tape_out=tape
    )
    act, inter = FMT.act, FMT.inter
    for t in range(1, x.shape[1] - 1):
        e = dict(zip(g.LSTM_TAPE_FIELDS, tape[t], strict=True))
        exact = fx(e["f"], act) * fx(e["c_prev"], inter) + fx(e["i"], act) * fx(e["g"], act)
        c_new = raw(rq(exact, inter))
        nxt = dict(zip(g.LSTM_TAPE_FIELDS, tape[t + 1], strict=True))
        assert np.array_equal(c_new, nxt["c_prev"]), t
        tc = np.clip(
            raw(rq(fx(c_new, inter), QFormat(inter.word, act.frac))), -(1 << act.frac), 1 << act.frac
        )
        assert np.array_equal(tc, e["tc"]), t
        assert np.array_equal(raw(rq(fx(e["o"], act) * fx(tc, act), act)), hs[:, t]), t


def test_lstm_recompute_gives_the_same_integers_and_the_step_is_deterministic():
    state, x, lengths, labels = _lstm_case(4)
    kept, res_kept = g.lstm_step(state, x, lengths, labels, FMT)
    again, res_again = g.lstm_step(state, x, lengths, labels, FMT, recompute=True)
    for name, value in kept.tensors.items():
        assert np.array_equal(value, again.tensors[name]), name
        fmt = FMT.inter if name.startswith("b") else FMT.core
        assert value.min() >= fmt.min_int and value.max() <= fmt.max_int
    for name, value in res_kept.grads.items():
        assert np.array_equal(value, res_again.grads[name]), name
    assert np.array_equal(kept.lfsr.state, again.lfsr.state)


def test_lstm_training_lowers_the_loss_and_prunes_with_the_prior():
    fmts = TTTrainFormats(lr_shift=4, prune_shift=2, prior_samples=640)
    state, x, lengths, labels = _lstm_case(5, fmts, steps=4, batch=8)
    first = None
    for _ in range(30):
        state, res = g.lstm_step(state, x, lengths, labels, fmts)
        first = first if first is not None else res.loss
    assert res.loss < 0.25 * first
    ranks = g.ranks(state)
    assert {len(r) for r in ranks["x_core"]} == {3} and len(ranks["x_core"]) == 4  # four gates
    assert any(r[1] < 4 for m in ("x_core", "h_core") for r in ranks[m]), ranks


# ------------------------------------------------------------------------------------------------ grad_store
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gradients_held_in_a_wide_enough_store_are_the_exact_sums(cell):
    """Q32.22 has at least every exact gradient's fraction bits: nothing is rounded, the sums are the
    default step's, shifted (the update then draws more bits, so only the gradients are compared)."""
    store = TTTrainFormats(grad_store=QFormat(32, 22))
    case = _gru_case(6) if cell == "gru" else _lstm_case(6)
    step = g.gru_step if cell == "gru" else g.lstm_step
    _, exact = step(*case, FMT)
    _, held = step(*case, store)
    for name, value in exact.grads.items():
        assert held.grad_fracs[name] == 22 and exact.grad_fracs[name] <= 22
        assert np.array_equal(held.grads[name], value << (22 - exact.grad_fracs[name])), name


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gradients_held_in_grad_store_are_rounded_once_per_time_step(cell):
    fmt = QFormat(20, 12)
    store = TTTrainFormats(grad_store=fmt)
    case = _gru_case(7) if cell == "gru" else _lstm_case(7)
    step = g.gru_step if cell == "gru" else g.lstm_step
    steps = case[1].shape[1]
    _, exact = step(*case, FMT)
    _, held = step(*case, store)
    half = 2.0 ** -(fmt.frac + 1)
    for name, value in held.grads.items():
        assert value.min() >= fmt.min_int and value.max() <= fmt.max_int
        err = np.abs(value / 2.0**fmt.frac - exact.grads[name] / 2.0 ** exact.grad_fracs[name])
        roundings = (
            1 if name.startswith(("head", "bhead")) else steps
        )  # head: once per step; the rest per time step
        assert err.max() <= roundings * half, f"{cell} {name}: {err.max()} > {roundings} half LSBs"
        if exact.grad_fracs[name] > fmt.frac:  # core gradients carry more fraction bits: some must round
            assert err.max() > 0, f"{cell} {name}: nothing was rounded"


def test_grad_store_formats_too_narrow_are_refused_and_recorded_only_when_set():
    with pytest.raises(ValueError, match="grad_store Q16.12 is too narrow for the gradients"):
        TTTrainFormats(grad_store=QFormat(16, 12))
    with pytest.raises(ValueError, match="grad_store is a memory word: at most 32 bits"):
        TTTrainFormats(grad_store=QFormat(40, 20))
    assert "grad_store" not in TTTrainFormats().to_dict()
    assert TTTrainFormats(grad_store=QFormat(20, 12)).to_dict()["grad_store"] == {"word": 20, "frac": 12}


# ------------------------------------------------------------------------------------------------ GRU bounds
def _gru_bound_case(seed: int, fmts: TTTrainFormats, steps: int):
    shapes = g.gru_shapes(12, 16, 9, TensorTrain(2, 4))
    state = g.random_state(shapes, fmts, seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(-64, 64, (4, steps, 12)) << (fmts.x.frac - FMT.x.frac)
    lengths = rng.integers(1, steps + 1, 4)
    lengths[0] = steps
    return state, x, lengths, rng.integers(0, 9, 4)


def _check_gru_bounds(state, x, lengths, labels, fmts, seed):
    _, res = g.gru_step(state, x, lengths, labels, fmts)
    deq = g.dequantized(state, fmts)
    _, y_float, grads, _ = g.float_gru_step(deq, state.shapes, x / 2**fmts.x.frac, lengths, labels, 0.0)
    y_bound, bounds = g.gru_bounds(state, x, lengths, labels, fmts)
    y_err = np.abs(res.y / 2**fmts.inter.frac - y_float)
    assert np.all(y_err <= y_bound), f"seed {seed}: y beyond its bound at {np.argwhere(y_err > y_bound)[0]}"
    worst = 0.0
    for name, exact in grads.items():
        err = np.abs(res.grads[name] / 2.0 ** res.grad_fracs[name] - exact)
        beyond = np.argwhere(err > bounds[name])
        assert not len(beyond), f"seed {seed}: {name} beyond its bound first at {beyond[0]}"
        worst = max(worst, float(bounds[name].max() / np.abs(exact).max()))
    return worst


@pytest.mark.parametrize("seed", [1, 2])
def test_gru_integer_step_lies_within_the_computed_bounds(seed):
    """Sound at every length; loose through time (numerics section 16), hence the cosine test above."""
    _check_gru_bounds(*_gru_case(seed), FMT, seed)


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_gru_bounds_are_tight_over_two_steps_at_wide_formats(seed):
    worst = _check_gru_bounds(*_gru_bound_case(seed, WIDE, steps=2), WIDE, seed)
    assert worst < 0.25, f"seed {seed}: a bound is {worst:.2f} of its gradient's largest element"
