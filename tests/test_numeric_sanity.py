"""Numeric sanity of users' inputs (issue 13): nothing is cast silently, class labels are class indices,
and a diverging training run stops with a message instead of reporting an accuracy for NaN weights."""

import numpy as np
import pytest
import torch

from ernn import cli, data
from ernn.train import trainer as train


def _arrays(n=8, t=4, f=3, seed=0):
    """x, lengths, y of a small classification split with labels 0, 1, 0, 1, ..."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, t + 1, n)
    y = np.arange(n) % 2
    x = (rng.normal(size=(n, t, f)) + y[:, None, None]).astype(np.float32)
    x[np.arange(t)[None] >= lengths[:, None]] = 0
    return {"x": x, "lengths": lengths, "y": y}


def _save(path, **arrays):
    np.savez(path, **arrays)
    return path


# ---------------------------------------------------------------- dtypes of .npz training data


@pytest.mark.parametrize(
    ("name", "convert", "found"),
    [
        ("x", lambda a: a + 0.5j, "complex"),
        ("x", lambda a: a > 0, "boolean"),
        ("x", lambda a: a.astype(str), "string"),
        ("x", lambda a: a.astype(bytes), "bytes"),
        ("x", lambda a: a.astype([("v", "f4")]), "structured"),
        ("lengths", lambda a: a.astype(np.float64), "floating-point"),  # whole numbers, still refused
        ("lengths", lambda a: a.astype(np.complex64), "complex"),
        ("lengths", lambda a: a > 0, "boolean"),
        ("y", lambda a: a + 0.5, "floating-point"),
        ("y", lambda a: a.astype(np.float32), "floating-point"),
        ("y", lambda a: a.astype(np.complex128), "complex"),
        ("y", lambda a: a.astype(bool), "boolean"),
        ("y", lambda a: a.astype("datetime64[s]"), "datetime"),
    ],
)
def test_npz_with_a_wrong_dtype_is_refused_naming_file_array_and_dtype(tmp_path, name, convert, found):
    arrays = _arrays()
    arrays[name] = convert(arrays[name])
    path = _save(tmp_path / "odd.npz", **arrays)
    with pytest.raises(ValueError) as err:
        data.load_npz(path, "classify")
    message = str(err.value)
    assert str(path) in message and f"'{name}'" in message
    assert found in message and str(arrays[name].dtype) in message
    expected = "real numbers" if name == "x" else "integers"
    assert f"must be an array of {expected}" in message


def test_npz_object_array_is_never_unpickled(tmp_path):
    arrays = _arrays()
    arrays["y"] = np.array([1, "two", None, 3, 0, 1, 0, 1], dtype=object)
    path = _save(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(ValueError, match="array 'y' holds Python objects") as err:
        data.load_npz(path, "classify")
    assert str(path) in str(err.value)


def test_x_beyond_float32_range_is_refused(tmp_path):
    arrays = _arrays()
    arrays["x"] = arrays["x"].astype(np.float64)
    arrays["x"][0, 0, 0] = 1e300  # finite in float64, inf in float32
    path = _save(tmp_path / "huge.npz", **arrays)
    with pytest.raises(ValueError, match="'x' must hold finite numbers.*float32's range"):
        data.load_npz(path, "classify")


def test_accepted_dtypes_are_converted_exactly(tmp_path):
    arrays = _arrays()
    path = _save(
        tmp_path / "ok.npz",
        x=arrays["x"].astype(np.float16),
        lengths=arrays["lengths"].astype(np.uint8),
        y=arrays["y"].astype(np.uint16),
    )
    split = data.load_npz(path, "classify")
    assert (split.x.dtype, split.lengths.dtype, split.y.dtype) == (np.float32, np.int64, np.int64)
    np.testing.assert_array_equal(split.x, arrays["x"].astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(split.y, arrays["y"])


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        (
            "lengths",
            np.uint64(2**64 - 1),
            r"'lengths' must lie in \[1, T_max=4\], got \[\d+, 18446744073709551615\]",
        ),
        ("lengths", np.int64(0), r"'lengths' must lie in \[1, T_max=4\], got \[0, "),
        ("y", np.int64(-3), r"negative class label \(-3\).*remap"),
        ("y", np.uint64(2**64 - 1), r"the label 18446744073709551615.*limit 1024"),
    ],
)
def test_extreme_lengths_and_labels_keep_clear_messages(tmp_path, name, value, match):
    arrays = _arrays()
    arrays[name] = arrays[name].astype(np.asarray(value).dtype)
    arrays[name][0] = value
    path = _save(tmp_path / "extreme.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        data.load_npz(path, "classify")


# ---------------------------------------------------------------- class labels


def test_a_huge_label_is_refused_not_a_million_classes(tmp_path):
    arrays = _arrays()
    arrays["y"][3] = 1_000_000
    path = _save(tmp_path / "ids.npz", **arrays)
    with pytest.raises(ValueError) as err:
        data.load_npz(path, "classify")
    message = str(err.value)
    assert str(path) in message and "1000000" in message and f"limit {data.MAX_CLASSES}" in message
    distinct = len(np.unique(arrays["y"]))
    assert f"{distinct} distinct labels" in message and "remap them to 0..C-1" in message


def test_sparse_labels_below_the_limit_are_refused(tmp_path):
    arrays = _arrays()
    arrays["y"] = np.where(arrays["y"] == 1, 50, 0)  # two classes, but labels 0 and 50
    train = _save(tmp_path / "train.npz", **arrays)
    test = _save(tmp_path / "test.npz", **_arrays(seed=1))
    with pytest.raises(ValueError) as err:
        data.load("classify", train, test)
    message = str(err.value)
    assert str(train) in message and "label 50" in message and "51 classes" in message
    assert "only 2 distinct labels" in message and "more than half" in message and "0..C-1" in message


def test_a_test_label_far_beyond_training_is_refused_naming_the_test_file(tmp_path):
    train = _save(tmp_path / "train.npz", **_arrays())
    arrays = _arrays(seed=1)
    arrays["y"][0] = 40
    test = _save(tmp_path / "test.npz", **arrays)
    with pytest.raises(ValueError, match="more than half") as err:
        data.load("classify", train, test)
    assert str(test) in str(err.value) and "label 40" in str(err.value)


def test_labels_with_a_few_gaps_and_an_unseen_test_class_are_accepted(tmp_path):
    """Documented: C = largest label of either split + 1; up to half of 0..C-1 may be missing from training."""
    arrays = _arrays()
    arrays["y"] = arrays["y"] * 2  # training labels {0, 2}: class 1 never occurs
    train = _save(tmp_path / "train.npz", **arrays)
    arrays = _arrays(seed=1)
    arrays["y"][0] = 3  # a test class the training split never reaches
    test = _save(tmp_path / "test.npz", **arrays)
    assert data.load("classify", train, test).num_classes == 4


def test_frames_labels_are_checked_on_valid_frames_only(tmp_path):
    arrays = _arrays()
    t = arrays["x"].shape[1]
    pad = np.arange(t)[None] >= arrays["lengths"][:, None]
    y = np.repeat(arrays["y"][:, None], t, axis=1)
    y[pad] = 10**9  # anything past a sequence's end is ignored
    path = _save(tmp_path / "frames.npz", x=arrays["x"], lengths=arrays["lengths"], y=y)
    assert data.load_npz(path, "frames").y[~pad].max() == 1
    y[0, 0] = 10**9
    _save(path, x=arrays["x"], lengths=arrays["lengths"], y=y)
    with pytest.raises(ValueError, match="the label 1000000000"):
        data.load_npz(path, "frames")


def test_train_cli_refuses_a_huge_label_and_writes_nothing(tmp_path, capsys):
    arrays = _arrays()
    arrays["y"][0] = 1_000_000
    train = _save(tmp_path / "train.npz", **arrays)
    test = _save(tmp_path / "test.npz", **_arrays(seed=1))
    out = tmp_path / "run"
    args = ["train", "--out", str(out), "--epochs", "1", "--hidden-size", "8", "--block-size", "4", "--quiet"]
    assert cli.main([*args, "--train", str(train), "--test", str(test)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(train) in err and "1000000" in err
    assert not out.exists()


# ---------------------------------------------------------------- golden / sim input arrays


@pytest.fixture(scope="module")
def model_dir(tiny_model):
    return tiny_model().model  # 6 features


def _golden(model_dir, tmp_path, x, lengths=None):
    np.save(tmp_path / "x.npy", x)
    args = ["golden", "--model", str(model_dir), "--input", str(tmp_path / "x.npy")]
    if lengths is not None:
        np.save(tmp_path / "len.npy", lengths)
        args += ["--lengths", str(tmp_path / "len.npy")]
    return cli.main([*args, "--output", str(tmp_path / "y.npy")])


@pytest.mark.parametrize(
    ("x", "found"),
    [
        (np.ones((4, 6), np.complex64) * (1 + 1j), "complex"),
        (np.ones((4, 6), bool), "boolean"),
        (np.full((4, 6), "1.0"), "string"),
    ],
)
def test_golden_refuses_a_non_real_input(model_dir, tmp_path, capsys, x, found):
    assert _golden(model_dir, tmp_path, x) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "x.npy") in err and found in err and str(x.dtype) in err and "'input'" in err
    assert not (tmp_path / "y.npy").exists()


@pytest.mark.parametrize(
    ("lengths", "found"),
    [(np.array([4.0, 2.0]), "floating-point"), (np.array([True, True]), "boolean")],
)
def test_golden_refuses_non_integer_lengths(model_dir, tmp_path, capsys, lengths, found):
    assert _golden(model_dir, tmp_path, np.zeros((2, 4, 6), np.float32), lengths) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "len.npy") in err and found in err and "must be an array of integers" in err


def test_golden_refuses_object_and_npz_inputs(model_dir, tmp_path, capsys):
    np.save(tmp_path / "obj.npy", np.array([np.zeros((4, 6)), None], dtype=object), allow_pickle=True)
    args = ["golden", "--model", str(model_dir), "--output", str(tmp_path / "y.npy"), "--input"]
    assert cli.main([*args, str(tmp_path / "obj.npy")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "obj.npy") in err and "Object arrays cannot be loaded" in err
    np.savez(tmp_path / "x.npz", x=np.zeros((4, 6), np.float32))
    assert cli.main([*args, str(tmp_path / "x.npz")]) == 2
    assert "an .npz archive; input must be a single .npy array" in capsys.readouterr().err
    assert not (tmp_path / "y.npy").exists()


def test_golden_accepts_integer_and_float64_inputs_alike(model_dir, tmp_path):
    x = np.random.default_rng(0).integers(-3, 4, (4, 6))
    assert _golden(model_dir, tmp_path, x) == 0
    y_int = np.load(tmp_path / "y.npy")
    (tmp_path / "y.npy").unlink()
    assert _golden(model_dir, tmp_path, x.astype(np.float64)) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), y_int)


# ---------------------------------------------------------------- diverging training


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sanity")
    _save(folder / "train.npz", **_arrays())
    _save(folder / "test.npz", **_arrays(seed=1))
    return folder


def _train_args(tiny_files, out, *extra):
    files = ["--train", str(tiny_files / "train.npz"), "--test", str(tiny_files / "test.npz")]
    size = ["--hidden-size", "8", "--block-size", "4", "--epochs", "2", "--batch-size", "4"]
    return ["train", "--out", str(out), *size, "--quiet", *files, *extra]


def test_lr_inf_is_refused_before_training(tiny_files, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(_train_args(tiny_files, out, "--lr", "inf")) == 2
    assert "lr must be a finite number, got inf" in capsys.readouterr().err
    assert not out.exists()


def test_diverging_training_stops_with_a_message_and_no_run_directory(tiny_files, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(_train_args(tiny_files, out, "--lr", "1e33")) == 2  # ADMM: the penalty overflows
    captured = capsys.readouterr()
    assert "error: training diverged in the admm phase, epoch 1 of 1, batch " in captured.err
    assert "lower --lr (it is 1e+33)" in captured.err
    assert "test accuracy" not in captured.out
    assert not out.exists()


def test_direct_training_with_an_overflowing_step_raises_training_diverged(tiny_files):
    cfg = train.TrainConfig(
        hidden_size=8,
        block_size=4,
        mode="direct",
        epochs=1,
        batch_size=4,
        lr=1e38,
        train_file=str(tiny_files / "train.npz"),
        test_file=str(tiny_files / "test.npz"),
    )
    with pytest.raises(
        train.TrainingDiverged, match=r"in the direct phase, epoch 1 of 1, batch 1 of 2"
    ) as err:
        train.train(cfg, quiet=True)
    assert isinstance(err.value, RuntimeError) and (err.value.phase, err.value.epoch) == ("direct", 1)


def test_nan_weights_are_never_scored(tiny_files):
    ds = data.load("classify", tiny_files / "train.npz", tiny_files / "test.npz")
    cfg = train.TrainConfig(hidden_size=8, block_size=4, mode="direct")
    model = train.build_model(cfg, ds.num_features, ds.num_classes, block_size=4)
    train.check_finite_weights(model, "direct")  # a fresh model is finite
    with torch.no_grad():
        model.head.bias[0] = float("nan")
    with pytest.raises(train.TrainingDiverged, match="the weight head.bias is no longer finite"):
        train.check_finite_weights(model, "direct", epoch=3, epochs=4)
    with pytest.raises(
        train.TrainingDiverged, match="in the finetune phase: the model's outputs are not finite"
    ):
        train.evaluate(model, ds.test, ds, phase="finetune")
