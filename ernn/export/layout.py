"""Hardware layout of an exported model: the memory images of ``rtl/ernn_top.v`` and the hardware choices.

The PE job schedule (which jobs run per time step, their rows, input blocks, weight offsets and operand
addresses), the cycle model and the choice of P live in :mod:`ernn.export.schedule`; their names are
importable from here as well. This module lays the quantized parameters out in the order of that schedule.

Memory images written next to the exporter's files (``mem/``):

* ``pe_weights.mem`` — the PE's weight memory: the jobs of :func:`all_jobs` (layer 0, 1, ...) back to back,
  job j from the ``w_base`` of its :func:`job_table` row; each job region is :func:`pe_job_words` of its
  stacked spectra :func:`job_spectra` (the PE's layout, docs/pe.md: units (row block,
  bin) dealt to the P lanes in rounds of P, one word of P complex ``{im, re}`` Q(weight_spectrum) values per
  round and input block);
* ``cell_bias.mem`` — one word per (layer, hidden block): merged biases (slot, unit) at bits
  ``(slot * k + unit) * bias.word``, slots LSTM i, f, g, o; GRU r, z, in, hn (= b_ir + b_hr, b_iz + b_hz,
  b_in, b_hn); padding units 0;
* ``cell_peephole.mem`` (LSTM with peepholes) — one word per (layer, hidden block): (i, f, o, unit) at
  ``(gate * k + unit) * peephole.word``.

``cell_bias.mem`` and ``cell_peephole.mem`` are addressed layer * p + block, the ``c_base`` of the job table.
:func:`write_memories` writes the images and returns the :class:`HardwareConfig` whose header lines carry
P, the depths and the job table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import ernn.export.dsp_pack as dsp_pack  # the module by name, not the package (no import cycle)
from ernn.export.jobs import interleavable, split_lane
from ernn.export.schedule import (
    CELL_LATENCY,
    MAX_DEFAULT_LANES,
    PE_FIXED_LATENCY,
    CycleModel,
    Job,
    JobEntry,
    all_jobs,
    cell_lanes,
    check_lanes,
    cycle_model,
    default_cell_lanes,
    default_lanes,
    gate_forward,
    gru_fused,
    gru_in_first,
    interleave,
    job_table,
    job_table_lines,
    layer_skew,
    load_ahead,
    n_ifft,
    parse_job_table,
    pe_latency,
    proj_engine,
    split,
    stage_jobs,
    xbuf_depth,
)
from ernn.golden.network import GoldenNetwork, ModelInfo

__all__ = [
    "CELL_LATENCY",
    "FILES",
    "MAX_DEFAULT_LANES",
    "PE_FIXED_LATENCY",
    "CycleModel",
    "HardwareConfig",
    "Job",
    "JobEntry",
    "all_jobs",
    "bias_image",
    "cell_lanes",
    "check_lanes",
    "cycle_model",
    "default_cell_lanes",
    "default_lanes",
    "gru_fused",
    "gru_in_first",
    "interleave",
    "job_spectra",
    "job_table",
    "job_table_lines",
    "layer_skew",
    "load_ahead",
    "n_ifft",
    "parse_job_table",
    "pe_job_words",
    "pe_latency",
    "pe_weight_image",
    "peephole_image",
    "proj_engine",
    "proj_engine_image",
    "split",
    "stage_jobs",
    "write_memories",
    "xbuf_depth",
]

FILES = {
    "weights": "pe_weights.mem",
    "bias": "cell_bias.mem",
    "peephole": "cell_peephole.mem",
    "proj_weights": "proj_weights.mem",  # the projection engine's (ERNN_PROJ_ENGINE)
}


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


# ------------------------------------------------------------------------------------------------------
# memory images
def _pack(fields: np.ndarray, width: int) -> list[int]:
    """Rows of signed ``fields`` (n, m) -> n words, field j at bits [j*width +: width] (two's complement)."""
    arr = np.asarray(fields, dtype=np.int64)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise ValueError(f"values outside the signed {width}-bit range [{lo}, {hi}]")
    mask = (1 << width) - 1
    words = []
    for row in arr.reshape(arr.shape[0], -1):
        w = 0
        for j, v in enumerate(row.tolist()):
            w |= (int(v) & mask) << (j * width)
        words.append(w)
    return words


def pe_job_words(w_re: np.ndarray, w_im: np.ndarray, lanes: int, word: int, split_at: int = 0) -> list[int]:
    """PE weight-memory words of one job (docs/pe.md): spectra (rows, q, bins) of its stacked row blocks.

    Unit u = r * bins + m (row block r, bin m) goes to lane u mod P in round u // P; word t * q + j holds,
    for every lane, the weight of its unit in round t against input block j: ``{im, re}`` at bits
    ``[2 l word +: 2 word]`` (zero past the last unit). ``split_at`` > 0 (``ERNN_SPLIT``: the PE's
    ``SPLIT_LANE``, :func:`ernn.export.jobs.split_lane`): a last round of at most ``split_at`` units
    takes h = ceil(q / 2) words, word j holding lane l's unit against block j and lane ``split_at`` + l's
    (the same unit) against block h + j (zero where h + j = q).
    """
    wr = np.asarray(w_re, dtype=np.int64)
    wi = np.asarray(w_im, dtype=np.int64)
    rows, q, bins = wr.shape
    units = rows * bins
    rounds = _cdiv(units, lanes)
    ur = np.zeros((rounds * lanes, q), dtype=np.int64)
    ui = np.zeros_like(ur)
    ur[:units] = wr.transpose(0, 2, 1).reshape(units, q)
    ui[:units] = wi.transpose(0, 2, 1).reshape(units, q)
    # (rounds, q, lanes, {re, im}) -> one word per (round, block)
    fields = np.stack((ur, ui), axis=-1).reshape(rounds, lanes, q, 2).transpose(0, 2, 1, 3)
    if split_at and units and units - (rounds - 1) * lanes <= split_at:
        half = _cdiv(q, 2)
        last = fields[-1, :, :split_at]  # (q, split_at, 2): the round's units, all in its first lanes
        tail = np.zeros((half, lanes, 2), dtype=np.int64)
        tail[:, :split_at] = last[:half]
        tail[: q - half, split_at : 2 * split_at] = last[half:]
        full = fields[:-1].reshape((rounds - 1) * q, lanes * 2)
        return _pack(np.concatenate((full, tail.reshape(half, lanes * 2))), word)
    return _pack(fields.reshape(rounds * q, lanes * 2), word)


def _interleave(re: np.ndarray, im: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(G, p, q, bins) -> (p * G, q, bins): row block (hidden block i, gate g) at i * G + g."""
    g, p, q, b = re.shape
    return (
        re.transpose(1, 0, 2, 3).reshape(p * g, q, b),
        im.transpose(1, 0, 2, 3).reshape(p * g, q, b),
    )


def job_spectra(
    params: dict[str, Any], layer: int, kind: str, gru_fused: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The stacked weight spectra (rows, q, bins) of one job, from ``GoldenNetwork.quantized_params()``.
    ``gru_fused``: a GRU's gate job with four rows per block, r, z, W_in x (zero against h_{t-1}) and W_hn
    h (zero against x_t) (:func:`ernn.export.jobs.stage_jobs`)."""
    lp = params["layers"][layer]
    ih, hh = lp["w_ih"], lp["w_hh"]
    if kind == "proj":
        return lp["w_hr"]["re"][0], lp["w_hr"]["im"][0]
    if kind == "in":
        return ih["re"][2], ih["im"][2]
    if kind == "hn":
        return hh["re"][2], hh["im"][2]
    if gru_fused and params["cell"] == "gru":
        parts = []
        for part in ("re", "im"):
            x, h = ih[part], hh[part]  # (3, p, q, bins): r, z, n
            zx, zh = np.zeros_like(x[:1]), np.zeros_like(h[:1])
            x4 = np.concatenate((x, zx), axis=0)  # r, z, W_in x, no x in the hn row
            h4 = np.concatenate((h[:2], zh, h[2:3]), axis=0)  # r, z, no h in the in row, W_hn h
            parts.append(np.concatenate((x4, h4), axis=2))
        return _interleave(*parts)
    gates = 4 if params["cell"] == "lstm" else 2
    re = np.concatenate((ih["re"][:gates], hh["re"][:gates]), axis=2)
    im = np.concatenate((ih["im"][:gates], hh["im"][:gates]), axis=2)
    return _interleave(re, im)


def pe_weight_image(params: dict[str, Any], info: ModelInfo, lanes: int, word: int) -> list[int]:
    """The whole PE weight memory: every job of every layer in issue order, each at its job-table
    ``w_base``."""
    words: list[int] = []
    in_first, ahead, inter = gru_in_first(info, lanes), load_ahead(info, lanes), interleave(info, lanes)
    fused, halves, engine = gru_fused(info, lanes), split(info, lanes), proj_engine(info, lanes)
    split_at = split_lane(lanes, info.block_size // 2 + 1) if halves else 0
    for job, entry in zip(
        all_jobs(info, in_first, ahead, inter, fused, engine),
        job_table(info, lanes, in_first, ahead, inter, fused, halves, engine),
        strict=True,
    ):
        re, im = job_spectra(params, job.layer, job.kind, fused)
        assert re.shape[:2] == (job.rows, job.read_count), (job, re.shape)
        assert entry.w_base == len(words), (entry, len(words))
        words += pe_job_words(re, im, lanes, word, split_at)
    return words


def proj_engine_image(params: dict[str, Any], info: ModelInfo, word: int) -> list[int]:
    """The projection engine's weight ROM (rtl/ernn_proj_pe.v ``W_FILE``): one word per (layer, m block
    j), layer-major, holding the W_hr spectra of every output block b and bin m, element b (k/2 + 1) + m
    at bits [2 e word, 2 (e + 1) word), re low, im high, Q(weight_spectrum)."""
    words = []
    for layer in range(info.num_layers):
        re, im = job_spectra(params, layer, "proj")  # (qh, p, bins)
        fields = np.stack((re, im), axis=-1).transpose(1, 0, 2, 3)  # (p, qh, bins, re/im)
        words += _pack(fields.reshape(fields.shape[0], -1), word)
    return words


def _per_block(values: np.ndarray, k: int, p: int) -> np.ndarray:
    """(slots, H) -> (p, slots * k): one row per hidden block, (slot, unit) fields, padding units 0."""
    slots, h = values.shape
    pad = np.zeros((slots, p * k), dtype=np.int64)
    pad[:, :h] = values
    return pad.reshape(slots, p, k).transpose(1, 0, 2).reshape(p, slots * k)


def bias_image(params: dict[str, Any], info: ModelInfo) -> np.ndarray:
    """(layers * p, 4 * k) merged biases per (layer, hidden block); GRU slot 3 is b_hn."""
    k = info.block_size
    p = _cdiv(info.hidden_size, k)
    rows = []
    for lp in params["layers"]:
        b = np.asarray(lp["bias"], dtype=np.int64)
        if info.cell == "gru":
            b = np.concatenate((b, np.asarray(lp["b_hn"], dtype=np.int64)[None]), axis=0)
        rows.append(_per_block(b, k, p))
    return np.concatenate(rows)


def peephole_image(params: dict[str, Any], info: ModelInfo) -> np.ndarray:
    """(layers * p, 3 * k) peepholes (i, f, o) per (layer, hidden block)."""
    k = info.block_size
    p = _cdiv(info.hidden_size, k)
    return np.concatenate([_per_block(np.asarray(lp["peephole"]), k, p) for lp in params["layers"]])


def _write_words(path: Path, words: list[int], width: int) -> None:
    digits = _cdiv(width, 4)
    path.write_text("\n".join(f"{w:0{digits}x}" for w in words) + "\n")


@dataclass(frozen=True)
class HardwareConfig:
    """The hardware choices recorded in config.json ("hardware") and ernn_params.vh."""

    lanes: int  # P, complex MAC lanes of the PE
    cell_lanes: int  # hidden units per cell-unit beat
    w_depth: int  # PE weight-memory words
    xbuf_depth: int  # PE spectrum-buffer slots
    files: dict[str, str]
    jobs: tuple[JobEntry, ...] = field(default=())  # the job table (schedule.job_table)
    n_ifft: int = 1  # IFFTs side by side in the PE (schedule.n_ifft)
    layer_skew: bool = False  # layers pipelined across steps (schedule.layer_skew)
    load_ahead: bool = False  # spectrum slots in two banks, the PE loading ahead (schedule.load_ahead)
    interleave: bool = False  # a slot's gate jobs before its projections (schedule.interleave)
    gru_fused: bool = False  # a GRU stage as one job (schedule.gru_fused; the job table says so too)
    split: bool = False  # last rounds split over two lane groups (schedule.split)
    gate_forward: bool = (
        False  # the feeder reads a gate-buffer block as it is completed (schedule.gate_forward)
    )
    proj_engine: bool = False  # the projection on the engine beside the PE (schedule.proj_engine)
    real_bins: bool = False  # the PE's lanes of bins 0 and k/2 multiply real parts only (dsp_pack.real_bins)
    dsp_pack: bool = (
        False  # two weight products per MAC multiply (export --dsp-pack, dsp_pack.packed_numerics)
    )

    def header_lines(self) -> list[str]:
        return [
            f"localparam integer ERNN_LANES = {self.lanes};  // PE complex MAC lanes (export --lanes)",
            f"localparam integer ERNN_CELL_LANES = {self.cell_lanes};  // hidden units per cell-unit beat",
            f"localparam integer ERNN_N_IFFT = {self.n_ifft};  // PE IFFTs side by side (row blocks per clock)",
            f"localparam integer ERNN_LAYER_SKEW = {int(self.layer_skew)};  // 1: layers pipelined across steps",
            f"localparam integer ERNN_INTERLEAVE = {int(self.interleave)};  // 1: a slot's gate jobs, then its projections",
            f"localparam integer ERNN_SPLIT = {int(self.split)};  // 1: last rounds split over two lane groups",
            f"localparam integer ERNN_GATE_FORWARD = {int(self.gate_forward)};  // 1: the feeder reads a block as it is completed",
            f"localparam integer ERNN_PROJ_ENGINE = {int(self.proj_engine)};  // 1: the projection on the engine beside the PE",
            f"localparam integer ERNN_REAL_BINS = {int(self.real_bins)};  // 1: real MAC lanes for bins 0, k/2",
            f"localparam integer ERNN_DSP_PACK = {int(self.dsp_pack)};  // 1: two weight products per MAC multiply",
            f"localparam integer ERNN_W_DEPTH = {self.w_depth};  // words of mem/{self.files['weights']}",
            f"localparam integer ERNN_XBUF_DEPTH = {self.xbuf_depth};  // PE spectrum-buffer slots",
            *job_table_lines(list(self.jobs)),
        ]

    def record(self) -> dict[str, Any]:
        """config.json's ``hardware`` entries (the writer adds ``cycles_per_step``)."""
        return {
            "lanes": self.lanes,
            "cell_lanes": self.cell_lanes,
            "n_ifft": self.n_ifft,
            "layer_skew": self.layer_skew,
            "load_ahead": self.load_ahead,
            "interleave": self.interleave,
            "gru_fused": self.gru_fused,
            "split": self.split,
            "gate_forward": self.gate_forward,
            "proj_engine": self.proj_engine,
            "real_bins": self.real_bins,
            "dsp_pack": self.dsp_pack,
            "pe_weight_words": self.w_depth,
            "pe_spectrum_slots": self.xbuf_depth,
            "memories": self.files,
        }


def check_header(header: str, net: GoldenNetwork, lanes: int) -> None:
    """ValueError when the header's job table is not this model's schedule for P = ``lanes`` (a GRU's in
    either job order: directories exported before the exporter chose the order hold rz, in, hn; the
    spectrum slots in one bank or two, alternating in either issue order: directories exported before
    the PE loaded ahead hold one; a GRU's stage as one fused job or not)."""
    table = parse_job_table(header)
    projection = net.info.cell == "lstm" and bool(net.info.proj_size)
    if all(
        table != job_table(net.info, lanes, in_first, ahead, inter, fused, halves, engine)
        for in_first in (False, True)
        for ahead in (False, True)
        for inter in (False, True)
        for fused in (False, True)
        for halves in (False, True)
        for engine in ((False, True) if projection else (False,))
        if (not inter or (interleavable(net.info, True) and not engine))
        and (not fused or (net.info.cell == "gru" and not in_first))
    ):
        raise ValueError(
            f"the job table differs from this model's schedule for P = {lanes} (ernn.export.schedule.job_table)"
        )


def write_memories(
    net: GoldenNetwork, mem_dir: Path, lanes: int, *, dsp_pack_lanes: bool = False
) -> HardwareConfig:
    """Write ``pe_weights.mem``, ``cell_bias.mem`` (and ``cell_peephole.mem``) for P = ``lanes``; the
    returned configuration holds the job table for the header. ``dsp_pack_lanes``: the PE's MAC lanes
    pack two weight products per multiply (``ERNN_DSP_PACK``); the formats must allow it."""
    check_lanes(lanes)
    info, cfg = net.info, net.numerics
    if dsp_pack_lanes and (problem := dsp_pack.dsp_pack_problem(cfg)) is not None:
        raise ValueError(f"the PE cannot pack its MAC multiplies at these formats: {problem}")
    params = net.quantized_params()
    k = info.block_size
    ws = cfg.weight_spectrum.word
    words = pe_weight_image(params, info, lanes, ws)
    _write_words(mem_dir / FILES["weights"], words, lanes * 2 * ws)
    _write_words(
        mem_dir / FILES["bias"], _pack(bias_image(params, info), cfg.bias.word), 4 * k * cfg.bias.word
    )
    files = {"weights": FILES["weights"], "bias": FILES["bias"]}
    if info.peephole:
        pw = cfg.peephole.word
        _write_words(mem_dir / FILES["peephole"], _pack(peephole_image(params, info), pw), 3 * k * pw)
        files["peephole"] = FILES["peephole"]
    engine = proj_engine(info, lanes)
    if engine:
        ew = _cdiv(info.proj_size, k) * (k // 2 + 1) * 2 * ws
        _write_words(mem_dir / FILES["proj_weights"], proj_engine_image(params, info, ws), ew)
        files["proj_weights"] = FILES["proj_weights"]
    in_first, ahead, inter = gru_in_first(info, lanes), load_ahead(info, lanes), interleave(info, lanes)
    fused, halves = gru_fused(info, lanes), split(info, lanes)
    jobs = tuple(job_table(info, lanes, in_first, ahead, inter, fused, halves, engine))
    n = n_ifft(info, lanes)
    skew = layer_skew(info, lanes)
    return HardwareConfig(
        lanes,
        cell_lanes(info, lanes),  # the design's (with the IFFTs it was chosen for), not a re-derivation
        len(words),
        xbuf_depth(info, in_first, ahead, inter, fused, engine),
        files,
        jobs,
        n,
        skew,
        ahead,
        inter,
        fused,
        halves,
        gate_forward(info, lanes),
        engine,
        dsp_pack.real_bins(k, lanes),
        dsp_pack_lanes,
    )
