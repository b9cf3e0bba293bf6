"""The TT program compiler (ernn.export.tt_program) without a simulator: its Python model of the engine runs
the compiled TT-MLP and TT-GRU steps and inference bit-exact with golden.tt_train (every trained word, the
exact gradients, the LFSR lanes after every step, y), follows golden's pruning in its edge cases, and the
compiler refuses what the engine cannot run."""

from __future__ import annotations

import numpy as np
import pytest

from ernn.export.tt_program import (
    ACC,
    CLIP,
    GE,
    IN,
    LDI,
    MAC,
    MAX,
    UPD,
    WRITE_LATENCY,
    compile_gru,
    compile_mlp,
    input_words,
    load_state,
    model_run,
    state_words,
)
from ernn.golden import tt_train as gt
from ernn.golden.tt_formats import TTTrainFormats
from ernn.shape.structures import TensorTrain


def _first_difference(prog, mem, expected: dict[str, np.ndarray], what: str) -> str | None:
    for name, want in expected.items():
        got = mem[prog.regions[name].reshape(-1)]
        bad = np.flatnonzero(got != np.asarray(want).reshape(-1))
        if bad.size:
            i = int(bad[0])
            return f"{what}: {name} word {i}: model {got[i]}, golden {np.asarray(want).reshape(-1)[i]}"
    return None


def _write(prog, mem, words: dict[str, np.ndarray]) -> None:
    for name, values in words.items():
        mem[prog.regions[name].reshape(-1)] = values


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
        _write(prog, mem, input_words(prog, x, labels))
        state, _ = gt.mlp_step(state, x, labels, fmts)
        model_run(prog, mem, lfsr, 0)
        msg = _first_difference(prog, mem, state_words(prog, state), f"after step {step}")
        assert msg is None, msg
        assert (lfsr.state == state.lfsr.state).all() and lfsr.next_lane == state.lfsr.next_lane
        model_run(prog, mem, lfsr, prog.infer_pc)
        assert (mem[prog.regions["y"]] == gt.mlp_predict(state, x, fmts)).all(), f"step {step}: y differs"
    if prune_shift:
        pruned = sum(int((1 - m).sum()) for m in state.masks.values())
        print(f"{pruned} rank slices pruned")
        assert pruned or (inputs, rank) != (12, 3), "the pruning case (12 inputs, rank 3) pruned nothing"


def _gru_run(shape_args, batch, seq_len, fmts, steps, seed, prepare=None, head=None):
    """``steps`` golden gru_step (recompute) and model runs on random ragged batches; every trained word,
    every exact gradient and y compared after each step (``head``: a TT head's TensorTrain, None dense).
    Returns the final state."""
    inputs, hidden, classes, cores, rank = shape_args
    shapes = gt.gru_shapes(inputs, hidden, classes, TensorTrain(cores, rank), head)
    state = gt.random_state(shapes, fmts, seed)
    if prepare:
        prepare(state)
    prog = compile_gru(shapes, batch, seq_len, fmts)
    mem, lfsr = load_state(prog, state), state.lfsr.copy()
    rng = np.random.default_rng(seed)
    for step in range(steps):
        x = rng.integers(fmts.x.min_int, fmts.x.max_int + 1, size=(batch, seq_len, inputs))
        lengths = rng.integers(0 if step else 1, seq_len + 1, size=batch)
        lengths[step % batch] = seq_len  # ragged (random) but never all short
        if step == 0 and batch > 1:
            lengths[1] = 1  # gate_edges needs it
        labels = rng.integers(0, classes, size=batch)
        _write(prog, mem, input_words(prog, x, labels, lengths))
        new, res = gt.gru_step(state, x, lengths, labels, fmts, recompute=True)
        model_run(prog, mem, lfsr, 0)
        grads = {f"g_{k}": v for k, v in res.grads.items()}
        for expected, what in ((grads, "gradient"), (state_words(prog, new), "state")):
            msg = _first_difference(prog, mem, expected, f"step {step} (lengths {lengths}), {what}")
            assert msg is None, msg
        assert (lfsr.state == new.lfsr.state).all() and lfsr.next_lane == new.lfsr.next_lane
        state = new
        model_run(prog, mem, lfsr, prog.infer_pc)
        want = gt.gru_predict(state, x, lengths, fmts)
        assert (mem[prog.regions["y"]] == want).all(), f"step {step}: inference y differs"
    return state


@pytest.mark.parametrize(
    ("shape_args", "batch", "seq_len", "lr_shift", "prune_shift"),
    [
        ((4, 4, 3, 2, 2), 2, 3, 4, 0),  # the RTL test's default shape
        ((6, 4, 3, 2, 2), 3, 4, 3, 0),  # a large rate: saturating cores and gates
        ((5, 5, 3, 2, 2), 2, 3, 6, 0),  # padded modes (5 = 2 x 3 with one padded entry)
        ((6, 6, 4, 2, 3), 2, 3, 4, 1),  # rank pruning
        ((8, 8, 3, 3, 2), 2, 2, 5, 0),  # three cores
    ],
)
def test_gru_program_model_matches_golden(shape_args, batch, seq_len, lr_shift, prune_shift) -> None:
    fmts = TTTrainFormats(lr_shift=lr_shift, prune_shift=prune_shift, sr_lanes=5, seed=91)
    state = _gru_run(shape_args, batch, seq_len, fmts, 3, seed=sum(shape_args) + batch)
    if prune_shift:
        pruned = sum(int((1 - m).sum()) for m in state.masks.values())
        assert pruned, "the pruning case pruned nothing: choose another shape"


def test_gru_program_with_a_tt_head() -> None:
    """A TT head (two cores, its own rank mask, pruned with the rest) instead of the dense one."""
    fmts = TTTrainFormats(lr_shift=4, prune_shift=1, sr_lanes=3, seed=8)
    _gru_run((4, 6, 4, 2, 2), 2, 3, fmts, 3, seed=6, head=TensorTrain(2, 2))


def _pruned_slice_zero_energy(state, matrices) -> None:
    """Every core of ``matrices`` zero (all slice energies 0: they stay 0, no gradient reaches them) and
    slice 0 of every boundary pruned; with ``all`` every slice pruned."""
    for matrix in matrices:
        for k in range(state.shapes[matrix].cores):
            state.tensors[f"{matrix}{k}"][:] = 0
        for k in range(1, state.shapes[matrix].cores):
            state.masks[f"{matrix}_mask{k}"][:, 0] = 0


@pytest.mark.parametrize("all_pruned", [False, True])
def test_pruning_follows_golden_when_every_energy_is_zero(all_pruned) -> None:
    """golden prune keeps the strongest *kept* slice: with every energy 0 a pruned slice 0 stays pruned
    (an earlier compiler revived it), and only a boundary with no kept slice gets slice 0 back."""
    fmts = TTTrainFormats(lr_shift=4, prune_shift=1, sr_lanes=5, seed=5)
    shapes = gt.mlp_shapes(12, 6, TensorTrain(2, 3))
    state = gt.random_state(shapes, fmts, seed=4)
    state.tensors["w0"][:] = 0
    state.tensors["w1"][:] = 0
    state.masks["w_mask1"][:] = [[0, 0, 0]] if all_pruned else [[0, 1, 1]]
    prog = compile_mlp(shapes["w"], 3, fmts)
    mem, lfsr = load_state(prog, state), state.lfsr.copy()
    rng = np.random.default_rng(2)
    for step in range(2):
        x = rng.integers(fmts.x.min_int, fmts.x.max_int + 1, size=(3, 12))
        labels = rng.integers(0, 6, size=3)
        _write(prog, mem, input_words(prog, x, labels))
        state, _ = gt.mlp_step(state, x, labels, fmts)
        model_run(prog, mem, lfsr, 0)
        assert state.masks["w_mask1"].tolist() == ([[1, 0, 0]] if all_pruned else [[0, 1, 1]])
        msg = _first_difference(prog, mem, state_words(prog, state), f"after step {step}")
        assert msg is None, msg


def test_gru_pruning_follows_golden_when_every_energy_is_zero() -> None:
    """The same edge case in a TT-GRU's h-core matrix (three gates: every gate's boundary)."""

    def prepare(state) -> None:
        _pruned_slice_zero_energy(state, ["h_core"])

    fmts = TTTrainFormats(lr_shift=4, prune_shift=1, sr_lanes=3, seed=8)
    state = _gru_run((4, 4, 3, 2, 2), 2, 3, fmts, 2, seed=6, prepare=prepare)
    assert (state.masks["h_core_mask1"][:, 0] == 0).all()


def test_masks_hold_without_pruning() -> None:
    """prune_shift 0 with a loaded pruned slice: golden's update re-applies the masks, so the slice stays
    0 while the rest trains (a compiler that skips the masks without pruning fails this)."""
    fmts = TTTrainFormats(lr_shift=3, sr_lanes=5, seed=9)
    shapes = gt.mlp_shapes(12, 6, TensorTrain(2, 3))
    state = gt.random_state(shapes, fmts, seed=2)
    state.masks["w_mask1"][:] = [[1, 0, 1]]  # slice 1 pruned but its entries not yet 0: golden zeroes them
    prog = compile_mlp(shapes["w"], 3, fmts)
    mem, lfsr = load_state(prog, state), state.lfsr.copy()
    rng = np.random.default_rng(3)
    for step in range(2):
        x = rng.integers(fmts.x.min_int, fmts.x.max_int + 1, size=(3, 12))
        labels = rng.integers(0, 6, size=3)
        _write(prog, mem, input_words(prog, x, labels))
        state, _ = gt.mlp_step(state, x, labels, fmts)
        model_run(prog, mem, lfsr, 0)
        msg = _first_difference(prog, mem, state_words(prog, state), f"after step {step}")
        assert msg is None, msg
    assert (state.tensors["w1"][:, 1] == 0).all() and state.tensors["w1"].any()


def gate_edges(state) -> None:
    """Cores 0 and biases that put the pre-activations exactly on the derivative masks' edges in step 0:
    pre_r = 2.0, pre_z = -2.0 (mask 0: |v| < 2 is strict), pre_n = 1.0 in hidden unit 0 (mask 0) and 0.25
    elsewhere (the n mask open, so that dn reaches the r gate's mask). With W_h = 0, dL/dh reaches a cell
    only at a sequence's last valid step, and h - n is 0 after step 0 (n is the same in every step): the z
    gate's edge shows only through a sequence of length 1, which both helpers put in step 0."""
    fi = 10  # inter's fraction bits (TTTrainFormats' default, asserted below)
    hid = state.shapes["h_core"].rows
    for matrix in ("x_core", "h_core"):
        for k in range(state.shapes[matrix].cores):
            state.tensors[f"{matrix}{k}"][:] = 0
    bx, bh = state.tensors["bx"], state.tensors["bh"]
    bx[:hid], bx[hid : 2 * hid] = 2 << fi, -2 << fi
    bh[2 * hid :] = 1 << (fi - 2)  # r = 1.0 exactly, so r * (W_hn h + b_hn) = b_hn
    bx[2 * hid] = (1 << fi) - bh[2 * hid]


def test_gru_derivative_masks_at_their_edges() -> None:
    """|v| < 2 and |v| < 1 are strict: pre-activations exactly at +-2.0 and 1.0 (gate_edges) get mask 0
    in golden and in the program (an inclusive compare fails here, random states almost never hit it)."""
    fmts = TTTrainFormats(lr_shift=4, sr_lanes=3, seed=8)
    assert fmts.inter.frac == 10
    _gru_run((4, 4, 3, 2, 2), 2, 3, fmts, 2, seed=6, prepare=gate_edges)


def _programs():
    shapes = gt.gru_shapes(6, 4, 3, TensorTrain(2, 2))
    yield compile_gru(shapes, 2, 3, TTTrainFormats(prune_shift=1))
    for inputs, outputs, cores, rank, prune_shift in [(12, 6, 2, 3, 0), (16, 10, 2, 4, 1), (16, 8, 3, 2, 1)]:
        shapes = gt.mlp_shapes(inputs, outputs, TensorTrain(cores, rank))
        yield compile_mlp(shapes["w"], 3, TTTrainFormats(prune_shift=prune_shift))


@pytest.mark.parametrize("prog", list(_programs()), ids=["gru", "mlp", "mlp-prune", "mlp-3-cores-prune"])
def test_program_respects_the_write_latency(prog) -> None:
    """No instruction of the step or the inference reads a word written fewer than WRITE_LATENCY slots
    before it (the engine has no forwarding), and the MAC count is the step's MAC instructions."""
    last_write: dict[int, int] = {}
    reads = {MAC: 2, UPD: 2, MAX: 2, GE: 2, CLIP: 2, IN: 2, ACC: 1}
    for slot, (op, _first, last, _s, _w, a, b, d) in enumerate(prog.code):
        for r in (a, b)[: reads.get(op, 0)]:
            assert slot - last_write.get(r, -WRITE_LATENCY) >= WRITE_LATENCY, f"slot {slot} reads {r}"
        if op in (UPD, LDI, MAX, GE, CLIP, IN) or (op in (MAC, ACC) and last):
            last_write[d] = slot
    assert prog.macs == sum(op == MAC for op, *_ in prog.code[: prog.infer_pc])
    assert max(prog.encode()) < 1 << prog.width


def test_program_refuses_what_the_engine_cannot_run() -> None:
    shapes = gt.mlp_shapes(12, 6, TensorTrain(2, 3))
    with pytest.raises(ValueError, match="rank prior .* is not compiled"):
        compile_mlp(shapes["w"], 2, TTTrainFormats(prior_samples=100))
    with pytest.raises(ValueError, match="exact gradient of core 0 needs 39 bits, the memory words have 36"):
        compile_mlp(shapes["w"], 2, TTTrainFormats(), dw=36)
    gru = gt.gru_shapes(6, 4, 3, TensorTrain(2, 2))
    with pytest.raises(
        ValueError, match="exact gradient of x_core core 0 needs 41 bits, the memory words have 40"
    ):
        compile_gru(gru, 3, 4, TTTrainFormats(), dw=40)
    with pytest.raises(ValueError, match="rank prior .* is not compiled"):
        compile_gru(gru, 2, 3, TTTrainFormats(prior_samples=10))
    with pytest.raises(ValueError, match="has the matrices"):
        compile_gru(shapes, 2, 3, TTTrainFormats())
    with pytest.raises(ValueError, match="lengths"):
        input_words(compile_gru(gru, 2, 2, TTTrainFormats()), np.zeros((2, 2, 6), int), np.zeros(2, int))
