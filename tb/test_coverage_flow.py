"""ERNN_COVERAGE: a Verilator run in a coverage build of its own writes coverage data that
ernn.verify.coverage reads; Icarus refuses it by name (it has no coverage)."""

from __future__ import annotations

import pytest

from ernn.sim import runner as rtl_runner
from ernn.verify import coverage

PARAMS = {"DEPTH": 2, "WIDTH": 8, "VALID": 1}


def test_verilator_run_writes_line_and_toggle_points(monkeypatch, tmp_path) -> None:
    dat = tmp_path / "dat"
    monkeypatch.setenv(rtl_runner.COVERAGE_ENV, str(dat))
    conf = {"seed": 5, "expect_depth": PARAMS["DEPTH"]}
    res = rtl_runner.run("ernn_delay", "test_waves", PARAMS, sim="verilator", config=conf)
    assert res.build_dir.name.endswith("-cov") and res.build_dir != rtl_runner.build_dir(
        "ernn_delay", "verilator", PARAMS
    )
    files = sorted(dat.glob("ernn_delay-*.dat"))
    assert len(files) == 1
    fig = coverage.figures(coverage.read_points(files))["ernn_delay.v"]
    # the testbench drives every port of the line: every line and most toggle points are reached
    assert fig["line"][1] > 0 and fig["line"][0] == fig["line"][1]
    assert fig["toggle"][1] > 0 and fig["toggle"][0] > fig["toggle"][1] // 2


def test_icarus_refuses_coverage(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(rtl_runner.COVERAGE_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="coverage needs Verilator"):
        rtl_runner.run(
            "ernn_delay", "test_waves", PARAMS, sim="icarus", config={"seed": 1, "expect_depth": 2}
        )
