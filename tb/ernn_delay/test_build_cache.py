"""The simulator build cache stays small and is reused: ernn/sim/runner.py builds each parameter set once.

A Verilator build of ernn_top is ~260 MB with make's precompiled headers and objects, ~60 MB without; the
default suite builds about 200 of them, and a full disk fails every test that follows (CI of 30763c8 did
exactly that). The runner removes the headers, objects and archive once the model is linked and skips make
while the executable is newer than every file Verilator generated. This test builds rtl/ernn_delay.v (small)
in a build cache of its own, on both simulators, and checks, by running the ernn_delay testbench:

* a second run of the same parameters rebuilds nothing (the model file keeps its time stamp) and passes;
* Verilator's folder holds no ``*.gch``, ``*.o`` or ``*.a`` after either run, but its generated C++;
* a changed RTL source (a copy of rtl/ under ``ERNN_HDL_DIR``, one comment line added) is rebuilt in full
  from the pruned folder and still passes (the pruning never leaves a build that cannot be remade).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from ernn_tbutil import seed_for

from ernn import paths
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_delay"
PARAMS = {"DEPTH": 3, "WIDTH": 9, "VALID": 1}
#: the file each simulator runs: Verilator's linked model, Icarus's compiled design
MODEL_FILE = {"verilator": TOPLEVEL, "icarus": "sim.vvp"}


def _run(sim: str, seed: int) -> rtl_runner.RunResult:
    conf = {"seed": seed, "depth": PARAMS["DEPTH"], "width": PARAMS["WIDTH"], "valid": PARAMS["VALID"]}
    return rtl_runner.run(TOPLEVEL, "test_ernn_delay", PARAMS, sim=sim, config=conf)


def _intermediates(bdir: Path) -> list[str]:
    return sorted(f.name for pattern in ("*.gch", "*.o", "*.a") for f in bdir.glob(pattern))


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_builds_are_reused_and_pruned(sim, tmp_path, monkeypatch, request):
    seed = seed_for(request.node.nodeid)
    monkeypatch.setattr(rtl_runner, "BUILD_ROOT", tmp_path / "cache" / "sim")
    first = _run(sim, seed)
    model = first.build_dir / MODEL_FILE[sim]
    assert model.is_file(), f"{sim}: no model file {model} after the build"
    built = model.stat().st_mtime_ns
    if sim == "verilator":
        assert _intermediates(first.build_dir) == [], "make's precompiled headers/objects were kept"
        assert list(first.build_dir.glob("Vtop*.cpp")), "Verilator's generated C++ must stay (skip-identical)"
        assert rtl_runner.model_is_current(first.build_dir, TOPLEVEL)

    second = _run(sim, seed + 1)
    assert second.build_dir == first.build_dir
    assert model.stat().st_mtime_ns == built, f"{sim}: the unchanged parameter set was rebuilt"
    if sim == "verilator":
        assert _intermediates(second.build_dir) == []

    # another RTL: a copy with one more comment line in the toplevel, in its own build folder
    hdl = tmp_path / "hdl"
    shutil.copytree(paths.rtl_dir(), hdl / "rtl")
    source = hdl / "rtl" / f"{TOPLEVEL}.v"
    source.write_text(source.read_text() + "\n// a changed source\n")
    monkeypatch.setenv(paths.HDL_ENV, str(hdl))
    third = _run(sim, seed + 2)
    assert third.build_dir != first.build_dir and third.build_dir.name.startswith(first.build_dir.name)
    rebuilt = third.build_dir / MODEL_FILE[sim]
    assert rebuilt.is_file()
    if sim == "verilator":
        assert _intermediates(third.build_dir) == []
        # the same folder again after a further edit: Verilator regenerates, make compiles from nothing
        before = rebuilt.stat().st_mtime_ns
        source.write_text(source.read_text() + "// edited again\n")
        fourth = _run(sim, seed + 3)
        assert fourth.build_dir == third.build_dir
        assert rebuilt.stat().st_mtime_ns > before, "a changed source did not relink the model"


def test_model_is_current_compares_the_generated_files(tmp_path):
    bdir = tmp_path / "b"
    bdir.mkdir()
    assert not rtl_runner.model_is_current(bdir, "top"), "no executable: not current"
    (bdir / "Vtop.cpp").write_text("// generated\n")
    (bdir / "Vtop.h").write_text("// generated\n")
    exe = bdir / "top"
    exe.write_text("linked")
    cpp_time = (bdir / "Vtop.cpp").stat().st_mtime_ns
    os.utime(exe, ns=(cpp_time + 10**9, cpp_time + 10**9))
    assert rtl_runner.model_is_current(bdir, "top")
    os.utime(bdir / "Vtop.h", ns=(cpp_time + 2 * 10**9, cpp_time + 2 * 10**9))
    assert not rtl_runner.model_is_current(bdir, "top"), "a header newer than the model must rebuild"
    for f in bdir.glob("Vtop*"):
        f.unlink()
    assert not rtl_runner.model_is_current(bdir, "top"), "no generated C++ at all: not current"
