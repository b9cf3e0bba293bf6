"""Training the pruning structures (csb, sparse): masks through fine-tuning, determinism, metrics, the
command line and its refusals, export refusal, progressive search, and old runs still loading."""

import itertools
import json

import numpy as np
import pytest
import torch

from ernn import cli, data
from ernn.shape import BlockCirculant
from ernn.shape.structures import CSB, Sparse
from ernn.train import csb, models, search
from ernn.train import run_directory as runs
from ernn.train import trainer as train


def _cfg(tiny_data, **kw):
    base = dict(
        hidden_size=8,
        epochs=5,
        batch_size=16,
        train_file=str(tiny_data / "train.npz"),
        test_file=str(tiny_data / "test.npz"),
    )
    return train.TrainConfig(**{**base, **kw})


def _data_args(tiny_data):
    return ["--train", str(tiny_data / "train.npz"), "--test", str(tiny_data / "test.npz")]


@pytest.mark.parametrize("structure", [CSB(4, 0.75), Sparse(0.8), Sparse(0.8, 4)])
def test_pruned_weights_stay_zero_through_fine_tuning(tiny_data, structure):
    ds = data.load("classify", str(tiny_data / "train.npz"), str(tiny_data / "test.npz"))
    cfg = _cfg(tiny_data)
    torch.manual_seed(0)
    dense = train.build_model(cfg, ds.num_features, ds.num_classes, block_size=1)
    model = train.SequenceModel(dense.rnn.to_structure(structure), ds.num_classes, cfg.task)
    names = [n for n, _, _ in model.rnn.matrix_names()]
    masks = {n: model.rnn.mask(n).clone() for n in names}
    before = {n: getattr(model.rnn, n).detach().clone() for n in names}
    for n in names:  # the hard projection: the pattern of the dense weight's projection, values kept
        w = dense.rnn.dense_weight(n).reshape(before[n].shape)
        assert torch.equal(masks[n], model.rnn._structure.support(w, structure))
        assert torch.equal(before[n], w * masks[n])
    train._run_epochs(model, ds, cfg, 3, np.random.default_rng(0), "finetune", quiet=True)
    for n in names:
        w = getattr(model.rnn, n).detach()
        assert torch.equal(model.rnn.mask(n), masks[n]), n
        assert not w[~masks[n]].any(), n  # pruned: exactly 0
        assert not torch.equal(w[masks[n]], before[n][masks[n]]), n  # kept: trained
        assert not model.rnn.dense_weight(n).reshape(w.shape)[~masks[n]].any()


@pytest.mark.parametrize(
    "kw",
    [dict(structure="csb", csb_block=4, prune_rate=0.75), dict(structure="sparse", prune_rate=0.8, pes=4)],
)
def test_pruning_runs_are_deterministic_per_seed_and_report_their_storage(tiny_data, kw):
    m1, met1 = train.train(_cfg(tiny_data, **kw), quiet=True)
    m2, met2 = train.train(_cfg(tiny_data, **kw), quiet=True)
    m3, _ = train.train(_cfg(tiny_data, **kw, seed=1), quiet=True)
    s1, s2, s3 = m1.state_dict(), m2.state_dict(), m3.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not all(torch.equal(s1[k], s3[k]) for k in s1)
    assert met1["test_accuracy"] == met2["test_accuracy"]
    rnn = m1.rnn
    kept = sum(int(rnn.mask(n).sum()) for n, _, _ in rnn.matrix_names())
    dense = sum(rnn.mask(n).numel() for n, _, _ in rnn.matrix_names())
    assert met1["parameters"]["weights_stored"] == kept
    assert met1["compression_ratio"] == dense / kept
    assert met1["multiplies_per_step"] == {"dense": dense, "structured": kept}
    assert met1["prune_rate"] == {"target": kw["prune_rate"], "actual": 1 - kept / dense}
    assert abs(met1["prune_rate"]["actual"] - kw["prune_rate"]) < 0.1
    st = met1["storage"]
    assert st["values"] == kept and st["total_bits"] == 16 * kept + st["index_bits"]
    assert st["compression_ratio_with_index"] == 16 * dense / st["total_bits"] < met1["compression_ratio"]
    assert met1["structure"] == train.TrainConfig(**kw).structure_params().to_dict()
    if kw["structure"] == "csb":  # every matrix is a CSB matrix of its block size
        for n, _, _ in rnn.matrix_names():
            mask = rnn.mask(n)
            assert torch.equal(csb.pattern(getattr(rnn, n) * mask, CSB(4, 0.75)), mask)


def test_cli_trains_csb_records_the_structure_and_exports_it(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "--out",
        str(out),
        "--hidden-size",
        "8",
        "--epochs",
        "4",
        "--quiet",
        *_data_args(tiny_data),
    ]
    assert cli.main([*args, "--structure", "csb", "--csb-block", "4", "--prune-rate", "0.6"]) == 0
    printed = capsys.readouterr().out
    assert "CSB 4x4 blocks, prune rate 0.6" in printed and "kept (pruned" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["structure"] == "csb" and config["train"]["csb_block"] == 4
    assert config["model"]["structure"] == {"name": "csb", "block": 4, "prune_rate": 0.6}
    assert "block_size" not in config["model"]
    model, _ = runs.load_run(out)  # the masks come back with the weights
    assert model.rnn.masked and model.rnn.structure == CSB(4, 0.6)
    assert cli.main(["verify", str(out)]) == 0
    capsys.readouterr()
    assert cli.main([*args, "--structure", "csb", "--csb-block", "4", "--prune-rate", "0.6", "--reuse"]) == 0
    assert "reusing" in capsys.readouterr().out
    model_dir = tmp_path / "model"  # CSB has a golden model and an exporter (tests/test_csb_export.py)
    assert cli.main(["export", "--checkpoint", str(out), "--out", str(model_dir)]) == 0
    assert "exported LSTM CSB 4x4 blocks, prune rate 0.6" in capsys.readouterr().out
    assert (model_dir / "mem" / "l0_w_ih_values.mem").is_file()


def test_cli_trains_sparse_and_export_refuses_it(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "--out",
        str(out),
        "--hidden-size",
        "8",
        "--epochs",
        "3",
        "--quiet",
        *_data_args(tiny_data),
    ]
    assert cli.main([*args, "--structure", "sparse", "--prune-rate", "0.7", "--pes", "4"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["structure"] == {"name": "sparse", "prune_rate": 0.7, "pes": 4}
    gate_matrices = 2 * 4  # weight_ih, weight_hh, 4 gates each: every one balanced within one weight
    assert metrics["storage"]["pe_load_max"] - metrics["storage"]["pe_load_min"] <= gate_matrices
    capsys.readouterr()
    assert cli.main(["export", "--checkpoint", str(out), "--out", str(tmp_path / "m")]) == 2
    assert "structure 'sparse' has no golden model or RTL engine yet" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra,message",
    [
        (
            ["--structure", "csb", "--prune-rate", "0"],
            "prune_rate (--prune-rate) must be a number in (0, 1), got 0.0",
        ),
        (["--structure", "csb", "--prune-rate", "1"], "prune_rate (--prune-rate) must be a number in (0, 1)"),
        (
            ["--structure", "sparse", "--prune-rate", "1.5"],
            "prune_rate (--prune-rate) must be a number in (0, 1)",
        ),
        (
            ["--structure", "sparse", "--prune-rate", "nan"],
            "prune_rate (--prune-rate) must be a number in (0, 1)",
        ),
        (
            ["--structure", "csb", "--csb-block", "3"],
            "csb_block (--csb-block) 3 does not divide hidden_size 8",
        ),
        (["--structure", "csb", "--csb-block", "1"], "csb_block (--csb-block) must be an integer >= 2"),
        (
            ["--structure", "csb", "--csb-block", "16"],
            "csb_block (--csb-block) 16 does not divide hidden_size 8",
        ),
        (
            ["--structure", "csb", "--block-size", "4"],
            "--block-size applies to --structure circulant, not --structure csb",
        ),
        (
            ["--prune-rate", "0.5"],
            "--prune-rate applies to --structure csb or sparse, not --structure circulant",
        ),
        (["--structure", "csb", "--pes", "4"], "--pes applies to --structure sparse, not --structure csb"),
        (["--structure", "sparse", "--csb-block", "4"], "--csb-block applies to --structure csb"),
        (
            ["--structure", "sparse", "--pes", "9"],
            "pes (--pes) 9 exceeds the rows of the smallest matrix (8)",
        ),
        (["--structure", "sparse", "--pes", "-1"], "pes (--pes) must be an integer >= 0"),
        (["--structure", "csb", "--mode", "direct"], "structure 'csb' is trained with --mode admm"),
        (["--structure", "csb", "--qat-bits", "8"], "qat_bits (--qat-bits) runs the golden model"),
        (
            ["--structure", "csb", "--csb-block", "4", "--qat-epochs", "0"],
            "qat_epochs must be an integer >= 1",
        ),
        (["--structure", "kronecker"], "--structure must be one of circulant, csb, sparse, tt"),
        (["--search"], "search (--search) chooses the prune rate of --structure csb or sparse"),
        (
            ["--structure", "csb", "--search", "--prune-rate", "0.5"],
            "--search chooses the prune rate; drop --prune-rate",
        ),
        (["--structure", "csb", "--search-step", "0.1"], "--search-step is an option of --search"),
        (
            ["--structure", "csb", "--csb-block", "4", "--search", "--search-step", "1"],
            "search_step (--search-step) must be in (0, 1)",
        ),
        (
            ["--structure", "csb", "--csb-block", "4", "--search", "--search-min-step", "0.5"],
            "search_min_step (--search-min-step) must be in (0, search_step=0.2]",
        ),
        (
            ["--structure", "csb", "--csb-block", "4", "--search", "--search-tolerance", "-1"],
            "search_tolerance (--search-tolerance) must be >= 0",
        ),
        (
            ["--structure", "csb", "--csb-block", "4", "--search", "--search-holdout", "1"],
            "search_holdout (--search-holdout) must be in (0, 1)",
        ),
    ],
)
def test_cli_bad_structure_options_are_clear_errors(tmp_path, capsys, extra, message):
    out = tmp_path / "r"
    assert (
        cli.main(["train", "--out", str(out), "--hidden-size", "8", "--epochs", "1", "--quiet", *extra]) == 2
    )
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_csb_block_larger_than_every_layer_is_refused(tiny_data, tmp_path, capsys):
    args = ["train", "--out", str(tmp_path / "r"), "--hidden-size", "4", "--epochs", "1", "--quiet"]
    assert cli.main([*args, *_data_args(tiny_data), "--structure", "csb", "--csb-block", "8"]) == 2
    assert "csb_block (--csb-block) 8 does not divide hidden_size 4" in capsys.readouterr().err


def test_old_runs_without_structure_load_as_circulant(tiny_data, tmp_path, monkeypatch, capsys):
    """A run directory written before the structure options existed (no such keys in config.json) loads
    as block-circulant, and --reuse treats the missing keys as their defaults."""
    new_fields = {"structure", "prune_rate", "csb_block", "pes", "search", "search_step", "search_min_step",
                  "search_tolerance", "search_holdout"}  # fmt: skip
    written = runs.run_config

    def old_config(cfg, ds, model):
        config = written(cfg, ds, model)
        config["train"] = {k: v for k, v in config["train"].items() if k not in new_fields}
        return config

    monkeypatch.setattr(runs, "run_config", old_config)
    out = tmp_path / "old"
    args = ["train", "--out", str(out), "--hidden-size", "8", "--block-size", "4", "--epochs", "2", "--quiet"]
    assert cli.main([*args, *_data_args(tiny_data)]) == 0
    monkeypatch.undo()
    config = json.loads((out / "config.json").read_text())
    assert not new_fields & set(config["train"]) and "structure" not in config["model"]
    model, _ = runs.load_run(out)
    assert model.rnn.structure == BlockCirculant(4) and not model.rnn.masked
    capsys.readouterr()
    assert cli.main([*args, *_data_args(tiny_data), "--reuse"]) == 0
    assert "reusing" in capsys.readouterr().out


def test_module_config_round_trips_every_structure():
    for structure in (BlockCirculant(4), CSB(4, 0.5), Sparse(0.5, 2)):
        m = models.LSTM(6, 8, structure=structure)
        again = models.build("lstm", **m.config())
        again.load_state_dict(m.state_dict())
        x = torch.randn(3, 2, 6)
        assert torch.equal(again(x)[0], m(x)[0]) and again.structure == structure
    with pytest.raises(ValueError, match="block_size is the circulant block size"):
        models.LSTM(6, 8, block_size=4, structure=CSB(4, 0.5))


def test_search_reaches_the_highest_rate_that_holds_the_baseline(tiny_data, monkeypatch):
    """The search logic on a stand-in trainer whose accuracy drops past a known rate: every accepted
    rate holds the baseline, the chosen rate is within the last step of that edge, the step halves after a
    failure, no rate is tried twice or above one that failed, and the run is the plain run at the chosen
    rate."""
    edge, baseline = 0.63, 90.0
    calls = []

    def fake_train(cfg, ds, quiet=False):
        calls.append((cfg.mode, cfg.structure, cfg.prune_rate, len(ds.train), len(ds.test)))
        if cfg.mode == "dense":
            return None, {"test_accuracy": baseline}
        acc = baseline if cfg.prune_rate <= edge else baseline - 5
        return "model", {
            "test_accuracy": acc,
            "prune_rate": {"actual": cfg.prune_rate},
            "compression_ratio": 1 / (1 - cfg.prune_rate),
        }

    monkeypatch.setattr(search.trainer, "train", fake_train)
    cfg = _cfg(tiny_data, structure="csb", csb_block=4, search=True, search_tolerance=1.0)
    model, metrics = search.progressive(cfg, quiet=True)
    s = metrics["search"]
    trials = s["trials"]
    held = round(cfg.search_holdout * 96)
    assert calls[0][:2] == ("dense", "circulant") and calls[0][3:] == (96 - held, held)
    assert all(t["accepted"] == (t["rate"] <= edge) for t in trials)
    assert s["chosen_rate"] == max(t["rate"] for t in trials if t["accepted"]) <= edge
    assert edge - s["chosen_rate"] < cfg.search_min_step
    assert len({t["rate"] for t in trials}) == len(trials)  # no rate is trained twice
    for a, b in itertools.pairwise(trials):
        assert b["step"] <= (a["step"] / 2 if not a["accepted"] else a["step"])
        assert not (a["accepted"] is False and b["rate"] >= a["rate"])
    assert model == "model" and calls[-1] == ("admm", "csb", s["chosen_rate"], 96, 64)


def test_search_runs_end_to_end_and_records_its_trajectory(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "--out",
        str(out),
        "--hidden-size",
        "8",
        "--epochs",
        "3",
        "--quiet",
        *_data_args(tiny_data),
    ]
    extra = ["--structure", "sparse", "--search", "--search-step", "0.4", "--search-min-step", "0.2"]
    assert cli.main([*args, *extra, "--search-tolerance", "100"]) == 0  # every trial holds
    metrics = json.loads((out / "metrics.json").read_text())
    rates = [t["rate"] for t in metrics["search"]["trials"]]
    assert rates == [0.4, 0.8] and metrics["search"]["chosen_rate"] == 0.8  # 1.2 and 1.0 are not rates
    assert metrics["structure"]["prune_rate"] == 0.8
    assert "chosen by search (2 trials)" in capsys.readouterr().out
    # the run is the plain run at the chosen rate
    _, plain = train.train(
        _cfg(tiny_data, epochs=3, batch_size=32, structure="sparse", prune_rate=0.8), quiet=True
    )
    assert plain["test_accuracy"] == metrics["test_accuracy"]


def test_holdout_split_is_seeded_and_disjoint(tiny_data):
    ds = data.load("classify", str(tiny_data / "train.npz"), str(tiny_data / "test.npz"))
    a, b = search.holdout(ds, 0.25, 0), search.holdout(ds, 0.25, 0)
    assert np.array_equal(a.train.x, b.train.x) and len(a.test) == 24 and len(a.train) == 72
    rows = {r.tobytes() for r in ds.train.x}
    assert {r.tobytes() for r in a.train.x} | {r.tobytes() for r in a.test.x} == rows
    assert not np.array_equal(search.holdout(ds, 0.25, 1).test.x, a.test.x)
    assert a.mean is ds.mean and a.std is ds.std  # normalised as the whole training split
