"""Run directories written by ``ernn train``: ``config.json``, ``checkpoint.pt`` and ``metrics.json``.

One module reads and writes them, so that every command sees a run the same way.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ernn import data
from ernn.train import models
from ernn.train.trainer import SequenceModel, TrainConfig


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
        },
    }


def save_run(
    out: str | Path, cfg: TrainConfig, ds: data.Dataset, model: SequenceModel, metrics: dict[str, Any]
) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = run_config(cfg, ds, model)
    torch.save({"state_dict": model.state_dict(), "config": config}, out / "checkpoint.pt")
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return out


def run_dataset(run_dir: str | Path) -> data.Dataset:
    """The data set a run was trained on (its recorded files, or the embedded default), checked against
    the normalisation statistics the run recorded (:func:`ernn.data.load_recorded`)."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    tcfg = config["train"]
    return data.load_recorded(config["data"], tcfg.get("train_file"), tcfg.get("test_file"), owner=run_dir)


def load_run(run_dir: str | Path) -> tuple[SequenceModel, dict[str, Any]]:
    """Rebuild a trained model from a run directory written by ``ernn train``."""
    run_dir = Path(run_dir)
    ckpt_path = run_dir / "checkpoint.pt"
    if not ckpt_path.is_file():
        raise FileNotFoundError(
            f"{ckpt_path} does not exist: is {run_dir} a directory written by 'ernn train'?"
        )
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        config = ckpt["config"]
        mcfg = dict(config["model"])
        cell = mcfg.pop("cell")
        rnn = models.build(cell, **mcfg)
        model = SequenceModel(rnn, config["data"]["num_classes"], config["data"]["task"])
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"{ckpt_path}: not a valid ernn checkpoint ({exc})") from exc
    return model, config
