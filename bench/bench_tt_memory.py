"""Training-state memory and training-step speed: dense fp32 vs TT fp32 vs TT low precision (golden step).

One GRU classifier (features -> hidden, a linear head), trained on one batch of ``batch`` sequences of
``steps`` frames, three ways:

* **dense fp32** -- ``torch.nn.GRU`` + ``nn.Linear``, Adam;
* **TT fp32** -- :class:`ernn.train.tt.TTGRU` (``--cores``, ``--rank``) + ``nn.Linear``, Adam;
* **TT low precision** -- the integer golden step (golden/tt_train.py, formats of docs/numerics.md §16), SGD
  with stochastic rounding (no optimizer state besides the LFSR lanes); keeping every intermediate for the
  backward pass or recomputing it, and (``--grad-store``) with the gradient accumulators held in a named
  format instead of exact sums (``TTTrainFormats.grad_store``).

Bytes are measured, not derived from formulas: torch -- every parameter's and gradient's ``nbytes`` after a
backward pass, the optimizer's state tensors after its step, and the tensors autograd saves for the backward
pass (a ``saved_tensors_hooks`` pack hook; parameters and repeated storages counted once, parameters not
counted again). Golden -- the integer arrays the step holds: cores and biases at their format's width,
gradients at the width their exact sums need (``TTTrainFormats.gradient_word``) or at ``grad_store``'s, the LFSR lanes and rank
masks, and the arrays the backward pass keeps (``tape_out``, each at its format's width, broadcast views
counted once). Speed: median seconds of one whole step (forward, backward, update) over ``--reps``.

    .venv/bin/python bench/bench_tt_memory.py --out build/bench/tt_memory.json
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ernn.files import atomic
from ernn.golden import tt_train as g
from ernn.golden.formats import QFormat
from ernn.golden.tt_formats import LFSR_BITS, TTTrainFormats
from ernn.shape.structures import TensorTrain
from ernn.train import tt


def _unique_entries(a: np.ndarray) -> int:
    """Entries of an array that are not broadcast copies (stride 0 axes counted once)."""
    return math.prod(n for n, s in zip(a.shape, a.strides, strict=True) if s != 0) if a.ndim else 1


def torch_state(model: nn.Module, head: nn.Linear, x: torch.Tensor, y: torch.Tensor, reps: int) -> dict:
    params = list(model.parameters()) + list(head.parameters())
    param_ptrs = {p.untyped_storage().data_ptr() for p in params}
    opt = torch.optim.Adam(params, lr=1e-3)
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in param_ptrs:
            saved[ptr] = t.untyped_storage().nbytes()
        return t

    def step(record: bool) -> None:
        if record:
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                out, _ = model(x)
                loss = nn.functional.cross_entropy(head(out[:, -1]), y)
        else:
            out, _ = model(x)
            loss = nn.functional.cross_entropy(head(out[:, -1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(record=True)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step(record=False)
        times.append(time.perf_counter() - t0)
    state_bytes = sum(t.nbytes for s in opt.state.values() for t in s.values() if torch.is_tensor(t))
    return {
        "weights": sum(p.nbytes for p in params),
        "gradients": sum(p.grad.nbytes for p in params),
        "optimizer": state_bytes,
        "activations": sum(saved.values()),
        "step_seconds": statistics.median(times),
    }


def golden_state(
    features: int, hidden: int, classes: int, params: TensorTrain, head: TensorTrain | None,
    batch: int, steps: int, reps: int, recompute: bool, grad_store: QFormat | None = None,
) -> dict:  # fmt: skip
    fmts = TTTrainFormats(grad_store=grad_store)
    shapes = g.gru_shapes(features, hidden, classes, params, head)
    state = g.random_state(shapes, fmts, 0)
    rng = np.random.default_rng(0)
    x = rng.integers(-64, 64, (batch, steps, features))
    lengths = np.full(batch, steps)
    labels = rng.integers(0, classes, batch)
    tape: list = []
    g._gru_run(state.tensors, state.shapes, x, lengths, labels, fmts, tape_out=tape, recompute=recompute)
    weight_bits = sum(
        v.size * (fmts.inter.word if n.startswith("b") else fmts.core.word) for n, v in state.tensors.items()
    )
    _, res = g.gru_step(state, x, lengths, labels, fmts, recompute=recompute)
    grad_bits = 0
    for name, grad in res.grads.items():
        if grad_store is not None:  # every accumulator is one grad_store word
            grad_bits += grad.size * grad_store.word
            continue
        if name.startswith("b"):
            terms, input_word = (
                batch * steps,
                1,
            )  # a bias gradient sums grad words: one extra bit per doubling
            grad_bits += grad.size * (fmts.grad.word + math.ceil(math.log2(terms)))
            continue
        frac_in = res.grad_fracs[name] - fmts.grad.frac
        input_word = {fmts.x.frac: fmts.x.word, fmts.act.frac: fmts.act.word}.get(frac_in, fmts.inter.word)
        # the terms summed into one core-gradient entry: batch x steps x the contraction's other axes
        terms = batch * steps * max(1, _terms_per_entry(shapes, name))
        grad_bits += grad.size * fmts.gradient_word(terms, input_word)
    optimizer_bits = fmts.sr_lanes * LFSR_BITS + sum(m.size for m in state.masks.values())
    act_bits = 0
    widths = {
        "r": fmts.act.word, "z": fmts.act.word, "diff": fmts.act.word + 1,
        "ahn": fmts.inter.word, "mask_r": 1, "mask_z": 1, "mask_n": 1, "valid": 1,
    }  # fmt: skip
    for entry in tape[:-1]:
        if recompute:  # h_{t-1} and x_t (the input, kept for the second forward pass)
            act_bits += entry.size * fmts.act.word + batch * features * fmts.x.word
            continue
        record = dict(zip(g.TAPE_FIELDS, entry, strict=True))
        for key, first in (("x_inputs", fmts.x.word), ("h_inputs", fmts.act.word)):
            arrays = record[key]
            d = len(arrays)
            for k, a in enumerate(arrays):
                act_bits += _unique_entries(a) * (first if k == d - 1 else fmts.inter.word)
        for key, width in widths.items():
            act_bits += _unique_entries(np.asarray(record[key])) * width
    act_bits += sum(
        _unique_entries(a) * (fmts.act.word if k == len(tape[-1]) - 1 else fmts.inter.word)
        for k, a in enumerate(tape[-1])
    )
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        g.gru_step(state, x, lengths, labels, fmts, recompute=recompute)
        times.append(time.perf_counter() - t0)
    return {
        "weights": weight_bits / 8,
        "gradients": grad_bits / 8,
        "optimizer": optimizer_bits / 8,
        "activations": act_bits / 8,
        "step_seconds": statistics.median(times),
    }


def _terms_per_entry(shapes: dict[str, g.TTShape], name: str) -> int:
    """Products summed into one entry of core ``name`` per (sample, time step): P * Q of its step."""
    matrix = name.rstrip("0123456789")
    k = int(name[len(matrix) :])
    shape = shapes[matrix]
    return math.prod(shape.col_modes[:k]) * math.prod(shape.row_modes[k + 1 :])


def measure(
    features: int, hidden: int, classes: int, params: TensorTrain, head: TensorTrain | None,
    batch: int, steps: int, reps: int, grad_stores: list[QFormat] = (),
) -> dict:  # fmt: skip
    torch.manual_seed(0)
    x = torch.randn(batch, steps, features)
    y = torch.randint(0, classes, (batch,))
    dense = torch_state(nn.GRU(features, hidden, batch_first=True), nn.Linear(hidden, classes), x, y, reps)
    tt_head = nn.Linear(hidden, classes) if head is None else tt.TTLinear(hidden, classes, head)
    ttf = torch_state(tt.TTGRU(features, hidden, batch_first=True, structure=params), tt_head, x, y, reps)
    args = (features, hidden, classes, params, head, batch, steps, reps)
    rows = {
        "dense fp32": dense,
        "TT fp32": ttf,
        "TT low precision": golden_state(*args, recompute=False),
        "TT low precision, recompute": golden_state(*args, recompute=True),
        **{
            f"TT low precision, recompute, gradients Q{q.word}.{q.frac}": golden_state(
                *args, recompute=True, grad_store=q
            )
            for q in grad_stores
        },
    }
    for row in rows.values():
        row["total"] = sum(row[k] for k in ("weights", "gradients", "optimizer", "activations"))
    base = dense["total"]
    for row in rows.values():
        row["ratio_vs_dense"] = base / row["total"]
    return {
        "features": features, "hidden": hidden, "classes": classes, "cores": params.cores, "rank": params.rank,
        "head": head.to_dict() if head else "dense", "batch": batch, "steps": steps, "rows": rows,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/bench/tt_memory.json")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument(
        "--grad-store",
        nargs="*",
        default=["20.12", "24.16"],
        metavar="WORD.FRAC",
        help="rows with the golden step's gradient accumulators held in these formats",
    )
    args = ap.parse_args()
    stores = [QFormat(*map(int, f.split("."))) for f in args.grad_store]
    torch.set_num_threads(1)
    configs = [
        # the JapaneseVowels model of docs/tensor_train.md, one batch of 16 sequences of 26 frames
        (12, 32, 9, TensorTrain(2, 4), None, 16, 26),
        # the SR1 hidden size (TIMIT features 153 -> 1024, 61 phones), one sequence of 20 frames
        # (per-sample training), the head a TT-matrix too (the dense head would be most of the TT state)
        (153, 1024, 61, TensorTrain(4, 8), TensorTrain(4, 8), 1, 20),
    ]
    results = []
    for features, hidden, classes, params, head, batch, steps in configs:
        r = measure(features, hidden, classes, params, head, batch, steps, args.reps, stores)
        results.append(r)
        print(
            f"GRU {features}->{hidden} ({classes} classes), TT {params.cores} cores rank {params.rank}, "
            f"head {'dense' if head is None else 'TT'}, batch {batch} x {steps} frames"
        )
        print(f"  {'':48s} {'weights':>12s} {'gradients':>12s} {'optimizer':>12s} {'activations':>12s} "
              f"{'total':>12s} {'vs dense':>9s} {'step s':>9s}")  # fmt: skip
        for name, row in r["rows"].items():
            print(
                f"  {name:48s} {row['weights']:12,.0f} {row['gradients']:12,.0f} {row['optimizer']:12,.0f} "
                f"{row['activations']:12,.0f} {row['total']:12,.0f} {row['ratio_vs_dense']:8.1f}x "
                f"{row['step_seconds']:9.4f}"
            )
    meta = {"python": platform.python_version(), "torch": torch.__version__, "threads": 1, "reps": args.reps}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out, {"config": meta, "results": results}, force=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
