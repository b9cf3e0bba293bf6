"""The run-time checks of rtl/ernn_pe_writer.v and rtl/ernn_gate_buf.v stop a simulation of ernn_top, and so
fail the test, on Icarus and Verilator.

The PE writer (``core_inst.pw_inst``) keeps two things in registers that the RTL could otherwise compute, and
checks them on every beat it takes (simulation-only ``$fatal``):

* fields: the job's kind, gates - 1, last block and last-layer flag (``kind_reg`` ...) equal the job table's
  lookup ("registered fields ... differ from the table's");
* lanes: each lane's (gate, block) register (``ln_gate_reg``, ``ln_blk_reg``) is the closed form of the first
  row's gate and block (``gate_reg``, ``blk_reg``) and the job's gates ("lane i: registered row ... is not
  the closed form").

The gate buffer (``ybuf_inst`` in ernn_ctrl) with more than one write lane (N_IFFT > 1) takes each bank's
write address and data from the lowest lane whose slot and bank match, enabled or not; that is the enabled
lane only because the enabled lanes are a prefix and no two of them share a slot and a bank, which it checks
on every clock ("write lanes ... are not a prefix", "write lanes i and j meet in slot s, bank b").

Each cocotb test below runs the ordinary ``ernn.sim.rtl`` stream driver (``run_stream``: cocotbext-axi
source and sink) for one 3-frame sequence, with a fault written into the PE writer 1 ns after every rising
edge out of reset (the value then holds until the next edge, where the checks sample it). The writer checks
run on the smallest tb model, gru_k4 (GRU 6 -> 8, k = 4, P = 4, one IFFT); the gate-buffer check exists only
with two or more lanes, so its case runs on the smallest model with two IFFTs of tb/ernn_top/
test_ernn_top_n_ifft.py, n_ifft_gru_k4_p32 (GRU 4 -> 12, k = 4, P = 32: three blocks, two banks). The first
beat the writer takes (job 0) meets the fault:

1. fields: ``last_blk_reg`` = the table's last block + 1. The lanes are computed from ``gate_reg``,
   ``blk_reg`` and ``gates_last_reg``, none of them touched, so only the fields check can fire.
2. lanes: ``blk_reg`` = lane 0's block + 1 (read from the writer's ``y_blk``, lane 0 = ``ln_blk_reg[0]``).
   Lane 0's closed form is ``blk_reg`` itself whatever the gate and the job's gates, so lane 0 (and lane 1
   with it) disagrees on every beat; the fields are reloaded from the table every clock and
   never depend on ``blk_reg``, so only the lanes check can fire.
3. gate_buf: ``gate_reg`` = 3, a gate past every GRU job's last (gates - 1 is 1 or 0). The writer's lane
   lookup has no entry for a gate past the job's last and gives gate 0, advance 0 to every lane, so the
   lane registers (reloaded from that closed form every clock before the first beat) hold the same slot
   and block for both lanes; a beat of two rows then writes lanes 0 and 1 to one slot and bank. The lanes
   are the closed form of the (faulty) registers and the fields are the table's, so neither writer check
   can fire: only the gate buffer's. (Writing ``ln_blk_reg`` instead would trip the lanes check at the
   same edge.)

The check must end the run: the runner raises SimulationAbortedError, and the captured output holds that
check's message and not the others'. A run that reaches its end fails the cocotb test instead (an
AssertionError, not SimulationAbortedError), so a check that no longer fires fails here. The control, the
same models and stream driver on both simulators without injection, passing with every check compiled in,
is tb/ernn_top/test_ernn_top_reset.py (gru_k4, its reference run and dozens of reset segments, bit-exact)
and tb/ernn_top/test_ernn_top_n_ifft.py (n_ifft_gru_k4_p32, bit-exact); with the injection left out, the
cocotb tests here reach their end and fail with "did not stop the run".

``ernn.sim.rtl.simulate`` writes the stimulus, prepares the build and runs ``run_stream`` of its own module;
the pytest cases hand its call of ``ernn.sim.runner.run`` this module and testcase instead (monkeypatch), so
every other step is the one the bit-exact tests take.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import Case, model_dir, random_stream
from test_ernn_top import GRU_K4

from ernn.export.writer import ExportedModel
from ernn.sim import rtl as rtl_sim
from ernn.sim import runner as rtl_runner

TEST_MODULE = "test_ernn_top_checks"
FRAMES = 3  # one sequence; the first gate-buffer beat already meets the fault
FIELDS_MESSAGE = "registered fields"
LANES_MESSAGE = "is not the closed form"
GATE_BUF_MESSAGE = "ernn_gate_buf write lanes"
#: a GRU with 2 IFFTs (two gate-buffer write lanes) and its three jobs (a gate job of r, z only: a gate past
#: its last exists); tb/ernn_top_n_ifft's GRU is fused since session 37 (schedule.gru_fused)
N_GRU = Case("checks_gru_k4_p24", cell="gru", input_size=12, hidden_size=16, block_size=4, lanes=24, seed=35)
#: fault -> (the model, the message its check prints, the other checks' messages, which must not appear)
FAULTS = {
    "fields": (
        GRU_K4,
        r"ernn_pe_writer job \d+: registered fields \(.*\) differ from the table's",
        (LANES_MESSAGE, GATE_BUF_MESSAGE),
    ),
    "lanes": (
        GRU_K4,
        r"ernn_pe_writer lane \d+: registered row \(.*\) is not the closed form",
        (FIELDS_MESSAGE, GATE_BUF_MESSAGE),
    ),
    "gate_buf": (
        N_GRU,
        r"ernn_gate_buf write lanes 0 and 1 meet in slot \d+, bank \d+",
        (FIELDS_MESSAGE, LANES_MESSAGE),
    ),
}
#: the gate written into gate_reg by the gate_buf fault: past the last gate of every GRU job
BAD_GATE = 3

try:
    import cocotb

    async def _inject(dut, fault: str) -> None:
        """Write the fault into the PE writer 1 ns after every rising edge out of reset (its registers then
        hold this clock's values; the write holds until the next edge)."""
        from cocotb.triggers import RisingEdge, Timer

        pw = dut.core_inst.pw_inst
        mask = (1 << len(pw.blk_reg)) - 1  # IDX_W
        while True:
            await RisingEdge(dut.clk)
            if int(dut.rst.value):
                continue
            await Timer(1, "ns")
            if fault == "fields":
                pw.last_blk_reg.value = (int(pw.job_last_blk.value) + 1) & mask
            elif fault == "gate_buf":
                # a gate past the job's last; the writer's lookup then gives every lane the same row
                assert int(pw.gates_last_reg.value) < BAD_GATE, "the job has a gate 3: no fault"
                pw.gate_reg.value = BAD_GATE
            else:
                lane0 = int(pw.y_blk.value) & mask  # lane 0's block: y_blk[0 +: IDX_W] = ln_blk_reg[0]
                pw.blk_reg.value = (lane0 + 1) & mask

    async def _run_with_fault(dut, fault: str) -> None:
        cocotb.start_soon(_inject(dut, fault))
        await rtl_sim.run_stream.func(dut)  # the stream driver's coroutine, undecorated
        raise AssertionError(f"the {fault} check did not stop the run")

    @cocotb.test(timeout_time=1, timeout_unit="ms")
    async def fields_check_stops_the_run(dut) -> None:
        """A stream with the registered last block off the table's: the run must not reach its end."""
        await _run_with_fault(dut, "fields")

    @cocotb.test(timeout_time=1, timeout_unit="ms")
    async def lanes_check_stops_the_run(dut) -> None:
        """A stream with the first row's block off lane 0's: the run must not reach its end."""
        await _run_with_fault(dut, "lanes")

    @cocotb.test(timeout_time=1, timeout_unit="ms")
    async def gate_buf_check_stops_the_run(dut) -> None:
        """A stream with the writer's first-row gate past the job's last (two lanes on one row of the gate
        buffer): the run must not reach its end."""
        await _run_with_fault(dut, "gate_buf")

except ImportError:  # pragma: no cover
    pass


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_run_time_check_fails_the_test(
    sim: str,
    fault: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    tmp_path,
) -> None:
    seed = seed_for(request.node.nodeid)
    case, message, others = FAULTS[fault]
    model = model_dir(case)
    net = ExportedModel(model).net
    x, last = random_stream(net, np.random.default_rng(seed), FRAMES, styles=("moderate",))
    last[:] = False
    last[-1] = True
    real_run = rtl_runner.run

    def run_checks(toplevel, test_module, params, **kwargs):
        assert (test_module, kwargs.get("testcase")) == (rtl_sim.TEST_MODULE, "run_stream")
        kwargs["testcase"] = f"{fault}_check_stops_the_run"
        return real_run(toplevel, TEST_MODULE, params, **kwargs)

    monkeypatch.setattr(rtl_runner, "run", run_checks)
    with pytest.raises(rtl_runner.SimulationAbortedError, match=r"\$finish/\$fatal|exited abnormally"):
        rtl_sim.simulate(model, [{"frames": x, "last": last}], sim=sim, work_dir=tmp_path, seed=seed)
    out, err = capfd.readouterr()
    assert re.search(message, out + err), f"no '{message}' in the output (seed {seed})"
    for other in others:
        assert other not in out + err, f"the {fault} fault tripped another check too: '{other}' (seed {seed})"


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
