"""Training modes, determinism, run directories and the `ernn train` command line."""

import json

import numpy as np
import pytest
import torch

from ernn import cli, data
from ernn.train import run_directory as runs
from ernn.train import trainer as train


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A small synthetic speaker-ID-like task (each class has its own mean frame), saved as user .npz files."""
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


def _cfg(tiny_data, **kw):
    base = dict(
        hidden_size=8,
        epochs=6,
        batch_size=16,
        block_size=4,
        train_file=str(tiny_data / "train.npz"),
        test_file=str(tiny_data / "test.npz"),
    )
    return train.TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("mode", ["direct", "admm"])
def test_modes_train_and_are_deterministic(tiny_data, mode):
    cfg = _cfg(tiny_data, mode=mode)
    m1, met1 = train.train(cfg, quiet=True)
    m2, met2 = train.train(cfg, quiet=True)
    for (n, a), b in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b), n
    assert met1["test_accuracy"] == met2["test_accuracy"]
    assert met1["compression_ratio"] > 1
    if mode == "admm":
        assert "accuracy_after_projection" in met1
        residuals = [h["primal_residual"] for h in met1["history"] if "primal_residual" in h]
        assert residuals[-1] < residuals[0]  # ADMM drives W towards the block-circulant set


def test_admm_result_is_exactly_block_circulant(tiny_data):
    model, _ = train.train(_cfg(tiny_data, mode="admm", cell="gru"), quiet=True)
    assert model.rnn.block_size == 4
    for name, rows, cols in model.rnn.matrix_names():
        dense = model.rnn.dense_weight(name).reshape(-1, rows, cols).double()
        from ernn.train import circulant

        torch.testing.assert_close(circulant.project(dense, 4), dense)


def test_training_learns_the_task(tiny_data):
    _, metrics = train.train(_cfg(tiny_data, mode="dense", block_size=1, epochs=20), quiet=True)
    assert metrics["test_accuracy"] > 60.0  # 4 balanced classes: chance is 25 %


def test_frames_task_runs(tmp_path):
    rng = np.random.default_rng(1)
    lengths = rng.integers(3, 7, 40)
    x = rng.normal(size=(40, 6, 4)).astype(np.float32)
    y = (x[..., 0] > 0).astype(np.int64)
    y[np.arange(6)[None] >= lengths[:, None]] = -1
    split = data.Split(x, lengths, y)
    data.save_npz(tmp_path / "a.npz", split)
    cfg = train.TrainConfig(
        task="frames",
        hidden_size=8,
        block_size=4,
        epochs=3,
        mode="direct",
        train_file=str(tmp_path / "a.npz"),
        test_file=str(tmp_path / "a.npz"),
    )
    _, metrics = train.train(cfg, quiet=True)
    assert 0 <= metrics["test_accuracy"] <= 100


def test_cli_writes_run_directory_and_protects_it(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "--out",
        str(out),
        "--hidden-size",
        "8",
        "--block-size",
        "4",
        "--epochs",
        "3",
        "--quiet",
        "--train",
        str(tiny_data / "train.npz"),
        "--test",
        str(tiny_data / "test.npz"),
    ]
    assert cli.main(args) == 0
    for name in ("checkpoint.pt", "config.json", "metrics.json"):
        assert (out / name).is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["parameters"]["weights_dense"] > metrics["parameters"]["weights_stored"]
    model, config = runs.load_run(out)
    assert config["train"]["block_size"] == 4 and model.rnn.block_size == 4
    ds = data.load("classify", tiny_data / "train.npz", tiny_data / "test.npz")
    assert train.evaluate(model, ds.test, ds) == pytest.approx(metrics["test_accuracy"])
    with pytest.raises(SystemExit, match="already holds a run"):
        cli.main(args)
    assert cli.main([*args, "--reuse"]) == 0
    assert "reusing" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="different configuration"):
        cli.main([*args[:-4], "--seed", "3", "--reuse", *args[-4:]])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--block-size", "6"], "block_size must be a power of two"),
        (["--block-size", "64"], "block_size=64 is larger"),
        (["--cell", "rnn"], "cell must be one of"),
        (["--mode", "prune"], "mode must be one of"),
        (["--train", "/nonexistent/train.npz", "--test", "/nonexistent/test.npz"], "/nonexistent/train.npz"),
    ],
)
def test_cli_bad_input_is_a_clear_error(tmp_path, capsys, extra, message):
    assert cli.main(["train", "--out", str(tmp_path / "r"), "--epochs", "1", "--quiet", *extra]) == 2
    assert message in capsys.readouterr().err


def test_load_run_rejects_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint.pt"):
        runs.load_run(tmp_path)
    torch.save({"state_dict": {}, "config": {}}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="not a valid ernn checkpoint"):
        runs.load_run(tmp_path)


def test_run_dataset_is_the_runs_own_data(tiny_model, tmp_path):
    """A run's data set is read back from its recorded files and refused when they changed."""
    import shutil

    tiny = tiny_model(seed=9)
    ds = runs.run_dataset(tiny.run)
    assert np.array_equal(ds.train.x, data.load("classify", tiny.train, tiny.test).train.x)
    run = tmp_path / "run"
    shutil.copytree(tiny.run, run)
    changed = data.load("classify", tiny.train, tiny.test).train
    changed.x[changed.frame_mask] *= 2.0
    data.save_npz(tmp_path / "train.npz", changed)
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["train_file"] = str(tmp_path / "train.npz")
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="not the data .* was trained on"):
        runs.run_dataset(run)
