"""Scores of frame-level labelling (``--task frames``), in percent:

* **frame error rate** (FER) = 100 − frame accuracy: the share of valid frames whose argmax class is not
  the frame's label;
* **phone error rate** (PER): per utterance, the argmax classes of its valid frames with repeats collapsed
  (``a a b b b a`` -> ``a b a``) are aligned with its frame labels collapsed the same way; the Levenshtein
  distance (substitutions + deletions + insertions, each costing 1) summed over utterances, divided by the
  summed length of the collapsed references. PER can exceed 100 (many insertions).

The edit distance is `RapidFuzz <https://github.com/rapidfuzz/RapidFuzz>`_'s ``Levenshtein.distance``,
which takes any sequences of hashable items (here lists of class indices).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def collapse_repeats(sequence: Sequence[int] | np.ndarray) -> list[int]:
    """The sequence with each run of equal neighbours reduced to one item."""
    seq = np.asarray(sequence).ravel()
    if seq.size == 0:
        return []
    keep = np.concatenate([[True], seq[1:] != seq[:-1]])
    return seq[keep].tolist()


def edit_distance(hypothesis: Sequence[int], reference: Sequence[int]) -> int:
    """Levenshtein distance between two sequences (unit costs)."""
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(list(hypothesis), list(reference)))


def _valid(predicted: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, ...]:
    predicted, labels, lengths = np.asarray(predicted), np.asarray(labels), np.asarray(lengths)
    if predicted.shape != labels.shape or predicted.ndim != 2 or lengths.shape != (predicted.shape[0],):
        raise ValueError(
            f"predictions {predicted.shape}, labels {labels.shape} and lengths {lengths.shape} must be "
            "(N, T), (N, T) and (N,)"
        )
    if len(lengths) == 0 or lengths.min() < 1 or lengths.max() > predicted.shape[1]:
        raise ValueError(f"lengths must lie in [1, T={predicted.shape[1]}] for at least one utterance")
    return predicted, labels, lengths


def frame_error_rate(predicted: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> float:
    """FER in percent over the valid frames of (N, T) predicted classes and labels (N,) ``lengths``."""
    predicted, labels, lengths = _valid(predicted, labels, lengths)
    mask = np.arange(predicted.shape[1])[None, :] < lengths[:, None]
    return 100.0 * float((predicted[mask] != labels[mask]).mean())


def phone_error_rate(predicted: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> float:
    """PER in percent (module docstring) of (N, T) predicted classes against (N, T) frame labels."""
    predicted, labels, lengths = _valid(predicted, labels, lengths)
    errors = reference_length = 0
    for p, y, n in zip(predicted, labels, lengths, strict=True):
        ref = collapse_repeats(y[:n])
        errors += edit_distance(collapse_repeats(p[:n]), ref)
        reference_length += len(ref)
    return 100.0 * errors / reference_length
