"""Testbench of fpga/open/ernn_tt_board.v, the board self-test of the TT training engine that the open-flow
bitstreams carry (ernn/sim/tt_flow.py): from power-on, the command ROM trains the TT-MLP on
ernn_tt_train_top, and `pass` rises with `done` exactly when the engine's replies fold to the golden
signature. On Icarus and Verilator: with the golden signature the board passes; with a signature one bit
off (the same replies) it finishes and fails, so `pass` does depend on the replies' check.

The simulation runner compiles the rtl/ sources a toplevel needs; the board file lives in fpga/open/, so
the test hands the runner that file beside them (monkeypatched source list).
"""

from __future__ import annotations

import os

import pytest

from ernn.sim import runner as rtl_runner
from ernn.sim import tt_flow, tt_train

TOPLEVEL = "ernn_tt_board"

try:
    import cocotb

    @cocotb.test(timeout_time=50, timeout_unit="ms")
    async def board_selftest(dut) -> None:
        from cocotb.clock import Clock
        from cocotb.triggers import RisingEdge

        conf = rtl_runner.tb_config()
        Clock(dut.clk, 10, unit="ns").start()
        dut.btn_n.value = 1
        clock = 0
        # done is X until the power-on reset's first clock: only a resolved 1 ends the wait
        while str(dut.done.value) != "1" and clock < int(conf["max_clocks"]):
            await RisingEdge(dut.clk)
            clock += 1
        assert str(dut.done.value) == "1", f"the self-test was not done after {clock} clocks"
        passed = int(getattr(dut, "pass").value)  # a Python keyword as a port name
        assert passed == int(conf["expect_pass"]), (
            f"pass = {passed} after {clock} clocks, expected {conf['expect_pass']}"
        )

except ImportError:  # pragma: no cover
    pass


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize("good", [True, False], ids=["golden-signature", "signature-off-by-one-bit"])
def test_ernn_tt_board(sim, good, tmp_path, monkeypatch) -> None:
    prep = tt_train.prepare(tt_train.TTTrainConfig(inputs=8, outputs=4, cores=2, rank=2, batch=2, steps=2))
    params = tt_flow.board_images(prep, tmp_path)
    params = {k: tmp_path / v.name if hasattr(v, "name") else v for k, v in params.items()}
    if not good:
        params["EXPECT"] ^= 1
    params["HEARTBEAT_W"] = 4
    commands, replies = tt_flow.selftest_stream(prep)
    # every command word and reply beat takes a few clocks; each step its program; generous margin
    max_clocks = 8 * (len(commands) + len(replies)) + 2 * len(prep.batches) * tt_train.step_cycles(
        prep.program
    )
    sources = rtl_runner.rtl_sources

    def with_board(toplevel=None):
        if toplevel == TOPLEVEL:
            return [*sources("ernn_tt_train_top"), *tt_flow.board_sources()]
        return sources(toplevel)

    monkeypatch.setattr(rtl_runner, "rtl_sources", with_board)
    conf = {"expect_pass": int(good), "max_clocks": max_clocks}
    rtl_runner.run(TOPLEVEL, "test_ernn_tt_board", params, sim=sim, config=conf)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
