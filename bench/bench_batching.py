"""Training time with random batches vs batches of similar lengths (``ernn train --bucket-by-length``).

Trains the same model for the same epochs both ways, alternating, one torch thread, and reports the
frames actually computed (padding included) per real frame and the seconds per epoch, with their ratio.
Writes ``<out>/batching.json``.

    .venv/bin/python bench/bench_batching.py --train build/data/fsdd-take/train.npz \
        --test build/data/fsdd-take/test.npz --mode direct --block-size 8 --epochs 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from ernn import data
from ernn.files import atomic
from ernn.train import trainer as train


def computed_frames(lengths: np.ndarray, batch_size: int, bucket: bool, epochs: int) -> int:
    """Frames the recurrent loop runs over in ``epochs`` (each batch runs to its longest sequence)."""
    rng = np.random.default_rng(0)
    return sum(
        int(lengths[b].max()) * len(b)
        for _ in range(epochs)
        for b in train.batch_order(lengths, batch_size, rng, bucket)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", dest="train_file", required=True)
    ap.add_argument("--test", dest="test_file", required=True)
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--mode", default="direct")
    ap.add_argument("--block-size", type=int, default=8)
    ap.add_argument("--hidden-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2, help="alternating timings of each way")
    ap.add_argument("--out", default="build/bench")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = data.load("classify", args.train_file, args.test_file)
    lengths = ds.train.lengths
    result: dict = {
        "train_file": str(Path(args.train_file).resolve()),
        "sequences": len(lengths),
        "frames": int(lengths.sum()),
        "model": {k: getattr(args, k) for k in ("cell", "mode", "block_size", "hidden_size", "epochs")},
    }
    seconds: dict[str, list[float]] = {"random": [], "bucketed": []}
    for _ in range(args.repeats):
        for way in seconds:
            cfg = train.TrainConfig(
                cell=args.cell,
                mode=args.mode,
                block_size=1 if args.mode == "dense" else args.block_size,
                hidden_size=args.hidden_size,
                epochs=args.epochs,
                bucket_by_length=way == "bucketed",
                train_file=args.train_file,
                test_file=args.test_file,
            ).validate()
            t0 = time.perf_counter()
            train.train(cfg, ds, quiet=True)
            seconds[way].append(time.perf_counter() - t0)
    for way, times in seconds.items():
        frames = computed_frames(lengths, train.TrainConfig.batch_size, way == "bucketed", args.epochs)
        result[way] = {
            "seconds": times,
            "seconds_per_epoch": min(times) / args.epochs,
            "computed_frames_per_real_frame": frames / (int(lengths.sum()) * args.epochs),
        }
        print(
            f"{way:>8}: {result[way]['seconds_per_epoch']:.2f} s/epoch (best of {len(times)}), "
            f"{result[way]['computed_frames_per_real_frame']:.3f} computed frames per real frame"
        )
    result["speedup"] = result["random"]["seconds_per_epoch"] / result["bucketed"]["seconds_per_epoch"]
    print(
        f"bucketed batches: {result['speedup']:.2f}x faster per epoch (same model, same epochs, one thread)"
    )
    atomic.write_json(Path(args.out) / "batching.json", result, force=True)


if __name__ == "__main__":
    main()
