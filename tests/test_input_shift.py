"""Input range from the data (ernn.export.input_shift): a power-of-two input shift folded into layer 0's
weights instead of clipping wide-ranging features at the data format's ±8."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ernn import cli, data
from ernn.export import input_shift
from ernn.export.writer import ExportedModel
from ernn.golden.float_reference import run_float
from ernn.sim import inference


def _range(values: int, beyond: dict[int, int]) -> dict:
    return {
        "values": values,
        "abs_max": 99.0,
        "beyond": {str(1 << j): beyond.get(1 << j, 0) for j in range(8)},
    }


def test_auto_takes_the_smallest_shift_within_the_clip_budget():
    assert input_shift.choose(_range(10**6, {8: 0})) == 0
    assert input_shift.choose(_range(10**6, {8: 100})) == 0  # 1e-4 of the values: within budget
    assert input_shift.choose(_range(10**6, {8: 101, 16: 5})) == 1
    assert input_shift.choose(_range(10**6, {8: 10**5, 16: 10**4, 32: 10**3, 64: 1})) == 3
    assert (
        input_shift.choose(_range(10**6, {b: 10**5 for b in (8, 16, 32, 64, 128)})) == input_shift.MAX_SHIFT
    )
    assert input_shift.choose(None) == 0  # a run that recorded no range
    assert input_shift.choose(_range(10, {8: 10}), "2") == 2
    for bad in ("5", "-1", "x"):
        with pytest.raises(ValueError, match="--input-shift must be 'auto' or an integer"):
            input_shift.choose(None, bad)


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """Sequences whose second feature has one rare burst per split, some 18 sigma after normalisation
    (as sensor or speech data can have)."""
    top = tmp_path_factory.mktemp("wide")
    rng = np.random.default_rng(3)

    def split(n):
        lengths = rng.integers(3, 9, n)
        y = np.arange(n) % 2
        x = rng.normal(size=(n, 8, 4)).astype(np.float32) + y[:, None, None]
        x[0, 0, 1] += 1000.0  # frame 0 is valid in every sequence
        x[np.arange(8)[None] >= lengths[:, None]] = 0
        return data.Split(x, lengths, y)

    data.save_npz(top / "train.npz", split(64))
    data.save_npz(top / "test.npz", split(16))
    run = top / "run"
    assert cli.main(["train", "--out", str(run), "--cell", "gru", "--hidden-size", "8", "--block-size", "4",
                     "--epochs", "2", "--quiet", "--train", str(top / "train.npz"), "--test",
                     str(top / "test.npz")]) == 0  # fmt: skip
    return top, run


def test_the_run_records_how_far_its_inputs_reach(wide):
    _, run = wide
    rng = json.loads((run / "config.json").read_text())["data"]["input_range"]
    assert rng["abs_max"] > 8 and rng["beyond"]["8"] > 0 and rng["values"] > 0


def test_export_shifts_wide_inputs_and_reports_the_clipping(wide, capsys):
    top, run = wide
    results = {}
    for request in ("auto", "0"):
        out = top / f"model-{request}"
        assert cli.main(["export", "--checkpoint", str(run), "--out", str(out), "--test-sequences", "2",
                         "--input-shift", request, "--data-bits", "12"]) == 0  # fmt: skip
        printed = capsys.readouterr().out
        model = ExportedModel(out)
        record = model.config["data"]
        assert "input shift 2^-" in printed and "values clipped at input quantization" in printed
        results[request] = (model, record)
    auto, zero = results["auto"][1], results["0"][1]
    assert auto["input_shift"] >= 1 and zero["input_shift"] == 0
    assert zero["input_clipping"]["test"]["clipped"] > 0 and zero["input_clipping"]["train"]["clipped"] > 0
    assert auto["input_clipping"]["test"]["clipped"] == 0
    # the float model is the same function: shifted input through scaled weights = the trained model
    test = data.load_npz(top / "test.npz", "classify")
    model_auto, model_zero = results["auto"][0], results["0"][0]
    f_auto = run_float(model_auto.desc, model_auto.normalise(test.x), test.lengths).h[-1]
    f_zero = run_float(model_zero.desc, model_zero.normalise(test.x), test.lengths).h[-1]
    assert np.abs(f_auto - f_zero)[test.frame_mask].max() < 1e-9
    # and the golden model now sees the bursts instead of clipping them (its input saturations vanish)
    _, log_auto = inference.run_golden(model_auto, model_auto.normalise(test.x), test.lengths, raw=True)
    _, log_zero = inference.run_golden(model_zero, model_zero.normalise(test.x), test.lengths, raw=True)
    assert log_zero.nonzero().get("input", 0) > 0 and log_auto.nonzero().get("input", 0) == 0


def test_evaluate_and_golden_apply_the_shift(wide):
    top, _ = wide
    model = ExportedModel(top / "model-auto")
    x = np.ones((3, 4), np.float32) * 5
    expected = (x - model.mean) / model.std / (1 << model.input_shift)
    assert np.allclose(model.normalise(x), expected)
    report = inference.evaluate(model, data.load_npz(top / "test.npz", "classify"))
    assert report["saturations"].get("input", 0) == 0
