"""The package installed non-editable into a fresh virtualenv runs from any directory.

A wheel of the checkout is built and installed (``--no-deps``) into a new virtualenv in a temporary folder;
the dependencies (torch, numpy, cocotb, ...) come from this environment through a ``.pth`` line, so nothing
is downloaded. ``ernn golden`` and ``ernn sim`` then run on a tiny model from a folder outside the checkout,
with the Verilog found as package data and every build written under the chosen cache, not the package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ernn.sim import runner as rtl_runner

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, clean environment, a work folder outside the checkout)."""
    top = tmp_path_factory.mktemp("install")
    # build from a copy of the tracked files: a wheel build writes build/ and *.egg-info beside the sources
    src = top / "src"
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in files.split():
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ERNN_HDL_DIR", "VIRTUAL_ENV")}
    wheels = top / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels),
          str(src)], top, env)  # fmt: skip
    (wheel,) = wheels.glob("ernn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ernn/hdl/rtl/ernn_top.v" in names and "ernn/golden/network.py" in names, names[:20]
    venv = top / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], top, env)
    vpy = venv / "bin" / "python"
    _run([str(vpy), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], top, env)
    site = Path(
        _run(
            [str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], top, env
        ).stdout.strip()
    )
    # this environment's packages (not its ernn, which is an editable finder that a .pth line does not load)
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = top / "elsewhere"
    work.mkdir()
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["ERNN_CACHE_DIR"] = str(top / "cache")
    return venv, env, work


def test_installed_package_is_the_wheel(installed):
    venv, env, work = installed
    out = _run([str(venv / "bin" / "python"), "-c",
                "import ernn, ernn.golden, ernn.paths as p; print(ernn.__file__); print(ernn.golden.__file__); "
                "print(p.rtl_dir()); print(p.cache_dir())"], work, env).stdout.split()  # fmt: skip
    for path in out[:3]:
        assert Path(path).resolve().is_relative_to(venv.resolve()), out
        assert not Path(path).resolve().is_relative_to(ROOT), out
    assert Path(out[3]) == Path(env["ERNN_CACHE_DIR"]).resolve()


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_golden_and_sim_from_outside_the_checkout(installed, tiny_model, sim):
    venv, env, work = installed
    model = tiny_model(cell="gru", epochs=2, seed=3, export=("--test-sequences", "2")).model
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 5, 6)).astype(np.float32)
    np.save(work / f"x_{sim}.npy", x)
    ernn = str(venv / "bin" / "ernn")
    _run([ernn, "golden", "--model", str(model), "--input", f"x_{sim}.npy", "--output", f"g_{sim}.npy", "--raw"],
         work, env)  # fmt: skip
    res = _run([ernn, "sim", "--model", str(model), "--input", f"x_{sim}.npy", "--output", f"r_{sim}.npy",
                "--report", f"sim_report_{sim}.json", "--raw", "--sim", sim], work, env)  # fmt: skip
    assert "bit-exact with the golden model" in res.stdout, res.stdout
    assert np.array_equal(np.load(work / f"g_{sim}.npy"), np.load(work / f"r_{sim}.npy"))
    # builds went to the cache, nothing into the installed package or the work folder's build/
    assert any((Path(env["ERNN_CACHE_DIR"]) / "sim" / "ernn_top" / sim).iterdir())
    assert not (work / "build").exists()
    pkg = next((venv / "lib").glob("python3*/site-packages/ernn"))
    written = [p for p in pkg.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc", ".v", ".vh", ".json",
               ".pcf", ".lpf", ".xdc", ".tcl")]  # fmt: skip
    assert not written, written[:10]
