"""The benchmark scripts run and write what they promise (tiny sizes; the real runs are in docs/)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_train_step_benchmark_writes_json(tmp_path):
    out = tmp_path / "ts.json"
    cmd = [
        sys.executable,
        str(ROOT / "bench/bench_train_step.py"),
        "--hidden",
        "32",
        "--blocks",
        "8",
        "--steps",
        "3",
        "--batch",
        "2",
        "--reps",
        "1",
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    result = json.loads(out.read_text())["results"][0]
    assert result["hidden"] == 32 and result["block_size"] == 8
    assert result["fft_seconds"] > 0 and result["dense_over_fft"] > 0
    # A rerun replaces its own output (written all or nothing: no hidden temporary is left beside it).
    again = list(cmd)
    again[again.index("--blocks") + 1] = "16"
    subprocess.run(again, check=True, capture_output=True, text=True)
    assert json.loads(out.read_text())["config"]["steps"] == 3
    assert json.loads(out.read_text())["results"][0]["block_size"] == 16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ts.json"]


def test_batching_benchmark_compares_both_ways_and_writes_json(tmp_path):
    import numpy as np

    from ernn import data

    rng = np.random.default_rng(0)
    for name, n in (("train", 48), ("test", 16)):
        lengths = rng.integers(3, 40, n)
        x = rng.normal(size=(n, 40, 5)).astype(np.float32)
        x[np.arange(40)[None] >= lengths[:, None]] = 0
        data.save_npz(tmp_path / f"{name}.npz", data.Split(x, lengths, rng.integers(0, 3, n)))
    cmd = [sys.executable, str(ROOT / "bench/bench_batching.py"), "--train", str(tmp_path / "train.npz")]
    cmd += ["--test", str(tmp_path / "test.npz"), "--hidden-size", "8", "--block-size", "4", "--epochs", "1"]
    cmd += ["--repeats", "1", "--out", str(tmp_path / "out")]
    printed = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads((tmp_path / "out/batching.json").read_text())
    assert result["sequences"] == 48 and "faster per epoch" in printed
    random, bucketed = result["random"], result["bucketed"]
    assert 1.0 <= bucketed["computed_frames_per_real_frame"] < random["computed_frames_per_real_frame"]
    assert result["speedup"] == random["seconds_per_epoch"] / bucketed["seconds_per_epoch"]
