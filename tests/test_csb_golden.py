"""Golden CSB matvec (golden/csb.py): bit-exact against an independent integer reference, the float
error bound, the stored format's checks, and CSB LSTM/GRU networks through the golden network."""

import dataclasses

import numpy as np
import pytest
import torch

from ernn.golden import GoldenNetwork
from ernn.golden import csb as gcsb
from ernn.golden.float_reference import run_float
from ernn.golden.network import numerics_for_model
from ernn.golden.ops import SaturationLog
from ernn.shape import ModelShape
from ernn.shape.structures import CSB
from ernn.train import csb as tcsb


def csb_matrices(rng, g, rows, cols, params, scale=0.4):
    """G random matrices projected onto the CSB set (the training stage's projection)."""
    w = torch.tensor(rng.normal(size=(g, rows, cols)) * scale)
    return tcsb.project(w, params).numpy()


def reference_matvec(dense, x_int, cfg):
    """Independent reference: the dense masked matrix quantized with numpy (ties to even), a Python-int
    matrix product, one floor(v / 2**s + 1/2) and a clamp to Q(ifft_out)."""
    s = cfg.weight_spectrum
    w = np.clip(np.rint(dense * 2.0**s.frac), s.min_int, s.max_int).astype(object)
    acc = np.einsum("grc,nc->ngr", w, x_int.astype(object))
    shift = cfg.data.frac + s.frac - cfg.ifft_out.frac
    y = (acc + (1 << (shift - 1))) // (1 << shift) if shift > 0 else acc * (1 << -shift)
    lo, hi = cfg.ifft_out.min_int, cfg.ifft_out.max_int
    return np.vectorize(lambda v: min(max(v, lo), hi))(y).astype(np.int64)


def _shape(rows, cols, params):
    return ModelShape(cell="gru", input_size=cols, hidden_size=rows, structure=params)


@pytest.mark.parametrize(
    ("rows", "cols", "block", "rate", "seed"),
    [(16, 12, 8, 0.6, 0), (24, 24, 8, 0.8, 1), (32, 20, 16, 0.5, 2), (12, 7, 4, 0.3, 3)],
)
def test_matvec_equals_integer_reference(rows, cols, block, rate, seed):
    rng = np.random.default_rng(seed)
    params = CSB(block, rate)
    dense = csb_matrices(rng, 3, rows, cols, params)
    cfg = gcsb.numerics(_shape(rows, cols, params), float(np.abs(dense).max()), 1.0, 0.0)
    m = gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum)
    x = rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=(9, cols))
    y = gcsb.finish(gcsb.accumulate(m, x, cfg), rows, cfg)
    ref = reference_matvec(dense, x, cfg)
    bad = np.argwhere(y != ref)
    assert bad.size == 0, (
        f"first mismatch at {bad[0].tolist()} (seed {seed}): {y[tuple(bad[0])]} != {ref[tuple(bad[0])]}"
    )
    # the kernels hold exactly the kept entries: the stored matrix is the quantized masked matrix
    q = np.rint(dense * 2.0**cfg.weight_spectrum.frac).astype(np.int64)
    assert np.array_equal(m.dense(), q)
    assert m.values.size == int(np.count_nonzero(dense))


def test_accumulators_add_before_the_one_rounding():
    """W_ih x + W_hh h meet in the exact accumulator: finish(acc_x + acc_h) is one rounding of the sum."""
    rng = np.random.default_rng(5)
    params = CSB(8, 0.5)
    a, b = csb_matrices(rng, 4, 16, 12, params), csb_matrices(rng, 4, 16, 16, params)
    cfg = gcsb.numerics(_shape(16, 12, params), max(np.abs(a).max(), np.abs(b).max()), 1.0, 0.0)
    ma = gcsb.quantize_matrix(gcsb.from_description(a, params), cfg.weight_spectrum)
    mb = gcsb.quantize_matrix(gcsb.from_description(b, params), cfg.weight_spectrum)
    x = rng.integers(-4096, 4096, size=(5, 12))
    h = rng.integers(-4096, 4096, size=(5, 16))
    y = gcsb.finish(gcsb.accumulate(ma, x, cfg) + gcsb.accumulate(mb, h, cfg), 16, cfg)
    ref = reference_matvec(np.concatenate((a, b), axis=2), np.concatenate((x, h), axis=1), cfg)
    assert np.array_equal(y, ref)


def test_float_error_within_the_computed_bound():
    """|y_fixed - W x| <= sum_j |x_j| 2**-(S+1) (each kernel value rounded to nearest) + 2**-(I+1) (the
    one half-up rounding), for x already in Q(data) and nothing saturated."""
    rng = np.random.default_rng(7)
    params = CSB(16, 0.7)
    dense = csb_matrices(rng, 4, 64, 48, params, scale=0.3)
    cfg = gcsb.numerics(_shape(64, 48, params), float(np.abs(dense).max()), 1.0, 0.0)
    m = gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum)
    x = rng.integers(-8192, 8192, size=(50, 48))
    log = SaturationLog()
    y = gcsb.finish(gcsb.accumulate(m, x, cfg), 64, cfg, log) * 2.0**-cfg.ifft_out.frac
    assert sum(log.counts.values()) == 0
    xf = x * 2.0**-cfg.data.frac
    exact = np.einsum("grc,nc->ngr", dense, xf)
    mask = (dense != 0).astype(float)
    bound = np.einsum("grc,nc->ngr", mask, np.abs(xf)) * 2.0 ** -(cfg.weight_spectrum.frac + 1)
    bound += 2.0 ** -(cfg.ifft_out.frac + 1)
    err = np.abs(y - exact)
    assert np.all(err <= bound * (1 + 1e-12)), float((err - bound).max())
    assert err.max() > 0.25 * bound.max()  # the bound is not vacuous on this case


def _bad(m, **changes):
    arrays = {**m.arrays(), **changes}
    return gcsb.from_arrays(arrays, m.rows, m.cols, m.block)


def test_bad_stored_kernels_are_refused_naming_the_block():
    rng = np.random.default_rng(1)
    params = CSB(8, 0.6)
    dense = csb_matrices(rng, 2, 16, 16, params)
    cfg = gcsb.numerics(_shape(16, 16, params), float(np.abs(dense).max()), 1.0, 0.0)
    m = gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum)
    m0, n0 = (int(v) for v in m.counts[0, 0, 0])
    assert m0 >= 2 and n0 >= 2
    rows = m.row_index.copy()
    rows[0] = 8  # out of range in an 8-block
    with pytest.raises(
        ValueError, match=r"block \(gate 0, block row 0, block column 0\): kept rows .* out of range"
    ):
        _bad(m, row_index=rows)
    cols = m.col_index.copy()
    cols[0], cols[1] = cols[1], cols[0]
    with pytest.raises(
        ValueError, match=r"block \(gate 0, block row 0, block column 0\): kept columns .* not strictly"
    ):
        _bad(m, col_index=cols)
    counts = m.counts.copy()
    counts[1, 1, 0, 0] = 9
    with pytest.raises(ValueError, match=r"block \(gate 1, block row 1, block column 0\): counts \(9, "):
        _bad(m, counts=counts, row_index=np.concatenate((m.row_index, [0] * (9 - int(m.counts[1, 1, 0, 0])))))
    counts = m.counts.copy()
    counts[0, 0, 1, 0] += 1
    with pytest.raises(ValueError, match="row_index holds .* entries, the counts give"):
        _bad(m, counts=counts)


def test_narrow_accumulator_is_refused():
    params = CSB(8, 0.5)
    shape = ModelShape(cell="lstm", input_size=12, hidden_size=16, structure=params)
    cfg = gcsb.numerics(shape, 1.0, 1.0, 0.0)
    # T = 12 + 16 = 28 products: data.word + weight.word + clog2(28) = 16 + 16 + 5
    assert cfg.accumulator.word == 37
    narrow = dataclasses.replace(cfg, accumulator=dataclasses.replace(cfg.accumulator, word=36))
    with pytest.raises(ValueError, match="accumulator.word = 36 is too small for this CSB model"):
        gcsb.check_numerics(narrow, shape)


def test_sum_word_holds_every_row_sum_and_no_less():
    """sum_word: the signed width of max_r sum_c |W[r, c]| * 2**(D-1), at least D + S + 1, at most ACC_W.
    Worked by hand on one 4 x 8 gate in 4-blocks, then checked on random matrices at their extreme inputs:
    every exact row sum fits sum_word bits, and the row whose weights share a sign reaches a sum that one
    bit less cannot hold (unless B is a power of two)."""
    params = CSB(4, 0.5)  # the rate is not read: the kernels are the nonzero rows and columns of dense
    dense = np.zeros((1, 4, 8))
    dense[0, 1] = [1, 1, 1, 1, 1, 1, 1, 1]  # the largest row: 8 x the largest weight
    dense[0, 2, :4] = [-1, 1, -1, 1]
    cfg = gcsb.numerics(_shape(4, 8, params), 1.0, 1.0, 0.0)
    m = gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum)
    w_max = int(m.dense().max())
    assert np.array_equal(gcsb.row_abs_sums(m)[0], [0, 8 * w_max, 4 * w_max, 0])
    bound = 8 * w_max << (cfg.data.word - 1)
    assert gcsb.sum_word(m, cfg.data.word, cfg.weight_spectrum.word) == bound.bit_length() + 1
    # a zero matrix still holds one product and its sign
    assert gcsb.sum_word(dataclasses.replace(m, values=0 * m.values), 16, 16) == 33
    rng = np.random.default_rng(11)
    for rows, cols, block, rate in ((16, 12, 8, 0.6), (24, 40, 8, 0.8), (32, 20, 16, 0.3)):
        dense = csb_matrices(rng, 2, rows, cols, CSB(block, rate))
        g_max, r_max = np.unravel_index(np.abs(dense).sum(axis=2).argmax(), dense.shape[:2])
        dense[g_max, r_max] = np.abs(dense[g_max, r_max])  # the largest row's weights share a sign
        cfg = gcsb.numerics(_shape(rows, cols, CSB(block, rate)), float(np.abs(dense).max()), 1.0, 0.0)
        m = gcsb.quantize_matrix(gcsb.from_description(dense, CSB(block, rate)), cfg.weight_spectrum)
        sw = gcsb.sum_word(m, cfg.data.word, cfg.weight_spectrum.word)
        assert cfg.data.word + cfg.weight_spectrum.word < sw <= cfg.accumulator.word
        w = m.dense()
        lo, hi = cfg.data.min_int, cfg.data.max_int
        # per row, the inputs that push its sum furthest down and furthest up
        x = np.concatenate([np.where(w[g] > 0, v, u) for g in range(2) for v, u in ((lo, hi), (hi, lo))])
        sums = np.einsum("grc,nc->ngr", w.astype(object), x.astype(object))
        assert all(-(1 << (sw - 1)) <= v < 1 << (sw - 1) for v in sums.reshape(-1))
        # that row at the most negative input reaches -B: at or below -2**(sw - 2), the edge of sw bits
        # (one bit less holds it only when B is a power of two, and then not +B's neighbours)
        reached = -int(gcsb.row_abs_sums(m).max()) << (cfg.data.word - 1)
        assert int(gcsb.row_abs_sums(m)[g_max, r_max]) == int(gcsb.row_abs_sums(m).max())
        assert reached in set(sums.reshape(-1))
        assert reached <= -(1 << (sw - 2))


def _desc(cell, params, *, n_in=12, hidden=16, proj=0, layers=1, seed=0):
    rng = np.random.default_rng(seed)
    g = 4 if cell == "lstm" else 3
    out = proj or hidden
    ls = []
    for idx in range(layers):
        n_l = n_in if idx == 0 else out
        ls.append(
            {
                "input_size": n_l,
                "w_ih": csb_matrices(rng, g, hidden, n_l, params),
                "w_hh": csb_matrices(rng, g, hidden, out, params),
                "b_ih": rng.normal(size=g * hidden) * 0.1,
                "b_hh": rng.normal(size=g * hidden) * 0.1,
                "w_hr": csb_matrices(rng, 1, proj, hidden, params) if proj else None,
                "peephole": None,
            }
        )
    return {
        "cell": cell,
        "input_size": n_in,
        "hidden_size": hidden,
        "proj_size": proj,
        "num_layers": layers,
        "peephole": False,
        "structure": params.to_dict(),
        "layers": ls,
    }


def _torch(desc, net):
    """nn.LSTM / nn.GRU (float64) holding the golden network's dequantized weights and biases."""
    cfg = net.numerics
    hidden, proj, n_in = desc["hidden_size"], desc["proj_size"], desc["input_size"]
    cls = torch.nn.LSTM if desc["cell"] == "lstm" else torch.nn.GRU
    kw = {"proj_size": proj} if proj else {}
    mod = cls(n_in, hidden, desc["num_layers"], batch_first=True, **kw).double()
    s = 2.0**-cfg.weight_spectrum.frac
    with torch.no_grad():
        for li, (layer, ql) in enumerate(zip(desc["layers"], net.layers, strict=True)):
            for name, mat in (("ih", ql.w_ih), ("hh", ql.w_hh)):
                d = mat.dense() * s
                getattr(mod, f"weight_{name}_l{li}").copy_(torch.from_numpy(d.reshape(-1, d.shape[-1])))
            getattr(mod, f"bias_ih_l{li}").copy_(torch.from_numpy(layer["b_ih"]))
            getattr(mod, f"bias_hh_l{li}").copy_(torch.from_numpy(layer["b_hh"]))
            if proj:
                getattr(mod, f"weight_hr_l{li}").copy_(torch.from_numpy(ql.w_hr.dense()[0] * s))
    return mod


@pytest.mark.parametrize(
    ("cell", "kw"), [("lstm", {}), ("lstm", {"proj": 8, "layers": 2}), ("gru", {"layers": 2})]
)
def test_network_runs_csb_layers(cell, kw):
    """A CSB LSTM / LSTMP / GRU through the golden network: the batch run equals the frame-by-frame steps,
    and the outputs follow nn.LSTM / nn.GRU on the same (dequantized) weights. The tolerance, 2**-6 = 64
    data LSBs, is far above the 16-bit datapath's measured error (a few LSBs: docs/numerics.md) and far
    below what a wrong gate order or a lost matrix gives (errors of 0.1 and more)."""
    params = CSB(8, 0.6)
    desc = _desc(cell, params, seed=3, **kw)
    net = GoldenNetwork(desc)
    assert net.numerics == numerics_for_model(desc)
    x = np.random.default_rng(4).normal(size=(3, 6, 12)) * 0.8
    res = net.run(x, [6, 4, 5])
    state = None
    for t in range(4):
        outs, state = net.step(x[1, t][None], state)
        assert np.array_equal(outs[-1][0], res.output_int[1, t])
    want, _ = _torch(desc, net)(torch.from_numpy(res.input_int * 2.0**-net.numerics.data.frac))
    got = res.output
    for n, length in enumerate([6, 4, 5]):
        err = np.abs(got[n, :length] - want.detach().numpy()[n, :length]).max()
        assert err < 2.0**-6, (n, err)


@pytest.mark.parametrize(("cell", "kw"), [("lstm", {"proj": 8}), ("gru", {"layers": 2})])
def test_float_reference_runs_csb_descriptions(cell, kw):
    """golden.float_reference takes a CSB description's dense matrices as they are (nn.LSTM / nn.GRU agree)."""
    desc = _desc(cell, CSB(8, 0.6), seed=6, **kw)
    x = np.random.default_rng(2).normal(size=(3, 5, 12))
    ours = run_float(desc, x).output
    mod = _torch_float(desc)
    theirs, _ = mod(torch.from_numpy(x))
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=1e-12)


def _torch_float(desc):
    hidden, proj, n_in = desc["hidden_size"], desc["proj_size"], desc["input_size"]
    cls = torch.nn.LSTM if desc["cell"] == "lstm" else torch.nn.GRU
    mod = cls(
        n_in, hidden, desc["num_layers"], batch_first=True, **({"proj_size": proj} if proj else {})
    ).double()
    with torch.no_grad():
        for li, layer in enumerate(desc["layers"]):
            for name in ("ih", "hh"):
                w = layer[f"w_{name}"]
                getattr(mod, f"weight_{name}_l{li}").copy_(torch.from_numpy(w.reshape(-1, w.shape[-1])))
            getattr(mod, f"bias_ih_l{li}").copy_(torch.from_numpy(layer["b_ih"]))
            getattr(mod, f"bias_hh_l{li}").copy_(torch.from_numpy(layer["b_hh"]))
            if proj:
                getattr(mod, f"weight_hr_l{li}").copy_(torch.from_numpy(layer["w_hr"][0]))
    return mod


def test_quantized_params_hold_the_stored_arrays():
    params = CSB(8, 0.6)
    net = GoldenNetwork(_desc("gru", params, seed=9))
    layer = net.quantized_params()["layers"][0]
    assert set(layer["w_ih"]) == {"counts", "row_index", "col_index", "values"}
    again = gcsb.from_arrays(layer["w_hh"], 16, 16, 8)
    assert np.array_equal(again.dense(), net.layers[0].w_hh.dense())


def test_sparse_model_is_refused_by_name():
    desc = _desc("lstm", CSB(8, 0.5))
    desc["structure"] = {"name": "sparse", "prune_rate": 0.5, "pes": 0}
    with pytest.raises(ValueError, match="structure 'sparse' has no golden stage yet"):
        GoldenNetwork(desc)
