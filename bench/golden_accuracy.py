"""Golden model vs float accuracy at several data-path widths (default: JapaneseVowels test set, block 8).

Trains (or reuses) an ADMM LSTM and GRU, exports each at every width and scores the float model and the
golden model on all test sequences; the table shows the input shift export chose and how many input
values it still clips (``ernn.export.input_shift``) next to the saturation counts. Writes
``<out>/golden_accuracy.json`` and a Markdown table ``<out>/golden_accuracy.md``.

    .venv/bin/python bench/golden_accuracy.py --out docs/results
    .venv/bin/python bench/golden_accuracy.py --train D/train.npz --test D/test.npz --hidden-size 64 \
        --epochs 30 --runs build/runs/fsdd --out docs/results/fsdd_golden
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ernn import cli, data
from ernn.export import writer as export
from ernn.files import atomic
from ernn.sim import inference


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/results")
    ap.add_argument("--runs", default="build/runs", help="where the trained runs are kept (reused)")
    ap.add_argument("--bits", nargs="+", type=int, default=[8, 10, 12, 16])
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--block-size", type=int, default=8)
    ap.add_argument("--train", dest="train_file", help="training split .npz (default: JapaneseVowels)")
    ap.add_argument("--test", dest="test_file", help="test split .npz")
    ap.add_argument("--hidden-size", type=int, help="(default: ernn train's)")
    ap.add_argument("--epochs", type=int, help="(default: ernn train's)")
    args = ap.parse_args()
    ds = data.load("classify", args.train_file, args.test_file)
    extra = []
    if args.train_file:
        extra += ["--train", args.train_file, "--test", args.test_file]
    for flag, value in (("--hidden-size", args.hidden_size), ("--epochs", args.epochs)):
        if value is not None:
            extra += [flag, str(value)]
    rows = []
    for cell in args.cells:
        run = Path(args.runs) / f"{cell}_k{args.block_size}"
        rc = cli.main(
            [
                "train",
                "--out",
                str(run),
                "--cell",
                cell,
                "--block-size",
                str(args.block_size),
                "--reuse",
                "--quiet",
                *extra,
            ]
        )
        if rc != 0:
            raise SystemExit(f"ernn train of {run} failed (exit {rc}); see the message above")
        for bits in args.bits:
            model_dir = Path(args.runs) / f"{cell}_k{args.block_size}_q{bits}"
            export.export(run, model_dir, data_bits=bits, force=True, dataset=ds)
            model = export.ExportedModel(model_dir)
            report = inference.evaluate(model, ds.test)
            clip = model.config["data"]["input_clipping"]
            rows.append({"cell": cell, "block_size": args.block_size, "bits": bits, **report,
                         "input_shift": model.input_shift, "input_clipping": clip})  # fmt: skip
            print(
                f"{cell} {bits:>2}-bit: float {report['float_accuracy']:.2f}  golden {report['golden_accuracy']:.2f}  "
                f"max err {report['output_max_abs_error']:.2e}  rms {report['output_rms_error']:.2e}"
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out / "golden_accuracy.json", rows, force=True)
    lines = [
        "| cell | data bits | float acc. (%) | golden acc. (%) | loss (points) | max abs error | RMS error | "
        "saturations | input shift | input values clipped (test) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sat = sum(r["saturations"].values())
        lines.append(
            f"| {r['cell'].upper()} | {r['bits']} | {r['float_accuracy']:.2f} | {r['golden_accuracy']:.2f} | "
            f"{r['float_accuracy'] - r['golden_accuracy']:+.2f} | {r['output_max_abs_error']:.2e} | "
            f"{r['output_rms_error']:.2e} | {sat} | {r['input_shift']} | "
            f"{r['input_clipping']['test']['clipped']} of {r['input_clipping']['test']['values']} |"
        )
    atomic.write_text(out / "golden_accuracy.md", "\n".join(lines) + "\n", force=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
