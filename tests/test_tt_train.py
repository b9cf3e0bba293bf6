"""``ernn train --structure tt``: the run directory, the rank trajectory, the options refused elsewhere."""

from __future__ import annotations

import json

import pytest
import torch

from ernn import cli
from ernn.files import manifest
from ernn.train import run_directory as runs


def _data_args(tiny_data):
    return ["--train", str(tiny_data / "train.npz"), "--test", str(tiny_data / "test.npz")]


@pytest.mark.parametrize(("cell", "gates"), [("gru", 3), ("lstm", 4)])
def test_cli_trains_tt_and_records_the_rank_trajectory(tiny_data, tmp_path, capsys, cell, gates):
    out = tmp_path / "run"
    args = ["train", "--out", str(out), "--cell", cell, "--hidden-size", "8", "--epochs", "3", "--quiet"]
    args += ["--structure", "tt", "--mode", "direct", "--tt-cores", "2", "--tt-rank", "4"]
    assert cli.main([*args, "--tt-rank-threshold", "0.3", *_data_args(tiny_data)]) == 0
    printed = capsys.readouterr().out
    assert "tensor-train 2 cores, rank 4, adaptive (threshold 0.3)" in printed and "final ranks" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) == 3
    for epoch in metrics["history"]:
        assert set(epoch["ranks"]) == {"weight_ih_l0", "weight_hh_l0"}
        assert len(epoch["ranks"]["weight_ih_l0"]) == len(epoch["ranks"]["weight_hh_l0"]) == gates
        assert all(
            len(r) == 3 and r[0] == r[-1] == 1 and 1 <= r[1] <= 4 for r in epoch["ranks"]["weight_ih_l0"]
        )
    # ranks never grow back, and the stored entries follow them
    stored = [e["weights_stored"] for e in metrics["history"]]
    assert stored == sorted(stored, reverse=True) and stored[-1] == metrics["parameters"]["weights_stored"]
    assert metrics["ranks"] == metrics["history"][-1]["ranks"]
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["structure"] == {"name": "tt", "cores": 2, "rank": 4, "rank_threshold": 0.3}
    # the run directory is written whole and reads back: the same model, the same outputs
    manifest.verify(out, runs.KIND)
    model, _ = runs.load_run(out)
    assert type(model.rnn).__name__ == f"TT{cell.upper()}" and model.rnn.config() == {
        k: v for k, v in config["model"].items() if k not in ("cell", "matvec")
    } | {"proj_size": model.rnn.proj_size}
    split = runs.run_dataset(out, tiny_data / "test.npz")
    x = torch.as_tensor(split.x[:4], dtype=torch.float32)
    lengths = torch.as_tensor(split.lengths[:4])
    with torch.no_grad():
        first, second = model(x, lengths), runs.load_run(out)[0](x, lengths)
    assert torch.equal(first, second)
    assert cli.main(["verify", str(out)]) == 0
    # no export stage for TT yet: refused by name
    assert cli.main(["export", "--checkpoint", str(out), "--out", str(tmp_path / "model")]) == 2
    err = capsys.readouterr().err
    assert "'tt'" in err and "export" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--structure", "csb", "--tt-rank", "3"], "--tt-rank applies to --structure tt"),
        (["--structure", "tt"], "pass --mode direct"),
        (
            ["--structure", "tt", "--mode", "direct", "--tt-cores", "4"],
            "cannot be split into 4 tensor-train modes",
        ),
        (["--structure", "tt", "--mode", "direct", "--tt-rank", "64"], "tt rank 64 is larger than any"),
        (["--structure", "tt", "--mode", "direct", "--qat-bits", "8"], "--structure tt takes none of"),
    ],
)
def test_cli_refuses_bad_tt_options(tiny_data, tmp_path, capsys, extra, message):
    args = ["train", "--out", str(tmp_path / "run"), "--hidden-size", "8", "--epochs", "1", "--quiet"]
    assert cli.main([*args, *extra, *_data_args(tiny_data)]) != 0
    assert message in capsys.readouterr().err
