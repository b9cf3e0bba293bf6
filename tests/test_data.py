"""Data loading: the embedded JapaneseVowels set and users' .npz files, with clear errors."""

import numpy as np
import pytest

from ernn import data


def test_japanese_vowels_is_the_real_data_set():
    ds = data.load("classify")
    assert (len(ds.train), len(ds.test)) == (270, 370)
    assert ds.num_features == 12 and ds.num_classes == 9
    assert ds.train.lengths.min() >= 7 and ds.test.lengths.max() <= 29
    assert np.all(ds.train.x[~ds.train.frame_mask] == 0)  # padding after each sequence's end
    frames = ds.normalise(ds.train.x)[ds.train.frame_mask]
    np.testing.assert_allclose(frames.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(frames.std(0), 1, atol=1e-3)


def test_frames_task_labels_every_valid_frame():
    ds = data.load("frames")
    assert ds.test.y.shape == ds.test.x.shape[:2]
    assert np.all(ds.test.y[~ds.test.frame_mask] == -1)
    assert np.all(ds.test.y[ds.test.frame_mask] >= 0)


def _split(n=6, t=5, f=3, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, t + 1, n)
    x = rng.normal(size=(n, t, f)).astype(np.float32)
    x[np.arange(t)[None] >= lengths[:, None]] = 0
    return data.Split(x, lengths, rng.integers(0, 3, n))


def test_user_npz_round_trip(tmp_path):
    tr, te = _split(seed=1), _split(seed=2)
    data.save_npz(tmp_path / "tr.npz", tr)
    data.save_npz(tmp_path / "te.npz", te)
    ds = data.load("classify", tmp_path / "tr.npz", tmp_path / "te.npz")
    np.testing.assert_array_equal(ds.test.lengths, te.lengths)
    assert ds.name == "tr" and ds.num_features == 3


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.pop("lengths"), "missing array"),
        (lambda d: d.update(x=d["x"][0]), "'x' must have shape"),
        (lambda d: d.update(lengths=d["lengths"] + 10), "'lengths' must lie in"),
        (lambda d: d.update(lengths=d["lengths"].astype(float)), "'lengths' must be an integer"),
        (lambda d: d.update(y=d["y"][:2]), "'y' must be an integer array of shape"),
        (lambda d: d.update(y=-d["y"] - 1), "negative class label"),
        (lambda d: d["x"].__setitem__((0, 0, 0), np.nan), "finite"),
    ],
)
def test_malformed_npz_names_file_and_array(tmp_path, mutate, match):
    s = _split()
    arrays = {"x": s.x, "lengths": s.lengths, "y": s.y}
    mutate(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=match) as err:
        data.load_npz(path, "classify")
    assert "bad.npz" in str(err.value)


def test_not_an_npz_and_missing_file(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="junk.npz"):
        data.load_npz(path, "classify")
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        data.load_npz(tmp_path / "nowhere.npz", "classify")
    with pytest.raises(ValueError, match="task must be one of"):
        data.load("regress")
