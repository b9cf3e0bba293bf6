"""ernn.LSTM / ernn.GRU mirror torch.nn.LSTM / GRU; from_torch, to_torch, gradients, bad input."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ernn.train import models

TORCH_CASES = [
    lambda: nn.LSTM(7, 12),
    lambda: nn.LSTM(7, 12, num_layers=2, batch_first=True),
    lambda: nn.LSTM(7, 12, num_layers=2, proj_size=5),
    lambda: nn.LSTM(9, 16, bias=False, batch_first=True, proj_size=3),
    lambda: nn.GRU(7, 12),
    lambda: nn.GRU(7, 12, num_layers=3, batch_first=True),
    lambda: nn.GRU(5, 8, bias=False),
]


def _inputs(mod: nn.Module, batch: int = 3, steps: int = 6) -> torch.Tensor:
    shape = (batch, steps, mod.input_size) if mod.batch_first else (steps, batch, mod.input_size)
    return torch.randn(shape, dtype=torch.float64)


@pytest.mark.parametrize("make", TORCH_CASES)
def test_from_torch_block_one_equals_torch(make):
    torch.manual_seed(0)
    ref = make().double()
    ours = models.from_torch(ref, 1)
    x = _inputs(ref)
    want_out, want_state = ref(x)
    got_out, got_state = ours(x)
    torch.testing.assert_close(got_out, want_out, rtol=1e-10, atol=1e-12)
    for g, w in zip(
        got_state if isinstance(got_state, tuple) else [got_state],
        want_state if isinstance(want_state, tuple) else [want_state],
        strict=True,
    ):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)
    # Initial states are honoured like torch's.
    h0 = (
        tuple(torch.randn_like(s) for s in want_state)
        if isinstance(want_state, tuple)
        else torch.randn_like(want_state)
    )
    torch.testing.assert_close(ours(x, h0)[0], ref(x, h0)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", TORCH_CASES)
@pytest.mark.parametrize("k", [2, 4])
def test_projected_model_round_trips_through_torch(make, k):
    torch.manual_seed(1)
    ref = make().double()
    ours = models.from_torch(ref, k)
    back = ours.to_torch()
    x = _inputs(ref)
    torch.testing.assert_close(ours(x)[0], back(x)[0], rtol=1e-10, atol=1e-12)
    # to_torch holds block-circulant matrices: projecting them again changes nothing.
    again = models.from_torch(back, k)
    for name, param in ours.named_parameters():
        torch.testing.assert_close(getattr(again, name), param, rtol=1e-12, atol=1e-12)


def test_unbatched_input_like_torch():
    ref = nn.GRU(4, 8).double()
    ours = models.from_torch(ref, 1)
    x = torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], rtol=1e-10, atol=1e-12)


def test_packed_sequences_like_torch():
    torch.manual_seed(2)
    ref = nn.LSTM(6, 10, num_layers=2, batch_first=True).double()
    ours = models.from_torch(ref, 1)
    x = torch.randn(4, 9, 6, dtype=torch.float64)
    lengths = torch.tensor([9, 3, 6, 1])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    want, (wh, wc) = ref(packed)
    got, (gh, gc) = ours(packed)
    torch.testing.assert_close(
        pad_packed_sequence(got)[0], pad_packed_sequence(want)[0], rtol=1e-10, atol=1e-12
    )
    torch.testing.assert_close(gh, wh, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gc, wc, rtol=1e-10, atol=1e-12)
    # The lengths= shortcut gives the same final state.
    _, (lh, _) = ours(x, lengths=lengths)
    torch.testing.assert_close(lh, wh, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fft_and_dense_paths_agree(cell):
    torch.manual_seed(3)
    kwargs = {"proj_size": 6, "peephole": True} if cell == "lstm" else {}
    m = models.build(cell, input_size=10, hidden_size=20, num_layers=2, block_size=4, **kwargs).double()
    x = torch.randn(7, 2, 10, dtype=torch.float64)
    fft_out = m(x)[0]
    m.matvec = "dense"
    torch.testing.assert_close(m(x)[0], fft_out, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("cell", "kwargs"), [("lstm", {"peephole": True, "proj_size": 3}), ("gru", {})])
def test_gradcheck_fft_path(cell, kwargs):
    torch.manual_seed(4)
    m = models.build(cell, input_size=5, hidden_size=8, block_size=4, **kwargs).double()
    x = torch.randn(3, 2, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: m(x)[0], (x,))
    # ... and through every weight tensor: they are what training updates.
    for name, value in m.named_parameters():
        v = value.detach().clone().requires_grad_()
        assert torch.autograd.gradcheck(
            lambda v, name=name: _functional_forward(m, name, v, x.detach()), (v,)
        ), name


def _functional_forward(m, name, value, x):
    return torch.func.functional_call(m, {name: value}, (x,))[0]


def test_peephole_changes_the_output_and_counts():
    torch.manual_seed(5)
    m = models.LSTM(4, 8, block_size=4, peephole=True)
    x = torch.randn(5, 1, 4)
    a = m(x)[0]
    with torch.no_grad():
        m.weight_peep_l0.zero_()
    plain = models.LSTM(4, 8, block_size=4)
    plain.load_state_dict({k: v for k, v in m.state_dict().items() if "peep" not in k})
    torch.testing.assert_close(m(x)[0], plain(x)[0])
    assert not torch.allclose(a, m(x)[0])


def test_compression_ratio_is_block_size_for_exact_multiples():
    m = models.LSTM(16, 32, num_layers=2, block_size=8)
    counts = m.parameter_counts()
    assert counts["weights_dense"] == 8 * counts["weights_stored"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"block_size": 3}, "block_size"),
        ({"block_size": 64}, "block_size=64 is larger"),
        ({"proj_size": 8}, "proj_size"),
        ({"bidirectional": True}, "bidirectional"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"matvec": "magic"}, "matvec"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    args = {"input_size": 4, "hidden_size": 8, **kwargs}
    with pytest.raises(ValueError, match=match):
        models.LSTM(**args)


def test_unknown_cell_and_gru_options_are_rejected():
    with pytest.raises(ValueError, match="cell must be one of"):
        models.build("rnn", input_size=4, hidden_size=8)
    with pytest.raises(ValueError, match="peephole"):
        models.GRU(4, 8, peephole=True)
    with pytest.raises(TypeError, match="torch.nn.LSTM or torch.nn.GRU"):
        models.from_torch(nn.RNN(4, 8), 1)


def test_wrong_feature_count_is_reported():
    m = models.GRU(4, 8)
    with pytest.raises(ValueError, match="input_size=4"):
        m(torch.randn(3, 2, 5))


def test_prepared_weights_are_fresh_for_every_forward_pass():
    """The weight spectra are computed once per forward pass: a forward after a weight update uses the
    new weights (the per-pass cache never outlives its pass)."""
    torch.manual_seed(7)
    m = models.build("gru", input_size=6, hidden_size=8, block_size=4).double()
    x = torch.randn(5, 3, 6, dtype=torch.float64)
    before = m(x)[0]
    assert m._expanded == {}
    with torch.no_grad():
        m.weight_hh_l0.add_(0.1)
    after = m(x)[0]
    fresh = models.build("gru", input_size=6, hidden_size=8, block_size=4).double()
    fresh.load_state_dict(m.state_dict())
    torch.testing.assert_close(after, fresh(x)[0], rtol=0, atol=0)
    assert not torch.allclose(before, after)
