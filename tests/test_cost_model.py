"""Phase II: the cost model's structural counts, its calibration, and the choice of P."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from ernn.dse import cost_model
from ernn.dse import phase2 as dse_hw
from ernn.export import layout as hw_layout
from ernn.fpga import open_flow as fpga

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "docs" / "results" / "cost_samples_issue18.json"
#: the same points re-measured on later RTL, none used in the fit (docs/dse.md): revision -> (file, the
#: measured misses of the issue's 15 % there: sample -> (resource, largest error %))
REMEASURED = {
    # session 40
    "9a29b84": (ROOT / "docs" / "results" / "cost_samples_9a29b84.json", {"gru6x40_k16_p128": ("lut", 18.0)}),
    # session 45: the LSTM at P = 32 now gets two IFFTs (emit 2), whose gearbox the model undercounts
    "ec853ea": (
        ROOT / "docs" / "results" / "cost_samples_ec853ea.json",
        {"gru6x40_k16_p128": ("lut", 16.5), "lstm12x32_k8_p32": ("lut", 20.5)},
    ),
}


def test_twiddle_multipliers_match_the_transform_structure():
    # k = 4: stages 1-2 only (W = 1, -j); k = 8: stage 3 multiplies at m = 1, 3 (m = 2 is -j);
    # k = 16: stage 3 at m = 2, 6 in two groups, stage 4 at every m but 0 and 4
    assert [cost_model.twiddle_multipliers(k, False) for k in (4, 8, 16)] == [0, 2, 10]
    assert cost_model.twiddle_multipliers(32, True) == 4 * 2 + 2 * 6 + 14


@pytest.mark.parametrize("bins", [3, 5, 9, 17])
def test_gearbox_and_rotation_counts_follow_the_rtl(bins):
    """Brute force over rtl/ernn_pe.v's gearbox loop: entry n takes lane n - d for every landing d
    (all d < bins, only 0 when P is a multiple of bins) with 0 <= n - d < P, and shifts in entry
    n + f bins for the f = 1..EMIT_MAX row blocks that can leave at once; the lanes share one rotation
    of bins selects unless every round starts at bin 0."""
    for lanes in range(1, 4 * bins + 2):
        cap = bins + lanes - 1
        landings = 1 if lanes % bins == 0 else bins
        lane_in = sum(sum(1 for d in range(landings) if 0 <= n - d < lanes) for n in range(cap))
        for emit in (1, 2, 4):
            shift_in = sum(1 for n in range(cap) for f in range(1, emit + 1) if n + f * bins < cap)
            assert cost_model.gearbox_inputs(lanes, bins, emit) == (lane_in, shift_in), (lanes, bins, emit)
        count = lane_in + sum(1 for n in range(cap) if n + bins < cap)
        assert cost_model.gearbox_mux_inputs(lanes, bins) == count, (lanes, bins)
        rot = 0 if lanes % bins == 0 else min(lanes, bins) * bins
        assert cost_model.rotation_mux_inputs(lanes, bins) == rot
    # whole row blocks per round: a FIFO (one lane per entry plus the shift), not a bins-way mux
    assert (
        cost_model.gearbox_mux_inputs(4 * bins, bins) < cost_model.gearbox_mux_inputs(4 * bins + 1, bins) / 2
    )


@pytest.mark.parametrize("bins", [3, 5, 9, 17])
def test_hold_gearbox_window_counts_follow_the_rtl(bins):
    """rtl/ernn_pe.v g_gb_hold: window row g at pointer q is round row q EMIT_MAX + g (zeros past the
    round's RROWS rows), so each of the EMIT_MAX rows' bins words selects among NQ candidate rows; every
    held row is exactly one candidate. A P that is not a multiple of bins keeps the shift form."""
    for rows in range(1, 12):
        lanes = rows * bins
        for emit in (1, 2, 4):
            emit = min(emit, rows)  # EMIT_MAX = min(N_IFFT, GB_ROWS) and GB_ROWS = P / bins here
            nq = -(-rows // emit)
            cand = [q * emit + g for g in range(emit) for q in range(nq)]
            assert sorted(r for r in cand if r < rows) == list(range(rows))
            assert cost_model.gearbox_inputs(lanes, bins, emit, hold=True) == (0, len(cand) * bins)
        assert cost_model.gearbox_inputs(lanes + 1, bins, 1, hold=True) == cost_model.gearbox_inputs(
            lanes + 1, bins, 1
        )


def test_lane_candidates_include_whole_row_blocks():
    plain = dse_hw.default_lane_candidates(1024)
    assert plain[:6] == [1, 2, 3, 4, 6, 8] and plain[-1] == 1024
    with_bins = dse_hw.default_lane_candidates(1024, bins=9)
    assert set(plain) < set(with_bins)
    assert {9, 18, 27, 36, 288, 864} <= set(with_bins) and max(with_bins) == 1024


def test_dsp_and_bram_counts():
    assert cost_model.dsp_per_multiply(27, 18) == 1
    assert cost_model.dsp_per_multiply(28, 18) == 2
    assert cost_model.dsp_per_multiply(18, 27) == 1
    assert cost_model.dsp_per_multiply(26, 18, "xc7") == 2
    assert cost_model.bram36(512, 72) == 1.0
    assert cost_model.bram36(1024, 72) == 2.0
    assert cost_model.bram36(512, 36) == 0.5
    assert cost_model.bram36(cost_model.BRAM_MAX_LUT_DEPTH, 4096) == 0.0
    # 1210 words x 8192 bits (SR1 at P = 256): 114 x 3 in the 72 x 512 aspect ratio
    assert cost_model.bram36(1210, 8192) == 342.0


def _config(lanes: int = 16, **shape) -> cost_model.HwConfig:
    return dse_hw.config_for_shape({**dse_hw.SHAPES["default"], **shape}, lanes)


def test_config_follows_the_exporter():
    c = _config(16)
    assert (c.k, c.lanes, c.cell_lanes, c.bins) == (8, 16, 2, 5)
    assert c.w_depth == 30  # ERNN_W_DEPTH of the default model at P = 16 (docs/accelerator.md)
    assert c.fft_w == 19 and c.ws_w == 16


def test_packed_lanes_take_two_dsps_per_complex_lane_and_one_per_two_real_lanes():
    # 8-bit SR1 at P = 1152 (128 row blocks of 9 bins: 256 real lanes), as export --dsp-pack builds it
    plain = dse_hw.config_for_shape(dse_hw.SHAPES["sr1"], 1152, data_bits=8)
    packed = dse_hw.config_for_shape(dse_hw.SHAPES["sr1"], 1152, data_bits=8, dsp_pack=True)
    assert packed.dsp_pack and not plain.dsp_pack and packed.real_bins
    assert (plain.ws_w, packed.ws_w) == (8, 7)
    # rtl/ernn_cmac_array.v PAIR_REAL (948c96d): bins 0 and 8 of row blocks 2n and 2n + 1 share one
    # ernn_rmac_pair, 64 pairs per bin position: 1,920 DSPs, not the 2,048 of one per real lane
    lanes = cost_model.features(packed)["mac_lanes"]["dsp"]
    assert lanes == 2 * (1152 - 256) + 2 * 64 == 1920
    assert cost_model.features(replace(packed, pair_real=False))["mac_lanes"]["dsp"] == 2 * (1152 - 256) + 256
    # unpacked real lanes are never paired (the pair is a packed multiply)
    assert cost_model.features(plain)["mac_lanes"]["dsp"] == 3 * (1152 - 256) + 256
    # an odd number of row blocks leaves one lone real lane per bin position: 9 of them at P = 81
    odd = dse_hw.config_for_shape(dse_hw.SHAPES["sr1"], 81, data_bits=8, dsp_pack=True)
    assert cost_model.real_lane_multiplies(odd) == (8, 2)
    assert cost_model.features(odd)["mac_lanes"]["dsp"] == 2 * (81 - 18) + 8 + 2
    with pytest.raises(ValueError, match="18-bit port"):
        dse_hw.config_for_shape(dse_hw.SHAPES["sr1"], 1152, data_bits=16, dsp_pack=True)


def test_cell_multipliers_and_tables_follow_the_formats():
    """rtl/ernn_act_pwl.v interpolates (one slope x (B + 1) multiply per lookup) only when the table
    leaves offset bits B > 0; the 8-bit path looks every code up (B = 0: no multiplier, no slope
    table). At 16 bits the LSTM's five lookups take one DSP each (18 x 7)."""
    wide = _config(16)
    narrow = dse_hw.config_for_shape(dse_hw.SHAPES["default"], 16, data_bits=8)
    assert wide.sigmoid_offset_bits > 0 and narrow.sigmoid_offset_bits == narrow.tanh_offset_bits == 0
    assert cost_model.cell_multipliers(wide)[0] == 5 and cost_model.cell_multipliers(narrow)[0] == 0
    # tables: LSTM sigmoid i/f one copy per lane, o, g, tanh(c) one per two lanes
    assert cost_model.act_table_copies(wide) == (2 + 1, 2 * 1)
    gru = _config(16, cell="gru")
    assert cost_model.act_table_copies(gru) == (gru.cell_lanes, (gru.cell_lanes + 1) // 2)
    assert cost_model.part_of("pe_control", "ernn_round_sat") == "pe_rounders"
    assert cost_model.part_of("pe_control", "ernn_pe") == "pe_gearbox"
    with pytest.raises(KeyError, match="no cost-model part"):
        cost_model.part_of("dram", "ernn_pe")


def test_multiplier_registers_add_their_flip_flops_as_counted():
    # the default model at P = 16 (16-bit: input spectra 19 bits, weight spectra 16): three Gauss
    # products of 19 + 16 + 1 bits per lane; k = 8: two butterflies with a general twiddle per transform
    c = _config(16)
    assert c.mreg == 1 and c.tw_w == 18
    ff = cost_model.mreg_flip_flops(c)
    assert ff["mac_lanes"] == 16 * 3 * 36
    # each general twiddle: three products in its ernn_cmul, the delayed a in its butterfly
    assert ff["fft_twiddles"] == 2 * 3 * (19 + 18 + 1) and ff["fft"] == 2 * 2 * 19
    assert ff["ifft_twiddles"] + ff["ifft"] == c.n_ifft * 2 * (3 * (c.ifft_w + 18 + 1) + 2 * c.ifft_w)
    assert set(ff) == set(cost_model.PARTS)
    assert ff["cell"] == ff["controller"] == ff["pe_gearbox"] == ff["pe_registers"] == 0
    # they are added to the fitted estimate unscaled; a sample built before them (mreg 0) gets none
    before = cost_model.estimate(replace(c, mreg=0))
    after = cost_model.estimate(c)
    assert after.used["ff"] - before.used["ff"] == pytest.approx(sum(ff.values()))
    assert after.used["lut"] == before.used["lut"]
    # packed lanes: two products of 2 X + 2 C + 1 bits; a pair of real lanes one packed product of
    # X + 2 C + 1 + X bits (ernn_rmac_pair M_W); a lone real lane one of X + C + 1
    packed = dse_hw.config_for_shape(dse_hw.SHAPES["sr1"], 1152, data_bits=8, dsp_pack=True)
    pair_m = 12 + 2 * 7 + 1 + 12
    assert cost_model.mreg_flip_flops(packed)["mac_lanes"] == 896 * 2 * (2 * 12 + 2 * 7 + 1) + 128 * pair_m
    unpaired = replace(packed, pair_real=False)
    assert cost_model.mreg_flip_flops(unpaired)["mac_lanes"] == 896 * 2 * (2 * 12 + 2 * 7 + 1) + 256 * 20


#: HwConfig fields of the PE's RTL revisions; a stored sample without them describes a377d90's RTL
_CALIBRATION_RTL = {"hold_gearbox": False, "late_sat": False, "pair_real": False, "win_reg": False}


def test_rounder_bits_follow_round_sat():
    """rtl/ernn_round_sat.v's branches: a clamp checks SH_W - OUT_W + 1 bits and keeps OUT_W - 1 (a
    pre-rounded word's top bit repeats its sign); SYMMETRIC keeps a most-negative check at SH_W = OUT_W;
    an unrounded input adds its SH_W-bit rounding adder; a narrower word is only sign-extended."""
    assert cost_model.rounder_bits(25, 5, 15, pre_rounded=True) == (25 - 5 - 15 + 1) + (15 - 1)
    assert cost_model.rounder_bits(20, 0, 15, pre_rounded=False) == (20 - 15 + 1) + (15 - 1)
    assert cost_model.rounder_bits(25, 5, 15, pre_rounded=False) == (21 - 15 + 1) + (15 - 1) + 21
    assert cost_model.rounder_bits(25, 5, 21, pre_rounded=False, symmetric=False) == 21  # round only
    assert cost_model.rounder_bits(15, 0, 15, pre_rounded=False) == 15
    assert cost_model.rounder_bits(15, 0, 15, pre_rounded=False, symmetric=False) == 0
    assert cost_model.rounder_bits(12, 0, 15, pre_rounded=False) == 0


def test_hold_gearbox_counts_follow_the_rtl_for_sr1_packed():
    """SR1 packed at P = 1,152 on today's RTL (948c96d), counted by hand from rtl/ernn_pe.v: 128 row
    blocks of 9 bins, 4 IFFTs (EMIT_MAX 4), so NQ = 32 window positions; the lanes pre-round (PRE_ROUND:
    0 < ACC_SHIFT < min(FFT_W, WS_W), ACC_W = FFT_W + WS_W + clog2(64)), so HOLD_W = ACC_W - ACC_SHIFT,
    the lanes are wires and the 4 x 9 x 2 IFFT inputs are clamped once each. The spectrum slots are in two
    banks (load ahead: the timing model's 388 clocks miss 1.25 x 310, its 386 with two banks meet it), so
    the buffer holds 128 slots while a job still reads at most 64 (the accumulator's sum)."""
    c = dse_hw.config_for_shape(dse_hw.SHAPES["sr1"], 1152, data_bits=8, dsp_pack=True)
    assert (c.bins, c.n_ifft, c.xbuf_depth) == (9, 4, 128) and c.hold_gearbox and c.late_sat and c.pair_real
    assert c.load_ahead and max(job.read_count for job in hw_layout.all_jobs(c.shape)) == 64
    assert 0 < c.acc_shift < min(c.fft_w, c.ws_w) and c.acc_w >= c.fft_w + c.ws_w + 6
    hold_w = c.acc_w - c.acc_shift
    assert cost_model.hold_width(c) == hold_w > c.ifft_w
    f = cost_model.features(c)
    words = 4 * 9 * 32  # EMIT_MAX rows x bins words x NQ candidates
    assert f["pe_gearbox"]["lut"] == pytest.approx(cost_model.GEARBOX_SHIFT_WEIGHT * words * 2 * hold_w)
    assert f["pe_gearbox"]["ff"] == 1152 * 2 * hold_w  # hold_re_reg, hold_im_reg
    # 2 x 72 clamps (ernn_round_sat IN_W = HOLD_W, SHIFT 0; g_sat_reg since 6fdb966: the landing
    # round's rows and the window one pointer on): HOLD_W - IFFT_W + 1 bits checked, IFFT_W - 1 kept
    assert c.win_reg and cost_model.pe_rounders(c) == [(144, hold_w)]
    assert f["pe_rounders"]["lut"] == 144 * ((hold_w - c.ifft_w + 1) + (c.ifft_w - 1))
    # round_reg_inst: 2 P words of HOLD_W bits; the output skid: two beats of 4 row blocks; the clamped
    # window: 4 rows x 9 bins x 2 words of IFFT_W
    assert cost_model.window_register_bits(c) == 4 * 9 * 2 * c.ifft_w
    assert f["pe_registers"]["ff"] == 2 * 1152 * hold_w + 2 * 4 * 16 * c.ifft_out_w + 72 * c.ifft_w
    # before 6fdb966 (948c96d): one clamp per IFFT input word, no window register
    before = cost_model.features(replace(c, win_reg=False))
    assert before["pe_rounders"]["lut"] == 72 * ((hold_w - c.ifft_w + 1) + (c.ifft_w - 1))
    assert before["pe_registers"]["ff"] == 2 * 1152 * hold_w + 2 * 4 * 16 * c.ifft_out_w
    # the MAC lanes: 896 complex (2 DSPs), 128 pairs of real lanes (1 DSP each)
    assert f["mac_lanes"]["dsp"] == 2 * (1152 - 256) + 2 * 64 == 1920
    lane_bits = 2 * c.acc_w + 2 * c.fft_w + 2 * c.ws_w
    assert f["mac_lanes"]["ff"] == (1152 - 128) * lane_bits - 128 * c.fft_w  # a pair registers one x
    assert f["mac_lanes"]["lut"] == (1152 - 128) * lane_bits + 128 * (c.fft_w + c.ws_w + 1)  # its split
    # on the calibration's RTL (a377d90) the same P had the shift gearbox and two clamps per lane
    old = cost_model.features(replace(c, **_CALIBRATION_RTL))
    assert old["pe_gearbox"]["ff"] == (9 + 1151) * 2 * c.ifft_w
    assert old["pe_rounders"]["lut"] == 2 * 1152 * (c.acc_w - c.acc_shift)
    assert old["pe_registers"]["ff"] == 2 * 1152 * c.ifft_w + 2 * 4 * 16 * c.ifft_out_w
    assert old["mac_lanes"]["dsp"] == 2048


def test_hold_gearbox_counts_follow_the_rtl_for_the_default_model():
    """The default model (16-bit, k = 8) at P = 80: 16 row blocks of 5 bins, 2 IFFTs, NQ = 8; real but
    unpacked lanes (one multiply each, never paired). The hold form's words are the pre-rounded sums
    (HOLD_W = ACC_W - ACC_SHIFT); with an accumulator one bit short of PRE_ROUND's room the lanes round
    (two round-only ernn_round_sat per lane, an SH_W-bit adder each) and HOLD_W is SH_W."""
    c = _config(80)
    assert (c.bins, c.n_ifft, c.xbuf_depth, c.real_bins, c.dsp_pack) == (5, 2, 6, True, False)
    assert 0 < c.acc_shift < min(c.fft_w, c.ws_w) and c.acc_w >= c.fft_w + c.ws_w + 3
    hold_w = c.acc_w - c.acc_shift
    f = cost_model.features(c)
    words = 2 * 5 * 8
    assert f["pe_gearbox"]["lut"] == pytest.approx(cost_model.GEARBOX_SHIFT_WEIGHT * words * 2 * hold_w)
    assert f["pe_gearbox"]["ff"] == 80 * 2 * hold_w
    # two sets (the registered window's landing and next-pointer candidates) of 2 rows x 5 bins x 2 words
    assert f["pe_rounders"]["lut"] == 2 * 2 * 2 * 5 * hold_w
    assert f["pe_registers"]["ff"] == 2 * 80 * hold_w + 2 * 2 * 8 * c.ifft_out_w + 2 * 5 * 2 * c.ifft_w
    mul = cost_model.dsp_per_multiply(c.fft_w + 1, c.ws_w + 1)
    assert f["mac_lanes"]["dsp"] == (3 * (80 - 32) + 32) * mul
    assert cost_model.mreg_flip_flops(c) == cost_model.mreg_flip_flops(replace(c, **_CALIBRATION_RTL))
    # not pre-rounded: the lanes' rounders only round (OUT_W = SH_W: an adder, no clamp)
    short = replace(c, acc_w=c.acc_w - 1)
    sh_w = short.acc_w + 1 - short.acc_shift
    assert not cost_model.pre_round(short) and cost_model.hold_width(short) == sh_w
    assert cost_model.pe_rounders(short) == [(160, sh_w), (40, sh_w)]
    assert cost_model.features(short)["pe_gearbox"]["ff"] == 80 * 2 * sh_w


def test_shift_gearbox_counts_are_unchanged():
    """The default model at P = 16 (k = 8: not a multiple of 5 bins) keeps the shift gearbox on every RTL
    revision: bins + P - 1 entries of IFFT words, two clamping rounders per lane, no real lanes."""
    c = _config(16)
    assert c.lanes % c.bins != 0 and not c.real_bins and c.n_ifft == 1
    f = cost_model.features(c)
    assert f == cost_model.features(replace(c, **_CALIBRATION_RTL))
    assert cost_model.hold_width(c) == c.ifft_w
    lane_in, shift_in = cost_model.gearbox_inputs(16, 5, 1)
    lut = (lane_in + cost_model.GEARBOX_SHIFT_WEIGHT * shift_in) * 2 * c.ifft_w
    assert f["pe_gearbox"]["lut"] == pytest.approx(lut)
    assert f["pe_gearbox"]["ff"] == (5 + 16 - 1) * 2 * c.ifft_w
    assert f["pe_rounders"]["lut"] == 2 * 16 * (c.acc_w - c.acc_shift)
    assert f["pe_registers"]["ff"] == 2 * 16 * c.ifft_w + 2 * 8 * c.ifft_out_w
    assert f["mac_lanes"]["dsp"] == 3 * 16 * cost_model.dsp_per_multiply(c.fft_w + 1, c.ws_w + 1)


def test_stored_samples_keep_the_rtl_they_were_measured_on():
    """A sample's hw_config without the RTL-revision fields is a377d90's (the committed samples), so its
    features, and the committed coefficients fitted on them, stay those of the RTL it was measured on;
    the exporter's configuration is today's RTL."""
    for s in _committed_samples():
        c = cost_model.HwConfig(**s["hw_config"])
        assert {f: getattr(c, f) for f in _CALIBRATION_RTL} == {
            f: s["hw_config"].get(f, False) for f in _CALIBRATION_RTL
        }
    assert all(s["rtl_revision"].startswith(("a377d90", "4d7d770")) for s in _committed_samples())
    c = _config(16)
    assert all(getattr(c, f) for f in _CALIBRATION_RTL)


def test_config_prices_the_gru_job_order_the_exporter_chose():
    from ernn.export import schedule
    from ernn.export.timing import step_timing

    # GRU 6 -> 4, 2 layers, k 4, P 8: the exporter issues in, rz, hn (tb/ernn_top's gru_2l_in_first)
    c = _config(8, cell="gru", input_size=6, hidden_size=4, block_size=4, num_layers=2, proj_size=0)
    assert c.gru_in_first == schedule.gru_in_first(c.shape, 8) is True
    timed = step_timing(c.shape, 8, c.cell_lanes, iffts=c.n_ifft, layer_skew=c.layer_skew, in_first=True)
    assert cost_model._raw_cycles(c) == timed.cycles
    assert not _config(16).gru_in_first  # never for an LSTM
    # GRU 36 -> 14, k 4, P 57: one fused job per stage (schedule.gru_fused), priced as such
    f = _config(57, cell="gru", input_size=36, hidden_size=14, block_size=4, num_layers=1, proj_size=0)
    assert f.gru_fused and not f.gru_in_first
    fused = step_timing(f.shape, 57, f.cell_lanes, iffts=f.n_ifft, gru_fused=True)
    assert cost_model._raw_cycles(f) == fused.cycles
    assert fused.cycles < step_timing(f.shape, 57, f.cell_lanes, iffts=f.n_ifft, in_first=True).cycles


def test_fit_recovers_a_known_linear_law():
    """Every part's resources 3 x feature + 7 (FF: plus the counted multiplier registers, which the
    fit takes off): the fit finds 3 and 7, and the estimate sums the parts into their blocks."""
    configs = {f"s{p}": _config(p) for p in (2, 4, 8, 16, 32)}
    samples = []
    for name, c in configs.items():
        f, mreg = cost_model.features(c), cost_model.mreg_flip_flops(c)
        parts = {
            part: {
                r: 3.0 * f[part][r] + 7.0 + (mreg[part] if r == "ff" else 0.0) for r in cost_model.RESOURCES
            }
            for part in cost_model.PARTS
        }
        samples.append(
            {
                "name": name,
                "role": "calibration",
                "lanes": c.lanes,
                "hw_config": asdict(c),
                "cycles_per_step": cost_model._raw_cycles(c) + 4,
                "yosys": {"parts": parts},
            }
        )
    coeffs = cost_model.fit(samples)
    assert coeffs["cycle_overhead"] == pytest.approx(4.0) and coeffs["cycle_per_extra_job"] == 0.0
    laws = [
        ("mac_lanes", "lut"),
        ("mac_lanes", "ff"),
        ("pe_gearbox", "ff"),
        ("pe_rounders", "lut"),
        ("mac_lanes", "dsp"),
    ]
    for part, res in laws:
        law = coeffs["parts"][part][res]
        assert law["slope"] == pytest.approx(3.0) and law["intercept"] == pytest.approx(7.0), (part, res)
    est = cost_model.estimate(configs["s8"], coeffs)
    f, mreg = cost_model.features(configs["s8"]), cost_model.mreg_flip_flops(configs["s8"])
    assert est.used["dsp"] == pytest.approx(sum(3.0 * f[part]["dsp"] + 7.0 for part in cost_model.PARTS))
    pe = [part for part, (block, _, _) in cost_model.PARTS.items() if block == "pe_control"]
    assert len(pe) > 1
    assert est.blocks["pe_control"]["ff"] == pytest.approx(sum(3.0 * f[q]["ff"] + 7.0 + mreg[q] for q in pe))
    with pytest.raises(ValueError, match="at least 2 calibration samples"):
        cost_model.fit(samples[:1])
    # a sample without the per-part breakdown cannot calibrate a block of several parts
    blocks_only = [{**s, "yosys": {"blocks": {}}} for s in samples]
    with pytest.raises(ValueError, match="per-part breakdown"):
        cost_model.fit(blocks_only)
    # coefficients of another structure (the per-block file before the parts) are refused by name
    with pytest.raises(ValueError, match="bench_cost_samples.py --fit"):
        cost_model.estimate(configs["s8"], {"blocks": coeffs["parts"], "cycle_overhead": 0.0})


def test_estimates_trade_cycles_for_resources():
    coeffs = cost_model.load_coefficients()
    rows = dse_hw.sweep(_config(16), [1, 2, 4, 8, 16, 32, 64], coeffs=coeffs)
    cycles = [r["cycles_per_step"] for r in rows]
    dsp = [r["used"]["dsp"] for r in rows]
    assert cycles[:6] == sorted(cycles[:6], reverse=True) and cycles[0] > 4 * cycles[5]
    assert dsp == sorted(dsp)
    # beyond P = 32 the 5-bin gearbox drain (ceil(P / 5) clocks per round) and the one IFFT (16 row
    # blocks after h_{t-1}'s last block) bound the step: doubling P to 64 saves under 5 % for twice the
    # MAC DSPs (Verilator: 55 clocks at P = 32, 53 at P = 64 with 4 cell lanes); the smallest point is on
    # the Pareto front
    assert 0.95 * cycles[5] < cycles[6] <= cycles[5] and dsp[6] > 1.5 * dsp[5]
    assert rows[0]["pareto"] and rows[5]["pareto"]


def _rows(latencies, utils):
    return [
        {"lanes": p, "latency_us": lat, "utilisation_percent": {"lut": u, "dsp": u, "ff": u, "bram36": u}}
        for p, lat, u in zip((1, 2, 4, 8), latencies, utils, strict=True)
    ]


def test_choose_smallest_meeting_target_else_fastest_fitting():
    rows = _rows([8.0, 4.0, 2.0, 1.0], [10, 20, 40, 90])
    assert dse_hw.choose(rows, 5.0)["lanes"] == 2
    fast = dse_hw.choose(rows, 0.5)
    assert fast["lanes"] == 4 and "no P meets" in fast["reason"]  # P = 8 exceeds the 80 % budget
    assert dse_hw.choose(rows, 0.5, budget=0.95)["lanes"] == 8
    with pytest.raises(ValueError, match="fits the device"):
        dse_hw.choose(_rows([1, 1, 1, 1], [99, 99, 99, 99]), 5.0)
    with pytest.raises(ValueError, match="budget"):
        dse_hw.choose(rows, 5.0, budget=1.5)


def test_bad_sweep_arguments():
    with pytest.raises(ValueError, match="device"):
        dse_hw.sweep(_config(), [4], device="xc9999")
    with pytest.raises(ValueError, match="clock"):
        dse_hw.sweep(_config(), [4], clock_mhz=0)
    with pytest.raises(ValueError, match="lanes"):
        dse_hw.sweep(_config(), [0])


def _committed_samples() -> list[dict]:
    return list(json.loads(SAMPLES.read_text())["samples"].values())


def test_cost_model_error_on_the_measured_samples():
    """The committed Yosys/Verilator samples (bench/bench_cost_samples.py) against the committed
    coefficients: every sample measured on the RTL the coefficients were fitted on within the issue's
    aim, 10 % on cycles and 15 % on LUT, FF, DSP and BRAM36 (BRAM relative to at least one BRAM36);
    docs/dse.md lists them."""
    samples = _committed_samples()
    check = dse_hw.check_model(samples)
    assert {r["name"] for r in check["samples"]} == {s["name"] for s in samples}
    assert {"calibration", "check"} <= {r["role"] for r in check["samples"]}
    assert any(r["measured"]["lut"] > 100_000 for r in check["samples"])  # a large design is checked
    for r in check["samples"]:
        assert r["measured"]["dsp"] > 0 and r["predicted"]["lut"] > 0
        err = {q: 100.0 * abs(e) for q, e in r["relative_error"].items()}
        assert err["cycles"] <= 10.0, r["name"]
        for res in cost_model.RESOURCES:
            assert err[res] <= 15.0, (r["name"], res, err[res])


@pytest.mark.parametrize("revision", sorted(REMEASURED))
def test_cost_model_on_later_rtl(revision):
    """The committed coefficients (fitted on a377d90's samples) on the 13 points re-measured on a later
    RTL (Yosys and Verilator, every output bit-exact), none of them in the fit: cycles within 10 %, LUT,
    FF, DSP and BRAM36 within 15 %, but for the documented misses (docs/dse.md): on 9a29b84 (session 40)
    the GRU at P = 128's LUTs, 17.7 % (its gearbox Yosys maps to 54k LUTs where the model counts 75k);
    on ec853ea (session 45) that one at 16.1 % and the LSTM 12 -> 32, k 8, P 32's, -20.1 % (the exporter
    now gives it two IFFTs, and the gearbox handing two row blocks a clock takes 16.9k LUTs where the
    model counts 9.4k)."""
    path, known_misses = REMEASURED[revision]
    samples = json.loads(path.read_text())["samples"]
    assert {s["rtl_revision"] for s in samples.values()} == {revision}
    assert all(s["bit_exact"] for s in samples.values())
    check = dse_hw.check_model(list(samples.values()))
    assert len(check["samples"]) == 13 and any(r["measured"]["lut"] > 200_000 for r in check["samples"])
    for r in check["samples"]:
        err = {q: 100.0 * abs(e) for q, e in r["relative_error"].items()}
        assert err["cycles"] <= 10.0, r["name"]
        for res in cost_model.RESOURCES:
            known = known_misses.get(r["name"])
            bound = known[1] if known and known[0] == res else 15.0
            assert err[res] <= bound, (r["name"], res, err[res])
    # the miss is still a miss: when the model comes within 15 % there, this list must shrink
    for name, (res, _) in known_misses.items():
        row = next(r for r in check["samples"] if r["name"] == name)
        assert 100.0 * abs(row["relative_error"][res]) > 15.0, (name, res)


def test_cost_model_prices_the_projection_engine():
    """The projection engine (rtl/ernn_proj_pe.v) is priced as the PE parts it repeats
    (:func:`cost_model.proj_engine_units`: QH x BINS MAC lanes, an FFT and an IFFT, its ROM, 2 BINS
    rounders, its latch's select) and its design has no m memory: on the one synthesis of an engine
    design (LSTMP 3 -> 64, proj 8, k 4, P 256, Yosys, session 45; not in the fit) cycles within 10 % and
    every resource within 15 %, and the engine's units add what its RTL builds (six complex MACs: 18
    DSP)."""
    path = ROOT / "docs" / "results" / "cost_samples_proj_engine.json"
    samples = list(json.loads(path.read_text())["samples"].values())
    assert len(samples) == 1 and samples[0]["bit_exact"] and samples[0]["hw_config"]["proj_engine"]
    row = dse_hw.check_model(samples)["samples"][0]
    assert abs(row["relative_error"]["cycles"]) <= 0.10
    for res in cost_model.RESOURCES:
        assert abs(row["relative_error"][res]) <= 0.15, (res, row["relative_error"][res])
    c = cost_model.HwConfig(**samples[0]["hw_config"])
    units = cost_model.proj_engine_units(c)
    assert units["lanes"] == 2 * 3 and units["ffts"] == units["iffts"] == 1 and units["rom_depth"] == 16
    coeffs = cost_model.load_coefficients()
    with_engine = cost_model.estimate(c, coeffs, "xcu").used
    without = cost_model.estimate(replace(c, proj_engine=False), coeffs, "xcu").used
    assert with_engine["dsp"] - without["dsp"] == pytest.approx(18, abs=0.5)
    assert with_engine["lut"] > without["lut"] and with_engine["ff"] > without["ff"]
    assert not any(cost_model.proj_engine_units(replace(c, proj_engine=False)).values())


def test_committed_coefficients_are_the_fit_of_the_committed_samples():
    """ernn/dse/cost_coefficients.json is what --fit makes of docs/results/cost_samples_issue18.json: a
    coefficient file edited by hand, fitted to other samples, or left behind by a change of the model's
    features fails here."""
    samples = _committed_samples()
    committed = cost_model.load_coefficients()
    refit = cost_model.fit(samples)
    assert committed["calibration"] == refit["calibration"]
    assert committed["rtl_revisions"] == refit["rtl_revisions"] and len(refit["rtl_revisions"]) == 1
    assert set(committed["parts"]) == set(cost_model.PARTS)
    for part, laws in refit["parts"].items():
        for res, law in laws.items():
            for key in ("slope", "intercept"):
                assert committed["parts"][part][res][key] == pytest.approx(law[key], rel=1e-9, abs=1e-6), (
                    part,
                    res,
                    key,
                )
    for key in ("cycle_overhead", "cycle_per_extra_job"):
        assert committed[key] == pytest.approx(refit[key], abs=1e-9)


def test_committed_samples_split_into_parts_that_sum_to_their_blocks():
    """Each sample's per-part breakdown (cost_model.part_breakdown of its Yosys statistics) adds up,
    block by block, to the block breakdown, and its configuration is the exporter's for its shape."""
    for s in _committed_samples():
        for block in cost_model.BLOCKS:
            parts = [part for part, (b, _, _) in cost_model.PARTS.items() if b == block]
            for res in cost_model.RESOURCES:
                total = sum(s["yosys"]["parts"][part][res] for part in parts)
                assert total == pytest.approx(s["yosys"]["blocks"].get(block, {}).get(res, 0.0)), (
                    s["name"],
                    block,
                )
        c = cost_model.HwConfig(**s["hw_config"])
        assert c.lanes == s["lanes"] and c.mreg == 1


def test_yosys_stat_parsing_and_breakdown():
    # Yosys 0.23 prints the hierarchy tree inside stat -json; both breakdowns sum to the total
    text = """{
   "modules": {
      "$paramod$aa\\\\ernn_pe": {
         "num_cells_by_type": {
            "$paramod\\\\ernn_cmac_array\\\\P=2": 1,
            "LUT6": 10,
            "FDRE": 4
         }
      },
      "$paramod\\\\ernn_cmac_array\\\\P=2": {
         "num_cells_by_type": {
            "DSP48E2": 3,
            "LUT2": 1
         }
      },
      "ernn_top": {
         "num_cells_by_type": {
            "$paramod$aa\\\\ernn_pe": 2
         }
      }
   },
       $paramod$aa\\ernn_pe      2
   "design": {
   }
}
"""
    stat = fpga.parse_stat_json(text)
    # the cost model's parts: ernn_pe's own cells are the gearbox part of the PE control block
    parts = cost_model.part_breakdown(stat, "ernn_top")
    assert (
        parts["pe_gearbox"]["lut"] == 20 and parts["pe_gearbox"]["ff"] == 8 and parts["mac_lanes"]["dsp"] == 6
    )
    assert sum(p["lut"] for p in parts.values()) == 22
    assert fpga.module_kind("$paramod$aa\\ernn_pe") == "ernn_pe"
    assert fpga.total_cells(stat, "ernn_top") == {"DSP48E2": 6, "FDRE": 8, "LUT2": 2, "LUT6": 20}
    blocks = fpga.block_breakdown(stat, "ernn_top")
    assert blocks["mac_lanes"]["dsp"] == 6 and blocks["pe_control"]["lut"] == 20
    kinds = fpga.hierarchy_breakdown(stat, "ernn_top")
    assert kinds["ernn_pe"]["instances"] == 2 and kinds["ernn_cmac_array"]["lut"] == 2


# ------------------------------------------------------------------------------------------------------
# CSB (ernn.dse.csb_cost)
def _csb_matrix(gates, rows, cols, block, rate, seed):
    import numpy as np
    import torch

    from ernn.golden import csb as gcsb
    from ernn.shape import ModelShape
    from ernn.shape.structures import CSB
    from ernn.train import csb as tcsb

    params = CSB(block, rate)
    dense = tcsb.project(
        torch.from_numpy(np.random.default_rng(seed).normal(size=(gates, rows, cols))), params
    )
    shape = ModelShape(cell="gru", input_size=cols, hidden_size=rows, structure=params)
    cfg = gcsb.numerics(shape, float(dense.abs().max()), 1.0, 0.0)
    return gcsb.quantize_matrix(gcsb.from_description(dense.numpy(), params), cfg.weight_spectrum)


@pytest.mark.parametrize(
    ("gates", "rows", "cols", "block", "rate"), [(4, 16, 12, 8, 0.6), (1, 16, 16, 4, 0.85)]
)
def test_csb_compiler_cycles_on_one_pe_are_the_one_mac_engines(gates, rows, cols, block, rate):
    """On a 1 x 1 x 1 x 1 grid the compiler's MAC cycles plus the one-MAC engine's load, clear, empty-block
    and output clocks are ernn.export.csb.engine_cycles, the clocks the testbench measures per vector."""
    from ernn.dse import csb_cost
    from ernn.export import csb as ecsb

    m = _csb_matrix(gates, rows, cols, block, rate, seed=7)
    assert csb_cost.one_mac_cycles(m.counts, rows, cols) == ecsb.engine_cycles(m)


def test_csb_step_cycles_are_the_compilers_plus_fixed_overheads():
    from ernn.dse import csb_cost
    from ernn.export import csb_program
    from ernn.export import csb_schedule as cs
    from ernn.export.timing import HANDOFF
    from ernn.shape import ModelShape
    from ernn.shape.structures import CSB

    shape = ModelShape(cell="lstm", input_size=24, hidden_size=32, proj_size=16, structure=CSB(8, 0.8))
    num = csb_cost.numerics_for_shape(shape, 16)
    counts = csb_cost.random_counts(shape)
    assert [c.shape[:3] for c in counts] == [(4, 4, 3), (4, 4, 2), (1, 2, 4)]  # w_ih, w_hh, w_hr
    cycles = {}
    for mode in ("none", "both"):
        c = csb_cost.HwConfig.build(shape, num, 16, grid=cs.Grid(2, 2, 2, 2), mode=mode, method="greedy")
        total, mac, macs = csb_cost.step_cycles(c)
        sched = cs.compile_matrices(list(counts), c.grid, mode, "greedy")
        # the array's PE columns share their input neuron: the program's clocks, not the schedule's
        assert (mac, macs) == (csb_program.shared_input_cycles(sched), sched.macs)
        assert mac >= sched.cycles
        per_layer = 32 // csb_cost.CELL_LANES + csb_cost.CELL_LATENCY["lstm"] + sum(HANDOFF.values())
        fixed = 3 * (csb_cost.MAC_PIPE + 1 + 1) + per_layer
        assert total == mac + fixed
        cycles[mode] = total
    assert cycles["both"] < cycles["none"]  # sharing balances the rounds
    with pytest.raises(ValueError, match="PEs"):
        csb_cost.HwConfig.build(shape, num, 32, grid=cs.Grid(2, 2, 2, 2))
    with pytest.raises(ValueError, match="not CSB"):
        csb_cost.HwConfig.build(dse_hw.config_for_shape(dse_hw.SHAPES["default"], 1).shape, num, 16)


def test_csb_grid_for_pes_lays_out_the_papers_engine():
    from ernn.dse import csb_cost
    from ernn.export import csb_schedule as cs

    assert csb_cost.grid_for_pes(512) == cs.Grid(8, 4, 4, 4)
    assert csb_cost.grid_for_pes(16) == cs.Grid(1, 1, 4, 4) and csb_cost.grid_for_pes(8) == cs.Grid(
        2, 1, 2, 2
    )
    with pytest.raises(ValueError, match="power of two"):
        csb_cost.grid_for_pes(96)


def test_csb_fit_recovers_a_known_linear_law():
    from ernn.dse import csb_cost

    samples = []
    for i, (g, r, c, b, d) in enumerate([(4, 16, 12, 8, 16), (1, 64, 64, 16, 16), (3, 32, 40, 8, 8),
                                         (4, 64, 64, 16, 16), (1, 16, 16, 4, 8), (2, 8, 8, 4, 12)]):  # fmt: skip
        e = csb_cost.EngineConfig(g, r, c, b, g * 4, 40 * (i + 1), 9 * (i + 2), d, d, 2 * d + 6, d + 3)
        f = csb_cost.engine_features(e)
        law = 2.0 * f["pe_bits"] + 0.5 * f["storage_bits"] + 0.25 * f["lut_memory_bits"] + 30.0
        y = {"lut": law, "ff": law, "dsp": f["dsp"], "bram36": f["bram36"]}
        samples.append({"name": f"s{i}", "role": "calibration", "engine": e.as_dict(), "yosys": y})
    coeffs = csb_cost.fit(samples)
    lut = coeffs["resources"]["lut"]
    assert lut["pe_bits"] == pytest.approx(2.0) and lut["storage_bits"] == pytest.approx(0.5)
    assert lut["lut_memory_bits"] == pytest.approx(0.25) and lut["intercept"] == pytest.approx(30.0)
    assert coeffs["error"]["calibration"]["lut"]["max_abs_percent"] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="calibration samples"):
        csb_cost.fit(samples[:2])


def test_csb_coefficients_record_their_calibration_and_error():
    """The committed coefficients (bench/bench_csb_cost_samples.py --fit) carry every Yosys sample with
    its error, and re-predicting the samples gives the recorded figures."""
    from ernn.dse import csb_cost

    coeffs = csb_cost.load_coefficients()
    rows = coeffs["samples"]
    assert {"calibration", "check"} <= {r["role"] for r in rows}
    assert [r["name"] for r in rows if r["role"] == "calibration"] == coeffs["calibration"]
    for r in rows:
        assert r["measured"]["dsp"] >= 1 and r["measured"]["lut"] > 0
    samples = [
        {"name": r["name"], "role": r["role"], "engine": r["engine"], "yosys": r["measured"]} for r in rows
    ]
    assert csb_cost.error_summary(csb_cost.check(samples, coeffs)) == coeffs["error"]
    # docs/dse.md: LUT and FF within 25 % on every sample, DSP exact
    for role in ("calibration", "check"):
        err = coeffs["error"][role]
        assert err["lut"]["max_abs_percent"] <= 25.0 and err["ff"]["max_abs_percent"] <= 25.0, role
        assert err["dsp"]["max_abs_percent"] == 0.0, role


@pytest.mark.parametrize(("text", "what"), [("", "empty"), ('{\n   "modules": {\n', "not complete JSON")])
def test_a_broken_stat_report_names_the_problem(text, what):
    """Yosys can exit 0 with stat.json empty or cut off (a full disk): the parser says so instead of a bare
    JSONDecodeError deep in the cost samples."""
    with pytest.raises(ValueError, match=f"stat -json report is {what}.*disk full"):
        fpga.parse_stat_json(text)


def test_split_resources_follow_the_rtl_and_keep_sr1_off():
    """What ERNN_SPLIT adds, counted from rtl/ernn_pe.v: per component an ACC_W adder in each of the first
    SPLIT_LANE lanes (none for a real lane's imaginary sum), a register level of every lane's two sums, the
    second slot's register and rotation, a two-way select per second-group lane. SR1 packed at P = 1,152
    (SPLIT_LANE 576, 128 real lanes among them, ACC_W 25): 39,424 LUT and 57,816 FF, which would take it
    over 80 % of the XCKU060's LUT: why schedule.SPLIT_GAIN keeps split rounds off there."""
    from ernn.export import schedule
    from ernn.export.jobs import split_lane

    packed = dse_hw.config_for_shape(dse_hw.SHAPES["sr1"], 1152, data_bits=8, dsp_pack=True)
    assert not packed.split and not schedule.split(packed.shape, 1152)
    assert all(not any(v.values()) for v in cost_model.split_resources(packed).values())
    extra = cost_model.split_resources(replace(packed, split=True))
    first = split_lane(1152, 9)
    assert first == 576 and packed.acc_w == 25 and packed.fft_w == 12
    assert extra["pe_rotation"]["lut"] == cost_model.rotation_mux_inputs(1152, 9) * 2 * 12
    assert extra["mac_lanes"]["lut"] == (2 * 576 - 128) * 25 + 576 * 2 * 12
    assert extra["pe_registers"]["ff"] == 2 * 1152 * 25
    lut = sum(p["lut"] for p in extra.values())
    ff = sum(p["ff"] for p in extra.values())
    assert (lut, ff) == (39_424, 57_816)
    assert cost_model.estimate(packed).used["lut"] + lut > 0.8 * 331_680
