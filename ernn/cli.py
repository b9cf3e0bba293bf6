"""Command-line interface: ``ernn train | ...`` (one sub-command per stage of the flow)."""

from __future__ import annotations

import argparse
import errno
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ernn import data
from ernn.train import run_directory as runs
from ernn.train import trainer as train


def _add_train(sub: argparse._SubParsersAction) -> None:
    d = train.TrainConfig()
    p = sub.add_parser(
        "train",
        help="train a block-circulant (or CSB, or pruned) LSTM/GRU (dense, direct or ADMM)",
        description="Train a block-circulant LSTM/GRU (or, with --structure, a CSB-pruned or magnitude-pruned "
        "one) and write checkpoint.pt, config.json and metrics.json to --out.",
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
    st = p.add_argument_group("structure (docs/compare.md)")
    st.add_argument(
        "--structure",
        default=d.structure,
        help="circulant (--block-size), csb (CSB-RNN blocks: --csb-block, --prune-rate), sparse "
        "(magnitude pruning: --prune-rate, --pes) or tt (tensor train: --tt-cores, --tt-rank, --tt-rank-threshold); "
        "csb and sparse train with --mode admm, tt with --mode direct",
    )
    st.add_argument(
        "--prune-rate",
        type=float,
        default=argparse.SUPPRESS,
        help=f"csb/sparse: fraction of weights pruned, in (0, 1) (default {d.prune_rate})",
    )
    st.add_argument(
        "--csb-block",
        type=int,
        default=argparse.SUPPRESS,
        help=f"csb: square block size, dividing --hidden-size (default {d.csb_block})",
    )
    st.add_argument(
        "--pes",
        type=int,
        default=argparse.SUPPRESS,
        help=f"sparse: balance the kept weights over this many PEs, ESE's load-balance-aware pruning (default {d.pes}: none)",
    )
    st.add_argument(
        "--tt-cores",
        type=int,
        default=argparse.SUPPRESS,
        help="tt: cores per matrix, each side split into this many modes (default 2; docs/tensor_train.md)",
    )
    st.add_argument("--tt-rank", type=int, default=argparse.SUPPRESS, help="tt: TT rank (default 8)")
    st.add_argument(
        "--tt-rank-threshold",
        type=float,
        default=argparse.SUPPRESS,
        help="tt: rank adaptation, prune rank slices whose prior variance is below this fraction of their "
        "boundary's largest (default 0: fixed ranks)",
    )
    st.add_argument(
        "--search",
        action="store_true",
        help="csb/sparse: choose the prune rate by progressive search against a dense baseline on a held-out "
        "part of the training split, then train at that rate",
    )
    st.add_argument(
        "--search-step",
        type=float,
        default=argparse.SUPPRESS,
        help=f"first step of the search's rate (default {d.search_step})",
    )
    st.add_argument(
        "--search-min-step",
        type=float,
        default=argparse.SUPPRESS,
        help=f"the search stops below this step (default {d.search_min_step})",
    )
    st.add_argument(
        "--search-tolerance",
        type=float,
        default=argparse.SUPPRESS,
        help=f"accuracy points below the dense baseline a rate may lose (default {d.search_tolerance})",
    )
    st.add_argument(
        "--search-holdout",
        type=float,
        default=argparse.SUPPRESS,
        help=f"fraction of the training split held out for the search (default {d.search_holdout})",
    )
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
        "--qat-bits",
        type=int,
        default=d.qat_bits,
        help="then fine-tune through the golden model's formats at this data-path width, 6..16 (0 = off; "
        "docs/training.md)",
    )
    p.add_argument("--qat-epochs", type=int, default=d.qat_epochs, help="epochs of --qat-bits fine-tuning")
    p.add_argument(
        "--bucket-by-length",
        action="store_true",
        help="batches of sequences of similar length (fewer padded steps on long-tailed speech; "
        "docs/training.md)",
    )
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
    from ernn.files import manifest
    from ernn.files.output_dir import check_output_dir

    _check_structure_options(args)
    if args.structure == "tt":
        return _train_tt(args)
    fields = set(asdict(train.TrainConfig()))
    cfg = train.TrainConfig(**{k: v for k, v in vars(args).items() if k in fields and v is not None})
    if args.block_size is None and args.mode == "dense":
        cfg.block_size = 1
    cfg.validate()
    out = Path(args.out)
    if args.reuse and out.is_dir() and (out / manifest.MANIFEST).exists():
        previous = runs.read_config(out)["train"]  # the whole run verified, checkpoint included
        # a run written before a configuration field existed has that field's default
        if {**asdict(train.TrainConfig()), **previous} == asdict(cfg):
            print(f"reusing the trained model in {out} (same configuration, files verified)")
            _print_metrics(out)
            return 0
        raise FileExistsError(
            f"{out} holds a run with a different configuration; pass --force to replace it or choose another --out"
        )
    check_output_dir(out, runs.KIND, force=args.force)  # before hours of training, not after
    ds = data.load(cfg.task, cfg.train_file, cfg.test_file)
    what = f"k={cfg.block_size}" if cfg.structure == "circulant" else cfg.structure_params().describe()
    if cfg.search:
        what = f"{cfg.structure}, prune rate by progressive search"
    print(
        f"training {cfg.cell.upper()} hidden={cfg.hidden_size} layers={cfg.num_layers} {what} "
        f"mode={cfg.mode} on {ds.name} ({len(ds.train)} train / {len(ds.test)} test sequences)"
    )
    if cfg.search:
        from ernn.train import search

        model, metrics = search.progressive(cfg, ds, quiet=args.quiet)
    else:
        model, metrics = train.train(cfg, ds, quiet=args.quiet)
    runs.save_run(out, cfg, ds, model, metrics, force=args.force)
    _print_metrics(out)
    return 0


def _train_tt(args: argparse.Namespace) -> int:
    """``ernn train --structure tt``: TT cores trained directly, ranks adapted (ernn.train.tt_train)."""
    from ernn.files.output_dir import check_output_dir
    from ernn.train import tt_train

    if args.reuse or args.search or args.qat_bits or args.peephole or args.bucket_by_length:
        raise ValueError(
            "--structure tt takes none of --reuse, --search, --qat-bits, --peephole, --bucket-by-length"
        )
    fields = set(asdict(tt_train.TTTrainConfig()))
    cfg = tt_train.TTTrainConfig(**{k: v for k, v in vars(args).items() if k in fields and v is not None})
    cfg.validate()
    out = Path(args.out)
    check_output_dir(out, runs.KIND, force=args.force)
    ds = data.load(cfg.task, cfg.train_file, cfg.test_file)
    print(
        f"training TT-{cfg.cell.upper()} hidden={cfg.hidden_size} {cfg.structure_params().describe()} on {ds.name}"
    )
    model, metrics = tt_train.train(cfg, ds, quiet=args.quiet)
    runs.save_run(out, cfg, ds, model, metrics, force=args.force)  # type: ignore[arg-type]
    mult, counts = metrics["multiplies_per_step"], metrics["parameters"]
    print(
        f"test accuracy {metrics['test_accuracy']:.2f}% on {metrics['test_sequences']} sequences, "
        f"{counts['weights_stored']} core entries vs {counts['weights_dense']} dense "
        f"({metrics['compression_ratio']:.2f}x), multiplies/step dense {mult['dense']} vs TT {mult['structured']}, "
        f"final ranks {metrics['ranks']}"
    )
    print(f"run directory: {out}")
    return 0


def _check_structure_options(args: argparse.Namespace) -> None:
    """Options that belong to another structure are refused rather than ignored."""
    own = {
        "circulant": {"block_size"},
        "csb": {"prune_rate", "csb_block"},
        "sparse": {"prune_rate", "pes"},
        "tt": {"tt_cores", "tt_rank", "tt_rank_threshold"},
    }
    if args.structure not in own:
        raise ValueError(f"--structure must be one of {', '.join(own)}, got {args.structure!r}")
    for name in ("block_size", "prune_rate", "csb_block", "pes", "tt_cores", "tt_rank", "tt_rank_threshold"):
        if getattr(args, name, None) is not None and name not in own[args.structure]:
            users = " or ".join(s for s, names in own.items() if name in names)
            option = "--" + name.replace("_", "-")
            raise ValueError(f"{option} applies to --structure {users}, not --structure {args.structure}")
    searching = [n for n in ("search_step", "search_min_step", "search_tolerance", "search_holdout")
                 if getattr(args, n, None) is not None]  # fmt: skip
    if searching and not args.search:
        raise ValueError(f"--{searching[0].replace('_', '-')} is an option of --search")
    if args.search and getattr(args, "prune_rate", None) is not None:
        raise ValueError("--search chooses the prune rate; drop --prune-rate")


def _print_metrics(out: Path) -> None:
    m = json.loads((out / "metrics.json").read_text())
    mult = m["multiplies_per_step"]
    if "fft" in mult:
        ops = f"multiplies/step dense {mult['dense']} vs FFT {mult['fft']}"
    else:  # a pruning structure (csb, sparse)
        ops = f"multiplies/step dense {mult['dense']} vs {mult['structured']} kept"
    line = (
        f"test accuracy {m['test_accuracy']:.2f}% on {m['test_sequences']} sequences, "
        f"compression {m['compression_ratio']:.2f}x, {ops}"
    )
    if "storage" in m:
        s = m["storage"]
        line += (
            f" (pruned {100 * m['prune_rate']['actual']:.1f}%; with its index at {s['weight_bits']}-bit weights "
            f"{s['compression_ratio_with_index']:.2f}x)"
        )
    if "search" in m:
        line += f", prune rate {m['search']['chosen_rate']:g} chosen by search ({len(m['search']['trials'])} trials)"
    if "accuracy_after_projection" in m:
        line += f", right after ADMM projection {m['accuracy_after_projection']:.2f}%"
    print(line)
    if "phone_error_rate" in m:  # --task frames (ernn.train.metrics)
        print(f"frame error rate {m['frame_error_rate']:.2f}%, phone error rate {m['phone_error_rate']:.2f}%")
    print(f"run directory: {out}")


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="quantize a trained run into a model directory for the golden model and the RTL",
        description="Write config.json, ernn_params.vh, $readmemh memories and test vectors to --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="run directory written by 'ernn train'")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--data-bits", type=int, default=16, help="data-path width (8, 10, 12, 16, ...)")
    p.add_argument("--test-sequences", type=int, default=8, help="test sequences written as test vectors")
    p.add_argument(
        "--lanes",
        type=int,
        help="P, the PE's complex MAC lanes (CSB: the engine's PEs; default: chosen from the model)",
    )
    p.add_argument(
        "--data", help="the run's test split .npz where it is now, if it moved (checked by content hash)"
    )
    p.add_argument(
        "--input-shift",
        default="auto",
        help="power-of-two input scaling folded into layer 0's weights: auto (from the training data's range) "
        "or s in 0..4 (docs/export.md)",
    )
    p.add_argument(
        "--dsp-pack",
        action="store_true",
        help="two weight products per MAC multiply (one DSP48E2 for two): narrows the weight spectra to the "
        "widest word that packs, e.g. 7 bits at --data-bits 8 and k 16 (docs/pe.md); circulant models only",
    )
    p.add_argument(
        "--csb-red-rows",
        help="output rows the CSB group array reduces per clock: a divisor of the CSB block size, or auto "
        "(the fewest that hide the reduction behind the MACs); more rows, fewer clocks and more LUTs "
        "(docs/csb.md); CSB models only (default: 1)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing model directory")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from ernn.export import writer as export
    from ernn.export.model_dir import ModelDirectory

    out = export.export(
        args.checkpoint,
        args.out,
        data_bits=args.data_bits,
        num_sequences=args.test_sequences,
        force=args.force,
        lanes=args.lanes,
        data_file=args.data,
        input_shift=args.input_shift,
        dsp_pack=args.dsp_pack,
        csb_red_rows=args.csb_red_rows,
    )
    model = ModelDirectory(out)
    cfg = model.config
    st = model.shape.structure
    what = f"k={cfg['model']['block_size']}" if "block_size" in cfg["model"] else st.describe()
    print(
        f"exported {cfg['model']['cell'].upper()} {what} at {args.data_bits}-bit data "
        f"path to {out} ({len(model.manifest.files)} files, {cfg['test_vectors']['frames']} test-vector frames); "
        f"model digest {model.digest[:16]}"
    )
    clip = cfg["data"]["input_clipping"]
    parts = [f"{k} {v['clipped']} of {v['values']}" for k, v in clip.items() if isinstance(v, dict)]
    print(
        f"input shift 2^-{cfg['data']['input_shift']} (folded into layer 0's weights); values clipped at "
        f"input quantization (|x| > {clip['limit']:g}): {', '.join(parts)}"
    )
    if cfg["hardware"].get("dsp_pack"):
        ws = model.numerics.weight_spectrum
        print(f"DSP packing: two weight products per MAC multiply, weight spectra narrowed to {ws}")
    return 0


def _add_golden(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "golden",
        help="run the bit-exact fixed-point golden model on an array",
        description="Input .npy: (T, F) or (N, T, F) in the training data's units. Output .npy: the last "
        "layer's output per time step, (T, O) or (N, T, O), dequantized (integers of Q(data) with --raw).",
    )
    _add_array_io(p, "output .npy to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=cmd_golden)


def _add_array_io(p: argparse.ArgumentParser, output_help: str) -> None:
    """The model and array options that ``golden`` and ``sim`` share."""
    p.add_argument("--model", required=True, help="model directory written by 'ernn export'")
    p.add_argument("--input", required=True, help="input .npy, (T, F) or (N, T, F)")
    p.add_argument("--lengths", help="(N,) integer .npy of sequence lengths for a zero-padded batch")
    p.add_argument("--output", required=True, help=output_help + " (written under exactly this name)")
    p.add_argument("--raw", action="store_true", help="write integers of the data format instead of floats")


def cmd_golden(args: argparse.Namespace) -> int:
    from ernn.export.writer import ExportedModel
    from ernn.files import atomic
    from ernn.sim import inference

    out = atomic.check_output_file(args.output, force=args.force, what="--output")
    model = ExportedModel(args.model)
    x = inference.load_array(args.input, "input")
    lengths = inference.load_array(args.lengths, "lengths") if args.lengths else None
    xn, lens, single = inference.prepare_input(model, x, lengths, args.input)
    y, log = inference.run_golden(model, xn, lens, raw=args.raw)
    atomic.save_npy(out, y[0] if single else y, force=args.force)
    sat = log.nonzero()
    print(
        f"golden model: {int(lens.sum())} time steps -> {out} {tuple((y[0] if single else y).shape)}; "
        f"saturations: {sat if sat else 'none'}"
    )
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="float vs golden accuracy on the data set's test split, as JSON",
    )
    p.add_argument("--model", required=True, help="model directory written by 'ernn export'")
    p.add_argument("--output", help="also write the JSON to this file")
    p.add_argument(
        "--data", help="the model's test split .npz where it is now, if it moved (checked by content hash)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing --output file")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ernn.export.writer import ExportedModel
    from ernn.files import atomic
    from ernn.sim import inference

    out = atomic.check_output_file(args.output, force=args.force, what="--output") if args.output else None
    model = ExportedModel(args.model)
    test, where = model.test_split(args.data)
    report = {"model": str(model.dir), "model_digest": model.digest, "data": where}
    report.update(inference.evaluate(model, test))
    text = json.dumps(report, indent=2)
    print(text)
    if out is not None:
        atomic.write_text(out, text + "\n", force=args.force)
    return 0


def _add_dse(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dse",
        help="design-space exploration (Phase I: cell x block size x hidden size x layers x seed)",
        description="Train every point (ADMM; dense at block 1) once per seed, resume after an interruption, "
        "select the most compressed model whose mean loss over seeds is within --max-accuracy-loss, write "
        "report.json, report.md and plots to --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    from ernn.dse.phase1 import Phase1Config

    d = Phase1Config()
    p.add_argument("--out", default="build/dse")
    p.add_argument("--cells", nargs="+", default=d.cells)
    p.add_argument("--blocks", nargs="+", type=int, default=d.blocks)
    p.add_argument("--hidden-sizes", nargs="+", type=int, default=d.hidden_sizes)
    p.add_argument("--layers", nargs="+", type=int, default=d.layers)
    p.add_argument("--epochs", type=int, default=d.epochs)
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=d.seeds,
        help="training seeds; every point is trained once per seed",
    )
    seeds.add_argument(
        "--seed",
        type=int,
        default=None,
        help="a single seed (same as --seeds N; kept for older command lines)",
    )
    p.add_argument("--train", dest="train_file", help="training split .npz; default JapaneseVowels")
    p.add_argument("--test", dest="test_file", help="test split .npz")
    p.add_argument(
        "--bucket-by-length",
        action="store_true",
        help="train every point on batches of similar lengths (ernn train --bucket-by-length)",
    )
    p.add_argument(
        "--max-accuracy-loss",
        type=float,
        default=1.0,
        help="accuracy budget in points vs dense, on the mean over seeds",
    )
    p.add_argument(
        "--workers", type=int, default=2, help="training runs in flight at once (processes, or Ray tasks)"
    )
    p.add_argument(
        "--engine",
        default="local",
        help="local (process pool) or ray (pip install '.[ray]'; a private local instance, or the cluster "
        "at RAY_ADDRESS; docs/dse.md)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a folder that holds other files (beside them; none of them is replaced)",
    )
    hw = p.add_argument_group("Phase II (hardware): P for the chosen model on a device")
    hw.add_argument("--phase", default="both", choices=("1", "2", "both"), help="which phases to run")
    hw.add_argument(
        "--hw-shape",
        default="chosen",
        help="model for Phase II: 'chosen' (Phase I's choice), a named shape (sr1, default) or a JSON "
        "object of cell, input_size, hidden_size, block_size[, proj_size, num_layers, peephole]",
    )
    hw.add_argument("--hw-model", help="an exported model directory for Phase II (instead of --hw-shape)")
    hw.add_argument("--data-bits", type=int, default=16, help="data-path width of the Phase II model")
    hw.add_argument("--device", default="xcku060", help="target device (ernn.fpga.open_flow.DEVICES)")
    hw.add_argument("--clock-mhz", type=float, default=200.0)
    hw.add_argument("--target-latency-us", type=float, help="latency target per time step")
    hw.add_argument("--budget", type=float, default=0.8, help="largest fraction of each device resource")
    hw.add_argument(
        "--lanes",
        type=int,
        nargs="+",
        help="P candidates (default 1..1024: powers of 2 and 1.5x, and as many row blocks of k/2 + 1 bins)",
    )
    hw.add_argument(
        "--cost-samples",
        default="docs/results/cost_samples_issue18.json",
        help="measured Yosys/Verilator samples to check the cost model against (bench/bench_cost_samples.py)",
    )
    hw.add_argument(
        "--hw-structures",
        nargs="+",
        choices=("circulant", "csb"),
        help="structures Phase II chooses between (default: the model's own; docs/dse.md)",
    )
    hw.add_argument("--csb-block", type=int, help="CSB variant's block size M (default: the model's, or 32)")
    hw.add_argument("--csb-rate", type=float, help="CSB variant's prune rate (default: matching compression)")
    hw.add_argument(
        "--hw-block-size", type=int, help="block-circulant variant's k (default: matching compression)"
    )
    hw.add_argument(
        "--csb-grids", nargs="+", type=_grid, help="CSB engines KxLxPxQ (default 2x2x2x2 .. 16x8x4x4)"
    )
    hw.add_argument("--csb-modes", nargs="+", choices=("none", "horizontal", "vertical", "both"))
    hw.add_argument(
        "--csb-method",
        default="z3",
        choices=("flow", "z3", "greedy"),
        help="CSB workload balancing (flow, z3: exact)",
    )
    hw.add_argument("--hw-runs", nargs="+", help="training runs whose accuracy the report lists")
    p.set_defaults(func=cmd_dse)


def _grid(text: str) -> tuple[int, int, int, int]:
    """KxLxPxQ -> (K, L, P, Q)."""
    parts = text.lower().split("x")
    if len(parts) != 4 or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise argparse.ArgumentTypeError(f"a CSB grid is KxLxPxQ with four integers >= 1, got {text!r}")
    k, l, p, q = (int(v) for v in parts)  # noqa: E741 - the paper's names
    return (k, l, p, q)


def cmd_dse(args: argparse.Namespace) -> int:
    from ernn.dse import explore
    from ernn.dse.phase1 import Phase1Config

    cfg = Phase1Config(
        cells=args.cells,
        blocks=args.blocks,
        hidden_sizes=args.hidden_sizes,
        layers=args.layers,
        epochs=args.epochs,
        seeds=[args.seed] if args.seed is not None else args.seeds,
        train_file=args.train_file,
        test_file=args.test_file,
        bucket_by_length=args.bucket_by_length,
    )
    hw = explore.Phase2Request(
        hw_shape=args.hw_shape,
        hw_model=args.hw_model,
        data_bits=args.data_bits,
        device=args.device,
        clock_mhz=args.clock_mhz,
        target_latency_us=args.target_latency_us,
        budget=args.budget,
        lanes=args.lanes,
        cost_samples=args.cost_samples,
        structures=args.hw_structures,
        csb_block=args.csb_block,
        csb_rate=args.csb_rate,
        block_size=args.hw_block_size,
        csb_grids=args.csb_grids,
        csb_modes=args.csb_modes,
        csb_method=args.csb_method,
        runs=args.hw_runs,
    )
    explore.explore(
        Path(args.out),
        args.phase,
        cfg,
        hw,
        max_accuracy_loss=args.max_accuracy_loss,
        workers=args.workers,
        engine=args.engine,
        command=_dse_command(),
        force=args.force,
    )
    return 0


def _dse_command() -> str:
    return "ernn dse " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["dse"] else "ernn dse"


SIMULATORS = ("icarus", "verilator")


def _check_sim(name: str) -> str:
    if name not in SIMULATORS:
        raise ValueError(f"--sim must be one of {', '.join(SIMULATORS)}, got {name!r}")
    return name


def _add_sim(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sim",
        help="run sequences through the RTL (cocotb) and check them against the golden model",
        description="Same input and output arrays as 'ernn golden'; also writes sim_report.json (bit_exact, "
        "mismatches, cycles per time step, ideal cycles, ratio, simulator, wall time).",
    )
    _add_array_io(p, "output .npy to write (the RTL's outputs)")
    p.add_argument("--sim", default="icarus", help="icarus or verilator")
    p.add_argument("--report", help="sim report path (default: sim_report.json beside --output)")
    p.add_argument(
        "--work-dir",
        help="simulation working folder, kept (default: a temporary folder under the cache, ERNN_CACHE_DIR)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random handshake gaps")
    p.add_argument("--valid-gaps", type=float, default=0.0, help="probability of a tvalid gap per input beat")
    p.add_argument(
        "--ready-stalls", type=float, default=0.0, help="probability of tready low per output cycle"
    )
    p.add_argument(
        "--waves",
        nargs="?",
        const="",
        help="record a waveform of ernn_top (default: --output with .fst on Icarus, .vcd on Verilator); the "
        "report names it and gives each mismatch's simulated time (ns)",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=cmd_sim)


def cmd_sim(args: argparse.Namespace) -> int:
    from ernn.export.writer import ExportedModel
    from ernn.files import atomic
    from ernn.golden.ops import dequantize
    from ernn.sim import inference
    from ernn.sim.compare import simulate

    _check_sim(args.sim)
    for name, prob in (("--valid-gaps", args.valid_gaps), ("--ready-stalls", args.ready_stalls)):
        if not 0.0 <= prob < 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1), got {prob}")
    out = atomic.check_output_file(args.output, force=args.force, what="--output")
    report_path = Path(args.report) if args.report else out.with_name("sim_report.json")
    atomic.check_output_file(report_path, force=args.force, what="--report")
    if report_path.resolve() == out.resolve():
        raise ValueError(f"--output and --report name the same file {out}")
    waves = None
    if args.waves is not None:
        waves = (
            Path(args.waves) if args.waves else out.with_suffix(".fst" if args.sim == "icarus" else ".vcd")
        )
        atomic.check_output_file(waves, force=args.force, what="--waves")
        if waves.resolve() in (out.resolve(), report_path.resolve()):
            raise ValueError(f"--waves names the same file as --output or --report: {waves}")
    model = ExportedModel(args.model)
    x = inference.load_array(args.input, "input")
    lengths = inference.load_array(args.lengths, "lengths") if args.lengths else None
    xn, lens, single = inference.prepare_input(model, x, lengths, args.input)
    outcome = simulate(
        model,
        xn,
        lens,
        sim=args.sim,
        work_dir=args.work_dir,
        seed=args.seed,
        valid_gap_prob=args.valid_gaps,
        ready_stall_prob=args.ready_stalls,
        waves=waves,
    )
    y = outcome.rtl if args.raw else dequantize(outcome.rtl, model.net.numerics.data)
    report = {"model": str(model.dir), "model_digest": model.digest, **outcome.report}
    staged = [
        (atomic.stage_file(out, lambda f: f.write(atomic.npy_bytes(y[0] if single else y))), out),
        (
            atomic.stage_file(report_path, lambda f: f.write((json.dumps(report, indent=2) + "\n").encode())),
            report_path,
        ),
    ]
    atomic.publish_files(staged, force=args.force)  # both results or neither
    r = outcome.report
    verdict = (
        "bit-exact with the golden model"
        if r["bit_exact"]
        else f"NOT bit-exact: {r['mismatches']} mismatches"
    )
    print(
        f"RTL ({args.sim}): {r['time_steps']} time steps, {verdict}; {r['cycles_per_step']:.1f} cycles/step "
        f"(ideal {r['ideal_cycles_per_step']}, ratio {r['ratio_to_ideal']:.3f}); {r['wall_seconds']:.1f} s"
    )
    print(f"outputs: {out}  report: {report_path}" + (f"  waveform: {waves}" if waves else ""))
    if r["first_mismatches"]:
        m = r["first_mismatches"][0]
        print(
            f"first mismatch: sequence {m['sequence']}, time step {m['time_step']}, unit {m['unit']}: RTL "
            f"{m['rtl']}, golden {m['golden']}; output beat at {m['time_ns']} ns simulated time"
            + ("" if waves else " (rerun with --waves to record a waveform)")
        )
    return 0 if r["bit_exact"] else 1


def _add_train_rtl(sub: argparse._SubParsersAction) -> None:
    from ernn.sim.tt_train import DATA_SETS, TTTrainConfig

    d = TTTrainConfig()
    p = sub.add_parser(
        "train-rtl",
        help="train a TT-MLP on the RTL training engine in simulation, every step checked against golden",
        description="Compiles the engine's program for the TT-MLP, runs the golden training step and the RTL "
        "(rtl/ernn_tt_train_top.v) on the same batches, reads every trained word back after each step and "
        "compares it; writes report.json (cycles per step, ideal, status, bit_exact, first divergence), "
        "trained.npz and tt_program.mem into --out. Exit 1 when the RTL diverged.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--inputs", type=int, help=f"layer inputs (default {d.inputs}; digits: 64)")
    p.add_argument("--outputs", type=int, help=f"layer outputs (default {d.outputs}; digits: 10)")
    p.add_argument("--cores", type=int, default=d.cores, help="TT cores")
    p.add_argument("--rank", type=int, default=d.rank, help="TT rank")
    p.add_argument("--batch", type=int, default=d.batch, help="samples per training step")
    p.add_argument("--steps", type=int, default=d.steps, help="training steps")
    p.add_argument("--seed", type=int, default=d.seed, help="initial cores, data and the LFSR seed")
    p.add_argument("--lr-shift", type=int, default=d.lr_shift, help="learning rate 2**-lr_shift")
    p.add_argument("--prune-shift", type=int, default=d.prune_shift, help="rank pruning (0: off)")
    p.add_argument("--data", default=d.data, choices=DATA_SETS, help="random samples or scikit-learn digits")
    p.add_argument("--dw", type=int, default=d.dw, help="engine memory word and accumulator width (bits)")
    p.add_argument("--mul-w", type=int, default=d.mul_w, help="engine multiplier operand width (bits)")
    p.add_argument("--sim", default="icarus", help="icarus or verilator")
    p.add_argument("--out", default="build/train-rtl", help="output folder")
    p.add_argument("--work-dir", help="simulation working folder, kept (default: a temporary one)")
    p.add_argument("--handshake-seed", type=int, default=0, help="seed of the random gaps and stalls")
    p.add_argument("--valid-gaps", type=float, default=0.0, help="probability of a tvalid gap per beat")
    p.add_argument("--ready-stalls", type=float, default=0.0, help="probability of tready low per cycle")
    p.add_argument("--force", action="store_true", help="replace an earlier train-rtl folder")
    p.set_defaults(func=cmd_train_rtl)


def cmd_train_rtl(args: argparse.Namespace) -> int:
    import os

    from ernn.sim import tt_train

    _check_sim(args.sim)
    d = tt_train.TTTrainConfig()
    inputs, outputs = tt_train.DIGITS_SHAPE if args.data == "digits" else (d.inputs, d.outputs)
    config = tt_train.TTTrainConfig(
        inputs=inputs if args.inputs is None else args.inputs,
        outputs=outputs if args.outputs is None else args.outputs,
        cores=args.cores,
        rank=args.rank,
        batch=args.batch,
        steps=args.steps,
        seed=args.seed,
        lr_shift=args.lr_shift,
        prune_shift=args.prune_shift,
        data=args.data,
        dw=args.dw,
        mul_w=args.mul_w,
    )
    os.environ.setdefault("COCOTB_LOG_LEVEL", "WARNING")
    r = tt_train.train_rtl(
        config,
        args.out,
        sim=args.sim,
        work_dir=args.work_dir,
        seed=args.handshake_seed,
        valid_gap_prob=args.valid_gaps,
        ready_stall_prob=args.ready_stalls,
        force=args.force,
    )
    verdict = (
        "bit-exact with the golden step" if r["bit_exact"] else f"NOT bit-exact ({r['mismatches']} words)"
    )
    cyc = r["cycles_per_step"]
    print(
        f"RTL ({args.sim}): {config.steps} training steps of {config.inputs} -> {config.outputs} (ranks "
        f"{r['shape']['ranks']}, batch {config.batch}), {r['words_compared']} words compared, {verdict}; "
        f"{cyc[0]} cycles/step (program {r['cycles_expected']}, ideal {r['ideal_cycles_per_step']}, ratio "
        f"{r['ratio_to_ideal']:.3f}); {r['wall_seconds']:.1f} s"
    )
    if r["first_divergence"]:
        print(tt_train.describe_divergence(r["first_divergence"], config.seed))
    if r["inference"]["mismatches"]:
        print(f"inference on the trained cores: {r['inference']['mismatches']} outputs differ")
    if not r["status_ok"]:
        print(
            f"status words {r['status']}, inference {r['inference']['status']}: not the step counts expected"
        )
    print(f"report: {Path(args.out) / 'report.json'}")
    return 0 if r["bit_exact"] else 1


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="the main job: float vs golden vs RTL on held-out test sequences, summary and figure",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="model directory written by 'ernn export'")
    p.add_argument(
        "--out", default="build/report", help="where summary.json, sim_report.json, outputs.png go"
    )
    p.add_argument("--sequences", type=int, default=50, help="held-out test sequences to simulate")
    p.add_argument("--sim", default="icarus", help="icarus or verilator")
    p.add_argument(
        "--data", help="the model's test split .npz where it is now, if it moved (checked by content hash)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing report folder")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from ernn.sim import report

    _check_sim(args.sim)
    if args.sequences < 1:
        raise ValueError(f"--sequences must be >= 1, got {args.sequences}")
    summary = report.run_report(
        args.model, args.out, sequences=args.sequences, sim=args.sim, force=args.force, data_file=args.data
    )
    report.print_summary(summary)
    return 0 if summary["bit_exact"] else 1


def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="open-source FPGA flows: Yosys resource estimate (synth_xilinx) or an iCE40 bitstream",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="model directory written by 'ernn export'")
    p.add_argument("--family", default="xcu", help="xcu (UltraScale), xc7 (7-series) or xcup (UltraScale+)")
    p.add_argument(
        "--ice40", action="store_true", help="synthesize, place and route the self-test for an iCE40 UP5K"
    )
    p.add_argument(
        "--ecp5",
        action="store_true",
        help="synthesize, place and route the self-test for an ECP5 LFE5U-85F (ULX3S) with nextpnr's timing",
    )
    p.add_argument("--freq", type=float, help="target clock in MHz (iCE40 default 12, ECP5 default 25)")
    p.add_argument(
        "--router",
        choices=("router1", "router2"),
        help="nextpnr-ecp5's routing algorithm (--ecp5 only; default router1, nextpnr's own)",
    )
    p.add_argument("--out", help="output directory (default build/synth, build/ice40 or build/ecp5)")
    p.add_argument("--force", action="store_true", help="replace an existing synthesis folder")
    p.set_defaults(func=cmd_synth)


def cmd_synth(args: argparse.Namespace) -> int:
    from ernn.fpga import clock_estimate, logic_depth
    from ernn.fpga import open_flow as fpga

    if args.ice40 and args.ecp5:
        raise ValueError("--ice40 and --ecp5 are two different flows: choose one")
    if args.router and not args.ecp5:
        raise ValueError("--router chooses nextpnr-ecp5's router: it needs --ecp5")
    if args.ice40 or args.ecp5:
        if args.ice40:
            r = fpga.ice40_bitstream(
                args.model, args.out or "build/ice40", freq_mhz=args.freq or 12.0, force=args.force
            )
        else:
            r = fpga.ecp5_bitstream(
                args.model,
                args.out or "build/ecp5",
                freq_mhz=args.freq or 25.0,
                router=args.router or "router1",
                force=args.force,
            )
        for clock, f in r["fmax"].items():
            print(
                f"{clock}: Fmax {f['fmax_mhz']:.1f} MHz ({'PASS' if f['pass'] else 'FAIL'} at {f['target_mhz']:.0f} MHz)"
            )
        for bel, u in r["utilisation"].items():
            if u["used"]:
                print(f"{bel}: {u['used']}/{u['available']}")
        for cp in r.get("critical_paths", []):
            print(f"critical path {cp['delay_ns']:.2f} ns ({cp['cells']} cells): {cp['from']} -> {cp['to']}")
        print(
            f"bitstream: {r['bitstream']} ({r['bitstream_bytes']} bytes); report: {Path(r['bitstream']).parent / 'report.json'}"
        )
        return 0
    r = fpga.yosys_estimate(args.model, args.out or "build/synth", family=args.family, force=args.force)
    u, c = r["used"], r["capacity"]
    print(f"Yosys synth_xilinx -family {args.family} estimate of ernn_top vs {r['device_name']}:")
    for key, name in (("lut_sites", "LUT"), ("ff", "FF"), ("dsp", "DSP"), ("bram36", "BRAM36")):
        pct = r["utilisation_percent"]["lut" if key == "lut_sites" else key]
        print(f"  {name:7s} {u[key]:>9g} / {c['lut' if key == 'lut_sites' else key]:>7d}  ({pct:.2f} %)")
    print(
        f"          (LUT: {u['lut']:g} as logic + {u['lutram_sites']:g} as memory in {u['lutram']:g} LUT RAM cells)"
    )
    for line in logic_depth.summary_lines(r["logic_depth"]):
        print(f"  {line}")
    if r.get("clock_estimate"):
        print(f"  {clock_estimate.summary_line(r['clock_estimate'])}")
    print(f"report: {Path(args.out or 'build/synth') / 'report.json'}")
    return 0


def _add_feature_args(p: argparse.ArgumentParser, d) -> None:
    g = p.add_argument_group("features (ernn.data.features)")
    g.add_argument("--features", dest="kind", default=d.kind, help="logmel or mfcc")
    g.add_argument("--sample-rate", type=int, default=d.sample_rate, help="Hz; other rates are resampled")
    g.add_argument("--n-mels", type=int, default=d.n_mels, help="mel filterbank channels")
    g.add_argument("--n-mfcc", type=int, default=d.n_mfcc, help="MFCCs kept (--features mfcc)")
    g.add_argument("--win-ms", type=float, default=d.win_ms)
    g.add_argument("--hop-ms", type=float, default=d.hop_ms)
    g.add_argument("--deltas", type=int, default=d.deltas, help="0, 1 (delta) or 2 (delta and delta-delta)")
    g.add_argument("--energy", action="store_true", default=d.energy, help="append the frame log energy")
    g.add_argument(
        "--cmn",
        action="store_true",
        default=d.cmn,
        help="subtract each utterance's mean of every static feature (cepstral mean normalisation; for "
        "speakers not in the training set)",
    )


def _feature_config(args: argparse.Namespace):
    from ernn.data.features import FeatureConfig

    return FeatureConfig(
        kind=args.kind,
        sample_rate=args.sample_rate,
        n_mels=args.n_mels,
        n_mfcc=args.n_mfcc,
        win_ms=args.win_ms,
        hop_ms=args.hop_ms,
        deltas=args.deltas,
        energy=args.energy,
        cmn=args.cmn,
    ).validate()


def _add_data(sub: argparse._SubParsersAction) -> None:
    from ernn.data.features import FeatureConfig

    p = sub.add_parser(
        "data",
        help="turn recordings into a data set (train.npz, test.npz, dataset.json) for 'ernn train'",
        description="Speech front end (docs/speech.md): WAV/SPHERE recordings -> log-mel or MFCC features "
        "with deltas -> the toolkit's .npz data format, split into train and test.",
    )
    kinds = p.add_subparsers(dest="source", required=True)
    wav = kinds.add_parser(
        "wav",
        help="a folder of recordings, labels from a file-name pattern or a CSV",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    wav.add_argument("--root", required=True, help="folder of recordings (searched recursively)")
    rule = wav.add_mutually_exclusive_group(required=True)
    rule.add_argument("--pattern", help="file-name pattern, e.g. '{label}_{speaker}_{take}.wav'")
    rule.add_argument("--labels", help="CSV with columns path, label[, speaker, take]")
    wav.add_argument("--split", required=True, help="takes:A-B, speakers:F/K (fold F of K) or speakers:A,B")
    fsdd = kinds.add_parser(
        "fsdd",
        help="the Free Spoken Digit Dataset (a preset of 'wav': {label}_{speaker}_{take}.wav)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    fsdd.add_argument("--root", required=True, help="FSDD's recordings/ folder (your copy)")
    fsdd.add_argument("--split", default="takes:0-4", help="takes:0-4 (FSDD's own) or speakers:F/K")
    timit = kinds.add_parser(
        "timit",
        help="the LDC TIMIT corpus: 39 folded phones per 10 ms frame, core test and development sets",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    timit.add_argument("--root", required=True, help="the corpus folder holding TRAIN/ and TEST/")
    for q in (wav, fsdd, timit):
        q.add_argument("--out", required=True, help="data set folder to write")
        q.add_argument("--workers", type=int, default=2, help="feature-extraction processes")
        q.add_argument("--force", action="store_true", help="replace an existing data set folder")
        q.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_feature_args(wav, FeatureConfig())
    _add_feature_args(fsdd, FeatureConfig())
    from ernn.data.timit import TIMIT_FEATURES

    _add_feature_args(timit, TIMIT_FEATURES)
    p.set_defaults(func=cmd_data)


def cmd_data(args: argparse.Namespace) -> int:
    cfg = _feature_config(args)
    if args.source == "timit":
        from ernn.data import timit

        meta = timit.build(args.root, args.out, feature_cfg=cfg, workers=args.workers, force=args.force,
                           quiet=args.quiet)  # fmt: skip
    else:
        from ernn.data import wav

        pattern = wav.FSDD_PATTERN if args.source == "fsdd" else args.pattern
        labels = None if args.source == "fsdd" else args.labels
        meta = wav.build(args.root, args.out, split=args.split, pattern=pattern, labels_csv=labels,
                         feature_cfg=cfg, workers=args.workers, force=args.force, quiet=args.quiet,
                         name="fsdd" if args.source == "fsdd" else None)  # fmt: skip
    counts = ", ".join(f"{n} {part}" for part, n in meta["counts"].items())
    if meta.get("left_out"):
        shown = ", ".join(meta["left_out"][:3])
        print(
            f"left out {len(meta['left_out'])} file(s) the rule does not match (e.g. {shown}); see dataset.json"
        )
    print(
        f"{meta['name']}: {counts} sequences, {meta['num_features']} features per frame, "
        f"{len(meta['labels'])} classes -> {args.out}/train.npz, test.npz, dataset.json"
    )
    held_out = "dev" if "dev" in meta["counts"] else "test"  # TIMIT: tune on dev, report core test once
    print(
        f"train with: ernn train --train {args.out}/train.npz --test {args.out}/{held_out}.npz "
        f"--task {meta['task']} ..."
    )
    return 0


def _add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check a directory ernn wrote (model, training run, report, synthesis) against its manifest",
        description="Re-hash every file the directory's ernn-manifest.json lists and name what differs; for a "
        "model also re-derive every stored integer and the job table, for a run load the checkpoint. Prints "
        "the digest (the directory's identity). Exit 0: intact; 2: not.",
    )
    p.add_argument("path", help="the directory")
    p.add_argument("--kind", choices=("model", "run", "report", "synth", "dse"), help="what it must be")
    p.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    from ernn.files import manifest

    path = Path(args.path)
    found = manifest.read(path) if path.is_dir() else None
    kind = args.kind or (found.kind if found else "model")
    checked = manifest.verify(path, kind)
    if kind == "model":
        from ernn.export.writer import ExportedModel

        ExportedModel(path)
    elif kind == "run":
        runs.load_run(path)
    print(f"{path}: intact {manifest.describe(kind)}, {len(checked.files)} files, digest {checked.digest}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ernn", description="E-RNN toolkit: block-circulant RNNs on FPGAs")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_export(sub)
    _add_golden(sub)
    _add_evaluate(sub)
    _add_sim(sub)
    _add_train_rtl(sub)
    _add_report(sub)
    _add_synth(sub)
    _add_dse(sub)
    _add_data(sub)
    _add_verify(sub)
    args = parser.parse_args(argv)
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed command: every expected failure becomes one line on stderr and exit 2, Ctrl-C or
    SIGTERM exit 130 after the command's own clean-up (partial outputs are removed by the writers). An
    interrupt whose exception Python swallowed (one landing in a finalizer) still counts: the writers
    refuse to publish after it (:mod:`ernn.files.interrupts`), and the exit is 130."""
    from ernn.files import interrupts
    from ernn.files.manifest import ManifestError

    with interrupts.handled():
        try:
            rc = args.func(args)
            interrupts.raise_if_received()
            return rc
        except KeyboardInterrupt:
            print("interrupted: nothing half-written was left behind", file=sys.stderr)
            return 130
        except OSError as exc:
            print(f"error: {_os_error_text(exc)}", file=sys.stderr)
            return 2
        except (ValueError, RuntimeError, ManifestError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2


def _os_error_text(exc: OSError) -> str:
    """One line naming the path and the cause: our own messages as they are, the system's with the path."""
    if exc.filename is None:
        return str(exc.args[0]) if len(exc.args) == 1 else str(exc)
    names = " -> ".join(str(n) for n in (exc.filename, exc.filename2) if n is not None)
    cause = exc.strerror or str(exc)
    hints = {
        errno.ENOSPC: "the disk is full",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EISDIR: "it is a folder, a file was expected",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
    }
    return f"{names}: {hints.get(exc.errno, cause)}"


if __name__ == "__main__":
    sys.exit(main())
