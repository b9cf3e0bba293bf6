"""ernn_tt_train_top training a TT-GRU classifier: N training steps in RTL leave exactly golden's state
(golden.tt_train.gru_step with recompute: x-cores, h-cores, head, the three biases, the rank masks) after
EVERY step, every word compared, then inference gives gru_predict's y; on Icarus and Verilator, with
random gaps on the command stream and back-pressure on the replies, and ragged sequence lengths (some
sequences end early: their states freeze, their later steps send no gradient).

The program is ernn.export.tt_program.compile_gru's; the run is test_ernn_tt_train.py's cocotb test (load,
STEP, read back every trained region, INFER), configured by tt_cases.run_config. A mismatch names the
step, the tensor (e.g. ``h_core1``, ``bx``, ``x_core_mask1``) and the word, and the seed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_tbutil import seed_for
from test_tt_program import gate_edges
from tt_cases import run_config

from ernn.export.tt_program import compile_gru
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_tt_train_top"


def _case(shape_args, batch, seq_len, lr_shift, prune_shift, steps, seed, tmp_path, prepare=None, head=0):
    """A random TT-GRU (``shape_args``: inputs, hidden, classes, tt cores, rank) and ``steps`` golden steps
    on random batches with ragged lengths in [1, seq_len] (one sequence per batch full length, at least
    one shorter; in step 0 length 1). With prune_shift the last rank slice of every boundary starts at a quarter of
    its random value, so that pruning happens within the steps (checked). ``head``: the rank of a two-core
    TT head (0: the dense head)."""
    from ernn.golden import tt_train as gt
    from ernn.golden.tt_formats import TTTrainFormats
    from ernn.shape.structures import TensorTrain

    inputs, hidden, classes, cores, rank = shape_args
    fmts = TTTrainFormats(lr_shift=lr_shift, prune_shift=prune_shift, sr_lanes=5, seed=seed & 0xFFFF)
    shapes = gt.gru_shapes(
        inputs, hidden, classes, TensorTrain(cores, rank), TensorTrain(2, head) if head else None
    )
    state = gt.random_state(shapes, fmts, seed)
    if prune_shift:
        for matrix in ("x_core", "h_core"):
            for k in range(1, cores):
                state.tensors[f"{matrix}{k - 1}"][..., -1] //= 4
                state.tensors[f"{matrix}{k}"][:, -1] //= 4
    if prepare:
        prepare(state)
    prog = compile_gru(shapes, batch, seq_len, fmts)
    rng = np.random.default_rng(seed)
    batches = []
    for step in range(steps):
        x = rng.integers(fmts.x.min_int, fmts.x.max_int + 1, size=(batch, seq_len, inputs))
        lengths = rng.integers(1, seq_len + 1, size=batch)
        lengths[step % batch] = seq_len
        lengths[(step + 1) % batch] = rng.integers(1, seq_len) if step else 1  # 1: see gate_edges
        batches.append((x, lengths, rng.integers(0, classes, batch)))
    params, conf = run_config(
        prog,
        tmp_path,
        seed,
        state,
        batches,
        lambda st, x, lengths, labels: gt.gru_step(st, x, lengths, labels, fmts, recompute=True)[0],
        lambda st, x, lengths, _labels: gt.gru_predict(st, x, lengths, fmts),
    )
    if prune_shift:
        after = conf["steps"][-1]["after"]
        pruned = sum(int((1 - np.asarray(v)).sum()) for n, v in after.items() if "_mask" in n)
        assert pruned, f"the pruning case pruned nothing in {steps} steps (seed {seed}): choose another shape"
    print(
        f"seed {seed} (set ERNN_SEED to reproduce): {len(prog.code)} instructions, {conf['cycles']} clocks a step"
    )
    return params, conf


# the default shape: 4 inputs, hidden 4, 3 classes, 2 cores of rank 2, batch 2, T = 3, lr 2^-4
DEFAULT = ((4, 4, 3, 2, 2), 2, 3, 4, 0)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_tt_train_gru(sim, request, tmp_path) -> None:
    """Three steps of the default shape, ragged lengths, gaps and back-pressure."""
    params, conf = _case(*DEFAULT, 3, seed_for(request.node.nodeid), tmp_path)
    rtl_runner.run(TOPLEVEL, "test_ernn_tt_train", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_tt_train_gru_gate_edges(sim, request, tmp_path) -> None:
    """The same program (and build) from a state whose pre-activations sit exactly on the derivative
    masks' edges (test_tt_program.gate_edges: |v| < 2 and |v| < 1 are strict)."""
    params, conf = _case(*DEFAULT, 2, seed_for(request.node.nodeid), tmp_path, prepare=gate_edges)
    rtl_runner.run(TOPLEVEL, "test_ernn_tt_train", params, sim=sim, config=conf)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(
    ("shape_args", "batch", "seq_len", "lr_shift", "prune_shift", "steps", "head"),
    [
        ((6, 4, 3, 2, 2), 3, 4, 3, 0, 8, 0),  # a large rate (saturation), batch 3, T = 4
        ((6, 6, 4, 2, 3), 2, 3, 4, 1, 6, 0),  # rank pruning
        ((5, 5, 3, 2, 2), 2, 3, 6, 0, 6, 0),  # padded modes
        ((4, 6, 4, 2, 2), 2, 3, 4, 1, 4, 2),  # a TT head (two cores, its own mask), pruning
    ],
)
def test_ernn_tt_train_gru_long(
    sim, shape_args, batch, seq_len, lr_shift, prune_shift, steps, head, request, tmp_path
) -> None:
    seed = seed_for(request.node.nodeid)
    params, conf = _case(shape_args, batch, seq_len, lr_shift, prune_shift, steps, seed, tmp_path, head=head)
    rtl_runner.run(TOPLEVEL, "test_ernn_tt_train", params, sim=sim, config=conf)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
