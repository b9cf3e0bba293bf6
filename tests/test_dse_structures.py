"""Phase II across structures (ernn.dse.structure_choice): variants at matching compression, the CSB sweep,
the choice between block-circulant and CSB, refusals, and the accuracy of training runs in the report."""

from __future__ import annotations

import json

import pytest

from ernn import cli
from ernn.dse import csb_cost
from ernn.dse import structure_choice as choice
from ernn.export import csb_schedule as cs
from ernn.shape import ModelShape
from ernn.shape.structures import CSB, BlockCirculant

SMALL = {"cell": "gru", "input_size": 16, "hidden_size": 32, "block_size": 8}


def test_variants_match_the_compression():
    circ = ModelShape.from_dict(SMALL)
    var = choice.variants(circ, ["circulant", "csb"])
    assert var["circulant"] is circ
    ratio = choice.compression(circ)
    assert ratio == pytest.approx(8.0)
    assert var["csb"].structure.block == 32  # min(32, hidden)
    assert var["csb"].structure.prune_rate == pytest.approx(1 - 1 / 8)
    # a CSB model at 13x gets the power-of-two k nearest its compression, 16
    csb = ModelShape.from_dict({**SMALL, "structure": CSB(16, 1 - 1 / 13).to_dict()})
    var = choice.variants(csb, ["circulant", "csb"], csb_block=8)
    assert var["circulant"].structure == BlockCirculant(16) and var["csb"].structure == CSB(8, 1 - 1 / 13)
    with pytest.raises(ValueError, match="--hw-structures"):
        choice.variants(circ, ["kronecker"])


def test_csb_sweep_rows_follow_the_cost_model():
    shape = ModelShape.from_dict({**SMALL, "structure": CSB(8, 0.875).to_dict()})
    num = csb_cost.numerics_for_shape(shape)
    rows = choice.sweep_csb(shape, num, [(2, 2, 2, 2), (4, 4, 2, 2)], ["none", "both"], method="greedy")
    assert [(r["grid"], r["mode"]) for r in rows] == [
        ([2, 2, 2, 2], "none"),
        ([2, 2, 2, 2], "both"),
        ([4, 4, 2, 2], "none"),
        ([4, 4, 2, 2], "both"),
    ]
    for r in rows:
        c = csb_cost.HwConfig.build(
            shape, num, r["lanes"], grid=cs.Grid(*r["grid"]), mode=r["mode"], method="greedy"
        )
        est = csb_cost.estimate(c)
        assert r["cycles_per_step"] == est.cycles_per_step and r["used"] == est.used
        assert r["latency_us"] == pytest.approx(est.cycles_per_step / 200.0)
    # more PEs: fewer cycles and more DSPs; sharing never costs cycles
    assert rows[2]["cycles_per_step"] < rows[0]["cycles_per_step"]
    assert rows[2]["used"]["dsp"] > rows[0]["used"]["dsp"]
    assert rows[1]["cycles_per_step"] <= rows[0]["cycles_per_step"]


def _row(structure, label, latency, util):
    return {
        "structure": structure,
        "label": label,
        "latency_us": latency,
        "utilisation_percent": {"lut": util, "ff": util / 2, "dsp": util / 3, "bram36": 0.0},
    }


def test_choice_is_the_smallest_meeting_the_target_else_the_fastest_fitting():
    rows = [
        _row("circulant", "P = 4", 2.0, 30),
        _row("circulant", "P = 16", 0.8, 60),
        _row("csb", "2x2x2x2", 1.5, 20),
        _row("csb", "8x4x4x4", 0.5, 95),
    ]
    assert choice.choose(rows, 1.6, 0.8, "xcku060")["label"] == "2x2x2x2"
    got = choice.choose(rows, 1.0, 0.8, "xcku060")
    assert got["label"] == "P = 16" and "meets" in got["reason"]
    fast = choice.choose(rows, 0.1, 0.8, "xcku060")
    assert fast["label"] == "P = 16" and "none meets" in fast["reason"]  # 8x4x4x4 is over the budget
    with pytest.raises(ValueError, match=r"csb 2x2x2x2 needs 200 % of the LUTs"):
        choice.choose([_row("csb", "2x2x2x2", 1.0, 200)], 1.0, 0.8, "xcku060")


def _dse(tmp_path, *extra):
    out = tmp_path / "dse"
    args = ["dse", "--phase", "2", "--out", str(out), "--cost-samples", str(tmp_path / "none.json")]
    return cli.main([*args, *extra]), out


def test_dse_chooses_between_circulant_and_csb(tmp_path, capsys):
    rc, out = _dse(
        tmp_path,
        "--hw-shape", json.dumps(SMALL), "--hw-structures", "circulant", "csb", "--lanes", "1", "5", "10",
        "--csb-grids", "2x2x2x2", "4x2x2x2", "--csb-modes", "none", "both", "--csb-method", "greedy",
        "--target-latency-us", "1.0",
    )  # fmt: skip
    assert rc == 0
    p2 = json.loads((out / "report.json").read_text())["phase2"]
    assert p2["structures"] == ["circulant", "csb"]
    assert [r["structure"] for r in p2["rows"]] == ["circulant"] * 3 + ["csb"] * 4
    chosen = p2["chosen"]
    meets = [r for r in p2["rows"] if r["latency_us"] <= 1.0]
    smallest = min(meets, key=lambda r: max(r["utilisation_percent"].values()))
    assert (chosen["structure"], chosen["label"]) == (smallest["structure"], smallest["label"])
    md = (out / "report.md").read_text()
    assert "Phase II across structures" in md and "**chosen**" in md
    assert "phase II:" in capsys.readouterr().out


def test_dse_refuses_a_csb_engine_that_cannot_fit(tmp_path, capsys):
    shape = {**SMALL, "hidden_size": 64, "structure": CSB(16, 0.9).to_dict()}
    rc, _ = _dse(
        tmp_path, "--hw-shape", json.dumps(shape), "--device", "xc7a35t", "--csb-grids", "16x8x4x4",
        "--csb-modes", "none",
    )  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert "no configuration fits the Artix-7 XC7A35T within 80% of each resource" in err
    # 2,048 PEs on a 20,800-LUT device: the LUTs (the PEs, their memories and the trees) are the first to run out
    assert "csb 16x8 groups of 4x4, sharing none needs" in err and "of the LUTs" in err


def test_dse_lists_the_accuracy_of_training_runs(tmp_path):
    runs = []
    for name, model, acc in (
        ("circ", {"cell": "gru", "input_size": 16, "hidden_size": 32, "block_size": 8}, 97.5),
        ("csb", {**SMALL, "structure": CSB(8, 0.875).to_dict()}, 96.0),
    ):
        run = tmp_path / name
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"model": model}))
        (run / "metrics.json").write_text(json.dumps({"test_accuracy": acc, "compression_ratio": 8.0}))
        runs.append(str(run))
    rc, out = _dse(
        tmp_path, "--hw-shape", json.dumps(SMALL), "--hw-structures", "circulant", "csb", "--lanes", "5",
        "--csb-grids", "2x2x2x2", "--csb-modes", "both", "--csb-method", "greedy", "--hw-runs", *runs,
    )  # fmt: skip
    assert rc == 0
    p2 = json.loads((out / "report.json").read_text())["phase2"]
    assert [(r["structure"], r["test_accuracy"]) for r in p2["runs"]] == [("circulant", 97.5), ("csb", 96.0)]
    assert "| 96.00 |" in (out / "report.md").read_text()
    with pytest.raises(ValueError, match="not a training run"):
        choice.run_accuracies([str(tmp_path)])


def test_bad_csb_grid_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["dse", "--phase", "2", "--csb-grids", "8x4x4", "--out", str(tmp_path / "d")])
    assert "KxLxPxQ" in capsys.readouterr().err
