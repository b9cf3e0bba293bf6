"""The PE jobs of one time step (docs/accelerator.md, "How a time step runs"): what the schedule
(:mod:`ernn.export.schedule`) turns into the job table and the timing model (:mod:`ernn.export.timing`)
follows through the hardware. One module below both, so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ernn.shape import ModelShape

#: Pipeline depth of the cell units (rtl/ernn_lstm_cell.v, rtl/ernn_gru_cell.v).
CELL_LATENCY = {"lstm": 16, "gru": 15}


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def split_lane(lanes: int, bins: int) -> int:
    """rtl/ernn_pe.v SPLIT's first lane of the second lane group: the largest multiple of 2 (k/2 + 1) at or
    below P / 2 (0: P < 4 (k/2 + 1), no split). A job's last round of at most this many units runs on
    both groups, each summing half of the job's input blocks (:meth:`Job.words`)."""
    return (lanes // 2) // (2 * bins) * (2 * bins)


def split_round(units: int, lanes: int, bins: int) -> bool:
    """Whether a job of ``units`` (row block, bin) units ends in a split round on P = ``lanes`` (with
    ``ERNN_SPLIT``): its last round holds at most :func:`split_lane` units."""
    last = units - (_cdiv(units, lanes) - 1) * lanes
    return 0 < units and last <= split_lane(lanes, bins)


@dataclass(frozen=True)
class Job:
    """One PE job of a stage: its kind, row blocks, input blocks (spectrum slots read) and blocks loaded.

    ``x_blocks``: of the ``load_count`` blocks loaded, the first ``x_blocks`` are x_t (the input frame, or
    the layer below's h_t), the rest h_{t-1} of this layer (a projection loads m_t instead). ``gates``: row
    blocks per output block (the gate job's rows are (block, gate) pairs; every other job has one row per
    block).
    """

    layer: int
    kind: str  # "gate", "proj", "in", "hn"
    rows: int
    read_base: int
    read_count: int
    load_count: int
    x_blocks: int = 0
    gates: int = 1

    def words(self, bins: int, lanes: int, split: bool = False) -> int:
        """Weight-memory words = MAC issue cycles of the job: rounds of P units, one word per input block;
        with ``split`` (``ERNN_SPLIT``) a last round of at most :func:`split_lane` units takes
        ceil(q / 2) words (:func:`split_round`)."""
        units = self.rows * bins
        rounds = _cdiv(units, lanes)
        if split and split_round(units, lanes, bins):
            return (rounds - 1) * self.read_count + _cdiv(self.read_count, 2)
        return rounds * self.read_count

    def complex_macs(self, bins: int) -> int:
        return self.rows * self.read_count * bins

    @property
    def blocks(self) -> int:
        """Output blocks: the row blocks of one output block leave the PE together."""
        return self.rows // self.gates


def stage_jobs(
    info: ModelShape, layer: int, in_first: bool = False, gru_fused: bool = False, proj_engine: bool = False
) -> list[Job]:
    """The PE jobs of one layer's time step, in issue order (see the module docstring).

    ``in_first`` (GRU only): the stage's jobs in the order in, rz, hn. The in job (W_in x) needs no
    h_{t-1}, so issued first it runs while the PE waits for the previous step's cell, and leaves the
    recurrence loop; it loads x_t itself (slots 0..q_x-1) and the rz job loads x_t again with h_{t-1}
    (a loading job reads exactly the slots it loads, from its read_base), so x_t costs q_x more FFT
    loads per stage. The hn rows stay last,
    so every block is complete at its hn row as before (docs/accelerator.md).

    ``gru_fused`` (GRU only): the stage is one job of 4 p rows, (block, gate) with the gates r, z, W_in x,
    W_hn h, over x_t and h_{t-1} like the rz job; the W_in x rows carry zero weights against h_{t-1}'s
    slots and the W_hn h rows against x_t's (zero products change no sum: bit-exact). A third more MACs,
    but a block's four rows leave the PE together, as an LSTM's do, so the cell starts on block 0 while
    the PE still works, where the three jobs hold every block until the hn job's rows
    (:func:`ernn.export.schedule.gru_fused`).

    ``proj_engine`` (an LSTM with a projection): no projection job; the projection engine beside the PE
    (``ERNN_PROJ_ENGINE``, rtl/ernn_proj_pe.v) computes it on the cell writer's m blocks
    (:func:`ernn.export.schedule.proj_engine`)."""
    k = info.block_size
    p = _cdiv(info.hidden_size, k)
    qh = _cdiv(info.output_size, k)
    qx = _cdiv(info.input_size if layer == 0 else info.output_size, k)
    if info.cell == "lstm":
        jobs = [Job(layer, "gate", 4 * p, 0, qx + qh, qx + qh, qx, 4)]
        if info.proj_size and not proj_engine:
            jobs.append(Job(layer, "proj", _cdiv(info.proj_size, k), 0, p, p))
        return jobs
    if gru_fused:
        return [Job(layer, "gate", 4 * p, 0, qx + qh, qx + qh, qx, 4)]
    gate = Job(layer, "gate", 2 * p, 0, qx + qh, qx + qh, qx, 2)
    hn = Job(layer, "hn", p, qx, qh, 0)
    if in_first:
        return [Job(layer, "in", p, 0, qx, qx, qx), gate, hn]
    return [gate, Job(layer, "in", p, 0, qx, 0), hn]


def all_jobs(
    info: ModelShape,
    in_first: bool = False,
    load_ahead: bool = False,
    interleave: bool = False,
    gru_fused: bool = False,
    proj_engine: bool = False,
) -> list[Job]:
    """The PE jobs of one time step, in table order: layer 0's stage, then layer 1's, ... (``in_first``,
    ``gru_fused``, ``proj_engine``: see :func:`stage_jobs`; ``load_ahead``: see :func:`place_apart`, the
    banks alternating in the order :func:`issue_order` issues the jobs with ``interleave``)."""
    if proj_engine and not (info.cell == "lstm" and info.proj_size):
        raise ValueError("proj_engine is the projection of an LSTM with proj_size > 0")
    jobs = [
        job
        for layer in range(info.num_layers)
        for job in stage_jobs(info, layer, in_first, gru_fused, proj_engine)
    ]
    return place_apart(jobs, interleave) if load_ahead else jobs


def interleavable(info: ModelShape, layer_skew: bool) -> bool:
    """Whether a slot's stages can be interleaved (:func:`issue_order`): an LSTM with a projection (every
    stage a gate job then a projection), two or more layers, pipelined across steps (``layer_skew``: the
    stages of a slot do not feed each other, rtl/ernn_cmd.v)."""
    return info.cell == "lstm" and bool(info.proj_size) and info.num_layers > 1 and layer_skew


def issue_order(jobs: list[Job], interleave: bool = False) -> list[Job]:
    """The order in which the command side issues one slot's jobs (``jobs`` in table order): the table's,
    or with ``interleave`` every layer's gate job, then every layer's projection (``ERNN_INTERLEAVE``,
    rtl/ernn_cmd.v). A projection waits for its layer's gate rows through the IFFT, the cell and its own
    FFT; issued after the other layers' gate jobs, that chain runs under their MACs instead of holding
    the PE (docs/accelerator.md, "Stages interleaved")."""
    if not interleave:
        return list(jobs)
    return [j for j in jobs if j.kind != "proj"] + [j for j in jobs if j.kind == "proj"]


def place_apart(jobs: list[Job], interleave: bool = False) -> list[Job]:
    """The jobs with their spectrum slots in two banks, so that consecutive loading jobs never share one.

    A loading job reads exactly the slots it loads (from its ``read_base``); a job that loads nothing
    (a GRU's in or hn job issued after the rz job) reads slots of the loading job before it. The loading
    jobs alternate between bank 0 (slots from 0) and bank 1 (slots from the end of bank 0), each job
    without loads following the bank of the loading job before it. ``rtl/ernn_pe.v`` then takes a loading
    job's command while the job before still issues its MACs (its loads never touch the slots that job
    reads), so the next job's input blocks go through the FFT under the current job's rounds instead of
    after them (load ahead; the PE compares the slot ranges itself, so a pair that does share slots just
    waits). With an odd number of loading jobs per step the last and the first of the next step share
    bank 0 and that one hand-over waits. The banks alternate in the order the jobs are issued
    (:func:`issue_order`, ``interleave``); the list comes back in table order.
    """
    bank, bank_of = 0, {}
    loading = 0
    for job in issue_order(jobs, interleave):
        if job.load_count:
            bank = loading % 2
            loading += 1
        bank_of[id(job)] = bank
    if loading < 2:
        return list(jobs)
    offset = max(job.read_base + job.read_count for job in jobs if bank_of[id(job)] == 0)
    return [replace(job, read_base=job.read_base + offset * bank_of[id(job)]) for job in jobs]


def spectrum_slots(jobs: list[Job]) -> int:
    """Spectrum-buffer slots the PE needs for ``jobs``: the end of the highest slot range any job reads."""
    return max(job.read_base + job.read_count for job in jobs)
