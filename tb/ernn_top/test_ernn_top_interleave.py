"""ernn_top with a slot's stages interleaved (``ERNN_INTERLEAVE`` = 1, issue 18).

With the layers pipelined across steps (``ERNN_LAYER_SKEW``) an LSTM with a projection issues, in each slot,
every layer's gate job and then every layer's projection (rtl/ernn_cmd.v), so that each layer's gate ->
IFFT -> cell -> FFT -> projection chain runs under the other layers' gate jobs. The PE's rows then come in
issue order, not stage by stage: the PE writer takes each job from a queue of the issued ones
(rtl/ernn_issue_q.v), m has a region and a progress count per layer (rtl/ernn_state_mem.v), and a
projection waits for its own layer's m. The job table is the same (stage by stage); only the spectrum-slot
banks alternate in the issue order (``ernn.export.jobs.place_apart``).

Checked on Icarus and Verilator, every output bit-exact with ``GoldenNetwork.run_stream``, TLAST mirrored:

* the exporter interleaves the 2-layer LSTMPs of tb/ernn_top (checked, so that a changed rule cannot
  quietly turn the tests below into tests of the stage-by-stage order) and never a shape without a
  projection or with one layer;
* default suite: the 2-layer LSTMP (k 4, P 3, no slot banks) forced back to the stage-by-stage order
  (``ERNN_INTERLEAVE`` = 0 with the layers pipelined: the RTL path the exporter still takes where
  interleaving gains less than ``schedule.INTERLEAVE_GAIN``) on mostly one-frame sequences with tvalid
  gaps (drain slots: a slot whose layer 0 has no step skips that layer's gate job and projection) and
  back-pressure; the packed 8-bit LSTMP (k 8, P 10, slot banks alternating in the interleaved order)
  interleaved, the same stream style. The interleaved LSTMP at k 4 runs in ``test_ernn_top.py`` and
  ``test_ernn_top_layer_skew.py`` (short sequences, drain slots, resets);
* slow: the cycles of the LSTMP interleaved against forced stage by stage, each within 10 % of the timing
  model (``step_timing(..., interleave=)``), interleaved faster.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import model_dir
from test_ernn_top import LSTMP_K32, LSTMP_PEEP, PACK8_LSTMP
from test_ernn_top_layer_skew import _run, _steady, forced_copy, short_sequences

from ernn.export import schedule
from ernn.export.jobs import interleavable
from ernn.export.timing import step_timing
from ernn.export.writer import ExportedModel
from ernn.shape import BlockCirculant, ModelShape
from ernn.sim import runner as rtl_runner

HEADER = "ernn_params.vh"
#: the 2-layer LSTMPs of tb/ernn_top (the exporter interleaves every one)
LSTMPS = [LSTMP_PEEP, PACK8_LSTMP, LSTMP_K32]


def _header_interleave(model: Path) -> int:
    found = re.search(r"localparam integer ERNN_INTERLEAVE = (\d+);", (model / HEADER).read_text())
    assert found is not None, f"{model / HEADER} has no ERNN_INTERLEAVE"
    return int(found.group(1))


def _shape(case) -> ModelShape:
    return ModelShape(
        cell=case.cell,
        input_size=case.input_size,
        hidden_size=case.hidden_size,
        proj_size=case.proj_size,
        num_layers=case.num_layers,
        peephole=case.peephole,
        structure=BlockCirculant(case.block_size),
    )


def test_exporter_interleaves_the_lstmps() -> None:
    """The exporter's rule: on for the 2-layer LSTMPs here (and in the headers of those the default suite
    exports), what the cycle model says too; never without a projection, with one layer or with the layers
    in order."""
    for case in LSTMPS:
        info = _shape(case)
        assert schedule.interleave(info, case.lanes), f"{case.name}: the exporter no longer interleaves"
        assert schedule.cycle_model(info, case.lanes).interleave
    for case in (LSTMP_PEEP, PACK8_LSTMP):
        assert _header_interleave(model_dir(case)) == 1, f"{case.name}: the header does not interleave"
    info = _shape(LSTMP_PEEP)
    assert not interleavable(dataclasses.replace(info, num_layers=1), True)
    assert not interleavable(dataclasses.replace(info, proj_size=0), True)
    assert not interleavable(info, False)
    with pytest.raises(ValueError, match="interleave needs"):
        step_timing(dataclasses.replace(info, proj_size=0), 3, 1, layer_skew=True, interleave=True)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_stage_by_stage_forced_gaps_drain(sim, request, tmp_path) -> None:
    """The LSTMP forced back to the stage-by-stage order with the layers pipelined: short sequences, tvalid
    gaps (drain slots), back-pressure, idle end."""
    seed = seed_for(request.node.nodeid)
    model = forced_copy(LSTMP_PEEP, 1, 0)
    assert _header_interleave(model) == 0
    x, last = short_sequences(ExportedModel(model).net, np.random.default_rng(seed), 12)
    _run(model, sim, x, last, seed, tmp_path, 0.4, 0.3)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_interleaved_packed_gaps_drain(sim, request, tmp_path) -> None:
    """The packed 8-bit LSTMP interleaved, its slot banks in the interleaved order: short sequences, gaps,
    back-pressure, idle end."""
    seed = seed_for(request.node.nodeid)
    model = model_dir(PACK8_LSTMP)
    assert _header_interleave(model) == 1
    x, last = short_sequences(ExportedModel(model).net, np.random.default_rng(seed), 12)
    _run(model, sim, x, last, seed, tmp_path, 0.4, 0.3)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_interleave_cycles(sim, request, tmp_path) -> None:
    """The packed LSTMP interleaved against itself forced stage by stage: fewer clocks per step, each within
    10 % of the timing model."""
    seed = seed_for(request.node.nodeid)
    case = PACK8_LSTMP
    info = ExportedModel(model_dir(case)).net.info
    cm = schedule.cycle_model(info, case.lanes)
    on = _steady(model_dir(case), sim, seed, tmp_path / "on")
    off = _steady(forced_copy(case, 1, 0), sim, seed, tmp_path / "off")
    off_predicted = step_timing(
        info,
        case.lanes,
        cm.cell_lanes,
        iffts=cm.n_ifft,
        layer_skew=True,
        load_ahead=cm.load_ahead,
        interleave=False,
    ).cycles
    print(
        f"{case.name}: {on} clocks/step interleaved (predicted {cm.predicted}), {off} not ({off_predicted})"
    )
    assert cm.interleave
    assert abs(cm.predicted - on) <= 0.1 * on
    assert abs(off_predicted - off) <= 0.1 * off
    assert on < off, f"interleaved {on} clocks per step, stage by stage {off}"
