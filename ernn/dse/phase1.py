"""Design-space exploration, Phase I (model): cell x block size x hidden size x layers x seed, trained with ADMM.

Every point is one ``ernn train`` run (dense for block size 1, ADMM otherwise) on the same data and epoch
budget; every configuration is trained once per seed, because the differences between block sizes are of
the same size as the spread between seeds (about one point of accuracy on JapaneseVowels). Each finished
run is written to ``<out>/points/<name>.json`` (the name ends in ``_s<seed>``) as soon as it ends, so an
interrupted sweep resumes without redoing finished runs, and adding seeds reuses the runs already there.
Runs go to parallel worker processes (``concurrent.futures``), or to Ray with ``--engine ray`` when Ray is
installed (the ``ray`` extra): a cluster named by ``RAY_ADDRESS``, else a local instance of ``--workers``
CPUs started for the sweep and shut down after it; either way at most ``--workers`` runs are in flight.

Statistics: per configuration the test accuracy is summarised over seeds as mean, sample standard deviation
(ddof = 1; 0 with a single seed) and standard error std / sqrt(n). The accuracy loss is the dense mean minus
the point's mean, with standard error sqrt(se_dense^2 + se_point^2) (the two means treated as independent).

Selection: the chosen model is the most compressed point (fewest multiplies per time step on ties) whose
MEAN loss over seeds is at most ``--max-accuracy-loss`` points; its std and loss standard error are
reported next to it so the reader can see how far the choice stands above the seed noise.

E-RNN's two observations, checked on the means (and said whether they hold, not assumed):
1. accuracy degrades slowly with block size, then faster: Spearman rank correlation of the mean loss with
   log2 k (exact one-sided permutation p-value), which losses exceed two standard errors, and the loss per
   doubling of k in the lower and upper half of the block sizes;
2. a few trials predict the rest: the accuracy at intermediate block sizes is predicted by interpolating,
   in log2 k, between the smallest and the largest block size trained; the prediction error is set against
   the seed noise of the group (mean std across its points) and against a "no loss" prediction (the dense
   accuracy everywhere), which shows whether the curve had any structure to predict.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ernn.dse.figures import save_png
from ernn.files import atomic
from ernn.train import trainer as train


@dataclass
class Phase1Config:
    cells: list[str] = field(default_factory=lambda: ["lstm", "gru"])
    blocks: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32])
    hidden_sizes: list[int] = field(default_factory=lambda: [32])
    layers: list[int] = field(default_factory=lambda: [1])
    epochs: int = train.TrainConfig.epochs
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    train_file: str | None = None
    test_file: str | None = None
    bucket_by_length: bool = False  # TrainConfig.bucket_by_length for every point

    def check_seeds(self) -> None:
        if not self.seeds:
            raise ValueError("seeds must name at least one seed (e.g. --seeds 0 1 2)")
        repeated = sorted({s for s in self.seeds if self.seeds.count(s) > 1})
        if repeated:
            raise ValueError(
                f"seeds must be distinct: {', '.join(map(str, repeated))} given more than once "
                "(a repeated seed would count the same run twice in the mean and std)"
            )

    def points(self) -> list[train.TrainConfig]:
        """Every run of the sweep, seed outermost: an interrupted sweep has whole seeds rather than stragglers."""
        self.check_seeds()
        out = []
        for seed, cell, hidden, layers, k in itertools.product(
            self.seeds, self.cells, self.hidden_sizes, self.layers, self.blocks
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
                seed=seed,
                train_file=self.train_file,
                test_file=self.test_file,
                bucket_by_length=self.bucket_by_length,
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


# A local instance holds only the sweep's results (a few kB each): Ray's smallest object store will do.
RAY_OBJECT_STORE_BYTES = 80 * 1024 * 1024


class PointFailed(RuntimeError):
    """A Phase I run failed on Ray; the message names the point (finished points are kept for a rerun)."""

    def __init__(self, name: str, cause: str) -> None:
        super().__init__(
            f"phase I point {name} failed on Ray: {cause} (the finished points are kept: fix the cause "
            "and run the same command again to resume)"
        )
        self.name = name


# The watchdog of a local instance (see _Reaper), run as ``python -c``: after the pipe from the driver closes,
# SIGKILL every process whose environment holds argv[1] ("NAME=token"), until a pass finds none.
_REAPER_SCRIPT = """
import os, signal, sys, time
mark = sys.argv[1].encode()
sys.stdin.buffer.read()
for _ in range(20):
    found = 0
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if mark in f.read().split(b"\\0"):
                    os.kill(int(pid), signal.SIGKILL)
                    found += 1
        except (OSError, ValueError):
            pass
    if not found:
        break
    time.sleep(0.2)
"""


class _Reaper:
    """Removes what is left of a local Ray instance once the sweep or its driver ends, however it ended.

    Ray ties the processes ``ray.init`` starts to the driver, but not the raylet's agents: after a SIGKILL
    of the driver, ``ray::DashboardAgent`` and ``ray::RuntimeEnvAgent`` were seen running for another
    70 s (Ray 2.60, waiting on the dead GCS). So every process of the instance inherits a marker in its
    environment (set only while ``ray.init`` starts them), and a watchdog in its own session (Ctrl-C in
    the terminal does not reach it) waits for the pipe from the driver to close — at the end of the sweep
    or when the driver dies — and kills every process that carries the marker. Linux only (``/proc``).
    """

    ENV = "ERNN_RAY_INSTANCE"

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        env = {k: v for k, v in os.environ.items() if k != self.ENV}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _REAPER_SCRIPT, f"{self.ENV}={self.token}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )

    @contextlib.contextmanager
    def marking(self) -> Iterator[None]:
        os.environ[self.ENV] = self.token
        try:
            yield
        finally:
            os.environ.pop(self.ENV, None)

    def sweep(self, timeout: float = 30.0) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@contextlib.contextmanager
def _sigterm_kept() -> Iterator[None]:
    """``ray.init`` replaces the driver's SIGTERM handler with ``sys.exit``; put the caller's back, so that
    ``ernn dse`` still turns SIGTERM into Ctrl-C and shuts the instance down on its way out."""
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def _ray_session(ray: Any, workers: int) -> Iterator[bool]:
    """Ray for one sweep: connect to ``RAY_ADDRESS`` or start a local instance of ``workers`` CPUs, and undo
    it on the way out (a local instance shut down and reaped, a cluster disconnected from). Yields whether
    the sweep's unfinished tasks must be cancelled when it stops early: on a cluster, and on a Ray the
    caller had started, which outlive the sweep.

    The local instance is new every time (``address="local"``: never one that ``ray start`` left running),
    with no dashboard, no GPU and a small object store.
    """
    if ray.is_initialized():  # the caller's Ray (a Python session that called ray.init): left as it is
        yield True
        return
    address = os.environ.get("RAY_ADDRESS")
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        options["address"] = address
    else:
        options |= {
            "address": "local",
            "num_cpus": workers,
            "num_gpus": 0,
            "include_dashboard": False,
            "object_store_memory": RAY_OBJECT_STORE_BYTES,
        }
    reaper = _Reaper() if not address and sys.platform == "linux" else None
    try:
        with _sigterm_kept(), reaper.marking() if reaper else contextlib.nullcontext():
            try:
                ray.init(ignore_reinit_error=True, **options)
            except BaseException:
                ray.shutdown()
                raise
        try:
            yield bool(address)
        finally:
            ray.shutdown()
    finally:
        if reaper is not None:
            reaper.sweep()


def _for_worker(job: dict[str, Any]) -> dict[str, Any]:
    """The job with its data files as absolute paths: a worker need not share the driver's folder."""
    job = dict(job)
    for key in ("train_file", "test_file"):
        if job.get(key):
            job[key] = os.path.abspath(job[key])
    return job


def _ray_failure(ray: Any, exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) else exc
    if isinstance(cause, ray.exceptions.RayError) and not isinstance(cause, ray.exceptions.RayTaskError):
        return f"{type(cause).__name__}: {str(cause).strip().splitlines()[0]}"  # a lost worker or node
    return f"{type(cause).__name__}: {cause}"


def _run_ray(jobs: list[dict[str, Any]], workers: int, done: Callable[[dict[str, Any]], None]) -> None:
    """Run the jobs as Ray tasks, at most ``workers`` at a time, calling ``done`` as each one ends.

    A local instance (no ``RAY_ADDRESS``) is started with ``workers`` CPUs and shut down when the sweep
    ends, also on an error or Ctrl-C; a cluster is only disconnected from, after its unfinished tasks
    are cancelled. Workers import ``ernn`` as the driver does (Ray hands them the driver's ``sys.path``
    and folder; on a cluster every node needs ``ernn`` installed and the data files at the same path).
    """
    try:
        import ray
    except ImportError as exc:
        raise ValueError("--engine ray needs Ray: pip install 'ernn[ray]' (or 'ray>=2.40')") from exc
    remote = ray.remote(num_cpus=1)(_train_point)
    queue = list(jobs)
    running: dict[Any, dict[str, Any]] = {}  # task -> job as stored (relative paths kept)
    with _ray_session(ray, workers) as cancel_on_exit:
        try:
            with tqdm(total=len(queue), desc="phase I points (ray)") as bar:
                while queue or running:
                    while queue and len(running) < workers:
                        job = queue.pop(0)
                        running[remote.remote(_for_worker(job))] = job
                    ready, _ = ray.wait(list(running), num_returns=1)
                    job = running.pop(ready[0])
                    try:
                        result = ray.get(ready[0])
                    except ray.exceptions.RayError as exc:
                        name = point_name(train.TrainConfig(**job))
                        raise PointFailed(name, _ray_failure(ray, exc)) from None
                    result["config"] = job
                    done(result)
                    bar.update(1)
        finally:
            for ref in running if cancel_on_exit else ():
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)


def run_phase1(
    cfg: Phase1Config, out: str | Path, *, workers: int = 2, engine: str = "local"
) -> list[dict[str, Any]]:
    """Train every run not already in ``out/points``; return all runs' results (one per point and seed)."""
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    points_dir = Path(out) / "points"
    points_dir.mkdir(parents=True, exist_ok=True)
    todo = []
    points = cfg.points()
    for point in points:
        path = points_dir / f"{point_name(point)}.json"
        if path.exists():
            stored = json.loads(path.read_text())
            # a point stored before a configuration field existed has that field's default
            if {**asdict(train.TrainConfig()), **stored["config"]} != asdict(point):
                raise ValueError(f"{path} holds a different configuration; remove it or choose another --out")
        else:
            todo.append(asdict(point))

    def done(result: dict[str, Any]) -> None:
        name = point_name(train.TrainConfig(**result["config"]))
        # all or nothing, through a unique hidden name: an interrupted write never looks finished, and a
        # concurrent run of the same sweep that finished this point first is replaced by the same result
        atomic.write_json(points_dir / f"{name}.json", result, force=True)

    if todo:
        _run_ray(todo, workers, done) if engine == "ray" else _run_local(todo, workers, done)
    wanted = {point_name(p) for p in points}
    return [json.loads((points_dir / f"{n}.json").read_text()) for n in sorted(wanted)]


# ---------------------------------------------------------------------------------------------- analysis
Group = tuple[str, int, int]
P_TREND = 0.05  # one-sided significance level of the Spearman trend test (observation 1)


def _group_key(r: dict[str, Any]) -> Group:
    c = r["config"]
    return c["cell"], c["hidden_size"], c["num_layers"]


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1); the std of a single value is reported as 0."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def summarise(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (cell, hidden, layers, k): accuracy over seeds and the loss against the dense mean.

    ``accuracy`` is the mean over seeds, ``accuracy_std`` the sample std (ddof = 1; 0 for one seed),
    ``accuracies`` the per-seed values in the order of ``seeds``. ``accuracy_loss`` is the dense mean minus
    this mean and ``accuracy_loss_se`` its standard error, sqrt(se_dense^2 + se^2) with se = std / sqrt(n)
    (0 for the dense point itself, whose loss is 0 by definition).
    """
    by_point: dict[tuple[str, int, int, int], dict[int, dict[str, Any]]] = {}
    for r in results:
        key = (*_group_key(r), r["config"]["block_size"])
        seed = r["config"]["seed"]
        if seed in by_point.setdefault(key, {}):
            raise ValueError(f"two results for {key} with seed {seed}: each seed must be counted once")
        by_point[key][seed] = r
    stats = {}
    for key, runs in by_point.items():
        seeds = sorted(runs)
        accs = [runs[s]["metrics"]["test_accuracy"] for s in seeds]
        mean, std = _mean_std(accs)
        stats[key] = {
            "seeds": seeds,
            "accuracies": accs,
            "mean": mean,
            "std": std,
            "se": std / math.sqrt(len(accs)),
        }
    rows = []
    for key, runs in by_point.items():
        cell, hidden, layers, k = key
        dense = stats.get((cell, hidden, layers, 1))
        if dense is None:
            raise ValueError(f"no dense (block 1) point for {(cell, hidden, layers)}")
        st = stats[key]
        first = runs[st["seeds"][0]]["metrics"]
        after = [runs[s]["metrics"].get("accuracy_after_projection") for s in st["seeds"]]
        after = [a for a in after if a is not None]
        rows.append(
            {
                "cell": cell,
                "hidden_size": hidden,
                "num_layers": layers,
                "block_size": k,
                "n_seeds": len(st["seeds"]),
                "seeds": st["seeds"],
                "accuracies": st["accuracies"],
                "accuracy": st["mean"],
                "accuracy_std": st["std"],
                "accuracy_loss": dense["mean"] - st["mean"],
                "accuracy_loss_se": 0.0 if k == 1 else math.hypot(dense["se"], st["se"]),
                "accuracy_after_projection": sum(after) / len(after) if after else None,
                "compression_ratio": first["compression_ratio"],
                "weights_stored": first["parameters"]["weights_stored"],
                "multiplies_fft": first["multiplies_per_step"]["fft"],
                "multiplies_dense": first["multiplies_per_step"]["dense"],
            }
        )
    return sorted(rows, key=lambda r: (r["cell"], r["hidden_size"], r["num_layers"], r["block_size"]))


def select(rows: list[dict[str, Any]], max_accuracy_loss: float) -> dict[str, Any] | None:
    """The most compressed point whose MEAN loss over seeds is within the budget.

    Ties on compression go to the fewest FFT-domain multiplies, then to the smaller mean loss. The budget is
    tested on the mean only; the row carries ``accuracy_std`` and ``accuracy_loss_se`` so a report can show
    how firmly the chosen point sits inside it.
    """
    ok = [r for r in rows if r["accuracy_loss"] <= max_accuracy_loss]
    if not ok:
        return None
    return max(ok, key=lambda r: (r["compression_ratio"], -r["multiplies_fft"], -r["accuracy_loss"]))


def _groups(rows: list[dict[str, Any]]) -> dict[Group, list[dict[str, Any]]]:
    groups: dict[Group, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["cell"], r["hidden_size"], r["num_layers"]), []).append(r)
    return {key: sorted(pts, key=lambda r: r["block_size"]) for key, pts in sorted(groups.items())}


def _ranks(values: list[float]) -> list[float]:
    """Ranks from 1, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: list[float], y: list[float]) -> float | None:
    """Spearman's rank correlation; None when either variable is constant (no ranking to correlate)."""
    rx, ry = _ranks(x), _ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def spearman_p_increasing(x: list[float], y: list[float]) -> float | None:
    """One-sided p-value of Spearman's rho >= the observed one under no association.

    Exact over all orderings of ``y`` up to 8 values (40320 orderings); beyond that, 20000 random orderings
    from a fixed seed, so the report is reproducible.
    """
    rho = spearman(x, y)
    if rho is None:
        return None
    if len(y) <= 8:
        perms: Iterable[tuple[float, ...]] = itertools.permutations(y)
    else:
        import random

        rng = random.Random(0)
        perms = (tuple(rng.sample(y, len(y))) for _ in range(20000))
    hits = total = 0
    for perm in perms:
        r = spearman(x, list(perm))
        hits += r is not None and r >= rho - 1e-12
        total += 1
    return hits / total


def _fmt_rho(rho: float | None, p: float | None) -> str:
    return "rho undefined (constant loss)" if rho is None else f"Spearman rho = {rho:+.2f}, p = {p:.3f}"


def _degradation(key: Group, pts: list[dict[str, Any]]) -> dict[str, Any]:
    ks = [p["block_size"] for p in pts]
    logk = [math.log2(k) for k in ks]
    loss = [round(p["accuracy_loss"], 9) for p in pts]  # -1e-15 and 0 are a tie, not a ranking
    se = [p["accuracy_loss_se"] for p in pts]
    rho = spearman(logk, loss) if len(pts) >= 3 else None
    p_value = spearman_p_increasing(logk, loss) if rho is not None else None
    compressed = [p for p in pts if p["block_size"] > 1]
    noise_known = all(p["accuracy_loss_se"] > 0 for p in compressed)
    significant = [
        p["block_size"] for p in compressed if noise_known and p["accuracy_loss"] > 2 * p["accuracy_loss_se"]
    ]
    per_doubling = [
        {
            "from": ks[i],
            "to": ks[i + 1],
            "loss_per_doubling": (loss[i + 1] - loss[i]) / (logk[i + 1] - logk[i]),
        }
        for i in range(len(pts) - 1)
    ]
    # "Slowly, then faster": the mean loss per doubling over the lower half of log2 k against the upper half.
    mid = (logk[0] + logk[-1]) / 2
    early = [d["loss_per_doubling"] for d in per_doubling if math.log2(d["to"]) <= mid]
    late = [d["loss_per_doubling"] for d in per_doubling if math.log2(d["to"]) > mid]
    early_slope = sum(early) / len(early) if early else None
    late_slope = sum(late) / len(late) if late else None
    worst = max(compressed, key=lambda p: p["accuracy_loss"]) if compressed else None

    grows = rho is not None and rho > 0 and p_value is not None and p_value < P_TREND
    real = bool(significant)
    if grows and real:
        verdict = f"holds: loss grows with k ({_fmt_rho(rho, p_value)}) and exceeds 2 SE at k = {significant}"
    elif grows:
        verdict = f"trend only: loss rises with k ({_fmt_rho(rho, p_value)}) but no loss exceeds 2 SE"
    elif real:
        verdict = (
            f"not monotonic ({_fmt_rho(rho, p_value)}), though the loss exceeds 2 SE at k = {significant}"
        )
    elif not noise_known:
        # one seed, or seeds that agreed exactly at some point: no spread to test a loss against
        verdict = f"not tested against noise (a point without seed-to-seed spread); {_fmt_rho(rho, p_value)}"
    else:
        verdict = f"does not hold: no significant trend ({_fmt_rho(rho, p_value)}) and every loss within 2 SE"
    if grows and real and early_slope is not None and late_slope is not None:
        shape = "steeper at large k" if late_slope > early_slope else "not steeper at large k"
        verdict += f"; {shape} ({early_slope:+.2f} then {late_slope:+.2f} points per doubling)"
    return {
        "group": list(key),
        "loss_by_block": {str(k): round(v, 3) for k, v in zip(ks, loss, strict=True)},
        "loss_se_by_block": {str(k): round(v, 3) for k, v in zip(ks, se, strict=True)},
        "spearman_rho": rho,
        "p_value": p_value,
        "significant_blocks": significant,
        "loss_per_doubling": per_doubling,
        "early_slope": early_slope,
        "late_slope": late_slope,
        "worst": None
        if worst is None
        else {
            "block_size": worst["block_size"],
            "loss": worst["accuracy_loss"],
            "se": worst["accuracy_loss_se"],
        },
        "tested": noise_known,
        "holds": grows and real,
        "verdict": verdict,
    }


def _prediction(key: Group, pts: list[dict[str, Any]]) -> dict[str, Any] | None:
    lo, hi = pts[0], pts[-1]
    if len(pts) < 3 or hi["block_size"] == lo["block_size"]:
        return None
    span = math.log2(hi["block_size"]) - math.log2(lo["block_size"])
    dense = next((p["accuracy"] for p in pts if p["block_size"] == 1), lo["accuracy"])
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
                "measured_std": p["accuracy_std"],
            }
        )
    mae = sum(abs(e["error"]) for e in errors) / len(errors)
    baseline = sum(abs(dense - e["measured"]) for e in errors) / len(errors)
    noise_std = sum(p["accuracy_std"] for p in pts) / len(pts)
    noise_se = sum(p["accuracy_std"] / math.sqrt(p["n_seeds"]) for p in pts) / len(pts)
    if noise_std == 0:
        verdict = "not tested against noise (no seed-to-seed spread)"
        within = None
    elif mae <= noise_std:
        within = True
        verdict = f"within seed noise: mean |error| {mae:.2f} <= mean std {noise_std:.2f} points"
        if mae > noise_se:
            verdict += f" (but above the standard error of the means, {noise_se:.2f})"
    else:
        within = False
        verdict = f"exceeds seed noise: mean |error| {mae:.2f} > mean std {noise_std:.2f} points"
    if baseline <= mae:
        verdict += (
            f"; a flat 'no loss' prediction (dense accuracy everywhere) does as well ({baseline:.2f}), "
            "so there is little curve to predict"
        )
    return {
        "group": list(key),
        "trained": [lo["block_size"], hi["block_size"]],
        "points": errors,
        "mean_abs_error": mae,
        "seed_noise_std": noise_std,
        "seed_noise_se": noise_se,
        "no_loss_baseline_mean_abs_error": baseline,
        "within_noise": within,
        "verdict": verdict,
    }


def observations(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """E-RNN's observations on the seed means, each per group with a verdict, plus an overall verdict."""
    degradation, prediction = [], []
    for key, pts in _groups(rows).items():
        degradation.append(_degradation(key, pts))
        pred = _prediction(key, pts)
        if pred is not None:
            prediction.append(pred)
    tested1 = [d for d in degradation if d["tested"]]
    n_hold = sum(d["holds"] for d in tested1)
    if not tested1:
        verdict1 = "not tested: one seed gives no noise estimate"
    else:
        word = "holds" if n_hold == len(tested1) else "does not hold" if n_hold == 0 else "holds in part"
        verdict1 = (
            f"{word}: in {n_hold} of {len(tested1)} groups the mean loss rises with log2 k (one-sided "
            f"p < {P_TREND}) and some loss exceeds 2 standard errors"
        )
    tested2 = [p for p in prediction if p["within_noise"] is not None]
    n_within = sum(bool(p["within_noise"]) for p in tested2)
    n_flat = sum(p["no_loss_baseline_mean_abs_error"] <= p["mean_abs_error"] for p in prediction)
    if not tested2:
        verdict2 = "not tested: one seed gives no noise estimate"
    else:
        word = "holds" if n_within == len(tested2) else "does not hold" if n_within == 0 else "holds in part"
        verdict2 = (
            f"{word}: end-point interpolation is within the seed noise in {n_within} of {len(tested2)} groups"
        )
    if prediction:
        verdict2 += f"; a flat 'no loss' prediction is at least as good in {n_flat} of {len(prediction)}"
    return {
        "degradation": degradation,
        "endpoint_prediction": prediction,
        "verdicts": {"degradation": verdict1, "endpoint_prediction": verdict2},
    }


def plot_accuracy(
    rows: list[dict[str, Any]],
    path: str | Path,
    max_accuracy_loss: float | None = None,
    chosen: dict[str, Any] | None = None,
    *,
    force: bool = False,
) -> None:
    """Accuracy (mean, error bars one std over seeds) vs compression, one panel per cell; PNG at ``path``
    (written all or nothing; an existing file is replaced only with ``force``).

    The dense accuracy of each line is drawn dashed; with ``max_accuracy_loss`` the budget (dense mean minus
    the budget) is drawn dotted, and the chosen point is ringed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = _groups(rows)
    cells = sorted({key[0] for key in groups}, key=lambda c: (c != "lstm", c))
    fig, axes = plt.subplots(1, len(cells), figsize=(5.6 * len(cells), 4.4), sharey=True, squeeze=False)
    for ax, cell in zip(axes[0], cells, strict=True):
        for i, ((_, hidden, layers), pts) in enumerate((k, v) for k, v in groups.items() if k[0] == cell):
            color = f"C{i}"
            pts = sorted(pts, key=lambda r: r["compression_ratio"])
            n = sorted({p["n_seeds"] for p in pts})
            ax.errorbar(
                [p["compression_ratio"] for p in pts],
                [p["accuracy"] for p in pts],
                yerr=[p["accuracy_std"] for p in pts],
                marker="o",
                capsize=3,
                color=color,
                label=f"h{hidden} x{layers} (n = {'/'.join(map(str, n))} seeds)",
            )
            dense = next((p["accuracy"] for p in pts if p["block_size"] == 1), None)
            if dense is not None:
                ax.axhline(dense, color=color, linestyle="--", linewidth=1, alpha=0.8)
                if max_accuracy_loss is not None:
                    ax.axhline(dense - max_accuracy_loss, color=color, linestyle=":", linewidth=1, alpha=0.6)
            for p in pts if i == 0 else []:  # block sizes are the same on every line: label one
                ax.annotate(
                    f"k={p['block_size']}",
                    (p["compression_ratio"], p["accuracy"]),
                    fontsize=7,
                    textcoords="offset points",
                    xytext=(3, 3),
                )
            if chosen is not None and (chosen["cell"], chosen["hidden_size"], chosen["num_layers"]) == (
                cell,
                hidden,
                layers,
            ):
                ax.plot(
                    chosen["compression_ratio"],
                    chosen["accuracy"],
                    marker="o",
                    markersize=14,
                    markerfacecolor="none",
                    markeredgecolor="black",
                    linestyle="none",
                    label="chosen",
                )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("weight compression ratio (dense / stored)")
        ax.set_title(f"{cell.upper()}: accuracy vs compression")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    axes[0][0].set_ylabel("test accuracy (%), mean ± std over seeds")
    note = "dashed: dense mean" + ("; dotted: dense mean − budget" if max_accuracy_loss is not None else "")
    fig.suptitle(f"Phase I: block-circulant compression ({note})", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, force=force)


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
        "Accuracy is the test accuracy over seeds: mean ± sample std (n seeds). Loss is the dense mean minus the "
        "point's mean, ± its standard error (sqrt(se_dense² + se²), se = std / √n).",
        "",
        "| cell | hidden | layers | k | n | accuracy (%) | per seed | loss vs dense | after projection | compression | FFT-domain mult./step |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        after = "—" if r["accuracy_after_projection"] is None else f"{r['accuracy_after_projection']:.2f}"
        per_seed = ", ".join(f"{a:.2f}" for a in r["accuracies"])
        loss = (
            "0 (reference)"
            if r["block_size"] == 1
            else f"{r['accuracy_loss']:+.2f} ± {r['accuracy_loss_se']:.2f}"
        )
        lines.append(
            f"| {r['cell'].upper()} | {r['hidden_size']} | {r['num_layers']} | {r['block_size']} | {r['n_seeds']} | "
            f"{r['accuracy']:.2f} ± {r['accuracy_std']:.2f} | {per_seed} | {loss} | {after} | "
            f"{r['compression_ratio']:.2f}x | {r['multiplies_fft']} |"
        )
    lines += [
        "",
        f"## Selection (max accuracy loss {max_accuracy_loss} points, on the mean over seeds)",
        "",
        "The chosen point is the most compressed one whose mean loss over seeds is within the budget (fewest "
        "FFT-domain multiplies on ties).",
        "",
    ]
    if chosen is None:
        lines.append("No point meets the requirement.")
    else:
        upper = chosen["accuracy_loss"] + 2 * chosen["accuracy_loss_se"]
        if chosen["n_seeds"] < 2:
            margin = "one seed: no noise estimate, the margin is unknown."
        elif upper <= max_accuracy_loss:
            margin = f"loss + 2 SE = {upper:+.2f}, within the budget even at the pessimistic end."
        else:
            margin = f"loss + 2 SE = {upper:+.2f}: the budget is met on the mean, not with two standard errors of margin."
        lines.append(
            f"Chosen: {chosen['cell'].upper()}, hidden {chosen['hidden_size']}, {chosen['num_layers']} layer(s), "
            f"block size {chosen['block_size']}: accuracy {chosen['accuracy']:.2f} ± {chosen['accuracy_std']:.2f} % "
            f"(n = {chosen['n_seeds']}), loss {chosen['accuracy_loss']:+.2f} ± {chosen['accuracy_loss_se']:.2f} "
            f"vs dense, compression {chosen['compression_ratio']:.2f}x, {chosen['multiplies_fft']} FFT-domain "
            f"multiplies per step; {margin}"
        )
    lines += [
        "",
        "## Observation 1: accuracy degrades slowly with block size, then faster",
        "",
        f"Verdict: {obs['verdicts']['degradation']}.",
        "",
        "Mean accuracy loss vs dense (points, ± standard error) per group, then the trend test:",
        "",
    ]
    for d in obs["degradation"]:
        cell, hidden, layers = d["group"]
        losses = ", ".join(
            f"k={k}: {v:+.2f} ± {d['loss_se_by_block'][k]:.2f}"
            for k, v in d["loss_by_block"].items()
            if k != "1"
        )
        lines.append(
            f"- {cell.upper()} h{hidden} x{layers}: {losses}. {d['verdict'][0].upper()}{d['verdict'][1:]}."
        )
    lines += [
        "",
        "## Observation 2: the end points predict the rest (interpolation in log2 k)",
        "",
        f"Verdict: {obs['verdicts']['endpoint_prediction']}.",
        "",
        "Prediction error = interpolated − measured mean accuracy (points); seed noise = mean std of the group's "
        "points.",
        "",
    ]
    for p in obs["endpoint_prediction"]:
        cell, hidden, layers = p["group"]
        detail = ", ".join(f"k={e['block_size']}: {e['error']:+.2f}" for e in p["points"])
        lines.append(
            f"- {cell.upper()} h{hidden} x{layers}: trained k={p['trained']}, errors {detail}; mean |error| "
            f"{p['mean_abs_error']:.2f}, seed noise {p['seed_noise_std']:.2f} (SE of a mean "
            f"{p['seed_noise_se']:.2f}), 'no loss' prediction {p['no_loss_baseline_mean_abs_error']:.2f}. "
            f"{p['verdict'][0].upper()}{p['verdict'][1:]}."
        )
    return "\n".join(lines) + "\n"
