"""A TT-MLP on scikit-learn's digits: the integer golden training step against its float reference.

The kind of model the seed paper trains on its FPGA (a small tensorized network on an image set): one
TT linear layer 64 -> 10 (``--cores`` cores of rank ``--rank``; 10 outputs padded to 12 = 3 x 4) with a
squared-error loss on one-hot targets, SGD on batches of ``--batch`` at learning rate 2**-lr_shift:

* **TT low precision** -- golden/tt_train.py's ``mlp_step`` (formats of docs/numerics.md section 16,
  stochastic rounding);
* **TT float** -- ``float_mlp_step``, the same algorithm in float64 from the same (dequantized) start;
* **dense float** -- the same loss and SGD on a dense 64 x 10 matrix (a one-core TT).

Pixels 0..16 are scaled to [0, 1] and rounded to Q8.5; a fixed third of the 1,797 images is the test set.
Prints per-epoch test accuracy of each and writes JSON.

    .venv/bin/python bench/bench_tt_digits.py --out build/bench/tt_digits.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from ernn.files import atomic
from ernn.golden import tt_train as g
from ernn.golden.ops import quantize
from ernn.golden.tt_formats import TTTrainFormats
from ernn.shape.structures import TensorTrain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/bench/tt_digits.json")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--lr-shift", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    digits = load_digits()
    rng = np.random.default_rng(12345)
    order = rng.permutation(len(digits.target))
    test, train = order[: len(order) // 3], order[len(order) // 3 :]
    fmts = TTTrainFormats(lr_shift=args.lr_shift, seed=args.seed + 1)
    x_all = quantize(digits.data / 16.0, fmts.x)
    labels = digits.target
    lr = 2.0**-args.lr_shift
    models = {"tt": TensorTrain(args.cores, args.rank), "dense": None}
    states = {}
    floats = {}
    for name, params in models.items():
        shape = g.TTShape.of(10, 64, 1, params)
        states[name] = g.random_state({"w": shape}, fmts, args.seed)
        floats[name] = g.dequantized(states[name], fmts)
    curves: dict[str, list[float]] = {"TT low precision": [], "TT float": [], "dense float": []}
    order_rng = np.random.default_rng(args.seed)

    def accuracy(y: np.ndarray) -> float:
        return 100.0 * float((y.argmax(axis=1) == labels[test]).mean())

    for _ in range(args.epochs):
        perm = order_rng.permutation(train)
        for start in range(0, len(perm), args.batch):
            idx = perm[start : start + args.batch]
            states["tt"], _ = g.mlp_step(states["tt"], x_all[idx], labels[idx], fmts)
            x = x_all[idx] / 2.0**fmts.x.frac
            for name in ("tt", "dense"):
                floats[name], _, _ = g.float_mlp_step(
                    floats[name], states[name].shapes["w"], x, labels[idx], lr
                )
        xt = x_all[test] / 2.0**fmts.x.frac
        curves["TT low precision"].append(accuracy(g.mlp_predict(states["tt"], x_all[test], fmts)))
        for name, key in (("tt", "TT float"), ("dense", "dense float")):
            shape = states[name].shapes["w"]
            cores = [floats[name][f"w{k}"] for k in range(shape.cores)]
            y, _ = g.tt_forward(cores, xt, shape, None, None)
            curves[key].append(accuracy(y + floats[name]["b"]))
    print(
        f"digits, TT-MLP 64 -> 10 ({args.cores} cores, rank {args.rank}), {args.epochs} epochs, lr 2^-{args.lr_shift}"
    )
    print("epoch " + " ".join(f"{k:>18s}" for k in curves))
    for e in range(args.epochs):
        print(f"{e + 1:5d} " + " ".join(f"{curves[k][e]:18.2f}" for k in curves))
    tt_shape = states["tt"].shapes["w"]
    weights = {"tt": sum(np.prod(tt_shape.core_shape(k)) for k in range(tt_shape.cores)), "dense": 640}
    print(f"weights: TT {weights['tt']} entries, dense {weights['dense']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(
        out, {"args": vars(args), "test_accuracy": curves, "weights": {k: int(v) for k, v in weights.items()}},
        force=True,
    )  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
