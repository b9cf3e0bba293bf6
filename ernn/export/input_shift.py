"""Fitting the data path's input range to the data: a power-of-two input shift folded into the weights.

The data format Q(data) carries the layer inputs x_t and the outputs h_t of every layer; with the default
``data.frac = data.word - 4`` it holds magnitudes below 8. Normalised features of real data can reach much
further (speech and sensor data: ±12 σ and beyond), and every value past the range is clipped at input
quantization. Instead of widening the shared format (which would cost h_t precision in every layer), the
exporter divides the normalised input by 2^s and multiplies layer 0's input weights W_ih by 2^s:

    W_ih x = (2^s W_ih)(2^-s x)     exactly, in float,

so the float model is unchanged, the RTL is unchanged (the host's normalisation includes the shift), and the
cost is moved to layer 0's weight spectra, whose fraction bits are fitted to the larger weights
(:meth:`ernn.golden.formats.NumericsConfig.for_weights`).

``auto`` chooses the smallest s in 0 .. :data:`MAX_SHIFT` for which at most :data:`CLIP_BUDGET` of the
training split's normalised feature values lie beyond 2^(3+s) (the data range after the shift, using the
power-of-two counts the training run recorded, ``data.input_range``). How many values the chosen shift
still clips, on the training and on the test split, is recorded in ``config.json`` (``data.input_clipping``)
and printed by ``ernn export``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_SHIFT = 4
CLIP_BUDGET = 1e-4
#: log2 of the magnitude Q(data) holds with the default fraction (word - 4): values below 8
DATA_RANGE_LOG2 = 3


def choose(input_range: dict[str, Any] | None, request: str | int = "auto") -> int:
    """The input shift s for ``request`` ('auto' or an integer 0..MAX_SHIFT)."""
    if request != "auto":
        try:
            shift = int(request)
        except (TypeError, ValueError):
            raise ValueError(
                f"--input-shift must be 'auto' or an integer in [0, {MAX_SHIFT}], got {request!r}"
            ) from None
        if not 0 <= shift <= MAX_SHIFT:
            raise ValueError(f"--input-shift must be 'auto' or an integer in [0, {MAX_SHIFT}], got {shift}")
        return shift
    if not input_range:
        return 0  # a run from before input ranges were recorded: nothing to fit
    values, beyond = input_range["values"], input_range["beyond"]
    for shift in range(MAX_SHIFT + 1):
        if beyond.get(str(1 << (DATA_RANGE_LOG2 + shift)), 0) <= CLIP_BUDGET * values:
            return shift
    return MAX_SHIFT


def scale_desc(desc: dict[str, Any], shift: int) -> dict[str, Any]:
    """``desc`` with layer 0's input weights multiplied by 2^shift (exact in float)."""
    if shift == 0:
        return desc
    layers = [dict(layer) for layer in desc["layers"]]
    layers[0]["w_ih"] = np.asarray(layers[0]["w_ih"], dtype=np.float64) * float(1 << shift)
    return {**desc, "layers": layers}


def clipping(x_shifted: np.ndarray, mask: np.ndarray, limit: float) -> dict[str, int]:
    """How many valid feature values of a shifted, normalised split lie beyond ``limit`` (clip at input)."""
    values = np.abs(x_shifted[mask])
    return {"values": int(values.size), "clipped": int((values > limit).sum())}
