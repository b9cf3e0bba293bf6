"""Testbench of rtl/ernn_pe.v: every output sample of every job equals ernn.golden.matvec, bit for bit.

One build per (k, P, data bits); each run streams a seeded random plan of jobs through it:

* ``matvec``: load the q blocks of one vector (random length, zero-padded at the end), rows row blocks,
  random weight spectra: full-scale (the accumulators then saturate at the IFFT input, point
  ``ifft_in``) or the quantized spectra of random float circulant vectors;
* ``lstm``: x and h loaded into consecutive slots, the four gates' W_ih and W_hh in one accumulator per
  row block (golden: ``W_ih.mac(X) + W_hh.mac(H)``, as ``QuantizedLayer.step``);
* ``gru``: r and z over x and h, then W_in x and W_hn h kept apart by two more jobs that reuse the
  loaded spectra without reloading (other weight regions);
* ``split load``: x loaded by a load-only job (rows = 0), h by the next job, which computes over both;
* ``ahead``: two matvecs whose slots do not meet, so that the PE takes the second command while the first
  still issues its MACs (load ahead; ``pe_loads_ahead`` checks that it did);
* input vectors: random full-scale, random small, zeros, impulses, alternating signs.

The expected values come from ``input_spectra``, ``Spectra.mac`` and ``output_blocks``; nothing here
computes them. Random gaps on s_cmd and s_axis, random back-pressure on m_axis. A mismatch names the
job, row block and sample, and the seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pytest
from ernn_tbutil import first_divergence, pause_generator, reset_dut, seed_for

from ernn.export.jobs import split_lane
from ernn.golden.formats import NumericsConfig, QFormat, accumulator_word
from ernn.golden.matvec import Spectra, input_spectra, output_blocks, quantize_spectra
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_pe"


@dataclass
class Job:
    """One PE command, its input blocks and weights, and what the golden model expects."""

    kind: str
    load_base: int
    loads: np.ndarray  # (n_load, k) Q(data), the zero-padded input blocks
    read_base: int
    read_count: int
    w_re: np.ndarray  # (rows, read_count, bins) Q(weight_spectrum)
    w_im: np.ndarray
    w_base: int = 0
    # the golden model's products feeding each accumulator: (slot range start, q, weight slice start)
    terms: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return int(self.w_re.shape[0])


def pe_config(k: int, bits: int, xbuf_depth: int, ws_word: int | None = None) -> NumericsConfig:
    """Numerics of a PE test: the defaults for ``bits``, accumulator sized for ``xbuf_depth`` blocks;
    ``ws_word``: narrower weight spectra (same integer bits), as the DSP-packed MAC needs at k >= 8."""
    cfg = NumericsConfig.for_data_bits(bits, k, max_input_blocks=xbuf_depth)
    if ws_word is None:
        return cfg
    ws = QFormat(ws_word, cfg.weight_spectrum.frac - (cfg.weight_spectrum.word - ws_word))
    acc = QFormat(accumulator_word(cfg.fft_out.word, ws_word, xbuf_depth), cfg.fft_out.frac + ws.frac)
    return cfg.replace(weight_spectrum=ws, accumulator=acc)


def _vector(rng: np.random.Generator, cfg: NumericsConfig, cols: int, q: int, style: str) -> np.ndarray:
    """An input vector of ``cols`` features, zero-padded to q blocks: (q, k)."""
    d = cfg.data
    k = cfg.block_size
    if style == "full":
        x = rng.integers(d.min_int, d.max_int, size=cols, endpoint=True)
    elif style == "small":
        x = rng.integers(-(1 << (d.frac - 2)), 1 << (d.frac - 2), size=cols, endpoint=True)
    elif style == "zeros":
        x = np.zeros(cols, dtype=np.int64)
    elif style == "impulse":
        x = np.zeros(cols, dtype=np.int64)
        x[rng.integers(0, cols)] = rng.choice([d.min_int, d.max_int])
    else:  # alternating
        x = np.where(np.arange(cols) % 2 == 0, d.max_int, d.min_int)
    out = np.zeros(q * k, dtype=np.int64)
    out[:cols] = x
    return out.reshape(q, k)


def _weights(
    rng: np.random.Generator, cfg: NumericsConfig, rows: int, q: int, style: str
) -> tuple[np.ndarray, np.ndarray]:
    """Weight spectra (rows, q, bins) in Q(weight_spectrum)."""
    ws = cfg.weight_spectrum
    bins = cfg.bins
    if style == "full":
        return (
            rng.integers(ws.min_int, ws.max_int, size=(rows, q, bins), endpoint=True),
            rng.integers(ws.min_int, ws.max_int, size=(rows, q, bins), endpoint=True),
        )
    # the quantized spectra of random float circulant vectors, as the exporter makes them
    vec = rng.standard_normal((rows, q, cfg.block_size)) * rng.uniform(0.05, 0.5)
    return quantize_spectra(vec, ws)


def plan_jobs(
    cfg: NumericsConfig, xbuf_depth: int, seed: int, n_jobs: int, ahead_only: bool = False
) -> list[Job]:
    """A seeded random job sequence (the same on the pytest and the cocotb side); ``ahead_only``: pairs of
    matvecs on slots apart only."""
    rng = np.random.default_rng(seed)
    k = cfg.block_size
    jobs: list[Job] = []
    styles = ["full", "small", "zeros", "impulse", "alternating"]
    while len(jobs) < n_jobs:
        kind = rng.choice(["matvec", "lstm", "gru", "split", "ahead"], p=[0.35, 0.2, 0.15, 0.15, 0.15])
        if ahead_only:
            kind = "ahead"
        wstyle = str(rng.choice(["full", "float"]))
        xstyle = str(rng.choice(styles, p=[0.5, 0.2, 0.1, 0.1, 0.1]))
        if kind == "ahead":  # slots [0, qa) then [qa, qa + qb): the second job loads while the first reads
            qa = int(rng.integers(1, xbuf_depth))
            qb = int(rng.integers(1, xbuf_depth - qa + 1))
            for base, q in ((0, qa), (qa, qb)):
                rows = int(rng.integers(1, 9))
                wr, wi = _weights(rng, cfg, rows, q, wstyle)
                x = _vector(rng, cfg, int(rng.integers((q - 1) * k + 1, q * k + 1)), q, xstyle)
                jobs.append(Job("ahead", base, x, base, q, wr, wi, terms=[(base, q, 0)]))
        elif kind == "matvec":
            q = int(rng.integers(1, xbuf_depth + 1))
            base = int(rng.integers(0, xbuf_depth - q + 1))
            rows = int(rng.integers(1, 9))
            cols = int(rng.integers((q - 1) * k + 1, q * k + 1))
            wr, wi = _weights(rng, cfg, rows, q, wstyle)
            jobs.append(
                Job("matvec", base, _vector(rng, cfg, cols, q, xstyle), base, q, wr, wi, terms=[(base, q, 0)])
            )
        elif kind in ("lstm", "gru"):
            qx = int(rng.integers(1, xbuf_depth))
            qh = int(rng.integers(1, xbuf_depth - qx + 1))
            p = int(rng.integers(1, 3))
            x = _vector(rng, cfg, int(rng.integers((qx - 1) * k + 1, qx * k + 1)), qx, xstyle)
            h = _vector(rng, cfg, int(rng.integers((qh - 1) * k + 1, qh * k + 1)), qh, "full")
            loads = np.concatenate((x, h))
            gates = 4 if kind == "lstm" else 2
            wr, wi = _weights(rng, cfg, gates * p, qx + qh, wstyle)
            # one accumulator per row block: W_ih x (slots 0..qx-1) + W_hh h (slots qx..)
            jobs.append(Job(kind, 0, loads, 0, qx + qh, wr, wi, terms=[(0, qx, 0), (qx, qh, qx)]))
            if kind == "gru":
                wr, wi = _weights(rng, cfg, p, qx, wstyle)
                jobs.append(Job("gru W_in x", 0, loads[:0], 0, qx, wr, wi, terms=[(0, qx, 0)]))
                wr, wi = _weights(rng, cfg, p, qh, wstyle)
                jobs.append(Job("gru W_hn h", 0, loads[:0], qx, qh, wr, wi, terms=[(qx, qh, 0)]))
        else:  # split load: x by a load-only job, h by the computing job
            qx = int(rng.integers(1, xbuf_depth))
            qh = int(rng.integers(1, xbuf_depth - qx + 1))
            x = _vector(rng, cfg, qx * k, qx, xstyle)
            h = _vector(rng, cfg, qh * k, qh, "full")
            empty = np.zeros((0, qx + qh, cfg.bins), dtype=np.int64)
            jobs.append(Job("load only", 0, x, 0, 0, empty, empty))
            rows = int(rng.integers(1, 5))
            wr, wi = _weights(rng, cfg, rows, qx + qh, wstyle)
            jobs.append(Job("split load", qx, h, 0, qx + qh, wr, wi, terms=[(0, qx + qh, 0)]))
    return jobs[:n_jobs]


def weight_words(job: Job, lanes: int, word: int, split_at: int = 0) -> list[int]:
    """This job's region of the weight memory (``split_at``: the PE's SPLIT_LANE with SPLIT, else 0)."""
    if job.rows == 0:
        return []
    return rtl_runner.pe_weight_words(job.w_re, job.w_im, lanes, word, split_at)


def layout_weights(jobs: list[Job], lanes: int, word: int, split_at: int = 0) -> list[int]:
    """Assign w_base to every job and return the whole weight memory (at least 2 words)."""
    words: list[int] = []
    for job in jobs:
        job.w_base = len(words)
        words += weight_words(job, lanes, word, split_at)
    return words + [0] * max(0, 2 - len(words))


def expected_outputs(jobs: list[Job], cfg: NumericsConfig) -> list[np.ndarray]:
    """Golden model: per job (rows, k) in Q(ifft_out), tracking the spectrum buffer across jobs."""
    k = cfg.block_size
    slots: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    out = []
    for job in jobs:
        if len(job.loads):
            xr, xi = input_spectra(job.loads.reshape(-1), len(job.loads), cfg)
            for b in range(len(job.loads)):
                slots[job.load_base + b] = (xr[b], xi[b])
        if job.rows == 0:
            out.append(np.zeros((0, k), dtype=np.int64))
            continue
        acc_re = acc_im = None
        for start, q, w0 in job.terms:
            xr = np.stack([slots[start + j][0] for j in range(q)])
            xi = np.stack([slots[start + j][1] for j in range(q)])
            spec = Spectra(job.w_re[None, :, w0 : w0 + q], job.w_im[None, :, w0 : w0 + q])
            ar, ai = spec.mac(xr, xi)  # (1, rows, bins)
            acc_re = ar if acc_re is None else acc_re + ar
            acc_im = ai if acc_im is None else acc_im + ai
        assert acc_re is not None and acc_im is not None
        y = output_blocks(acc_re, acc_im, job.rows * k, cfg)  # (1, rows * k), not cropped
        out.append(y.reshape(job.rows, k))
    return out


def pe_params(
    cfg: NumericsConfig, lanes: int, xbuf_depth: int, weights: list[int], rows_w: int = 6
) -> dict[str, object]:
    """Verilog parameters of ernn_pe (twiddle and weight files written here)."""
    k = cfg.block_size
    data_dir = rtl_runner.BUILD_ROOT / "data"
    tw = rtl_runner.memh_file(
        data_dir, f"twiddle-k{k}", rtl_runner.twiddle_words(k, cfg.twiddle), 2 * cfg.twiddle.word
    )
    wf = rtl_runner.memh_file(
        data_dir, f"pe-weights-k{k}-p{lanes}", weights, lanes * 2 * cfg.weight_spectrum.word
    )
    return {
        "K": k,
        "P": lanes,
        "DATA_W": cfg.data.word,
        "DATA_F": cfg.data.frac,
        "FFT_W": cfg.fft_out.word,
        "TW_W": cfg.twiddle.word,
        "TW_F": cfg.twiddle.frac,
        "TW_FILE": tw,
        "WS_W": cfg.weight_spectrum.word,
        "WS_F": cfg.weight_spectrum.frac,
        "ACC_W": cfg.accumulator.word,
        "IFFT_W": cfg.ifft.word,
        "IFFT_F": cfg.ifft.frac,
        "OUT_W": cfg.ifft_out.word,
        "XBUF_DEPTH": xbuf_depth,
        "LOAD_AHEAD": 1,  # the random plans hold pairs on slots apart (and the hazard they must respect)
        "W_DEPTH": max(2, len(weights)),
        "W_FILE": wf,
        "ROWS_W": rows_w,
    }


# ------------------------------------------------------------------------------------------------------
# cocotb side
async def drive_commands(
    dut, jobs: list[Job], rng: np.random.Generator, p_gap: float, accepted_at: list[int]
) -> None:
    """Present one command per job on s_cmd (random idle clocks before each); record the acceptance clock."""
    from cocotb.triggers import ReadOnly, RisingEdge
    from cocotb.utils import get_sim_time

    for job in jobs:
        while rng.random() < p_gap:
            await RisingEdge(dut.clk)
        dut.s_cmd_load_base.value = job.load_base
        dut.s_cmd_load_count.value = len(job.loads)
        dut.s_cmd_read_base.value = job.read_base
        dut.s_cmd_read_count.value = job.read_count
        dut.s_cmd_rows.value = job.rows
        dut.s_cmd_w_base.value = job.w_base
        dut.s_cmd_valid.value = 1
        while True:
            await ReadOnly()
            ready = int(dut.s_cmd_ready.value) == 1
            await RisingEdge(dut.clk)
            if ready:
                break
        accepted_at.append(int(get_sim_time("ns")) // 10)
        dut.s_cmd_valid.value = 0


async def reset_while_a_command_waits(dut, cfg: NumericsConfig, jobs: list[Job], source, sink, rng) -> None:
    """Start ``jobs`` (no gaps) until the PE holds a command taken ahead (``pend_valid_reg``), then reset it
    0 to 2 clocks later with its loads and MACs in flight, and empty the testbench's queues: the run that
    follows must come out bit-exact from there, with nothing of the interrupted plan left in the PE."""
    import cocotb
    from cocotb.triggers import RisingEdge
    from cocotbext.axi import AxiStreamFrame

    for job in jobs:
        for block in job.loads:
            await source.send(AxiStreamFrame([rtl_runner.pack(block, cfg.data.word)]))
    task = cocotb.start_soon(drive_commands(dut, jobs, rng, 0.0, []))
    for _ in range(20000):
        await RisingEdge(dut.clk)
        if str(dut.pend_valid_reg.value) == "1":
            break
    else:
        raise AssertionError("ernn_pe never held a command taken ahead: the reset would not hit that state")
    for _ in range(int(rng.integers(0, 3))):
        await RisingEdge(dut.clk)
    task.cancel()
    dut.s_cmd_valid.value = 0
    dut.rst.value = 1
    for _ in range(2):
        await RisingEdge(dut.clk)
    source.clear()
    sink.clear()
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def run_jobs(
    dut,
    cfg: NumericsConfig,
    jobs: list[Job],
    n_lanes: int,
    seed: int,
    p_gap: float,
    p_stall: float,
    reset_while_waiting: bool = False,
) -> dict[str, object]:
    """Run ``jobs`` through the PE, check every output against the golden model; return cycle counts.
    ``reset_while_waiting``: first interrupt the plan by a reset while a command waits in the PE
    (:func:`reset_while_a_command_waits`)."""
    from cocotb.triggers import RisingEdge
    from cocotb.utils import get_sim_time
    from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

    k = cfg.block_size
    rng = np.random.default_rng(seed ^ 0x5EED)
    expected = expected_outputs(jobs, cfg)
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
    source.set_pause_generator(pause_generator(rng, p_gap))
    sink.set_pause_generator(pause_generator(rng, p_stall))
    dut.s_cmd_valid.value = 0
    await reset_dut(dut)
    if reset_while_waiting:
        await reset_while_a_command_waits(dut, cfg, jobs, source, sink, rng)
    t0 = int(get_sim_time("ns")) // 10
    for job in jobs:
        for block in job.loads:
            await source.send(AxiStreamFrame([rtl_runner.pack(block, cfg.data.word)]))
    starts: list[int] = []
    import cocotb

    cmd_task = cocotb.start_soon(drive_commands(dut, jobs, rng, p_gap, starts))
    for idx, (job, exp) in enumerate(zip(jobs, expected, strict=True)):
        if job.rows == 0:
            continue
        frame = await sink.recv()
        beats = frame.tdata
        got = np.array([rtl_runner.unpack(int(b), cfg.ifft_out.word, k) for b in beats], dtype=np.int64)
        msg = first_divergence(
            got,
            exp,
            ("row block", "sample"),
            seed,
            f"ernn_pe job {idx} ({job.kind}, rows {job.rows}, q {job.read_count}): ",
        )
        if msg:
            # which lane computed each bin of the first wrong row block (unit u = r * bins + m -> lane u % P)
            r = int(np.argwhere(got != exp)[0][0]) if got.shape == exp.shape else 0
            lanes = {m: (r * cfg.bins + m) % n_lanes for m in range(cfg.bins)}
            raise AssertionError(f"{msg}; bins of row block {r} by lane: {lanes}")
    t1 = int(get_sim_time("ns")) // 10
    await cmd_task
    for _ in range(8):
        await RisingEdge(dut.clk)
    assert sink.empty(), "ernn_pe produced more row blocks than the jobs asked for"
    return {"cycles": t1 - t0}


try:
    import cocotb

    @cocotb.test(timeout_time=20, timeout_unit="ms")
    async def pe_matches_golden(dut) -> None:
        """A random job plan with random stalls on every handshake."""
        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        jobs = plan_jobs(cfg, conf["xbuf_depth"], conf["seed"], conf["n_jobs"])
        layout_weights(jobs, conf["lanes"], cfg.weight_spectrum.word, conf.get("split_at", 0))
        dut._log.info(
            "ernn_pe k=%d P=%d, %d jobs, seed %d", cfg.block_size, conf["lanes"], len(jobs), conf["seed"]
        )
        await run_jobs(
            dut, cfg, jobs, conf["lanes"], conf["seed"], conf.get("p_gap", 0.3), conf.get("p_stall", 0.3)
        )

    @cocotb.test(timeout_time=20, timeout_unit="ms")
    async def pe_loads_ahead(dut) -> None:
        """Pairs of jobs on slots apart, no gaps: every output bit-exact, and the PE took commands while
        the job before still issued (its waiting command register was used), so the loads overlapped,
        some while that job's last blocks were still in the FFT (written behind, to their own slots)."""
        from cocotb.triggers import RisingEdge

        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        jobs = plan_jobs(cfg, conf["xbuf_depth"], conf["seed"], conf["n_jobs"], ahead_only=conf["ahead_only"])
        layout_weights(jobs, conf["lanes"], cfg.weight_spectrum.word, conf.get("split_at", 0))
        waiting = [0]
        # clocks with blocks of the job before still in the FFT after a command was taken ahead
        behind = [0]

        async def count_waiting() -> None:
            while True:
                await RisingEdge(dut.clk)
                waiting[0] += str(dut.pend_valid_reg.value) == "1"  # X before the reset
                behind[0] += str(dut.old_pend_reg.value) == "1"

        monitor = cocotb.start_soon(count_waiting())
        await run_jobs(dut, cfg, jobs, conf["lanes"], conf["seed"], 0.0, 0.0)
        monitor.cancel()
        assert waiting[0] > 0, "ernn_pe never took a command ahead on slots apart"
        assert behind[0] > 0, (
            "ernn_pe never took a command ahead while the job before still had blocks in the FFT"
        )

    @cocotb.test(timeout_time=20, timeout_unit="ms")
    async def pe_reset_while_waiting(dut) -> None:
        """A reset while a command taken ahead waits (loads and MACs in flight), then the whole plan again
        with random gaps and back-pressure: every output bit-exact."""
        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        jobs = plan_jobs(cfg, conf["xbuf_depth"], conf["seed"], conf["n_jobs"], ahead_only=conf["ahead_only"])
        layout_weights(jobs, conf["lanes"], cfg.weight_spectrum.word, conf.get("split_at", 0))
        await run_jobs(dut, cfg, jobs, conf["lanes"], conf["seed"], 0.3, 0.3, reset_while_waiting=True)

    @cocotb.test(timeout_time=200, timeout_unit="ms")
    async def pe_bench(dut) -> None:
        """One job at a time, no stalls: clocks from command to last output beat (bench/bench_pe.py)."""
        import json

        from cocotb.triggers import RisingEdge
        from cocotb.utils import get_sim_time
        from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        jobs = bench_jobs(cfg, conf["sizes"], conf["seed"])
        layout_weights(jobs, conf["lanes"], cfg.weight_spectrum.word, conf.get("split_at", 0))
        expected = expected_outputs(jobs, cfg)
        source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        dut.s_cmd_valid.value = 0
        await reset_dut(dut)
        results = []
        for idx, (job, exp) in enumerate(zip(jobs, expected, strict=True)):
            for block in job.loads:
                await source.send(AxiStreamFrame([rtl_runner.pack(block, cfg.data.word)]))
            accepted: list[int] = []
            await drive_commands(dut, [job], np.random.default_rng(0), 0.0, accepted)
            frame = await sink.recv()
            # clocks from the edge that took the command to the edge that took the last output beat
            cycles = int(get_sim_time("ns")) // 10 - accepted[0]
            got = np.array(
                [rtl_runner.unpack(int(b), cfg.ifft_out.word, cfg.block_size) for b in frame.tdata]
            )
            msg = first_divergence(
                got, exp, ("row block", "sample"), conf["seed"], f"ernn_pe bench job {idx}: "
            )
            assert msg is None, msg
            results.append({"rows": job.rows, "q": job.read_count, "cycles": cycles})
            await RisingEdge(dut.clk)
        with open(conf["out"], "w") as fh:
            json.dump(results, fh)

except ImportError:  # pragma: no cover
    pass


def bench_jobs(cfg: NumericsConfig, sizes: list[tuple[int, int]], seed: int) -> list[Job]:
    """One matvec job per (rows, q): full-length random input, weights of random float vectors."""
    rng = np.random.default_rng(seed)
    k = cfg.block_size
    jobs = []
    for rows, q in sizes:
        wr, wi = _weights(rng, cfg, rows, q, "float")
        jobs.append(Job("bench", 0, _vector(rng, cfg, q * k, q, "full"), 0, q, wr, wi, terms=[(0, q, 0)]))
    return jobs


# ------------------------------------------------------------------------------------------------------
# pytest side: one build per (simulator, k, P, bits)
# (4, 7, 16): more lanes than bins, so the round offset wraps (P mod BINS = 1); (4, 6, 16): P a
# multiple of BINS, rounds of whole row blocks (the PE drops the gearbox muxes and the rotation)
CASES = [(4, 1, 16), (4, 6, 16), (4, 7, 16), (8, 3, 12), (16, 4, 16), (32, 5, 10)]
# the four-multiplier complex product is exercised in one of them
MUL4_CASES = {(8, 3, 12)}
SLOW_CASES = [(16, 16, 16), (64, 7, 16), (8, 11, 8)]
# the MAC options (k, P, bits, weight-spectrum bits or None, DSP_PACK, REAL_BINS): DSP_PACK (two products per
# DSP48E2 multiply) with 8-bit data at k = 4 packs with the default formats (FFT_W + 2 WS_W + 1 = 10 + 16 + 1
# = 27), at k = 8/16 with 7-bit weight spectra (11/12 + 14 + 1 <= 27); REAL_BINS (one real multiply on the
# lanes of bins 0 and k/2) needs P a multiple of k/2 + 1. The default suite runs both options in one build; P = 9 at
# k = 4 is three row blocks: the real lanes of the first two share packed multiplies (ernn_rmac_pair), the third's
# stay alone.
# The last field is SPLIT (a job's last round of at most SPLIT_LANE units over two lane groups, each summing
# half of the slots): k 4, P 13: SPLIT_LANE 6, rounds at every bin offset (P not a multiple of 3); k 4, P 12
# with both MAC options: paired real lanes in each group; k 8, P 23 (slow): SPLIT_LANE 10. The plans' jobs of
# 1 .. 5 slots give odd read counts (the second group's last clock without a slot) and rows whose last
# round does and does not split.
MAC_OPTION_CASES = [(4, 9, 8, 8, 1, 1, 0), (4, 13, 16, None, 0, 0, 1), (4, 12, 8, 8, 1, 1, 1)]
SLOW_MAC_OPTION_CASES = [
    (16, 18, 8, 7, 1, 1, 0),
    (8, 5, 8, 7, 1, 0, 0),
    (16, 9, 16, None, 0, 1, 0),
    (8, 23, 12, None, 0, 0, 1),
]
XBUF_DEPTH = 5
N_JOBS = 10


def run_pe(
    sim: str,
    k: int,
    lanes: int,
    bits: int,
    seed: int,
    n_jobs: int = N_JOBS,
    ws_word: int | None = None,
    dsp_pack: int = 0,
    real_bins: int = 0,
    testcase: str = "pe_matches_golden",
    split: int = 0,
    **extra: object,
) -> rtl_runner.RunResult:
    cfg = pe_config(k, bits, XBUF_DEPTH, ws_word)
    # the weight memory is laid out for the plan the cocotb side draws
    ahead_only = testcase in ("pe_loads_ahead", "pe_reset_while_waiting")
    jobs = plan_jobs(cfg, XBUF_DEPTH, seed, n_jobs, ahead_only=ahead_only)
    split_at = split_lane(lanes, k // 2 + 1) if split else 0
    words = layout_weights(jobs, lanes, cfg.weight_spectrum.word, split_at)
    conf = {
        "numerics": cfg.to_dict(),
        "seed": seed,
        "xbuf_depth": XBUF_DEPTH,
        "n_jobs": n_jobs,
        "lanes": lanes,
        "ahead_only": ahead_only,
        "split_at": split_at,
        **extra,
    }
    params = pe_params(cfg, lanes, XBUF_DEPTH, words)
    if (k, lanes, bits) in MUL4_CASES:
        params["CMUL_3M"] = 0
    params["DSP_PACK"] = dsp_pack
    params["REAL_BINS"] = real_bins
    params["SPLIT"] = split
    return rtl_runner.run(
        TOPLEVEL,
        "test_ernn_pe",
        params,
        sim=sim,
        config=conf,
        testcase=testcase,
    )


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("k", "lanes", "bits"), CASES)
def test_ernn_pe(sim: str, k: int, lanes: int, bits: int, request: pytest.FixtureRequest) -> None:
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    run_pe(sim, k, lanes, bits, seed)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_pe_loads_ahead(sim: str, request: pytest.FixtureRequest) -> None:
    """The next job's loads under the current job's MACs (slots apart), bit-exact (k 8, P 3: one of the
    default builds)."""
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    run_pe(sim, 8, 3, 12, seed, testcase="pe_loads_ahead")


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_pe_reset_while_a_command_waits(sim: str, request: pytest.FixtureRequest) -> None:
    """A reset with a command taken ahead in the PE, then the plan again under gaps and back-pressure:
    bit-exact (nothing of the interrupted plan survives the reset)."""
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    run_pe(sim, 8, 3, 12, seed, testcase="pe_reset_while_waiting")


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("k", "lanes", "bits"), SLOW_CASES)
def test_ernn_pe_slow(sim: str, k: int, lanes: int, bits: int, request: pytest.FixtureRequest) -> None:
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    run_pe(sim, k, lanes, bits, seed, n_jobs=30)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(
    ("k", "lanes", "bits", "ws_word", "dsp_pack", "real_bins", "split"),
    [*MAC_OPTION_CASES, *(pytest.param(*c, marks=pytest.mark.slow) for c in SLOW_MAC_OPTION_CASES)],
)
def test_ernn_pe_mac_options(
    sim: str,
    k: int,
    lanes: int,
    bits: int,
    ws_word: int | None,
    dsp_pack: int,
    real_bins: int,
    split: int,
    request: pytest.FixtureRequest,
) -> None:
    """DSP_PACK, REAL_BINS and SPLIT: every job's output bit-exact with the golden model (with SPLIT, a
    job's last round split where it fits: the second group's sums start at 0 and are added to the
    first's), under gaps, back-pressure and load ahead."""
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    n_jobs = 16 if (k, lanes, bits, ws_word, dsp_pack, real_bins, split) in MAC_OPTION_CASES else 30
    run_pe(
        sim,
        k,
        lanes,
        bits,
        seed,
        n_jobs=n_jobs,
        ws_word=ws_word,
        dsp_pack=dsp_pack,
        real_bins=real_bins,
        split=split,
    )


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_pe_split_needs_two_lane_groups(sim: str) -> None:
    # P = 11 at k = 4 (3 bins): fewer than 4 (k/2 + 1) = 12 lanes
    cfg = pe_config(4, 8, 4)
    params = pe_params(cfg, 11, 4, [0, 0])
    params["SPLIT"] = 1
    rtl_runner.expect_elaboration_error(
        TOPLEVEL, params, r"SPLIT = 1 needs P >= 4 \(K/2 \+ 1\) = 12", sim=sim
    )


# both simulators in the default suite (Verilator's elaboration takes about 10 s)
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_pe_real_bins_needs_whole_row_blocks(sim: str) -> None:
    # P = 4 at k = 4 (3 bins): lanes would see every bin in turn
    cfg = pe_config(4, 8, 4)
    params = pe_params(cfg, 4, 4, [0, 0])
    params["REAL_BINS"] = 1
    rtl_runner.expect_elaboration_error(
        TOPLEVEL, params, r"REAL_BINS = 1 needs P a multiple of K/2 \+ 1 = 3", sim=sim
    )


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_pe_bad_parameters(sim: str) -> None:
    # an accumulator too narrow for XBUF_DEPTH summed products must be refused
    cfg = pe_config(4, 8, 4)
    params = pe_params(cfg, 2, 4, [0, 0])
    params["ACC_W"] = cfg.fft_out.word + cfg.weight_spectrum.word + 1
    rtl_runner.expect_elaboration_error(
        TOPLEVEL, params, r"ACC_W \(\d+\) cannot hold a sum of 4 products", sim=sim
    )


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
