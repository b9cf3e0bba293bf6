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
