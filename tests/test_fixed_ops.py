"""Integer helpers: rounding modes, saturation counting (never wrap), headroom, hex export."""

from fractions import Fraction
from math import floor

import numpy as np
import pytest

from ernn.golden import (
    QFormat,
    SaturationLog,
    align,
    dequantize,
    floor_shift,
    hex_words,
    quantize,
    round_shift,
    saturate,
)
from ernn.golden.ops import check_headroom


def test_round_shift_is_round_half_up():
    x = np.arange(-70, 71, dtype=np.int64)
    for n in (1, 2, 3, 5):
        expect = [floor(Fraction(int(v), 2**n) + Fraction(1, 2)) for v in x]
        assert round_shift(x, n).tolist() == expect
    assert round_shift(x, 0).tolist() == x.tolist()
    assert round_shift(x, -3).tolist() == (x * 8).tolist()
    # ties go up (towards +inf), also for negative values
    assert round_shift(np.array([-3, -1, 1, 3]), 1).tolist() == [-1, 0, 1, 2]


def test_floor_shift_and_align():
    x = np.array([-5, -4, -1, 0, 3, 7])
    assert floor_shift(x, 1).tolist() == [-3, -2, -1, 0, 1, 3]
    assert align(x, 4, 2).tolist() == round_shift(x, 2).tolist()
    assert align(x, 2, 4).tolist() == (x * 4).tolist()


def test_quantize_ties_to_even_and_saturation_counted():
    fmt = QFormat(8, 2)
    log = SaturationLog()
    vals = np.array([0.125, 0.375, -0.125, -0.375, 31.75, 31.9, 100.0, -32.0, -33.0])
    q = quantize(vals, fmt, log, "q")
    assert q.tolist() == [0, 2, 0, -2, 127, 127, 127, -128, -128]
    assert log.counts["q"] == 3 and log.seen["q"] == vals.size
    with pytest.raises(ValueError, match="NaN"):
        quantize(np.array([np.nan]), fmt)
    assert dequantize(q[:4], fmt).tolist() == [0.0, 0.5, 0.0, -0.5]


def test_saturate_never_wraps_and_counts():
    fmt = QFormat(12, 4)
    log = SaturationLog().child("blk")
    x = np.array([2047, 2048, -2048, -2049, 10**15, -(10**15), 0])
    y = saturate(x, fmt, log, "p")
    assert y.tolist() == [2047, 2047, -2048, -2048, 2047, -2048, 0]
    assert log.counts == {"blk/p": 4}
    saturate(np.zeros(3, dtype=np.int64), fmt, log, "p")
    assert log.counts == {"blk/p": 4} and log.seen == {"blk/p": 10}


def test_headroom_guard():
    check_headroom(np.array([2**61, -(2**61)]), "ok")
    with pytest.raises(OverflowError, match="exceeds 2\\*\\*62"):
        check_headroom(np.array([2**62]), "big")
    with pytest.raises(OverflowError):
        round_shift(np.array([2**40]), -30)


def test_hex_words_twos_complement():
    assert hex_words(np.array([0, 1, -1, -32768, 32767]), 16) == ["0000", "0001", "ffff", "8000", "7fff"]
    assert hex_words(np.array([-1, 5]), 18) == ["3ffff", "00005"]
    with pytest.raises(ValueError, match="outside the signed 8-bit range"):
        hex_words(np.array([200]), 8)


def test_quantize_agrees_with_fxpmath_authority():
    rng = np.random.default_rng(0)
    for fmt in (QFormat(8, 4), QFormat(16, 12), QFormat(18, 16), QFormat(24, 20)):
        vals = np.concatenate(
            (
                rng.uniform(fmt.min_value * 1.5, fmt.max_value * 1.5, size=500),
                (np.arange(-20, 21) + 0.5) * fmt.lsb,  # exact ties
            )
        )
        expect = np.asarray(fmt.fxp(vals, rounding="around").val, dtype=np.int64)
        assert np.array_equal(quantize(vals, fmt), expect)
