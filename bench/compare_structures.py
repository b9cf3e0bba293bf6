"""Structure vs pruning at matched compression (issue 15): block-circulant ADMM, CSB ADMM, unstructured
magnitude pruning (plain and ESE load-balanced), one cell, one epoch budget, several seeds.

The prune rates are not typed in: for every circulant block size k the script builds the model, reads its
compression ratio (stored weights / dense weights, :meth:`parameter_counts`) and trains CSB and sparse at
rate 1 - 1/ratio, so every row of a group stores (about) the same number of weights. Each finished run is
kept in ``<out>/runs/`` (config + metrics without the history), so an interrupted table resumes; the
results go to ``<out>/compare_<name>.json`` and ``.md``.

    .venv/bin/python bench/compare_structures.py --out docs/results/compare --workers 1
    # FSDD (take split, built by `ernn data fsdd`), LSTM and GRU, batches of similar lengths:
    .venv/bin/python bench/compare_structures.py --fsdd build/data/fsdd-take --cells lstm gru \
        --hidden-size 64 --epochs 15 --seeds 0 1 --blocks 8 16 --csb-blocks 16 --pes 0 \
        --bucket-by-length --workers 1 --out docs/results/compare
"""

from __future__ import annotations

import argparse
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tqdm import tqdm

# the same resumable run cache as the accuracy tables (bench/ is on sys.path when a script here runs)
from train_results import run_cached

from ernn import data
from ernn.files import atomic
from ernn.train import models
from ernn.train import trainer as train


def job_name(job: dict[str, Any]) -> str:
    s = job.get("structure", "circulant")
    if job["mode"] == "dense":
        what = "dense"
    elif s == "circulant":
        what = f"circulant-k{job['block_size']}"
    elif s == "csb":
        what = f"csb-b{job['csb_block']}-r{job['prune_rate']:.4f}"
    else:
        what = f"sparse-p{job['pes']}-r{job['prune_rate']:.4f}"
    bucket = "-bucketed" if job.get("bucket_by_length") else ""
    return f"{job['cell']}-{what}-h{job['hidden_size']}-e{job['epochs']}-s{job['seed']}{bucket}"


def circulant_rate(cell: str, features: int, hidden: int, k: int) -> float:
    """Fraction of the dense weights a circulant model of block k does not store."""
    counts = models.build(cell, input_size=features, hidden_size=hidden, block_size=k).parameter_counts()
    return 1.0 - counts["weights_stored"] / counts["weights_dense"]


def fmt(values: list[float]) -> str:
    if not values:
        return "—"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {std:.2f}"


def span(values: list[float]) -> str:
    lo, hi = f"{min(values):.2f}", f"{max(values):.2f}"
    return f"{lo}x" if lo == hi else f"{lo}-{hi}x"


def label(job: dict[str, Any]) -> str:
    s = job.get("structure", "circulant")
    if job["mode"] == "dense":
        return "dense"
    if s == "circulant":
        return f"block-circulant ADMM, k {job['block_size']}"
    if s == "csb":
        return f"CSB ADMM, block {job['csb_block']}"
    return "unstructured ADMM" + (f", balanced over {job['pes']} PEs" if job["pes"] else "")


def table(results: list[dict[str, Any]]) -> str:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in results:
        key = {k: v for k, v in r["config"].items() if k != "seed"}
        groups.setdefault(tuple(sorted(key.items())), []).append(r)
    lines = [
        "| group | structure | target rate | compression (weights) | with index, 16-bit | multiplies/step | "
        "test accuracy (%) | right after projection (%) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rows in groups.values():
        job, m = rows[0]["config"], rows[0]["metrics"]
        ratios = [r["metrics"]["compression_ratio"] for r in rows]
        with_index = [r["metrics"].get("storage", {}).get("compression_ratio_with_index") for r in rows]
        mult = m["multiplies_per_step"]
        mults = [
            r["metrics"]["multiplies_per_step"].get(
                "structured", r["metrics"]["multiplies_per_step"].get("fft")
            )
            for r in rows
        ]
        ratio_text = (
            f"{min(ratios):.2f}x" if min(ratios) == max(ratios) else f"{min(ratios):.2f}-{max(ratios):.2f}x"
        )
        index_text = "— (no index)" if with_index[0] is None else span(with_index)
        mult_text = f"{min(mults)}" if min(mults) == max(mults) else f"{min(mults)}-{max(mults)}"
        if "fft" in mult and job["mode"] != "dense":
            mult_text += " (FFT domain)"
        rate = "—" if job.get("structure", "circulant") == "circulant" else f"{job['prune_rate']:.4f}"
        lines.append(
            f"| {job.get('group', '')} | {label(job)} | {rate} | {ratio_text} | {index_text} | {mult_text} of "
            f"{mult['dense']} | {fmt([r['metrics']['test_accuracy'] for r in rows])} | "
            f"{fmt([r['metrics'].get('accuracy_after_projection') for r in rows if 'accuracy_after_projection' in r['metrics']])} |"
        )
    return "\n".join(lines) + "\n"


def data_files(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(train, test) split files as absolute paths: ``--fsdd DIR`` (a folder ``ernn data fsdd`` wrote), or
    ``--train``/``--test``, or neither (JapaneseVowels)."""
    if args.fsdd:
        if args.train_file or args.test_file:
            raise SystemExit("error: --fsdd names both splits; leave out --train/--test")
        folder = Path(args.fsdd)
        missing = [n for n in ("train.npz", "test.npz") if not (folder / n).is_file()]
        if missing:
            raise SystemExit(
                f"error: {folder} has no {' or '.join(missing)}; build the take split first: "
                f"ernn data fsdd --root ../shared/data/fsdd/recordings --out {folder}"
            )
        return str((folder / "train.npz").resolve()), str((folder / "test.npz").resolve())
    return (
        str(Path(args.train_file).resolve()) if args.train_file else None,
        str(Path(args.test_file).resolve()) if args.test_file else None,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/compare")
    ap.add_argument(
        "--name", help="file name suffix: compare_<name>.json/.md (default jv, or fsdd with --fsdd)"
    )
    ap.add_argument("--cells", "--cell", nargs="+", default=["lstm"], help="cells, one table group each")
    ap.add_argument("--hidden-size", type=int, default=train.TrainConfig.hidden_size)
    ap.add_argument("--epochs", type=int, default=train.TrainConfig.epochs)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--blocks", nargs="+", type=int, default=[4, 8, 16], help="circulant block sizes")
    ap.add_argument("--csb-blocks", nargs="+", type=int, default=[16, 8], help="CSB block sizes")
    ap.add_argument("--pes", nargs="+", type=int, default=[0, 8], help="sparse: 0 = plain, N = balanced")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--train", dest="train_file", help="training split .npz (default: JapaneseVowels)")
    ap.add_argument("--test", dest="test_file", help="test split .npz")
    ap.add_argument(
        "--fsdd", metavar="DIR", help="FSDD split folder from `ernn data fsdd` (train.npz, test.npz)"
    )
    ap.add_argument(
        "--bucket-by-length", action="store_true", help="batches of similar lengths (every run alike)"
    )
    args = ap.parse_args()
    train_file, test_file = data_files(args)
    name = args.name or ("fsdd" if args.fsdd else "jv")
    ds = data.load("classify", train_file, test_file)
    data_name = f"FSDD ({Path(args.fsdd).name})" if args.fsdd else ds.name
    jobs = []
    for cell in args.cells:
        jobs += cell_jobs(args, cell, ds.num_features, train_file, test_file, tag=len(args.cells) > 1)
    jobs.sort(
        key=lambda j: j["seed"]
    )  # every configuration's first seed first: a cut-short table has them all
    out = Path(args.out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    items = []
    for job in jobs:
        cfg_job = {k: v for k, v in job.items() if k != "group"}
        items.append((cfg_job, str(out / "runs" / f"{job_name(cfg_job)}.json")))
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(tqdm(pool.map(run_cached, items), total=len(items), desc="training runs"))
    for job, r in zip(jobs, results, strict=True):
        r["config"]["group"] = job["group"]
    atomic.write_json(out / f"compare_{name}.json", results, force=True)
    header = (
        f"Test accuracy on {results[0]['metrics']['test_sequences']} {data_name} test sequences, mean ± std "
        f"(sample) over seeds {args.seeds}; {'/'.join(c.upper() for c in args.cells)}, hidden "
        f"{args.hidden_size}, {args.epochs} epochs for every row (ADMM: 0.6 of them in ADMM, then "
        f"fine-tuning){', batches of similar lengths' if args.bucket_by_length else ''}. Compression counts "
        "stored weights (dense / stored); 'with index' adds the pruning formats' index bits at 16-bit "
        "weights. Multiplies: real multiplies per time step in the weight matrices.\n\n"
    )
    md = header + table(results)
    atomic.write_text(out / f"compare_{name}.md", md, force=True)
    print(md)


def cell_jobs(
    args: argparse.Namespace,
    cell: str,
    features: int,
    train_file: str | None,
    test_file: str | None,
    tag: bool,
) -> list[dict[str, Any]]:
    """One cell's runs: dense, then per circulant k the circulant run and CSB / sparse at its rate.
    ``tag`` prefixes the groups with the cell (several cells in one table)."""
    base = dict(
        cell=cell,
        hidden_size=args.hidden_size,
        epochs=args.epochs,
        threads=1,
        train_file=train_file,
        test_file=test_file,
    )
    if args.bucket_by_length:
        base["bucket_by_length"] = True
    prefix = f"{cell.upper()} " if tag else ""
    jobs = [dict(base, mode="dense", block_size=1, seed=s, group=f"{prefix}dense") for s in args.seeds]
    for k in args.blocks:
        rate = round(circulant_rate(cell, features, args.hidden_size, k), 6)
        group = f"{prefix}k {k} ({1 / (1 - rate):.2f}x)"
        for seed in args.seeds:
            jobs.append(dict(base, mode="admm", block_size=k, seed=seed, group=group))
            for m in args.csb_blocks:
                jobs.append(
                    dict(
                        base,
                        mode="admm",
                        structure="csb",
                        csb_block=m,
                        prune_rate=rate,
                        seed=seed,
                        group=group,
                    )
                )
            for pes in args.pes:
                jobs.append(
                    dict(
                        base,
                        mode="admm",
                        structure="sparse",
                        pes=pes,
                        prune_rate=rate,
                        seed=seed,
                        group=group,
                    )
                )
    return jobs


if __name__ == "__main__":
    main()
