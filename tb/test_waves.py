"""Waveforms on demand (issue 19), on Icarus (FST) and Verilator (VCD).

* ``ERNN_WAVES=1`` makes any testbench record a waveform of its toplevel, built in a directory of its own
  (a waves build never replaces the plain build of the same parameters); the file holds the DUT's signals.
* A divergence found by a testbench names the simulated time of the first differing sample
  (``ernn_tbutil.first_divergence(times_ns=...)``), and a failing run names its waveform.
* ``ernn sim --waves`` writes the waveform of ``ernn_top`` where asked and names it in the report; the
  report's mismatches carry the simulated time of their output beat.

The DUT of the testbench runs is ``ernn_delay`` (DEPTH 2): a reference that expects one level more than
the RTL has is a divergence whose place is known.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from ernn_tbutil import first_divergence, reset_dut, seed_for, sim_time_ns

from ernn.sim import runner as rtl_runner
from ernn.verify.waves import signal_names

TOPLEVEL = "ernn_delay"
PARAMS = {"DEPTH": 2, "WIDTH": 8, "VALID": 1}
CLOCKS = 40
DELAY_SIGNALS = {"clk", "rst", "en", "in_valid", "in_data", "out_valid", "out_data"}

try:
    import cocotb
    from cocotb.triggers import ReadOnly, RisingEdge

    @cocotb.test(timeout_time=1, timeout_unit="ms")
    async def delay_against_reference(dut) -> None:
        """Random data through the line with en = 1; compared with a line of ``expect_depth`` levels."""
        conf = rtl_runner.tb_config()
        seed, depth = int(conf["seed"]), int(conf["expect_depth"])
        rng = np.random.default_rng(seed)
        dut.en.value = 0
        dut.in_valid.value = 0
        dut.in_data.value = 0
        await reset_dut(dut)
        sent: list[int] = []
        got, times = [], []
        for _ in range(CLOCKS):
            data = int(rng.integers(0, 256))
            dut.en.value = 1
            dut.in_valid.value = 1
            dut.in_data.value = data
            await ReadOnly()
            got.append(int(dut.out_data.value) if int(dut.out_valid.value) else -1)
            times.append(sim_time_ns())
            await RisingEdge(dut.clk)
            sent.append(data)
        # sample i sees the data sent `depth` clocks before it (none yet: -1)
        exp = [sent[i - depth] if i >= depth else -1 for i in range(CLOCKS)]
        msg = first_divergence(np.array(got), np.array(exp), ("clock",), seed, "ernn_delay: ", times)
        assert msg is None, msg

except ImportError:  # pragma: no cover
    pass


def _run(sim: str, expect_depth: int, seed: int, waves: bool | None = None) -> rtl_runner.RunResult:
    conf = {"seed": seed, "expect_depth": expect_depth}
    return rtl_runner.run(TOPLEVEL, "test_waves", PARAMS, sim=sim, config=conf, waves=waves)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_env_switch_records_the_dut(sim, monkeypatch, request) -> None:
    """ERNN_WAVES=1: a waveform with every port and register of the DUT, in a build directory of its own."""
    monkeypatch.setenv(rtl_runner.WAVES_ENV, "1")
    res = _run(sim, PARAMS["DEPTH"], seed_for(request.node.nodeid))
    assert res.waves is not None and res.waves.suffix == rtl_runner.WAVE_SUFFIX[sim]
    assert res.waves.is_file() and res.waves.stat().st_size > 0
    names = signal_names(res.waves)
    assert DELAY_SIGNALS <= names, f"{res.waves} lacks {DELAY_SIGNALS - names}"
    plain = rtl_runner.build_dir(TOPLEVEL, sim, PARAMS)
    assert res.build_dir == plain.with_name(plain.name + "-waves")
    monkeypatch.delenv(rtl_runner.WAVES_ENV)
    monkeypatch.delenv("WAVES", raising=False)
    again = _run(sim, PARAMS["DEPTH"], seed_for(request.node.nodeid))
    assert again.waves is None and again.build_dir == plain


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_divergence_names_time_and_waveform(sim, capfd, request) -> None:
    """A reference one level too long: the failure names the simulated time of the first differing clock
    (the clock after reset at which the line first holds data) and the waveform, which was written."""
    seed = seed_for(request.node.nodeid)
    with pytest.raises(AssertionError, match=r"waveform .*1 of 1 cocotb tests failed") as err:
        _run(sim, PARAMS["DEPTH"] + 1, seed, waves=True)
    wave = re.search(r"waveform (\S+)\)", str(err.value))
    assert wave and DELAY_SIGNALS <= signal_names(wave.group(1))
    out, _ = capfd.readouterr()
    found = re.search(r"first divergence at clock (\d+) \(simulated time (\d+) ns; ERNN_WAVES=1", out)
    assert found, out[-3000:]
    clock, t_ns = int(found.group(1)), int(found.group(2))
    # the RTL delivers its first datum at clock DEPTH, where the longer reference still expects none
    assert clock == PARAMS["DEPTH"]
    # reset_dut: a 10 ns clock rising at 0 ns, reset over the edges at 0-30 ns, clock 0 sampled after 40 ns
    assert t_ns == 10 * (4 + clock)


def test_mismatch_times_follow_the_stream() -> None:
    """compare.first_mismatches gives each mismatch the simulated time of its own output beat."""
    from ernn.sim import compare  # not at the top: the simulator imports this module for its cocotb test

    lengths = np.array([2, 3])
    golden = np.zeros((2, 3, 4), dtype=np.int64)
    rtl = golden.copy()
    rtl[1, 2, 3] = 5  # the fifth beat of the stream
    times = compare.unstream(np.arange(100, 150, 10)[:, None], lengths, 3)[..., 0]
    (m,) = compare.first_mismatches(rtl, golden, lengths, times_ns=times)
    assert (m["sequence"], m["time_step"], m["unit"], m["time_ns"]) == (1, 2, 3, 140)


def test_reader_refuses_what_is_no_waveform(tmp_path) -> None:
    empty = tmp_path / "empty.vcd"
    empty.write_text("$timescale 1ps $end\n")
    with pytest.raises(ValueError, match="declares no signal"):
        signal_names(empty)
    with pytest.raises(ValueError, match="not a waveform file"):
        signal_names(tmp_path / "x.txt")


@pytest.fixture(scope="module")
def model_dir(tiny_model):
    return tiny_model(cell="gru", epochs=2, seed=3, export=("--test-sequences", "2")).model


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_sim_cli_waves(model_dir, tmp_path, sim, capsys) -> None:
    """``ernn sim --waves``: ernn_top's waveform where the report says, holding its AXI-Stream ports."""
    from ernn import cli

    rng = np.random.default_rng(11)
    np.save(tmp_path / "x.npy", rng.normal(size=(2, 3, 6)).astype(np.float32))
    base = ["sim", "--model", str(model_dir), "--input", str(tmp_path / "x.npy"), "--sim", sim]
    assert cli.main([*base, "--output", str(tmp_path / "y.npy"), "--waves"]) == 0
    report = json.loads((tmp_path / "sim_report.json").read_text())
    wave = tmp_path / f"y{rtl_runner.WAVE_SUFFIX[sim]}"
    assert report["bit_exact"] and report["waves"] == str(wave)
    assert f"waveform: {wave}" in capsys.readouterr().out
    names = signal_names(wave)
    ports = {"clk", "rst", "s_axis_tvalid", "s_axis_tready", "s_axis_tdata", "m_axis_tvalid", "m_axis_tdata"}
    assert ports <= names, f"{wave} lacks {ports - names}"


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
