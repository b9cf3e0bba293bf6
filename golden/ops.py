"""Integer helpers of the golden model: quantize, round_shift, saturate, and the saturation log.

All arithmetic is on numpy int64. The rounding modes (docs/numerics.md, "Rounding"):

* :func:`quantize` (float -> integer, offline only: weights, biases, tables, the network input) rounds to
  nearest with ties to even (``np.rint``, fxpmath's ``'around'``), then saturates.
* :func:`round_shift` (every datapath rounding) is an arithmetic right shift with round-half-up:
  ``(x + 2**(n-1)) >> n``, i.e. floor(x / 2**n + 1/2) (fxpmath's ``'nearest_posinf'``). In hardware it is
  one adder and a wire shift. A negative ``n`` is an exact left shift.
* :func:`floor_shift` is the plain arithmetic shift (floor), used only where bits are split, not rounded.

:func:`saturate` clamps to a format and counts every clamped element in a :class:`SaturationLog` under a
named point: nothing ever wraps around.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from .formats import HEADROOM_BITS, QFormat

IntArray = npt.NDArray[np.int64]

_HEADROOM = 1 << HEADROOM_BITS


class SaturationLog:
    """Counts of saturated elements per named saturation point (and how many elements passed there).

    ``child(prefix)`` returns a view that records into the same storage under ``prefix/name``.
    """

    def __init__(
        self, _counts: dict[str, int] | None = None, _seen: dict[str, int] | None = None, prefix: str = ""
    ):
        self._counts: dict[str, int] = {} if _counts is None else _counts
        self._seen: dict[str, int] = {} if _seen is None else _seen
        self._prefix = prefix

    def child(self, prefix: str) -> SaturationLog:
        return SaturationLog(self._counts, self._seen, f"{self._prefix}{prefix}/")

    def record(self, name: str, saturated: int, seen: int) -> None:
        key = self._prefix + name
        self._counts[key] = self._counts.get(key, 0) + int(saturated)
        self._seen[key] = self._seen.get(key, 0) + int(seen)

    @property
    def counts(self) -> dict[str, int]:
        """Saturated elements per point (points that were reached but never saturated have 0)."""
        return dict(self._counts)

    @property
    def seen(self) -> dict[str, int]:
        """Elements that passed each point."""
        return dict(self._seen)

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def nonzero(self) -> dict[str, int]:
        return {k: v for k, v in self._counts.items() if v}

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(sorted(self._counts.items()))

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {k: {"saturated": self._counts[k], "seen": self._seen.get(k, 0)} for k in sorted(self._counts)}

    def __repr__(self) -> str:
        return f"SaturationLog(total={self.total}, nonzero={self.nonzero()})"


def check_headroom(x: npt.ArrayLike, what: str) -> None:
    """Raise OverflowError if any |x| >= 2**62 (the int64 safety margin of every intermediate)."""
    arr = np.asarray(x)
    if arr.size and (arr.max() >= _HEADROOM or arr.min() <= -_HEADROOM):
        raise OverflowError(f"{what}: intermediate exceeds 2**{HEADROOM_BITS} in magnitude")


def as_int(x: npt.ArrayLike) -> IntArray:
    """``x`` as an int64 array (integers only; floats raise TypeError)."""
    arr = np.asarray(x)
    if arr.dtype == np.int64:
        return arr
    if not np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.bool_:
        raise TypeError(f"expected an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def saturate(
    x: npt.ArrayLike,
    fmt: QFormat,
    log: SaturationLog | None = None,
    name: str = "saturate",
    *,
    symmetric: bool = False,
) -> IntArray:
    """Clamp ``x`` to ``fmt``'s integer range, counting clamped elements in ``log`` under ``name``.

    ``symmetric``: clamp to [-max_int, max_int] (the most negative code is excluded, so that negating a
    value, e.g. conjugating a spectrum bin, can never overflow).
    """
    arr = as_int(x)
    hi = fmt.max_int
    lo = -hi if symmetric else fmt.min_int
    if arr.size == 0 or (arr.min() >= lo and arr.max() <= hi):
        if log is not None:
            log.record(name, 0, arr.size)
        return arr
    if log is not None:
        log.record(name, int(np.count_nonzero(arr > hi)) + int(np.count_nonzero(arr < lo)), arr.size)
    return np.clip(arr, lo, hi)


def round_shift(x: npt.ArrayLike, n: int) -> IntArray:
    """Arithmetic shift right by ``n`` with round-half-up: ``(x + 2**(n-1)) >> n``; ``n < 0`` shifts left."""
    arr = as_int(x)
    if n > 0:
        return (arr + (1 << (n - 1))) >> n
    if n < 0:
        if -n >= HEADROOM_BITS or (arr.size and max(int(arr.max()), -int(arr.min())) >= _HEADROOM >> -n):
            raise OverflowError(f"round_shift: left shift by {-n} exceeds 2**{HEADROOM_BITS} in magnitude")
        return arr << -n
    return arr


def floor_shift(x: npt.ArrayLike, n: int) -> IntArray:
    """Arithmetic shift right by ``n`` (floor); ``n < 0`` shifts left."""
    arr = as_int(x)
    return arr >> n if n >= 0 else round_shift(arr, n)


def align(x: npt.ArrayLike, from_frac: int, to_frac: int) -> IntArray:
    """Re-express integers of ``from_frac`` fraction bits with ``to_frac`` (round-half-up when dropping)."""
    return round_shift(x, from_frac - to_frac)


def quantize(
    values: npt.ArrayLike, fmt: QFormat, log: SaturationLog | None = None, name: str = "quantize"
) -> IntArray:
    """Float -> integer of ``fmt``: round to nearest, ties to even, then saturate (counted)."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: cannot quantize NaN or infinite values")
    scaled = np.rint(np.ldexp(arr, fmt.frac))
    # clip in float first so that the int64 cast cannot wrap; the clipped count goes to the log
    lo, hi = float(fmt.min_int), float(fmt.max_int)
    n_sat = int(np.count_nonzero((scaled < lo) | (scaled > hi)))
    if log is not None:
        log.record(name, n_sat, arr.size)
    return np.clip(scaled, lo, hi).astype(np.int64)


def dequantize(x: npt.ArrayLike, fmt: QFormat | int) -> npt.NDArray[np.float64]:
    """Integers of ``fmt`` (or of that many fraction bits) -> float64 values."""
    frac = fmt.frac if isinstance(fmt, QFormat) else int(fmt)
    return np.ldexp(np.asarray(x, dtype=np.float64), -frac)


def fits(x: npt.ArrayLike, fmt: QFormat) -> bool:
    """True if every integer of ``x`` lies in ``fmt``'s range."""
    arr = np.asarray(x)
    return bool(arr.size == 0 or (arr.min() >= fmt.min_int and arr.max() <= fmt.max_int))


def hex_words(x: npt.ArrayLike, word: int) -> list[str]:
    """Two's-complement hex strings of ``word`` bits (one per element, flattened C order) for $readmemh."""
    arr = as_int(x).reshape(-1)
    lo, hi = -(1 << (word - 1)), (1 << (word - 1)) - 1
    if arr.size and (arr.min() < lo or arr.max() > hi):
        raise ValueError(f"hex_words: values outside the signed {word}-bit range [{lo}, {hi}]")
    digits = -(-word // 4)
    mask = (1 << word) - 1
    return [f"{int(v) & mask:0{digits}x}" for v in arr]


def to_jsonable(obj: Any) -> Any:
    """Recursively turn numpy arrays/scalars into lists/ints/floats (for JSON export)."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    return obj
