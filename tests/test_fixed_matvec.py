"""Circulant matvec: convention, exact MAC, accumulator width, error bound vs the float product."""

import numpy as np
import pytest
import torch

from ernn.golden import (
    NumericsConfig,
    QFormat,
    SaturationLog,
    Spectra,
    circulant_matvec,
    cmac,
    quantize_spectra,
)
from ernn.golden.bounds import matvec_error_bound
from ernn.golden.float_reference import expand
from ernn.golden.formats import fit_frac
from ernn.golden.matvec import max_spectrum_component
from ernn.golden.ops import dequantize
from ernn.train import circulant


@pytest.mark.parametrize(("rows", "cols", "k"), [(8, 8, 4), (10, 7, 4), (33, 20, 8), (5, 13, 16)])
def test_expand_follows_ernn_circulant_convention(rows, cols, k):
    rng = np.random.default_rng(rows * cols)
    p, q, _ = circulant.vector_shape(rows, cols, k)
    vec = rng.normal(size=(3, p, q, k))
    ours = expand(vec, rows, cols)
    theirs = circulant.expand(torch.from_numpy(vec), rows, cols).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=0)
    assert ours[0, 1, 0] == vec[0, 0, 0, 1]  # C[r, s] = c[(r - s) mod k]: first column is c


def test_cmac_is_exact():
    rng = np.random.default_rng(0)
    g, p, q, b = 2, 3, 5, 9
    lim_w, lim_x = 2**15, 2**19
    wr, wi = rng.integers(-lim_w, lim_w, size=(2, g, p, q, b))
    xr, xi = rng.integers(-lim_x, lim_x, size=(2, 4, q, b))
    ar, ai = cmac(wr, wi, xr, xi)
    # Python integers (unbounded) as the exact reference
    ref_r = np.zeros((4, g, p, b), dtype=object)
    ref_i = np.zeros((4, g, p, b), dtype=object)
    for j in range(q):
        ref_r += wr[None, :, :, j].astype(object) * xr[:, None, None, j].astype(object)
        ref_r -= wi[None, :, :, j].astype(object) * xi[:, None, None, j].astype(object)
        ref_i += wr[None, :, :, j].astype(object) * xi[:, None, None, j].astype(object)
        ref_i += wi[None, :, :, j].astype(object) * xr[:, None, None, j].astype(object)
    assert ar.tolist() == ref_r.tolist() and ai.tolist() == ref_i.tolist()


@pytest.mark.parametrize("blocks", [1, 2, 7, 32])
def test_accumulator_width_holds_worst_case(blocks):
    cfg = NumericsConfig.for_data_bits(16, 16, max_input_blocks=blocks)
    lo_x, lo_w = cfg.fft_out.min_int, cfg.weight_spectrum.min_int
    # worst case of one component: Re(a b) with a = lo(1 + j), b = lo - j lo... every term at its extreme
    xr = np.full((1, blocks, cfg.bins), lo_x)
    xi = np.full((1, blocks, cfg.bins), lo_x)
    wr = np.full((1, 1, blocks, cfg.bins), lo_w)
    wi = np.full((1, 1, blocks, cfg.bins), cfg.weight_spectrum.max_int)
    ar, ai = cmac(wr, wi, xr, xi)
    for acc in (ar, ai, -ar, -ai):
        assert acc.min() >= cfg.accumulator.min_int and acc.max() <= cfg.accumulator.max_int
    # one bit less would not always hold it (the formula is tight up to one bit)
    assert np.abs(ar).max() > 2 ** (cfg.accumulator.word - 3)


def _float_equivalent_matvec(spectra: Spectra, cfg: NumericsConfig, x: np.ndarray, rows: int) -> np.ndarray:
    ws = cfg.weight_spectrum
    spec = dequantize(spectra.re, ws) + 1j * dequantize(spectra.im, ws)
    vec = np.fft.irfft(spec, n=cfg.block_size, axis=-1)
    dense = expand(vec, rows, x.shape[-1])  # (G, rows, cols)
    return np.einsum("grc,nc->ngr", dense, dequantize(x, cfg.data))


@pytest.mark.parametrize(("rows", "cols", "k"), [(16, 16, 4), (20, 13, 8), (64, 48, 16), (40, 100, 32)])
def test_matvec_within_bound_and_padding(rows, cols, k):
    rng = np.random.default_rng(rows + cols + k)
    p, q = -(-rows // k), -(-cols // k)
    vec = rng.uniform(-1, 1, size=(2, p, q, k)) / np.sqrt(cols)
    base = NumericsConfig.for_data_bits(16, k, max_input_blocks=q)
    wsf = fit_frac(max_spectrum_component(vec), 16, max_frac=32)
    cfg = base.replace(
        weight_spectrum=QFormat(16, wsf),
        accumulator=QFormat(base.required_accumulator_word(q), base.fft_out.frac + wsf),
    )
    spectra = Spectra(*quantize_spectra(vec, cfg.weight_spectrum))
    x = rng.integers(cfg.data.min_int // 2, cfg.data.max_int // 2, size=(50, cols))
    x[0] = cfg.data.max_int
    x[1] = cfg.data.min_int
    log = SaturationLog()
    y = circulant_matvec(x, spectra, rows, cfg, log)
    assert y.shape == (50, 2, rows)
    assert log.total == 0
    exact = _float_equivalent_matvec(spectra, cfg, x, rows)
    err = np.abs(dequantize(y, cfg.ifft_out) - exact).max()
    spec = dequantize(spectra.re, cfg.weight_spectrum) + 1j * dequantize(spectra.im, cfg.weight_spectrum)
    bound = matvec_error_bound([spec], [float(np.abs(x).max()) * cfg.data.lsb], cfg)
    assert err <= bound
    # (the exact product uses the cropped matrix: x is zero-padded, so padding columns never contribute)
    with pytest.raises(ValueError, match="features but the matrix takes at most"):
        circulant_matvec(np.zeros((1, q * k + 1), dtype=np.int64), spectra, rows, cfg)


def test_bins_zero_and_half_are_real():
    rng = np.random.default_rng(3)
    re, im = quantize_spectra(
        rng.normal(size=(1, 2, 2, 16)), NumericsConfig.for_data_bits(16).weight_spectrum
    )
    assert np.all(im[..., 0] == 0) and np.all(im[..., -1] == 0)
    assert re.shape == (1, 2, 2, 9)
