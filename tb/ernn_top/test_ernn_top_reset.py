"""Resets at chosen clocks in every controller state of ernn_top (issue 19: resets at output boundaries only
ever hit one state, "cmd issuing").

One small model (a 1-layer GRU, k = 4, P = 4), both simulators, no input gaps and no back-pressure, so that
the timing is the same after every reset:

1. a reference run of one 3-frame sequence gives the clock of each output beat, counted from the clock that
   accepted the first input beat (``L`` = the first output's);
2. one simulation of many 3-frame segments, each ended by a reset asserted ``c`` clocks after its first
   input beat (``ernn.sim.rtl.simulate``'s ``reset_at_clock``): every ``c`` from 1 to ``L`` + 1 (the whole
   first step, clock by clock: the command side loading and issuing, the PE's output and the cell's input
   valid, the output beat itself), and the clocks of the later output beats and the one after each; then a
   clean segment with no reset.

Checked: reset lands at the asked clock; each segment produced exactly the outputs the reference run had
produced by then, bit-exact with the golden model (a segment starts from zero state after the reset before
it, so a state left over by a reset in any controller state shows up in the next segment); the last segment
is bit-exact in full; and the controller states found at the resets (``ernn.sim.funcov``'s collector, the
``reset_in/<state>`` bins) cover every state of ``RESET_STATES``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import model_dir, random_stream
from test_ernn_top import GRU_K4, check_segment

from ernn.export.writer import ExportedModel
from ernn.sim import funcov
from ernn.sim import rtl as rtl_sim
from ernn.sim import runner as rtl_runner

CASE = GRU_K4
FRAMES = 3  # per segment: one sequence


def _sequence(net, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x, last = random_stream(net, rng, FRAMES, styles=("moderate", "full"))
    last[:] = False
    last[-1] = True
    return x, last


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_reset_in_every_controller_state(sim: str, request: pytest.FixtureRequest, tmp_path) -> None:
    seed = seed_for(request.node.nodeid)
    model = model_dir(CASE)
    net = ExportedModel(model).net
    rng = np.random.default_rng(seed)

    # 1. reference timing: output clocks counted from the first input beat's
    xr, lr = _sequence(net, rng)
    ref = rtl_sim.simulate(model, [{"frames": xr, "last": lr}], sim=sim, work_dir=tmp_path / "ref", seed=seed)
    check_segment(ref, 0, net, xr, lr, seed)
    offsets = ref["out_cycle0"] - ref["in_cycle0"][0]
    first = int(offsets[0])
    clocks = sorted(set(range(1, first + 2)) | {int(o) + d for o in offsets[1:] for d in (0, 1)})
    print(
        f"{CASE.name} on {sim}, seed {seed}: output beats at {offsets.tolist()}; resets at {len(clocks)} clocks"
    )

    # 2. a reset at each clock, then a clean segment
    stim = [_sequence(net, rng) for _ in range(len(clocks) + 1)]
    segments = [
        {"frames": x, "last": last, "reset_at_clock": c} for (x, last), c in zip(stim, clocks, strict=False)
    ]
    segments.append({"frames": stim[-1][0], "last": stim[-1][1]})
    raw = rtl_sim.simulate(model, segments, sim=sim, work_dir=tmp_path / "resets", seed=seed, probe=True)

    hits: Counter[str] = Counter()
    for idx, c in enumerate(clocks):
        x, last = stim[idx]
        landed = int(raw[f"reset_cycle{idx}"] - raw[f"in_cycle{idx}"][0])
        assert landed == c, f"segment {idx}: reset asked {c} clocks after the first beat, came at {landed}"
        came = int(np.sum(offsets < c))  # output beats accepted before the clock reset is sampled high
        assert len(raw[f"out_data{idx}"]) == came, (
            f"reset at clock {c}: {len(raw[f'out_data{idx}'])} outputs before it, the reference run had {came}"
        )
        check_segment(raw, idx, net, x, last, seed, count=came)
        states = [str(s) for s in raw[f"reset_states{idx}"]]
        assert states, f"reset at clock {c}: no controller state recorded"
        hits.update(f"reset_in/{s}" for s in states)
    x, last = stim[-1]
    check_segment(raw, len(clocks), net, x, last, seed)

    bins = [b for b in funcov.all_bins() if b.startswith("reset_in/")]
    print("resets per state:", {b: hits[b] for b in bins})
    missed = [b for b in bins if not hits[b]]
    assert not missed, f"no reset landed in {missed} (clocks 1..{clocks[-1]}, seed {seed})"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"reset_after": 2, "reset_at_clock": 5}, "not both"),
        ({"reset_at_clock": 0}, "must be >= 1"),
        ({"reset_at_clock": 2.5}, "must be an integer"),
        ({"reset_at_clock": True}, "must be an integer"),
        ({"reset_at_clock": rtl_sim.STALL_LIMIT + 1}, "beyond the stall limit"),
        ({"reset_at_clok": 3}, "unknown option"),
    ],
)
def test_reset_options_are_checked(options: dict, message: str, tmp_path) -> None:
    """Bad reset options are refused by name before any simulator starts."""
    model = model_dir(CASE)
    x, last = _sequence(ExportedModel(model).net, np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        rtl_sim.simulate(model, [{"frames": x, "last": last, **options}], work_dir=tmp_path)


def test_reset_at_clock_needs_a_frame(tmp_path) -> None:
    model = model_dir(CASE)
    net = ExportedModel(model).net
    x = np.zeros((0, net.info.input_size), dtype=np.int64)
    with pytest.raises(ValueError, match="at least one frame"):
        rtl_sim.simulate(
            model, [{"frames": x, "last": np.zeros(0, bool), "reset_at_clock": 3}], work_dir=tmp_path
        )
