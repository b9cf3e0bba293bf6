"""``ernn train --structure tt``: the run directory, the rank trajectory, the options refused elsewhere."""

from __future__ import annotations

import json

import pytest

from ernn import cli
from ernn.files import manifest
from ernn.train import run_directory as runs


def _data_args(tiny_data):
    return ["--train", str(tiny_data / "train.npz"), "--test", str(tiny_data / "test.npz")]


def test_cli_trains_tt_and_records_the_rank_trajectory(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--out", str(out), "--cell", "gru", "--hidden-size", "8", "--epochs", "3", "--quiet"]
    args += ["--structure", "tt", "--mode", "direct", "--tt-cores", "2", "--tt-rank", "4"]
    assert cli.main([*args, "--tt-rank-threshold", "0.3", *_data_args(tiny_data)]) == 0
    printed = capsys.readouterr().out
    assert "tensor-train 2 cores, rank 4, adaptive (threshold 0.3)" in printed and "final ranks" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) == 3
    for epoch in metrics["history"]:
        assert set(epoch["ranks"]) == {"weight_ih_l0", "weight_hh_l0"}
        assert all(
            len(r) == 3 and r[0] == r[-1] == 1 and 1 <= r[1] <= 4 for r in epoch["ranks"]["weight_ih_l0"]
        )
    # ranks never grow back, and the stored entries follow them
    stored = [e["weights_stored"] for e in metrics["history"]]
    assert stored == sorted(stored, reverse=True) and stored[-1] == metrics["parameters"]["weights_stored"]
    assert metrics["ranks"] == metrics["history"][-1]["ranks"]
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["structure"] == {"name": "tt", "cores": 2, "rank": 4, "rank_threshold": 0.3}
    # the run directory is written whole, its manifest verifies (``ernn verify`` rebuilds the model through
    # ernn.train.run_directory, which does not know TT models yet: docs/tensor_train.md section 7)
    manifest.verify(out, runs.KIND)


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
