"""pytest configuration shared by tests/ (Python only) and tb/ (tests that run HDL tools).

* Simulator builds go to ``build/cache`` inside the checkout unless ``ERNN_CACHE_DIR`` says otherwise
  (set before any ``ernn`` module computes its paths).
* Tests marked ``slow`` are left out unless a ``-m`` expression is given (``make test-long`` runs
  ``pytest -m slow``), so that ``make test`` stays within its time budget.
* :func:`tiny_model`: the one "train a tiny model on synthetic data, then export it" fixture.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("ERNN_CACHE_DIR", str(ROOT / "build" / "cache"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr", default=""):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("slow") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@dataclass(frozen=True)
class TinyModel:
    """A trained run directory, its exported model directory and the data files it was trained on."""

    run: Path
    model: Path
    train: Path
    test: Path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory):
    """Factory: ``tiny_model(cell=..., hidden=..., ..., export=[extra export args])`` -> :class:`TinyModel`.

    The data are ``classes`` Gaussian clusters of ``features``-dimensional frames (sequence lengths 2 ..
    ``steps``, zero-padded), drawn from ``seed``; the model is trained for ``epochs`` with ``ernn train`` and
    exported with ``ernn export``. Identical requests within a test session share one model.
    """
    import numpy as np

    from ernn import cli, data

    made: dict[tuple, TinyModel] = {}

    def make(
        *,
        cell: str = "lstm",
        hidden: int = 8,
        block: int = 4,
        layers: int = 1,
        proj: int = 0,
        peephole: bool = False,
        epochs: int = 1,
        features: int = 6,
        steps: int = 6,
        classes: int = 3,
        train_n: int = 32,
        test_n: int = 12,
        seed: int = 0,
        export: tuple[str, ...] = (),
    ) -> TinyModel:
        key = (cell, hidden, block, layers, proj, peephole, epochs, features, steps, classes, train_n,
               test_n, seed, tuple(export))  # fmt: skip
        if key in made:
            return made[key]
        folder = tmp_path_factory.mktemp(f"tiny_{cell}{hidden}_k{block}")
        rng = np.random.default_rng(seed)
        centroids = rng.normal(size=(classes, features)) * 2

        def split(n: int) -> data.Split:
            lengths = rng.integers(2, steps + 1, n)
            y = rng.integers(0, classes, n)
            x = (rng.normal(size=(n, steps, features)) + centroids[y][:, None, :]).astype(np.float32)
            x[np.arange(steps)[None] >= lengths[:, None]] = 0
            return data.Split(x, lengths, y)

        train_file, test_file = folder / "train.npz", folder / "test.npz"
        data.save_npz(train_file, split(train_n))
        data.save_npz(test_file, split(test_n))
        run, out = folder / "run", folder / "model"
        args = ["train", "--out", str(run), "--cell", cell, "--hidden-size", str(hidden)]
        args += ["--block-size", str(block), "--num-layers", str(layers), "--epochs", str(epochs), "--quiet"]
        args += ["--train", str(train_file), "--test", str(test_file)]
        if proj:
            args += ["--proj-size", str(proj)]
        if peephole:
            args += ["--peephole"]
        assert cli.main(args) == 0, "ernn train of the tiny model failed"
        assert cli.main(["export", "--checkpoint", str(run), "--out", str(out), *export]) == 0, (
            "ernn export of the tiny model failed"
        )
        made[key] = TinyModel(run, out, train_file, test_file)
        return made[key]

    return make
