"""The int64 fast path equals the independent fxpmath reference bit for bit (values and saturation counts)."""

import numpy as np
import pytest

from ernn.golden import GoldenNetwork, NumericsConfig, SaturationLog, fft_real, ifft_real, numerics_for_model
from ernn.golden.float_reference import random_model
from ernn.golden.reference import ReferenceNetwork, ref_fft_real, ref_ifft_real


def _same(net: GoldenNetwork, x: np.ndarray, lengths: np.ndarray, *, seed: int) -> None:
    res = net.run(x, lengths)
    ref = ReferenceNetwork(net_desc[id(net)], net.numerics).run(x, lengths)
    for li, (fast, slow) in enumerate(zip(res.h_int, ref["h_int"], strict=True)):
        if not np.array_equal(fast, slow):
            s, t, u = np.argwhere(fast != slow)[0]
            pytest.fail(f"seed {seed}: h differs first at sequence {s}, step {t}, layer {li}, unit {u}")
    if res.c_int is not None:
        for fast, slow in zip(res.c_int, ref["c_int"], strict=True):
            assert np.array_equal(fast, slow), f"seed {seed}: c differs"
    assert res.log.nonzero() == ref["log"], f"seed {seed}: saturation counts differ"


net_desc: dict[int, dict] = {}


def _net(desc: dict, numerics: NumericsConfig | None = None, bits: int = 16) -> GoldenNetwork:
    net = GoldenNetwork(desc, numerics, data_bits=bits)
    net_desc[id(net)] = desc
    return net


@pytest.mark.parametrize(
    ("cell", "kw", "bits"),
    [
        ("lstm", {"block_size": 4}, 16),
        ("lstm", {"block_size": 8, "peephole": True, "proj_size": 5, "num_layers": 2}, 16),
        ("lstm", {"block_size": 16, "peephole": True}, 12),
        ("gru", {"block_size": 4, "num_layers": 2}, 16),
        ("gru", {"block_size": 8}, 8),
    ],
)
def test_random_models_bit_exact(cell, kw, bits):
    seed = 17 + bits + kw["block_size"]
    hidden = 12 if kw["block_size"] < 16 else 16
    desc = random_model(cell, 6, hidden, seed=seed, **kw)
    x = np.random.default_rng(seed).normal(size=(2, 3, 6)) * 2.0
    _same(_net(desc, bits=bits), x, np.array([3, 2]), seed=seed)


def test_corner_inputs_with_saturation_bit_exact():
    seed = 5
    desc = random_model("lstm", 8, 8, block_size=4, seed=seed, scale=6.0, peephole=True)
    net = _net(desc)
    d = net.numerics.data
    alt = np.where(np.arange(8) % 2 == 0, d.max_int, d.min_int)
    frames = np.stack(
        [
            np.full(8, d.max_int),  # full-scale positive
            np.full(8, d.min_int),  # full-scale negative
            np.zeros(8, dtype=np.int64),  # zeros
            np.eye(8, dtype=np.int64)[0] * d.max_int,  # impulse
            alt,  # alternating signs
            np.full(8, 10**6),  # beyond the input format: saturated and counted
        ]
    ).astype(np.int64)
    x = np.stack((frames, frames[::-1]))
    res = net.run(x)
    assert res.log.total > 0  # the corner cases do saturate somewhere...
    _same(net, x, np.array([6, 6]), seed=seed)  # ...and the reference agrees on where and how often


def test_gru_saturation_bit_exact():
    seed = 8
    desc = random_model("gru", 5, 8, block_size=4, seed=seed, scale=8.0)
    net = _net(desc, numerics_for_model(desc, 10), bits=10)
    x = np.random.default_rng(seed).normal(size=(1, 4, 5)) * 6.0
    assert net.run(x).log.total > 0
    _same(net, x, np.array([4]), seed=seed)


@pytest.mark.parametrize("k", [4, 16, 64])
def test_transforms_bit_exact_at_full_scale(k):
    cfg = NumericsConfig.for_data_bits(16, k)
    d = cfg.data
    x = np.stack(
        [
            np.full(k, d.max_int),
            np.full(k, d.min_int),
            np.where(np.arange(k) % 2 == 0, d.max_int, d.min_int),
            np.random.default_rng(k).integers(d.min_int, d.max_int + 1, size=k),
        ]
    )
    fast = fft_real(x, cfg.twiddle, cfg.fft_out)
    slow = ref_fft_real(x, cfg.twiddle, cfg.fft_out)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    top = cfg.ifft.max_int  # symmetric range: the most negative code is never an IFFT input
    rng = np.random.default_rng(k)
    re = rng.choice([-top, top], size=(6, k // 2 + 1))  # saturates inside the IFFT for k >= 8
    im = rng.choice([-top, top], size=(6, k // 2 + 1))
    log = SaturationLog()
    from ernn.golden.reference import RefLog

    rlog = RefLog()
    assert np.array_equal(
        ifft_real(re, im, cfg.twiddle, cfg.ifft, log), ref_ifft_real(re, im, cfg.twiddle, cfg.ifft, rlog)
    )
    assert log.nonzero() == rlog.nonzero()
