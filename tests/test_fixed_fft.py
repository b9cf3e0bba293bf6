"""Fixed-point FFT / IFFT: against numpy within bounds computed from the formats, exact twiddles, saturation."""

import numpy as np
import pytest

from ernn.golden import (
    NumericsConfig,
    QFormat,
    SaturationLog,
    acc_to_ifft,
    fft_real,
    ifft_real,
    twiddle_product,
    twiddles,
)
from ernn.golden.bounds import fft_error_bound, ifft_error_bound
from ernn.golden.fft import bit_reverse_indices

KS = [4, 8, 16, 32, 64]


def corner_inputs(k: int, lo: int, hi: int, rng: np.random.Generator) -> np.ndarray:
    rows = [
        np.full(k, hi),
        np.full(k, lo),
        np.zeros(k, dtype=np.int64),
        np.where(np.arange(k) % 2 == 0, hi, lo),
        np.where(np.arange(k) % 2 == 0, lo, hi),
        np.eye(k, dtype=np.int64)[0] * lo,
        np.eye(k, dtype=np.int64)[k - 1] * hi,
    ]
    rand = rng.integers(lo, hi + 1, size=(400, k))
    return np.concatenate((np.stack(rows), rand)).astype(np.int64)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("k", KS)
def test_fft_matches_numpy_within_bound(k, bits):
    cfg = NumericsConfig.for_data_bits(bits, k)
    rng = np.random.default_rng(k + bits)
    x = corner_inputs(k, cfg.data.min_int, cfg.data.max_int, rng)
    log = SaturationLog()
    re, im = fft_real(x, cfg.twiddle, cfg.fft_out, log)
    assert re.shape == (x.shape[0], k // 2 + 1)
    err = np.abs(re + 1j * im - np.fft.rfft(x.astype(np.float64)))
    bound = fft_error_bound(k, float(-cfg.data.min_int), cfg.twiddle)
    assert err.max() <= bound
    assert log.total == 0  # one bit of growth per stage is enough, even at full scale
    assert np.all(im[:, 0] == 0) and np.all(im[:, -1] == 0)  # bins 0 and k/2 are exactly real
    if k == 4:
        assert err.max() == 0  # only the exact twiddles 1 and -j


@pytest.mark.parametrize("k", KS)
def test_ifft_matches_numpy_within_bound(k):
    cfg = NumericsConfig.for_data_bits(16, k)
    rng = np.random.default_rng(k)
    lim = 2 ** (cfg.ifft.word - 3)  # keep away from the saturation corner (tested below)
    re = rng.integers(-lim, lim, size=(300, k // 2 + 1))
    im = rng.integers(-lim, lim, size=(300, k // 2 + 1))
    log = SaturationLog()
    y = ifft_real(re, im, cfg.twiddle, cfg.ifft, log)
    spec = re + 1j * im
    spec[:, 0] = spec[:, 0].real
    spec[:, -1] = spec[:, -1].real
    err = np.abs(y - np.fft.irfft(spec, n=k))
    assert err.max() <= ifft_error_bound(k, float(np.abs(spec).max()), cfg.twiddle)
    assert log.total == 0


@pytest.mark.parametrize("k", KS)
def test_round_trip_bound(k):
    cfg = NumericsConfig.for_data_bits(16, k)
    rng = np.random.default_rng(100 + k)
    x = corner_inputs(k, cfg.data.min_int, cfg.data.max_int, rng)
    re, im = fft_real(x, cfg.twiddle, cfg.fft_out)
    sh = cfg.ifft.frac - cfg.fft_out.frac
    y = ifft_real(re << sh, im << sh, cfg.twiddle, cfg.ifft)
    e_fft = fft_error_bound(k, float(-cfg.data.min_int), cfg.twiddle) * 2**sh
    y_max = k * float(-cfg.data.min_int) * 2**sh + e_fft
    bound = ifft_error_bound(k, y_max, cfg.twiddle, e_fft)
    assert np.abs(y - (x << sh)).max() <= bound


@pytest.mark.parametrize("k", KS)
def test_twiddle_table(k):
    cfg = NumericsConfig.for_data_bits(16, k)
    wr, wi = twiddles(k, cfg.twiddle)
    one = 1 << cfg.twiddle.frac
    assert (wr[0], wi[0]) == (one, 0)
    assert (wr[k // 4], wi[k // 4]) == (0, -one)
    m = np.arange(k // 2)
    ref = np.exp(-2j * np.pi * m / k) * one
    assert np.abs(wr - ref.real).max() <= 0.5 and np.abs(wi - ref.imag).max() <= 0.5
    assert max(abs(wr).max(), abs(wi).max()) <= cfg.twiddle.max_int


@pytest.mark.parametrize("k", [8, 16, 64])
def test_trivial_twiddles_exact(k):
    cfg = NumericsConfig.for_data_bits(16, k)
    wr, wi = twiddles(k, cfg.twiddle)
    rng = np.random.default_rng(1)
    lim = 2 ** (cfg.fft_out.word - 1)
    br = rng.integers(-lim, lim, size=1000)
    bi = rng.integers(-lim, lim, size=1000)
    f = cfg.twiddle.frac
    assert [a.tolist() for a in twiddle_product(wr[0], wi[0], br, bi, f)] == [br.tolist(), bi.tolist()]
    q = k // 4
    assert [a.tolist() for a in twiddle_product(wr[q], wi[q], br, bi, f)] == [bi.tolist(), (-br).tolist()]
    inv = twiddle_product(wr[q], wi[q], br, bi, f, conjugate=True)
    assert [a.tolist() for a in inv] == [(-bi).tolist(), br.tolist()]


def test_bit_reverse():
    assert bit_reverse_indices(8).tolist() == [0, 4, 2, 6, 1, 5, 3, 7]
    assert sorted(bit_reverse_indices(64).tolist()) == list(range(64))


def test_ifft_saturation_counted_not_wrapped():
    k = 16
    cfg = NumericsConfig.for_data_bits(16, k)
    top = cfg.ifft.max_int  # the IFFT input range is symmetric (bins get conjugated)
    rng = np.random.default_rng(0)
    # full-scale bins: twiddled intermediates reach sqrt(2) x full scale, beyond the word
    re = rng.choice([-top, top], size=(500, k // 2 + 1))
    im = rng.choice([-top, top], size=(500, k // 2 + 1))
    log = SaturationLog()
    y = ifft_real(re, im, cfg.twiddle, cfg.ifft, log)
    assert log.total > 0 and set(log.nonzero()) <= {f"ifft_stage{s}" for s in range(3, 5)}
    assert y.min() >= cfg.ifft.min_int and y.max() <= top


def test_fft_rejects_out_of_format_input():
    cfg = NumericsConfig.for_data_bits(8, 8)
    with pytest.raises(ValueError, match="outside its format Q8.4"):
        fft_real(np.full((1, 8), 128), cfg.twiddle, cfg.fft_out)


def test_ifft_input_range_is_symmetric():
    cfg = NumericsConfig.for_data_bits(16, 8)
    ok = np.zeros((1, 5), dtype=np.int64)
    bad = ok.copy()
    bad[0, 2] = cfg.ifft.min_int
    with pytest.raises(ValueError, match="symmetric IFFT range"):
        ifft_real(ok, bad, cfg.twiddle, cfg.ifft)
    # the accumulator -> IFFT conversion clamps to that range and counts it
    big = np.full((1, 5), -(2**60))
    log = SaturationLog()
    re, im = acc_to_ifft(
        big, -big, cfg.replace(accumulator=QFormat(62, cfg.accumulator.frac)), log, "ifft_in"
    )
    assert re.min() == -cfg.ifft.max_int and im.max() == cfg.ifft.max_int and log.counts["ifft_in"] == 10
