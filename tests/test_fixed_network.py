"""Golden network: PyTorch semantics, run/step/stream agreement, lengths, error trend and bound, export."""

import itertools

import numpy as np
import pytest
import torch

from ernn.golden import GoldenNetwork, NumericsConfig
from ernn.golden.bounds import network_error_bound
from ernn.golden.float_reference import expand, random_model, run_float


def _torch_module(desc):
    hidden, proj = desc["hidden_size"], desc["proj_size"]
    out = proj or hidden
    g = 4 if desc["cell"] == "lstm" else 3
    if desc["cell"] == "lstm":
        mod = torch.nn.LSTM(desc["input_size"], hidden, desc["num_layers"], batch_first=True, proj_size=proj)
    else:
        mod = torch.nn.GRU(desc["input_size"], hidden, desc["num_layers"], batch_first=True)
    mod = mod.double()
    with torch.no_grad():
        for li, layer in enumerate(desc["layers"]):
            n_in = desc["input_size"] if li == 0 else out
            getattr(mod, f"weight_ih_l{li}").copy_(
                torch.from_numpy(expand(layer["w_ih"], hidden, n_in).reshape(g * hidden, n_in))
            )
            getattr(mod, f"weight_hh_l{li}").copy_(
                torch.from_numpy(expand(layer["w_hh"], hidden, out).reshape(g * hidden, out))
            )
            getattr(mod, f"bias_ih_l{li}").copy_(torch.from_numpy(layer["b_ih"]))
            getattr(mod, f"bias_hh_l{li}").copy_(torch.from_numpy(layer["b_hh"]))
            if proj:
                getattr(mod, f"weight_hr_l{li}").copy_(
                    torch.from_numpy(expand(layer["w_hr"], proj, hidden)[0])
                )
    return mod


@pytest.mark.parametrize(
    ("cell", "kw"),
    [("lstm", {"num_layers": 2}), ("lstm", {"proj_size": 5, "num_layers": 2}), ("gru", {"num_layers": 2})],
)
def test_float_reference_matches_torch(cell, kw):
    desc = random_model(cell, 7, 12, block_size=4, seed=2, **kw)
    x = np.random.default_rng(0).normal(size=(3, 6, 7))
    ours = run_float(desc, x).output
    theirs, _ = _torch_module(desc)(torch.from_numpy(x))
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=1e-12)


CASES = [
    ("lstm", {"block_size": 8}),
    ("lstm", {"block_size": 4, "peephole": True, "proj_size": 6, "num_layers": 2}),
    ("gru", {"block_size": 8, "num_layers": 2}),
]


@pytest.mark.parametrize(("cell", "kw"), CASES)
def test_run_step_and_stream_agree(cell, kw):
    desc = random_model(cell, 10, 16, seed=5, **kw)
    net = GoldenNetwork(desc)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 7, 10))
    lens = np.array([7, 3, 5])
    res = net.run(x, lens)
    # time-major single steps, one sequence at a time
    for s, ln in enumerate(lens):
        state = None
        for t in range(ln):
            outs, state = net.step(res.input_int[s : s + 1, t], state)
            for li, h in enumerate(outs):
                assert np.array_equal(h[0], res.h_int[li][s, t]), (s, t, li)
        for h in res.h_int:
            assert not h[s, ln:].any()  # zero after the sequence's last frame
    # stream with TLAST: the state resets after each sequence
    frames = np.concatenate([res.input_int[s, :ln] for s, ln in enumerate(lens)])
    last = np.zeros(len(frames), dtype=bool)
    last[np.cumsum(lens) - 1] = True
    out, _ = net.run_stream(frames, last)
    assert np.array_equal(out, np.concatenate([res.output_int[s, :ln] for s, ln in enumerate(lens)]))
    # a sequence's result does not depend on its batch partners
    alone = net.run(x[1:2, :3])
    assert np.array_equal(alone.output_int[0], res.output_int[1, :3])


def test_integer_input_is_used_as_is_and_saturated():
    desc = random_model("gru", 6, 8, block_size=4, seed=0)
    net = GoldenNetwork(desc)
    x = np.random.default_rng(0).normal(size=(2, 4, 6))
    res = net.run(x)
    again = net.run(res.input_int)
    assert np.array_equal(res.output_int, again.output_int)
    big = net.run(x * 1000.0)
    assert big.log.counts["input"] > 0
    assert (
        big.output_int.max() <= net.numerics.data.max_int
        and big.output_int.min() >= net.numerics.data.min_int
    )
    ints = res.input_int.copy()
    ints[0, 0, 0] = 10**6
    assert net.run(ints).log.counts["input"] == 1


@pytest.mark.parametrize(("cell", "kw"), [("lstm", {"peephole": True}), ("gru", {"num_layers": 2})])
def test_error_shrinks_as_data_path_grows(cell, kw):
    desc = random_model(cell, 12, 24, block_size=8, seed=11, **kw)
    x = np.random.default_rng(3).normal(size=(4, 12, 12))
    lens = np.array([12, 9, 12, 6])
    ref = run_float(desc, x, lens).output
    mask = np.arange(12)[None, :] < lens[:, None]
    maxes, rmss = [], []
    for bits in (8, 10, 12, 16):
        res = GoldenNetwork(desc, data_bits=bits).run(x, lens)
        err = (res.output - ref)[mask]
        maxes.append(np.abs(err).max())
        rmss.append(np.sqrt(np.mean(err**2)))
    assert all(a > b for a, b in itertools.pairwise(maxes)), maxes
    assert all(a > b for a, b in itertools.pairwise(rmss)), rmss
    # 16 bits: within a few LSBs of the data format of the float model (parameter quantization included)
    assert maxes[-1] < 16 * NumericsConfig.for_data_bits(16).data.lsb


@pytest.mark.parametrize(
    ("cell", "kw"),
    [
        ("lstm", {}),
        ("lstm", {"peephole": True, "proj_size": 6, "num_layers": 2}),
        ("gru", {"num_layers": 2}),
    ],
)
def test_16_bit_error_within_computed_bound(cell, kw):
    desc = random_model(cell, 10, 20, block_size=8, seed=1, scale=0.25, **kw)
    x = np.random.default_rng(0).normal(size=(3, 8, 10))
    net = GoldenNetwork(desc)
    res = net.run(x, np.array([8, 5, 8]))
    ref = run_float(net.float_equivalent(), res.input_int * net.numerics.data.lsb, res.lengths, trace=True)
    bounds = network_error_bound(net, res, ref)
    for li, (h_gold, h_ref) in enumerate(zip(res.h, ref.h, strict=True)):
        assert np.abs(h_gold - h_ref).max() <= bounds[li]


def test_quantized_params_and_float_equivalent():
    desc = random_model("lstm", 9, 12, block_size=4, peephole=True, proj_size=5, num_layers=2, seed=7)
    net = GoldenNetwork(desc)
    cfg = net.numerics
    params = net.quantized_params()
    assert params["numerics"] == cfg.to_dict()
    assert params["twiddles"]["re"].shape == (2,)
    assert params["sigmoid"]["values"].shape == (1 << cfg.sigmoid.seg_bits,)
    lay = params["layers"][0]
    assert lay["w_ih"]["re"].shape == (4, 3, 3, 3) and lay["w_hh"]["re"].shape == (4, 3, 2, 3)
    assert (
        lay["w_hr"]["im"].shape == (1, 2, 3, 3)
        and lay["bias"].shape == (4, 12)
        and lay["peephole"].shape == (3, 12)
    )
    for arr, fmt in (
        (lay["w_ih"]["re"], cfg.weight_spectrum),
        (lay["bias"], cfg.bias),
        (lay["peephole"], cfg.peephole),
    ):
        assert arr.min() >= fmt.min_int and arr.max() <= fmt.max_int
    # the float equivalent re-quantizes to the same integers and runs identically
    twin = GoldenNetwork(net.float_equivalent(), cfg)
    for a, b in zip(params["layers"], twin.quantized_params()["layers"], strict=True):
        for key in ("bias", "peephole"):
            assert np.array_equal(a[key], b[key])
        for key in ("w_ih", "w_hh", "w_hr"):
            assert np.array_equal(a[key]["re"], b[key]["re"]) and np.array_equal(a[key]["im"], b[key]["im"])
    x = np.random.default_rng(2).normal(size=(2, 5, 9))
    assert np.array_equal(net.run(x).output_int, twin.run(x).output_int)


def test_gru_keeps_b_hn_apart():
    desc = random_model("gru", 6, 8, block_size=4, seed=9)
    net = GoldenNetwork(desc)
    fe = net.float_equivalent()["layers"][0]
    assert np.all(fe["b_hh"][:16] == 0) and np.any(fe["b_hh"][16:] != 0)
    params = net.quantized_params()["layers"][0]
    assert params["bias"].shape == (3, 8) and params["b_hn"].shape == (8,)
