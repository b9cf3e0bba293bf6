"""What quantization-aware fine-tuning recovers: post-training quantization (PTQ) vs QAT, per data-path width.

For each cell: train (or reuse) a run with ``ernn train``, export it at every width (``--bits``) and score the
float model and the golden model on the whole test split (``ernn.sim.inference.evaluate``). At every width
where PTQ loses more than ``--threshold`` points, run ``ernn train`` once more with the same options plus
``--qat-bits B --qat-epochs E`` (the same seed: the normal schedule repeats exactly, then QAT fine-tunes),
export that run at B bits and score it. Also measured, on the test split: the largest distance of the QAT
forward pass (``ernn.train.qat.quantized_forward``) and of the float model from the golden model's outputs.

Writes ``<out>/qat_results<suffix>.json`` and a Markdown table ``<out>/qat_results<suffix>.md``.

    .venv/bin/python bench/qat_results.py --out docs/results                      # JapaneseVowels
    .venv/bin/python bench/qat_results.py --train T.npz --test V.npz --suffix _mine --out build/results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ernn import cli, data
from ernn.export import writer as export
from ernn.files import atomic
from ernn.sim import inference
from ernn.train import qat
from ernn.train import run_directory as runs


def _train(run: Path, options: list[str]) -> dict[str, Any]:
    rc = cli.main(["train", "--out", str(run), *options, "--reuse", "--quiet"])
    if rc != 0:
        raise SystemExit(f"ernn train of {run} failed (exit {rc}); see the message above")
    return json.loads((run / "metrics.json").read_text())


def _score(run: Path, model_dir: Path, bits: int, ds: data.Dataset) -> dict[str, Any]:
    export.export(run, model_dir, data_bits=bits, force=True)
    exported = export.ExportedModel(model_dir)
    report = inference.evaluate(exported, ds.test)
    model, _ = runs.load_run(run)
    x = ds.normalise(ds.test.x)
    distance = qat.golden_distance(model.rnn, x, ds.test.lengths, bits, input_shift=exported.input_shift)
    return {
        "float_accuracy": report["float_accuracy"],
        "golden_accuracy": report["golden_accuracy"],
        "input_shift": exported.input_shift,
        "saturations": int(sum(report["saturations"].values())),
        **distance,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", help="training split .npz (default: the embedded JapaneseVowels)")
    ap.add_argument("--test", help="test split .npz")
    ap.add_argument("--suffix", default="", help="appended to the output file names (e.g. _fsdd)")
    ap.add_argument("--out", default="build/results")
    ap.add_argument("--runs", default="build/runs/qat", help="where the runs and models are kept (reused)")
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--bits", nargs="+", type=int, default=[8, 10, 12, 16])
    ap.add_argument("--hidden-size", type=int, default=32)
    ap.add_argument("--block-size", type=int, default=8)
    ap.add_argument("--mode", default="admm")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--qat-epochs", type=int, default=10)
    ap.add_argument("--threshold", type=float, default=0.5, help="PTQ loss (points) from which QAT runs")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if bool(args.train) != bool(args.test):
        ap.error("--train and --test go together")
    ds = data.load("classify", args.train, args.test)
    label = (
        Path(args.train).resolve().parent.name if args.train else ds.name
    )  # a folder says more than train.npz
    runs_dir = Path(args.runs)
    rows = []
    for cell in args.cells:
        options = [
            "--cell",
            cell,
            "--hidden-size",
            str(args.hidden_size),
            "--block-size",
            str(args.block_size),
        ]
        options += ["--mode", args.mode, "--epochs", str(args.epochs), "--seed", str(args.seed)]
        if args.train:
            options += ["--train", args.train, "--test", args.test]
        name = f"{ds.name}{args.suffix}_{cell}_h{args.hidden_size}_k{args.block_size}_e{args.epochs}_s{args.seed}"
        base = runs_dir / name
        base_metrics = _train(base, options)
        for bits in args.bits:
            ptq = _score(base, runs_dir / f"{name}_q{bits}", bits, ds)
            row: dict[str, Any] = {"cell": cell, "bits": bits, "ptq": ptq, "ptq_loss": 0.0, "qat": None}
            row["ptq_loss"] = ptq["float_accuracy"] - ptq["golden_accuracy"]
            line = (
                f"{cell} {bits:>2}-bit PTQ: float {ptq['float_accuracy']:.2f}  golden {ptq['golden_accuracy']:.2f}"
                f"  (QAT forward vs golden max {ptq['qat_vs_golden_max_abs']:.1e}, float vs golden max "
                f"{ptq['float_vs_golden_max_abs']:.2e})"
            )
            if row["ptq_loss"] > args.threshold:
                run = runs_dir / f"{name}_qat{bits}_e{args.qat_epochs}"
                qat_opts = ["--qat-bits", str(bits), "--qat-epochs", str(args.qat_epochs)]
                metrics = _train(run, [*options, *qat_opts])
                after = _score(run, runs_dir / f"{name}_qat{bits}_e{args.qat_epochs}_q{bits}", bits, ds)
                record = metrics["qat"]
                row["qat"] = {
                    **after,
                    "epochs": args.qat_epochs,
                    "seconds": record["seconds"],
                    "metrics": {k: v for k, v in record.items() if k != "seconds"},
                    # the normal schedule repeated exactly, and QAT's forward is the exported golden model
                    "same_base_model": _same(record["float_accuracy_before"], base_metrics["test_accuracy"]),
                    "forward_is_export": _same(record["quantized_accuracy_after"], after["golden_accuracy"])
                    and _same(record["quantized_accuracy_before"], ptq["golden_accuracy"]),
                }
                line += (
                    f"\n{cell} {bits:>2}-bit QAT ({args.qat_epochs} epochs): float {after['float_accuracy']:.2f}  "
                    f"golden {after['golden_accuracy']:.2f}"
                )
            rows.append(row)
            print(line, flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = " ".join([".venv/bin/python bench/qat_results.py", *sys.argv[1:]])
    result = {"data": label, "command": command, "rows": rows}
    atomic.write_json(out / f"qat_results{args.suffix}.json", result, force=True)
    table = _table(rows, label, command)
    atomic.write_text(out / f"qat_results{args.suffix}.md", table, force=True)
    print(table)


def _same(a: float, b: float) -> bool:
    """Equal accuracies (the trainer and the simulator compute the same percentage in other orders)."""
    return abs(a - b) < 1e-9


def _table(rows: list[dict[str, Any]], name: str, command: str) -> str:
    lines = [
        f"QAT vs post-training quantization on {name} ({len(rows)} rows; `{command}`). Accuracies in % on the "
        "whole test split; golden = the exported model in the bit-exact golden model.",
        "",
        "| cell | bits | float | golden (PTQ) | PTQ loss | float after QAT | golden after QAT | recovered | "
        "max abs QAT fwd - golden | max abs float - golden |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p, q = r["ptq"], r["qat"]
        qcols = (
            f"{q['float_accuracy']:.2f} | {q['golden_accuracy']:.2f} | "
            f"{q['golden_accuracy'] - p['golden_accuracy']:+.2f}"
            if q
            else "— | — | —"
        )
        lines.append(
            f"| {r['cell'].upper()} | {r['bits']} | {p['float_accuracy']:.2f} | {p['golden_accuracy']:.2f} | "
            f"{r['ptq_loss']:+.2f} | {qcols} | {p['qat_vs_golden_max_abs']:.1e} | "
            f"{p['float_vs_golden_max_abs']:.2e} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
