"""Running an exported model on users' arrays (golden model) and scoring float vs golden on a test split.

Input arrays (``.npy``) are in the training data's units (the model directory's normalisation is applied):
``(T, F)`` for one sequence or ``(N, T, F)`` for a batch; a ragged batch is zero-padded with its lengths in
a separate ``(N,)`` integer ``.npy`` (``--lengths``). The output has the input's leading shape with the last
layer's output size: ``(T, O)`` or ``(N, T, O)``, dequantized floats (or integers of Q(data) with ``raw``),
zero after each sequence's end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ernn import data
from ernn.export.writer import ExportedModel
from ernn.golden.float_reference import run_float


def load_array(path: str | Path, what: str) -> np.ndarray:
    """Read a user's ``.npy``: ``what`` 'lengths' must hold integers, anything else (the input) real numbers;
    complex, boolean, string, object and structured arrays are refused naming the file (nothing is cast
    silently: a complex input would lose its imaginary part)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{what} {path} is a folder; give an .npy file")
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable .npy array ({exc})") from exc
    if not isinstance(array, np.ndarray):  # an .npz archive
        array.close()
        raise ValueError(f"{path}: an .npz archive; {what} must be a single .npy array")
    data.check_dtype(array, str(path), what, "integer" if what == "lengths" else "real")
    return array


def prepare_input(
    model: ExportedModel,
    x: np.ndarray,
    lengths: np.ndarray | None,
    source: str = "input",
    lengths_source: str = "lengths",
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate and normalise a user's array; returns (x (N, T, F) normalised, lengths, was_single)."""
    features = model.net.info.input_size
    x = np.asarray(x)
    data.check_dtype(x, source, "input", "real")
    if x.ndim not in (2, 3) or x.shape[-1] != features:
        raise ValueError(f"{source}: expected shape (T, {features}) or (N, T, {features}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{source}: must hold finite numbers; it holds NaN or infinity")
    single = x.ndim == 2
    batch = x[None] if single else x
    n, t = batch.shape[:2]
    if t == 0 or n == 0:
        raise ValueError(f"{source}: empty array {x.shape}")
    if lengths is None:
        lengths = np.full(n, t, dtype=np.int64)
    lengths = np.asarray(lengths)
    data.check_dtype(lengths, lengths_source, "lengths", "integer")
    if lengths.shape != (n,) or lengths.min() < 1 or lengths.max() > t:
        got = f"[{lengths.min()}, {lengths.max()}]" if lengths.size and lengths.ndim == 1 else "no range"
        raise ValueError(
            f"{lengths_source}: expected {n} integers in [1, {t}], got shape {lengths.shape} {lengths.dtype} "
            f"with values {got}"
        )
    with np.errstate(over="ignore"):
        normalised = model.normalise(batch)
    if not np.all(np.isfinite(normalised)):
        raise ValueError(f"{source}: values too large for float32 once normalised (|x| beyond 3.4e38)")
    return normalised, lengths.astype(np.int64), single


def run_golden(
    model: ExportedModel, x: np.ndarray, lengths: np.ndarray, raw: bool = False
) -> tuple[np.ndarray, Any]:
    """Last layer's output per time step (N, T, O) and the saturation log."""
    result = model.net.run(x, lengths)
    out = result.output_int if raw else result.output
    return out, result.log


def _accuracy(model: ExportedModel, outputs: np.ndarray, split: data.Split) -> float:
    if model.task == "frames":
        pred = model.head(outputs).argmax(-1)
        mask = split.frame_mask
        return 100.0 * float((pred[mask] == split.y[mask]).mean())
    last = outputs[np.arange(len(split)), split.lengths - 1]
    return 100.0 * float((model.head(last).argmax(-1) == split.y).mean())


def evaluate(model: ExportedModel, split: data.Split) -> dict[str, Any]:
    """Float vs golden accuracy on a split, and the golden model's error against float."""
    x = model.normalise(split.x)
    float_out = run_float(model.desc, x, split.lengths).h[-1]
    golden = model.net.run(x, split.lengths)
    golden_out = golden.output
    mask = split.frame_mask
    err = np.abs(golden_out - float_out)[mask]
    return {
        "sequences": len(split),
        "float_accuracy": _accuracy(model, float_out, split),
        "golden_accuracy": _accuracy(model, golden_out, split),
        "output_max_abs_error": float(err.max()),
        "output_rms_error": float(np.sqrt((err**2).mean())),
        "saturations": golden.log.nonzero(),
        "data_bits": model.config["data_bits"],
    }
