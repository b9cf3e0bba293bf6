"""The open-source FPGA flows on a small configuration: Yosys synth_xilinx estimate, iCE40 P&R + bitstream.

The tools come from Debian (make setup installs yosys, nextpnr-ice40, fpga-icestorm); a missing tool is a
failure naming the package, never a skip.
"""

import json

import pytest

from ernn.fpga import open_flow as fpga


@pytest.fixture(scope="module")
def small_model(tiny_model):
    """GRU, hidden 8, k 4, 8-bit data path, one MAC lane: the configuration that fits an iCE40 UP5K."""
    export = ("--data-bits", "8", "--lanes", "1", "--test-sequences", "1")
    return tiny_model(cell="gru", features=12, steps=4, train_n=10, test_n=10, seed=2, export=export).model


def test_tools_are_present():
    for tool in ("yosys", "nextpnr-ice40", "icepack"):
        fpga.need_tool(tool)


def test_yosys_estimate_counts_resources(small_model, tmp_path):
    report = fpga.yosys_estimate(small_model, tmp_path, family="xc7")
    used = report["used"]
    assert used["lut"] > 100 and used["ff"] > 100 and used["dsp"] >= 1
    assert report["capacity"]["dsp"] == fpga.DEVICES["xc7vx690t"]["dsp"]
    assert json.loads((tmp_path / "report.json").read_text())["used"] == used
    # the hierarchy is kept: the per-block and per-module breakdowns add up to the totals
    for key in ("lut", "ff", "dsp"):
        assert sum(b[key] for b in report["blocks"].values()) == used[key]
        assert sum(m[key] for m in report["modules"].values()) == used[key]
    assert report["blocks"]["mac_lanes"]["dsp"] >= 3  # one complex MAC lane: three multipliers


def test_ice40_bitstream_with_fmax(small_model, tmp_path):
    report = fpga.ice40_bitstream(small_model, tmp_path)
    assert (tmp_path / "ernn.bin").stat().st_size > 50_000
    (clock,) = report["fmax"].values()
    assert clock["fmax_mhz"] > 0
    lc = report["utilisation"]["ICESTORM_LC"]
    assert 0 < lc["used"] <= lc["available"]


def test_nextpnr_log_parsing():
    log = (
        "Info: Device utilisation:\nInfo: \t         ICESTORM_LC:  4781/ 5280    90%\n"
        "Info: \t        ICESTORM_DSP:     5/    8    62%\n"
        "Info: Max frequency for clock 'clk': 23.18 MHz (PASS at 12.00 MHz)\n"
    )
    parsed = fpga.parse_nextpnr_log(log)
    assert parsed["fmax"]["clk"] == {"fmax_mhz": 23.18, "target_mhz": 12.0, "pass": True}
    assert parsed["utilisation"]["ICESTORM_DSP"] == {"used": 5, "available": 8}


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="ernn_params.vh"):
        fpga.yosys_estimate(tmp_path, tmp_path / "o")
    with pytest.raises(ValueError, match="family must be one of"):
        fpga.yosys_estimate(tmp_path, tmp_path / "o", family="ecp5")
