"""Sequence data sets: the embedded JapaneseVowels default and users' own ``.npz`` files.

Modules beside this one: ``audio`` (reading WAV/SPHERE recordings), ``features`` (log-mel/MFCC front end),
``wav`` (``ernn data wav|fsdd``: recordings -> a data set), ``timit`` (``ernn data timit``), ``provenance``
(finding a model's own data again by content hash).

A data set is a pair of splits; each split holds

* ``x``       float32 (N, T_max, F): the sequences, zero-padded after each one's end,
* ``lengths`` int64 (N,): the number of valid frames of each sequence (1 <= length <= T_max),
* ``y``       int64 (N,) for sequence classification, or (N, T_max) for per-frame labelling
              (entries past a sequence's end are ignored and may hold anything, conventionally -1).

Users' files (``--train FILE.npz --test FILE.npz``) hold exactly these three arrays under these names.
Features are normalised with the training split's per-feature mean and standard deviation (over valid
frames); the statistics travel with the trained model.

What a file may hold (anything else is refused with a ValueError that names the file, the array, the
dtype found and the dtype expected; nothing is converted silently):

* ``x``: real numbers, i.e. floating-point or integer dtypes, all finite, also once converted to float32.
  Complex arrays are refused (their imaginary part would be lost), and so are booleans, strings/bytes,
  Python objects (pickles are never loaded), structured records and dates: cast explicitly, e.g.
  ``x.astype(np.float32)``, or split a complex signal into real and imaginary features.
* ``lengths`` and ``y``: integer dtypes (signed or unsigned). Floats are refused even when they hold whole
  numbers (1.0), so that 1.5 and 1.0 are treated alike; booleans are refused too. Cast whole-number floats
  with ``astype(np.int64)`` once you have checked them.

Class labels (on valid frames for ``--task frames``) are class indices 0 .. C-1, where C = (largest label
of either split) + 1 is the size of the model's output layer. Refused, with a message that names the
file, the largest label and the number of distinct labels, and says to remap the labels to 0 .. C-1
(e.g. ``np.unique(y, return_inverse=True)[1]``, the same mapping for both files):

* a negative label;
* C > :data:`MAX_CLASSES` (1024): such labels are almost certainly identifiers, not class indices;
* labels that are not dense indices: more than half of 0 .. C-1 never occur in the training split
  (labels {0, 7, 1000} are three classes, not 1001; {0, 2} is accepted as three classes, 1 unused).

A test label that never occurs in training but lies within 0 .. C-1 is accepted (C counts it, the model
simply never predicts that class well, and accuracy counts those sequences as errors). It is not refused
because small splits drawn at random (tests, ``export_random``'s synthetic data) legitimately miss a
class; the density rule above still refuses a test file whose labels are far beyond the training ones.

JapaneseVowels (UCI; Kudo et al. 1999): 9 speakers, 12 LPC-cepstrum coefficients per frame, 7 to 29
frames per utterance, 270 training and 370 test utterances. It ships inside the sktime wheel and is read
with sktime's own loader, offline.

Provenance: :func:`file_sha256` hashes a file's bytes, :func:`split_sha256` a split's content (so the
embedded data have a hash too) and :attr:`Dataset.provenance` names both splits' files and hashes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TASKS = ("classify", "frames")

#: The largest number of classes (largest label of either split + 1) a data set may define.
MAX_CLASSES = 1024

_KIND_NAMES = {
    "b": "boolean",
    "c": "complex",
    "O": "Python object",
    "U": "string",
    "S": "bytes",
    "V": "structured (record)",
    "M": "datetime",
    "m": "timedelta",
    "f": "floating-point",
}
_WANT = {
    "real": ("fiu", "real numbers (a floating-point or integer dtype)"),
    "integer": ("iu", "integers (an integer dtype such as int64)"),
}


def check_dtype(array: np.ndarray, source: str, name: str, want: str) -> None:
    """Refuse an array whose dtype is not ``want`` ('real': floats or integers; 'integer': integers).

    The ValueError names ``source`` (the file) and the array, the dtype found and the one expected."""
    kinds, expected = _WANT[want]
    kind = array.dtype.kind
    if kind in kinds:
        return
    found = _KIND_NAMES.get(kind, "non-numeric")
    hint = {
        "c": "; the imaginary part would be lost: pass the real part, or real and imaginary parts as separate "
        "features",
        "b": "; cast it explicitly (astype(np.float32) or astype(np.int64))",
        "f": "; whole-number floats are refused too: cast with astype(np.int64) after checking them",
    }.get(kind, "")
    raise ValueError(
        f"{source}: '{name}' must be an array of {expected}; it holds {found} values (dtype {array.dtype})"
        + hint
    )


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
    train_path: Path | None = None  # the file each split was read from; None: the embedded data
    test_path: Path | None = None

    @property
    def num_features(self) -> int:
        return self.train.x.shape[2]

    def normalise(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)

    @property
    def provenance(self) -> dict[str, Any]:
        """Where each split came from (absolute path, None for the embedded data) and its content hash."""

        def one(split: Split, path: Path | None) -> dict[str, Any]:
            return {"path": None if path is None else str(path), "sha256": split_sha256(split)}

        return {
            "name": self.name,
            "task": self.task,
            "train": one(self.train, self.train_path),
            "test": one(self.test, self.test_path),
        }


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def split_sha256(split: Split) -> str:
    """Hex SHA-256 of a split's content: x as little-endian float32, lengths and y as little-endian int64,
    each C-ordered and preceded by its name and shape. Independent of the file format, so equal data in
    two files (or the embedded data) hash alike."""
    digest = hashlib.sha256()
    for name, array, dtype in (
        ("x", split.x, "<f4"),
        ("lengths", split.lengths, "<i8"),
        ("y", split.y, "<i8"),
    ):
        canonical = np.ascontiguousarray(array, dtype=dtype)
        digest.update(f"{name}:{dtype}:{canonical.shape};".encode())
        digest.update(canonical.tobytes())
    return digest.hexdigest()


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    return task


_REMAP = "remap them to 0..C-1, e.g. y = np.unique(y, return_inverse=True)[1]"


def validate_split(split: Split, task: str, source: str) -> Split:
    """Check shapes, dtypes and ranges; raise a ValueError naming ``source`` and the array at fault."""
    x, lengths, y = (np.asarray(a) for a in (split.x, split.lengths, split.y))
    check_dtype(x, source, "x", "real")
    if x.ndim != 3 or x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(f"{source}: 'x' must have shape (N, T_max, F) with N, T_max, F >= 1, got {x.shape}")
    with np.errstate(over="ignore"):  # values beyond float32's range become inf, refused just below
        x32 = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x32)):
        big = " (or values beyond float32's range, |x| > 3.4e38)" if np.all(np.isfinite(x)) else ""
        raise ValueError(f"{source}: 'x' must hold finite numbers; it holds NaN or infinity{big}")
    check_dtype(lengths, source, "lengths", "integer")
    if lengths.shape != (x.shape[0],):
        raise ValueError(
            f"{source}: 'lengths' must be an integer array of shape ({x.shape[0]},), got {lengths.dtype} {lengths.shape}"
        )
    if lengths.min() < 1 or lengths.max() > x.shape[1]:
        raise ValueError(
            f"{source}: 'lengths' must lie in [1, T_max={x.shape[1]}], got [{lengths.min()}, {lengths.max()}]"
        )
    check_dtype(y, source, "y", "integer")
    want = (x.shape[0],) if task == "classify" else x.shape[:2]
    if y.shape != want:
        raise ValueError(
            f"{source}: 'y' must be an integer array of shape {want} for task '{task}', got {y.dtype} {y.shape}"
        )
    lengths = lengths.astype(np.int64, copy=False)
    valid = y if task == "classify" else y[np.arange(x.shape[1])[None, :] < lengths[:, None]]
    if valid.min() < 0:
        raise ValueError(
            f"{source}: 'y' holds a negative class label ({valid.min()}) on a valid frame; labels are 0..C-1: "
            + _REMAP
        )
    if int(valid.max()) >= MAX_CLASSES:
        raise ValueError(
            f"{source}: 'y' holds the label {valid.max()}, which would make {int(valid.max()) + 1} classes "
            f"(limit {MAX_CLASSES}); the labels must be class indices 0..C-1 ({len(np.unique(valid))} distinct "
            f"labels here): " + _REMAP
        )
    # past a sequence's end y may hold anything; int64 keeps any int64 or wraps huge unsigned padding
    return Split(x32, lengths, y.astype(np.int64, copy=False))


def count_classes(train: Split, test: Split, task: str, train_source: str, test_source: str) -> int:
    """C = the largest label of either split + 1 (the output layer's size), after checking that the labels
    are dense class indices (rules in the module docstring)."""

    def labels(split: Split) -> np.ndarray:
        return split.y if task == "classify" else split.y[split.frame_mask]

    train_labels, test_labels = labels(train), labels(test)
    top_train, top_test = int(train_labels.max()), int(test_labels.max())
    largest, where = (top_train, train_source) if top_train >= top_test else (top_test, test_source)
    classes = largest + 1
    present = len(np.unique(train_labels))
    if 2 * present < classes:
        raise ValueError(
            f"{where}: 'y' holds the label {largest}, so the model would have {classes} classes, but the "
            f"training split {train_source} holds only {present} distinct labels: more than half of the classes "
            f"0..{classes - 1} never occur in training. Labels must be class indices 0..C-1: "
            + _REMAP
            + ", with the same mapping for the test labels"
        )
    return classes


def load_npz(path: str | Path, task: str) -> Split:
    """Read a user's split from an ``.npz`` holding ``x``, ``lengths`` and ``y``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:  # zipfile, pickle and format errors: name the file
        raise ValueError(f"{path}: not a readable .npz archive of numeric arrays ({exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: a single .npy array, not an .npz archive holding x, lengths and y")
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except Exception as exc:
                why = (
                    "holds Python objects (dtype object), which are never unpickled; save it with a numeric dtype"
                    if "allow_pickle" in str(exc)
                    else f"cannot be read ({exc})"
                )
                raise ValueError(f"{path}: array '{key}' {why}") from exc
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
        train_path = test_path = None
        train_source, test_source = "JapaneseVowels train", "JapaneseVowels test"
    else:
        name = Path(train).stem
        tr, te = load_npz(train, task), load_npz(test, task)
        train_path, test_path = Path(train).resolve(), Path(test).resolve()
        train_source, test_source = str(train), str(test)
        if tr.x.shape[2] != te.x.shape[2]:
            raise ValueError(f"{test}: {te.x.shape[2]} features per frame, but {train} has {tr.x.shape[2]}")
    num_classes = count_classes(tr, te, task, train_source, test_source)
    mask = tr.frame_mask
    frames = tr.x[mask]
    mean = frames.mean(axis=0)
    std = frames.std(axis=0)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        raise ValueError(
            f"{train_source}: the per-feature mean or standard deviation of 'x' overflows float32; "
            "scale the features down"
        )
    std = np.where(std > 1e-8, std, 1.0)
    return Dataset(
        name,
        task,
        tr,
        te,
        num_classes,
        mean.astype(np.float32),
        std.astype(np.float32),
        train_path=train_path,
        test_path=test_path,
    )


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
