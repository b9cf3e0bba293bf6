"""`ernn sim` and `ernn report` end to end on a small trained model, on both simulators."""

import json
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from ernn import cli
from ernn.sim import runner as rtl_runner


@pytest.fixture(scope="module")
def model_dir(tiny_model):
    return tiny_model(cell="gru", epochs=2, seed=3, export=("--test-sequences", "2")).model


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_sim_matches_golden_with_handshake_gaps(model_dir, tmp_path, sim):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 5, 6)).astype(np.float32) * 2
    lengths = np.array([5, 2, 4])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "len.npy", lengths)
    args = [
        "sim",
        "--model",
        str(model_dir),
        "--input",
        str(tmp_path / "x.npy"),
        "--lengths",
        str(tmp_path / "len.npy"),
        "--output",
        str(tmp_path / "y.npy"),
        "--sim",
        sim,
        "--work-dir",
        str(tmp_path / "work"),
        "--valid-gaps",
        "0.3",
        "--ready-stalls",
        "0.3",
        "--seed",
        "5",
    ]
    assert cli.main(args) == 0
    report = json.loads((tmp_path / "sim_report.json").read_text())
    assert report["bit_exact"] and report["mismatches"] == 0 and report["time_steps"] == 11
    assert (
        report["simulator"] == sim and report["cycles_per_step"] > 0 and report["ideal_cycles_per_step"] > 0
    )
    golden = tmp_path / "g.npy"
    assert (
        cli.main(
            [
                "golden",
                "--model",
                str(model_dir),
                "--input",
                str(tmp_path / "x.npy"),
                "--lengths",
                str(tmp_path / "len.npy"),
                "--output",
                str(golden),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), np.load(golden))


def test_report_summary_and_figure(model_dir, tmp_path):
    assert (
        cli.main(["report", "--model", str(model_dir), "--out", str(tmp_path / "rep"), "--sequences", "4"])
        == 0
    )
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["bit_exact"] and summary["golden_accuracy"] == summary["rtl_accuracy"]
    assert summary["sequences"] == 4 and (tmp_path / "rep" / "outputs.png").stat().st_size > 10_000


def test_sim_bad_arguments(model_dir, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((3, 6), np.float32))
    base = [
        "sim",
        "--model",
        str(model_dir),
        "--input",
        str(tmp_path / "x.npy"),
        "--output",
        str(tmp_path / "y.npy"),
    ]
    assert cli.main([*base, "--sim", "modelsim"]) == 2
    assert "--sim must be one of icarus, verilator" in capsys.readouterr().err
    assert cli.main([*base, "--valid-gaps", "1.5"]) == 2
    assert "--valid-gaps must be a probability" in capsys.readouterr().err


def _children(name: str) -> list[int]:
    """Process ids of this process's children whose command name is ``name`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and comm == name:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_simulator_killed_from_outside_is_no_divergence(model_dir, tmp_path, capsys, sim, sig):
    """The simulator process (Icarus's vvp, Verilator's model) killed while `ernn sim` runs: an error that
    says the simulation ended without a verdict, not a divergence; no output is written. (Icarus ends the
    simulation on SIGTERM, which cocotb records as a test that did not finish.)"""
    x = np.random.default_rng(2).normal(size=(2, 6, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    process = {"icarus": "vvp", "verilator": "ernn_top"}[sim]
    done = threading.Event()
    killed: list[int] = []

    def killer() -> None:
        while not done.is_set() and not killed:
            for pid in _children(process):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    continue
                killed.append(pid)
            done.wait(0.005)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        args = ["sim", "--model", str(model_dir), "--input", str(tmp_path / "x.npy")]
        args += ["--output", str(tmp_path / "y.npy"), "--sim", sim, "--work-dir", str(tmp_path / "work")]
        code = cli.main(args)
    finally:
        done.set()
        thread.join()
    err = capsys.readouterr().err
    assert killed, f"no {process} process was seen to kill"
    assert code == 2, err
    assert "build dir" in err and "first divergence" not in err
    if "before cocotb test" in err:  # Icarus on SIGTERM: cocotb records a SimFailure
        assert sim == "icarus" and sig == signal.SIGTERM
        assert "the simulation stopped before cocotb test run_stream finished (SimFailure" in err
    else:
        assert f"exited abnormally (killed or crashed) before finishing (killed by signal {sig.name})" in err
        assert "no result was compared" in err
    assert not (tmp_path / "y.npy").exists() and not (tmp_path / "sim_report.json").exists()
