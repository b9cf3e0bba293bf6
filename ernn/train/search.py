"""Progressive prune-rate search (CSB-RNN's): raise the prune rate while accuracy holds the baseline.

The training split is cut once (seeded) into a fitting part and a held-out part (``search_holdout`` of the
sequences): the search compares accuracies on the held-out part, never on the test split, so the test
accuracy of the final model is not a selected number. Normalisation statistics stay those of the whole
training split.

1. Baseline: a dense model (block size 1, the same epochs and seed) trained on the fitting part; its
   held-out accuracy is the baseline.
2. Trials: starting from rate 0 (dense, accepted) and ``step = search_step``, train the structure at
   ``rate = accepted + step`` (ADMM, the run's whole schedule, from scratch with the run's seed). A trial
   whose held-out accuracy is at least baseline - ``search_tolerance`` is accepted and the next one goes a
   step higher; a failed trial halves the step. A candidate at or above ``MAX_RATE`` or at or above a rate
   that already failed (accuracy is taken to fall with the rate) halves the step without a trial, so no
   rate is trained twice. The search ends when the step falls below ``search_min_step``.
3. The run itself: the whole training split at the highest accepted rate, i.e. exactly
   ``ernn train --structure S --prune-rate R`` with the same options.

Unlike the paper, a trial does not start from the previous trial's weights: each is the plain run at its
rate, so its result does not depend on the path and the chosen run can be reproduced without the search.
``metrics.json`` ``search`` records the baseline, every trial (rate, step, held-out accuracy, reached
rate, compression, accepted) and the chosen rate.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from ernn import data
from ernn.train import trainer

MAX_RATE = 0.995


def holdout(ds: data.Dataset, fraction: float, seed: int) -> data.Dataset:
    """``ds`` with its training split cut into a fitting part (``train``) and a held-out part (``test``)."""
    n = len(ds.train)
    held = max(1, round(fraction * n))
    if held >= n:
        raise ValueError(f"search_holdout {fraction} leaves no training sequence of {n}")
    order = np.random.default_rng(seed).permutation(n)
    pick = {"fit": np.sort(order[held:]), "held": np.sort(order[:held])}

    def part(idx: np.ndarray) -> data.Split:
        return data.Split(ds.train.x[idx], ds.train.lengths[idx], ds.train.y[idx])

    return dataclasses.replace(ds, train=part(pick["fit"]), test=part(pick["held"]))


def progressive(
    cfg: trainer.TrainConfig, ds: data.Dataset | None = None, quiet: bool = False
) -> tuple[trainer.SequenceModel, dict[str, Any]]:
    """Search the prune rate (module docstring), then train the run at the chosen rate."""
    cfg.validate()
    if not cfg.search:
        raise ValueError("progressive() needs a configuration with search=True")
    ds = ds or data.load(cfg.task, cfg.train_file, cfg.test_file)
    t0 = time.perf_counter()
    part = holdout(ds, cfg.search_holdout, cfg.seed)
    plain = dataclasses.replace(cfg, search=False)
    base_cfg = dataclasses.replace(plain, structure="circulant", mode="dense", block_size=1, qat_bits=0)
    _, base = trainer.train(base_cfg, part, quiet=quiet)
    baseline = base["test_accuracy"]  # on the held-out part of the training split
    floor = baseline - cfg.search_tolerance
    trials: list[dict[str, Any]] = []
    accepted, failed, step = 0.0, MAX_RATE, cfg.search_step
    while step >= cfg.search_min_step:
        rate = round(accepted + step, 10)
        if rate >= failed:
            step /= 2
            continue
        _, m = trainer.train(dataclasses.replace(plain, prune_rate=rate), part, quiet=quiet)
        ok = m["test_accuracy"] >= floor
        trials.append(
            {
                "rate": rate,
                "step": step,
                "holdout_accuracy": m["test_accuracy"],
                "reached_rate": m["prune_rate"]["actual"],
                "compression_ratio": m["compression_ratio"],
                "accepted": ok,
            }
        )
        if not quiet:
            verdict = "holds" if ok else "below"
            print(
                f"search: rate {rate:.4f}: {m['test_accuracy']:.2f}% on the held-out part ({verdict} {floor:.2f}%)"
            )
        if ok:
            accepted = rate
        else:
            failed, step = rate, step / 2
    if accepted == 0.0:
        raise ValueError(
            f"the progressive search found no prune rate >= {cfg.search_min_step} whose held-out accuracy holds "
            f"the dense baseline {baseline:.2f}% - {cfg.search_tolerance} points (trials: "
            + ", ".join(f"{t['rate']:g} -> {t['holdout_accuracy']:.2f}%" for t in trials)
            + "); raise --search-tolerance or lower --search-min-step"
        )
    model, metrics = trainer.train(dataclasses.replace(plain, prune_rate=accepted), ds, quiet=quiet)
    metrics["search"] = {
        "holdout_sequences": len(part.test),
        "fit_sequences": len(part.train),
        "baseline_holdout_accuracy": baseline,
        "tolerance": cfg.search_tolerance,
        "first_step": cfg.search_step,
        "min_step": cfg.search_min_step,
        "trials": trials,
        "chosen_rate": accepted,
        "search_seconds": time.perf_counter() - t0,
    }
    return model, metrics
