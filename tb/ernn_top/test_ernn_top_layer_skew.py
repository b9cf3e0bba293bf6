"""ernn_top with the layers pipelined across steps (``ERNN_LAYER_SKEW`` = 1, issue 18).

In the slot of step t the command side issues layer l's stage of step t - l (rtl/ernn_cmd.v): every h that
feeds a next layer has two copies by step parity, the producer progress is kept per layer, the (first,
last) flags of a step travel with its stages through a shift register, a slot with no frame waiting runs as
a drain slot (layer 0 idle) while a layer above still owes a step, and the output and its TLAST come L - 1
slots later. The exporter switches it on where the timing model says the step gets faster
(``schedule.layer_skew``; every multi-layer shape of tb/ernn_top, checked below so that a changed rule cannot
quietly turn these into in-order tests).

Checked on Icarus and Verilator, every output bit-exact with ``GoldenNetwork.run_stream`` and its TLAST
mirrored:

* default suite: the 2-layer LSTMP (k 4, P 3) on a stream of mostly one-frame sequences (shorter than L),
  random tvalid gaps (drain slots in the middle of the stream) and tready back-pressure, ending with the
  input idle (only drain slots deliver the last L - 1 outputs: without them the run would stop with no
  output);
* slow: resets at a sweep of clocks through a one-frame sequence (layer 0's stage, then the drain slot
  that runs layer 1's), each followed by sequences that must come out exact from zero state (a shift
  register, parity or progress count left over by the reset shows up there); every multi-layer shape of tb/ernn_top with skew on, under gaps and back-pressure; the same shapes
  forced to the layers in order (``ERNN_LAYER_SKEW`` = 0: the RTL of before); and the cycles of skew on
  against forced off, each within 10 % of the timing model.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import MODEL_ROOT, Case, model_dir, random_stream
from test_ernn_top import GRU_2L_K16, GRU_3L_K8, LSTMP_K32, LSTMP_PEEP, check_segment
from test_ernn_top_n_ifft import N_2L

from ernn.export import schedule
from ernn.export.timing import step_timing
from ernn.export.writer import ExportedModel
from ernn.files import manifest
from ernn.sim import rtl as rtl_sim
from ernn.sim import runner as rtl_runner

HEADER = "ernn_params.vh"
#: every multi-layer shape of tb/ernn_top
MULTI = [LSTMP_PEEP, GRU_2L_K16, LSTMP_K32, GRU_3L_K8, N_2L]


def _header_skew(model: Path) -> int:
    found = re.search(r"localparam integer ERNN_LAYER_SKEW = (\d+);", (model / HEADER).read_text())
    assert found is not None, f"{model / HEADER} has no ERNN_LAYER_SKEW"
    return int(found.group(1))


def forced_copy(case: Case, skew: int, interleave: int | None = None) -> Path:
    """``case``'s model directory with ERNN_LAYER_SKEW rewritten to ``skew`` and (``interleave``, or 0 with
    the layers in order) ERNN_INTERLEAVE to ``interleave`` (at a stable path, so that the simulators'
    builds are reused)."""
    model = model_dir(case)
    if not skew:
        interleave = 0
    suffix = "" if interleave is None else f"-inter{interleave}"
    forced = MODEL_ROOT / f"{case.name}-skew{skew}{suffix}"
    shutil.rmtree(forced, ignore_errors=True)
    shutil.copytree(model, forced, ignore=shutil.ignore_patterns("run", "tb_case.json"))
    header = forced / HEADER
    text, count = re.subn(
        r"localparam integer ERNN_LAYER_SKEW = \d+;",
        f"localparam integer ERNN_LAYER_SKEW = {skew};",
        header.read_text(),
    )
    assert count == 1, f"{header}: one ERNN_LAYER_SKEW line expected"
    if interleave is not None:
        # the stages interleave only with the layers pipelined (ERNN_INTERLEAVE, rtl/ernn_cmd.v)
        text, count = re.subn(
            r"localparam integer ERNN_INTERLEAVE = \d+;",
            f"localparam integer ERNN_INTERLEAVE = {interleave};",
            text,
        )
        assert count == 1, f"{header}: one ERNN_INTERLEAVE line expected"
    header.write_text(text)
    # the copy is a model directory of its own now: its manifest names the rewritten header
    kind = manifest.read(forced).kind
    (forced / manifest.MANIFEST).write_text(manifest.build(forced, kind).text())
    return forced


def short_sequences(net, rng: np.random.Generator, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Random frames cut into sequences of mostly one frame (TLAST with probability 0.6), some longer."""
    x, _ = random_stream(net, rng, frames)
    last = rng.random(frames) < 0.6
    return x, last


def _run(model: Path, sim: str, x, last, seed: int, work: Path, gap: float, stall: float) -> None:
    net = ExportedModel(model).net
    print(f"{model.name} ({len(x)} frames, {int(last.sum())} TLAST) on {sim}, seed {seed} (ERNN_SEED={seed})")
    raw = rtl_sim.simulate(
        model,
        [{"frames": x, "last": last, "reset_after": -1}],
        sim=sim,
        work_dir=work,
        seed=seed,
        valid_gap_prob=gap,
        ready_stall_prob=stall,
    )
    check_segment(raw, 0, net, x, last, seed)


def test_exporter_pipelines_every_multilayer_shape() -> None:
    """The exporter's rule: on for every multi-layer shape here (the timing model says faster), off for one
    layer; the header and the cycle model say the same."""
    for case in MULTI:
        model = model_dir(case)
        info = ExportedModel(model).net.info
        assert schedule.layer_skew(info, case.lanes), (
            f"{case.name}: the exporter no longer pipelines the layers"
        )
        assert _header_skew(model) == 1
        assert schedule.cycle_model(info, case.lanes).layer_skew
    one_layer = dataclasses.replace(ExportedModel(model_dir(LSTMP_PEEP)).net.info, num_layers=1)
    assert not schedule.layer_skew(one_layer, LSTMP_PEEP.lanes)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_skew_short_sequences_gaps_drain(sim, request, tmp_path) -> None:
    """One-frame sequences (shorter than L), tvalid gaps (drain slots mid-stream), back-pressure, idle end."""
    seed = seed_for(request.node.nodeid)
    model = model_dir(LSTMP_PEEP)
    x, last = short_sequences(ExportedModel(model).net, np.random.default_rng(seed), 12)
    _run(model, sim, x, last, seed, tmp_path, 0.4, 0.3)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_skew_reset_during_drain(sim, request, tmp_path) -> None:
    """A reset at each of a sweep of clocks through a one-frame sequence (layer 0's stage, then the drain
    slot that runs layer 1's): the outputs before it exact, and the sequences after it exact from zero state."""
    seed = seed_for(request.node.nodeid)
    model = model_dir(LSTMP_PEEP)
    net = ExportedModel(model).net
    rng = np.random.default_rng(seed)
    one = np.ones(1, dtype=bool)
    xr = random_stream(net, rng, 1)[0]
    ref = rtl_sim.simulate(
        model, [{"frames": xr, "last": one}], sim=sim, work_dir=tmp_path / "ref", seed=seed
    )
    check_segment(ref, 0, net, xr, one, seed)
    out = int(ref["out_cycle0"][0] - ref["in_cycle0"][0])
    clocks = sorted({out // 2, out // 2 + 7, (3 * out) // 4, out - 9, out - 3, out - 1, out, out + 1})
    print(f"{model.name} on {sim}, seed {seed}: output {out} clocks after the frame; resets at {clocks}")
    stim = [random_stream(net, rng, 1)[0] for _ in clocks]
    segments = [{"frames": x, "last": one, "reset_at_clock": c} for x, c in zip(stim, clocks, strict=True)]
    tail_x, tail_last = short_sequences(net, rng, 5)
    segments.append({"frames": tail_x, "last": tail_last})
    raw = rtl_sim.simulate(model, segments, sim=sim, work_dir=tmp_path / "resets", seed=seed)
    for idx, c in enumerate(clocks):
        came = int(c > out)
        assert len(raw[f"out_data{idx}"]) == came, f"reset at clock {c}: {len(raw[f'out_data{idx}'])} outputs"
        check_segment(raw, idx, net, stim[idx], one, seed, count=came)
    check_segment(raw, len(clocks), net, tail_x, tail_last, seed)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize("case", MULTI, ids=[c.name for c in MULTI])
def test_skew_every_multilayer_shape(sim, case, request, tmp_path) -> None:
    """Every multi-layer shape with skew on: random sequences of several styles, gaps and back-pressure."""
    seed = seed_for(request.node.nodeid)
    model = model_dir(case)
    assert _header_skew(model) == 1
    x, last = random_stream(ExportedModel(model).net, np.random.default_rng(seed), 24)
    _run(model, sim, x, last, seed, tmp_path, 0.3, 0.3)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize("case", [LSTMP_PEEP, GRU_2L_K16], ids=lambda c: c.name)
def test_in_order_forced(sim, case, request, tmp_path) -> None:
    """The same shapes forced to the layers in order (ERNN_LAYER_SKEW = 0, the RTL of before)."""
    seed = seed_for(request.node.nodeid)
    model = forced_copy(case, 0)
    x, last = short_sequences(ExportedModel(model).net, np.random.default_rng(seed), 16)
    _run(model, sim, x, last, seed, tmp_path, 0.3, 0.3)


def _steady(model: Path, sim: str, seed: int, work: Path) -> float:
    net = ExportedModel(model).net
    x = random_stream(net, np.random.default_rng(seed), 10, styles=("moderate",))[0]
    last = np.zeros(len(x), dtype=bool)
    last[-1] = True  # one sequence: every spacing is a step inside it
    res = rtl_sim.run_rtl(model, x, last, sim=sim, work_dir=work, seed=seed)
    expected, _ = net.run_stream(x, last)
    np.testing.assert_array_equal(res.outputs, expected, err_msg=f"{model.name} on {sim}, seed {seed}")
    return res.cycles_per_step


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_skew_cycles(sim, request, tmp_path) -> None:
    """The 2-layer LSTMP pipelined against itself in order: fewer clocks per step, each within 10 % of the
    timing model (``step_timing(..., layer_skew=)``)."""
    seed = seed_for(request.node.nodeid)
    case = LSTMP_PEEP
    info = ExportedModel(model_dir(case)).net.info
    cm = schedule.cycle_model(info, case.lanes)
    on = _steady(model_dir(case), sim, seed, tmp_path / "on")
    off = _steady(forced_copy(case, 0), sim, seed, tmp_path / "off")
    off_predicted = step_timing(
        info, case.lanes, cm.cell_lanes, iffts=cm.n_ifft, in_first=cm.gru_in_first, load_ahead=cm.load_ahead
    ).cycles  # in order: not interleaved
    print(
        f"{case.name}: {on} clocks/step pipelined (predicted {cm.predicted}), {off} in order ({off_predicted})"
    )
    assert cm.layer_skew
    assert abs(cm.predicted - on) <= 0.1 * on
    assert abs(off_predicted - off) <= 0.1 * off
    assert on < off, f"pipelined {on} clocks per step, in order {off}"
