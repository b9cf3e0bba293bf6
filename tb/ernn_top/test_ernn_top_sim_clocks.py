"""Icarus and Verilator take the same clocks: one seeded stream, with tvalid gaps and tready back-pressure,
through ernn_top on both simulators; every output bit-exact with the golden model on both, and every
output beat on the same clock.

Why a test of its own: the gate buffer's read flags once called a function that read the write port from
a continuous assignment, and Icarus re-evaluates such an assignment only when the function's argument
changes (Verilator and synthesis do not have that behaviour). A completing write that changed nothing
else then reached the feeder a clock late on Icarus: bit-exact on both simulators, but Icarus a few
clocks slower per step (GRU 6 -> 32, k 4, P 32: 510 against 502 clocks to the eighth frame's output;
LSTM 12 -> 24, k 4, P 256: 334 against 324; session 35). Bit-exact tests cannot see that; this one can.
The two models: one IFFT (gru_k4) and two IFFTs side by side (n_ifft_gru_k4_p32: two write lanes).
"""

from __future__ import annotations

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import model_dir, random_stream
from test_ernn_top import GRU_K4
from test_ernn_top_n_ifft import N_GRU

from ernn.export.writer import ExportedModel
from ernn.sim import rtl as rtl_sim
from ernn.sim import runner as rtl_runner

FRAMES = 10


@pytest.mark.parametrize("case", [GRU_K4, N_GRU], ids=lambda c: c.name)
def test_both_simulators_take_the_same_clocks(case, request, tmp_path) -> None:
    sims = rtl_runner.SIMULATORS  # both, whatever SIM says: the comparison is the point
    assert set(sims) == {"icarus", "verilator"}, sims
    seed = seed_for(request.node.nodeid)
    model = model_dir(case)
    net = ExportedModel(model).net
    x, last = random_stream(net, np.random.default_rng(seed), FRAMES)
    expected, _ = net.run_stream(x, last)
    clocks = {}
    for sim in sims:
        res = rtl_sim.run_rtl(
            model,
            x,
            last,
            sim=sim,
            work_dir=tmp_path / sim,
            seed=seed,
            valid_gap_prob=0.2,
            ready_stall_prob=0.2,
        )
        assert np.array_equal(res.outputs, expected), (
            f"{sim}: outputs differ from the golden model (seed {seed})"
        )
        clocks[sim] = [int(c) for c in res.out_cycles]
    assert clocks["icarus"] == clocks["verilator"], f"output clocks differ (seed {seed}): {clocks}"
