"""The run-time checks of rtl/ernn_pe.v stop the simulation, and so fail the test, on Icarus and Verilator.

The PE's simulation-only checks are the gearbox invariants: with P a multiple of BINS the gearbox holds
whole rows (its fill a multiple of BINS: the hold form's row counts and landing rely on it) and every
round of P outputs lands at its start (base 0). The cocotb test below runs the ordinary job plan of
tb/ernn_pe/test_ernn_pe.py on such a PE (k = 4, P = 6) and, as a fault injection, writes a fill level of
1 into ``gb_fill_reg`` every clock, which is no whole number of rows. The check must end the run
(``$fatal``): the runner then raises SimulationAbortedError and the log names the check. Without the
injection the same run passes (test_ernn_pe.py), so it is the check, not the injection, that stops it.

A second case breaks the hold form's registered window (``g_sat_reg``: window row 0's clamped words, loaded
a clock ahead) by writing all ones into it every clock; its simulation check compares the register with
the clamp of the combinational window whenever the IFFTs may take a row, and must stop the run.
"""

from __future__ import annotations

import os

import pytest
from test_ernn_pe import XBUF_DEPTH, layout_weights, pe_config, pe_params, plan_jobs, run_jobs

from ernn.golden.formats import NumericsConfig
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_pe"
# P a multiple of BINS = k/2 + 1: the gearbox has one landing, and the invariant is checked
K, LANES, BITS = 4, 6, 16
CHECK_MESSAGE = "ernn_pe gearbox fill 1 is not a whole number of rows"
# the hold form's clamped window register (g_sat_reg) against the clamp of the combinational window
WINDOW_MESSAGE = "ernn_pe registered window differs from the clamped window"

try:
    import cocotb

    @cocotb.test(timeout_time=20, timeout_unit="ms")
    async def gearbox_check_stops_the_run(dut) -> None:
        """The job plan with a gearbox fill level forced off zero: the run must not reach its end."""
        from cocotb.triggers import RisingEdge

        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        jobs = plan_jobs(cfg, conf["xbuf_depth"], conf["seed"], conf["n_jobs"])
        layout_weights(jobs, conf["lanes"], cfg.weight_spectrum.word)

        async def inject() -> None:
            while True:
                await RisingEdge(dut.clk)
                if not int(dut.rst.value):
                    dut.gb_fill_reg.value = 1

        cocotb.start_soon(inject())
        await run_jobs(dut, cfg, jobs, conf["lanes"], conf["seed"], 0.0, 0.0)
        raise AssertionError("the gearbox check did not stop the run")

    @cocotb.test(timeout_time=20, timeout_unit="ms")
    async def window_check_stops_the_run(dut) -> None:
        """The job plan with window row 0's register overwritten by all ones every clock (no clamped
        row of these random jobs is all ones): the run must not reach its end."""
        from cocotb.triggers import RisingEdge

        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        jobs = plan_jobs(cfg, conf["xbuf_depth"], conf["seed"], conf["n_jobs"])
        layout_weights(jobs, conf["lanes"], cfg.weight_spectrum.word)
        reg = dut.g_gb_hold.g_win[0].g_sat_reg.win_sat_reg
        ones = (1 << len(reg)) - 1

        async def inject() -> None:
            while True:
                await RisingEdge(dut.clk)
                if not int(dut.rst.value):
                    reg.value = ones

        cocotb.start_soon(inject())
        await run_jobs(dut, cfg, jobs, conf["lanes"], conf["seed"], 0.0, 0.0)
        raise AssertionError("the window check did not stop the run")

except ImportError:  # pragma: no cover
    pass


@pytest.mark.parametrize(
    ("testcase", "message"),
    [("gearbox_check_stops_the_run", CHECK_MESSAGE), ("window_check_stops_the_run", WINDOW_MESSAGE)],
    ids=["fill", "window"],
)
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_gearbox_check_fails_the_test(
    sim: str, testcase: str, message: str, capfd: pytest.CaptureFixture[str]
) -> None:
    cfg = pe_config(K, BITS, XBUF_DEPTH)
    seed = 1
    jobs = plan_jobs(cfg, XBUF_DEPTH, seed, 2)
    params = pe_params(cfg, LANES, XBUF_DEPTH, layout_weights(jobs, LANES, cfg.weight_spectrum.word))
    conf = {"numerics": cfg.to_dict(), "seed": seed, "xbuf_depth": XBUF_DEPTH, "n_jobs": 2, "lanes": LANES}
    with pytest.raises(rtl_runner.SimulationAbortedError, match=r"\$finish/\$fatal|exited abnormally"):
        rtl_runner.run(
            TOPLEVEL,
            "test_ernn_pe_checks",
            params,
            sim=sim,
            config=conf,
            testcase=testcase,
        )
    out, err = capfd.readouterr()
    assert message in out + err


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
