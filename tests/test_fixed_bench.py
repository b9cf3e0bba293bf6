"""bench/bench_golden.py runs and writes what it promises (tiny sizes; the real numbers are in docs/numerics.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# slow: the bench compiles every golden kernel it times (batched runner at each thread count), 40-80 s on
# the 2-core machine; the golden paths it times have their own fast tests (tests/test_golden_batched.py)
@pytest.mark.slow
def test_golden_benchmark_writes_json(tmp_path):
    out = tmp_path / "golden.json"
    cmd = [
        sys.executable,
        str(ROOT / "bench/bench_golden.py"),
        "--hidden",
        "16",
        "--block",
        "8",
        "--steps",
        "4",
        "--ref-steps",
        "1",
        "--batched-hidden",
        "16",
        "--batch",
        "2100",
        "--batch-steps",
        "3",
        "--batch-baseline",
        "2",
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
    payload = json.loads(out.read_text())
    result = payload["results"][0]
    assert {row["data_bits"] for row in payload["error_trend"]} == {8, 10, 12, 16}
    assert result["hidden"] == 16 and result["block_size"] == 8
    assert result["bit_exact_on_ref_steps"] is True
    assert result["fast_steps_per_second"] > 0 and result["fast_over_ref"] > 0
    # the batched comparison: 2,100 sequences of hidden 16 (k 8: 2 input blocks each, 4,200 per MAC call,
    # above matvec.COMPILED_MIN_BLOCKS) take the fast path, bit-exact against the numpy path
    batched = payload["batched"]
    assert batched["batch"] == 2100 and batched["bit_exact"] is True
    assert set(batched["steps_per_second"]) == {"fast_batched", "numpy_batched", "numpy_one_at_a_time"}
