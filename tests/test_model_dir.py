"""ernn.export.model_dir: the one reader of a model directory, and the data set it resolves."""

import json
import os
import shutil

import numpy as np
import pytest

from ernn import data
from ernn.export.model_dir import ModelDirectory
from ernn.shape import ModelShape


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return tiny_model(cell="gru", seed=7, export=("--test-sequences", "2"))


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_reads_shape_formats_and_hardware(tiny):
    md = ModelDirectory(tiny.model)
    assert md.shape == ModelShape(cell="gru", input_size=6, hidden_size=8, structure=md.shape.structure)
    assert md.shape.block_size == 4
    assert md.data_word == md.numerics.data.word == 16
    assert md.hardware["lanes"] >= 1 and md.task == "classify"


def test_listed_path_outside_the_directory_is_refused(tiny, tmp_path):
    model = _copy(tiny.model, tmp_path / "m")
    cfg = json.loads((model / "config.json").read_text())
    cfg["files"]["../outside.txt"] = "0" * 64
    (model / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"'\.\./outside\.txt' is not inside"):
        ModelDirectory(model)


def test_changed_file_is_named(tiny, tmp_path):
    model = _copy(tiny.model, tmp_path / "m")
    with (model / "ernn_params.vh").open("a") as f:
        f.write("// edited\n")
    with pytest.raises(ValueError, match=r"ernn_params\.vh does not match the checksum"):
        ModelDirectory(model)
    ModelDirectory(model, verify=False)  # the config itself is still readable


def test_dataset_is_the_runs_and_checked(tiny, tmp_path):
    ds = ModelDirectory(tiny.model).dataset()
    ref = data.load("classify", tiny.train, tiny.test)
    assert np.array_equal(ds.test.x, ref.test.x) and np.allclose(ds.mean, ref.mean)


def test_run_kept_beside_the_model_is_found_from_elsewhere(tiny, tmp_path):
    # export recorded the run path as given; here it was absolute, so make a relative copy
    home = tmp_path / "project"
    home.mkdir()
    shutil.copytree(tiny.run, home / "run")
    model = _copy(tiny.model, home / "model")
    cfg = json.loads((model / "config.json").read_text())
    cfg["source_run"] = "run"
    (model / "config.json").write_text(json.dumps(cfg))
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)  # neither the export folder nor the project
        assert ModelDirectory(model).run_dir() == home / "run"
        ModelDirectory(model).dataset()
    finally:
        os.chdir(cwd)


def test_missing_run_is_an_error_not_the_default_data(tiny, tmp_path):
    model = _copy(tiny.model, tmp_path / "m")
    cfg = json.loads((model / "config.json").read_text())
    cfg["source_run"] = str(tmp_path / "gone")
    (model / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(FileNotFoundError, match="cannot be found from here"):
        ModelDirectory(model).dataset()


def test_other_data_under_the_same_name_is_refused(tiny, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny.run, run)
    other = data.load("classify", tiny.train, tiny.test)
    other.train.x[other.train.frame_mask] += 1.0  # different statistics
    data.save_npz(tmp_path / "train.npz", other.train)
    shutil.copy(tiny.test, tmp_path / "test.npz")
    rc = json.loads((run / "config.json").read_text())
    rc["train"]["train_file"], rc["train"]["test_file"] = (
        str(tmp_path / "train.npz"),
        str(tmp_path / "test.npz"),
    )
    (run / "config.json").write_text(json.dumps(rc))
    model = _copy(tiny.model, tmp_path / "m")
    cfg = json.loads((model / "config.json").read_text())
    cfg["source_run"] = str(run)
    (model / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="not the data .* was trained on"):
        ModelDirectory(model).dataset()
