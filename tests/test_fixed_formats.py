"""Formats and NumericsConfig: defaults, JSON round trip, validation messages, model fitting."""

import json

import numpy as np
import pytest

from ernn.golden import GoldenNetwork, NumericsConfig, QFormat, accumulator_word, clog2, numerics_for_model
from ernn.golden.float_reference import random_model
from ernn.golden.formats import ActivationSpec, fit_frac
from ernn.golden.matvec import max_spectrum_component


def test_qformat_ranges():
    q = QFormat(16, 12)
    assert (q.min_int, q.max_int) == (-32768, 32767)
    assert q.lsb == 2.0**-12 and q.max_value == 32767 / 4096 and q.min_value == -8.0
    assert str(q) == "Q16.12"
    fx = q.fxp(1.0)
    assert (fx.n_word, fx.n_frac, int(fx.val)) == (16, 12, 4096)
    assert QFormat.from_dict(q.to_dict()) == q


@pytest.mark.parametrize("bits", [8, 10, 12, 16])
@pytest.mark.parametrize("k", [4, 16, 64])
def test_defaults_valid_and_json_round_trip(bits, k):
    cfg = NumericsConfig.for_data_bits(bits, k)
    assert cfg.data.word == bits
    assert cfg.fft_out.word == bits + int(np.log2(k)) and cfg.fft_out.frac == cfg.data.frac
    assert cfg.accumulator.frac == cfg.fft_out.frac + cfg.weight_spectrum.frac
    text = json.dumps(cfg.to_dict())
    assert NumericsConfig.from_dict(json.loads(text)) == cfg


def test_default_is_16_bit_q16_12():
    cfg = NumericsConfig.for_data_bits()
    assert cfg.data == QFormat(16, 12) and cfg.block_size == 16
    assert cfg.twiddle == QFormat(18, 16)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("twiddle", QFormat(18, 17), r"numerics\.twiddle\.frac: allowed \[2, twiddle\.word - 2 = 16\]"),
        (
            "fft_out",
            QFormat(17, 12),
            r"numerics\.fft_out\.word: allowed \[data\.word \+ log2\(block_size\) = 20",
        ),
        ("fft_out", QFormat(20, 11), r"numerics\.fft_out\.frac: allowed data\.frac = 12"),
        (
            "accumulator",
            QFormat(30, 25),
            r"accumulator\.word: allowed \[fft_out\.word \+ weight_spectrum\.word = 36",
        ),
        (
            "accumulator",
            QFormat(62, 20),
            r"accumulator\.frac: allowed fft_out\.frac \+ weight_spectrum\.frac = 25",
        ),
        ("act", QFormat(16, 15), r"numerics\.act\.frac: allowed \[1, act\.word - 2 = 14\]"),
        ("ifft_out", QFormat(19, 13), r"numerics\.ifft_out\.frac: allowed ifft\.frac = 14"),
        ("data", QFormat(30, 12), r"numerics\.data\.word: allowed \[4, 24\]"),
        ("cell", QFormat(40, 39), r"numerics\.cell\.frac"),
        (
            "sigmoid",
            ActivationSpec(5, 9),
            r"numerics\.sigmoid\.range_log2: allowed \[0, gate\.word - 1 - gate\.frac = 4\]",
        ),
        ("tanh", ActivationSpec(3, 16), r"numerics\.tanh\.seg_bits"),
        ("block_size", 12, r"numerics\.block_size: allowed a power of two in \[4, 64\]"),
        ("block_size", 128, r"numerics\.block_size"),
    ],
)
def test_bad_fields_name_field_and_range(field, value, match):
    cfg = NumericsConfig.for_data_bits(16, 16)
    with pytest.raises(ValueError, match=match):
        cfg.replace(**{field: value})


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"data bits must be an integer in \[6, 24\]"):
        NumericsConfig.for_data_bits(40)
    with pytest.raises(ValueError, match="block_size must be a power of two"):
        NumericsConfig.for_data_bits(16, 24)
    with pytest.raises(ValueError, match="block_size"):
        NumericsConfig.for_data_bits(16, 2)
    with pytest.raises(ValueError, match="QFormat.word"):
        QFormat(0, 0)


def test_from_dict_unknown_and_missing_keys():
    d = NumericsConfig.for_data_bits(12).to_dict()
    with pytest.raises(ValueError, match=r"unknown keys \['bogus'\]"):
        NumericsConfig.from_dict({**d, "bogus": 1})
    d.pop("gate")
    with pytest.raises(ValueError, match=r"missing keys \['gate'\]"):
        NumericsConfig.from_dict(d)
    d = NumericsConfig.for_data_bits(12).to_dict()
    d["data"] = {"word": 12}
    with pytest.raises(ValueError, match=r"numerics\.data: missing key 'frac'"):
        NumericsConfig.from_dict(d)


def test_accumulator_width_formula():
    assert clog2(1) == 0 and clog2(2) == 1 and clog2(3) == 2 and clog2(32) == 5 and clog2(33) == 6
    assert accumulator_word(20, 16, 32) == 20 + 16 + 5


def test_fit_frac_is_largest_that_holds():
    for value in (0.013, 0.9, 1.0, 3.7, 100.0):
        f = fit_frac(value, 16, max_frac=40)
        assert np.rint(value * 2.0**f) <= 2**15 - 1
        assert np.rint(value * 2.0 ** (f + 1)) > 2**15 - 1


def test_for_model_fits_spectra_and_accumulator():
    desc = random_model(
        "lstm", 20, 24, block_size=8, proj_size=12, peephole=True, num_layers=2, seed=4, scale=3.0
    )
    cfg = numerics_for_model(desc)
    biggest = max(
        max_spectrum_component(layer[key]) for layer in desc["layers"] for key in ("w_ih", "w_hh", "w_hr")
    )
    ws = cfg.weight_spectrum
    assert np.rint(biggest * 2.0**ws.frac) <= ws.max_int
    assert np.rint(biggest * 2.0 ** (ws.frac + 1)) > ws.max_int  # the largest frac that holds it
    blocks = -(-24 // 8) + -(-12 // 8)  # q_x + q_h of the first layer (20 inputs -> 3 blocks; 12 -> 2)
    assert cfg.accumulator.word >= cfg.required_accumulator_word(max(blocks, 3 + 2))
    GoldenNetwork(desc, cfg)  # holds the model


def test_network_rejects_config_that_cannot_hold_model():
    desc = random_model("gru", 16, 16, block_size=8, seed=0, scale=4.0)
    small = NumericsConfig.for_data_bits(16, 8).replace(
        weight_spectrum=QFormat(16, 15), accumulator=QFormat(60, 27)
    )
    with pytest.raises(
        ValueError, match=r"numerics\.weight_spectrum = Q16\.15 cannot hold .* allowed frac <= \d+"
    ):
        GoldenNetwork(desc, small)
    cfg = numerics_for_model(desc)
    tight = cfg.replace(
        accumulator=QFormat(cfg.fft_out.word + cfg.weight_spectrum.word, cfg.accumulator.frac)
    )
    with pytest.raises(
        ValueError, match=r"numerics\.accumulator\.word = \d+ is too small .* clog2\(4 blocks\)"
    ):
        GoldenNetwork(desc, tight)
    with pytest.raises(
        ValueError, match=r"numerics\.block_size = 16 does not match the model's block_size = 8"
    ):
        GoldenNetwork(desc, NumericsConfig.for_data_bits(16, 16))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"cell": "rnn"}, r"'cell' must be 'lstm' or 'gru'"),
        ({"block_size": 6}, r"'block_size' must be a power of two in \[4, 64\]"),
        ({"proj_size": 3}, r"'proj_size' and 'peephole' are LSTM options"),
        ({"num_layers": 2}, r"'layers' must be a list of num_layers = 2"),
        ({"hidden_size": 0}, r"'hidden_size' must be an integer >= 1"),
    ],
)
def test_bad_model_description(change, match):
    desc = random_model("gru", 8, 8, block_size=4, seed=0)
    with pytest.raises(ValueError, match=match):
        GoldenNetwork({**desc, **change})


def test_bad_layer_shapes_named():
    desc = random_model("lstm", 8, 8, block_size=4, seed=0)
    desc["layers"][0]["w_hh"] = desc["layers"][0]["w_hh"][:, :, :1]
    with pytest.raises(ValueError, match=r"layers\[0\]\['w_hh'\] must have shape \(4, 2, 2, 4\)"):
        GoldenNetwork(desc)
