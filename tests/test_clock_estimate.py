"""ernn.fpga.clock_estimate: per-level delays from routed Vivado reports, turned into the clock a netlist's
depth supports on a Kintex UltraScale -2 (docs/performance.md, "Clock evidence").

The two routed report paths the figures come from are rebuilt as ``logic_depth`` paths (their cells in
order) and priced: the estimate must reproduce Vivado's delay within the documented errors (+2.2 % and -12.1 %,
the second being :data:`SPREAD`). SR1 packed's longest path (9 LUT + 7 MUXF, session 34's netlist) must
give the 193 to 220 MHz the docs quote, session 36's (8 LUT + 7 MUXF) 211 to 240 MHz.
"""

from __future__ import annotations

import pytest

from ernn.fpga import clock_estimate as ce


def _path(cells: list[str], start_carry: int = 0, end_carry: int = 0) -> dict:
    kinds = {"lut": 0, "carry": 0, "muxf": 0, "dsp": 0}
    for c in cells:
        if c.startswith(("LUT", "INV")):
            kinds["lut"] += 1
        elif c.startswith("CARRY"):
            kinds["carry"] += 1
        elif c.startswith("MUXF"):
            kinds["muxf"] += 1
        elif c.startswith("DSP"):
            kinds["dsp"] += 1
    kinds["carry"] += start_carry + end_carry
    zero = {"lut": 0, "carry": 0, "muxf": 0, "dsp": 0}
    return {
        "levels": kinds,
        "logic_levels": sum(kinds.values()),
        "path": [{"cell": f"c{i}", "type": t, "net": f"n{i}"} for i, t in enumerate(cells)],
        "start": {"stages": {**zero, "carry": start_carry}},
        "end": {"stages": {**zero, "carry": end_carry}},
    }


#: lpm.futil-ultrascale-timing-route.v: 15 levels, data path 4.508 ns (+ setup 0.027, uncertainty 0.035)
LPM = _path(
    ["LUT4", "LUT5", "LUT4", "LUT5", "LUT4", "LUT6", "CARRY8", "LUT5", "LUT6", "LUT6"]
    + ["CARRY8"] * 4
    + ["LUT5"]
)
LPM_NS = 4.508 + 0.027 + 0.035
#: std-sdiv.futil-vanilla-timing-route.v: 8 levels, data path 2.615 ns
SDIV = _path(["LUT6", "CARRY8", "CARRY8", "LUT4", "LUT4", "CARRY8", "CARRY8", "CARRY8"])
SDIV_NS = 2.615 + 0.027 + 0.035


def test_the_report_paths_are_reproduced_within_the_documented_errors() -> None:
    lpm = ce.path_ns(LPM) / LPM_NS - 1
    sdiv = ce.path_ns(SDIV) / SDIV_NS - 1
    assert 0.0 <= lpm <= 0.03, lpm
    assert -ce.SPREAD <= sdiv <= -0.10, sdiv
    assert ce.carry_chains(LPM) == [1, 4] and ce.carry_chains(SDIV) == [2, 3]


def test_sr1_packed_longest_path() -> None:
    sr1 = _path(
        [
            "LUT6",
            "LUT6",
            "MUXF7",
            "LUT4",
            "LUT5",
            "MUXF7",
            "MUXF8",
            "MUXF9",
            "LUT2",
            "LUT2",
            "LUT3",
            "LUT2",
            "LUT6",
            "MUXF7",
            "MUXF8",
            "MUXF9",
        ]
    )
    est = ce.estimate({"lut_levels": 9, "longest_by_lut": sr1, "longest_by_logic": sr1})
    assert est["paths"]["longest_by_lut"]["ultrascale_plus_m1_ns"] == pytest.approx(3.956, abs=1e-3)
    assert est["ns"] == pytest.approx(3.956 * 891 / 775, abs=2e-3)
    assert est["mhz"] == pytest.approx(219.9, abs=0.1) and est["mhz_low"] == pytest.approx(193.1, abs=0.1)
    assert "193 to 220 MHz" in ce.summary_line(est)


def test_sr1_packed_longest_path_session_36() -> None:
    """Session 36's netlist (the gate buffer's late write enables meeting kept compares): 8 LUT + 7 MUXF,
    the cells of ``build/s36/synth_sr1p_keep``'s longest path in order, 211 to 240 MHz; 372 clocks per
    step then take 1.76 to 1.55 us, and 2.0 us would need 186 MHz."""
    # the writer's full-flag select and handshake up to the write enable, then the gate buffer's flags
    to_enable = ["LUT6", "LUT6", "MUXF7", "LUT4", "LUT5", "MUXF7", "MUXF8", "MUXF9", "LUT2", "LUT3"]
    sr1 = _path([*to_enable, "LUT5", "LUT6", "MUXF7", "MUXF8", "MUXF9"])
    est = ce.estimate({"lut_levels": 8, "longest_by_lut": sr1, "longest_by_logic": sr1})
    assert est["paths"]["longest_by_lut"]["ultrascale_plus_m1_ns"] == pytest.approx(3.625, abs=1e-3)
    assert est["mhz"] == pytest.approx(239.9, abs=0.1) and est["mhz_low"] == pytest.approx(210.6, abs=0.1)
    assert "211 to 240 MHz" in ce.summary_line(est)
    assert 372 / est["mhz_low"] < 2.0 and 372 / est["mhz"] == pytest.approx(1.55, abs=0.01)


def test_the_slowest_path_sets_the_clock_and_a_dsp_stage_counts() -> None:
    short = _path(["LUT6"])
    dsp = _path(["LUT6", "CARRY8", "CARRY8", "DSP48E2"])
    est = ce.estimate({"lut_levels": 1, "longest_by_lut": short, "longest_through_dsp": dsp})
    assert est["ns"] == est["paths"]["longest_through_dsp"]["kintex_us_m2_ns"]
    assert ce.path_ns(dsp) - ce.path_ns(_path(["LUT6", "CARRY8", "CARRY8"])) == pytest.approx(1000 / 645)


def test_bad_or_empty_reports() -> None:
    assert ce.estimate({"lut_levels": None}) is None
    assert ce.summary_line(None) == "clock estimate: no register-to-register path"
    bad = _path(["LUT6", "CARRY8"])
    bad["levels"]["carry"] = 3
    with pytest.raises(ValueError, match="3 carry stages but its cells hold 1"):
        ce.path_ns(bad)
