"""Hardware layout of an exported model: the memory images of ``rtl/ernn_top.v`` and its cycle model.

The accelerator (docs/accelerator.md) runs every layer of every time step as one *stage* of PE jobs on one
circulant PE with P complex-MAC lanes (``rtl/ernn_pe.v``), followed by the element-wise cell unit:

==========  ============================  =========================  ================================
cell        job                           rows (row blocks)          input blocks (spectrum slots)
==========  ============================  =========================  ================================
LSTM        gate: W_ih x + W_hh h         4 p, order (block, gate)   q_x + q_h (x then h)
LSTM        proj (``proj_size`` > 0)      p_r                        p (m = o tanh c)
GRU         rz: W_i{r,z} x + W_h{r,z} h   2 p, order (block, gate)   q_x + q_h
GRU         in: W_in x                    p                          q_x (slots 0..q_x-1)
GRU         hn: W_hn h                    p                          q_h (slots q_x..)
==========  ============================  =========================  ================================

p = ceil(H / k), p_r = ceil(proj / k), q_x = ceil(n_l / k), q_h = ceil(out / k). Rows are interleaved per
hidden block (i, f, g, o of block 0, then of block 1, ...) so that a block's gates leave the PE together and
the cell unit can start on it while the PE works on the next blocks.

Memory images written next to the exporter's files (``mem/``):

* ``pe_weights.mem`` — the PE's weight memory: the jobs above for layer 0, 1, ... back to back; each job
  region is :func:`pe_job_words` of its stacked spectra (the PE's layout, docs/pe.md: units (row block,
  bin) dealt to the P lanes in rounds of P, one word of P complex ``{im, re}`` Q(weight_spectrum) values per
  round and input block);
* ``cell_bias.mem`` — one word per (layer, hidden block): merged biases (slot, unit) at bits
  ``(slot * k + unit) * bias.word``, slots LSTM i, f, g, o; GRU r, z, in, hn (= b_ir + b_hr, b_iz + b_hz,
  b_in, b_hn); padding units 0;
* ``cell_peephole.mem`` (LSTM with peepholes) — one word per (layer, hidden block): (i, f, o, unit) at
  ``(gate * k + unit) * peephole.word``.

:func:`cycle_model` gives the ideal cycles per time step, ceil(complex MACs / P) plus the pipeline depth
(one block through FFT, MACs, IFFT and the cell), and the PE's own round schedule; ``bench/bench_top.py`` compares the simulated
steady state with it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ernn.golden.network import GoldenNetwork, ModelInfo

#: Latency of a PE job beyond its MAC issue (rtl/ernn_pe.v header, docs/pe.md): command -> first block 1,
#: FFT 2 log2 k - 2, lane registers 3, rounding 1, gearbox 1, IFFT input 1, IFFT 2 log2 k - 2, output 1.
PE_FIXED_LATENCY = 4
#: Pipeline depth of the cell units (rtl/ernn_lstm_cell.v, rtl/ernn_gru_cell.v).
CELL_LATENCY = {"lstm": 16, "gru": 15}
#: The largest default P (MAC lanes): 3 multipliers each, 192 DSP slices for the MAC array.
MAX_DEFAULT_LANES = 64

FILES = {"weights": "pe_weights.mem", "bias": "cell_bias.mem", "peephole": "cell_peephole.mem"}


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Job:
    """One PE job of a stage: its kind, row blocks, input blocks (spectrum slots read) and blocks loaded."""

    layer: int
    kind: str  # "gate", "proj", "in", "hn"
    rows: int
    read_base: int
    read_count: int
    load_count: int

    def words(self, bins: int, lanes: int) -> int:
        """Weight-memory words = MAC issue cycles of the job: rounds of P units, one word per input block."""
        return _cdiv(self.rows * bins, lanes) * self.read_count

    def complex_macs(self, bins: int) -> int:
        return self.rows * self.read_count * bins


def stage_jobs(info: ModelInfo, layer: int) -> list[Job]:
    """The PE jobs of one layer's time step, in issue order (see the module docstring)."""
    k = info.block_size
    p = _cdiv(info.hidden_size, k)
    qh = _cdiv(info.output_size, k)
    qx = _cdiv(info.input_size if layer == 0 else info.output_size, k)
    if info.cell == "lstm":
        jobs = [Job(layer, "gate", 4 * p, 0, qx + qh, qx + qh)]
        if info.proj_size:
            jobs.append(Job(layer, "proj", _cdiv(info.proj_size, k), 0, p, p))
        return jobs
    return [
        Job(layer, "gate", 2 * p, 0, qx + qh, qx + qh),
        Job(layer, "in", p, 0, qx, 0),
        Job(layer, "hn", p, qx, qh, 0),
    ]


def all_jobs(info: ModelInfo) -> list[Job]:
    return [job for layer in range(info.num_layers) for job in stage_jobs(info, layer)]


def xbuf_depth(info: ModelInfo) -> int:
    """Spectrum-buffer slots the PE needs: the most input blocks of any job (= numerics' max_blocks)."""
    return max(job.read_count for job in all_jobs(info))


def default_cell_lanes(k: int) -> int:
    """Hidden units per cell-unit beat: k / 4, so that the cell keeps pace with the PE's peak output of
    one row block per clock (four row blocks, i.e. the four gate slots, per hidden block)."""
    return max(1, k // 4)


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


def pe_job_words(w_re: np.ndarray, w_im: np.ndarray, lanes: int, word: int) -> list[int]:
    """PE weight-memory words of one job (docs/pe.md): spectra (rows, q, bins) of its stacked row blocks.

    Unit u = r * bins + m (row block r, bin m) goes to lane u mod P in round u // P; word t * q + j holds,
    for every lane, the weight of its unit in round t against input block j: ``{im, re}`` at bits
    ``[2 l word +: 2 word]`` (zero past the last unit).
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
    return _pack(fields.reshape(rounds * q, lanes * 2), word)


def _interleave(re: np.ndarray, im: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(G, p, q, bins) -> (p * G, q, bins): row block (hidden block i, gate g) at i * G + g."""
    g, p, q, b = re.shape
    return (
        re.transpose(1, 0, 2, 3).reshape(p * g, q, b),
        im.transpose(1, 0, 2, 3).reshape(p * g, q, b),
    )


def job_spectra(params: dict[str, Any], layer: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The stacked weight spectra (rows, q, bins) of one job, from ``GoldenNetwork.quantized_params()``."""
    lp = params["layers"][layer]
    ih, hh = lp["w_ih"], lp["w_hh"]
    if kind == "proj":
        return lp["w_hr"]["re"][0], lp["w_hr"]["im"][0]
    if kind == "in":
        return ih["re"][2], ih["im"][2]
    if kind == "hn":
        return hh["re"][2], hh["im"][2]
    gates = 4 if params["cell"] == "lstm" else 2
    re = np.concatenate((ih["re"][:gates], hh["re"][:gates]), axis=2)
    im = np.concatenate((ih["im"][:gates], hh["im"][:gates]), axis=2)
    return _interleave(re, im)


def pe_weight_image(params: dict[str, Any], info: ModelInfo, lanes: int, word: int) -> list[int]:
    """The whole PE weight memory: every job of every layer in issue order."""
    words: list[int] = []
    for job in all_jobs(info):
        re, im = job_spectra(params, job.layer, job.kind)
        assert re.shape[:2] == (job.rows, job.read_count), (job, re.shape)
        words += pe_job_words(re, im, lanes, word)
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

    def header_lines(self) -> list[str]:
        return [
            f"localparam integer ERNN_LANES = {self.lanes};  // PE complex MAC lanes (export --lanes)",
            f"localparam integer ERNN_CELL_LANES = {self.cell_lanes};  // hidden units per cell-unit beat",
            f"localparam integer ERNN_W_DEPTH = {self.w_depth};  // words of mem/{self.files['weights']}",
            f"localparam integer ERNN_XBUF_DEPTH = {self.xbuf_depth};  // PE spectrum-buffer slots",
        ]


def write_memories(net: GoldenNetwork, mem_dir: Path, lanes: int) -> HardwareConfig:
    """Write ``pe_weights.mem``, ``cell_bias.mem`` (and ``cell_peephole.mem``) for P = ``lanes``."""
    check_lanes(lanes)
    info, cfg = net.info, net.numerics
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
    return HardwareConfig(lanes, default_cell_lanes(k), len(words), xbuf_depth(info), files)


def check_lanes(lanes: int) -> int:
    if isinstance(lanes, bool) or not isinstance(lanes, int | np.integer) or not 1 <= lanes <= 4096:
        raise ValueError(f"lanes (P, complex MAC lanes) must be an integer in [1, 4096], got {lanes!r}")
    return int(lanes)


# ------------------------------------------------------------------------------------------------------
# cycle model
def pe_latency(k: int) -> int:
    """The PE's pipeline depth, 4 log2 k + 4 clocks (k = 8: 16, k = 16: 20; docs/pe.md "Latency")."""
    return 4 * int(math.log2(k)) + PE_FIXED_LATENCY


@dataclass(frozen=True)
class CycleModel:
    """Cycles per time step of a model on P lanes (see :func:`cycle_model`)."""

    lanes: int
    complex_macs: int  # per time step, all layers and jobs (bins 0..k/2)
    mac_cycles: int  # ceil(complex_macs / P)
    pipeline_depth: int  # one block through the datapath: PE, cell (and the projection's PE pass)
    ideal: int  # mac_cycles + pipeline_depth
    pe_issue_cycles: int  # the PE's round schedule: sum over jobs of ceil(rows * bins / P) * q

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def cycle_model(info: ModelInfo, lanes: int) -> CycleModel:
    """Ideal cycles per time step = ceil(complex MACs / P) + pipeline depth.

    Complex MACs count every (row block, input block, bin) product of every job of every layer (bins
    0..k/2, the real FFT's k/2 + 1 bins). The pipeline depth is the latency of one block through the
    datapath, which a recurrent step cannot hide: FFT -> MAC -> IFFT (:func:`pe_latency`), the cell's
    pipeline, and with a projection one more PE pass. (The same chain recurs per layer, but most of it
    overlaps the next job's MACs on the early blocks; the ideal counts it once.) ``pe_issue_cycles`` is
    what the PE's scheduling (rounds of P units per job) needs for the MACs; it exceeds ``mac_cycles``
    when P does not divide a job's rows * (k/2 + 1).
    """
    check_lanes(lanes)
    k = info.block_size
    bins = k // 2 + 1
    jobs = all_jobs(info)
    macs = sum(job.complex_macs(bins) for job in jobs)
    issue = sum(job.words(bins, lanes) for job in jobs)
    depth = pe_latency(k) + CELL_LATENCY[info.cell] + (pe_latency(k) if info.proj_size else 0)
    mac_cycles = _cdiv(macs, lanes)
    return CycleModel(lanes, macs, mac_cycles, depth, mac_cycles + depth, issue)


def default_lanes(info: ModelInfo) -> int:
    """Default P: the smallest power of two whose MAC time fits in the pipeline depth, at most 64.

    Below that P the MACs dominate a time step; above it the recurrence latency (matvec -> cell -> next
    matvec), which no number of lanes shortens, does, and each doubling of the DSP count buys less than
    1.5x. The cap keeps the MAC array (3 multipliers per lane) within small and mid-size FPGAs.
    """
    model = cycle_model(info, 1)
    lanes = 1
    while lanes < MAX_DEFAULT_LANES and _cdiv(model.complex_macs, lanes) > model.pipeline_depth:
        lanes *= 2
    return lanes
