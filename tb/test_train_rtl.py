"""`ernn train-rtl` end to end on both simulators: a TT-MLP trained on rtl/ernn_tt_train_top.v under random
gaps and back-pressure leaves the golden step's cores after every step (the report says so, word counts
and cycles computed here from the program), and an RTL run that starts from other cores than the golden
one is reported as diverging at step 1, naming the tensor and the word, with exit status 1."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ernn import cli
from ernn.export.tt_program import step_cycles
from ernn.sim import runner as rtl_runner
from ernn.sim import tt_train

# a small TT-MLP (two cores of rank 2, padded modes on neither side): a few hundred clocks per step
SMALL = ["--inputs", "8", "--outputs", "4", "--cores", "2", "--rank", "2", "--batch", "2", "--steps", "2"]


def _config() -> tt_train.TTTrainConfig:
    return tt_train.TTTrainConfig(inputs=8, outputs=4, cores=2, rank=2, batch=2, steps=2)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_train_rtl_is_bit_exact_under_gaps(sim, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = [
        "train-rtl",
        *SMALL,
        "--sim",
        sim,
        "--out",
        str(out),
        "--valid-gaps",
        "0.3",
        "--ready-stalls",
        "0.3",
    ]
    assert cli.main(args) == 0
    report = json.loads((out / "report.json").read_text())
    prep = tt_train.prepare(_config())
    words = sum(v.size for v in prep.golden[-1].values()) * 2
    assert report["bit_exact"] and report["mismatches"] == 0 and report["first_divergence"] is None
    assert report["words_compared"] == words and report["simulator"] == sim
    assert report["cycles_per_step"] == [step_cycles(prep.program)] * 2
    assert report["ideal_cycles_per_step"] == prep.program.macs
    assert [s["steps"] for s in report["status"]] == [1, 2] and report["status_ok"]
    assert report["inference"]["status"] == [2, tt_train.infer_cycles(prep.program)]
    trained = np.load(out / "trained.npz")
    for name, want in prep.golden[-1].items():
        assert np.array_equal(trained[name], want), name
    assert math.isclose(report["ratio_to_ideal"], step_cycles(prep.program) / prep.program.macs)
    assert "bit-exact with the golden step" in capsys.readouterr().out


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_train_rtl_names_the_first_divergence(sim, tmp_path, monkeypatch, capsys) -> None:
    """The RTL is loaded with core 1 changed in one word: the golden run did not start there, so the
    comparison must fail after step 1 (the update cannot undo it), on that core, with exit status 1."""
    real = tt_train.prepare

    def tampered(config):
        prep = real(config)
        prep.initial["w1"] = prep.initial["w1"].copy()
        prep.initial["w1"].reshape(-1)[3] ^= 1
        return prep

    monkeypatch.setattr(tt_train, "prepare", tampered)
    out = tmp_path / "run"
    assert cli.main(["train-rtl", *SMALL, "--sim", sim, "--out", str(out)]) == 1
    report = json.loads((out / "report.json").read_text())
    assert not report["bit_exact"] and report["mismatches"] > 0
    first = report["first_divergence"]
    assert first["step"] == 1 and first["tensor"] == "w1"
    assert "after step 1, core 1 (w1): first divergence at word" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_train_rtl_digits_with_pruning(sim, tmp_path) -> None:
    """scikit-learn digits (64 -> 10) with rank pruning on: 3 steps bit-exact."""
    out = tmp_path / "run"
    args = [
        "train-rtl",
        "--data",
        "digits",
        "--rank",
        "2",
        "--batch",
        "2",
        "--steps",
        "3",
        "--prune-shift",
        "2",
    ]
    assert cli.main([*args, "--sim", sim, "--out", str(out)]) == 0
    assert json.loads((out / "report.json").read_text())["bit_exact"]
