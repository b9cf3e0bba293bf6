"""The TT-MLP program compiler (ernn.export.tt_program) without a simulator: its Python model of the engine runs the
compiled step and inference bit-exact with golden.tt_train (cores, biases, the LFSR lanes after every step,
y), and the compiler refuses what the engine cannot run."""

from __future__ import annotations

import numpy as np
import pytest

from ernn.export.tt_program import GE, LDI, MAC, MAX, UPD, WRITE_LATENCY, compile_mlp, load_state, model_run
from ernn.golden import tt_train as gt
from ernn.golden.tt_formats import TTTrainFormats
from ernn.shape.structures import TensorTrain


@pytest.mark.parametrize(
    ("inputs", "outputs", "cores", "rank", "batch"),
    [(16, 10, 2, 2, 4), (12, 6, 2, 3, 3), (16, 8, 3, 2, 2), (13, 5, 2, 2, 2), (32, 16, 4, 2, 1)],
)
@pytest.mark.parametrize(("lr_shift", "prune_shift"), [(3, 0), (6, 0), (4, 1)])
def test_program_model_matches_golden(inputs, outputs, cores, rank, batch, lr_shift, prune_shift) -> None:
    fmts = TTTrainFormats(lr_shift=lr_shift, prune_shift=prune_shift, sr_lanes=5, seed=77)
    shapes = gt.mlp_shapes(inputs, outputs, TensorTrain(cores, rank))
    state = gt.random_state(shapes, fmts, seed=3)
    prog = compile_mlp(shapes["w"], batch, fmts)
    mem, lfsr = load_state(prog, state), state.lfsr.copy()
    rng = np.random.default_rng(1)
    for step in range(4):
        x = rng.integers(fmts.x.min_int, fmts.x.max_int + 1, size=(batch, inputs))
        labels = rng.integers(0, outputs, size=batch)
        mem[prog.regions["x"]] = x
        mem[prog.regions["t"]] = gt.one_hot(labels, outputs, fmts.inter)
        state, _ = gt.mlp_step(state, x, labels, fmts)
        model_run(prog, mem, lfsr, 0)
        for name in [f"w{k}" for k in range(cores)] + ["b"]:
            got = mem[prog.regions[name]]
            assert (got == state.tensors[name]).all(), f"step {step}: {name} differs"
        for k in range(1, cores):
            got = mem[prog.regions[f"m{k}"]]
            assert (got == state.masks[f"w_mask{k}"]).all(), f"step {step}: mask {k} differs"
        assert (lfsr.state == state.lfsr.state).all() and lfsr.next_lane == state.lfsr.next_lane
        model_run(prog, mem, lfsr, prog.infer_pc)
        assert (mem[prog.regions["y"]] == gt.mlp_predict(state, x, fmts)).all(), f"step {step}: y differs"
    if prune_shift:
        pruned = sum(int((1 - m).sum()) for m in state.masks.values())
        print(f"{pruned} rank slices pruned")
        assert pruned or (inputs, rank) != (12, 3), "the pruning case (12 inputs, rank 3) pruned nothing"


@pytest.mark.parametrize(
    ("inputs", "outputs", "cores", "rank", "prune_shift"),
    [(12, 6, 2, 3, 0), (16, 10, 2, 4, 1), (16, 8, 3, 2, 1)],
)
def test_program_respects_the_write_latency(inputs, outputs, cores, rank, prune_shift) -> None:
    """No instruction of the step or the inference reads a word written fewer than WRITE_LATENCY slots
    before it (the engine has no forwarding), and the MAC count is the step's MAC instructions."""
    fmts = TTTrainFormats(prune_shift=prune_shift)
    shapes = gt.mlp_shapes(inputs, outputs, TensorTrain(cores, rank))
    prog = compile_mlp(shapes["w"], 3, fmts)
    last_write: dict[int, int] = {}
    for slot, (op, _first, last, _s, _w, a, b, d) in enumerate(prog.code):
        if op in (MAC, UPD, MAX, GE):
            for r in (a, b):
                assert slot - last_write.get(r, -WRITE_LATENCY) >= WRITE_LATENCY, f"slot {slot} reads {r}"
        if op in (UPD, LDI, MAX, GE) or (op == MAC and last):
            last_write[d] = slot
    assert prog.macs == sum(op == MAC for op, *_ in prog.code[: prog.infer_pc])


def test_program_refuses_what_the_engine_cannot_run() -> None:
    shapes = gt.mlp_shapes(12, 6, TensorTrain(2, 3))
    with pytest.raises(ValueError, match="rank prior .* is not compiled"):
        compile_mlp(shapes["w"], 2, TTTrainFormats(prior_samples=100))
    with pytest.raises(ValueError, match="exact gradient of core 0 needs 39 bits, the memory words have 36"):
        compile_mlp(shapes["w"], 2, TTTrainFormats(), dw=36)
