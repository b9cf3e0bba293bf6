"""Dense vs TT fp32 vs TT low precision (the integer golden training step), a few seeds, on one data set.

JapaneseVowels by default; another split with ``--train``/``--test`` (FSDD: build/data/fsdd-take, made by
``ernn data fsdd``, docs/speech.md) and a name for the tables with ``--name``. Every model is a ``--cell``
(GRU or LSTM) of ``--hidden`` units with a classifier head, trained for ``--epochs`` epochs on the same
split with batches of ``--batch`` sequences:

* **dense fp32** -- ``ernn train --mode dense`` (:mod:`ernn.train.trainer`: sigmoid/tanh, cross-entropy,
  Adam, cosine learning rate);
* **TT fp32** -- ``ernn train --structure tt`` (:mod:`ernn.train.tt_train`, the same optimiser) at fixed
  rank, and with rank adaptation (``--thresholds``, prior weight ``--prior-weight``);
* **block-circulant** (block sizes ``--blocks``) and **CSB** (8 x 8 blocks, prune rates ``--csb-rates``)
  by ADMM, at parameter counts around the fixed-rank and the adaptive TT runs', for comparison
  (:mod:`ernn.train.trainer`);
* **TT low precision** -- golden/tt_train.py's integer step (hard sigmoid/tanh, squared error on one-hot
  targets, SGD with stochastic rounding at 2**-lr_shift, formats of docs/numerics.md section 16;
  :func:`~golden.tt_train.gru_step` or :func:`~golden.tt_train.lstm_step`), the inputs normalised as the
  float runs normalise them and rounded to Q8.5. Test accuracy is the integer model's argmax after the
  last epoch; its training curve (loss, train accuracy per epoch) is recorded. Also with the integer rank
  prior and pruning (``--prune-shift``, ``prior_samples`` = ``--prior-scale`` x the training set: the
  float runs' prior weight 0.1), and with its gradient accumulators held in the formats of
  ``--grad-store`` (``TTTrainFormats.grad_store``).

Writes ``results.json`` and ``results.md`` under ``--out`` (docs/results/tt). ``--rows`` runs only the
rows whose name contains one of its words (and writes only those); ``--only`` re-runs the matching rows
and keeps the others from ``--out``'s results.json.

    .venv/bin/python bench/tt_results.py --out docs/results/tt
    .venv/bin/python bench/tt_results.py --train build/data/fsdd-take/train.npz \
        --test build/data/fsdd-take/test.npz --name FSDD --epochs 4 --seeds 2 --thresholds 0.2 \
        --blocks 8 16 --csb-rates 0.8 0.9 --rows dense "TT fp32" "golden step)" block CSB \
        --out docs/results/tt_fsdd
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ernn import data
from ernn.files import atomic
from ernn.golden import tt_train as g
from ernn.golden.formats import QFormat
from ernn.golden.ops import quantize
from ernn.golden.tt_formats import TTTrainFormats
from ernn.shape.structures import TensorTrain
from ernn.train import trainer, tt_train


def dense_run(ds: data.Dataset, args: argparse.Namespace, seed: int) -> dict:
    cfg = trainer.TrainConfig(
        cell=args.cell, hidden_size=args.hidden, mode="dense", block_size=1, epochs=args.epochs,
        batch_size=args.batch, lr=args.lr, seed=seed,
    )  # fmt: skip
    _, m = trainer.train(cfg, ds, quiet=True)
    curve = [{"loss": h["loss"], "train_acc": h["train_acc"]} for h in m["history"]]
    return {"test_accuracy": m["test_accuracy"], "weights": m["parameters"]["weights_stored"], "curve": curve}


def structured_run(ds: data.Dataset, args: argparse.Namespace, seed: int, **structure: object) -> dict:
    """ADMM training of another structure (``ernn train --mode admm``) for the comparison rows."""
    cfg = trainer.TrainConfig(
        cell=args.cell, hidden_size=args.hidden, mode="admm", epochs=args.epochs, batch_size=args.batch,
        lr=args.lr, seed=seed, **structure,
    )  # fmt: skip
    _, m = trainer.train(cfg, ds, quiet=True)
    curve = [{"loss": h["loss"], "train_acc": h["train_acc"]} for h in m["history"]]
    return {"test_accuracy": m["test_accuracy"], "weights": m["parameters"]["weights_stored"], "curve": curve}


def tt_run(ds: data.Dataset, args: argparse.Namespace, seed: int, threshold: float) -> dict:
    cfg = tt_train.TTTrainConfig(
        cell=args.cell, hidden_size=args.hidden, tt_cores=args.cores, tt_rank=args.rank,
        tt_rank_threshold=threshold, prior_weight=args.prior_weight, epochs=args.epochs,
        batch_size=args.batch, lr=args.lr, seed=seed,
    )  # fmt: skip
    _, m = tt_train.train(cfg, ds, quiet=True)
    curve = [
        {"loss": h["loss"], "train_acc": h["train_acc"], "weights": h["weights_stored"]} for h in m["history"]
    ]
    return {
        "test_accuracy": m["test_accuracy"],
        "weights": m["parameters"]["weights_stored"],
        "ranks": m["ranks"],
        "curve": curve,
    }


def _entries(state: g.TTState) -> int:
    """The RNN's core entries in use (pruned rank slices not counted; the head not included)."""
    total = 0
    for matrix, gate_ranks in g.ranks(state).items():
        shape = state.shapes[matrix]
        if matrix != "head":
            for r in gate_ranks:
                total += sum(
                    r[k] * shape.row_modes[k] * shape.col_modes[k] * r[k + 1] for k in range(shape.cores)
                )
    return total


def golden_run(
    ds: data.Dataset,
    args: argparse.Namespace,
    seed: int,
    adaptive: bool = False,
    grad_store: QFormat | None = None,
) -> dict:
    extra: dict = (
        {"prune_shift": args.prune_shift, "prior_samples": args.prior_scale * len(ds.train)}
        if adaptive
        else {}
    )
    if grad_store is not None:
        extra["grad_store"] = grad_store
    fmts = TTTrainFormats(lr_shift=args.lr_shift, seed=seed + 1, **extra)
    params = TensorTrain(args.cores, args.rank)
    shapes_of, step, predict = {
        "gru": (g.gru_shapes, g.gru_step, g.gru_predict),
        "lstm": (g.lstm_shapes, g.lstm_step, g.lstm_predict),
    }[args.cell]
    shapes = shapes_of(ds.num_features, args.hidden, ds.num_classes, params)
    state = g.random_state(shapes, fmts, seed)
    xq = quantize(ds.normalise(ds.train.x), fmts.x)
    xt = quantize(ds.normalise(ds.test.x), fmts.x)
    rng = np.random.default_rng(seed)
    curve = []
    t0 = time.perf_counter()
    steps = 0
    for _ in range(args.epochs):
        loss = correct = 0.0
        for idx in trainer.batch_order(ds.train.lengths, args.batch, rng):
            lengths = ds.train.lengths[idx]
            x = xq[idx][:, : int(lengths.max())]
            state, res = step(state, x, lengths, ds.train.y[idx], fmts, recompute=True)
            loss += res.loss
            correct += int((res.y.argmax(axis=1) == ds.train.y[idx]).sum())
            steps += 1
        record = {"loss": loss / len(ds.train), "train_acc": 100.0 * correct / len(ds.train)}
        curve.append({**record, "weights": _entries(state)})
    seconds = time.perf_counter() - t0
    y = predict(state, xt, ds.test.lengths, fmts)
    weights = _entries(state)
    return {
        "test_accuracy": 100.0 * float((y.argmax(axis=1) == ds.test.y).mean()),
        "weights": weights,
        "ranks": g.ranks(state),
        "curve": curve,
        "steps_per_second": steps / seconds,
        "formats": fmts.to_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="docs/results/tt")
    ap.add_argument("--train", help="training split (.npz); default JapaneseVowels")
    ap.add_argument("--test", help="test split (.npz)")
    ap.add_argument("--name", default="JapaneseVowels", help="the data set's name in the tables")
    ap.add_argument("--cell", choices=("gru", "lstm"), default="gru")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--rank", type=int, default=4)
    ap.add_argument(
        "--thresholds", type=float, nargs="+", default=[0.05, 0.2], help="TT fp32 rank adaptation thresholds"
    )
    ap.add_argument("--prior-weight", type=float, default=0.1, help="TT fp32 rank prior weight")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument(
        "--blocks", type=int, nargs="+", default=[2, 4, 8], help="block sizes of the block-circulant rows"
    )
    ap.add_argument(
        "--csb-rates", type=float, nargs="+", default=[0.65, 0.8, 0.85], help="prune rates of the CSB rows"
    )
    ap.add_argument(
        "--grad-store",
        nargs="+",
        default=[],
        metavar="WORD.FRAC",
        help="rows of the golden step with its gradient accumulators held in these formats (e.g. 20.12)",
    )
    ap.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate of the float runs")
    ap.add_argument("--lr-shift", type=int, default=6, help="the golden step's learning rate 2**-lr_shift")
    ap.add_argument("--prune-shift", type=int, default=2, help="the adaptive golden run's prune_shift")
    ap.add_argument(
        "--only",
        nargs="+",
        help="run only the rows whose name contains one of these; the others are read from --out's results.json",
    )
    ap.add_argument(
        "--rows", nargs="+", help="run and write only the rows whose name contains one of these words"
    )
    ap.add_argument(
        "--prior-scale",
        type=int,
        default=10,
        help="the adaptive golden run's prior_samples, in training sets",
    )
    args = ap.parse_args()
    if (args.train is None) != (args.test is None):
        ap.error("--train and --test go together")
    torch.set_num_threads(1)
    ds = data.load("classify", args.train, args.test)
    runs = {
        "dense fp32": lambda s: dense_run(ds, args, s),
        "TT fp32": lambda s: tt_run(ds, args, s, 0.0),
        **{
            f"TT fp32, adaptive ranks (threshold {t:g})": (lambda s, t=t: tt_run(ds, args, s, t))
            for t in args.thresholds
        },
        "TT low precision (golden step)": lambda s: golden_run(ds, args, s),
        f"TT low precision, adaptive ranks (prune shift {args.prune_shift}, prior N x {args.prior_scale})": (
            lambda s: golden_run(ds, args, s, adaptive=True)
        ),
        **{
            f"TT low precision, gradients held in Q{fmt} (golden step)": (
                lambda s, fmt=fmt: golden_run(ds, args, s, grad_store=QFormat(*map(int, fmt.split("."))))
            )
            for fmt in args.grad_store
        },
        # other structures near the TT parameter counts (ADMM, docs/compare.md)
        **{
            f"block-circulant k={k} (ADMM)": (lambda s, k=k: structured_run(ds, args, s, block_size=k))
            for k in args.blocks
        },
        **{
            f"CSB 8x8, prune rate {rate:g} (ADMM)": (
                lambda s, rate=rate: structured_run(
                    ds, args, s, structure="csb", csb_block=8, prune_rate=rate
                )
            )
            for rate in args.csb_rates
        },
    }
    if args.rows:
        runs = {name: fn for name, fn in runs.items() if any(word in name for word in args.rows)}
        if not runs:
            ap.error(f"--rows {args.rows} matches no row")
    results: dict[str, list[dict]] = {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    previous = json.loads((out / "results.json").read_text())["results"] if args.only else {}
    for name, fn in runs.items():
        if args.only and not any(word in name for word in args.only):
            if name in previous:  # a row added since the last full run is left out until it is run
                results[name] = previous[name]
            continue
        results[name] = []
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            r = fn(seed)
            r["seed"], r["seconds"] = seed, time.perf_counter() - t0
            results[name].append(r)
            print(
                f"{name:42s} seed {seed}: test {r['test_accuracy']:6.2f}%  ({r['seconds']:.0f} s)", flush=True
            )
        # kept as it grows, so that a failure further on loses no finished run
        atomic.write_json(out / "partial.json", {"args": vars(args), "results": results}, force=True)
    lines = [
        f"{args.name}, {args.cell.upper()} hidden {args.hidden}, {args.epochs} epochs, batch {args.batch}, seeds 0..{args.seeds - 1}; "
        f"TT {args.cores} cores, rank {args.rank}",
        "",
        "| model | test accuracy % (mean, per seed) | weight-matrix entries |",
        "|---|---|---|",
    ]
    for name, rs in results.items():
        accs = [r["test_accuracy"] for r in rs]
        weights = sorted({r["weights"] for r in rs})
        lines.append(
            f"| {name} | {statistics.mean(accs):.2f} ({', '.join(f'{a:.2f}' for a in accs)}) | "
            f"{', '.join(str(w) for w in weights)} |"
        )
    lines += [
        "",
        "Training curves, train accuracy % per epoch (mean over seeds; float runs: measured during the epoch, "
        "golden: the integer model's outputs during each step)",
        "",
    ]
    names = list(results)
    lines += ["| epoch | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for e in range(args.epochs):
        cells = [f"{statistics.mean(r['curve'][e]['train_acc'] for r in results[n]):.1f}" for n in names]
        lines.append(f"| {e + 1} | " + " | ".join(cells) + " |")
    for adaptive in (n for n in names if "adaptive" in n):  # float and golden runs record "weights"
        lines += ["", f"Rank trajectory of {adaptive}: weight-matrix entries after each epoch, per seed", ""]
        for r in results[adaptive]:
            lines.append(f"- seed {r['seed']}: " + ", ".join(str(c["weights"]) for c in r["curve"]))
            lines.append(f"  final ranks (r_0, r_1, r_2 per gate) {r['ranks']}")
    lines += ["", "(golden runs: x_core is W_x, h_core W_h; float runs: weight_ih_l0, weight_hh_l0)"]
    golden = results.get("TT low precision (golden step)")
    if golden:
        lines += ["", f"Golden training speed: {statistics.mean(r['steps_per_second'] for r in golden):.2f} "
                  f"steps/s (batch {args.batch}, one thread, recomputing the forward in the backward pass)"]  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    atomic.write_json(out / "results.json", {"args": vars(args), "results": results}, force=True)
    atomic.write_text(out / "results.md", text, force=True)
    (out / "partial.json").unlink()
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}")


if __name__ == "__main__":
    main()
