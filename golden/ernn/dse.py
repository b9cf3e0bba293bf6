"""Design-space exploration, Phase I (model): cell x block size x hidden size x layers, trained with ADMM.

Every point is one ``ernn train`` run (dense for block size 1, ADMM otherwise) on the same data, seed and
epoch budget. Each finished point is written to ``<out>/points/<name>.json`` as soon as it ends, so an
interrupted sweep resumes without redoing finished points. Points run in parallel worker processes
(``concurrent.futures``), or on a Ray cluster with ``--engine ray`` when Ray is installed (``ray.init``
connects to ``RAY_ADDRESS`` when set, else starts a local instance).

Selection: a point's accuracy loss is measured against the dense point of the same cell, hidden size and
layers; the chosen model is the most compressed point (fewest multiplies per time step on ties) whose loss
is at most ``--max-accuracy-loss`` points.

E-RNN's two observations, checked on the data:
1. accuracy degrades slowly with block size, then faster (the loss per doubling of k is reported);
2. a few trials predict the rest: the accuracy at intermediate block sizes is predicted by interpolating,
   in log2 k, between the smallest and the largest block size trained; the prediction error is reported
   (if small, only the end points need training).
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from . import train


@dataclass
class Phase1Config:
    cells: list[str] = field(default_factory=lambda: ["lstm", "gru"])
    blocks: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32])
    hidden_sizes: list[int] = field(default_factory=lambda: [32])
    layers: list[int] = field(default_factory=lambda: [1])
    epochs: int = train.TrainConfig.epochs
    seed: int = 0
    train_file: str | None = None
    test_file: str | None = None

    def points(self) -> list[train.TrainConfig]:
        out = []
        for cell, hidden, layers, k in itertools.product(
            self.cells, self.hidden_sizes, self.layers, self.blocks
        ):
            if k > max(hidden, 1):
                continue
            cfg = train.TrainConfig(
                cell=cell,
                hidden_size=hidden,
                num_layers=layers,
                block_size=k,
                mode="dense" if k == 1 else "admm",
                epochs=self.epochs,
                seed=self.seed,
                train_file=self.train_file,
                test_file=self.test_file,
            )
            out.append(cfg.validate())
        if not any(c.block_size == 1 for c in out):
            raise ValueError(
                "blocks must include 1: every point's accuracy loss is measured against the dense model"
            )
        return out


def point_name(cfg: train.TrainConfig) -> str:
    return f"{cfg.cell}_h{cfg.hidden_size}_l{cfg.num_layers}_k{cfg.block_size}_s{cfg.seed}"


def _train_point(cfg_dict: dict[str, Any]) -> dict[str, Any]:
    cfg = train.TrainConfig(**cfg_dict)
    _, metrics = train.train(cfg, quiet=True)
    metrics.pop("history", None)
    return {"config": cfg_dict, "metrics": metrics}


def _run_local(jobs: list[dict[str, Any]], workers: int, done: Callable[[dict[str, Any]], None]) -> None:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_train_point, job) for job in jobs]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="phase I points"):
            done(fut.result())


def _run_ray(jobs: list[dict[str, Any]], done: Callable[[dict[str, Any]], None]) -> None:
    try:
        import ray
    except ImportError as exc:
        raise ValueError("--engine ray needs Ray: pip install 'ray[default]'") from exc
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"))
    remote = ray.remote(num_cpus=1)(_train_point)
    pending = [remote.remote(job) for job in jobs]
    with tqdm(total=len(pending), desc="phase I points (ray)") as bar:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            done(ray.get(ready[0]))
            bar.update(1)


def run_phase1(
    cfg: Phase1Config, out: str | Path, *, workers: int = 2, engine: str = "local"
) -> list[dict[str, Any]]:
    """Train every point not already in ``out/points``; return all points' results."""
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    points_dir = Path(out) / "points"
    points_dir.mkdir(parents=True, exist_ok=True)
    todo = []
    for point in cfg.points():
        path = points_dir / f"{point_name(point)}.json"
        if path.exists():
            stored = json.loads(path.read_text())
            if stored["config"] != asdict(point):
                raise ValueError(f"{path} holds a different configuration; remove it or choose another --out")
        else:
            todo.append(asdict(point))

    def done(result: dict[str, Any]) -> None:
        name = point_name(train.TrainConfig(**result["config"]))
        tmp = points_dir / f"{name}.json.tmp"
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        tmp.replace(points_dir / f"{name}.json")  # atomic: an interrupted write never looks finished

    if todo:
        _run_ray(todo, done) if engine == "ray" else _run_local(todo, workers, done)
    wanted = {point_name(p) for p in cfg.points()}
    return [json.loads((points_dir / f"{n}.json").read_text()) for n in sorted(wanted)]


# ---------------------------------------------------------------------------------------------- analysis
def _group_key(r: dict[str, Any]) -> tuple[str, int, int]:
    c = r["config"]
    return c["cell"], c["hidden_size"], c["num_layers"]


def summarise(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per point with accuracy loss against its dense point."""
    results = list(results)
    dense = {_group_key(r): r["metrics"]["test_accuracy"] for r in results if r["config"]["block_size"] == 1}
    rows = []
    for r in results:
        c, m = r["config"], r["metrics"]
        base = dense.get(_group_key(r))
        if base is None:
            raise ValueError(f"no dense (block 1) point for {_group_key(r)}")
        rows.append(
            {
                "cell": c["cell"],
                "hidden_size": c["hidden_size"],
                "num_layers": c["num_layers"],
                "block_size": c["block_size"],
                "accuracy": m["test_accuracy"],
                "accuracy_loss": base - m["test_accuracy"],
                "accuracy_after_projection": m.get("accuracy_after_projection"),
                "compression_ratio": m["compression_ratio"],
                "weights_stored": m["parameters"]["weights_stored"],
                "multiplies_fft": m["multiplies_per_step"]["fft"],
                "multiplies_dense": m["multiplies_per_step"]["dense"],
            }
        )
    return sorted(rows, key=lambda r: (r["cell"], r["hidden_size"], r["num_layers"], r["block_size"]))


def select(rows: list[dict[str, Any]], max_accuracy_loss: float) -> dict[str, Any] | None:
    """The most compressed point within the accuracy budget (fewest FFT-domain multiplies on ties)."""
    ok = [r for r in rows if r["accuracy_loss"] <= max_accuracy_loss]
    if not ok:
        return None
    return max(ok, key=lambda r: (r["compression_ratio"], -r["multiplies_fft"], -r["accuracy_loss"]))


def observations(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """E-RNN's observations on these points: degradation per block size, and end-point prediction error."""
    groups: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["cell"], r["hidden_size"], r["num_layers"]), []).append(r)
    degradation, prediction = [], []
    for key, pts in groups.items():
        pts = sorted(pts, key=lambda r: r["block_size"])
        degradation.append(
            {
                "group": list(key),
                "loss_by_block": {str(p["block_size"]): round(p["accuracy_loss"], 3) for p in pts},
            }
        )
        lo, hi = pts[0], pts[-1]
        if len(pts) < 3 or hi["block_size"] == lo["block_size"]:
            continue
        span = math.log2(hi["block_size"]) - math.log2(lo["block_size"])
        errors = []
        for p in pts[1:-1]:
            w = (math.log2(p["block_size"]) - math.log2(lo["block_size"])) / span
            predicted = (1 - w) * lo["accuracy"] + w * hi["accuracy"]
            errors.append(
                {
                    "block_size": p["block_size"],
                    "predicted": predicted,
                    "measured": p["accuracy"],
                    "error": predicted - p["accuracy"],
                }
            )
        prediction.append(
            {
                "group": list(key),
                "trained": [lo["block_size"], hi["block_size"]],
                "points": errors,
                "mean_abs_error": sum(abs(e["error"]) for e in errors) / len(errors),
            }
        )
    return {"degradation": degradation, "endpoint_prediction": prediction}


def plot_accuracy(
    rows: list[dict[str, Any]], path: str | Path, max_accuracy_loss: float | None = None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    groups: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["cell"], r["hidden_size"], r["num_layers"]), []).append(r)
    for (cell, hidden, layers), pts in sorted(groups.items()):
        pts = sorted(pts, key=lambda r: r["compression_ratio"])
        ax.plot(
            [p["compression_ratio"] for p in pts],
            [p["accuracy"] for p in pts],
            marker="o",
            label=f"{cell.upper()} h{hidden} x{layers}",
        )
        for p in pts:
            ax.annotate(
                f"k={p['block_size']}",
                (p["compression_ratio"], p["accuracy"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(3, 3),
            )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("weight compression ratio (dense / stored)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Phase I: accuracy vs block-circulant compression")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report_markdown(
    rows: list[dict[str, Any]],
    chosen: dict[str, Any] | None,
    obs: dict[str, Any],
    max_accuracy_loss: float,
    command: str,
) -> str:
    lines = [
        "# Design-space exploration, Phase I (model)",
        "",
        f"Command: `{command}`",
        "",
        "| cell | hidden | layers | k | accuracy (%) | loss vs dense | after projection | compression | FFT-domain mult./step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        after = "—" if r["accuracy_after_projection"] is None else f"{r['accuracy_after_projection']:.2f}"
        lines.append(
            f"| {r['cell'].upper()} | {r['hidden_size']} | {r['num_layers']} | {r['block_size']} | {r['accuracy']:.2f} | "
            f"{r['accuracy_loss']:+.2f} | {after} | {r['compression_ratio']:.2f}x | {r['multiplies_fft']} |"
        )
    lines += ["", f"## Selection (max accuracy loss {max_accuracy_loss} points)", ""]
    if chosen is None:
        lines.append("No point meets the requirement.")
    else:
        lines.append(
            f"Chosen: {chosen['cell'].upper()}, hidden {chosen['hidden_size']}, {chosen['num_layers']} layer(s), "
            f"block size {chosen['block_size']}: accuracy {chosen['accuracy']:.2f} % "
            f"({chosen['accuracy_loss']:+.2f} vs dense), compression {chosen['compression_ratio']:.2f}x."
        )
    lines += ["", "## Observation 1: degradation with block size (accuracy loss vs dense, points)", ""]
    for d in obs["degradation"]:
        cell, hidden, layers = d["group"]
        losses = ", ".join(f"k={k}: {v:+.2f}" for k, v in d["loss_by_block"].items())
        lines.append(f"- {cell.upper()} h{hidden} x{layers}: {losses}")
    lines += ["", "## Observation 2: end points predict the rest (interpolation in log2 k)", ""]
    for p in obs["endpoint_prediction"]:
        cell, hidden, layers = p["group"]
        detail = ", ".join(f"k={e['block_size']}: {e['error']:+.2f}" for e in p["points"])
        lines.append(
            f"- {cell.upper()} h{hidden} x{layers}: trained k={p['trained']}, prediction errors {detail} "
            f"(mean |error| {p['mean_abs_error']:.2f} points)"
        )
    return "\n".join(lines) + "\n"
