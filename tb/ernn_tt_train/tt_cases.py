"""Run configurations of the ernn_tt_train_top testbench (test_ernn_tt_train.py's cocotb test), shared by
the TT-MLP and TT-GRU tests: a compiled program, its ROM and Verilog parameters, the initial state and,
per training step, what the host writes and every trained word golden expects afterwards.

The expected words come from the golden model (golden.tt_train.mlp_step / gru_step) through
ernn.export.tt_program.state_words (the program's memory map); nothing here re-implements the step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ernn.export.tt_program import Program, input_words, state_words, step_cycles
from ernn.sim import runner as rtl_runner


def run_config(
    prog: Program,
    tmp_path: Path,
    seed: int,
    state: Any,
    batches: list[tuple],
    step: Callable[..., Any],
    predict: Callable[..., np.ndarray],
    p_gap: float = 0.3,
    p_stall: float = 0.3,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Verilog parameters, cocotb configuration) of a run: load ``state``, then one STEP per batch
    (``batches``: the golden step's arguments after the state, e.g. (x, labels) or (x, lengths, labels)),
    after each every trained word read back and compared; then INFER on the last batch's inputs against
    ``predict``. ``step(state, *batch)`` returns the new state, ``predict(state, *batch)`` y."""
    rom = rtl_runner.write_memh(tmp_path / "prog.mem", prog.encode(), prog.width)
    first = state_words(prog, state)
    names = [*first, *prog.inputs, "y"]
    regions = {n: (int(prog.regions[n].reshape(-1)[0]), int(prog.regions[n].size)) for n in names}
    for n in names:  # a region is written and read as one burst: its addresses must be consecutive
        flat = prog.regions[n].reshape(-1)
        assert (np.diff(flat) == 1).all(), f"region {n} is not contiguous"
    steps = []
    for batch in batches:
        words = _inputs(prog, batch)
        state = step(state, *batch)
        steps.append({"inputs": words, "after": state_words(prog, state)})
    conf = {
        "seed": seed,
        "regions": regions,
        "initial": first,
        "steps": steps,
        "infer_inputs": _inputs(prog, batches[-1]),
        "infer_y": predict(state, *batches[-1]),
        "cycles": step_cycles(prog),
        "p_gap": p_gap,
        "p_stall": p_stall,
    }
    return prog.engine_parameters(rom), conf


def _inputs(prog: Program, batch: tuple) -> dict[str, np.ndarray]:
    if prog.seq_len:  # (x, lengths, labels)
        x, lengths, labels = batch
        return input_words(prog, x, labels, lengths)
    x, labels = batch
    return input_words(prog, x, labels)
