"""Training modes, determinism, run directories and the `ernn train` command line."""

import json
import shutil

import numpy as np
import pytest
import torch

from ernn import cli, data
from ernn.files import manifest
from ernn.train import run_directory as runs
from ernn.train import trainer as train


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
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert cli.main(args) == 2
    assert "already holds a training run" in capsys.readouterr().err
    assert cli.main([*args, "--reuse"]) == 0
    assert "reusing" in capsys.readouterr().out
    assert cli.main([*args[:-4], "--seed", "3", "--reuse", *args[-4:]]) == 2
    assert "different configuration" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched, metrics.json included


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


def test_load_run_rejects_missing_and_corrupt(tiny_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        runs.load_run(tmp_path / "nothing")
    torch.save({"state_dict": {}, "config": {}}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="has no ernn-manifest.json"):
        runs.load_run(tmp_path)
    run = tmp_path / "run"
    shutil.copytree(tiny_model(seed=9).run, run)
    ckpt = run / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])  # truncated
    with pytest.raises(ValueError, match=r"checkpoint\.pt was changed"):
        runs.load_run(run)
    # a checkpoint that matches its manifest but is not a checkpoint (the manifest rewritten to match)
    ckpt.write_bytes(b"")
    (run / manifest.MANIFEST).write_text(manifest.build(run, "run").text())
    with pytest.raises(ValueError, match="not a valid ernn checkpoint"):
        runs.load_run(run)


def test_run_records_its_data_by_content_hash(tiny_model, tmp_path):
    """A run's test split is read back from its recorded file, checked by content hash, and refused
    when it changed (never replaced by other data)."""
    tiny = tiny_model(seed=9)
    split = runs.run_dataset(tiny.run)
    assert np.array_equal(split.x, data.load("classify", tiny.train, tiny.test).test.x)
    prov = runs.read_config(tiny.run)["data"]["provenance"]
    assert prov["test"]["path"] == str(tiny.test.resolve()) and len(prov["test"]["sha256"]) == 64
    changed = data.load_npz(tiny.test, "classify")
    changed.x[changed.frame_mask] *= 2.0
    data.save_npz(tmp_path / "test.npz", changed)
    with pytest.raises(ValueError, match="not the test data .* was trained with"):
        runs.run_dataset(tiny.run, tmp_path / "test.npz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(lr=float("inf")), "lr must be a finite number, got inf"),
        (dict(lr=float("nan")), "lr must be a finite number, got nan"),
        (dict(lr=0.0), "lr must be > 0, got 0.0"),
        (dict(rho_start=-1.0), "rho_start must be > 0, got -1.0"),
        (dict(rho_end=float("inf")), "rho_end must be a finite number, got inf"),
        (dict(admm_fraction=float("nan")), "admm_fraction must be a finite number, got nan"),
        (dict(admm_fraction=1.0), "admm_fraction must be in (0, 1), got 1.0"),
        (dict(hidden_size=8.5), "hidden_size must be an integer >= 1, got 8.5"),
        (dict(epochs=True), "epochs must be an integer >= 1, got True"),
        (dict(seed=-1), "seed must be >= 0, got -1"),
        (dict(proj_size=-2), "proj_size must be >= 0, got -2"),
        (dict(lr="0.01"), "lr must be a finite number, got '0.01'"),
    ],
)
def test_config_refuses_non_finite_and_out_of_range_numbers(change, message):
    with pytest.raises(ValueError) as err:
        train.TrainConfig(**change).validate()
    assert str(err.value) == message
    train.TrainConfig(hidden_size=np.int64(8), lr=np.float32(0.01)).validate()  # numpy scalars are numbers


@pytest.mark.parametrize("value", ["nan", "-inf", "1e400"])
def test_cli_non_finite_lr_is_a_clear_error(tmp_path, capsys, value):
    out = tmp_path / "r"
    assert cli.main(["train", "--out", str(out), "--epochs", "1", "--quiet", f"--lr={value}"]) == 2
    assert "lr must be a finite number" in capsys.readouterr().err
    assert not out.exists()


def test_plain_batch_order_is_the_seeded_permutation_cut_into_batches():
    """Without bucketing an epoch's batches are exactly what every earlier run used (results reproduce)."""
    lengths = np.arange(1, 71)
    got = train.batch_order(lengths, 16, np.random.default_rng(5))
    want = np.random.default_rng(5).permutation(70)
    assert [len(b) for b in got] == [16, 16, 16, 16, 6]
    np.testing.assert_array_equal(np.concatenate(got), want)


def test_bucketed_batches_cover_every_sequence_once_and_hold_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 130, 500)
    batches = train.batch_order(lengths, 32, np.random.default_rng(1), bucket=True)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(500))
    padded = sum(int(lengths[b].max()) * len(b) for b in batches)
    plain = sum(
        int(lengths[b].max()) * len(b) for b in train.batch_order(lengths, 32, np.random.default_rng(1))
    )
    assert padded < 1.1 * lengths.sum() < plain  # the point of bucketing: almost no padded steps
    spreads = [int(lengths[b].max() - lengths[b].min()) for b in batches]
    assert max(spreads) <= 20  # 500 lengths over 125 values: a batch of 32 spans a few of them
    # batches come in random order (not shortest first), and another seed gives another order
    firsts = [int(lengths[b].min()) for b in batches]
    assert firsts != sorted(firsts)
    again = train.batch_order(lengths, 32, np.random.default_rng(2), bucket=True)
    assert [b.tolist() for b in again] != [b.tolist() for b in batches]


def test_bucketed_training_is_deterministic_recorded_and_reused(tiny_data, tmp_path, capsys):
    cfg = _cfg(tiny_data, mode="direct", bucket_by_length=True)
    m1, met1 = train.train(cfg, quiet=True)
    m2, _ = train.train(cfg, quiet=True)
    for (n, a), b in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b), n
    _, plain = train.train(_cfg(tiny_data, mode="direct"), quiet=True)
    assert met1["history"][0]["loss"] != plain["history"][0]["loss"]  # other batches, other first epoch
    out = tmp_path / "run"
    args = ["train", "--out", str(out), "--hidden-size", "8", "--block-size", "4", "--epochs", "2", "--quiet"]
    args += ["--train", str(tiny_data / "train.npz"), "--test", str(tiny_data / "test.npz")]
    assert cli.main([*args, "--bucket-by-length"]) == 0
    assert runs.read_config(out)["train"]["bucket_by_length"] is True
    capsys.readouterr()
    assert cli.main([*args, "--reuse"]) == 2  # the same run without bucketing is another configuration
    assert "different configuration" in capsys.readouterr().err
    assert cli.main([*args, "--bucket-by-length", "--reuse"]) == 0
