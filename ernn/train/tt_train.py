"""Float training of tensor-train LSTM/GRU classifiers with rank adaptation (``ernn train --structure tt``).

The cores are trained directly from a random initialisation (:class:`ernn.train.tt.TTLSTM` /
:class:`~ernn.train.tt.TTGRU`, Adam, cosine learning rate, gradient-norm clip 5, as
:mod:`ernn.train.trainer` trains every other structure). With ``rank_threshold`` > 0 the loss carries the
rank-determining prior of :class:`ernn.train.tt.RankPrior` and, after every epoch, the prior variances
take their MAP values and rank slices below the threshold are pruned; every epoch's effective ranks are
recorded (``metrics["history"][e]["ranks"]``, the rank trajectory) and the final ones in
``metrics["ranks"]``. The run directory is the one every ``ernn train`` writes
(:func:`ernn.train.run_directory.save_run`).
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ernn import data
from ernn.files import interrupts
from ernn.shape.structures import TensorTrain
from ernn.train import models, tt
from ernn.train.trainer import (
    SequenceModel,
    TrainingDiverged,
    _loss_and_correct,
    batch_order,
    check_finite_weights,
    evaluate,
)


@dataclass
class TTTrainConfig:
    """A tensor-train training run (written to ``config.json`` as ``train``)."""

    cell: str = "lstm"
    hidden_size: int = 32
    num_layers: int = 1
    proj_size: int = 0
    structure: str = "tt"
    mode: str = "direct"  # the cores from a random initialisation
    tt_cores: int = 2
    tt_rank: int = 8
    tt_rank_threshold: float = 0.0  # > 0: rank adaptation (prior variance below which a slice is pruned)
    # scale of the rank prior against the data term (1 = the Bayesian posterior). 0.1: on JapaneseVowels
    # (GRU 32, TT rank 4, 20 epochs, seed 0) weight 1 cost 2.7 test points with nothing pruned, 0.1 none
    prior_weight: float = 0.1
    task: str = "classify"
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-2
    seed: int = 0
    threads: int = 1
    train_file: str | None = None
    test_file: str | None = None

    def structure_params(self) -> TensorTrain:
        return TensorTrain(self.tt_cores, self.tt_rank, self.tt_rank_threshold)

    def validate(self) -> TTTrainConfig:
        models.check_cell(self.cell)
        data.check_task(self.task)
        if self.mode != "direct":
            raise ValueError(
                f"--structure tt trains its cores directly from a random initialisation: pass --mode direct "
                f"(got --mode {self.mode})"
            )
        for name in ("hidden_size", "num_layers", "epochs", "batch_size", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("lr", "prior_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.structure_params()  # cores, rank, threshold checked, errors named
        return self


def build_model(cfg: TTTrainConfig, num_features: int, num_classes: int) -> SequenceModel:
    kwargs: dict[str, Any] = {"proj_size": cfg.proj_size} if cfg.cell == "lstm" else {}
    if cfg.cell == "gru" and cfg.proj_size:
        raise ValueError("proj_size is an LSTM option; GRU takes proj_size=0")
    rnn = tt.build(
        cfg.cell,
        input_size=num_features,
        hidden_size=cfg.hidden_size,
        num_layers=cfg.num_layers,
        batch_first=True,
        structure=cfg.structure_params(),
        **kwargs,
    )
    return SequenceModel(rnn, num_classes, cfg.task)


def train(
    cfg: TTTrainConfig, ds: data.Dataset | None = None, quiet: bool = False
) -> tuple[SequenceModel, dict[str, Any]]:
    """Train one TT model; returns it and its metrics (rank trajectory included)."""
    cfg.validate()
    ds = ds or data.load(cfg.task, cfg.train_file, cfg.test_file)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    model = build_model(cfg, ds.num_features, ds.num_classes)
    rnn = model.rnn
    prior = tt.RankPrior(rnn, len(ds.train), cfg.tt_rank_threshold) if cfg.tt_rank_threshold else None
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    x_all = ds.normalise(ds.train.x)
    history: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    batches = -(-len(ds.train) // cfg.batch_size)
    for epoch in tqdm(range(cfg.epochs), desc="tt", disable=quiet, leave=False):
        interrupts.raise_if_received()  # Ctrl-C whose exception a finalizer swallowed
        model.train()
        loss_sum = correct = total = 0.0
        for batch, idx in enumerate(batch_order(ds.train.lengths, cfg.batch_size, rng)):
            where = dict(epoch=epoch + 1, epochs=cfg.epochs, batch=batch + 1, batches=batches, lr=cfg.lr)
            x = torch.from_numpy(x_all[idx])
            loss, c, n, _ = _loss_and_correct(
                model, x, torch.from_numpy(ds.train.lengths[idx]), torch.from_numpy(ds.train.y[idx])
            )
            objective = loss + cfg.prior_weight * prior.penalty() if prior is not None else loss
            if not bool(torch.isfinite(objective)):
                raise TrainingDiverged("tt", f"the loss is {float(objective)}", **where)
            opt.zero_grad()
            objective.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            if not bool(torch.isfinite(norm)):
                raise TrainingDiverged("tt", f"the gradient norm is {float(norm)}", **where)
            opt.step()
            loss_sum += float(loss.detach()) * n
            correct, total = correct + c, total + n
        sched.step()
        check_finite_weights(model, "tt", epoch=epoch + 1, epochs=cfg.epochs, lr=cfg.lr)
        ranks = prior.update() if prior is not None else rnn.effective_ranks()
        history.append(
            {
                "epoch": epoch,
                "phase": "tt",
                "loss": loss_sum / total,
                "train_acc": 100.0 * correct / total,
                "ranks": ranks,
                "weights_stored": rnn.parameter_counts()["weights_stored"],
            }
        )
    counts = rnn.parameter_counts()
    metrics = {
        "test_accuracy": evaluate(model, ds.test, ds, phase="tt"),
        "train_accuracy": evaluate(model, ds.train, ds, phase="tt"),
        "test_sequences": len(ds.test),
        "structure": cfg.structure_params().to_dict(),
        "parameters": counts,
        "compression_ratio": counts["weights_dense"] / counts["weights_stored"],
        "multiplies_per_step": rnn.multiplies_per_step(),
        "ranks": rnn.effective_ranks(),
        "train_seconds": time.perf_counter() - t0,
        "history": history,
    }
    return model, metrics
