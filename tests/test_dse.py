"""ernn dse Phase I: multi-seed sweep, resume without retraining, seed statistics, selection on the mean,
observation verdicts, report files; the output folder: claimed, resumed, sealed with a manifest, never a
user's files or another ernn directory, report files never half-written."""

import errno
import itertools
import json
import math
import os
import re
import shutil
import statistics
import struct

import numpy as np
import pytest
import scipy.stats

from ernn import cli, data
from ernn.dse import phase1 as dse
from ernn.files import atomic, manifest


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dse")
    rng = np.random.default_rng(0)
    centroids = rng.normal(size=(3, 8)) * 1.5

    def make(n):
        lengths = rng.integers(3, 7, n)
        y = rng.integers(0, 3, n)
        x = (rng.normal(size=(n, 6, 8)) + centroids[y][:, None, :]).astype(np.float32)
        return data.Split(x, lengths, y)

    data.save_npz(folder / "tr.npz", make(48))
    data.save_npz(folder / "te.npz", make(24))
    return folder


def _stamps(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}


def test_phase1_sweep_with_seeds_resumes_and_selects(npz, tmp_path):
    out = tmp_path / "dse"
    common = ["dse", "--out", str(out), "--cells", "gru", "--blocks", "1", "2", "4", "--hidden-sizes", "8"]
    common += ["--epochs", "3", "--workers", "1", "--max-accuracy-loss", "100"]
    common += ["--train", str(npz / "tr.npz"), "--test", str(npz / "te.npz")]
    points = out / "points"
    # A single-seed sweep (the older --seed form) leaves one file per point, named with its seed.
    assert cli.main([*common, "--seed", "0"]) == 0
    seed0 = _stamps(points)
    assert sorted(seed0) == ["gru_h8_l1_k1_s0.json", "gru_h8_l1_k2_s0.json", "gru_h8_l1_k4_s0.json"]
    # Adding seeds reuses the seed-0 runs untouched and trains only the new seed.
    assert cli.main([*common, "--seeds", "0", "1"]) == 0
    both = _stamps(points)
    assert sorted(both) == sorted(
        [*seed0, "gru_h8_l1_k1_s1.json", "gru_h8_l1_k2_s1.json", "gru_h8_l1_k4_s1.json"]
    )
    assert all(both[name] == stamp for name, stamp in seed0.items())
    # Interrupted sweeps resume: only the missing run is trained again.
    (points / "gru_h8_l1_k2_s1.json").unlink()
    assert cli.main([*common, "--seeds", "0", "1"]) == 0
    again = _stamps(points)
    assert set(again) == set(both)
    assert all(again[n] == both[n] for n in both if n != "gru_h8_l1_k2_s1.json")

    report = json.loads((out / "report.json").read_text())["phase1"]
    assert report["config"]["seeds"] == [0, 1]
    for row in report["points"]:
        runs = [
            json.loads((points / f"gru_h8_l1_k{row['block_size']}_s{s}.json").read_text()) for s in (0, 1)
        ]
        accs = [r["metrics"]["test_accuracy"] for r in runs]
        assert row["n_seeds"] == 2 and row["seeds"] == [0, 1]
        assert row["accuracies"] == pytest.approx(accs)
        assert row["accuracy"] == pytest.approx(statistics.mean(accs))
        assert row["accuracy_std"] == pytest.approx(statistics.stdev(accs))
    # A budget of 100 points admits everything: the most compressed point (k = 4) is chosen.
    assert report["chosen"]["block_size"] == 4
    text = (out / "report.md").read_text()
    assert text.startswith("# Design-space exploration")
    assert "on the mean over seeds" in text
    assert (out / "phase1_accuracy.png").stat().st_size > 1000
    # The manifest lists every file of the exploration (each point of both seeds, the reports, the plots)
    # with its hash; nothing else is in the folder.
    listed = manifest.verify(out, "dse").files
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {manifest.MANIFEST}
    assert set(listed) == on_disk
    assert {f"points/{name}" for name in both} <= set(listed)
    assert {"report.json", "report.md", "phase1_accuracy.png"} <= set(listed)


def _result(cell, k, seed, acc, hidden=32, after=None):
    ratio = float(k)
    return {
        "config": {"cell": cell, "hidden_size": hidden, "num_layers": 1, "block_size": k, "seed": seed},
        "metrics": {
            "test_accuracy": acc,
            "accuracy_after_projection": after,
            "compression_ratio": ratio,
            "parameters": {"weights_stored": int(4096 / k)},
            "multiplies_per_step": {"fft": int(4096 / k) + 100, "dense": 4096},
        },
    }


def _results(accs_by_k, cell="lstm", hidden=32):
    return [
        _result(cell, k, seed, acc, hidden) for k, accs in accs_by_k.items() for seed, acc in enumerate(accs)
    ]


def test_summarise_aggregates_seeds():
    dense, k4 = [96.0, 97.5, 98.1], [95.2, 97.0, 96.1]
    results = _results({1: dense, 4: k4})
    results[-1]["metrics"]["accuracy_after_projection"] = 90.0  # only one seed of k = 4 reports it
    rows = {r["block_size"]: r for r in dse.summarise(reversed(results))}
    assert rows[4]["n_seeds"] == 3 and rows[4]["seeds"] == [0, 1, 2]
    assert rows[4]["accuracies"] == k4
    assert rows[4]["accuracy"] == pytest.approx(statistics.mean(k4))
    assert rows[4]["accuracy_std"] == pytest.approx(statistics.stdev(k4))  # sample std, ddof = 1
    assert rows[4]["accuracy_loss"] == pytest.approx(statistics.mean(dense) - statistics.mean(k4))
    se = math.hypot(statistics.stdev(dense) / math.sqrt(3), statistics.stdev(k4) / math.sqrt(3))
    assert rows[4]["accuracy_loss_se"] == pytest.approx(se)
    assert rows[4]["accuracy_after_projection"] == pytest.approx(90.0)
    assert rows[1]["accuracy_loss"] == 0.0 and rows[1]["accuracy_loss_se"] == 0.0
    assert rows[1]["accuracy_after_projection"] is None
    # One seed: the std is 0 rather than undefined, and n says why.
    single = dse.summarise(_results({1: [97.0], 2: [96.0]}))
    assert [(r["n_seeds"], r["accuracy_std"]) for r in single] == [(1, 0.0), (1, 0.0)]
    with pytest.raises(ValueError, match="with seed 1: each seed must be counted once"):
        dse.summarise([*results, _result("lstm", 4, 1, 50.0)])
    with pytest.raises(ValueError, match="no dense"):
        dse.summarise(_results({4: k4}))


def test_selection_is_on_the_mean_over_seeds():
    # k = 8 has one seed within a 1-point budget (96.9 vs 97.0) but a mean loss of 2: it must not be chosen.
    rows = dse.summarise(_results({1: [97.0, 96.5, 97.5], 4: [96.5, 96.0, 97.0], 8: [96.9, 93.6, 94.5]}))
    by_k = {r["block_size"]: r for r in rows}
    assert by_k[8]["accuracy_loss"] == pytest.approx(2.0)
    assert dse.select(rows, 1.0)["block_size"] == 4
    assert dse.select(rows, 2.0)["block_size"] == 8
    assert dse.select(rows, -1.0) is None
    # Equal compression: fewer multiplies wins.
    twin = dict(by_k[4], hidden_size=64, multiplies_fft=by_k[4]["multiplies_fft"] - 1)
    assert dse.select([*rows, twin], 1.0)["hidden_size"] == 64


def test_spearman_and_permutation_p():
    x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert dse.spearman(x, [1.0, 2.0, 3.0, 4.0, 5.0, 9.0]) == pytest.approx(1.0)
    assert dse.spearman(x, [3.0] * 6) is None
    # A perfect increase is the single most extreme of the 6! orderings.
    assert dse.spearman_p_increasing(x, [0.0, 0.1, 0.2, 0.5, 1.0, 3.0]) == pytest.approx(
        1 / math.factorial(6)
    )
    y = [0.0, 0.3, 0.3, -0.2, 1.0, 0.8]  # with a tie
    assert dse.spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic)
    rho = dse.spearman(x, y)
    exact = sum(dse.spearman(x, list(p)) >= rho - 1e-12 for p in itertools.permutations(y)) / 720
    assert dse.spearman_p_increasing(x, y) == pytest.approx(exact)


def _curve(means, spread, cell="lstm"):
    """Three seeds per block size 1..32 around the given means, each with sample std ``spread``."""
    return _results({2**i: [m - spread, m, m + spread] for i, m in enumerate(means)}, cell=cell)


def test_observation_verdicts_on_made_up_curves():
    # Degrades slowly then fast, with seed spread far below the losses: observation 1 holds.
    convex = dse.observations(dse.summarise(_curve([97.0, 96.8, 96.4, 95.5, 93.0, 88.0], 0.1)))
    d = convex["degradation"][0]
    assert d["holds"] and d["spearman_rho"] == pytest.approx(1.0)
    assert d["p_value"] == pytest.approx(1 / math.factorial(6))
    assert d["late_slope"] > d["early_slope"] and "steeper at large k" in d["verdict"]
    assert convex["verdicts"]["degradation"].startswith("holds: in 1 of 1 groups")
    # A curved loss is not a straight line in log2 k: interpolating the end points misses it by more than noise.
    p = convex["endpoint_prediction"][0]
    assert p["within_noise"] is False and "exceeds seed noise" in p["verdict"]
    assert p["points"][0]["predicted"] == pytest.approx(97.0 + (88.0 - 97.0) / 5)

    # Linear in log2 k: the end points predict every intermediate point exactly.
    linear = dse.observations(dse.summarise(_curve([97.0 - 0.8 * i for i in range(6)], 0.3)))
    p = linear["endpoint_prediction"][0]
    assert p["mean_abs_error"] == pytest.approx(0.0, abs=1e-9)
    assert p["seed_noise_std"] == pytest.approx(0.3)
    assert p["within_noise"] is True and "within seed noise" in p["verdict"]
    assert "flat 'no loss' prediction" not in p["verdict"]
    assert linear["verdicts"]["endpoint_prediction"].startswith("holds: end-point interpolation is within")

    # Flat and noisy: no trend, every loss within 2 SE; the interpolation is "good" only because a flat line is.
    flat = dse.observations(dse.summarise(_curve([97.0, 97.3, 96.8, 97.2, 96.9, 97.1], 1.0)))
    d, p = flat["degradation"][0], flat["endpoint_prediction"][0]
    assert not d["holds"] and d["significant_blocks"] == []
    assert d["verdict"].startswith("does not hold")
    assert flat["verdicts"]["degradation"].startswith("does not hold: in 0 of 1 groups")
    assert p["within_noise"] is True and "so there is little curve to predict" in p["verdict"]

    # One seed: nothing can be said against noise, and the verdicts say so.
    one = dse.observations(dse.summarise(_results({2**i: [97.0 - i] for i in range(6)})))
    assert one["verdicts"]["degradation"].startswith("not tested")
    assert one["verdicts"]["endpoint_prediction"].startswith("not tested")


def test_report_and_plot_on_made_up_rows(tmp_path):
    rows = dse.summarise(
        _curve([97.0, 96.8, 96.4, 95.5, 93.0, 88.0], 0.2, "lstm")
        + _curve([96.0, 96.1, 95.9, 95.2, 94.0, 90.0], 0.4, "gru")
    )
    chosen = dse.select(rows, 1.0)
    assert (chosen["cell"], chosen["block_size"]) == ("gru", 8)
    text = dse.report_markdown(rows, chosen, dse.observations(rows), 1.0, "ernn dse --seeds 0 1 2")
    assert "`ernn dse --seeds 0 1 2`" in text
    gru8 = next(r for r in rows if (r["cell"], r["block_size"]) == ("gru", 8))
    assert f"| GRU | 32 | 1 | 8 | 3 | {gru8['accuracy']:.2f} ± {gru8['accuracy_std']:.2f} |" in text
    assert f"Chosen: GRU, hidden 32, 1 layer(s), block size 8: accuracy {gru8['accuracy']:.2f} ± " in text
    assert "Verdict: holds" in text
    png = tmp_path / "acc.png"
    dse.plot_accuracy(rows, png, 1.0, chosen)
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width > 1.8 * height  # one panel per cell, side by side


def test_bad_dse_arguments(tmp_path, capsys):
    assert cli.main(["dse", "--out", str(tmp_path), "--blocks", "2", "4", "--epochs", "1"]) == 2
    assert "blocks must include 1" in capsys.readouterr().err
    assert cli.main(["dse", "--out", str(tmp_path), "--blocks", "1", "3"]) == 2
    assert "block_size must be a power of two" in capsys.readouterr().err
    assert cli.main(["dse", "--out", str(tmp_path), "--engine", "slurm", "--blocks", "1"]) == 2
    assert "engine must be" in capsys.readouterr().err
    assert cli.main(["dse", "--out", str(tmp_path), "--seeds", "0", "1", "0", "2", "1"]) == 2
    assert "seeds must be distinct: 0, 1 given more than once" in capsys.readouterr().err
    with pytest.raises(ValueError, match="seeds must name at least one seed"):
        dse.Phase1Config(seeds=[]).points()
    with pytest.raises(ValueError, match="seeds must name at least one seed"):
        dse.run_phase1(dse.Phase1Config(seeds=[]), tmp_path)
    for argv in (["--seeds"], ["--seeds", "0", "--seed", "1"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(["dse", "--out", str(tmp_path), *argv])
        assert exc.value.code == 2
    assert not (tmp_path / "points").exists() or not list((tmp_path / "points").iterdir())


def test_phase2_on_an_exported_model_uses_its_shape_and_formats(tiny_model, tmp_path):
    """--hw-model reads the model directory (shape and formats) and costs it like the same shape."""
    from ernn.dse import phase2 as dse_hw
    from ernn.export.model_dir import ModelDirectory

    model = tiny_model(cell="gru", seed=4).model
    out = tmp_path / "dse"
    args = ["dse", "--phase", "2", "--hw-model", str(model), "--out", str(out), "--lanes", "1", "3", "6"]
    assert cli.main(args) == 0
    p2 = json.loads((out / "report.json").read_text())["phase2"]
    assert [r["lanes"] for r in p2["rows"]] == [1, 3, 6]
    md = ModelDirectory(model)
    base = dse_hw.config_for_shape(md.shape, 1, data_bits=md.numerics.data.word)
    expected = dse_hw.sweep(base, [1, 3, 6])
    assert [r["cycles_per_step"] for r in p2["rows"]] == [r["cycles_per_step"] for r in expected]
    assert (out / "phase2_pareto.png").stat().st_size > 0


def _phase2(out, tmp_path, *extra):
    """A quick Phase II on a named shape (no training, no cost-model check)."""
    args = ["dse", "--phase", "2", "--hw-shape", "default", "--out", str(out), "--lanes", "1", "2"]
    args += ["--cost-samples", str(tmp_path / "no_samples.json")]
    return cli.main([*args, *extra])


def _contents(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_dse_into_a_users_folder_needs_force_and_keeps_their_files(tmp_path, capsys):
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "sub" / "data.csv").write_text("1,2\n")
    users = _contents(folder)
    assert _phase2(folder, tmp_path) == 2
    assert "holds files that ernn did not write" in capsys.readouterr().err
    assert _contents(folder) == users
    assert _phase2(folder, tmp_path, "--force") == 0
    after = _contents(folder)
    assert {name: after[name] for name in users} == users
    listed = manifest.verify(folder, "dse").files
    assert set(listed) == {"report.json", "report.md", "phase2_pareto.png"}
    # Claimed now: the next run resumes without --force, and the user's files stay as they are.
    assert _phase2(folder, tmp_path, "--lanes", "1", "2", "4") == 0
    assert [r["lanes"] for r in json.loads((folder / "report.json").read_text())["phase2"]["rows"]] == [
        1,
        2,
        4,
    ]
    assert {name: _contents(folder)[name] for name in users} == users
    # A user's file at a name the exploration writes is refused even with --force, and nothing is written.
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "report.md").write_text("their report\n")
    assert _phase2(theirs, tmp_path, "--force") == 2
    assert "report.md is not ernn's" in capsys.readouterr().err
    assert _contents(theirs) == {"report.md": b"their report\n"}


def test_dse_refuses_a_training_run_and_a_model_directory(tiny_model, tmp_path, capsys):
    tiny = tiny_model(cell="gru", seed=4)
    for folder, what in ((tiny.run, "is a training run"), (tiny.model, "is a model directory")):
        kind = manifest.read(folder).kind
        before = _contents(folder)
        for extra in ((), ("--force",)):
            assert _phase2(folder, tmp_path, *extra) == 2
            err = capsys.readouterr().err
            assert what in err and "choose another --out" in err
        assert _contents(folder) == before
        manifest.verify(folder, kind)


def test_damaged_hw_model_is_refused_naming_the_file(tiny_model, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(tiny_model(cell="gru", seed=4).model, model)
    with (model / "ernn_params.vh").open("a") as f:
        f.write("// edited\n")
    out = tmp_path / "dse"
    assert cli.main(["dse", "--phase", "2", "--hw-model", str(model), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "ernn_params.vh was changed" in err
    assert not out.exists()  # refused before the output folder was claimed


def test_report_files_are_never_half_written(tmp_path, monkeypatch, capsys):
    out = tmp_path / "dse"
    assert _phase2(out, tmp_path) == 0
    before = _contents(out)
    assert {"report.json", "report.md", "phase2_pareto.png", manifest.MANIFEST} <= set(before)

    # A plot that fails half-way (disk full) after writing part of its PNG: the previous plot stays.
    import matplotlib.figure

    def half_savefig(self, fname, *args, **kwargs):
        if hasattr(fname, "write"):
            fname.write(b"\x89PNG half")
        else:
            with open(fname, "wb") as f:
                f.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(matplotlib.figure.Figure, "savefig", half_savefig)
        assert _phase2(out, tmp_path, "--lanes", "1", "2", "4") == 2
    assert re.search("No space left|the disk is full", capsys.readouterr().err)
    assert _contents(out) == before

    # Writing report.json fails after its content was written (disk full at the flush): the previous
    # report.json is intact, the other files are whole, and no hidden temporary is left behind.
    real_fsync = os.fsync

    def failing_fsync(fd):
        if ".report.json" + atomic.TEMP_TAG in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    with monkeypatch.context() as m:
        m.setattr(atomic.os, "fsync", failing_fsync)
        assert _phase2(out, tmp_path, "--lanes", "1", "2", "4") == 2
    assert re.search("No space left|the disk is full", capsys.readouterr().err)
    after = _contents(out)
    assert after["report.json"] == before["report.json"]
    assert after["report.md"] == before["report.md"]
    assert after["phase2_pareto.png"][:8] == b"\x89PNG\r\n\x1a\n"  # the new plot, whole
    assert set(after) == set(before)  # no temporary left
    # The next run repairs the folder: reports rewritten and the manifest matches again.
    assert _phase2(out, tmp_path, "--lanes", "1", "2", "4") == 0
    manifest.verify(out, "dse")


def test_resumable_claim_and_seal(tmp_path):
    from ernn.files import resumable

    new = resumable.claim(tmp_path / "a" / "b", "dse", force=False)
    assert manifest.verify(new, "dse").files == {}
    (new / "report.json").write_text("{}\n")
    assert resumable.claim(new, "dse", force=False) == new  # resumed: nothing rewritten
    sealed = resumable.seal(new, "dse", ["report.json"])
    assert manifest.verify(new, "dse") == sealed and set(sealed.files) == {"report.json"}
    for name in ("../x.json", "missing.json", manifest.MANIFEST):
        with pytest.raises(ValueError, match="is not a file the tool wrote"):
            resumable.seal(new, "dse", [name])
    with pytest.raises(FileExistsError, match="is a design-space exploration"):
        resumable.claim(new, "synth", force=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        resumable.claim(tmp_path / "file", "dse", force=True)
    (new / manifest.MANIFEST).write_text("{not json")
    with pytest.raises(manifest.ManifestError, match="not a readable manifest.*choose another --out"):
        resumable.claim(new, "dse", force=True)
