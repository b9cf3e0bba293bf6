"""Frame and phone error rates of frame-level labelling (ernn.train.metrics) on hand-made sequences."""

import numpy as np
import pytest

from ernn.train import metrics


def _levenshtein(a, b):
    """The textbook dynamic programme, as an independent reference."""
    d = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    d[:, 0], d[0, :] = np.arange(len(a) + 1), np.arange(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    return int(d[-1, -1])


def test_collapse_repeats():
    assert metrics.collapse_repeats([1, 1, 2, 2, 2, 1]) == [1, 2, 1]
    assert metrics.collapse_repeats(np.array([5])) == [5]
    assert metrics.collapse_repeats([]) == []
    assert metrics.collapse_repeats([3, 4, 3]) == [3, 4, 3]


def test_edit_distance_counts_substitutions_insertions_deletions():
    assert metrics.edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert metrics.edit_distance([1, 9, 3], [1, 2, 3]) == 1  # one substitution
    assert metrics.edit_distance([1, 2, 3, 4], [1, 2, 3]) == 1  # one insertion
    assert metrics.edit_distance([1, 3], [1, 2, 3]) == 1  # one deletion
    assert metrics.edit_distance([], [1, 2]) == 2
    kitten, sitting = ([ord(c) for c in w] for w in ("kitten", "sitting"))
    assert metrics.edit_distance(kitten, sitting) == 3
    # class indices beyond a byte are items, not characters
    assert metrics.edit_distance([300, 301], [301, 300]) == 2
    rng = np.random.default_rng(0)
    for _ in range(50):
        a, b = rng.integers(0, 4, rng.integers(0, 12)), rng.integers(0, 4, rng.integers(0, 12))
        assert metrics.edit_distance(a.tolist(), b.tolist()) == _levenshtein(a.tolist(), b.tolist())


def test_frame_error_rate_ignores_padding():
    labels = np.array([[0, 1, 1, -1], [2, 2, -1, -1]])
    predicted = np.array([[0, 1, 0, 7], [2, 1, 7, 7]])  # 2 wrong of 5 valid frames; padding is anything
    lengths = np.array([3, 2])
    assert metrics.frame_error_rate(predicted, labels, lengths) == pytest.approx(100 * 2 / 5)


def test_phone_error_rate_collapses_then_aligns():
    labels = np.array([[0, 0, 1, 1, 2], [3, 3, 3, 4, -1]])  # references 0 1 2 and 3 4: length 5
    predicted = np.array(
        [
            [0, 1, 1, 1, 2],  # collapses to 0 1 2: no error although frame 1 is wrong
            [3, 5, 3, 4, 9],  # 3 5 3 4 against 3 4: two insertions (frame 4 is padding)
        ]
    )
    lengths = np.array([5, 4])
    assert metrics.phone_error_rate(predicted, labels, lengths) == pytest.approx(100 * 2 / 5)
    assert metrics.phone_error_rate(labels, labels, lengths) == 0.0
    assert metrics.frame_error_rate(labels, labels, lengths) == 0.0


def test_phone_error_rate_can_exceed_100_percent():
    labels = np.array([[1, 1, 1, 1]])
    predicted = np.array([[0, 1, 2, 3]])  # 0 1 2 3 against 1: three insertions for one reference phone
    assert metrics.phone_error_rate(predicted, labels, np.array([4])) == pytest.approx(300.0)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="must be"):
        metrics.frame_error_rate(np.zeros((2, 3)), np.zeros((2, 4)), np.array([3, 3]))
    with pytest.raises(ValueError, match="lengths"):
        metrics.phone_error_rate(np.zeros((2, 3)), np.zeros((2, 3)), np.array([3, 4]))
