"""Fixtures shared by the Python tests."""

import numpy as np
import pytest

from ernn import data


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A small synthetic speaker-ID-like task (each class has its own mean frame), saved as user .npz
    files: 96 training and 64 test sequences of 4..8 frames, 6 features, 4 classes."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("data")
    centroids = rng.normal(size=(4, 6))

    def make(n):
        lengths = rng.integers(4, 9, n)
        y = rng.integers(0, 4, n)
        x = (rng.normal(size=(n, 8, 6)) + centroids[y][:, None, :]).astype(np.float32)
        x[np.arange(8)[None] >= lengths[:, None]] = 0
        return data.Split(x, lengths, y)

    data.save_npz(folder / "train.npz", make(96))
    data.save_npz(folder / "test.npz", make(64))
    return folder
