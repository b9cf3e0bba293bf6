"""ernn_top with a GRU stage fused into one PE job (``schedule.gru_fused``, issue 18).

The exporter may run a GRU stage as one job of four rows per hidden block, r, z, W_in x and W_hn h, over x_t
and h_{t-1} (``ernn.export.jobs.stage_jobs``): the W_in x rows carry zero weights against h_{t-1}'s slots
and the W_hn h rows against x_t's, so the sums are the three jobs' bit for bit, and a block's four rows
leave the PE together, so the cell starts on block 0 while the PE still works. The job table says so (one
job per layer, 4 p rows: rtl/ernn_job_table.v), the PE writer puts the rows in the gate buffer's slots 0..3
as an LSTM's, and nothing else changes.

Checked on Icarus and Verilator, every output bit-exact with ``GoldenNetwork.run_stream``, TLAST mirrored:

* the exporter fuses the 2-layer GRU 35 -> 34, k 4, P 198 (the timing model's worst shape of a 300-shape
  scan before the fused form: 78 clocks per step against an ideal of 43; fused 42) and a 1-layer GRU at
  P 57, and keeps the three jobs for the tb/ernn_top GRUs that test them (so that neither form goes
  untested);
* default suite: a small 2-layer fused GRU (6 -> 16, k 4, P 48: layers pipelined, 4 IFFTs) on random
  sequences of every style with tvalid gaps and tready back-pressure; the 1-layer GRU 36 -> 14, k 4,
  P 57 on random sequences;
* slow (its model takes minutes to build): the 2-layer GRU 35 -> 34, k 4, P 198 (slot banks, 4 IFFTs)
  under gaps and back-pressure, and its steady state within 10 % of the timing model and under 1.25 times
  its ideal.
"""

from __future__ import annotations

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import Case, model_dir, random_stream
from test_ernn_top import GRU_2L_IN_FIRST, GRU_2L_K16, GRU_3L_K8
from test_ernn_top_layer_skew import _run, _steady

from ernn.export import schedule
from ernn.export.writer import ExportedModel
from ernn.shape import BlockCirculant, ModelShape
from ernn.sim import runner as rtl_runner

FUSED_2L = Case(
    "gru_fused_2l_k4_p198",
    cell="gru",
    input_size=35,
    hidden_size=34,
    num_layers=2,
    block_size=4,
    lanes=198,
    seed=41,
)
# a small 2-layer fused GRU for the default suite (4 IFFTs, layers pipelined): simulates in seconds
FUSED_SMALL = Case(
    "gru_fused_2l_k4_p48",
    cell="gru",
    input_size=6,
    hidden_size=16,
    num_layers=2,
    block_size=4,
    lanes=48,
    seed=43,
)
FUSED_1L = Case(
    "gru_fused_k4_p57", cell="gru", input_size=36, hidden_size=14, block_size=4, lanes=57, seed=42
)


def _info(case: Case):
    return ExportedModel(model_dir(case)).net.info


def test_exporter_fuses_these_and_not_the_others() -> None:
    for case in (FUSED_SMALL, FUSED_1L):
        assert ExportedModel(model_dir(case)).config["hardware"]["gru_fused"]
    for case in (FUSED_2L, FUSED_SMALL, FUSED_1L):
        info = ModelShape(
            cell="gru",
            input_size=case.input_size,
            hidden_size=case.hidden_size,
            num_layers=case.num_layers,
            structure=BlockCirculant(case.block_size),
        )
        assert schedule.gru_fused(info, case.lanes), f"{case.name}: the exporter no longer fuses"
    for case in (GRU_2L_K16, GRU_3L_K8, GRU_2L_IN_FIRST):  # the three-job forms keep their tests
        assert not schedule.gru_fused(_info(case), case.lanes), f"{case.name} is fused now"


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_fused_small_gaps_and_back_pressure(sim, request, tmp_path) -> None:
    seed = seed_for(request.node.nodeid)
    model = model_dir(FUSED_SMALL)
    x, last = random_stream(ExportedModel(model).net, np.random.default_rng(seed), 20)
    _run(model, sim, x, last, seed, tmp_path, 0.3, 0.3)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_fused_2l_gaps_and_back_pressure(sim, request, tmp_path) -> None:
    seed = seed_for(request.node.nodeid)
    model = model_dir(FUSED_2L)
    x, last = random_stream(ExportedModel(model).net, np.random.default_rng(seed), 20)
    _run(model, sim, x, last, seed, tmp_path, 0.3, 0.3)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_fused_2l_cycles(sim, request, tmp_path) -> None:
    """The steady state of the fused 2-layer GRU within 10 % of the timing model, and under 1.25 times
    its ideal (the three-job form: 78 clocks predicted, 1.81 times)."""
    seed = seed_for(request.node.nodeid)
    info = _info(FUSED_2L)
    cm = schedule.cycle_model(info, FUSED_2L.lanes)
    got = _steady(model_dir(FUSED_2L), sim, seed, tmp_path)
    print(f"{FUSED_2L.name} on {sim}: {got} clocks/step, predicted {cm.predicted}, ideal {cm.ideal}")
    assert cm.gru_fused
    assert abs(cm.predicted - got) <= 0.1 * got
    assert got <= schedule.TARGET_RATIO * cm.ideal


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_fused_1l_random(sim, request, tmp_path) -> None:
    seed = seed_for(request.node.nodeid)
    model = model_dir(FUSED_1L)
    x, last = random_stream(ExportedModel(model).net, np.random.default_rng(seed), 16)
    _run(model, sim, x, last, seed, tmp_path, 0.0, 0.0)
