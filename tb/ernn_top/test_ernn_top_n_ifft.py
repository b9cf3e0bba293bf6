"""ernn_top with several IFFTs side by side in the PE (``ERNN_N_IFFT`` > 1, issue 18).

With N_IFFT IFFTs the PE hands up to N_IFFT row blocks per clock to the PE writer (a beat never crosses a
job), which writes them into the gate buffer in the same clock (banked by block) or, for a projection, one
per clock into the h memory. The exporter chooses N_IFFT from the timing model (``schedule.n_ifft``); the
shapes below are ones where it chooses more than one (checked, so that a changed rule cannot quietly turn
them into N_IFFT = 1 tests):

* LSTM 4 -> 16, k 4, P 64: four IFFTs (a beat of four rows is the four gates of one block);
* GRU 4 -> 12, k 4, P 32: two (gate-buffer rows of the in / hn jobs go to consecutive blocks of one slot,
  i.e. to two banks);
* LSTMP 4 -> 12 (projection 4), k 4, P 32: four (projection rows are written one per clock);
* 2-layer LSTM 4 -> 8, k 4, P 21: two (beats end at each job, and at each layer; P a multiple of the
  k/2 + 1 bins, so the PE's gearbox holds each round in place and hands it on by a pointer, with windows
  of fewer rows than IFFTs at the end of every round). The others use the shifting gearbox.

Every output of random sequences (several input styles, back to back) is compared with the golden model
bit for bit, on Icarus and Verilator, with random tvalid gaps and tready back-pressure. A GRU model whose
header is rewritten to N_IFFT = 8 (the exporter never picks it for so small a shape; the RTL must be
exact for any N_IFFT) covers eight lanes and a gate buffer of more banks than blocks. The cycle test runs
the LSTM without gaps against the same model forced to one IFFT: the IFFTs must buy the clocks the timing
model says they do.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import MODEL_ROOT, Case, model_dir, random_stream
from test_ernn_top import run_case

from ernn.export import layout as hw_layout
from ernn.export.writer import ExportedModel
from ernn.files import manifest
from ernn.sim import rtl as rtl_sim
from ernn.sim import runner as rtl_runner

N_LSTM = Case("n_ifft_lstm_k4_p64", input_size=4, hidden_size=16, block_size=4, lanes=64, seed=31)
N_GRU = Case("n_ifft_gru_k4_p32", cell="gru", input_size=4, hidden_size=12, block_size=4, lanes=32, seed=32)
N_LSTMP = Case(
    "n_ifft_lstmp_k4_p32", input_size=4, hidden_size=12, proj_size=4, block_size=4, lanes=32, seed=33
)
# P = 21, a multiple of the 3 bins: the PE's gearbox holds each round in place (g_gb_hold); a job's 8 rows
# are a round of 7 (windows of 2, 2, 2, 1 rows) and a round of 1
N_2L = Case(
    "n_ifft_lstm_2l_k4_p21", input_size=4, hidden_size=8, num_layers=2, block_size=4, lanes=21, seed=34
)

#: (case, IFFTs the exporter must choose for it)
CASES = [(N_LSTM, 4), (N_GRU, 2), (N_LSTMP, 4), (N_2L, 2)]
FRAMES = 16
HEADER = "ernn_params.vh"


def _exported_n_ifft(model: Path) -> int:
    found = re.search(r"localparam integer ERNN_N_IFFT = (\d+);", (model / HEADER).read_text())
    assert found is not None, f"{model / HEADER} has no ERNN_N_IFFT"
    return int(found.group(1))


def forced_copy(case: Case, n_ifft: int) -> Path:
    """``case``'s model directory with its header's ERNN_N_IFFT rewritten to ``n_ifft`` (at a stable path,
    so that the simulators' builds are reused)."""
    model = model_dir(case)
    forced = MODEL_ROOT / f"{case.name}-n{n_ifft}"
    shutil.rmtree(forced, ignore_errors=True)
    shutil.copytree(model, forced, ignore=shutil.ignore_patterns("run", "tb_case.json"))
    header = forced / HEADER
    text, count = re.subn(
        r"localparam integer ERNN_N_IFFT = \d+;",
        f"localparam integer ERNN_N_IFFT = {n_ifft};",
        header.read_text(),
    )
    assert count == 1, f"{header}: one ERNN_N_IFFT line expected"
    header.write_text(text)
    # the copy is a model directory of its own now: its manifest names the rewritten header
    kind = manifest.read(forced).kind
    (forced / manifest.MANIFEST).write_text(manifest.build(forced, kind).text())
    return forced


#: in the default suite: the LSTM (4 IFFTs; its build is shared with test_n_ifft_cycles) and the 2-layer
#: model (2 IFFTs); the GRU and the LSTMP are the slow set (each a build of ernn_top per simulator; the GRU's
#: datapath with more IFFTs also runs by default in test_eight_iffts_bit_exact)
DEFAULT_CASES = (N_LSTM, N_2L)
PARAMS = [
    pytest.param(c, n, id=c.name, marks=() if c in DEFAULT_CASES else pytest.mark.slow) for c, n in CASES
]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("case", "n_ifft"), PARAMS)
def test_n_ifft_bit_exact(sim, case, n_ifft, request, tmp_path) -> None:
    """Every output bit-exact under tvalid gaps and tready back-pressure, with the IFFTs the exporter chose."""
    info = ExportedModel(model_dir(case)).net.info
    assert hw_layout.n_ifft(info, case.lanes) == n_ifft, f"{case.name}: the exporter's N_IFFT changed"
    assert _exported_n_ifft(model_dir(case)) == n_ifft
    run_case(sim, case, "random", FRAMES, 0.3, 0.3, seed_for(request.node.nodeid), tmp_path)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_eight_iffts_bit_exact(sim, request, tmp_path) -> None:
    """N_IFFT = 8 on the GRU (three hidden blocks, so eight banks of the gate buffer hold at most one block
    each): bit-exact under gaps and back-pressure."""
    seed = seed_for(request.node.nodeid)
    model = forced_copy(N_GRU, 8)
    net = ExportedModel(model).net
    x, last = random_stream(net, np.random.default_rng(seed), FRAMES)
    print(f"{model.name} on {sim}, seed {seed} (ERNN_SEED={seed} reproduces it)")
    res = rtl_sim.run_rtl(
        model, x, last, sim=sim, work_dir=tmp_path, seed=seed, valid_gap_prob=0.3, ready_stall_prob=0.3
    )
    expected, _ = net.run_stream(x, last)
    np.testing.assert_array_equal(res.outputs, expected, err_msg=f"{model.name} on {sim}, seed {seed}")
    np.testing.assert_array_equal(res.last_out, last, err_msg=f"tlast not mirrored (seed {seed})")


def _steady(model: Path, sim: str, seed: int, work: Path) -> float:
    net = ExportedModel(model).net
    x = random_stream(net, np.random.default_rng(seed), 10, styles=("moderate",))[0]
    last = np.zeros(len(x), dtype=bool)
    last[-1] = True  # one sequence: every spacing is a step inside it
    res = rtl_sim.run_rtl(model, x, last, sim=sim, work_dir=work, seed=seed)
    expected, _ = net.run_stream(x, last)
    np.testing.assert_array_equal(res.outputs, expected, err_msg=f"{model.name} on {sim}, seed {seed}")
    gaps = np.diff(res.out_cycles)
    assert np.all(gaps == gaps[0]), f"{model.name} on {sim}: output spacing varies without stalls: {gaps}"
    return float(gaps[0])


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_n_ifft_cycles(sim, request, tmp_path) -> None:
    """The LSTM with its four IFFTs against the same model forced to one: fewer clocks per step, each within
    10 % of the timing model's prediction for its N_IFFT (``step_timing(..., iffts=)``)."""
    from ernn.export.timing import step_timing

    seed = seed_for(request.node.nodeid)
    info = ExportedModel(model_dir(N_LSTM)).net.info
    cm = hw_layout.cycle_model(info, N_LSTM.lanes)
    four = _steady(model_dir(N_LSTM), sim, seed, tmp_path / "n4")
    one = _steady(forced_copy(N_LSTM, 1), sim, seed, tmp_path / "n1")
    one_predicted = step_timing(info, N_LSTM.lanes, cm.cell_lanes, iffts=1).cycles
    print(
        f"{N_LSTM.name}: {four} clocks/step with 4 IFFTs (predicted {cm.predicted}), {one} with one ({one_predicted})"
    )
    assert cm.n_ifft == 4
    assert abs(cm.predicted - four) <= 0.1 * four
    assert abs(one_predicted - one) <= 0.1 * one
    assert four < one, f"four IFFTs take {four} clocks per step, one takes {one}"
