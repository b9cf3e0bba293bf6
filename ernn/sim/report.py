"""The main job's report: float vs golden vs RTL on held-out test sequences, one summary and a figure.

``ernn report --model MODEL_DIR`` takes ``--sequences`` test sequences spread evenly over the model's test
split (the split is ordered by class, so the first N would cover one class only),
runs the float model, the golden model and the RTL on them, and writes ``summary.json``,
``sim_report.json`` and ``outputs.png`` (per-time-step outputs of one sequence: float vs golden vs RTL,
and the class scores the head makes of them) to ``--out``.

The test split is the one the model was trained with, found by its recorded content hash (``--data``
points at it if it moved; :mod:`ernn.data.provenance`). ``--out`` is written in one step
(:mod:`ernn.files.output_dir`): an earlier report is replaced only with ``--force``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ernn import data
from ernn.export.writer import ExportedModel
from ernn.files.output_dir import check_output_dir, output_directory
from ernn.golden.float_reference import run_float
from ernn.golden.ops import dequantize
from ernn.sim.compare import simulate


def _accuracy(model: ExportedModel, outputs: np.ndarray, split: data.Split) -> float:
    if model.task == "frames":
        pred = model.head(outputs).argmax(-1)
        return 100.0 * float((pred[split.frame_mask] == split.y[split.frame_mask]).mean())
    last = outputs[np.arange(len(split)), split.lengths - 1]
    return 100.0 * float((model.head(last).argmax(-1) == split.y).mean())


def plot_sequence(
    path: Path,
    float_out: np.ndarray,
    golden: np.ndarray,
    rtl: np.ndarray,
    scores: dict[str, np.ndarray],
    length: int,
    title: str,
    units: int = 4,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(length)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for u in range(min(units, float_out.shape[-1])):
        c = colours[u % len(colours)]
        ax1.plot(t, float_out[:length, u], color=c, lw=1.5, label=f"unit {u} float" if u == 0 else None)
        ax1.plot(
            t,
            golden[:length, u],
            ls="none",
            marker="o",
            mfc="none",
            color=c,
            ms=7,
            label="golden" if u == 0 else None,
        )
        ax1.plot(t, rtl[:length, u], ls="none", marker="x", color=c, ms=5, label="RTL" if u == 0 else None)
    ax1.set_xlabel("time step")
    ax1.set_ylabel("last-layer output h_t")
    ax1.set_title("outputs: float (line), golden (o), RTL (x)")
    ax1.legend(fontsize=8, loc="best")
    ax1.grid(True, alpha=0.3)
    for name, style in (("float", "-"), ("rtl", "--")):
        s = scores[name][:length]
        prob = np.exp(s - s.max(-1, keepdims=True))
        prob /= prob.sum(-1, keepdims=True)
        best = int(prob[-1].argmax())
        ax2.plot(t, prob[:, best], style, lw=1.8, label=f"{name}: P(class {best})")
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_xlabel("time step")
    ax2.set_ylabel("softmax of the head")
    ax2.set_title("class score over time (head on h_t)")
    ax2.legend(fontsize=8)
    ax2.grid(True, alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_report(
    model_dir: str | Path,
    out: str | Path,
    *,
    sequences: int = 50,
    sim: str = "icarus",
    seed: int = 0,
    force: bool = False,
    data_file: str | Path | None = None,
) -> dict[str, Any]:
    """Write the report folder ``out`` for the model in ``model_dir``; return the summary."""
    out = check_output_dir(out, KIND, force=force)
    model = ExportedModel(model_dir)
    test, where = model.test_split(data_file)
    n = min(sequences, len(test))
    pick = np.unique(np.linspace(0, len(test) - 1, n).round().astype(int))
    split = data.Split(test.x[pick], test.lengths[pick], test.y[pick])
    steps = int(split.lengths.max())
    x = model.normalise(split.x[:, :steps])
    split = data.Split(
        split.x[:, :steps], split.lengths, split.y if split.y.ndim == 1 else split.y[:, :steps]
    )
    out = Path(out)
    float_out = run_float(model.desc, x, split.lengths).h[-1]
    with output_directory(out, KIND, force=force) as stage:
        outcome = simulate(model, x, split.lengths, sim=sim, work_dir=stage / "work", seed=seed)
        fmt = model.net.numerics.data
        golden_out, rtl_out = dequantize(outcome.golden, fmt), dequantize(outcome.rtl, fmt)
        sim_report = outcome.report
        summary = {
            "model": str(model.dir),
            "model_digest": model.digest,
            "data": where,
            "sequences": len(pick),
            "test_indices": pick.tolist(),
            "time_steps": sim_report["time_steps"],
            "float_accuracy": _accuracy(model, float_out, split),
            "golden_accuracy": _accuracy(model, golden_out, split),
            "rtl_accuracy": _accuracy(model, rtl_out, split),
            "bit_exact": sim_report["bit_exact"],
            "mismatches": sim_report["mismatches"],
            "cycles_per_step": sim_report["cycles_per_step"],
            "ideal_cycles_per_step": sim_report["ideal_cycles_per_step"],
            "ratio_to_ideal": sim_report["ratio_to_ideal"],
            "simulator": sim,
            "wall_seconds": sim_report["wall_seconds"],
            "figure": str(out / "outputs.png"),
            "sim_report": str(out / "sim_report.json"),
        }
        (stage / "sim_report.json").write_text(json.dumps(sim_report, indent=2) + "\n")
        (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        _plot(stage / "outputs.png", model, split, float_out, golden_out, rtl_out, sim)
    return summary


#: what a report folder is (ernn.files.manifest kinds)
KIND = "report"


def _plot(
    path: Path,
    model: ExportedModel,
    split: data.Split,
    float_out: np.ndarray,
    golden_out: np.ndarray,
    rtl_out: np.ndarray,
    sim: str,
) -> None:
    seq = int(np.argmax(split.lengths))
    scores = {"float": model.head(float_out[seq]), "rtl": model.head(rtl_out[seq])}
    label = split.y[seq] if split.y.ndim == 1 else split.y[seq, 0]
    plot_sequence(
        path,
        float_out[seq],
        golden_out[seq],
        rtl_out[seq],
        scores,
        int(split.lengths[seq]),
        f"{model.config['model']['cell'].upper()} {model.shape.structure.describe()}, test sequence {seq} "
        f"(label {label}), {sim}",
    )


def print_summary(s: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"E-RNN main job: {s['sequences']} held-out test sequences, {s['time_steps']} time steps"
    )
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("float accuracy", f"{s['float_accuracy']:.2f} %")
    table.add_row("golden (fixed-point) accuracy", f"{s['golden_accuracy']:.2f} %")
    table.add_row("RTL accuracy", f"{s['rtl_accuracy']:.2f} %")
    table.add_row(
        "RTL == golden, every bit of every step",
        "yes" if s["bit_exact"] else f"NO ({s['mismatches']} mismatches)",
    )
    table.add_row("cycles per time step (steady state)", f"{s['cycles_per_step']:.1f}")
    table.add_row("ideal cycles per time step", f"{s['ideal_cycles_per_step']}")
    table.add_row("ratio to ideal", f"{s['ratio_to_ideal']:.3f}")
    table.add_row("simulator, wall time", f"{s['simulator']}, {s['wall_seconds']:.1f} s")
    Console().print(table)
    print(
        f"figure: {s['figure']}\nreports: {s['sim_report']}, {Path(s['sim_report']).with_name('summary.json')}"
    )
