"""Fault injection: ``ernn export`` and ``ernn train`` are killed with SIGKILL (no clean-up possible) at
random moments, many times, and at every step of the directory commit; after each kill the output must be
the previous one, intact, or the new one, complete and valid (docs/reliability.md).

The random moments are seeded (reproducible) and spread over the whole command, start-up included; the
named steps (``ernn.files.output_dir.FAULT_POINTS``) hit the few instructions where a random kill rarely
lands. The default suite kills a few times per command; ``-m slow`` many more.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ernn import cli, data
from ernn.export.writer import ExportedModel
from ernn.files import manifest, output_dir
from ernn.train import run_directory as runs

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny data, two runs of it (seeds 1 and 2) and a model exported from the first."""
    top = tmp_path_factory.mktemp("faults")
    rng = np.random.default_rng(0)

    def split(n):
        lengths = rng.integers(2, 7, n)
        y = np.arange(n) % 3
        x = (rng.normal(size=(n, 6, 6)) + y[:, None, None]).astype(np.float32)
        x[np.arange(6)[None] >= lengths[:, None]] = 0
        return data.Split(x, lengths, y)

    data.save_npz(top / "train.npz", split(24))
    data.save_npz(top / "test.npz", split(9))
    runs_ = {}
    for seed in (1, 2):
        run = top / f"run{seed}"
        assert cli.main([*_train_args(top, run, seed), "--quiet"]) == 0
        runs_[seed] = run
    model = top / "model"
    assert (
        cli.main(["export", "--checkpoint", str(runs_[1]), "--out", str(model), "--test-sequences", "2"]) == 0
    )
    return top, runs_, model


def _train_args(top: Path, out: Path, seed: int) -> list[str]:
    return ["train", "--out", str(out), "--cell", "gru", "--hidden-size", "8", "--block-size", "4",
            "--epochs", "2", "--seed", str(seed), "--train", str(top / "train.npz"), "--test",
            str(top / "test.npz")]  # fmt: skip


def _cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ernn.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env or ENV)  # fmt: skip


def _full_time(args: list[str]) -> float:
    t0 = time.perf_counter()
    proc = _cli(args)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    return time.perf_counter() - t0


def _kill_after(args: list[str], delay: float) -> int:
    proc = _cli(args)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=60)


def _model_is_whole(model: Path, run_digests: set[str]) -> str:
    """The model verifies completely (files, digest, re-derived integers); return its source run digest."""
    ExportedModel(model)  # manifest, every file, params re-derived, job table
    source = json.loads((model / "config.json").read_text())["source_run"]["digest"]
    assert source in run_digests
    return source


def _export_kill_test(world, seed: int, kills: int) -> None:
    _, runs_, model = world
    digests = {manifest.read(r).digest for r in runs_.values()}
    (model / "user_notes.txt").write_text("mine")
    rng = np.random.default_rng(seed)
    args = ["export", "--checkpoint", None, "--out", str(model), "--test-sequences", "2", "--force"]
    full = _full_time([*args[:2], str(runs_[2]), *args[3:]])
    for i in range(kills):
        args[2] = str(runs_[1 + i % 2])  # alternate, so that every kill replaces a different model
        rc = _kill_after(args, float(rng.uniform(0.0, 1.1 * full)))
        _model_is_whole(model, digests)
        assert (model / "user_notes.txt").read_text() == "mine", f"kill {i} (rc {rc})"
    # the next complete export cleans up whatever the kills left beside the model
    assert _cli(args).wait(timeout=300) == 0
    _model_is_whole(model, digests)
    assert not [p.name for p in model.parent.iterdir() if ".ernn-" in p.name]


def _train_kill_test(world, seed: int, kills: int, tmp_path: Path) -> None:
    top, _, _ = world
    out = tmp_path / "run"
    assert cli.main([*_train_args(top, out, 1), "--quiet"]) == 0
    rng = np.random.default_rng(seed)
    full = _full_time([*_train_args(top, tmp_path / "timing", 2), "--quiet"])
    for i in range(kills):
        args = [*_train_args(top, out, 2 + i % 2), "--quiet", "--force"]
        _kill_after(args, float(rng.uniform(0.0, 1.1 * full)))
        _, config = runs.load_run(out)  # manifest and checkpoint verified, weights loaded
        assert config["train"]["seed"] in (1, 2, 3), f"kill {i}"
    assert _cli([*_train_args(top, out, 4), "--quiet", "--force"]).wait(timeout=300) == 0
    assert runs.read_config(out)["train"]["seed"] == 4
    assert not [p.name for p in tmp_path.iterdir() if ".ernn-" in p.name]


def test_export_killed_at_random_moments(world):
    _export_kill_test(world, seed=1, kills=6)


def test_train_killed_at_random_moments(world, tmp_path):
    _train_kill_test(world, seed=2, kills=5, tmp_path=tmp_path)


@pytest.mark.slow
def test_export_killed_at_random_moments_many_times(world):
    _export_kill_test(world, seed=3, kills=40)


@pytest.mark.slow
def test_train_killed_at_random_moments_many_times(world, tmp_path):
    _train_kill_test(world, seed=4, kills=30, tmp_path=tmp_path)


@pytest.mark.parametrize("point", output_dir.FAULT_POINTS)
def test_export_killed_at_every_step_of_the_commit(world, tmp_path, point):
    _, runs_, _ = world
    digests = {manifest.read(r).digest for r in runs_.values()}
    out = tmp_path / "model"
    assert (
        cli.main(["export", "--checkpoint", str(runs_[1]), "--out", str(out), "--test-sequences", "2"]) == 0
    )
    (out / "notes").mkdir()
    (out / "notes" / "mine.txt").write_text("mine")
    before = manifest.read(out).digest
    args = ["export", "--checkpoint", str(runs_[2]), "--out", str(out), "--test-sequences", "2", "--force"]
    proc = _cli(args, env={**ENV, output_dir.FAULT_ENV: point})
    assert proc.wait(timeout=300) == -signal.SIGKILL, proc.stderr.read()
    source = _model_is_whole(out, digests)
    after = manifest.read(out).digest
    # up to the exchange the previous model stands; from the exchange on, the new one
    if point in ("staged", "linked"):
        assert after == before and source == manifest.read(runs_[1]).digest
    else:
        assert after != before and source == manifest.read(runs_[2]).digest
    assert (out / "notes" / "mine.txt").read_text() == "mine"
    assert any(".ernn-stage-" in p.name for p in tmp_path.iterdir())  # what the kill left
    assert _cli(args).wait(timeout=300) == 0  # the next export cleans it up
    assert not [p.name for p in tmp_path.iterdir() if ".ernn-" in p.name]
    assert (out / "notes" / "mine.txt").read_text() == "mine"
