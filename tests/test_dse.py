"""ernn dse Phase I: sweep, resume without retraining, selection, observations, report files."""

import json

import numpy as np
import pytest

from ernn import cli, data, dse


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dse")
    rng = np.random.default_rng(0)
    centroids = rng.normal(size=(3, 8)) * 1.5

    def make(n):
        lengths = rng.integers(3, 7, n)
        y = rng.integers(0, 3, n)
        x = (rng.normal(size=(n, 6, 8)) + centroids[y][:, None, :]).astype(np.float32)
        return data.Split(x, lengths, y)

    data.save_npz(folder / "tr.npz", make(48))
    data.save_npz(folder / "te.npz", make(24))
    return folder


def test_phase1_sweep_resumes_and_selects(npz, tmp_path):
    out = tmp_path / "dse"
    args = [
        "dse",
        "--out",
        str(out),
        "--cells",
        "gru",
        "--blocks",
        "1",
        "2",
        "4",
        "--hidden-sizes",
        "8",
        "--epochs",
        "3",
        "--workers",
        "1",
        "--max-accuracy-loss",
        "100",
        "--train",
        str(npz / "tr.npz"),
        "--test",
        str(npz / "te.npz"),
    ]
    assert cli.main(args) == 0
    points = sorted(p.name for p in (out / "points").glob("*.json"))
    assert points == ["gru_h8_l1_k1_s0.json", "gru_h8_l1_k2_s0.json", "gru_h8_l1_k4_s0.json"]
    stamps = {p: (out / "points" / p).stat().st_mtime_ns for p in points}
    report = json.loads((out / "report.json").read_text())["phase1"]
    # A budget of 100 points admits everything: the most compressed point (k = 4) is chosen.
    assert report["chosen"]["block_size"] == 4
    assert (out / "report.md").read_text().startswith("# Design-space exploration")
    assert (out / "phase1_accuracy.png").stat().st_size > 1000
    # Interrupted sweeps resume: finished points are not retrained.
    (out / "points" / "gru_h8_l1_k2_s0.json").unlink()
    assert cli.main(args) == 0
    for p in points:
        if p != "gru_h8_l1_k2_s0.json":
            assert (out / "points" / p).stat().st_mtime_ns == stamps[p]
    assert (out / "points" / "gru_h8_l1_k2_s0.json").exists()


def test_selection_and_observations_on_made_up_rows():
    def row(k, acc, ratio):
        return {
            "cell": "lstm",
            "hidden_size": 32,
            "num_layers": 1,
            "block_size": k,
            "accuracy": acc,
            "accuracy_loss": 97.0 - acc,
            "accuracy_after_projection": None,
            "compression_ratio": ratio,
            "weights_stored": 1,
            "multiplies_fft": 100 // ratio,
            "multiplies_dense": 100,
        }

    rows = [row(1, 97.0, 1), row(4, 96.5, 4), row(8, 95.5, 8), row(16, 93.0, 16)]
    assert dse.select(rows, 1.0)["block_size"] == 4
    assert dse.select(rows, 2.0)["block_size"] == 8
    assert dse.select(rows, 0.1)["block_size"] == 1
    obs = dse.observations(rows)
    pred = obs["endpoint_prediction"][0]
    # k = 4 lies half way between k = 1 and k = 16 in log2 k: prediction (97 + 93) / 2 = 95.
    assert pred["points"][0]["predicted"] == pytest.approx(95.0)
    assert pred["points"][0]["error"] == pytest.approx(95.0 - 96.5)


def test_bad_dse_arguments(tmp_path, capsys):
    assert cli.main(["dse", "--out", str(tmp_path), "--blocks", "2", "4", "--epochs", "1"]) == 2
    assert "blocks must include 1" in capsys.readouterr().err
    assert cli.main(["dse", "--out", str(tmp_path), "--blocks", "1", "3"]) == 2
    assert "block_size must be a power of two" in capsys.readouterr().err
    assert cli.main(["dse", "--out", str(tmp_path), "--engine", "slurm", "--blocks", "1"]) == 2
    assert "engine must be" in capsys.readouterr().err
