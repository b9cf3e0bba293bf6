"""Run an exported model on the RTL (``rtl/ernn_top.v``) and collect every output with its clock cycle.

:func:`run_rtl` is the entry point (``ernn sim``, the testbench ``tb/ernn_top`` and ``bench/bench_top.py``
use it)::

    res = run_rtl(model_dir, frames, last, sim="verilator", work_dir=tmp, seed=1,
                  valid_gap_prob=0.2, ready_stall_prob=0.3)
    res.outputs      # int64 (T, OUTPUT_SIZE): the last layer's h_t per frame, integers of Q(data)
    res.last_out     # bool (T,): m_axis_tlast per output beat (mirrors ``last``)
    res.in_cycles    # int64 (T,): clock cycle at which each input frame was accepted
    res.out_cycles   # int64 (T,): clock cycle of each output beat
    res.out_times_ns # int64 (T,): simulated time of each output beat (ns; where to look in a waveform)
    res.waves        # Path of the waveform (run_rtl(..., waves=True): Icarus FST, Verilator VCD), else None
    res.cycles_total # clocks simulated after reset (the last output, then 8 idle clocks)
    res.cycles_per_step  # steady state: median spacing of output beats within a sequence

How it runs: the simulation is built through :mod:`ernn.sim.runner` (Icarus or Verilator, toplevel
``ernn_top``) in a build directory per model content and simulator (the model's ``ernn_params.vh`` is
copied into the build directory, where both simulators find the ``include``). No path of the user's
reaches the simulators as a Verilog string: the model's ``mem/`` is copied into the simulator's working
directory as ``ernn_mem-<content hash>/`` and parameter ``MEM_DIR`` names it relatively
(:func:`build_params`), so that model, work and cache folders may have spaces and non-ASCII characters in
their paths (Icarus's ``$readmemh`` refuses a non-ASCII file name). Stimulus and results travel as files in
``work_dir`` (``rtl_stimulus.npz``, ``rtl_result.npz``, ``ernn_mem-*/``); the cocotb test of this module
(:func:`run_stream`) drives them:

* input: cocotbext-axi ``AxiStreamSource``, one AXI-Stream frame per sequence (``last`` splits the stream);
  the per-beat flag reaches ``s_axis_tlast`` through the frame's ``tuser`` (so a stream that ends in
  the middle of a sequence ends without TLAST, exactly as ``last`` says); random tvalid gaps with
  probability ``valid_gap_prob`` per clock from a generator seeded with ``seed``;
* output: cocotbext-axi ``AxiStreamSink`` with random tready back-pressure (``ready_stall_prob``);
* a monitor stamps every accepted input beat and every output beat with its clock cycle (cycle 0 is the
  first rising edge after reset).

Cycle counts are those of the simulated clock; ``cycles_per_step`` is meaningful when the input is never
starved (``valid_gap_prob`` = 0 and no back-pressure).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ernn.sim import runner as rtl_runner

#: the block-circulant engine; a model directory's own engine comes from the structure registry
TOPLEVEL = "ernn_top"
TEST_MODULE = "ernn.sim.rtl"
STIMULUS_FILE = "rtl_stimulus.npz"
RESULT_FILE = "rtl_result.npz"
#: Clock period of the simulation (ns); cycle counts do not depend on it.
CLOCK_NS = 10
#: Clocks of reset at the start (and for a reset between segments).
RESET_CYCLES = 4
#: A run fails if no output appears for this many clocks while outputs are still expected.
STALL_LIMIT = 200_000


@dataclass
class RtlResult:
    """What :func:`run_rtl` returns (see the module docstring)."""

    outputs: npt.NDArray[np.int64]
    last_out: npt.NDArray[np.bool_]
    in_cycles: npt.NDArray[np.int64]
    out_cycles: npt.NDArray[np.int64]
    cycles_total: int
    cycles_per_step: float
    sim: str
    wall_seconds: float
    out_times_ns: npt.NDArray[np.int64] | None = None
    waves: Path | None = None


@dataclass(frozen=True)
class EngineView:
    """What the driver needs of a model directory: sizes, the data word and the engine that runs it."""

    input_size: int
    output_size: int
    data_word: int
    toplevel: str

    @property
    def in_bits(self) -> int:
        return -(-self.input_size * self.data_word // 8) * 8

    @property
    def out_bits(self) -> int:
        return -(-self.output_size * self.data_word // 8) * 8


def engine_view(model_dir: Path, verify: bool = True) -> EngineView:
    """Read and check a model directory (:class:`ernn.export.model_dir.ModelDirectory`: manifest, config
    of every listed file when ``verify``, the hardware section and its memories); errors name the file."""
    from ernn.export.model_dir import ModelDirectory
    from ernn.shape import structure_entry

    md = ModelDirectory(model_dir, verify=verify)
    entry = structure_entry(md.shape.structure.name)
    if entry.engine is None:
        # a structure registered without an engine (sparse): refuse by name rather than fail inside the
        # runner on a missing toplevel (block-circulant and CSB models both run on ernn_top)
        raise ValueError(
            f"{md.dir}: a {md.shape.structure.describe()} model has no RTL engine behind the AXI-Stream top yet "
            "(ernn sim runs block-circulant and CSB models); its golden model runs with 'ernn golden' and "
            "'ernn evaluate'"
        )
    hardware = md.hardware
    for name in ["ernn_params.vh", *(f"mem/{f}" for f in hardware["memories"].values())]:
        if not (md.dir / name).is_file():
            raise FileNotFoundError(f"{md.dir / name} is missing (listed by {md.config_path})")
    return EngineView(
        input_size=md.shape.input_size,
        output_size=md.shape.output_size,
        data_word=md.data_word,
        toplevel=entry.engine,
    )


def _check_frames(
    frames: npt.ArrayLike, last: npt.ArrayLike, shape: EngineView
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(frames)
    flags = np.asarray(last)
    if x.ndim != 2 or x.shape[1] != shape.input_size or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(
            f"frames must be an integer array (T, {shape.input_size}) of Q(data), got {x.dtype} {x.shape}"
        )
    if flags.shape != (x.shape[0],):
        raise ValueError(f"last must have shape ({x.shape[0]},), got {flags.shape}")
    lo, hi = -(1 << (shape.data_word - 1)), (1 << (shape.data_word - 1)) - 1
    if x.size and (int(x.min()) < lo or int(x.max()) > hi):
        raise ValueError(f"frames hold values outside Q(data) = [{lo}, {hi}] ({shape.data_word}-bit)")
    return x.astype(np.int64), flags.astype(bool)


def mem_dir_name(model_dir: Path) -> str:
    """``ernn_mem-<hash>``: the ASCII name of a copy of the model's ``mem/`` (hash of the header and of every
    memory image), relative to the simulator's working directory."""
    digest = hashlib.sha256((model_dir / "ernn_params.vh").read_bytes())
    for path in sorted((model_dir / "mem").glob("*.mem")):
        digest.update(f"\0{path.name}\0".encode())
        digest.update(path.read_bytes())
    return f"ernn_mem-{digest.hexdigest()[:16]}"


def stage_memories(model_dir: Path, directory: Path) -> str:
    """Copy the model's ``mem/`` into ``directory``/:func:`mem_dir_name` (once); return that name."""
    return rtl_runner.stage_file(model_dir / "mem", directory, mem_dir_name(model_dir))


def build_params(model_dir: Path) -> dict[str, Any]:
    """Verilog parameters of ``ernn_top`` for a model directory: ``MEM_DIR`` names the copy of its memories
    in the simulator's working directory (:func:`stage_memories`), never the user's path."""
    return {"MEM_DIR": mem_dir_name(model_dir)}


def prepare_build(model_dir: Path, sim: str, waves: bool = False, toplevel: str = TOPLEVEL) -> Path:
    """The build directory of (model content, simulator, build variant: waves, coverage), holding the model's
    header and memories (for a run whose working directory is the build directory); a stale build (another
    header) is removed so that the runner rebuilds it. A waves build has its own directory
    (:func:`ernn.sim.runner.build_variant`), so a plain build of the same model is never rebuilt for it."""
    model_dir = Path(model_dir)
    params = build_params(model_dir)
    bdir = rtl_runner.build_dir(toplevel, sim, params, rtl_runner.build_variant(sim, waves))
    rtl_runner.check_build_dir(sim, bdir)
    header = (model_dir / "ernn_params.vh").read_bytes()
    stamp = hashlib.sha256(header).hexdigest()
    stamp_file = bdir / "ernn_model.stamp"
    with rtl_runner.build_lock(bdir):
        if bdir.exists() and (not stamp_file.is_file() or stamp_file.read_text() != stamp):
            shutil.rmtree(bdir)
        bdir.mkdir(parents=True, exist_ok=True)
        # rewritten only when it differs: a simulation of the same model may be reading it right now
        if not (bdir / "ernn_params.vh").is_file() or (bdir / "ernn_params.vh").read_bytes() != header:
            (bdir / "ernn_params.vh").write_bytes(header)
        if not stamp_file.is_file() or stamp_file.read_text() != stamp:
            stamp_file.write_text(stamp)
        stage_memories(model_dir, bdir)
    return bdir


def _sequences(last: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each sequence of a stream (the last one may end without TLAST)."""
    ends = [int(e) + 1 for e in np.flatnonzero(last)]
    if not ends or ends[-1] != len(last):
        ends.append(len(last))
    return [(s, e) for s, e in zip([0, *ends[:-1]], ends, strict=True) if e > s]


def _reset_meta(idx: int, seg: dict[str, Any], frames: int) -> dict[str, int]:
    """The reset options of one segment, checked: at most one of ``reset_after`` (outputs) and
    ``reset_at_clock`` (clocks after the first input beat), whole numbers, in range."""
    unknown = set(seg) - {"frames", "last", "reset_after", "reset_at_clock"}
    if unknown:
        raise ValueError(f"segment {idx}: unknown option(s) {sorted(unknown)}")
    after, at_clock = seg.get("reset_after", -1), seg.get("reset_at_clock", -1)
    for name, value in (("reset_after", after), ("reset_at_clock", at_clock)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"segment {idx}: {name} must be an integer, got {value!r}")
    after, at_clock = int(after), int(at_clock)
    if after >= 0 and at_clock >= 0:
        raise ValueError(
            f"segment {idx}: give reset_after ({after} outputs) or reset_at_clock ({at_clock} clocks), not both"
        )
    if at_clock >= 0:
        if at_clock < 1:
            raise ValueError(
                f"segment {idx}: reset_at_clock must be >= 1 (clocks after the edge that accepted the first "
                "input beat; that edge itself is past)"
            )
        if at_clock > STALL_LIMIT:
            raise ValueError(
                f"segment {idx}: reset_at_clock {at_clock} is beyond the stall limit {STALL_LIMIT}"
            )
        if frames == 0:
            raise ValueError(f"segment {idx}: reset_at_clock needs at least one frame to count from")
    return {"reset_after": after, "reset_at_clock": at_clock}


def simulate(
    model_dir: str | Path,
    segments: list[dict[str, Any]],
    *,
    sim: str = "icarus",
    work_dir: str | Path,
    seed: int = 0,
    valid_gap_prob: float = 0.0,
    ready_stall_prob: float = 0.0,
    waves: bool = False,
    probe: bool = False,
    verify: bool = True,
) -> dict[str, Any]:
    """Run stimulus segments through ``ernn_top``; return the raw per-segment records.

    Each segment is ``{"frames": (T, F) int, "last": (T,) bool, "reset_after": n}``: its frames are sent,
    and when ``reset_after`` >= 0 the design is reset once that many of its outputs have come out (the
    rest of the segment is dropped); the next segment starts after the reset. Instead of ``reset_after``
    a segment may give ``"reset_at_clock": c`` (>= 1): reset is asserted so that it is first sampled high
    at the rising edge ``c`` clocks after the one that accepted the segment's first input beat, wherever
    the design is then (outputs that came out before it are recorded, the rest is dropped). A segment that
    ends in a reset records the clock at which reset was first sampled high (``reset_cycle<i>``) and the
    controller states it found (``reset_states<i>``: :data:`ernn.sim.funcov.RESET_STATES` names,
    ``ernn_top`` only). ``probe`` records the
    internal h-memory and gate-buffer writes too (the testbench uses them to locate a divergence);
    ``verify`` checks every file of the model against its manifest (see :func:`engine_view`). ``waves``
    records a waveform (Icarus FST, Verilator VCD) in ``work_dir`` (its path under the key ``waves``).
    """
    model_dir = Path(model_dir).resolve()
    work = Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    shape = engine_view(model_dir, verify)
    arrays: dict[str, np.ndarray] = {}
    meta = []
    for idx, seg in enumerate(segments):
        x, flags = _check_frames(seg["frames"], seg["last"], shape)
        arrays[f"frames{idx}"] = x
        arrays[f"last{idx}"] = flags
        meta.append(_reset_meta(idx, seg, len(x)))
    for path in (work / STIMULUS_FILE, work / RESULT_FILE):
        path.unlink(missing_ok=True)
    np.savez(work / STIMULUS_FILE, **arrays)
    config = {
        "work_dir": str(work),
        "segments": meta,
        "seed": int(seed),
        "valid_gap_prob": float(valid_gap_prob),
        "ready_stall_prob": float(ready_stall_prob),
        "input_size": shape.input_size,
        "output_size": shape.output_size,
        "data_word": shape.data_word,
        "probe": bool(probe),
    }
    rtl_runner.setup_simulator(sim)
    prepare_build(model_dir, sim, waves, shape.toplevel)
    stage_memories(model_dir, work)
    ran = rtl_runner.run(
        shape.toplevel,
        TEST_MODULE,
        build_params(model_dir),
        sim=sim,
        config=config,
        testcase="run_stream",
        test_dir=work,
        waves=waves,
    )
    result_path = work / RESULT_FILE
    if not result_path.is_file():
        raise RuntimeError(f"{sim}: the simulation ended without writing {result_path}")
    with np.load(result_path) as res:
        raw: dict[str, Any] = {k: res[k] for k in res.files}
    if ran.waves is not None:
        raw["waves"] = ran.waves
    return raw


def steady_cycles_per_step(out_cycles: np.ndarray, last_out: np.ndarray) -> float:
    """Median spacing of consecutive output beats of the same sequence (nan with fewer than two)."""
    if len(out_cycles) < 2:
        return float("nan")
    gaps = np.diff(out_cycles)[~last_out[:-1]]
    return float(np.median(gaps)) if gaps.size else float("nan")


def gaussian_sequence(
    data: Any, input_size: int, frames: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One sequence of ``frames`` inputs, N(0, 1) features rounded to the ``data`` format (a
    :class:`~ernn.golden.formats.FixedFormat`) and saturated, with TLAST on the last frame: the stimulus of
    the throughput benchmarks (the clocks do not depend on the values)."""
    x = np.clip(
        np.rint(rng.standard_normal((frames, input_size)) * 2.0**data.frac), data.min_int, data.max_int
    )
    last = np.zeros(frames, dtype=bool)
    last[-1] = True
    return x.astype(np.int64), last


def run_rtl(
    model_dir: str | Path,
    frames: npt.ArrayLike,
    last: npt.ArrayLike,
    *,
    sim: str = "icarus",
    work_dir: str | Path,
    seed: int = 0,
    valid_gap_prob: float = 0.0,
    ready_stall_prob: float = 0.0,
    waves: bool = False,
) -> RtlResult:
    """Stream ``frames`` (T, INPUT_SIZE) of Q(data) with TLAST = ``last`` through the RTL of ``model_dir``.

    Returns every output with its cycle (see :class:`RtlResult`); raises if the simulator is missing
    (:class:`ernn.sim.runner.SimulatorMissingError`), the model directory is incomplete, the inputs do
    not fit Q(data), or the design stops producing outputs. ``waves``: record a waveform of
    ``ernn_top`` in ``work_dir`` (Icarus: FST from cocotb's dump module; Verilator: VCD, ``--trace``), in
    :attr:`RtlResult.waves`.
    """
    t0 = time.perf_counter()
    raw = simulate(
        model_dir,
        [{"frames": frames, "last": last, "reset_after": -1}],
        sim=sim,
        work_dir=work_dir,
        seed=seed,
        valid_gap_prob=valid_gap_prob,
        ready_stall_prob=ready_stall_prob,
        waves=waves,
    )
    outputs = raw["out_data0"].astype(np.int64)
    last_out = raw["out_last0"].astype(bool)
    out_cycles = raw["out_cycle0"].astype(np.int64)
    n = len(np.asarray(last))
    if len(outputs) != n:
        raise RuntimeError(f"{sim}: {len(outputs)} outputs for {n} input frames")
    return RtlResult(
        outputs=outputs,
        last_out=last_out,
        in_cycles=raw["in_cycle0"].astype(np.int64),
        out_cycles=out_cycles,
        cycles_total=int(raw["cycles_total"]),
        cycles_per_step=steady_cycles_per_step(out_cycles, last_out),
        sim=sim,
        wall_seconds=time.perf_counter() - t0,
        out_times_ns=raw["out_time0"].astype(np.int64),
        waves=raw.get("waves"),
    )


# ------------------------------------------------------------------------------------------------------
# cocotb side (runs inside the simulator)
def _unpack(word: int, width: int, count: int) -> list[int]:
    mask = (1 << width) - 1
    out = []
    for i in range(count):
        v = (word >> (i * width)) & mask
        out.append(v - (1 << width) if v >> (width - 1) else v)
    return out


def _pack(values: np.ndarray, width: int) -> int:
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(values.tolist()):
        word |= (int(v) & mask) << (i * width)
    return word


def _pause(rng: np.random.Generator, probability: float):
    while True:
        yield from (rng.random(256) < probability).tolist()


class _Monitor:
    """Stamps handshakes with the clock cycle (sampled at each rising edge, before the edge's updates)."""

    def __init__(self, dut, cfg: dict[str, Any]) -> None:
        self.dut = dut
        self.cfg = cfg
        self.cycle = -1
        self.in_cycles: list[int] = []
        self.out: list[tuple[int, int, int]] = []
        self.out_times: list[int] = []  # simulated time (ns) of each output beat
        self.h_writes: list[tuple[int, int, int]] = []  # (cycle, address, block word)
        self.y_writes: list[tuple[int, int, int, int]] = []  # (cycle, slot, block, row word)
        self.probe = bool(cfg.get("probe"))
        # functional coverage (ernn.sim.funcov) when the run collects coverage (ERNN_COVERAGE); its
        # collector also names the controller states at every reset (``resets``), coverage or not
        self.funcov = None
        self.states = None
        self.resets: list[tuple[int, list[str]]] = []  # (cycle reset was first sampled high, states)
        if dut._name == TOPLEVEL:
            from ernn.sim.funcov import TopCollector

            self.states = TopCollector(dut)
            if rtl_runner.coverage_dir() is not None:
                self.funcov = self.states

    async def run(self) -> None:
        from cocotb.simtime import get_sim_time
        from cocotb.triggers import RisingEdge

        dut = self.dut
        core = dut.core_inst if self.probe else None
        was_reset = True  # the monitor starts after the first reset
        while True:
            await RisingEdge(dut.clk)
            self.cycle += 1
            rst = int(dut.rst.value)
            if rst and not was_reset:
                self.resets.append((self.cycle, self.states.reset_states() if self.states else []))
            was_reset = bool(rst)
            if self.funcov is not None:
                self.funcov.sample()
            if rst:
                continue
            if int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value):
                self.in_cycles.append(self.cycle)
            if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value):
                self.out.append((self.cycle, int(dut.m_axis_tdata.value), int(dut.m_axis_tlast.value)))
                self.out_times.append(round(get_sim_time("ns")))
            if core is not None:
                if int(core.h_we.value):
                    self.h_writes.append((self.cycle, int(core.h_wr_addr.value), int(core.h_wr_data.value)))
                if int(core.pw_y_we.value):
                    self.y_writes.append(
                        (
                            self.cycle,
                            int(core.pw_slot.value),
                            int(core.pw_blk_reg.value),
                            int(core.pe_m_axis_tdata.value),
                        )
                    )


async def _reset(dut, cycles: int) -> None:
    from cocotb.triggers import RisingEdge

    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


async def _wait_clocks_after_first_beat(dut, clocks: int, what: str) -> None:
    """Return right after the rising edge ``clocks`` - 1 after the one that accepted the next input beat,
    so that a reset asserted now is first sampled high ``clocks`` edges after that acceptance (handshakes
    read as :class:`_Monitor` reads them)."""
    from cocotb.triggers import RisingEdge

    waited = 0
    while True:
        await RisingEdge(dut.clk)
        if int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value):
            break
        waited += 1
        if waited > STALL_LIMIT:
            raise AssertionError(f"ernn_top accepted no input beat of {what} in {STALL_LIMIT} clocks")
    for _ in range(clocks - 1):
        await RisingEdge(dut.clk)


class _TlastAsUser:
    """AXI-Stream bus whose frame ``tuser`` drives ``s_axis_tlast`` (per-beat TLAST from ``last``)."""

    @staticmethod
    def bus(dut):
        from cocotbext.axi import AxiStreamBus

        class Bus(AxiStreamBus):
            _signals: ClassVar[dict[str, str]] = {"tdata": "tdata"}
            _optional_signals: ClassVar[dict[str, str]] = {
                "tvalid": "tvalid",
                "tready": "tready",
                "tuser": "tlast",
            }

        return Bus.from_prefix(dut, "s_axis")


try:
    import cocotb

    @cocotb.test(timeout_time=4, timeout_unit="sec")
    async def run_stream(dut) -> None:
        """Drive the stimulus segments of ``rtl_stimulus.npz`` and write ``rtl_result.npz``."""
        from cocotb.clock import Clock
        from cocotb.triggers import RisingEdge
        from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

        cfg = rtl_runner.tb_config()
        work = Path(cfg["work_dir"])
        with np.load(work / STIMULUS_FILE) as stim:
            segs = [(stim[f"frames{i}"], stim[f"last{i}"]) for i in range(len(cfg["segments"]))]
        dw, n_out = cfg["data_word"], cfg["output_size"]
        rng = np.random.default_rng(cfg["seed"])
        dut._log.info(
            "ernn_top: %d segment(s), %d frames, seed %d, valid gaps %.2f, ready stalls %.2f",
            len(segs),
            sum(len(f) for f, _ in segs),
            cfg["seed"],
            cfg["valid_gap_prob"],
            cfg["ready_stall_prob"],
        )

        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        dut.s_axis_tvalid.value = 0
        dut.s_axis_tlast.value = 0
        dut.m_axis_tready.value = 0
        await _reset(dut, RESET_CYCLES)

        source = AxiStreamSource(_TlastAsUser.bus(dut), dut.clk, dut.rst, byte_lanes=1)
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        for log in (source.log, sink.log):  # not one INFO line per sequence of huge integers
            log.setLevel(logging.WARNING)
        if cfg["valid_gap_prob"] > 0:
            source.set_pause_generator(_pause(rng, cfg["valid_gap_prob"]))
        if cfg["ready_stall_prob"] > 0:
            sink.set_pause_generator(_pause(rng, cfg["ready_stall_prob"]))
        mon = _Monitor(dut, cfg)
        mon_task = cocotb.start_soon(mon.run())

        results: dict[str, np.ndarray] = {}
        for idx, ((frames, last), meta) in enumerate(zip(segs, cfg["segments"], strict=True)):
            in0, out0, h0, y0 = len(mon.in_cycles), len(mon.out), len(mon.h_writes), len(mon.y_writes)
            r0 = len(mon.resets)
            for s, e in _sequences(last.astype(bool)):
                words = [_pack(frames[t], dw) for t in range(s, e)]
                await source.send(AxiStreamFrame(words, tuser=[int(v) for v in last[s:e]]))
            at_clock = meta.get("reset_at_clock", -1)
            if at_clock >= 1:
                await _wait_clocks_after_first_beat(dut, at_clock, f"segment {idx} (seed {cfg['seed']})")
            target = len(frames) if meta["reset_after"] < 0 else min(meta["reset_after"], len(frames))
            if at_clock >= 1:
                target = 0  # the reset comes at its clock, whatever has come out by then
            idle = 0
            seen = len(mon.out)
            while len(mon.out) - out0 < target:
                await RisingEdge(dut.clk)
                idle = 0 if len(mon.out) != seen else idle + 1
                seen = len(mon.out)
                if idle > STALL_LIMIT:
                    raise AssertionError(
                        f"ernn_top stopped: {len(mon.out) - out0} of {target} outputs of segment {idx} after "
                        f"{STALL_LIMIT} idle clocks (seed {cfg['seed']})"
                    )
            if meta["reset_after"] >= 0 or at_clock >= 1:
                source.clear()
                await _reset(dut, RESET_CYCLES)
                sink.clear()
                if len(mon.resets) != r0 + 1:
                    raise AssertionError(
                        f"segment {idx}: the monitor saw {len(mon.resets) - r0} resets, not 1"
                    )
                results[f"reset_cycle{idx}"] = np.array(mon.resets[r0][0], dtype=np.int64)
                results[f"reset_states{idx}"] = np.array(mon.resets[r0][1], dtype=str)
            else:
                await source.wait()
            out = mon.out[out0:]
            results[f"in_cycle{idx}"] = np.array(mon.in_cycles[in0:], dtype=np.int64)
            results[f"out_cycle{idx}"] = np.array([c for c, _, _ in out], dtype=np.int64)
            results[f"out_time{idx}"] = np.array(mon.out_times[out0:], dtype=np.int64)
            results[f"out_last{idx}"] = np.array([t for _, _, t in out], dtype=bool)
            results[f"out_data{idx}"] = np.array(
                [_unpack(w, dw, n_out) for _, w, _ in out], dtype=np.int64
            ).reshape(len(out), n_out)
            if mon.probe:
                results[f"h_writes{idx}"] = np.array(
                    [(c, a) for c, a, _ in mon.h_writes[h0:]], dtype=np.int64
                ).reshape(-1, 2)
                results[f"h_data{idx}"] = np.array(
                    [str(w) for _, _, w in mon.h_writes[h0:]], dtype=object
                ).astype(str)
                results[f"y_writes{idx}"] = np.array(
                    [(c, s_, b) for c, s_, b, _ in mon.y_writes[y0:]], dtype=np.int64
                ).reshape(-1, 3)
                results[f"y_data{idx}"] = np.array(
                    [str(w) for _, _, _, w in mon.y_writes[y0:]], dtype=object
                ).astype(str)
        for _ in range(8):
            await RisingEdge(dut.clk)
        extra = len(mon.out) - sum(len(results[f"out_cycle{i}"]) for i in range(len(segs)))
        mon_task.cancel()
        if mon.funcov is not None:
            mon.funcov.write(rtl_runner.coverage_dir())
        if extra:
            raise AssertionError(
                f"ernn_top produced {extra} output(s) more than frames sent (seed {cfg['seed']})"
            )
        results["cycles_total"] = np.array(mon.cycle + 1)
        np.savez(work / RESULT_FILE, **results)

except ImportError:  # pragma: no cover - cocotb is a dev dependency
    pass
