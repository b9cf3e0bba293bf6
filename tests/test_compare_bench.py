"""bench/compare_structures.py on a tiny data set: matched rates, outputs, resuming."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_compare_structures_matches_rates_and_resumes(tiny_data, tmp_path):
    out = tmp_path / "cmp"
    cmd = [sys.executable, str(ROOT / "bench/compare_structures.py"), "--out", str(out), "--name", "tiny",
           "--train", str(tiny_data / "train.npz"), "--test", str(tiny_data / "test.npz"), "--hidden-size", "8",
           "--epochs", "2", "--seeds", "0", "--blocks", "4", "--csb-blocks", "4", "--pes", "0", "2"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    results = json.loads((out / "compare_tiny.json").read_text())
    by = {
        (r["config"].get("structure", "circulant"), r["config"]["mode"], r["config"].get("pes")): r
        for r in results
    }
    circ = by[("circulant", "admm", None)]["metrics"]
    rate = 1 - circ["parameters"]["weights_stored"] / circ["parameters"]["weights_dense"]
    for key in (("csb", "admm", None), ("sparse", "admm", 0), ("sparse", "admm", 2)):
        r = by[key]
        assert (
            abs(r["config"]["prune_rate"] - rate) < 1e-6
            and r["config"]["group"] == by[("circulant", "admm", None)]["config"]["group"]
        )
        assert abs(r["metrics"]["prune_rate"]["actual"] - rate) < 0.1
    assert by[("sparse", "admm", 0)]["metrics"]["compression_ratio"] == circ["compression_ratio"]
    md = (out / "compare_tiny.md").read_text()
    assert md.count("\n| ") == len(results) + 1  # header and one row per configuration (one seed)
    assert "CSB ADMM, block 4" in md and "balanced over 2 PEs" in md
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    subprocess.run(cmd, check=True, capture_output=True, text=True)  # every run is taken from runs/
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == stamps
    assert json.loads((out / "compare_tiny.json").read_text()) == results


def test_compare_structures_fsdd_option_with_two_cells(tiny_data, tmp_path):
    """--fsdd DIR takes DIR's train.npz and test.npz (the folder `ernn data fsdd` writes) and names the
    table fsdd; several cells get one group each, prefixed with the cell; --bucket-by-length reaches every
    run's configuration; a folder without the splits is refused naming the command that builds it."""
    out = tmp_path / "cmp"
    cmd = [sys.executable, str(ROOT / "bench/compare_structures.py"), "--out", str(out), "--fsdd", str(tiny_data),
           "--cells", "lstm", "gru", "--hidden-size", "8", "--epochs", "1", "--seeds", "0", "--blocks", "4",
           "--csb-blocks", "4", "--pes", "0", "--bucket-by-length"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    results = json.loads((out / "compare_fsdd.json").read_text())
    assert len(results) == 2 * 4  # per cell: dense, circulant, CSB, sparse
    assert {r["config"]["group"] for r in results} >= {"LSTM dense", "GRU dense"}
    assert {r["config"]["group"].split()[0] for r in results} == {"LSTM", "GRU"}
    assert all(r["config"]["bucket_by_length"] for r in results)
    assert all(r["config"]["train_file"] == str((tiny_data / "train.npz").resolve()) for r in results)
    assert all(p.name.endswith("-bucketed.json") for p in (out / "runs").iterdir())
    missing = subprocess.run([*cmd[:5], str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert missing.returncode != 0 and "ernn data fsdd --root" in missing.stderr
