"""ernn_top with the LSTM projection on the projection engine (``ERNN_PROJ_ENGINE`` = 1, issue 18).

Where no choice of the PE's brings a k 4 LSTMP on a large P within 1.25 times the ideal, the exporter moves
the projection off the PE (``schedule.proj_engine``): the job table has no projection jobs, the cell
writer's m blocks go to rtl/ernn_proj_pe.v as they are written (its own FFT, W_hr's spectra from
``mem/proj_weights.mem``, an IFFT and R12), and the engine writes h_t into the state memory and the
output vector in the PE writer's place. The step's recurrence loses the PE pass of the projection.

Checked on Icarus and Verilator, every output bit-exact with ``GoldenNetwork.run_stream``, TLAST mirrored:

* the exporter's choice: on for the two shapes here (the header, the config record and the cycle model
  say so), off for the tb's other LSTMPs and for SR1;
* default suite: a 1-layer LSTMP 3 -> 40 (7, peepholes), k 4, P 128 (ten m blocks into two h blocks, the
  last holding 3 of 4 samples) on mostly one-frame sequences with tvalid gaps and back-pressure (the
  engine waits on the output vector, and holds the cell writer while both of its latch entries are
  claimed), and resets at clocks spread over a sequence's first steps (in the engine's sums, its latch
  and its IFFT), under gaps and back-pressure;
* slow: the same for a 2-layer LSTMP 3 -> 48 (6, peepholes), k 4, P 192 with the layers pipelined (the
  engine's h blocks carry their step parity and TLAST; its Icarus build of 192 lanes takes two minutes,
  which the default suite's 30 minutes cannot spare), and both shapes' steady state within 10 % of the
  timing model and within 1.25 times the ideal (measured: 48 and 50 clocks, predicted 49 and 51, ideal
  46 and 48, on both simulators).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import Case, model_dir, random_stream
from test_ernn_top import LSTMP_K32, LSTMP_PEEP, PACK8_LSTMP, check_segment
from test_ernn_top_interleave import _shape
from test_ernn_top_layer_skew import _run, _steady, short_sequences

from ernn.export import schedule
from ernn.export.writer import ExportedModel
from ernn.shape import BlockCirculant, ModelShape
from ernn.sim import rtl as rtl_sim
from ernn.sim import runner as rtl_runner

HEADER = "ernn_params.vh"
ENGINE_1L = Case(
    "lstmp_engine_1l",
    input_size=3,
    hidden_size=40,
    proj_size=7,
    peephole=True,
    block_size=4,
    lanes=128,
    seed=11,
)
ENGINE_2L = Case(
    "lstmp_engine_2l",
    input_size=3,
    hidden_size=48,
    proj_size=6,
    num_layers=2,
    peephole=True,
    block_size=4,
    lanes=192,
    seed=12,
)
ENGINES = [ENGINE_1L, ENGINE_2L]


def _header_engine(model: Path) -> int:
    found = re.search(r"localparam integer ERNN_PROJ_ENGINE = (\d+);", (model / HEADER).read_text())
    assert found is not None, f"{model / HEADER} has no ERNN_PROJ_ENGINE"
    return int(found.group(1))


def test_exporter_takes_the_engine_where_the_pe_misses() -> None:
    """On for the two shapes here (header, config record, cycle model, no projection job in the table,
    the engine's weight image written); off for the tb's other LSTMPs (their PE designs meet the bound)
    and for SR1 packed (its step is the PE's issue: 344 clocks either way)."""
    for case in ENGINES:
        info = _shape(case)
        assert schedule.proj_engine(info, case.lanes), f"{case.name}: the exporter no longer takes the engine"
        model = model_dir(case)
        assert _header_engine(model) == 1
        hardware = json.loads((model / "config.json").read_text())["hardware"]
        assert hardware["proj_engine"] and hardware["memories"]["proj_weights"] == "proj_weights.mem"
        assert (model / "mem" / "proj_weights.mem").is_file()
        assert all(e.kind_name != "proj" for e in schedule.job_table(info, case.lanes, proj_engine=True))
        cm = schedule.cycle_model(info, case.lanes)
        assert cm.proj_engine and cm.predicted <= schedule.TARGET_RATIO * cm.ideal
    for case in (LSTMP_PEEP, PACK8_LSTMP, LSTMP_K32):
        assert not schedule.proj_engine(_shape(case), case.lanes), case.name
    sr1 = ModelShape(
        cell="lstm",
        input_size=153,
        hidden_size=1024,
        proj_size=512,
        num_layers=2,
        peephole=True,
        structure=BlockCirculant(16),
    )
    assert not schedule.proj_engine(sr1, 1152)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(
    "case", [ENGINE_1L, pytest.param(ENGINE_2L, marks=pytest.mark.slow)], ids=lambda c: c.name
)
def test_engine_gaps_backpressure(sim, case, request, tmp_path) -> None:
    """Short sequences, tvalid gaps, m_axis back-pressure, idle end: every output bit-exact."""
    seed = seed_for(request.node.nodeid)
    model = model_dir(case)
    assert _header_engine(model) == 1
    x, last = short_sequences(ExportedModel(model).net, np.random.default_rng(seed), 14)
    _run(model, sim, x, last, seed, tmp_path, 0.4, 0.5)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize("case", ENGINES, ids=lambda c: c.name)
def test_engine_cycles(sim, case, request, tmp_path) -> None:
    """The steady state within 10 % of the timing model and within 1.25 times the ideal."""
    seed = seed_for(request.node.nodeid)
    model = model_dir(case)
    cm = schedule.cycle_model(ExportedModel(model).net.info, case.lanes)
    steady = _steady(model, sim, seed, tmp_path)
    print(f"{case.name}: {steady} clocks/step on {sim} (predicted {cm.predicted}, ideal {cm.ideal})")
    assert abs(cm.predicted - steady) <= 0.1 * steady
    assert steady <= schedule.TARGET_RATIO * cm.ideal


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_engine_reset_mid_stream(sim, request, tmp_path) -> None:
    """Resets at clocks spread over the first steps of a sequence (so inside the engine's sums, with a
    layer's sums latched or its h blocks in the IFFT): the outputs before each reset exact, each next
    sequence exact from zero state, and a stream of short sequences after the last one exact."""
    seed = seed_for(request.node.nodeid)
    model = model_dir(ENGINE_1L)
    net = ExportedModel(model).net
    rng = np.random.default_rng(seed)
    clocks = sorted(int(c) for c in rng.choice(np.arange(15, 200), size=5, replace=False))
    stim = [random_stream(net, rng, 4)[0] for _ in clocks]
    seq = np.zeros(4, dtype=bool)
    seq[-1] = True  # one sequence per segment
    segments = [{"frames": x, "last": seq, "reset_at_clock": c} for x, c in zip(stim, clocks, strict=True)]
    tail_x, tail_last = short_sequences(net, rng, 8)
    segments.append({"frames": tail_x, "last": tail_last})
    print(f"{model.name} on {sim}, seed {seed}: resets at {clocks}")
    raw = rtl_sim.simulate(
        model, segments, sim=sim, work_dir=tmp_path, seed=seed, valid_gap_prob=0.2, ready_stall_prob=0.2
    )
    for idx in range(len(clocks)):
        check_segment(raw, idx, net, stim[idx], seq, seed, count=len(raw[f"out_data{idx}"]))
    assert sum(len(raw[f"out_data{i}"]) for i in range(len(clocks))) < 4 * len(clocks)  # resets cut some
    check_segment(raw, len(clocks), net, tail_x, tail_last, seed)
