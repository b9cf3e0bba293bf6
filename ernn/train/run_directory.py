"""Run directories written by ``ernn train``: ``config.json``, ``checkpoint.pt``, ``metrics.json`` and the
``ernn-manifest.json`` that lists them with their SHA-256 (:mod:`ernn.files.manifest`).

A run is written all or nothing (:func:`ernn.files.output_dir.output_directory`) and verified before it is
read: a truncated or edited checkpoint is refused with the file named, never half-loaded. The run records
its data by content hash (``config.json`` ``data.provenance``, :mod:`ernn.data.provenance`): export finds
exactly that data again or stops.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ernn import data
from ernn.data import provenance
from ernn.files import manifest
from ernn.files.output_dir import output_directory
from ernn.train import models
from ernn.train.trainer import SequenceModel, TrainConfig

KIND = "run"


def run_config(cfg: TrainConfig, ds: data.Dataset, model: SequenceModel) -> dict[str, Any]:
    return {
        "train": asdict(cfg),
        "model": {"cell": cfg.cell, **model.rnn.config(), "matvec": model.rnn.matvec},
        "data": {
            "name": ds.name,
            "task": ds.task,
            "num_features": ds.num_features,
            "num_classes": ds.num_classes,
            "mean": ds.mean.tolist(),
            "std": ds.std.tolist(),
            "provenance": ds.provenance,
            "input_range": input_range(ds),
        },
    }


def input_range(ds: data.Dataset) -> dict[str, Any]:
    """How far the normalised training features reach: their count, largest magnitude and how many lie
    beyond each power of two 1 .. 128 (export chooses the input shift from it, ernn.export.input_shift)."""
    magnitudes = np.abs(ds.normalise(ds.train.x)[ds.train.frame_mask])
    return {
        "values": int(magnitudes.size),
        "abs_max": float(magnitudes.max()),
        "beyond": {str(1 << j): int((magnitudes > (1 << j)).sum()) for j in range(8)},
    }


def save_run(
    out: str | Path,
    cfg: TrainConfig,
    ds: data.Dataset,
    model: SequenceModel,
    metrics: dict[str, Any],
    *,
    force: bool = False,
) -> Path:
    """Write the run directory ``out`` in one step (an existing run is replaced only with ``force``)."""
    config = run_config(cfg, ds, model)
    buf = io.BytesIO()
    torch.save({"state_dict": model.state_dict(), "config": config}, buf)
    with output_directory(out, KIND, force=force) as stage:
        (stage / "checkpoint.pt").write_bytes(buf.getvalue())
        (stage / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        (stage / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return Path(out)


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """A verified run's ``config.json`` (every file checked against the manifest first)."""
    run_dir = Path(run_dir)
    manifest.verify(run_dir, KIND)
    return json.loads((run_dir / "config.json").read_text())


def run_dataset(run_dir: str | Path, data_file: str | Path | None = None) -> data.Split:
    """The test split the run was trained with, found by the content hash it recorded
    (:func:`ernn.data.provenance.test_split`; ``data_file`` points at it if it moved)."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    split, _ = provenance.test_split(config["data"], owner=run_dir, data_file=data_file)
    return split


def load_run(run_dir: str | Path) -> tuple[SequenceModel, dict[str, Any]]:
    """Rebuild a trained model from a run directory written by ``ernn train``, verified first."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    ckpt_path = run_dir / "checkpoint.pt"
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if json.loads(json.dumps(ckpt["config"])) != config:
            raise ValueError("its embedded configuration differs from config.json")
        mcfg = dict(config["model"])
        cell = mcfg.pop("cell")
        if mcfg.get("matvec") == "tt":
            # tensor-train layers are built by their own module (ernn.train.tt), not ernn.train.models
            from ernn.train import tt

            mcfg.pop("matvec")
            if cell == "gru":
                mcfg.pop("proj_size", None)
            rnn = tt.build(cell, **mcfg)
        else:
            rnn = models.build(cell, **mcfg)
        model = SequenceModel(rnn, config["data"]["num_classes"], config["data"]["task"])
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, RuntimeError, TypeError, ValueError, EOFError, OSError) as exc:
        raise ValueError(f"{ckpt_path}: not a valid ernn checkpoint ({exc})") from exc
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{ckpt_path}: weight {name} holds NaN or infinity")
    return model, config
