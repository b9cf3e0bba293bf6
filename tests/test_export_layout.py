"""The memory images and the job table ernn_top reads (ernn.export.layout, ernn.export.schedule) and the
export's hardware section: Python only.

Each image is decoded back and compared with ``GoldenNetwork.quantized_params()``; the PE weight words
are compared with the PE testbench's reference layout (``rtl_runner.pe_weight_words``); the job table
written into the header decodes to exactly the schedule (``all_jobs``) with the weight offsets and state
addresses recomputed here; the cycle model's numbers are recomputed from the model's shape.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from ernn.export import layout as hw_layout
from ernn.export import schedule, timing
from ernn.export import writer as export
from ernn.export.writer import ExportedModel
from ernn.golden.float_reference import random_model
from ernn.golden.network import GoldenNetwork, describe_model
from ernn.sim import runner as rtl_runner


@pytest.mark.parametrize(
    ("rows", "q", "bins", "lanes"), [(16, 6, 5, 16), (6, 3, 3, 2), (4, 2, 9, 7), (2, 5, 33, 40)]
)
def test_job_words_match_the_pe_layout(rows, q, bins, lanes):
    rng = np.random.default_rng(rows * 100 + lanes)
    re = rng.integers(-(1 << 15), 1 << 15, size=(rows, q, bins))
    im = rng.integers(-(1 << 15), 1 << 15, size=(rows, q, bins))
    assert hw_layout.pe_job_words(re, im, lanes, 16) == rtl_runner.pe_weight_words(re, im, lanes, 16)


@pytest.mark.parametrize(
    ("rows", "q", "bins", "lanes"),
    [(1, 5, 3, 13), (2, 4, 3, 12), (5, 3, 5, 23), (2, 1, 3, 12), (30, 17, 3, 42)],
)
def test_split_job_words(rows, q, bins, lanes):
    """ERNN_SPLIT's layout (rtl/ernn_pe.v "Split rounds"): the same words as the testbench's reference, as
    many as Job.words counts, and the last round's weights found again in its two lane groups: lane l
    against blocks 0 .. h - 1, lane split_lane + l against blocks h .. q - 1 (h = ceil(q / 2))."""
    from ernn.export.jobs import Job, split_lane, split_round

    rng = np.random.default_rng(rows * 100 + lanes)
    re = rng.integers(-(1 << 15), 1 << 15, size=(rows, q, bins))
    im = rng.integers(-(1 << 15), 1 << 15, size=(rows, q, bins))
    at = split_lane(lanes, bins)
    assert at and split_round(rows * bins, lanes, bins)
    words = hw_layout.pe_job_words(re, im, lanes, 16, at)
    assert words == rtl_runner.pe_weight_words(re, im, lanes, 16, at)
    assert len(words) == Job(0, "gate", rows, 0, q, q).words(bins, lanes, split=True)
    half = -(-q // 2)
    tail = _decode(words[len(words) - half :], 16, 2 * lanes).reshape(half, lanes, 2)
    units = rows * bins
    first = (units - 1) // lanes * lanes  # the last round's first unit
    want = np.stack((re, im), axis=-1).transpose(0, 2, 1, 3).reshape(units, q, 2)[first:]
    got = np.concatenate((tail[:, : len(want)], tail[: q - half, at : at + len(want)]), axis=0)
    assert np.array_equal(got.transpose(1, 0, 2), want)
    assert not tail[:, len(want) : at].any() and not tail[:, at + len(want) :].any()  # the other lanes: zero
    if q % 2:
        assert not tail[-1, at:].any()  # the second group's last clock has no block


def _decode(words: list[int], width: int, count: int) -> np.ndarray:
    return np.array([rtl_runner.unpack(w, width, count) for w in words], dtype=np.int64)


@pytest.mark.parametrize(
    ("cell", "proj", "peephole", "layers", "k", "lanes"),
    [("lstm", 0, False, 1, 8, 16), ("lstm", 6, True, 2, 4, 3), ("gru", 0, False, 2, 16, 7)],
)
def test_images_hold_the_quantized_parameters(cell, proj, peephole, layers, k, lanes):
    desc = random_model(
        cell, 10, 20, num_layers=layers, proj_size=proj, peephole=peephole, block_size=k, seed=3
    )
    net = GoldenNetwork(desc)
    info, cfg = net.info, net.numerics
    params = net.quantized_params()
    ws, bins = cfg.weight_spectrum.word, cfg.bins
    p = -(-info.hidden_size // k)
    words = hw_layout.pe_weight_image(params, info, lanes, ws)
    assert len(words) == hw_layout.cycle_model(info, lanes).pe_issue_cycles
    # decode every job region back to (rows, q, bins) spectra and compare with the layer's matrices
    pos = 0
    # the jobs in the design's order (a GRU's in job may come first) and slots
    in_first, ahead = hw_layout.gru_in_first(info, lanes), hw_layout.load_ahead(info, lanes)
    inter, fused = hw_layout.interleave(info, lanes), hw_layout.gru_fused(info, lanes)
    jobs = hw_layout.all_jobs(info, in_first, ahead, inter, fused)
    table = hw_layout.job_table(info, lanes, in_first, ahead, inter, fused)
    for job, entry in zip(jobs, table, strict=True):
        n = job.words(bins, lanes)
        assert entry.w_base == pos  # the region the controller's job table points the PE at
        fields = _decode(words[pos : pos + n], ws, 2 * lanes)  # (rounds * q, 2 P): re, im per lane
        pos += n
        rounds = n // job.read_count
        units = (
            fields.reshape(rounds, job.read_count, lanes, 2)
            .transpose(0, 2, 1, 3)
            .reshape(-1, job.read_count, 2)
        )
        units = units[: job.rows * bins].reshape(job.rows, bins, job.read_count, 2).transpose(0, 2, 1, 3)
        lp = params["layers"][job.layer]
        g = 4 if cell == "lstm" else 3
        if job.kind == "gate" and job.gates == 4 and cell == "gru":
            # fused GRU stage: r, z, W_in x (zero against h_{t-1}), W_hn h (zero against x_t)
            qx = job.x_blocks
            both = {}
            for c in ("re", "im"):
                x, h = lp["w_ih"][c], lp["w_hh"][c]
                x4 = np.concatenate((x, np.zeros_like(x[:1])))
                h4 = np.concatenate((h[:2], np.zeros_like(h[:1]), h[2:3]))
                both[c] = np.concatenate((x4, h4), axis=2)
                assert not both[c][2, :, qx:].any() and not both[c][3, :, :qx].any()
            gates = 4
        elif job.kind == "gate":
            gates = 4 if cell == "lstm" else 2
            both = {
                c: np.concatenate((lp["w_ih"][c][:gates], lp["w_hh"][c][:gates]), axis=2)
                for c in ("re", "im")
            }
            for row in range(job.rows):
                blk, gate = divmod(row, gates)
                np.testing.assert_array_equal(units[row, :, :, 0], both["re"][gate, blk])
                np.testing.assert_array_equal(units[row, :, :, 1], both["im"][gate, blk])
        else:
            src = {"proj": lp["w_hr"], "in": lp["w_ih"], "hn": lp["w_hh"]}[job.kind]
            gate = 0 if job.kind == "proj" else g - 1
            np.testing.assert_array_equal(units[..., 0], src["re"][gate])
            np.testing.assert_array_equal(units[..., 1], src["im"][gate])
    assert pos == len(words)
    # biases: (layer, block) rows of (slot, unit); GRU slot 3 = b_hn; padding units zero
    bias = hw_layout.bias_image(params, info)
    assert bias.shape == (layers * p, 4 * k)
    for layer, lp in enumerate(params["layers"]):
        want = lp["bias"] if cell == "lstm" else np.concatenate((lp["bias"], lp["b_hn"][None]))
        got = bias[layer * p : (layer + 1) * p].reshape(p, 4, k).transpose(1, 0, 2).reshape(4, p * k)
        np.testing.assert_array_equal(got[:, : info.hidden_size], want)
        assert not got[:, info.hidden_size :].any()
        if peephole:
            peep = hw_layout.peephole_image(params, info)[layer * p : (layer + 1) * p]
            got = peep.reshape(p, 3, k).transpose(1, 0, 2).reshape(3, p * k)
            np.testing.assert_array_equal(got[:, : info.hidden_size], lp["peephole"])


SHAPES = [
    ("lstm", 12, 32, 0, False, 1, 8, 16),
    ("lstm", 10, 20, 6, True, 2, 4, 3),
    ("gru", 6, 8, 0, False, 1, 4, 1),
    ("gru", 12, 30, 0, False, 3, 8, 5),
    ("lstm", 40, 96, 40, False, 2, 32, 24),
]


@pytest.mark.parametrize(("cell", "n_in", "hidden", "proj", "peephole", "layers", "k", "lanes"), SHAPES)
def test_job_table_decodes_to_the_schedule(cell, n_in, hidden, proj, peephole, layers, k, lanes):
    """The table in the header is all_jobs in issue order, with the weight offsets (the job regions back to
    back) and the state-memory bases (h per (layer, q_h blocks), bias / c per (layer, p blocks))."""
    desc = random_model(
        cell, n_in, hidden, num_layers=layers, proj_size=proj, peephole=peephole, block_size=k, seed=1
    )
    info = GoldenNetwork(desc).info
    bins = k // 2 + 1
    p, qh = -(-hidden // k), -(-(proj or hidden) // k)
    table = hw_layout.job_table(info, lanes)
    jobs = hw_layout.all_jobs(info)
    assert len(table) == len(jobs) == layers * (3 if cell == "gru" else 1 + bool(proj))
    w_base = 0
    for job, entry in zip(jobs, table, strict=True):
        assert entry.kind_name == job.kind and entry.layer == job.layer
        assert (entry.rows, entry.read_base, entry.read_count) == (job.rows, job.read_base, job.read_count)
        assert (entry.load_count, entry.x_blocks) == (job.load_count, job.x_blocks)
        gates = {"gate": 4 if cell == "lstm" else 2}.get(job.kind, 1)
        assert entry.blocks == job.rows // gates == (qh if job.kind == "proj" else p)
        assert entry.w_base == w_base
        w_base += -(-job.rows * bins // lanes) * job.read_count
        assert entry.h_base == job.layer * qh and entry.c_base == job.layer * p
        assert entry.x_base == (job.layer - 1) * qh if job.layer else entry.x_base == 0
        if job.kind == "gate":
            qx = -(-(n_in if job.layer == 0 else proj or hidden) // k)
            assert entry.x_blocks == qx and entry.load_count == qx + qh
    assert w_base == hw_layout.cycle_model(info, lanes).pe_issue_cycles
    # the header's text decodes back to the same rows
    hw = hw_layout.HardwareConfig(
        lanes, 1, w_base, hw_layout.xbuf_depth(info), {"weights": "w"}, tuple(table)
    )
    header = "\n".join(hw.header_lines())
    assert f"localparam integer ERNN_JOBS = {len(table)};" in header
    assert hw_layout.parse_job_table(header) == table


def test_job_table_text_that_does_not_match_is_refused():
    info = describe_model(random_model("gru", 6, 8, block_size=4))
    table = hw_layout.job_table(info, 2)
    lines = hw_layout.job_table_lines(table)
    text = "\n".join(lines)
    with pytest.raises(ValueError, match="ERNN_JOB_TABLE holds 24 fields, ERNN_JOBS = 3 rows need 36"):
        hw_layout.parse_job_table("\n".join(line for line in lines if "job 2:" not in line))
    with pytest.raises(ValueError, match="13 fields per job"):
        hw_layout.parse_job_table(text.replace("ERNN_JOB_FIELDS = 12", "ERNN_JOB_FIELDS = 13"))
    with pytest.raises(ValueError, match="no ERNN_JOBS"):
        hw_layout.parse_job_table("localparam integer ERNN_K = 4;")
    with pytest.raises(ValueError, match="outside"):
        hw_layout.job_table_lines([dataclasses.replace(table[0], w_base=1 << 32)])


def test_gru_header_in_either_job_order_is_accepted():
    """A GRU's table may hold rz, in, hn (directories exported before the exporter chose the order) or
    in, rz, hn (``schedule.gru_in_first``); any other order is not this model's schedule."""
    net = GoldenNetwork(random_model("gru", 36, 14, block_size=4, seed=1))
    for in_first in (False, True):
        table = hw_layout.job_table(net.info, 57, in_first)
        hw_layout.check_header("\n".join(hw_layout.job_table_lines(table)), net, 57)
    bad = hw_layout.job_table(net.info, 57, True)
    bad[1], bad[2] = bad[2], bad[1]
    with pytest.raises(ValueError, match="the job table differs"):
        hw_layout.check_header("\n".join(hw_layout.job_table_lines(bad)), net, 57)


def test_cycle_model_and_default_lanes_of_the_default_model():
    info = describe_model(random_model("lstm", 12, 32, block_size=8))
    k, bins = 8, 5
    p, qx, qh = 32 // k, -(-12 // k), 32 // k
    macs = 4 * p * (qx + qh) * bins  # one gate job: 4 p row blocks over q_x + q_h input blocks
    # PE: 4 log2 k + 4, and 2 log2 k - 3 with the multiplier outputs registered (docs/pe.md); the cell
    depth = (4 * 3 + 4) + timing.MREG * (2 * 3 - 3) + hw_layout.CELL_LATENCY["lstm"]
    for lanes in (1, 3, 16, 64):
        cm = hw_layout.cycle_model(info, lanes)
        assert cm.complex_macs == macs and cm.mac_cycles == -(-macs // lanes)
        assert cm.pipeline_depth == depth and cm.ideal == cm.mac_cycles + depth
        assert cm.pe_issue_cycles == -(-4 * p * bins // lanes) * (qx + qh)
    # the smallest power of two whose MAC time fits in the pipeline depth
    lanes = hw_layout.default_lanes(info)
    assert -(-macs // lanes) <= depth < -(-macs // (lanes // 2))
    assert lanes == 16


def test_export_builds_the_design_it_predicts(tmp_path):
    """The exporter's IFFTs, cell lanes and GRU job form are the design's (schedule.design): GRU 6 -> 40,
    k 16, P 128 is one fused job per stage, 2 IFFTs and k / 2 = 8 cell lanes (52 clocks by the timing
    model; with its three jobs the 1.25x rule gave 2 IFFTs and k cell lanes for the same 52)."""
    out = export.export_random(
        tmp_path / "m", cell="gru", input_size=6, hidden_size=40, block_size=16, lanes=128
    )
    hw = json.loads((out / "config.json").read_text())["hardware"]
    d = schedule.design(ExportedModel(out).net.info, 128)
    assert (d.n_ifft, d.cell_lanes, d.gru_fused) == (2, 8, True)
    assert (hw["n_ifft"], hw["cell_lanes"], hw["gru_fused"]) == (d.n_ifft, d.cell_lanes, d.gru_fused)
    header = (out / "ernn_params.vh").read_text()
    assert "localparam integer ERNN_CELL_LANES = 8;" in header
    assert len(hw_layout.parse_job_table(header)) == 1  # one fused job


def test_export_records_the_hardware_choices(tmp_path):
    out = export.export_random(
        tmp_path / "m", cell="gru", input_size=6, hidden_size=12, block_size=4, lanes=5
    )
    cfg = json.loads((out / "config.json").read_text())
    hw = cfg["hardware"]
    model = ExportedModel(out)  # checksums cover the new memory files
    assert hw["lanes"] == 5 and hw["memories"]["weights"] == "pe_weights.mem"
    assert hw["cell_lanes"] == hw_layout.cell_lanes(model.net.info, 5) and 4 % hw["cell_lanes"] == 0
    assert hw["cycles_per_step"] == hw_layout.cycle_model(model.net.info, 5).as_dict()
    header = (out / "ernn_params.vh").read_text()
    in_first = hw_layout.gru_in_first(model.net.info, 5)
    assert hw_layout.parse_job_table(header) == hw_layout.job_table(model.net.info, 5, in_first)
    assert "localparam integer ERNN_LANES = 5;" in header
    assert f"localparam integer ERNN_W_DEPTH = {hw['pe_weight_words']};" in header
    lines = (out / "mem" / "pe_weights.mem").read_text().split()
    assert len(lines) == hw["pe_weight_words"] and all(len(w) == 5 * 2 * 16 // 4 for w in lines)
    assert not (out / "mem" / "cell_peephole.mem").exists()
    with pytest.raises(ValueError, match="lanes"):
        export.export_random(tmp_path / "bad", lanes=0)


def test_export_dsp_pack_narrows_the_weights_and_sets_the_header(tmp_path):
    out = export.export_random(
        tmp_path / "m", input_size=6, hidden_size=16, block_size=8, lanes=5, data_bits=8, dsp_pack=True
    )
    model = ExportedModel(out)
    hw = model.config["hardware"]
    assert hw["dsp_pack"] is True and hw["real_bins"] is True  # P = 5: one row block of 5 bins
    assert model.numerics.weight_spectrum.word == 7  # 11-bit input spectra at k = 8: 7-bit weights pack
    header = (out / "ernn_params.vh").read_text()
    assert "localparam integer ERNN_DSP_PACK = 1;" in header
    assert "localparam integer ERNN_WEIGHT_SPECTRUM_W = 7;" in header
    plain = export.export_random(
        tmp_path / "p", input_size=6, hidden_size=16, block_size=8, lanes=5, data_bits=8
    )
    assert "localparam integer ERNN_DSP_PACK = 0;" in (plain / "ernn_params.vh").read_text()
    assert ExportedModel(plain).numerics.weight_spectrum.word == 8
    with pytest.raises(ValueError, match="DSP packing is not possible"):
        export.export_random(tmp_path / "bad", block_size=8, lanes=5, dsp_pack=True)  # 16-bit data
    assert not (tmp_path / "bad").exists()
