"""ernn export / golden / evaluate: the model directory, its checks, and the golden model on users' arrays."""

import json

import numpy as np
import pytest

from ernn import cli, data
from ernn.export import writer as export
from ernn.files import manifest
from ernn.golden.network import GoldenNetwork
from ernn.sim import inference


@pytest.fixture(scope="module")
def tiny(tiny_model):
    """A small trained LSTM (projection + peepholes, 2 layers) on synthetic user data, exported."""
    return tiny_model(hidden=16, layers=2, proj=8, peephole=True, epochs=4, steps=7, train_n=48, test_n=20,
                      export=("--test-sequences", "5"))  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tiny):
    return tiny.run


@pytest.fixture(scope="module")
def model_dir(tiny):
    return tiny.model


def _read_mem(path, word):
    vals = np.array([int(line, 16) for line in path.read_text().split()], dtype=np.int64)
    return np.where(vals >= 1 << (word - 1), vals - (1 << word), vals)


def test_model_directory_contents_match_the_golden_model(model_dir):
    cfg = json.loads((model_dir / "config.json").read_text())
    model = export.ExportedModel(model_dir)
    params = np.load(model_dir / "params.npz")
    ws = cfg["numerics"]["weight_spectrum"]["word"]
    for layer in range(2):
        for name in ("w_ih", "w_hh", "w_hr"):
            packed = _read_mem(model_dir / "mem" / f"l{layer}_{name}.mem", 2 * ws)
            re = np.where(
                packed & ((1 << ws) - 1) >= 1 << (ws - 1),
                (packed & ((1 << ws) - 1)) - (1 << ws),
                packed & ((1 << ws) - 1),
            )
            im = (
                packed >> ws
            )  # arithmetic shift of the sign-extended 2*ws-bit word gives the signed upper half
            np.testing.assert_array_equal(re, params[f"l{layer}_{name}_re"].ravel())
            np.testing.assert_array_equal(im, params[f"l{layer}_{name}_im"].ravel())
        peep = _read_mem(model_dir / "mem" / f"l{layer}_peephole.mem", cfg["numerics"]["peephole"]["word"])
        np.testing.assert_array_equal(peep, params[f"l{layer}_peephole"].ravel())
    header = (model_dir / "ernn_params.vh").read_text()
    assert "localparam integer ERNN_K = 4;" in header and "localparam integer ERNN_PROJ_SIZE = 8;" in header
    # The test vectors are the golden model's outputs for the stream of test frames.
    vec = np.load(model_dir / "vectors" / "vectors.npz")
    out, _ = model.net.run_stream(vec["input"], vec["last"].astype(bool))
    np.testing.assert_array_equal(out, vec["expected_l1"])
    word = cfg["numerics"]["data"]["word"]
    np.testing.assert_array_equal(
        _read_mem(model_dir / "vectors" / "expected_l1.mem", word), vec["expected_l1"].ravel()
    )
    assert vec["last"].sum() == 5 and cfg["test_vectors"]["frames"] == len(vec["input"])


def test_export_refuses_to_overwrite(run_dir, model_dir, capsys):
    assert cli.main(["export", "--checkpoint", str(run_dir), "--out", str(model_dir)]) == 2
    assert "--force" in capsys.readouterr().err


def test_cli_dsp_pack_exports_the_packed_formats(run_dir, tmp_path, capsys):
    out = tmp_path / "packed"
    args = ["export", "--checkpoint", str(run_dir), "--out", str(out), "--test-sequences", "2"]
    assert cli.main([*args, "--data-bits", "8", "--dsp-pack"]) == 0
    assert "weight spectra narrowed to Q8." in capsys.readouterr().out  # k = 4: 8-bit weights already pack
    model = export.ExportedModel(out)
    assert model.config["hardware"]["dsp_pack"] is True
    assert "localparam integer ERNN_DSP_PACK = 1;" in (out / "ernn_params.vh").read_text()
    # 16-bit data at k = 4 would lose 12 weight bits: refused by name, nothing written
    assert cli.main([*args[:4], str(tmp_path / "wide"), *args[5:], "--dsp-pack"]) == 2
    assert "would narrow the 16-bit weight spectra to 4 bits" in capsys.readouterr().err
    assert not (tmp_path / "wide").exists()


def test_forced_export_replaces_the_previous_one(tmp_path):
    """A forced re-export leaves none of the earlier export's files behind (the second layer's vectors
    of a deeper model) and neither lists nor deletes files that are not the export's own."""
    out = tmp_path / "m"
    export.export_random(out, input_size=6, hidden_size=8, num_layers=2, block_size=4, lanes=2)
    assert (out / "vectors" / "expected_l1.mem").is_file()
    (out / "stamp.json").write_text("{}")  # a harness's own file beside the model
    export.export_random(out, input_size=6, hidden_size=8, num_layers=1, block_size=4, lanes=3, force=True)
    assert not (out / "vectors" / "expected_l1.mem").exists()
    assert (out / "stamp.json").read_text() == "{}"
    listed = manifest.read(out).files
    assert "stamp.json" not in listed and "vectors/expected_l0.mem" in listed and "config.json" in listed
    (out / "stamp.json").write_text('{"changed": true}')  # changing it does not invalidate the model
    loaded = export.ExportedModel(out)
    assert loaded.config["hardware"]["lanes"] == 3 and loaded.net.info.num_layers == 1


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda d: (d / "mem" / "l0_w_ih.mem").write_text("0000\n"),
            r"mem/l0_w_ih\.mem was changed",
        ),
        (lambda d: (d / "mem" / "tanh_values.mem").unlink(), r"mem/tanh_values\.mem is missing"),
        (
            lambda d: (d / "ernn_params.vh").write_text(
                (d / "ernn_params.vh").read_text().replace("32'd0,", "32'd1,", 1)
            ),
            r"ernn_params\.vh was changed",
        ),
        (lambda d: (d / "config.json").write_text("{not json"), "config.json: not valid JSON"),
        (lambda d: (d / "config.json").write_text('{"format": "other"}'), "not an ernn-model"),
    ],
)
def test_damaged_model_directory_names_the_file(model_dir, tmp_path, damage, message):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    damage(copy)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        export.ExportedModel(copy)


def test_mismatched_params_are_reported(model_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    arrays = dict(np.load(copy / "params.npz"))
    arrays["l1_bias"] = arrays["l1_bias"] + 1
    np.savez(copy / "params.npz", **arrays)
    (copy / manifest.MANIFEST).write_text(manifest.build(copy, "model").text())  # consistent, but wrong
    with pytest.raises(ValueError, match="'l1_bias' differs"):
        export.ExportedModel(copy)


def test_golden_cli_single_and_ragged_batch(model_dir, tmp_path):
    model = export.ExportedModel(model_dir)
    rng = np.random.default_rng(5)
    batch = rng.normal(size=(3, 6, 6)).astype(np.float32) * 3
    lengths = np.array([6, 2, 4])
    np.save(tmp_path / "x.npy", batch)
    np.save(tmp_path / "len.npy", lengths)
    np.save(tmp_path / "one.npy", batch[1, :2])
    assert (
        cli.main(
            [
                "golden",
                "--model",
                str(model_dir),
                "--input",
                str(tmp_path / "x.npy"),
                "--lengths",
                str(tmp_path / "len.npy"),
                "--output",
                str(tmp_path / "y.npy"),
            ]
        )
        == 0
    )
    assert (
        cli.main(
            [
                "golden",
                "--model",
                str(model_dir),
                "--input",
                str(tmp_path / "one.npy"),
                "--output",
                str(tmp_path / "y1.npy"),
                "--raw",
            ]
        )
        == 0
    )
    y, y1 = np.load(tmp_path / "y.npy"), np.load(tmp_path / "y1.npy")
    assert y.shape == (3, 6, 8) and y1.shape == (2, 8)
    assert np.all(y[1, 2:] == 0)  # nothing after the end of a sequence
    fmt = model.net.numerics.data
    np.testing.assert_array_equal(y1.astype(np.int64), np.round(y[1, :2] * 2.0**fmt.frac).astype(np.int64))
    direct = GoldenNetwork(model.desc, model.net.numerics).run(model.normalise(batch), lengths).output
    np.testing.assert_array_equal(y, direct)


@pytest.mark.parametrize(
    ("array", "extra", "message"),
    [
        (np.zeros((4, 5), np.float32), [], "expected shape (T, 6)"),
        (np.full((4, 6), np.nan, np.float32), [], "finite"),
        (np.zeros((2, 4, 6), np.float32), ["--lengths", "LEN"], "lengths: expected 2 integers in [1, 4]"),
    ],
)
def test_golden_cli_bad_input(model_dir, tmp_path, capsys, array, extra, message):
    np.save(tmp_path / "x.npy", array)
    np.save(tmp_path / "len.npy", np.array([5, 1]))
    extra = [str(tmp_path / "len.npy") if e == "LEN" else e for e in extra]
    code = cli.main(
        [
            "golden",
            "--model",
            str(model_dir),
            "--input",
            str(tmp_path / "x.npy"),
            "--output",
            str(tmp_path / "y.npy"),
            *extra,
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_golden_cli_does_not_overwrite(model_dir, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((3, 6), np.float32))
    (tmp_path / "y.npy").write_text("precious")
    assert (
        cli.main(
            [
                "golden",
                "--model",
                str(model_dir),
                "--input",
                str(tmp_path / "x.npy"),
                "--output",
                str(tmp_path / "y.npy"),
            ]
        )
        == 2
    )
    assert (tmp_path / "y.npy").read_text() == "precious"


def test_evaluate_reports_float_and_golden(tiny, model_dir, tmp_path):
    assert cli.main(["evaluate", "--model", str(model_dir), "--output", str(tmp_path / "e.json")]) == 0
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["sequences"] == 20
    assert abs(report["float_accuracy"] - report["golden_accuracy"]) <= 100.0 / 20 * 2
    # the model's identity and exactly the data it was trained with
    assert report["model_digest"] == manifest.read(model_dir).digest
    assert report["data"] == str(tiny.test.resolve())
    model = export.ExportedModel(model_dir)
    ds = data.load("classify", tiny.train, tiny.test)
    assert inference.evaluate(model, ds.test)["golden_accuracy"] == report["golden_accuracy"]


def test_mismatched_job_table_is_reported(model_dir, tmp_path):
    """A header whose job table is not this model's schedule for its P is refused on load, even with its
    checksum recorded anew: the error names the header."""
    import dataclasses
    import shutil

    from ernn.export import layout

    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    header = (copy / "ernn_params.vh").read_text()
    table = layout.parse_job_table(header)
    moved = [dataclasses.replace(table[0], w_base=table[0].w_base + 1), *table[1:]]
    damaged = header.replace(
        "\n".join(layout.job_table_lines(table)), "\n".join(layout.job_table_lines(moved))
    )
    assert damaged != header
    (copy / "ernn_params.vh").write_text(damaged)
    (copy / manifest.MANIFEST).write_text(manifest.build(copy, "model").text())  # consistent, but wrong
    with pytest.raises(ValueError, match="ernn_params.vh: the job table differs from this model's schedule"):
        export.ExportedModel(copy)
