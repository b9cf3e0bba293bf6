"""`ernn sim` with folders whose paths hold spaces and non-ASCII characters, on both simulators: the model
directory, the work directory, the input and output files and the simulator build cache (``ERNN_CACHE_DIR``).

No path of the user's reaches the simulators as a Verilog string (Icarus's ``$readmemh`` refuses a
non-ASCII file name): the model's memories are copied into the work directory under an ASCII name
(ernn.sim.rtl.stage_memories). Verilator cannot build under a path with a space (GNU make): that is refused
before anything is built, with a message that says to set ERNN_CACHE_DIR.

The batch holds values far beyond the data format, so the report must count the input's saturations.
"""

import json
import shutil

import numpy as np
import pytest

from ernn import cli, paths
from ernn.export.writer import ExportedModel
from ernn.sim import inference
from ernn.sim import runner as rtl_runner

#: a build cache with the awkward characters, kept between sessions (the builds are reused); Verilator's
#: has no space, since make cannot build there (see test_verilator_refuses_a_cache_path_with_a_space)
ODD_CACHE = {"icarus": "tëst cäche ü", "verilator": "tëst-cäche-ü"}


@pytest.fixture(scope="module")
def model_dir(tiny_model):
    return tiny_model(cell="gru", epochs=2, seed=3, export=("--test-sequences", "2")).model


def _sim_args(model, folder, sim):
    return [
        "sim",
        "--model",
        str(model),
        "--input",
        str(folder / "éntrée x.npy"),
        "--lengths",
        str(folder / "lëngths.npy"),
        "--output",
        str(folder / "sortie ÿ.npy"),
        "--sim",
        sim,
        "--work-dir",
        str(folder / "wörk dir"),
        "--seed",
        "4",
    ]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_sim_in_folders_with_spaces_and_non_ascii(model_dir, tmp_path, monkeypatch, capsys, sim):
    folder = tmp_path / "x" / "dössier ü ñ"
    model = folder / "modèle ü"
    shutil.copytree(model_dir, model)  # a model directory is self-contained
    cache = paths.cache_dir() / ODD_CACHE[sim]
    monkeypatch.setattr(rtl_runner, "BUILD_ROOT", cache / "sim")
    rng = np.random.default_rng(9)
    features = ExportedModel(model).net.info.input_size
    x = rng.normal(size=(3, 5, features)).astype(np.float32) * 2
    lengths = np.array([5, 2, 4])
    x[0, 1, :2] = 1e6  # far beyond Q(data): the input's quantization clips them
    x[2, 3, 0] = -1e6
    np.save(folder / "éntrée x.npy", x)
    np.save(folder / "lëngths.npy", lengths)
    assert cli.main(_sim_args(model, folder, sim)) == 0, capsys.readouterr().err
    report = json.loads((folder / "sim_report.json").read_text())
    assert report["simulator"] == sim and report["bit_exact"] and report["mismatches"] == 0
    assert report["time_steps"] == int(lengths.sum())
    # the build went to the odd cache, the memories into the work directory under an ASCII name
    built = list((cache / "sim" / "ernn_top" / sim).iterdir())
    assert built and all(p.name.isascii() for p in built)
    staged = [p.name for p in (folder / "wörk dir").iterdir() if p.name.startswith("ernn_mem-")]
    assert len(staged) == 1 and staged[0].isascii()
    # saturation counts: those of the golden model on the float input, the input's clipping included
    exported = ExportedModel(model)
    xn, lens, _ = inference.prepare_input(exported, x, lengths)
    _, log = inference.run_golden(exported, xn, lens)
    assert report["golden_saturations"] == log.nonzero()
    assert report["golden_saturations"]["input"] >= 3
    # the outputs are the golden model's
    y_rtl = np.load(folder / "sortie ÿ.npy")
    golden = folder / "gōlden.npy"
    args = ["golden", "--model", str(model), "--input", str(folder / "éntrée x.npy")]
    args += ["--lengths", str(folder / "lëngths.npy"), "--output", str(golden)]
    assert cli.main(args) == 0
    np.testing.assert_array_equal(y_rtl, np.load(golden))


def test_verilator_refuses_a_cache_path_with_a_space(model_dir, tmp_path, monkeypatch, capsys):
    """Verilator's make cannot build under a space: refused before building, naming the folder and the fix
    (Icarus builds there: test_sim_in_folders_with_spaces_and_non_ascii's Icarus cache has spaces)."""
    folder = tmp_path / "plain"
    folder.mkdir()
    cache = tmp_path / "my cache"
    monkeypatch.setattr(rtl_runner, "BUILD_ROOT", cache / "sim")
    np.save(folder / "éntrée x.npy", np.zeros((1, 3, 6), np.float32))
    np.save(folder / "lëngths.npy", np.array([3]))
    assert cli.main(_sim_args(model_dir, folder, "verilator")) == 2
    err = capsys.readouterr().err
    assert "Verilator cannot build in" in err and str(cache) in err and "ERNN_CACHE_DIR" in err
    assert not cache.exists() and not (folder / "sortie ÿ.npy").exists()


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_sim_with_a_relative_hdl_dir(model_dir, tmp_path, monkeypatch, capsys, sim):
    """``ERNN_HDL_DIR`` given relative to the working directory (docs/dse.md's ``ERNN_HDL_DIR=build/hdl``)
    is the RTL simulated: the simulator's Python runs in the work directory, where the relative name once
    named no folder, and the run stopped before comparing anything."""
    shutil.copytree(rtl_runner.RTL_DIR, tmp_path / "hdl copy" / "rtl")
    folder = tmp_path / "run"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(paths.HDL_ENV, "hdl copy")
    assert rtl_runner.rtl_sources("ernn_top")[0].parent == (tmp_path / "hdl copy" / "rtl").resolve()
    rng = np.random.default_rng(2)
    features = ExportedModel(model_dir).net.info.input_size
    np.save(folder / "éntrée x.npy", rng.normal(size=(2, 4, features)).astype(np.float32))
    np.save(folder / "lëngths.npy", np.array([4, 3]))
    assert cli.main(_sim_args(model_dir, folder, sim)) == 0, capsys.readouterr().err
    report = json.loads((folder / "sim_report.json").read_text())
    assert report["simulator"] == sim and report["bit_exact"] and report["time_steps"] == 7
