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


def _bench_cycles():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_cycles", ROOT / "bench/bench_cycles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cycle_grid_holds_the_latency_bound_corner_and_names_its_shapes():
    """``bench_cycles.py --grid``: every combination of GRID, uniquely named, with the corner the random
    draw reaches about once in a thousand shapes (1-layer LSTMP, k 4, hidden 64, projection 8, P 256)."""
    bench = _bench_cycles()
    shapes = bench.grid_shapes()
    corner = {"cell": "lstm", "input_size": 3, "hidden_size": 64, "block_size": 4, "num_layers": 1}
    assert shapes["lstm_in3_hi64_bl4_nu1_la256_pr8"] == corner | {"lanes": 256, "proj_size": 8}
    plain = len(bench.GRID["input_size"]) * len(bench.GRID["hidden_size"]) * len(bench.GRID["block_size"])
    plain *= len(bench.GRID["num_layers"]) * len(bench.GRID["lanes"])
    assert sum(1 for s in shapes.values() if "proj_size" not in s) == 2 * plain  # GRU and LSTM
    assert all(s["proj_size"] < s["hidden_size"] for s in shapes.values() if "proj_size" in s)


def test_cycle_grid_refuses_to_simulate_thousands_of_shapes():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench/bench_cycles.py"), "--grid"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "--grid holds" in out.stderr and "--only" in out.stderr


def test_cycle_grid_leaves_out_shapes_no_model_can_have(tmp_path):
    """The grid holds shapes whose k is above every layer dimension (the trainer refuses them): ``--only``
    on one names it as left out and, with nothing left, stops with a usage error instead of failing in
    the export."""
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/bench_cycles.py"),
            "--grid",
            "--only",
            "lstm_in3_hi8_bl16_nu1_la256",
            "--models",
            str(tmp_path / "models"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2, out.stderr
    assert (
        "left out (k larger than every layer dimension" in out.stdout
        and "lstm_in3_hi8_bl16_nu1_la256" in out.stdout
    )
    assert "no shape left to simulate" in out.stderr


def test_block_width_whatif_at_one_block_a_clock_is_the_timing_model():
    """bench/whatif_block_width.py patches a copy of the timing model; at one block a clock with the
    hand-offs it must be the model itself (the exporter's prediction), and two blocks a clock no slower."""
    import importlib.util

    from ernn.export import schedule, timing
    from ernn.shape import BlockCirculant, ModelShape

    spec = importlib.util.spec_from_file_location("whatif", ROOT / "bench/whatif_block_width.py")
    whatif = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(whatif)
    model = whatif.widened_model()
    model.HANDOFF = dict(timing.HANDOFF)
    for cell, proj, lanes in (("lstm", 8, 256), ("gru", 0, 234), ("lstm", 0, 16)):
        info = ModelShape(
            cell=cell, input_size=5, hidden_size=33, proj_size=proj, structure=BlockCirculant(4)
        )
        cm = schedule.cycle_model(info, lanes)
        kw = dict(
            iffts=cm.n_ifft,
            in_first=cm.gru_in_first,
            gru_fused=cm.gru_fused,
            split=cm.split,
            proj_engine=cm.proj_engine,
        )
        times = {}
        for width in (1, 2):
            whatif.set_width(model, width)
            times[width] = model.step_timing(info, lanes, cm.cell_lanes, **kw).cycles
        assert times[1] == cm.predicted and times[2] <= times[1]


def test_handoff_sensitivity_prices_the_scan_and_restores_the_model(tmp_path, monkeypatch):
    """``whatif_block_width.py --grid-scan``: the scan's shapes over the target, as built, are all over;
    every variant prices no more shapes over than as built; the model's hand-offs are restored afterwards.
    (With the projection engine no grid shape is over 1.25 by the model: the target is lowered to 1.15,
    which the grid's worst 1-layer LSTMP, 55 clocks against 45 on the engine, misses.)"""

    from ernn.export import schedule

    monkeypatch.setattr(schedule, "TARGET_RATIO", 1.15)
    schedule._design.cache_clear()
    try:
        _handoff_sensitivity_checks(tmp_path)
    finally:
        schedule._design.cache_clear()  # the designs of the lowered target must not outlive the test


def _handoff_sensitivity_checks(tmp_path) -> None:
    import importlib.util

    from ernn.export import schedule, timing

    spec = importlib.util.spec_from_file_location("whatif", ROOT / "bench/whatif_block_width.py")
    whatif = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(whatif)
    shape = {"cell": "lstm", "input_size": 3, "hidden_size": 64, "block_size": 4, "num_layers": 1}
    rows = [  # the grid's worst 1-layer LSTMP, and a shape within 1.25 that must be left out
        {"shape": shape | {"lanes": 256, "proj_size": 8}, "predicted_ratio": 1.489},
        {"shape": shape | {"lanes": 16}, "predicted_ratio": 1.0},
    ]
    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps({"results": rows}))
    before = dict(timing.HANDOFF)
    out = whatif.handoff_sensitivity(scan)
    assert timing.HANDOFF == before
    assert out["as built"] == {"over": 1, "of": 1, "worst": out["as built"]["worst"]}
    assert out["as built"]["worst"] > schedule.TARGET_RATIO
    assert all(v["over"] <= 1 and v["worst"] <= out["as built"]["worst"] for v in out.values())
    assert out["no hand-off clocks"]["worst"] < out["as built"]["worst"]


def test_named_shapes_benchmark_simulates_and_writes_json(tmp_path):
    """bench/bench_named_shapes.py: one named shape exported, simulated (Verilator), bit-exact, its steady
    state against the ideal and the timing model in the JSON."""
    out = tmp_path / "named.json"
    cmd = [
        sys.executable,
        str(ROOT / "bench/bench_named_shapes.py"),
        "--only",
        "gru_6_32_k4_p32",
        "--frames",
        "5",
        "--models",
        str(tmp_path / "models"),
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    (row,) = json.loads(out.read_text())
    assert row["name"] == "gru_6_32_k4_p32" and row["bit_exact"] and row["shape"]["lanes"] == 32
    assert row["cycles_per_step"] >= row["pe_issue_cycles"] and row["ideal"] == 51
    assert abs(row["prediction_error"]) <= 0.1


def test_cost_cycles_benchmark_names_the_cost_samples_points():
    """bench/bench_cost_cycles.py re-simulates bench_cost_samples.py's points (no other), and refuses an
    unknown one by name."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_cost_cycles
    import bench_cost_samples

    assert set(bench_cost_cycles.POINTS) <= set(bench_cost_samples.POINTS)
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench/bench_cost_cycles.py"), "--only", "no_such_point"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "no_such_point" in out.stderr
