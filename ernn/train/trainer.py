"""Training of block-circulant RNNs: dense baseline, direct circulant training, and ADMM (E-RNN).

Modes, all on the same data, seed and total epoch budget E:

* ``dense``  — block size 1 for E epochs (the accuracy reference).
* ``direct`` — the circulant defining vectors are the parameters from the start (C-LSTM style), E epochs.
* ``admm``   — E-RNN: the first ``round(admm_fraction * E)`` epochs train dense weights W on
  ``loss + sum_m rho/2 ||W_m - Z_m + U_m||^2``; after every epoch Z_m = project(W_m + U_m) (Euclidean
  projection onto the block-circulant set) and U_m += W_m - Z_m; rho grows geometrically from
  ``rho_start`` to ``rho_end``. Then the weights are hard-projected (accuracy recorded right there) and
  fine-tuned in the circulant parameterisation for the remaining epochs.

Structures (``structure``): ``circulant`` (all three modes), ``csb`` and ``sparse`` (pruning structures,
:mod:`ernn.train.csb`, :mod:`ernn.train.sparse`; ``admm`` only): the same ADMM with the structure's
projection as the Z-step; the hard projection fixes each matrix's pruning pattern, and fine-tuning trains
the kept weights with the pattern as a buffer, so pruned weights stay exactly 0. ``search`` chooses the
prune rate first (:mod:`ernn.train.search`).

After any mode, ``qat_bits`` > 0 adds ``qat_epochs`` of quantization-aware fine-tuning through the golden
model's formats at that data-path width (:mod:`ernn.train.qat`).

The classifier is the RNN followed by a dense linear head: on the last valid frame's output for sequence
classification, on every frame's output for per-frame labelling. The head runs on the host (float); the
accelerator computes the RNN. Test accuracy is reported at the last epoch: no model selection on test.

Divergence: a non-finite loss (ADMM penalty included) or gradient norm at any batch, a non-finite weight
after any epoch or after the ADMM projection, or non-finite outputs when the model is evaluated stop the
run with :class:`TrainingDiverged` (a RuntimeError: ``ernn train`` prints it and exits 2, and writes no run
directory) naming the phase, epoch and batch. No accuracy is ever reported for NaN weights.
"""

from __future__ import annotations

import functools
import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ernn import data
from ernn.files import interrupts
from ernn.shape import BlockCirculant, StructureParams
from ernn.shape.structures import CSB, Sparse, implementation, structure_entry
from ernn.train import circulant, models, qat
from ernn.train.metrics import frame_error_rate, phone_error_rate

MODES = ("dense", "direct", "admm")
STRUCTURES = ("circulant", "csb", "sparse")


@dataclass
class TrainConfig:
    """Everything that defines a training run (written to ``config.json``)."""

    cell: str = "lstm"
    hidden_size: int = 32
    num_layers: int = 1
    proj_size: int = 0
    peephole: bool = False
    block_size: int = 8
    mode: str = "admm"
    task: str = "classify"
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-2
    rho_start: float = 0.1
    rho_end: float = 100.0
    admm_fraction: float = 0.6
    seed: int = 0
    train_file: str | None = None
    test_file: str | None = None
    threads: int = 1
    qat_bits: int = 0  # quantization-aware fine-tuning at this data-path width (0 = off; ernn.train.qat)
    qat_epochs: int = 10  # its epochs, after the schedule above, at lr * qat.LR_SCALE
    bucket_by_length: bool = False  # batches of similar lengths (batch_order): fewer padded steps
    structure: str = (
        "circulant"  # circulant (block_size), csb (csb_block, prune_rate), sparse (prune_rate, pes)
    )
    prune_rate: float = 0.75  # csb / sparse: fraction of each matrix's weights pruned
    csb_block: int = 32  # csb: square block size M
    pes: int = 0  # sparse: PEs of ESE's load-balanced variant (0 = plain magnitude pruning)
    search: bool = False  # csb / sparse: choose the prune rate by progressive search (ernn.train.search)
    search_step: float = 0.2  # its first step in prune rate
    search_min_step: float = 0.025  # it stops when the step falls below this
    search_tolerance: float = 1.0  # accuracy points below the dense baseline still accepted
    search_holdout: float = 0.2  # fraction of the training split held out to compare accuracies
    extra: dict[str, Any] = field(default_factory=dict)

    def structure_params(self) -> StructureParams:
        """The structure the run trains towards (block-circulant at ``block_size``, CSB or sparse)."""
        if self.structure == "csb":
            return CSB(self.csb_block, self.prune_rate)
        if self.structure == "sparse":
            return Sparse(self.prune_rate, self.pes)
        return BlockCirculant(self.block_size)

    def validate(self) -> TrainConfig:
        models.check_cell(self.cell)
        data.check_task(self.task)
        circulant.check_block_size(self.block_size)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mode == "dense" and self.block_size != 1:
            raise ValueError(f"mode 'dense' trains block_size=1, got block_size={self.block_size}")
        for name in ("hidden_size", "num_layers", "epochs", "batch_size", "threads", "proj_size", "seed"):
            value, least = getattr(self, name), 0 if name in ("proj_size", "seed") else 1
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
            if value < least:
                raise ValueError(f"{name} must be >= {least}, got {value}")
        for name in ("lr", "rho_start", "rho_end", "admm_fraction"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        for name in ("lr", "rho_start", "rho_end"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 < self.admm_fraction < 1.0:
            raise ValueError(f"admm_fraction must be in (0, 1), got {self.admm_fraction}")
        if self.mode == "admm" and round(self.admm_fraction * self.epochs) < 1:
            raise ValueError(
                f"epochs={self.epochs} x admm_fraction={self.admm_fraction} leaves no ADMM epoch"
            )
        self._validate_structure()
        return self

    def _validate_structure(self) -> None:
        if self.structure not in STRUCTURES:
            raise ValueError(
                f"structure (--structure) must be one of {', '.join(STRUCTURES)}, got {self.structure!r}"
            )
        structure_entry(self.structure)  # registered with a train stage (ernn.shape.structures)
        if self.structure == "circulant":
            qat.check(self.qat_bits, self.qat_epochs, self.block_size)
            if self.search:
                raise ValueError("search (--search) chooses the prune rate of --structure csb or sparse")
            return
        if self.mode != "admm":
            raise ValueError(
                f"structure {self.structure!r} is trained with --mode admm (ADMM, hard projection, masked "
                f"fine-tuning), got --mode {self.mode}"
            )
        if self.qat_bits:
            raise ValueError(
                f"qat_bits (--qat-bits) runs the golden model, which structure {self.structure!r} does not "
                "have yet (only its train stage exists)"
            )
        qat.check(0, self.qat_epochs, self.block_size)  # the other QAT options are checked alike
        rate = self.prune_rate
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 < rate < 1.0:
            raise ValueError(f"prune_rate (--prune-rate) must be a number in (0, 1), got {rate!r}")
        out_sizes = [self.hidden_size] + ([self.proj_size] if self.proj_size else [])
        if self.structure == "csb":
            m = self.csb_block
            if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 2:
                raise ValueError(f"csb_block (--csb-block) must be an integer >= 2, got {m!r}")
            for what, size in zip(("hidden_size", "proj_size"), out_sizes, strict=False):
                if size % m:
                    divisors = [d for d in range(2, size + 1) if size % d == 0]
                    raise ValueError(
                        f"csb_block (--csb-block) {m} does not divide {what} {size}: CSB blocks tile every "
                        f"gate's rows and the recurrent input; choose one of {divisors}"
                    )
        if self.structure == "sparse":
            pes = self.pes
            if isinstance(pes, bool) or not isinstance(pes, numbers.Integral) or pes < 0:
                raise ValueError(f"pes (--pes) must be an integer >= 0, got {pes!r}")
            if pes > min(out_sizes):
                raise ValueError(
                    f"pes (--pes) {pes} exceeds the rows of the smallest matrix ({min(out_sizes)}): "
                    "every PE needs rows"
                )
        if self.search:
            for name in ("search_step", "search_min_step", "search_tolerance", "search_holdout"):
                value = getattr(self, name)
                if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                    raise ValueError(
                        f"{name} (--{name.replace('_', '-')}) must be a finite number, got {value!r}"
                    )
            if not 0.0 < self.search_step < 1.0:
                raise ValueError(f"search_step (--search-step) must be in (0, 1), got {self.search_step}")
            if not 0.0 < self.search_min_step <= self.search_step:
                raise ValueError(
                    f"search_min_step (--search-min-step) must be in (0, search_step={self.search_step}], "
                    f"got {self.search_min_step}"
                )
            if self.search_tolerance < 0:
                raise ValueError(
                    f"search_tolerance (--search-tolerance) must be >= 0, got {self.search_tolerance}"
                )
            if not 0.0 < self.search_holdout < 1.0:
                raise ValueError(
                    f"search_holdout (--search-holdout) must be in (0, 1), got {self.search_holdout}"
                )


class TrainingDiverged(RuntimeError):
    """Training produced a non-finite loss, gradient, weight or output; the message says where.

    ``epoch`` and ``batch`` count from 1 (of ``epochs`` and ``batches``)."""

    def __init__(
        self,
        phase: str,
        what: str,
        *,
        epoch: int | None = None,
        epochs: int | None = None,
        batch: int | None = None,
        batches: int | None = None,
        lr: float | None = None,
    ) -> None:
        where = f"in the {phase} phase"
        if epoch is not None:
            where += f", epoch {epoch} of {epochs}"
        if batch is not None:
            where += f", batch {batch} of {batches}"
        hint = "lower --lr" + (f" (it is {lr:g})" if lr is not None else "")
        if phase == "admm":
            hint += " or --rho-end"
        super().__init__(f"training diverged {where}: {what}; {hint}, and check the data for extreme values")
        self.phase, self.epoch, self.batch = phase, epoch, batch


def check_finite_weights(model: nn.Module, phase: str, **where: Any) -> None:
    """Raise :class:`TrainingDiverged` naming the first weight of ``model`` that holds NaN or infinity;
    ``where``: TrainingDiverged's keywords (epoch, epochs, lr)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not bool(torch.isfinite(p).all()):
                raise TrainingDiverged(phase, f"the weight {name} is no longer finite", **where)


class SequenceModel(nn.Module):
    """An ``ernn`` LSTM/GRU (batch_first) followed by a linear head."""

    def __init__(self, rnn: models._CirculantRNNBase, num_classes: int, task: str) -> None:
        super().__init__()
        self.rnn, self.task = rnn, data.check_task(task)
        self.head = nn.Linear(rnn.output_size, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x, lengths=lengths)  # (B, T, H)
        if self.task == "frames":
            return self.head(out)
        last = out[torch.arange(out.shape[0]), lengths - 1]
        return self.head(last)


def build_model(cfg: TrainConfig, num_features: int, num_classes: int, block_size: int) -> SequenceModel:
    rnn = models.build(
        cfg.cell,
        input_size=num_features,
        hidden_size=cfg.hidden_size,
        num_layers=cfg.num_layers,
        proj_size=cfg.proj_size,
        batch_first=True,
        block_size=block_size,
        peephole=cfg.peephole,
    )
    return SequenceModel(rnn, num_classes, cfg.task)


def _loss_and_correct(model: SequenceModel, x: torch.Tensor, lengths: torch.Tensor, y: torch.Tensor):
    # frames past the batch's longest sequence are padding: not running them changes no valid output
    steps = int(lengths.max())
    x = x[:, :steps]
    if model.task == "frames":
        y = y[:, :steps]
    logits = model(x, lengths)
    if model.task == "frames":
        mask = torch.arange(x.shape[1])[None, :] < lengths[:, None]
        logits, y = logits[mask], y[mask]
    loss = nn.functional.cross_entropy(logits, y)
    finite = bool(torch.isfinite(logits).all())
    return loss, int((logits.argmax(-1) == y).sum()), int(y.numel()), finite


def evaluate(
    model: SequenceModel,
    split: data.Split,
    ds: data.Dataset,
    batch_size: int = 256,
    *,
    phase: str = "evaluation",
) -> float:
    """Accuracy (per sequence for ``classify``, per valid frame for ``frames``) in percent.

    Non-finite outputs raise :class:`TrainingDiverged` (``phase`` names the stage in its message) rather
    than scoring argmax(NaN)."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for start in range(0, len(split), batch_size):
            sl = slice(start, start + batch_size)
            x = torch.from_numpy(ds.normalise(split.x[sl]))
            _, c, n, finite = _loss_and_correct(
                model, x, torch.from_numpy(split.lengths[sl]), torch.from_numpy(split.y[sl])
            )
            if not finite:
                raise TrainingDiverged(
                    phase, f"the model's outputs are not finite on sequences {sl.start}..{sl.start + n - 1}"
                )
            correct, total = correct + c, total + n
    return 100.0 * correct / total


def predict_logits(model: SequenceModel, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x), torch.from_numpy(lengths)).numpy()


class _AdmmState:
    """Z and U of every weight matrix of a dense (block 1) model, and the penalty; ``target`` is the
    structure whose projection is the Z-step."""

    def __init__(self, rnn: models._CirculantRNNBase, target: StructureParams) -> None:
        self.rnn, self.target = rnn, target
        self.names = [name for name, _, _ in rnn.matrix_names()]
        self.z = {n: self._project(getattr(rnn, n).detach()) for n in self.names}
        self.u = {n: torch.zeros_like(getattr(rnn, n)) for n in self.names}

    def _project(self, w: torch.Tensor) -> torch.Tensor:
        # the ADMM Z-step: the structure's Euclidean projection (ernn.train.structure.TorchStructure)
        dense = w.squeeze(-1)  # (G, rows, cols)
        return implementation(self.target.name, "train").project_dense(dense, self.target).unsqueeze(-1)

    def penalty(self, rho: float) -> torch.Tensor:
        return sum(rho / 2 * (getattr(self.rnn, n) - self.z[n] + self.u[n]).pow(2).sum() for n in self.names)

    def update(self) -> float:
        """Z- and U-steps; returns the relative primal residual ||W - Z|| / ||W||."""
        num = den = 0.0
        with torch.no_grad():
            for n in self.names:
                w = getattr(self.rnn, n)
                self.z[n] = self._project(w + self.u[n])
                self.u[n] += w - self.z[n]
                num += float((w - self.z[n]).pow(2).sum())
                den += float(w.pow(2).sum())
        return math.sqrt(num / max(den, 1e-30))


def batch_order(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, bucket: bool = False
) -> list[np.ndarray]:
    """One epoch's batches: index arrays into the training split.

    Plain: a random permutation cut into batches. ``bucket``: the sequences sorted by length (ties broken
    at random) are cut into batches and the batches shuffled, so a batch holds sequences of similar length
    and a step past the batch's longest sequence is never computed (padding is trimmed per batch,
    :func:`_loss_and_correct`). On FSDD's long-tailed lengths (12 to 129 frames) random batches compute
    1.96x the real frames, sorted ones 1.05x. Batches stay random in order and (between equal lengths) in
    content; what changes is that short and long utterances no longer meet in one batch.
    """
    n = len(lengths)
    if not bucket:
        order = rng.permutation(n)
        return [order[start : start + batch_size] for start in range(0, n, batch_size)]
    order = np.lexsort((rng.random(n), np.asarray(lengths)))
    batches = [order[start : start + batch_size] for start in range(0, n, batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _run_epochs(
    model: SequenceModel,
    ds: data.Dataset,
    cfg: TrainConfig,
    epochs: int,
    rng: np.random.Generator,
    desc: str,
    admm: _AdmmState | None = None,
    history: list[dict[str, float]] | None = None,
    quiet: bool = False,
) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
    x_all = ds.normalise(ds.train.x)
    bar = tqdm(range(epochs), desc=desc, disable=quiet, leave=False)
    batches = -(-len(ds.train) // cfg.batch_size)
    for epoch in bar:
        interrupts.raise_if_received()  # Ctrl-C whose exception a finalizer swallowed
        rho = cfg.rho_start * (cfg.rho_end / cfg.rho_start) ** (epoch / max(epochs - 1, 1))
        model.train()
        loss_sum = correct = total = 0.0
        for batch, idx in enumerate(batch_order(ds.train.lengths, cfg.batch_size, rng, cfg.bucket_by_length)):
            where = dict(epoch=epoch + 1, epochs=epochs, batch=batch + 1, batches=batches, lr=cfg.lr)
            x = torch.from_numpy(x_all[idx])
            lengths = torch.from_numpy(ds.train.lengths[idx])
            y = torch.from_numpy(ds.train.y[idx])
            loss, c, n, _ = _loss_and_correct(model, x, lengths, y)
            if not bool(torch.isfinite(loss)):
                raise TrainingDiverged(desc, f"the loss is {float(loss)}", **where)
            total_loss = loss + admm.penalty(rho) if admm is not None else loss
            if not bool(torch.isfinite(total_loss)):
                raise TrainingDiverged(
                    desc, f"the ADMM penalty is {float((total_loss - loss).detach())} (rho={rho:g})", **where
                )
            opt.zero_grad()
            total_loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            if not bool(torch.isfinite(norm)):  # before the step: the weights stay finite
                raise TrainingDiverged(desc, f"the gradient norm is {float(norm)}", **where)
            try:
                opt.step()
            except RuntimeError as exc:  # torch refuses a step size beyond float32's range
                if "overflow" not in str(exc):
                    raise
                raise TrainingDiverged(
                    desc, f"the optimiser's step overflows float32 ({exc})", **where
                ) from exc
            loss_sum += float(loss.detach()) * n
            correct, total = correct + c, total + n
        sched.step()
        record = {
            "epoch": epoch,
            "phase": desc,
            "loss": loss_sum / total,
            "train_acc": 100.0 * correct / total,
        }
        check_finite_weights(model, desc, epoch=epoch + 1, epochs=epochs, lr=cfg.lr)
        if admm is not None:
            record["rho"] = rho
            record["primal_residual"] = admm.update()
            if not math.isfinite(record["primal_residual"]):
                raise TrainingDiverged(
                    desc,
                    "the ADMM primal residual ||W - Z|| / ||W|| is not finite",
                    epoch=epoch + 1,
                    epochs=epochs,
                    lr=cfg.lr,
                )
        if history is not None:
            history.append(record)
        bar.set_postfix(loss=f"{record['loss']:.3f}", acc=f"{record['train_acc']:.1f}")


#: weight width assumed where storage is given in bits (the export's default data path)
STORAGE_WEIGHT_BITS = 16


def storage_report(
    stored: dict[str, int], dense: int, weight_bits: int = STORAGE_WEIGHT_BITS
) -> dict[str, Any]:
    """A pruning structure's storage: its values, index overhead, and the compression ratio with the
    index at ``weight_bits``-bit weights (the plain ``compression_ratio`` counts values only)."""
    bits = weight_bits * stored["values"] + stored["index_bits"]
    return {
        **stored,
        "weight_bits": weight_bits,
        "total_bits": bits,
        "dense_bits": weight_bits * dense,
        "compression_ratio_with_index": weight_bits * dense / bits,
    }


def train(
    cfg: TrainConfig, ds: data.Dataset | None = None, quiet: bool = False
) -> tuple[SequenceModel, dict[str, Any]]:
    """Train one model; returns it and its metrics (see ``metrics.json``)."""
    cfg.validate()
    ds = ds or data.load(cfg.task, cfg.train_file, cfg.test_file)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(cfg.seed)
    k = cfg.block_size
    target = cfg.structure_params()
    largest = max(ds.num_features, cfg.hidden_size)
    if isinstance(target, CSB) and target.block > largest:
        raise ValueError(
            f"csb_block (--csb-block) {target.block} is larger than every layer (features={ds.num_features}, "
            f"hidden={cfg.hidden_size})"
        )
    if isinstance(target, BlockCirculant) and k > largest:
        raise ValueError(
            f"block_size={k} is larger than every layer (features={ds.num_features}, hidden={cfg.hidden_size})"
        )
    history: list[dict[str, float]] = []
    metrics: dict[str, Any] = {}
    t0 = time.perf_counter()
    if cfg.mode == "admm":
        dense = build_model(cfg, ds.num_features, ds.num_classes, block_size=1)
        admm_epochs = round(cfg.admm_fraction * cfg.epochs)
        state = _AdmmState(dense.rnn, target)
        _run_epochs(dense, ds, cfg, admm_epochs, rng, "admm", admm=state, history=history, quiet=quiet)
        metrics["accuracy_before_projection"] = evaluate(dense, ds.test, ds, phase="admm")
        model = SequenceModel(dense.rnn.to_structure(target), ds.num_classes, cfg.task)
        model.head.load_state_dict(dense.head.state_dict())
        check_finite_weights(model, "admm", lr=cfg.lr)  # the hard projection
        metrics["accuracy_after_projection"] = evaluate(model, ds.test, ds, phase="admm")
        metrics["final_primal_residual"] = history[-1]["primal_residual"]
        _run_epochs(model, ds, cfg, cfg.epochs - admm_epochs, rng, "finetune", history=history, quiet=quiet)
    else:
        model = build_model(cfg, ds.num_features, ds.num_classes, block_size=k)
        _run_epochs(model, ds, cfg, cfg.epochs, rng, cfg.mode, history=history, quiet=quiet)
    if cfg.qat_bits:  # fine-tuning through the golden model's formats (ernn.train.qat)
        run = functools.partial(_run_epochs, rng=rng, history=history, quiet=quiet)
        metrics["qat"] = qat.finetune(model, ds, cfg, run_epochs=run, evaluate=evaluate)
    phase = "finetune" if cfg.mode == "admm" else cfg.mode
    counts = model.rnn.parameter_counts()
    metrics.update(
        {
            "test_accuracy": evaluate(model, ds.test, ds, phase=phase),
            "train_accuracy": evaluate(model, ds.train, ds, phase=phase),
            "test_sequences": len(ds.test),
            "parameters": counts,
            "compression_ratio": counts["weights_dense"] / counts["weights_stored"],
            "multiplies_per_step": model.rnn.multiplies_per_step(),
            "train_seconds": time.perf_counter() - t0,
            "history": history,
        }
    )
    if model.rnn.masked:  # a pruning structure: the rate reached and the stored format with its index
        metrics["structure"] = target.to_dict()
        metrics["prune_rate"] = {
            "target": target.prune_rate,
            "actual": 1.0 - counts["weights_stored"] / counts["weights_dense"],
        }
        metrics["storage"] = storage_report(model.rnn.storage(), counts["weights_dense"])
    if cfg.task == "frames":  # speech scores (ernn.train.metrics) on the test split
        test, step = ds.test, 256
        batches = [slice(i, i + step) for i in range(0, len(test), step)]
        logits = [predict_logits(model, ds.normalise(test.x[b]), test.lengths[b]) for b in batches]
        predicted = np.concatenate(logits).argmax(-1)
        metrics["frame_error_rate"] = frame_error_rate(predicted, test.y, test.lengths)
        metrics["phone_error_rate"] = phone_error_rate(predicted, test.y, test.lengths)
    return model, metrics
