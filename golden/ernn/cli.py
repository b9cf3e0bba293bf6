"""Command-line interface: ``ernn train | ...`` (one sub-command per stage of the flow)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from . import data, train


def _add_train(sub: argparse._SubParsersAction) -> None:
    d = train.TrainConfig()
    p = sub.add_parser(
        "train",
        help="train a block-circulant LSTM/GRU (dense, direct or ADMM)",
        description="Train a block-circulant LSTM/GRU and write checkpoint.pt, config.json and metrics.json to --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", required=True, help="run directory to write")
    p.add_argument("--cell", default=d.cell, help="lstm or gru")
    p.add_argument("--hidden-size", type=int, default=d.hidden_size)
    p.add_argument("--num-layers", type=int, default=d.num_layers)
    p.add_argument("--proj-size", type=int, default=d.proj_size, help="LSTM projection size (0 = none)")
    p.add_argument("--peephole", action="store_true", help="LSTM peephole connections")
    p.add_argument(
        "--block-size",
        type=int,
        default=None,
        help=f"circulant block size k, a power of two (default {d.block_size}; 1 for --mode dense)",
    )
    p.add_argument("--mode", default=d.mode, help="dense, direct or admm")
    p.add_argument(
        "--task", default=d.task, help="classify (one label per sequence) or frames (one per frame)"
    )
    p.add_argument("--epochs", type=int, default=d.epochs, help="total epoch budget (ADMM + fine-tuning)")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--rho-start", type=float, default=d.rho_start, help="ADMM penalty at the first epoch")
    p.add_argument("--rho-end", type=float, default=d.rho_end, help="ADMM penalty at the last ADMM epoch")
    p.add_argument(
        "--admm-fraction", type=float, default=d.admm_fraction, help="share of epochs spent in ADMM"
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument(
        "--train", dest="train_file", help="training split .npz (x, lengths, y); default JapaneseVowels"
    )
    p.add_argument("--test", dest="test_file", help="test split .npz (x, lengths, y)")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--reuse", action="store_true", help="keep an existing run with the same configuration"
    )
    group.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    fields = set(asdict(train.TrainConfig()))
    cfg = train.TrainConfig(**{k: v for k, v in vars(args).items() if k in fields and v is not None})
    if args.block_size is None and args.mode == "dense":
        cfg.block_size = 1
    cfg.validate()
    out = Path(args.out)
    existing = out / "config.json"
    if existing.exists():
        try:
            previous = json.loads(existing.read_text())["train"]
        except (ValueError, KeyError) as exc:
            raise SystemExit(
                f"error: {existing} is not a config written by 'ernn train' ({exc}); use --force"
            ) from exc
        if args.reuse and previous == asdict(cfg) and (out / "checkpoint.pt").exists():
            print(f"reusing the trained model in {out} (same configuration)")
            _print_metrics(out)
            return 0
        if not args.force:
            why = "holds a run with a different configuration" if args.reuse else "already holds a run"
            raise SystemExit(f"error: {out} {why}; pass --force to overwrite it or choose another --out")
    ds = data.load(cfg.task, cfg.train_file, cfg.test_file)
    print(
        f"training {cfg.cell.upper()} hidden={cfg.hidden_size} layers={cfg.num_layers} k={cfg.block_size} "
        f"mode={cfg.mode} on {ds.name} ({len(ds.train)} train / {len(ds.test)} test sequences)"
    )
    model, metrics = train.train(cfg, ds, quiet=args.quiet)
    train.save_run(out, cfg, ds, model, metrics)
    _print_metrics(out)
    return 0


def _print_metrics(out: Path) -> None:
    m = json.loads((out / "metrics.json").read_text())
    mult = m["multiplies_per_step"]
    line = (
        f"test accuracy {m['test_accuracy']:.2f}% on {m['test_sequences']} sequences, "
        f"compression {m['compression_ratio']:.2f}x, multiplies/step dense {mult['dense']} vs FFT {mult['fft']}"
    )
    if "accuracy_after_projection" in m:
        line += f", right after ADMM projection {m['accuracy_after_projection']:.2f}%"
    print(line)
    print(f"run directory: {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ernn", description="E-RNN toolkit: block-circulant RNNs on FPGAs")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
