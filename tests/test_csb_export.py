"""CSB export (ernn/export/csb.py): a trained CSB run exports to a model directory whose golden model is
the checkpoint's bit for bit; the count / index / value images read back to the same kernels; bad images
and headers are refused by name."""

import json

import numpy as np
import pytest

from ernn import cli
from ernn.export import csb as ecsb
from ernn.export import csb_unit, input_shift
from ernn.export.writer import ExportedModel
from ernn.golden.network import GoldenNetwork, numerics_for_model
from ernn.train import run_directory as runs


@pytest.fixture(scope="module")
def csb_model(tiny_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("csb_export")
    run = folder / "run"
    args = ["train", "--out", str(run), "--hidden-size", "8", "--epochs", "3", "--quiet"]
    args += ["--train", str(tiny_data / "train.npz"), "--test", str(tiny_data / "test.npz")]
    assert cli.main([*args, "--structure", "csb", "--csb-block", "4", "--prune-rate", "0.6"]) == 0
    model = folder / "model"
    assert cli.main(["export", "--checkpoint", str(run), "--out", str(model), "--test-sequences", "3"]) == 0
    return run, model


def test_exported_golden_model_is_the_checkpoints(csb_model):
    run, model_dir = csb_model
    exported = ExportedModel(model_dir)  # manifest, params.npz re-derived, header checked
    assert exported.shape.structure.name == "csb"
    model, _ = runs.load_run(run)
    shift = exported.input_shift
    desc = input_shift.scale_desc(model.rnn.describe(), shift)
    fresh = GoldenNetwork(desc, numerics_for_model(desc))
    assert fresh.numerics == exported.numerics
    vectors = np.load(model_dir / "vectors" / "vectors.npz")
    x, lengths = vectors["x_float"], vectors["lengths"]
    a, b = fresh.run(x, lengths), exported.net.run(x, lengths)
    mask = np.arange(x.shape[1])[None] < lengths[:, None]
    for layer, (ha, hb) in enumerate(zip(a.h_int, b.h_int, strict=True)):
        bad = np.argwhere(ha != hb)
        assert bad.size == 0, f"layer {layer}: first difference at (sequence, step, unit) {bad[0].tolist()}"
    assert np.array_equal(a.output_int[mask], vectors["expected_l0"])
    config = json.loads((model_dir / "config.json").read_text())
    hw = config["hardware"]
    assert hw["csb_block"] == 4 and hw["lanes"] == ecsb.default_lanes(exported.shape)
    values = sum(int(m.values.size) for _, m in ecsb._matrices(exported.net))
    assert hw["csb_values"] == values
    assert hw["cycles_per_step"]["mac_cycles"] == -(-hw["cycles_per_step"]["macs"] // hw["lanes"])


def test_evaluate_runs_on_a_csb_model(csb_model, tmp_path):
    """ernn evaluate: the golden model against the float model of the same description, on the test split."""
    _, model_dir = csb_model
    out = tmp_path / "eval.json"
    assert cli.main(["evaluate", "--model", str(model_dir), "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert (
        0 < report["output_max_abs_error"] < 2.0**-6
    )  # float vs 16-bit fixed point, far below a wrong matrix


def test_export_refuses_an_engine_that_cannot_be_built(csb_model, tmp_path, capsys):
    """The CSB engine behind ernn_top needs a power-of-two PE count (K x L groups of P x Q) and a block size M
    that divides the controller's k (a power of two in 4..64): export names the one that fails; a header
    whose CSB unit table is not the model's is refused naming the job."""
    run, model_dir = csb_model
    args = ["export", "--checkpoint", str(run), "--out", str(tmp_path / "m"), "--lanes", "12"]
    assert cli.main(args) == 2
    assert "PE count must be a power of two" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
    for block in (12, 128):
        with pytest.raises(ValueError, match=rf"CSB block size M = {block}: the CSB engine behind ernn_top"):
            csb_unit.controller_block(block)
    assert [csb_unit.controller_block(m) for m in (2, 4, 8, 64)] == [4, 4, 8, 64]
    exported = ExportedModel(model_dir)
    header = (model_dir / "ernn_params.vh").read_text()
    rows = csb_unit.parse_unit_table(header)
    macs, sum_w = rows[0][-2:]
    bad = header.replace(f"32'd{macs}, 32'd{sum_w}  // job 0", f"32'd{macs + 1}, 32'd{sum_w}  // job 0")
    assert bad != header
    with pytest.raises(
        ValueError, match=rf"ERNN_CSB_UNIT_TABLE job 0 \(gate\): macs {macs + 1} \(model: {macs}\)"
    ):
        csb_unit.check_header(bad, exported.net, exported.hardware["lanes"])
    # a sum word too narrow for the job's row sums (the array would wrap them) is refused too
    narrow = header.replace(f"32'd{sum_w}  // job 0", f"32'd{sum_w - 1}  // job 0")
    assert narrow != header
    with pytest.raises(
        ValueError, match=rf"ERNN_CSB_UNIT_TABLE job 0 \(gate\): sum_w {sum_w - 1} \(model: {sum_w}\)"
    ):
        csb_unit.check_header(narrow, exported.net, exported.hardware["lanes"])


def test_images_read_back_to_the_kernels(csb_model):
    _, model_dir = csb_model
    exported = ExportedModel(model_dir)
    net, cfg = exported.net, exported.numerics
    header = (model_dir / "ernn_params.vh").read_text()
    for idx, layer in enumerate(net.layers):
        for name in ("w_ih", "w_hh"):
            m = getattr(layer, name)
            back = ecsb.read_matrix(
                model_dir / "mem", f"l{idx}_{name}", m.rows, m.cols, m.gates, 4, cfg.weight_spectrum.word
            )
            for key in ("counts", "row_index", "col_index", "values"):
                assert np.array_equal(getattr(back, key), getattr(m, key)), (idx, name, key)
            depth = len((model_dir / "mem" / f"l{idx}_{name}_values.mem").read_text().split())
            assert f"ERNN_CSB_L{idx}_{name.upper()}_VALUES_DEPTH = {depth};" in header
            assert depth == m.values.size


def test_bad_images_and_headers_are_refused(csb_model, tmp_path):
    _, model_dir = csb_model
    exported = ExportedModel(model_dir)
    m = exported.net.layers[0].w_hh
    mem = tmp_path / "mem"
    mem.mkdir()
    for suffix in ("counts", "rows", "cols", "values"):
        (mem / f"l0_w_hh_{suffix}.mem").write_text((model_dir / "mem" / f"l0_w_hh_{suffix}.mem").read_text())
    # the first block with two or more kept rows: swap its first two offsets
    block = next(i for i, (mb, _) in enumerate(m.counts.reshape(-1, 2)) if mb >= 2)
    start = int(m.counts.reshape(-1, 2)[:block, 0].sum())
    rows = (mem / "l0_w_hh_rows.mem").read_text().split()
    rows[start], rows[start + 1] = rows[start + 1], rows[start]
    (mem / "l0_w_hh_rows.mem").write_text("\n".join(rows) + "\n")
    g, rest = divmod(block, m.counts.shape[1] * m.counts.shape[2])
    i, j = divmod(rest, m.counts.shape[2])
    word = exported.numerics.weight_spectrum.word
    with pytest.raises(ValueError, match=rf"block \(gate {g}, block row {i}, block column {j}\): kept rows"):
        ecsb.read_matrix(mem, "l0_w_hh", m.rows, m.cols, m.gates, 4, word)
    header = (model_dir / "ernn_params.vh").read_text()
    csb_unit.check_header(header, exported.net, exported.hardware["lanes"])
    with pytest.raises(ValueError, match="the CSB lines differ from this model's"):
        csb_unit.check_header(header, exported.net, exported.hardware["lanes"] * 2)
    with pytest.raises(ValueError, match="lanes \\(PEs of the CSB engine\\)"):
        ecsb.check_lanes(0)
    # the array's rows reduced per clock: missing (an older export) or not dividing M, refused by name
    import re

    line = re.search(r"localparam integer ERNN_CSB_RED_ROWS = \d+;[^\n]*\n", header).group(0)
    with pytest.raises(ValueError, match="no ERNN_CSB_RED_ROWS .*export again"):
        csb_unit.check_header(header.replace(line, ""), exported.net, exported.hardware["lanes"])
    bad = re.sub(r"ERNN_CSB_RED_ROWS = \d+;", "ERNN_CSB_RED_ROWS = 3;", header)
    with pytest.raises(ValueError, match="ERNN_CSB_RED_ROWS = 3 does not divide the CSB block size 4"):
        csb_unit.check_header(bad, exported.net, exported.hardware["lanes"])


def test_reduction_rows_follow_the_median_tile_row(csb_model):
    """The rule reduces the fewest rows per clock (a power of two dividing M) whose M / r clocks per tile row
    do not exceed the median tile row's MAC clocks over every job; export keeps one row per clock by
    default, and its header and config say so."""
    import dataclasses

    _, model_dir = csb_model
    exported = ExportedModel(model_dir)
    jobs = csb_unit.unit_jobs(exported.net, exported.hardware["lanes"])

    def with_lens(lens):
        prog = dataclasses.replace(jobs[0].program, lens=np.array(lens))
        return [dataclasses.replace(jobs[0], program=prog)]

    assert csb_unit.reduction_rows(with_lens([9, 9, 9]), 8) == 1  # 8 clocks hide behind 9
    assert csb_unit.reduction_rows(with_lens([5, 5, 1]), 8) == 2  # 4 <= median 5
    assert csb_unit.reduction_rows(with_lens([1, 1, 2]), 8) == 8  # one clock, the most there is
    assert csb_unit.reduction_rows(with_lens([3, 3]), 32) == 16  # 2 <= 3 (32 / 8 = 4 > 3)
    # export reduces one row per clock unless told otherwise (csb_unit.RED_ROWS; None: the rule)
    assert exported.config["hardware"]["csb_unit"]["red_rows"] == csb_unit.RED_ROWS == 1
    assert "localparam integer ERNN_CSB_RED_ROWS = 1;" in (model_dir / "ernn_params.vh").read_text()


def test_export_takes_the_reduction_width(csb_model, tmp_path, capsys):
    """ernn export --csb-red-rows: a divisor of M goes into the header and the unit's clocks, "auto" is the
    rule's choice, and a width that does not divide M, or one given for a block-circulant model, is refused
    by name before any folder is written."""
    run, model_dir = csb_model
    base = ["export", "--checkpoint", str(run), "--test-sequences", "1"]
    one = ExportedModel(model_dir).config["hardware"]["csb_unit"]
    assert cli.main([*base, "--out", str(tmp_path / "r2"), "--csb-red-rows", "2"]) == 0
    two = ExportedModel(tmp_path / "r2")
    assert two.config["hardware"]["csb_unit"]["red_rows"] == 2
    assert "localparam integer ERNN_CSB_RED_ROWS = 2;" in (tmp_path / "r2" / "ernn_params.vh").read_text()
    jobs = csb_unit.unit_jobs(two.net, two.hardware["lanes"])
    assert two.config["hardware"]["csb_unit"]["job_array_cycles"] == csb_unit.unit_cycles(jobs, 4, 2)
    assert two.config["hardware"]["csb_unit"]["job_array_cycles"] != one["job_array_cycles"]
    assert cli.main([*base, "--out", str(tmp_path / "ra"), "--csb-red-rows", "auto"]) == 0
    auto = ExportedModel(tmp_path / "ra").config["hardware"]["csb_unit"]["red_rows"]
    assert auto == csb_unit.reduction_rows(jobs, 4)
    capsys.readouterr()
    for bad in ("3", "0", "two"):
        assert cli.main([*base, "--out", str(tmp_path / "bad"), "--csb-red-rows", bad]) == 2
        err = capsys.readouterr().err
        assert f"CSB reduction rows per clock '{bad}' must be 'auto' or divide the CSB block size 4" in err
        assert "(one of 1, 2, 4)" in err
        assert not (tmp_path / "bad").exists()


def test_reduction_width_is_refused_for_a_circulant_model(tmp_path):
    from ernn.export import writer as export

    with pytest.raises(
        ValueError, match=r"\(--csb-red-rows\) is an option of the CSB engine, not of a block"
    ):
        export.export_random(tmp_path / "c", hidden_size=8, block_size=4, csb_red_rows=2)
    assert not (tmp_path / "c").exists()


def test_sparse_run_is_still_refused_by_name(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--out", str(run), "--hidden-size", "8", "--epochs", "1", "--quiet"]
    args += ["--train", str(tiny_data / "train.npz"), "--test", str(tiny_data / "test.npz")]
    assert cli.main([*args, "--structure", "sparse", "--prune-rate", "0.5"]) == 0
    capsys.readouterr()
    assert cli.main(["export", "--checkpoint", str(run), "--out", str(tmp_path / "m")]) == 2
    assert "structure 'sparse' has no golden model or RTL engine yet" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_dsp_pack_is_refused_for_a_csb_model(csb_model, tmp_path, capsys):
    run, _ = csb_model
    out = tmp_path / "m"
    args = ["export", "--checkpoint", str(run), "--out", str(out), "--data-bits", "8", "--dsp-pack"]
    assert cli.main(args) == 2
    assert "DSP packing (--dsp-pack) is an option of the block-circulant PE" in capsys.readouterr().err
    assert not out.exists()


def test_export_random_csb_projects_the_initial_weights(tmp_path):
    """export_random(structure="csb"): the initial dense weights through the CSB hard projection, exported
    for the CSB unit (one group array, every job's program in one set of images); a structure it does not
    build is refused by name."""
    from ernn.export import writer as export

    out = export.export_random(
        tmp_path / "m", input_size=6, hidden_size=16, proj_size=8, peephole=True, structure="csb",
        csb_block=4, prune_rate=0.75, lanes=16, seed=3,
    )  # fmt: skip
    exported = ExportedModel(out)
    assert exported.shape.structure.name == "csb" and exported.shape.structure.block == 4
    unit = exported.config["hardware"]["csb_unit"]
    assert unit["grid"] == {"K": 2, "L": 2, "P": 2, "Q": 2}
    assert len(unit["job_macs"]) == 2  # the gate job and the projection
    # every 4 x 4 block kept at most (1 - 0.75) of its entries plus the rounding of rows and columns
    dense = 4 * 16 * (6 + 8) + 8 * 16
    assert 0 < sum(unit["job_macs"]) < 0.4 * dense
    assert sorted(p.name for p in (out / "mem").glob("csb_prog_*.mem")) == [
        f"csb_prog_{n}.mem" for n in ("en", "lens", "tgt", "val", "x")
    ]
    with pytest.raises(ValueError, match=r"structure 'tt' is not 'circulant' or 'csb'"):
        export.export_random(tmp_path / "bad", structure="tt")
