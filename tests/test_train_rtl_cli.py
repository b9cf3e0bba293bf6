"""`ernn train-rtl` refuses bad options and output folders it did not write before anything is compiled or
simulated; the comparison names the first divergent step, tensor and word (no simulator needed here)."""

from __future__ import annotations

import numpy as np
import pytest

from ernn import cli
from ernn.sim import tt_train


def _fail(args, capsys) -> str:
    assert cli.main(["train-rtl", *args]) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rank", "0"], "--rank must be a positive integer"),
        (["--steps", "-1"], "--steps must be a positive integer"),
        (["--cores", "7"], "--cores 7: a TT matrix 12 -> 6 has at most 6 cores"),
        (["--sim", "xsim"], "--sim must be one of icarus, verilator"),
        (["--valid-gaps", "1.0"], "--valid-gaps must be a probability"),
        (["--data", "digits", "--inputs", "12"], "--data digits is a 64 -> 10 layer"),
        (["--seed", "-3"], "--seed must be in [0, 2**32)"),
        (["--data", "digits", "--batch", "600", "--steps", "3"], "--data digits has 1797 images"),
    ],
)
def test_bad_options_are_named(args, message, tmp_path, capsys) -> None:
    err = _fail([*args, "--out", str(tmp_path / "o")], capsys)
    assert message in err
    assert not (tmp_path / "o").exists()


def test_a_folder_of_the_users_is_refused(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(tt_train, "simulate", lambda *a, **k: pytest.fail("simulated before the check"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    err = _fail(["--out", str(tmp_path / "mine")], capsys)
    assert "holds files that ernn did not write" in err and "--force" in err
    (tmp_path / "file").write_text("x")
    assert "is a file" in _fail(["--out", str(tmp_path / "file")], capsys)


def test_own_folder_is_replaced_only_with_force(tmp_path, capsys, monkeypatch) -> None:
    """A train-rtl folder is replaced with --force only; another kind of ernn folder never."""
    prep = tt_train.prepare(tt_train.TTTrainConfig(steps=1))
    exact = {f"after0_{n}": v.reshape(-1) for n, v in prep.golden[0].items()}
    cycles = tt_train.step_cycles(prep.program)
    exact |= {"infer_y": prep.infer_y.reshape(-1), "status": np.array([[1, cycles]])}
    exact["infer_status"] = np.array([1, tt_train.infer_cycles(prep.program)])

    def fake_sim(prep, *, work_dir, **kw):
        from ernn.sim import runner

        runner.write_memh(work_dir / "tt_program.mem", prep.program.encode(), prep.program.width)
        return exact

    monkeypatch.setattr(tt_train, "simulate", fake_sim)
    out = tmp_path / "run"
    assert cli.main(["train-rtl", "--steps", "1", "--out", str(out)]) == 0
    assert "already holds" in _fail(["--steps", "1", "--out", str(out)], capsys)
    assert cli.main(["train-rtl", "--steps", "1", "--out", str(out), "--force"]) == 0
    from ernn.files import manifest

    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / "report.json").write_text("{}")
    (tmp_path / "synth" / manifest.MANIFEST).write_text(manifest.build(tmp_path / "synth", "synth").text())
    err = _fail(["--steps", "1", "--out", str(tmp_path / "synth"), "--force"], capsys)
    assert "is a synthesis folder" in err and "not replaced" in err


def test_divergence_names_step_tensor_and_word() -> None:
    prep = tt_train.prepare(tt_train.TTTrainConfig(steps=2))
    readback = {
        f"after{s}_{n}": v.reshape(-1).copy() for s, g in enumerate(prep.golden) for n, v in g.items()
    }
    readback["after1_b"][4] += 1
    readback["after1_w0"][7] -= 2
    first, mismatches, compared = tt_train.first_divergence(prep, readback)
    assert mismatches == 2 and compared == 2 * sum(v.size for v in prep.golden[0].values())
    assert (first["step"], first["tensor"], first["word"]) == (2, "w0", 7)
    text = tt_train.describe_divergence(first, 1)
    assert text.startswith("after step 2, core 0 (w0): first divergence at word 7")
    assert first["rtl"] == first["golden"] - 2


def test_digits_batches_are_the_quantized_images() -> None:
    from sklearn.datasets import load_digits

    from ernn.golden.ops import quantize

    prep = tt_train.prepare(
        tt_train.TTTrainConfig(inputs=64, outputs=10, rank=2, batch=2, steps=1, data="digits")
    )
    x, t = prep.batches[0]
    images = quantize(load_digits().data / 16.0, prep.fmts.x)
    assert all((images == row).all(axis=1).any() for row in x)
    assert (t.sum(axis=1) == 1 << prep.fmts.inter.frac).all()
