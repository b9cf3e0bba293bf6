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
        (lambda d: d.update(lengths=d["lengths"].astype(float)), "'lengths' must be an array of integers"),
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


def test_file_sha256_is_the_hash_of_the_bytes(tmp_path):
    import hashlib

    path = tmp_path / "blob.bin"
    payload = np.random.default_rng(0).bytes(3 * (1 << 20) + 17)  # several read chunks and a tail
    path.write_bytes(payload)
    assert data.file_sha256(path) == hashlib.sha256(payload).hexdigest()


def test_split_sha256_hashes_content_not_storage(tmp_path):
    s = _split()
    h = data.split_sha256(s)
    same = data.Split(s.x.astype(np.float64), s.lengths.astype(np.int32), s.y.astype(np.uint8))
    assert data.split_sha256(same) == h  # canonical dtypes: float32 x, int64 lengths and y
    assert data.split_sha256(data.Split(np.asfortranarray(s.x), s.lengths, s.y)) == h  # C order
    changed = data.Split(s.x.copy(), s.lengths, s.y)
    changed.x[0, 0, 0] = np.nextafter(changed.x[0, 0, 0], np.float32(np.inf))
    assert data.split_sha256(changed) != h
    assert data.split_sha256(data.Split(s.x, s.lengths, s.y[::-1].copy())) != h
    # same bytes, other shapes: the shapes are part of the hash
    flat = data.Split(s.x.reshape(s.x.shape[0], -1, 1), s.lengths, s.y)
    assert data.split_sha256(flat) != h


def test_dataset_provenance_names_files_and_content(tmp_path, monkeypatch):
    data.save_npz(tmp_path / "tr.npz", _split(seed=1))
    data.save_npz(tmp_path / "te.npz", _split(seed=3))
    monkeypatch.chdir(tmp_path)
    ds = data.load("classify", "tr.npz", "te.npz")  # relative paths are recorded absolute
    prov = ds.provenance
    assert prov["name"] == "tr" and prov["task"] == "classify"
    assert prov["train"]["path"] == str((tmp_path / "tr.npz").resolve())
    assert prov["test"]["path"] == str((tmp_path / "te.npz").resolve())
    assert prov["train"]["sha256"] == data.split_sha256(ds.train)
    assert prov["test"]["sha256"] == data.split_sha256(data.load_npz(tmp_path / "te.npz", "classify"))
    assert prov["train"]["sha256"] != prov["test"]["sha256"]
    # the constructor without paths still works (embedded-data style)
    bare = data.Dataset("d", "classify", ds.train, ds.test, ds.num_classes, ds.mean, ds.std)
    assert bare.provenance["train"] == {"path": None, "sha256": prov["train"]["sha256"]}


def test_embedded_data_has_a_content_hash():
    prov = data.load("classify").provenance
    assert prov["name"] == "JapaneseVowels" and prov["train"]["path"] is None and prov["test"]["path"] is None
    assert all(len(prov[s]["sha256"]) == 64 and int(prov[s]["sha256"], 16) >= 0 for s in ("train", "test"))
    assert prov["train"]["sha256"] != prov["test"]["sha256"]
