"""Accuracy vs block size table: LSTM and GRU, modes dense/direct/admm, several seeds, one epoch budget.

Writes every run's metrics to ``<out>/train_results.json`` and a Markdown table (mean ± std over seeds) to
``<out>/train_results.md``. Runs in parallel worker processes, one torch thread each; every finished run
is kept in ``<out>/runs/`` so that an interrupted table resumes where it stopped.

    .venv/bin/python bench/train_results.py --out docs/results            # the table in the README
    .venv/bin/python bench/train_results.py --train D/train.npz --test D/test.npz --name FSDD \
        --blocks 1 4 8 16 32 --hidden-size 64 --epochs 30 --seeds 0 --out docs/results/fsdd_take
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from ernn import data
from ernn.files import atomic
from ernn.train import trainer as train


def run_one(job: dict) -> dict:
    cfg = train.TrainConfig(**job)
    _, metrics = train.train(cfg, data.load(cfg.task, cfg.train_file, cfg.test_file), quiet=True)
    metrics.pop("history")
    return {"config": job, "metrics": metrics}


def job_name(job: dict, folds: bool = False) -> str:
    fold = f"-{Path(job['train_file']).parent.name}" if folds else ""
    bucket = "-bucketed" if job.get("bucket_by_length") else ""
    return (
        f"{job['cell']}-k{job['block_size']}-{job['mode']}-h{job['hidden_size']}-e{job['epochs']}-s{job['seed']}"
        f"{bucket}{fold}"
    )


def run_cached(item: tuple[dict, str]) -> dict:
    """One run, or its stored result (``item``: job, cache file) if an earlier, interrupted table already
    finished it."""
    job, cache = item
    path = Path(cache)
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored["config"] == job:
            return stored
    result = run_one(job)
    atomic.write_json(path, result, force=True)
    return result


def fmt(values: list[float]) -> str:
    if not values:
        return "—"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {std:.2f}"


def table(results: list[dict], blocks: list[int], cells: list[str]) -> str:
    lines = [
        "| cell | block | compression | dense | direct | ADMM | ADMM right after projection |",
        "|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        for k in blocks:
            rows = [r for r in results if r["config"]["cell"] == cell and r["config"]["block_size"] == k]

            def acc(mode: str, key: str = "test_accuracy", rows=rows) -> list[float]:
                return [r["metrics"][key] for r in rows if r["config"]["mode"] == mode]

            ratio = rows[0]["metrics"]["compression_ratio"] if rows else float("nan")
            lines.append(
                f"| {cell.upper()} | {k} | {ratio:.2f}x | {fmt(acc('dense'))} | {fmt(acc('direct'))} | "
                f"{fmt(acc('admm'))} | {fmt(acc('admm', 'accuracy_after_projection'))} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/results")
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--blocks", nargs="+", type=int, default=[1, 4, 8, 16])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--hidden-size", type=int, default=train.TrainConfig.hidden_size)
    ap.add_argument("--epochs", type=int, default=train.TrainConfig.epochs)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--train", dest="train_file", help="training split .npz (default: JapaneseVowels)")
    ap.add_argument("--test", dest="test_file", help="test split .npz")
    ap.add_argument("--name", default="JapaneseVowels", help="the data set's name in the table's header")
    ap.add_argument(
        "--folds",
        nargs="+",
        help="data set folders (each with train.npz and test.npz), e.g. the 5 speaker folds; the table "
        "pools every fold and seed (instead of --train/--test)",
    )
    ap.add_argument("--modes", nargs="+", default=["direct", "admm"], help="modes at block > 1")
    ap.add_argument(
        "--bucket-by-length",
        action="store_true",
        help="train on batches of similar lengths (ernn train --bucket-by-length), every mode alike",
    )
    args = ap.parse_args()
    splits = (
        [(str(Path(f, "train.npz").resolve()), str(Path(f, "test.npz").resolve())) for f in args.folds]
        if args.folds
        else [(
            str(Path(args.train_file).resolve()) if args.train_file else None,
            str(Path(args.test_file).resolve()) if args.test_file else None,
        )]
    )  # fmt: skip
    jobs = []
    for cell, k, seed, (train_file, test_file) in itertools.product(
        args.cells, args.blocks, args.seeds, splits
    ):
        modes = ["dense"] if k == 1 else args.modes
        for mode in modes:
            jobs.append(
                dict(
                    cell=cell,
                    block_size=k,
                    mode=mode,
                    seed=seed,
                    hidden_size=args.hidden_size,
                    epochs=args.epochs,
                    threads=1,
                    train_file=train_file,
                    test_file=test_file,
                    # only when set: the stored runs of tables made before the option keep their names
                    **({"bucket_by_length": True} if args.bucket_by_length else {}),
                )
            )
    out = Path(args.out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    items = [(job, str(out / "runs" / f"{job_name(job, bool(args.folds))}.json")) for job in jobs]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(tqdm(pool.map(run_cached, items), total=len(jobs), desc="training runs"))
    atomic.write_json(out / "train_results.json", results, force=True)
    md = table(results, args.blocks, args.cells)
    over = f"seeds {args.seeds}" + (f" x {len(splits)} folds" if args.folds else "")
    header = (
        f"Test accuracy (%) on {results[0]['metrics']['test_sequences']} {args.name} test sequences"
        f"{' per fold' if args.folds else ''}, mean ± std over {over}, hidden {args.hidden_size}, "
        f"{args.epochs} epochs for every mode"
        f"{', batches of similar lengths (--bucket-by-length)' if args.bucket_by_length else ''}.\n\n"
    )
    atomic.write_text(out / "train_results.md", header + md, force=True)
    print(header + md)


if __name__ == "__main__":
    main()
