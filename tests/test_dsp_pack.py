"""ernn.export.dsp_pack: the packing rule (the same as rtl/ernn_cmac.v's elaboration check, which
tb/ernn_cmac_array tests on the RTL side) on the default formats."""

from __future__ import annotations

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
