"""ernn.export.dsp_pack: the packing rule (the same as rtl/ernn_cmac.v's elaboration check, which
tb/ernn_cmac_array tests on the RTL side) on the default formats."""

from __future__ import annotations

import pytest

from ernn.export import dsp_pack
from ernn.golden.formats import NumericsConfig, QFormat


def test_default_formats() -> None:
    # 8-bit data: k = 4 packs (10 + 2 * 8 + 1 = 27), k = 8 and 16 do not with 8-bit weight spectra
    assert dsp_pack.dsp_pack(NumericsConfig.for_data_bits(8, 4))
    cfg = NumericsConfig.for_data_bits(8, 16)
    assert not dsp_pack.dsp_pack(cfg)
    assert dsp_pack.dsp_pack_problem(cfg) == (
        "a packed pair of 8-bit weight spectra against 12-bit input spectra needs 29 bits > 27 "
        "(weight spectra of at most 7 bits pack)"
    )
    # 16-bit data: the input spectra alone are too wide for the 18-bit port
    problem = dsp_pack.dsp_pack_problem(NumericsConfig.for_data_bits(16, 16))
    assert problem is not None and "20 bits" in problem and "18-bit port" in problem


def test_widest_packable_weight_spectrum_is_the_boundary() -> None:
    for fft_w in range(8, 20):
        ws = dsp_pack.widest_packable_weight_spectrum(fft_w)
        if fft_w > dsp_pack.DSP_B_W:
            assert ws == 0
            continue
        assert dsp_pack.packed_pair_bits(fft_w, ws) <= dsp_pack.DSP_A_W
        assert dsp_pack.packed_pair_bits(fft_w, ws + 1) > dsp_pack.DSP_A_W
    cfg = NumericsConfig.for_data_bits(8, 16)
    acc = cfg.accumulator
    narrow = cfg.replace(
        weight_spectrum=QFormat(7, cfg.weight_spectrum.frac - 1),
        accumulator=QFormat(acc.word - 1, acc.frac - 1),
    )
    assert dsp_pack.dsp_pack(narrow)


def test_packed_numerics_narrows_the_fraction_and_keeps_the_range() -> None:
    cfg = NumericsConfig.for_data_bits(8, 16)  # weight spectra Q8.5, input spectra 12 bits
    packed = dsp_pack.packed_numerics(cfg)
    ws, acc = packed.weight_spectrum, packed.accumulator
    assert (ws.word, ws.frac) == (7, cfg.weight_spectrum.frac - 1)  # the integer bits stay
    assert (acc.word, acc.frac) == (cfg.accumulator.word - 1, cfg.accumulator.frac - 1)
    assert dsp_pack.dsp_pack(packed)
    assert packed.replace(weight_spectrum=cfg.weight_spectrum, accumulator=cfg.accumulator) == cfg
    # formats that already pack come back as they are (8-bit data at k = 4)
    k4 = NumericsConfig.for_data_bits(8, 4)
    assert dsp_pack.packed_numerics(k4) == k4


def test_packed_numerics_refuses_what_cannot_pack() -> None:
    with pytest.raises(ValueError, match=r"20 bits .*18-bit port.*at most 14 bits at k = 16"):
        dsp_pack.packed_numerics(NumericsConfig.for_data_bits(16, 16))
    # 10-bit data at k = 16: 14-bit input spectra leave 6-bit weight spectra, 4 bits off the default 10
    with pytest.raises(ValueError, match="narrow the 10-bit weight spectra to 6 bits"):
        dsp_pack.packed_numerics(NumericsConfig.for_data_bits(10, 16))
    # 16-bit data at k = 4: the input spectra fit the port, but the weights would go from 16 to 4 bits
    with pytest.raises(ValueError, match="more than the 1 bit"):
        dsp_pack.packed_numerics(NumericsConfig.for_data_bits(16, 4))
    # one bit off a weight range that needs every integer bit: no fraction bit left
    cfg = NumericsConfig.for_data_bits(8, 16)
    acc = cfg.accumulator
    wide = cfg.replace(weight_spectrum=QFormat(8, 1), accumulator=QFormat(acc.word, cfg.fft_out.frac + 1))
    with pytest.raises(ValueError, match="leaving no fraction bit"):
        dsp_pack.packed_numerics(wide)
