"""ernn.export.model_dir: the one reader of a model directory: its manifest over every file (config.json
included) and the test data it finds by content hash, never other data."""

import json
import os
import shutil

import numpy as np
import pytest

from ernn import cli, data
from ernn.export.model_dir import ModelDirectory
from ernn.files import manifest
from ernn.shape import ModelShape


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return tiny_model(cell="gru", seed=7, export=("--test-sequences", "2"))


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def _rewrite_manifest(model, edit):
    """Edit the manifest's file list and keep the manifest self-consistent (digest recomputed), as a
    careless tool or person would."""
    raw = json.loads((model / manifest.MANIFEST).read_text())
    edit(raw["files"])
    raw["digest"] = manifest.digest_of(raw["files"])
    (model / manifest.MANIFEST).write_text(json.dumps(raw))


def test_reads_shape_formats_and_hardware(tiny):
    md = ModelDirectory(tiny.model)
    assert md.shape == ModelShape(cell="gru", input_size=6, hidden_size=8, structure=md.shape.structure)
    assert md.shape.block_size == 4
    assert md.data_word == md.numerics.data.word == 16
    assert md.hardware["lanes"] >= 1 and md.task == "classify"
    assert "config.json" in md.manifest.files and len(md.digest) == 64


def test_listed_path_outside_the_directory_is_refused(tiny, tmp_path):
    model = _copy(tiny.model, tmp_path / "m")
    (tmp_path / "outside.txt").write_text("x")
    _rewrite_manifest(
        model, lambda files: files.update({"../outside.txt": manifest.sha256(tmp_path / "outside.txt")})
    )
    with pytest.raises(ValueError, match=r"'\.\./outside\.txt' lies outside the directory"):
        ModelDirectory(model)


def test_changed_file_is_named(tiny, tmp_path):
    model = _copy(tiny.model, tmp_path / "m")
    with (model / "ernn_params.vh").open("a") as f:
        f.write("// edited\n")
    with pytest.raises(ValueError, match=r"ernn_params\.vh was changed"):
        ModelDirectory(model)


@pytest.mark.parametrize("edit", ["mean", "task", "lanes"])
def test_edited_config_is_refused(tiny, tmp_path, edit):
    """config.json is covered like every other file: editing the normalisation, the task or P is caught."""
    model = _copy(tiny.model, tmp_path / "m")
    cfg = json.loads((model / "config.json").read_text())
    if edit == "mean":
        cfg["data"]["mean"][0] += 1.0
    elif edit == "task":
        cfg["data"]["task"] = "frames"
    else:
        cfg["hardware"]["lanes"] += 1
    (model / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    with pytest.raises(ValueError, match=r"config\.json was changed"):
        ModelDirectory(model)


def test_empty_file_list_turns_no_check_off(tiny, tmp_path):
    model = _copy(tiny.model, tmp_path / "m")
    _rewrite_manifest(model, lambda files: files.clear())
    with pytest.raises(ValueError, match="does not list config.json"):
        ModelDirectory(model)


def test_hand_edited_manifest_is_refused(tiny, tmp_path):
    model = _copy(tiny.model, tmp_path / "m")
    raw = json.loads((model / manifest.MANIFEST).read_text())
    raw["files"]["config.json"] = "0" * 64
    (model / manifest.MANIFEST).write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="digest does not match its own file list"):
        ModelDirectory(model)


def test_missing_file_and_missing_manifest_are_named(tiny, tmp_path):
    model = _copy(tiny.model, tmp_path / "m")
    (model / "mem" / "twiddle.mem").unlink()
    with pytest.raises(ValueError, match=r"mem/twiddle\.mem is missing"):
        ModelDirectory(model)
    (model / manifest.MANIFEST).unlink()
    with pytest.raises(ValueError, match="has no ernn-manifest.json"):
        ModelDirectory(model)


def test_test_split_is_the_recorded_one_from_anywhere(tiny, tmp_path):
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)  # not the folder export ran in
        split, where = ModelDirectory(tiny.model).test_split()
    finally:
        os.chdir(cwd)
    ref = data.load("classify", tiny.train, tiny.test)
    assert np.array_equal(split.x, ref.test.x) and where == str(tiny.test.resolve())


def test_moved_data_stops_with_where_it_looked_and_data_points_at_it(tiny, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    model = _copy(tiny.model, tmp_path / "m")
    cfg = json.loads((model / "config.json").read_text())
    moved = data_dir / "test.npz"
    shutil.copy(tiny.test, moved)
    # the recorded path no longer exists (as if the data folder had been moved)
    recorded = cfg["data"]["provenance"]["test"]["path"]
    shutil.move(recorded, tmp_path / "away.npz")
    try:
        with pytest.raises(FileNotFoundError, match=r"does not exist any more; pass --data"):
            ModelDirectory(model).test_split()
        split, where = ModelDirectory(model).test_split(moved)
        assert where == str(moved) and len(split) == 12
        # evaluate from the CLI: the same message, exit 2, and --data works
        assert cli.main(["evaluate", "--model", str(model)]) == 2
        assert cli.main(["evaluate", "--model", str(model), "--data", str(moved)]) == 0
    finally:
        shutil.move(tmp_path / "away.npz", recorded)


def test_other_data_is_refused_never_scored(tiny, tmp_path):
    other = data.load("classify", tiny.train, tiny.test).test
    other.x[other.frame_mask] += 1.0
    data.save_npz(tmp_path / "other.npz", other)
    with pytest.raises(ValueError, match="not the test data .* was trained with"):
        ModelDirectory(tiny.model).test_split(tmp_path / "other.npz")
    assert cli.main(["evaluate", "--model", str(tiny.model), "--data", str(tmp_path / "other.npz")]) == 2


def test_changed_data_at_the_recorded_path_is_refused(tiny_model, tmp_path):
    tiny = tiny_model(cell="gru", seed=8, export=("--test-sequences", "2"))
    split = data.load_npz(tiny.test, "classify")
    original = tiny.test.read_bytes()
    split.y[0] = (split.y[0] + 1) % 3
    data.save_npz(tiny.test, split)
    try:
        with pytest.raises(ValueError, match="was changed since training"):
            ModelDirectory(tiny.model).test_split()
    finally:
        tiny.test.write_bytes(original)
