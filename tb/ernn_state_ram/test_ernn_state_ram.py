"""Testbench of rtl/ernn_state_ram.v: one write port, one registered read port held while rd_en = 0, and
what a read of the address written in the same clock returns: the old word (read-first, WRITE_FIRST = 0,
the gate buffer's and the TT engine's memories) or the word being written (WRITE_FIRST = 1, the h and m
memories, whose reader requests a block in the clock its writer writes it: rtl/ernn_state_mem.v).

The reference is a dict of written words and the registered output; undefined (never written) words are
not compared. Stimulus: random writes and reads over a small address space, so that about a third of the
reads hit the address written in the same clock, and read-enable gaps (the output must hold). A mismatch
names the first diverging clock and the seed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_tbutil import first_divergence, seed_for

from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_state_ram"
CLOCKS = 600

try:
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

    @cocotb.test(timeout_time=1, timeout_unit="ms")
    async def ram_matches_model(dut) -> None:
        conf = rtl_runner.tb_config()
        seed, depth, width = int(conf["seed"]), int(conf["depth"]), int(conf["width"])
        write_first = bool(conf["write_first"])
        rng = np.random.default_rng(seed)
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        dut.wr_en.value = 0
        dut.rd_en.value = 0
        dut.wr_addr.value = 0
        dut.rd_addr.value = 0
        dut.wr_data.value = 0
        mem: dict[int, int] = {}
        out = None  # the registered output (None: undefined)
        got, exp = [], []
        collisions = 0
        for clock in range(CLOCKS):
            wr_en = int(rng.random() < 0.7)
            rd_en = int(rng.random() < 0.7)
            wr_addr = int(rng.integers(0, depth))
            # a third of the reads at the address written in this clock
            rd_addr = wr_addr if rng.random() < 0.35 else int(rng.integers(0, depth))
            data = int(rng.integers(0, 1 << width))
            dut.wr_en.value = wr_en
            dut.rd_en.value = rd_en
            dut.wr_addr.value = wr_addr
            dut.rd_addr.value = rd_addr
            dut.wr_data.value = data
            await RisingEdge(dut.clk)
            if rd_en:
                if wr_en and wr_addr == rd_addr:
                    collisions += 1
                    out = data if write_first else mem.get(rd_addr)
                else:
                    out = mem.get(rd_addr)
            if wr_en:
                mem[wr_addr] = data
            await ReadOnly()
            if out is not None:
                got.append((clock, int(dut.rd_data.value)))
                exp.append((clock, out))
            await FallingEdge(dut.clk)  # out of the read-only phase before the next inputs
        assert collisions > CLOCKS // 10, (
            f"only {collisions} same-address read/write clocks: the test is weak"
        )
        # (clock, word) pairs: the first divergence names the compare and its clock
        msg = first_divergence(
            np.array(got), np.array(exp), ("compare", "field (0=clock, 1=word)"), seed, "ernn_state_ram: "
        )
        assert msg is None, msg

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


# (DEPTH, WIDTH, WRITE_FIRST): both read modes, a deep and a shallow memory
CASES = [(4, 16, 0), (4, 16, 1), (13, 37, 1)]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("depth", "width", "write_first"), CASES)
def test_ernn_state_ram(
    sim: str, depth: int, width: int, write_first: int, request: pytest.FixtureRequest
) -> None:
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    conf = {"seed": seed, "depth": depth, "width": width, "write_first": write_first}
    params = {"DEPTH": depth, "WIDTH": width, "WRITE_FIRST": write_first}
    rtl_runner.run(TOPLEVEL, "test_ernn_state_ram", params, sim=sim, config=conf)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
