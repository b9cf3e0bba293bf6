"""Testbench of rtl/ernn_delay.v: out_valid / out_data are in_valid / in_data delayed by DEPTH enabled clocks.

The reference is a list of DEPTH (valid, data) levels that shifts on every clock with en = 1 and whose
valid bits a synchronous reset clears (the data registers are not reset: data are compared only where
out_valid is 1). With VALID = 0 (a sideband-only line) out_valid must stay 0, a reset must not touch the
data, and the data are compared wherever the last level has been written since the start. Stimulus:
random en stalls, random in_valid gaps, random data, resets at random clocks (some with en = 0) and one
reset with the line full. A mismatch names the first diverging clock and the seed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_tbutil import first_divergence, reset_dut, seed_for

from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_delay"
CLOCKS = 800

try:
    import cocotb
    from cocotb.triggers import ReadOnly, RisingEdge

    @cocotb.test(timeout_time=1, timeout_unit="ms")
    async def delay_matches_model(dut) -> None:
        conf = rtl_runner.tb_config()
        seed, depth, width = int(conf["seed"]), int(conf["depth"]), int(conf["width"])
        has_valid = bool(conf["valid"])
        rng = np.random.default_rng(seed)
        dut.en.value = 0
        dut.in_valid.value = 0
        dut.in_data.value = 0
        await reset_dut(dut)
        levels = [(0, 0)] * depth  # level 0 first; the valid bits are 0 after the reset
        written = [False] * depth  # VALID = 0: which levels hold data of this test
        got, exp = [], []
        for clock in range(CLOCKS):
            en = int(rng.random() < 0.75)
            valid = int(rng.random() < 0.6)
            data = int(rng.integers(0, 1 << width))
            # random resets, and one with the line full (every level valid, en high throughout)
            full_reset = clock == CLOCKS // 2
            rst = int(full_reset or rng.random() < 0.01)
            if CLOCKS // 2 - depth - 1 <= clock < CLOCKS // 2:
                en, valid, rst = 1, 1, 0
            dut.en.value = en
            dut.in_valid.value = valid
            dut.in_data.value = data
            dut.rst.value = rst
            await ReadOnly()
            out_valid = int(dut.out_valid.value)
            if has_valid:
                got.append((out_valid, int(dut.out_data.value) if out_valid else -1))
                exp.append((levels[-1][0], levels[-1][1] if levels[-1][0] else -1))
                if full_reset:
                    assert all(v for v, _ in levels), "the line is not full before the reset"
            else:
                got.append((out_valid, int(dut.out_data.value) if written[-1] else -1))
                exp.append((0, levels[-1][1] if written[-1] else -1))
            await RisingEdge(dut.clk)
            if en:
                levels = [(valid, data), *levels[:-1]]
                written = [True, *written[:-1]]
            if rst and has_valid:
                levels = [(0, d) for _, d in levels]
        msg = first_divergence(
            np.array(got), np.array(exp), ("clock", "field (0=valid, 1=data)"), seed, "ernn_delay: "
        )
        assert msg is None, msg

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


# (DEPTH, WIDTH, VALID): one level (a plain register stage, e.g. the PE's rounding register), a long
# line, and a sideband-only line (the MAC lanes' round sideband)
CASES = [(1, 3, 1), (6, 37, 1), (4, 5, 0)]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("depth", "width", "valid"), CASES)
def test_ernn_delay(sim: str, depth: int, width: int, valid: int, request: pytest.FixtureRequest) -> None:
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    conf = {"seed": seed, "depth": depth, "width": width, "valid": valid}
    params = {"DEPTH": depth, "WIDTH": width, "VALID": valid}
    rtl_runner.run(TOPLEVEL, "test_ernn_delay", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_delay_bad_parameters(sim: str) -> None:
    rtl_runner.expect_elaboration_error(TOPLEVEL, {"DEPTH": 0}, r"DEPTH must be >= 1 \(got 0\)", sim=sim)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
