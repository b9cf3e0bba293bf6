"""sim_report.json's saturation counts are those of the golden model on the user's input (``ernn golden``),
the input's own clipping to Q(data) included; no simulator runs here (the RTL's answer is the golden one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ernn import cli
from ernn.export.writer import ExportedModel
from ernn.sim import compare, inference
from ernn.sim import rtl as rtl_sim


@pytest.fixture(scope="module")
def model(tiny_model) -> ExportedModel:
    return ExportedModel(tiny_model(cell="gru", epochs=2, seed=3, export=("--test-sequences", "2")).model)


def _rtl_as_golden(model_dir, frames, last, *, sim, **kwargs) -> rtl_sim.RtlResult:
    """run_rtl's answer without a simulator: the golden model's outputs of the stream."""
    out, _ = ExportedModel(model_dir).net.run_stream(frames, last)
    cycles = np.arange(len(frames), dtype=np.int64)
    return rtl_sim.RtlResult(out, np.asarray(last, bool), cycles, cycles + 5, len(frames) + 13, 1.0, sim, 0.0)


def test_report_counts_the_input_saturations(model, monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setattr(rtl_sim, "run_rtl", _rtl_as_golden)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(3, 5, model.net.info.input_size))
    lengths = np.array([5, 2, 4])
    x[0, 1, 2] = 1e6
    x[2, 3, :] = -1e6
    x[1, 4, 0] = 1e6  # after sequence 1's end: padding, never quantized
    planted = 1 + x.shape[2]
    xn, lens, _ = inference.prepare_input(model, x, lengths)
    outcome = compare.simulate(model, xn, lens, sim="icarus", work_dir=tmp_path / "work")
    report = outcome.report
    assert report["bit_exact"]
    # what the input's quantization clips: every planted value, and any other beyond Q(data)
    fmt = model.net.numerics.data
    active = np.arange(x.shape[1])[None, :] < lens[:, None]
    scaled = np.rint(np.ldexp(xn[active], fmt.frac))
    clipped = int(np.count_nonzero((scaled < fmt.min_int) | (scaled > fmt.max_int)))
    assert clipped >= planted
    assert report["golden_saturations"]["input"] == clipped
    # the same counts as the golden model run on the float input, i.e. what `ernn golden` prints
    _, log = inference.run_golden(model, xn, lens)
    assert report["golden_saturations"] == log.nonzero()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "len.npy", lengths)
    args = ["golden", "--model", str(model.dir), "--input", str(tmp_path / "x.npy")]
    args += ["--lengths", str(tmp_path / "len.npy"), "--output", str(tmp_path / "g.npy")]
    assert cli.main(args) == 0
    assert f"saturations: {report['golden_saturations']}" in capsys.readouterr().out


def test_input_within_range_reports_no_input_saturation(model, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(rtl_sim, "run_rtl", _rtl_as_golden)
    x = np.zeros((2, 3, model.net.info.input_size))
    xn, lens, _ = inference.prepare_input(model, x, None)
    report = compare.simulate(model, xn, lens, work_dir=tmp_path / "work").report
    assert "input" not in report["golden_saturations"]
    _, log = inference.run_golden(model, xn, lens)
    assert report["golden_saturations"] == log.nonzero()
