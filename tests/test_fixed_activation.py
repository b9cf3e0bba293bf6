"""Piecewise-linear activations: documented error bound, shape properties, table formats, fxpmath equality."""

import re
from pathlib import Path

import numpy as np
import pytest

from ernn.golden import NumericsConfig, SaturationLog, activate, activation_error, activation_table
from ernn.golden.reference import ref_activation

DOC = Path(__file__).resolve().parents[1] / "docs" / "numerics.md"
ROW = re.compile(
    r"^\|\s*(\d+)\s*\|\s*(sigmoid|tanh)\s*\|\s*(Q[\d.]+)\s*\|\s*(Q[\d.]+)\s*\|\s*(\d+)\s*\|\s*([0-9.e+-]+)\s*\|"
    r"\s*([0-9.]+)\s*\|\s*([0-9.e+-]+)\s*\|\s*$"
)


def documented_rows():
    rows = [ROW.match(line) for line in DOC.read_text().splitlines()]
    return [m.groups() for m in rows if m]


def test_documented_error_table_is_current():
    rows = documented_rows()
    assert {(int(r[0]), r[1]) for r in rows} == {(b, f) for b in (8, 10, 12, 16) for f in ("sigmoid", "tanh")}
    for bits, kind, q_in, q_out, segs, max_abs, max_lsb, rms in rows:
        cfg = NumericsConfig.for_data_bits(int(bits))
        table = activation_table(kind, cfg)
        err = activation_error(table)
        assert (str(cfg.gate), str(cfg.act), 2**table.spec.seg_bits) == (q_in, q_out, int(segs))
        # the documented numbers are the measured ones rounded up (3 significant digits)
        assert err["max_abs"] <= float(max_abs) <= err["max_abs"] * 1.01
        assert err["max_lsb"] <= float(max_lsb) <= err["max_lsb"] + 0.01
        assert err["rms"] <= float(rms) <= err["rms"] * 1.01


@pytest.mark.parametrize("bits", [8, 10, 12, 16])
@pytest.mark.parametrize("kind", ["sigmoid", "tanh"])
def test_shape_properties(bits, kind):
    cfg = NumericsConfig.for_data_bits(bits)
    table = activation_table(kind, cfg)
    x = np.arange(cfg.gate.min_int, cfg.gate.max_int + 1)
    log = SaturationLog()
    y = activate(x, table, log)
    one = 1 << cfg.act.frac
    assert np.all(np.diff(y) >= 0)  # non-decreasing
    assert y.min() >= (0 if kind == "sigmoid" else -one) and y.max() <= one
    assert log.total == 0
    # symmetric to within one LSB: sigmoid(-x) = 1 - sigmoid(x), tanh(-x) = -tanh(x)
    mirror = activate(-x[1:], table)
    assert np.abs(y[1:] + mirror - (one if kind == "sigmoid" else 0)).max() <= 1
    # the error never exceeds ~1 output LSB plus the input quantization's effect on a 1-LSB-wide input
    assert activation_error(table)["max_lsb"] <= 1.1


def test_table_formats_and_sizes():
    cfg = NumericsConfig.for_data_bits(16)
    for kind in ("sigmoid", "tanh"):
        t = activation_table(kind, cfg)
        assert t.values.shape == t.slopes.shape == (1 << t.spec.seg_bits,)
        assert t.values.min() >= cfg.act.min_int and t.values.max() <= cfg.act.max_int
        assert t.slopes.min() >= 0 and t.slopes.max() <= cfg.act_slope.max_int


@pytest.mark.parametrize("bits", [8, 16])
def test_fast_equals_fxpmath(bits):
    cfg = NumericsConfig.for_data_bits(bits)
    step = 1 if bits == 8 else 37
    x = np.arange(cfg.gate.min_int, cfg.gate.max_int + 1, step)
    x = np.concatenate((x, [cfg.gate.max_int, 0, -1, 1]))
    for kind in ("sigmoid", "tanh"):
        table = activation_table(kind, cfg)
        assert np.array_equal(activate(x, table), ref_activation(x, table))
