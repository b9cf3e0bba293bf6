"""Where the clocks of a time step go: an event-level timing model of ``rtl/ernn_top.v``'s schedule.

:func:`ernn.export.schedule.cycle_model`'s *ideal* (ceil(MACs / P) + pipeline depth) is a floor. What a
step really takes also depends on resources that move one thing per clock and on the order of the jobs;
:func:`step_timing` follows every block of a few time steps through them and returns the steady-state
spacing of the last layer's outputs, with the per-step load of the PE, the IFFT and the cell
(docs/accelerator.md, "Where the cycles go"):

* **loads**: a job's input blocks enter the PE's FFT one per clock, each when its producer has written
  it (x_t: the frame or the layer below's h_t; h_{t-1}; m_t for a projection), in the clock the model
  counts as its write (rtl/ernn_state_mem.v's ``FORWARD``: its progress includes the write under way
  and its h and m read write-first; with the layers pipelined rtl/ernn_cmd.v's ``FORWARD`` compares the
  write ports instead), and no earlier than one clock after the job's command (rtl/ernn_cmd.v
  ``EARLY_LOAD`` requests block 0 in the command's clock through its registered read, and its FIFO
  passes a block on when empty; the job that opens a pipelined slot requests from the clock after);
* **MAC rounds**: a job's rows x (k/2 + 1) units go to the P lanes in rounds; a round reads the q input
  slots one per clock, slot j only after it was written, and it ends no earlier than the round before
  (of this job or the job before) plus the clocks the gearbox takes to hand that round's rows on
  (ceil(its units / (k/2 + 1) / iffts)): the PE's MAC pipeline stalls until a finished round can land;
  with ``split`` (``ERNN_SPLIT``) a job's last round of at most ``jobs.split_lane`` units reads slots j
  and ceil(q/2) + j together and takes ceil(q/2) clocks, and every round one clock more (the split sums);
* **IFFT**: ``iffts`` row blocks per clock (``ERNN_N_IFFT`` IFFTs side by side, rtl/ernn_pe.v), in job
  and row order, a group never crossing a job;
* **cell**: a hidden block starts when all its gate rows are in the gate buffer (LSTM i, f, g, o of the
  gate job; GRU r, z of the rz job, in and hn of the next two jobs) and the previous block has left,
  and takes k / CELL_LANES beats;
* jobs are issued in table order, one at a time (a job's command waits until the previous job's MACs are
  issued), except that a loading job whose slots the job before does not read is taken while that job
  still issues, once its loads have all entered the FFT (load ahead, rtl/ernn_pe.v; only with the slots
  in two banks, ``load_ahead``, as ernn_ctrl enables it): its loads then run under the previous job's
  rounds and its MACs start a clock after the previous job's last.

The fixed latencies come from the RTL headers (FFT and IFFT 2 log2 k - 2 clocks, the lanes' registers
and the rounding, docs/pe.md "Latency"; the cells' ``CELL_LATENCY``). The controller's hand-off clocks
(``HANDOFF``) are not derived from the RTL: they were set, a clock at a time, so that the model meets the
measured shapes (docs/accelerator.md), and ``bench/bench_cycles.py`` reports its error on shapes it has
not seen. It is a model, not the RTL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ernn.shape import ModelShape

from .jobs import CELL_LATENCY, all_jobs, interleavable, issue_order, split_round

#: hand-off clocks of the controller (set against measurements, see the module docstring):
#: the command to its first block's memory read (0: requested with the command, ernn_cmd EARLY_LOAD; the
#: 4-entry FIFO in front of the PE passes a block through when it is empty), a written block to the FFT
#: (0: the loads are forwarded from the writers, in order and pipelined alike), the PE command, the gate
#: buffer to the feeder (1: the block read in the clock it is completed, ernn_gate_buf FORWARD),
#: the cell writer to the state memory, the projection's R12 writer
HANDOFF = {"load": 0, "written": 0, "command": 1, "feeder": 1, "writer": 1, "proj_writer": 2}
#: rtl/ernn_pe.v ``MREG`` (its default, 1): every multiplier's outputs registered, one clock more in each
#: multiply stage of the FFT and the IFFT (stages 3..log2 k) and in the MAC lanes
MREG = 1
#: steps followed; the spacing of the last two is the steady state (the schedule does not depend on data)
STEPS = 8


@dataclass(frozen=True)
class StepTiming:
    """Steady-state clocks per step (``cycles``) and what bounds it."""

    cycles: int
    pe_busy: int  # clocks per step the MAC issue keeps the PE's command slot busy
    ifft_rows: int  # row blocks per step through the one IFFT
    cell_beats: int  # cell-unit beats per step (blocks x k / CELL_LANES)


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def step_timing(
    info: ModelShape,
    lanes: int,
    cell_lanes: int,
    *,
    iffts: int = 1,
    layer_skew: bool = False,
    in_first: bool = False,
    load_ahead: bool = False,
    interleave: bool = False,
    gru_fused: bool = False,
    split: bool = False,
    gate_forward: bool = True,
    proj_engine: bool = False,
) -> StepTiming:
    """Clocks per time step of ``info`` on P = ``lanes``, ``cell_lanes`` cell lanes and ``iffts`` IFFTs
    side by side (``ERNN_N_IFFT``; see the module doc).

    ``layer_skew``: the stages issued as layer l of step t - l in the slot of step t (the layers pipelined
    across time steps, ``ERNN_LAYER_SKEW`` = 1, rtl/ernn_cmd.v) instead of in order; the exporter takes it
    where this says the step gets faster (``schedule.layer_skew``). ``in_first``: a GRU stage's jobs in
    the order in, rz, hn (:func:`ernn.export.jobs.stage_jobs`). ``load_ahead``: the jobs' spectrum slots
    in two banks (:func:`ernn.export.jobs.place_apart`), so that the PE loads a job while the one before
    still issues. ``interleave`` (with ``layer_skew``, an LSTM with a projection): a slot issues every
    layer's gate job, then every layer's projection (:func:`ernn.export.jobs.issue_order`), so that each
    layer's gate -> cell -> projection chain runs under the other layers' gate jobs. ``gru_fused``: a
    GRU stage as one job of r, z, W_in x, W_hn h rows per block (:func:`ernn.export.jobs.stage_jobs`).
    ``split``: last rounds split over two lane groups (``ERNN_SPLIT``, :func:`ernn.export.schedule.split`).
    ``gate_forward``: the feeder reads a gate-buffer block in the clock it is completed
    (``ERNN_GATE_FORWARD``, :func:`ernn.export.schedule.gate_forward`); without it a clock later.
    ``proj_engine`` (an LSTM with a projection): no projection jobs; the projection engine
    (``ERNN_PROJ_ENGINE``, rtl/ernn_proj_pe.v) writes a layer's h blocks one a clock from
    :func:`proj_engine_latency` clocks after the cell writer's last m block, a layer's blocks after the
    layer's before it (its IFFT takes one block a clock).
    """
    if interleave and proj_engine:
        raise ValueError("interleave orders projection jobs; with proj_engine there are none")
    if interleave and not interleavable(info, layer_skew):
        raise ValueError("interleave needs an LSTM with a projection, two or more layers and layer_skew")
    k = info.block_size
    bins = k // 2 + 1
    lk = int(math.log2(k))
    fft_lat = 2 * lk - 2 + MREG * (lk - 2)
    ifft_lat = 2 * lk - 2 + MREG * (lk - 2)
    p = _cdiv(info.hidden_size, k)
    qh = _cdiv(info.output_size, k)
    beats = k // cell_lanes
    # clocks the gearbox needs to hand a full round of P units on to the IFFTs, ``iffts`` row blocks a clock
    drain = _cdiv(_cdiv(lanes, bins), iffts)
    if gru_fused and info.cell != "gru":
        raise ValueError("gru_fused is a GRU stage's job form")
    jobs = all_jobs(info, in_first, load_ahead, interleave, gru_fused, proj_engine)
    engine_lat = proj_engine_latency(k)
    engine_free = 0  # next clock the projection engine's IFFT takes a block
    # ernn_ctrl lets the PE load ahead only when some loading job's slots were moved off slot 0
    load_ahead = any(job.load_count and job.read_base for job in jobs)
    # producer times: (layer, step) -> per block the clock its h (or m) block is written
    h_done: dict[tuple[int, int], list[int]] = {}
    m_done: dict[tuple[int, int], list[int]] = {}
    pe_free = 0  # the PE takes the next command
    load_free = 0  # next clock a block can enter the FFT
    ifft_free = 0  # next clock the IFFT takes a row block
    cell_free = 0  # next clock the cell unit takes a block
    buf_free = [0] * p  # per gate-buffer block: the clock the feeder has read its last stage's rows
    slot_written: dict[int, int] = {}  # spectrum slot -> the clock its block was written (kept across jobs)
    job_before = None  # the job before (its slots decide whether the next one may load ahead)
    prev_start = 0  # the clock the job before was taken
    loads_in = 0  # the clock the latest loads' last block (of any job) entered the FFT
    gb_end, gb_drain = 0, 0  # the latest round's last MAC issue and the clocks its rows take to leave
    # pipelined, the last L - 1 slots drain (layer 0 idle) and their outputs come faster than the steady
    # state: frames run on past the STEPS whose output spacing is measured
    frames = STEPS + (info.num_layers - 1 if layer_skew else 0)
    # the stage's last job before any projection feeds the cell
    cell_job = {
        layer: [j for j in jobs if j.layer == layer and j.kind != "proj"][-1]
        for layer in range(info.num_layers)
    }
    for slot in range(frames + info.num_layers):
        steps = {layer: slot - layer if layer_skew else slot for layer in range(info.num_layers)}
        # the slot's jobs in issue order: stage by stage, or interleaved (gate jobs, then projections)
        issued = [j for j in issue_order(jobs, interleave) if 0 <= steps[j.layer] < frames]
        rows_by_stage: dict[int, dict[str, list[int]]] = {layer: {} for layer in steps}
        for job in issued:
            layer, t = job.layer, steps[job.layer]
            rows_out = rows_by_stage[layer]
            start = pe_free + HANDOFF["command"]
            mac_start = start
            apart = job_before is not None and (
                job.read_base + job.load_count <= job_before.read_base
                or job_before.read_base + job_before.read_count <= job.read_base
            )
            if load_ahead and job.load_count and apart:
                # load ahead: taken while the job before still issues, once the loads before have
                # entered the FFT (those still in it are written behind, to their own slots)
                ahead = max(prev_start + HANDOFF["command"], loads_in + 1)
                if ahead <= pe_free:
                    start, mac_start = ahead, pe_free + 1
            job_before, prev_start = job, start
            # loads: x_t first, then h_{t-1} (gate job); m_t (projection); none (GRU in, hn). Block 0
            # is requested with the command (rtl/ernn_cmd.v EARLY_LOAD), except by the job that opens
            # a pipelined slot (its step is shifted in at that command): one clock later
            opening = 1 if layer_skew and job is issued[0] and job.layer == 0 else 0
            if job.load_count:
                for b in range(job.load_count):
                    if job.kind == "proj":
                        avail = m_done[(layer, t)][b]
                    elif b < job.x_blocks:
                        avail = 0 if layer == 0 else h_done[(layer - 1, t)][b]
                    else:
                        prev = h_done.get((layer, t - 1))
                        avail = 0 if prev is None else prev[b - job.x_blocks]
                    # rtl/ernn_cmd.v requests block 0 with the command (EARLY_LOAD; HANDOFF "load"
                    # 0, the opening job of a pipelined slot a clock later), the rest from its load
                    # state, each through the registered read to the PE
                    # the block written (avail) is requested in its write clock and read write-first
                    # (ernn_state_mem FORWARD; pipelined layers: ernn_cmd FORWARD's write-port compares)
                    at = max(start + 1 + HANDOFF["load"] + opening, load_free, avail + HANDOFF["written"])
                    load_free = at + 1
                    slot_written[job.read_base + b] = at + 1 + fft_lat
                loads_in = load_free - 1
            read = [slot_written[job.read_base + j] for j in range(job.read_count)]
            rounds = _cdiv(job.rows * bins, lanes)
            q = job.read_count
            # a last round of at most half the lanes' units split over two lane groups (``split``):
            # each group sums half of the q slots, ceil(q / 2) clocks
            halves = split and split_round(job.rows * bins, lanes, bins)
            clock = mac_start
            round_done: list[int] = []
            ready = max(read)
            for r in range(rounds):
                first = clock
                last_split = halves and r == rounds - 1
                qr = _cdiv(q, 2) if last_split else q
                if first >= ready:
                    clock = first + qr
                else:
                    for j in range(qr):
                        need = read[j] if not last_split or j + qr >= q else max(read[j], read[j + qr])
                        clock = max(clock + 1, need + 1)
                # the gearbox takes a round when the round before (of this job or the one before) has
                # handed its rows on; until then the MAC pipeline stalls
                clock = max(clock, gb_end + gb_drain)
                gb_end = clock
                gb_drain = _cdiv(_cdiv(min(lanes, job.rows * bins - r * lanes), bins), iffts)
                # lane registers, accumulate, rounding (and with ``split`` the groups' sum)
                round_done.append(clock + 4 + MREG + (1 if split else 0))
            pe_free = clock
            # row blocks leave the gearbox when their last unit's round is done, one per clock
            times = []
            for r in range(job.rows):
                ready = round_done[((r + 1) * bins - 1) // lanes] + 1
                at = max(ready, ifft_free)
                ifft_free = at + 1 if (r + 1) % iffts == 0 else at
                written = at + 1 + ifft_lat + 1
                if job.kind != "proj" and buf_free[r // job.gates] > written:
                    # the gate buffer still holds this block for the cell: the row waits, and
                    # the IFFTs behind it
                    written = buf_free[r // job.gates]
                    ifft_free = max(ifft_free, written - ifft_lat - 1)
                times.append(written)
            rows_out[job.kind] = times
            if job.kind == "proj":
                h_done[(layer, t)] = [x + HANDOFF["proj_writer"] for x in times[:qh]]
            elif job is cell_job[layer]:
                feeder = HANDOFF["feeder"] + (0 if gate_forward else 1)
                cell_free, done = _cell(info, rows_out, p, beats, cell_free, buf_free, feeder)
                if info.proj_size and proj_engine:
                    # the engine's sums are complete with the last m block; its h blocks leave one a
                    # clock through its IFFT, after any layer's still in it
                    first = max(done[-1] + engine_lat, engine_free)
                    engine_free = first + qh
                    h_done[(layer, t)] = [first + b for b in range(qh)]
                elif info.proj_size:
                    m_done[(layer, t)] = done
                else:
                    h_done[(layer, t)] = done[:qh]
    out_done = [max(h_done[(info.num_layers - 1, t)]) for t in range(STEPS)]
    cycles = out_done[-1] - out_done[-2]
    issue = sum(_pe_issue(j, bins, lanes, drain, split) for j in jobs)
    return StepTiming(
        cycles=cycles,
        pe_busy=issue,
        ifft_rows=sum(j.rows for j in jobs),
        cell_beats=info.num_layers * p * beats,
    )


def proj_engine_latency(k: int) -> int:
    """Clocks from the cell writer's write of a layer's last m block to the projection engine's write of
    h block 0 (rtl/ernn_proj_pe.v): its FFT, the multipliers' register (``MREG``), the latch, the
    rounding register in front of the IFFT, and the IFFT (7 at k = 4)."""
    lk = int(math.log2(k))
    transform = 2 * lk - 2 + MREG * (lk - 2)
    return transform + MREG + 2 + transform


def _pe_issue(job, bins: int, lanes: int, drain: int, split: bool) -> int:
    """Clocks a job holds the PE's MAC issue once its slots are written: per round max(q, drain), a
    split last round ceil(q / 2) (``split``)."""
    rounds = _cdiv(job.rows * bins, lanes)
    q = job.read_count
    if split and split_round(job.rows * bins, lanes, bins):
        return (rounds - 1) * max(q, drain) + max(_cdiv(q, 2), drain)
    return rounds * max(q, drain)


def _cell(
    info: ModelShape,
    rows_out: dict[str, list[int]],
    p: int,
    beats: int,
    cell_free: int,
    buf_free: list[int],
    feeder: int,
) -> tuple[int, list[int]]:
    """Cell unit: block i when all its gate rows are in the gate buffer and the previous block has left
    (k / CELL_LANES beats each), ``feeder`` clocks after its last row is written; the feeder's read frees
    gate-buffer block i (``buf_free``, updated).
    Returns the next free clock and the clock each block's output is written."""
    fused = "in" not in rows_out  # a GRU stage as one job: its four rows per block
    gates = 4 if info.cell == "lstm" or fused else 2
    done = []
    for i in range(p):
        need = max(rows_out["gate"][gates * i : gates * (i + 1)])
        if info.cell == "gru" and not fused:
            need = max(need, rows_out["in"][i], rows_out["hn"][i])
        at = max(need + feeder, cell_free)
        buf_free[i] = at
        cell_free = at + beats
        done.append(at + beats - 1 + CELL_LATENCY[info.cell] + HANDOFF["writer"])
    return cell_free, done
