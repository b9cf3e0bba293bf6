"""Sequence data sets: the embedded JapaneseVowels default and users' own ``.npz`` files.

A data set is a pair of splits; each split holds

* ``x``       float32 (N, T_max, F): the sequences, zero-padded after each one's end,
* ``lengths`` int64 (N,): the number of valid frames of each sequence (1 <= length <= T_max),
* ``y``       int64 (N,) for sequence classification, or (N, T_max) for per-frame labelling
              (entries past a sequence's end are ignored and may hold anything, conventionally -1).

Users' files (``--train FILE.npz --test FILE.npz``) hold exactly these three arrays under these names.
Class labels are 0 .. C-1. Features are normalised with the training split's per-feature mean and
standard deviation (over valid frames); the statistics travel with the trained model.

JapaneseVowels (UCI; Kudo et al. 1999): 9 speakers, 12 LPC-cepstrum coefficients per frame, 7 to 29
frames per utterance, 270 training and 370 test utterances. It ships inside the sktime wheel and is read
with sktime's own loader, offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

TASKS = ("classify", "frames")


@dataclass
class Split:
    """One split of a sequence data set (see the module docstring for the arrays)."""

    x: np.ndarray
    lengths: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def frame_mask(self) -> np.ndarray:
        """(N, T_max) bool: True on valid frames."""
        return np.arange(self.x.shape[1])[None, :] < self.lengths[:, None]


@dataclass
class Dataset:
    name: str
    task: str
    train: Split
    test: Split
    num_classes: int
    mean: np.ndarray
    std: np.ndarray

    @property
    def num_features(self) -> int:
        return self.train.x.shape[2]

    def normalise(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    return task


def validate_split(split: Split, task: str, source: str) -> Split:
    """Check shapes, dtypes and ranges; raise a ValueError naming ``source`` and the array at fault."""
    x, lengths, y = split.x, split.lengths, split.y
    if x.ndim != 3 or x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(f"{source}: 'x' must have shape (N, T_max, F) with N, T_max, F >= 1, got {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise ValueError(f"{source}: 'x' must hold finite numbers")
    if lengths.shape != (x.shape[0],) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(
            f"{source}: 'lengths' must be an integer array of shape ({x.shape[0]},), got {lengths.dtype} {lengths.shape}"
        )
    if lengths.min() < 1 or lengths.max() > x.shape[1]:
        raise ValueError(
            f"{source}: 'lengths' must lie in [1, T_max={x.shape[1]}], got [{lengths.min()}, {lengths.max()}]"
        )
    want = (x.shape[0],) if task == "classify" else x.shape[:2]
    if y.shape != want or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{source}: 'y' must be an integer array of shape {want} for task '{task}', got {y.dtype} {y.shape}"
        )
    valid = y if task == "classify" else y[split.frame_mask]
    if valid.min() < 0:
        raise ValueError(
            f"{source}: 'y' holds a negative class label ({valid.min()}) on a valid frame; labels are 0..C-1"
        )
    return Split(x.astype(np.float32), lengths.astype(np.int64), y.astype(np.int64))


def load_npz(path: str | Path, task: str) -> Split:
    """Read a user's split from an ``.npz`` holding ``x``, ``lengths`` and ``y``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except Exception as exc:  # zipfile, pickle and format errors: name the file
        raise ValueError(f"{path}: not a readable .npz archive of numeric arrays ({exc})") from exc
    missing = [k for k in ("x", "lengths", "y") if k not in arrays]
    if missing:
        raise ValueError(f"{path}: missing array(s) {', '.join(missing)}; an .npz needs x, lengths and y")
    split = Split(arrays["x"], arrays["lengths"], arrays["y"])
    return validate_split(split, task, str(path))


def save_npz(path: str | Path, split: Split) -> None:
    np.savez(path, x=split.x, lengths=split.lengths, y=split.y)


def _japanese_vowels_split(split: str, task: str) -> Split:
    from sktime.datasets import load_japanese_vowels  # imported lazily: pandas/sklearn are slow to import

    frame, labels = load_japanese_vowels(split=split, return_type="nested_univ")
    n = len(frame)
    seqs = [np.stack([frame.iloc[i, j].to_numpy() for j in range(frame.shape[1])], axis=1) for i in range(n)]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    x = np.zeros((n, lengths.max(), seqs[0].shape[1]), dtype=np.float32)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = s
    y_seq = np.array([int(v) - 1 for v in labels], dtype=np.int64)  # speakers '1'..'9' -> 0..8
    y = (
        y_seq
        if task == "classify"
        else np.where(np.arange(x.shape[1])[None] < lengths[:, None], y_seq[:, None], -1)
    )
    return validate_split(Split(x, lengths, y), task, f"JapaneseVowels {split}")


def load(task: str = "classify", train: str | Path | None = None, test: str | Path | None = None) -> Dataset:
    """The embedded JapaneseVowels data (no paths) or a user's pair of ``.npz`` files."""
    check_task(task)
    if (train is None) != (test is None):
        raise ValueError(
            "give both --train and --test files, or neither for the embedded JapaneseVowels data"
        )
    if train is None:
        name = "JapaneseVowels"
        tr, te = _japanese_vowels_split("train", task), _japanese_vowels_split("test", task)
    else:
        name = Path(train).stem
        tr, te = load_npz(train, task), load_npz(test, task)
        if tr.x.shape[2] != te.x.shape[2]:
            raise ValueError(f"{test}: {te.x.shape[2]} features per frame, but {train} has {tr.x.shape[2]}")
    mask = tr.frame_mask
    frames = tr.x[mask]
    mean = frames.mean(axis=0)
    std = frames.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    labels = [s.y if task == "classify" else s.y[s.frame_mask] for s in (tr, te)]
    num_classes = int(max(v.max() for v in labels)) + 1
    return Dataset(name, task, tr, te, num_classes, mean.astype(np.float32), std.astype(np.float32))


def load_recorded(
    recorded: dict, train: str | Path | None, test: str | Path | None, *, owner: str | Path
) -> Dataset:
    """The data set a run or a model directory recorded (its ``data`` section: task, mean, std), loaded
    from ``train``/``test`` (None: the embedded JapaneseVowels) and checked to be the same data: the
    feature count and the training split's normalisation statistics must match, else ValueError names the
    files and ``owner``. No command computes on other data than the one a model was trained on."""
    ds = load(recorded["task"], train, test)
    mean = np.asarray(recorded["mean"], dtype=np.float32)
    std = np.asarray(recorded["std"], dtype=np.float32)
    same = (
        ds.mean.shape == mean.shape
        and np.allclose(ds.mean, mean, rtol=1e-5, atol=1e-6)
        and np.allclose(ds.std, std, rtol=1e-5, atol=1e-6)
    )
    if not same:
        where = f"{train}, {test}" if train else "the embedded JapaneseVowels data"
        raise ValueError(
            f"{where}: not the data {owner} was trained on (feature count or normalisation statistics "
            "differ from the recorded ones); the training files were changed or moved"
        )
    return ds
