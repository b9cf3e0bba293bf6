"""ernn dse --engine ray against a local Ray instance: the same runs as the local engine, a failing run named,
resume after a killed sweep without retraining, and no Ray process left behind.

Each test gives Ray a fresh temporary folder (``RAY_TMPDIR``, short: Ray's socket paths must fit in 107
bytes); every process of that instance inherits the variable, which is how the tests find leftovers.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import ray

from ernn import data
from ernn.dse import explore
from ernn.dse import phase1 as dse
from ernn.files import manifest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dse_ray")
    rng = np.random.default_rng(1)
    centroids = rng.normal(size=(3, 6)) * 1.5

    def make(n):
        lengths = rng.integers(3, 6, n)
        y = rng.integers(0, 3, n)
        x = (rng.normal(size=(n, 5, 6)) + centroids[y][:, None, :]).astype(np.float32)
        return data.Split(x, lengths, y)

    data.save_npz(folder / "tr.npz", make(32))
    data.save_npz(folder / "te.npz", make(16))
    # for the kill test: long enough runs (about a second each) that the kill lands between two points
    data.save_npz(folder / "tr_long.npz", make(256))
    return folder


@pytest.fixture
def ray_tmpdir(monkeypatch):
    folder = tempfile.mkdtemp(prefix="ernn-ray-", dir="/tmp")
    monkeypatch.setenv("RAY_TMPDIR", folder)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local instance, never someone's cluster
    yield folder
    try:
        assert _ray_processes(folder, wait_s=0) == [], "a Ray process outlived the test"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _ray_processes(tmpdir: str, wait_s: float = 20.0) -> list[str]:
    """Processes of the Ray instance whose temporary folder is ``tmpdir``, after up to ``wait_s`` for them
    to end (a killed driver's instance goes down within seconds)."""
    needle = f"RAY_TMPDIR={tmpdir}".encode()
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                if needle in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(f"{proc.name}: {(proc / 'cmdline').read_bytes()[:120]!r}")
            except OSError:  # gone meanwhile, or not ours to read
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _config(npz, blocks=(1, 2)):
    return dse.Phase1Config(
        cells=["gru"],
        blocks=list(blocks),
        hidden_sizes=[8],
        epochs=2,
        seeds=[0],
        train_file=str(npz / "tr.npz"),
        test_file=str(npz / "te.npz"),
    )


def _without_time(result):
    return {**result, "metrics": {k: v for k, v in result["metrics"].items() if k != "train_seconds"}}


def test_ray_engine_trains_what_the_local_engine_trains(npz, tmp_path, ray_tmpdir):
    cfg = _config(npz)
    runs = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        start = time.perf_counter()
        report = explore.phase1(cfg, out, max_accuracy_loss=100, workers=2, engine=engine, command="test")
        runs[engine] = (report, sorted((out / "points").glob("*.json")), time.perf_counter() - start)
        print(f"{engine}: {runs[engine][2]:.1f} s for {len(runs[engine][1])} points")
    (local, local_files, _), (remote, remote_files, _) = runs["local"], runs["ray"]
    assert (
        [p.name for p in remote_files]
        == [p.name for p in local_files]
        == [
            "gru_h8_l1_k1_s0.json",
            "gru_h8_l1_k2_s0.json",
        ]
    )
    # Training is deterministic (one torch thread, deterministic algorithms, seeded): the same seed trains
    # the same model in a Ray worker as in a pool process, so every metric but the wall time is equal.
    for a, b in zip(local_files, remote_files, strict=True):
        assert _without_time(json.loads(b.read_text())) == _without_time(json.loads(a.read_text()))
    assert remote["points"] == local["points"]
    assert remote["chosen"] == local["chosen"] and remote["chosen"]["block_size"] == 2
    assert not ray.is_initialized()  # the instance the sweep started is shut down
    assert _ray_processes(ray_tmpdir) == []


def test_a_failing_run_is_named_and_ray_is_shut_down(npz, tmp_path, ray_tmpdir):
    cfg = _config(npz, blocks=(1,))
    cfg.test_file = str(tmp_path / "missing.npz")  # every run fails to load its data, in the worker
    with pytest.raises(dse.PointFailed, match=r"point gru_h8_l1_k1_s0 failed on Ray: .*missing\.npz"):
        dse.run_phase1(cfg, tmp_path / "out", workers=1, engine="ray")
    assert not ray.is_initialized()
    assert _ray_processes(ray_tmpdir) == []


def _dse(out, npz, ray_tmpdir):
    command = [sys.executable, "-m", "ernn.cli", "dse", "--phase", "1", "--out", str(out), "--engine", "ray"]
    command += ["--cells", "gru", "--blocks", "1", "2", "4", "--hidden-sizes", "8", "--epochs", "30"]
    command += ["--seeds", "0", "--workers", "1", "--max-accuracy-loss", "100"]
    command += ["--train", str(npz / "tr_long.npz"), "--test", str(npz / "te.npz")]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"RAY_TMPDIR": ray_tmpdir}
    # its own process group, as a command started from a shell: Ctrl-C there reaches Ray's processes too
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_a_killed_ray_sweep_resumes_without_retraining(npz, tmp_path, ray_tmpdir, sig):
    """Ctrl-C: SIGINT to the command's whole process group, as a terminal sends it. SIGKILL: to the driver
    alone, which can clean nothing up."""
    out = tmp_path / "dse"
    points = out / "points"
    names = [f"gru_h8_l1_k{k}_s0.json" for k in (1, 2, 4)]
    first = _dse(out, npz, ray_tmpdir)
    deadline = time.monotonic() + 120
    while not (points.is_dir() and any(points.glob("*.json"))):
        assert first.poll() is None, f"the sweep ended before its first point:\n{first.communicate()[0]}"
        assert time.monotonic() < deadline, "no point finished within 120 s"
        time.sleep(0.02)
    os.killpg(first.pid, sig) if sig == signal.SIGINT else first.send_signal(sig)
    log = first.communicate(timeout=60)[0]
    if sig == signal.SIGINT:  # Ctrl-C: the CLI's exit code, after the sweep shut its Ray instance down
        assert first.returncode == 130, log
    else:
        assert first.returncode == -signal.SIGKILL
    # whatever the driver could or could not do, its local instance does not outlive it
    assert _ray_processes(ray_tmpdir) == [], log
    kept = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in points.glob("*.json")}
    assert kept and set(kept) < set(names), log  # interrupted mid-sweep, every file whole JSON
    for content in kept.values():
        json.loads(content[1])

    second = _dse(out, npz, ray_tmpdir)
    log = second.communicate(timeout=180)[0]
    assert second.returncode == 0, log
    assert sorted(p.name for p in points.glob("*.json")) == names
    for name, (stamp, content) in kept.items():  # finished before the kill: not trained again
        assert (points / name).stat().st_mtime_ns == stamp and (points / name).read_bytes() == content
    report = json.loads((out / "report.json").read_text())["phase1"]
    assert sorted(r["block_size"] for r in report["points"]) == [1, 2, 4]
    manifest.verify(out, "dse")  # sealed: every point and report listed with its hash
    assert _ray_processes(ray_tmpdir) == [], log
