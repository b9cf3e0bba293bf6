"""Testbench of rtl/ernn_lstm_cell.v: every h_t and c_t equals ernn.golden.cells.lstm_cell, bit for bit.

One golden call checks the whole unit: ``lstm_cell(y, c_prev, bias, numerics, log, peephole)`` on all the
units sent (unit u = beat * LANES + lane). Stimulus per unit (seeded, seed printed): zeros, full-scale
positive and negative (every field at its format's maximum / minimum), random extremes (each field at its
minimum or maximum), random full-scale, random moderate values (the trained-network regime: few gates
saturate), and saturating cell states (c_{t-1} at +-full scale pushed further by i * g). The saturation
points of the golden model that the stimulus must reach (gate_pre, cell, tanh_c_in) are checked, so a
stimulus change cannot silently stop covering them. Random tvalid gaps and tready back-pressure; tuser
must follow its beat; a full-rate run must take one beat per clock; a reset in mid-stream must drop the
beats in flight and nothing else.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_act_tbutil import LSTM_FORMATS, cell_format_params, pack_fields, sim_cases
from ernn_tbutil import first_divergence, pause_generator, reset_dut, seed_for

from ernn.golden.cells import lstm_cell
from ernn.golden.formats import NumericsConfig, QFormat
from ernn.golden.ops import SaturationLog, quantize
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_lstm_cell"
#: Pipeline depth of the RTL (docs/cells.md); the full-rate test checks the throughput against it.
LATENCY = 16
USER_W = 8
GATES = "ifgo"
#: Saturation points the random stimulus must reach.
COVERED = ("gate_pre", "cell", "tanh_c_in")


def lstm_params(cfg: NumericsConfig, peephole: bool, lanes: int) -> dict[str, object]:
    return {
        **cell_format_params(cfg, LSTM_FORMATS),
        "LANES": lanes,
        "PEEPHOLE": int(peephole),
        "USER_W": USER_W,
    }


def _full(fmt: QFormat, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(fmt.min_int, fmt.max_int, size=n, endpoint=True)


def _extreme(fmt: QFormat, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(np.array([fmt.min_int, fmt.max_int]), size=n)


def stimulus(
    cfg: NumericsConfig, peephole: bool, units_per_class: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per unit: y (4, H), bias (4, H), c (H,), p (3, H) and a class label."""
    yf, bf, cf, pf = cfg.ifft_out, cfg.bias, cfg.cell, cfg.peephole
    parts: list[dict[str, np.ndarray]] = []
    labels: list[str] = []

    def add(label: str, y, b, c, p) -> None:
        n = np.shape(c)[0]
        parts.append({"y": np.asarray(y), "b": np.asarray(b), "c": np.asarray(c), "p": np.asarray(p)})
        labels.extend([label] * n)

    n = units_per_class
    add("zeros", np.zeros((4, 2)), np.zeros((4, 2)), np.zeros(2), np.zeros((3, 2)))
    add(
        "full-scale positive",
        np.full((4, 1), yf.max_int),
        np.full((4, 1), bf.max_int),
        np.full(1, cf.max_int),
        np.full((3, 1), pf.max_int),
    )
    add(
        "full-scale negative",
        np.full((4, 1), yf.min_int),
        np.full((4, 1), bf.min_int),
        np.full(1, cf.min_int),
        np.full((3, 1), pf.min_int),
    )
    add(
        "random extremes",
        _extreme(yf, 4 * n, rng).reshape(4, n),
        _extreme(bf, 4 * n, rng).reshape(4, n),
        _extreme(cf, n, rng),
        _extreme(pf, 3 * n, rng).reshape(3, n),
    )
    add(
        "random full-scale",
        _full(yf, 4 * n, rng).reshape(4, n),
        _full(bf, 4 * n, rng).reshape(4, n),
        _full(cf, n, rng),
        _full(pf, 3 * n, rng).reshape(3, n),
    )
    add(
        "random moderate",
        quantize(rng.normal(0.0, 2.0, (4, 2 * n)), yf),
        quantize(rng.normal(0.0, 1.0, (4, 2 * n)), bf),
        quantize(rng.normal(0.0, 3.0, 2 * n), cf),
        quantize(rng.normal(0.0, 0.5, (3, 2 * n)), pf),
    )
    # c_{t-1} at +-full scale, f and i near 1, g with the sign of c: c_t leaves the cell format
    sign = rng.choice(np.array([-1, 1]), size=n)
    big = np.array([yf.max_int, yf.max_int, 0, 0])[:, None] + np.zeros((4, n), dtype=np.int64)
    big[2] = np.where(sign > 0, yf.max_int, yf.min_int)
    big[3] = _full(yf, n, rng)
    add(
        "saturating cell state",
        big,
        np.zeros((4, n), dtype=np.int64),
        np.where(sign > 0, cf.max_int, cf.min_int) - rng.integers(0, 1 << cf.frac, size=n) * sign,
        _full(pf, 3 * n, rng).reshape(3, n),
    )
    stim = {k: np.concatenate([p[k] for p in parts], axis=-1).astype(np.int64) for k in ("y", "b", "c", "p")}
    if not peephole:
        stim["p"] = np.zeros_like(stim["p"])
    return stim, labels


def beat_words(stim: dict[str, np.ndarray], cfg: NumericsConfig, peephole: bool, lanes: int) -> list[int]:
    """s_axis_tdata per beat (layout in rtl/ernn_lstm_cell.v)."""
    units = stim["c"].size
    words = []
    for t in range(units // lanes):
        sl = slice(t * lanes, (t + 1) * lanes)
        fields = [
            (stim["y"][:, sl], cfg.ifft_out.word),
            (stim["b"][:, sl], cfg.bias.word),
            (stim["c"][sl], cfg.cell.word),
        ]
        if peephole:
            fields.append((stim["p"][:, sl], cfg.peephole.word))
        words.append(pack_fields(fields))
    return words


def expected(
    stim: dict[str, np.ndarray], cfg: NumericsConfig, peephole: bool
) -> tuple[np.ndarray, np.ndarray, SaturationLog]:
    log = SaturationLog()
    h, c = lstm_cell(stim["y"], stim["c"], stim["b"], cfg, log, stim["p"] if peephole else None)
    return h, c, log


async def run_lstm(
    dut, seed: int, units_per_class: int, p_gap: float, p_stall: float, check_rate: bool = False
) -> None:
    from cocotb.triggers import RisingEdge
    from cocotb.utils import get_sim_time
    from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

    conf = rtl_runner.tb_config()
    cfg = NumericsConfig.from_dict(conf["numerics"])
    peephole, lanes = bool(conf["peephole"]), int(conf["lanes"])
    rng = np.random.default_rng(seed)
    stim, labels = stimulus(cfg, peephole, units_per_class, rng)
    units = stim["c"].size
    beats = units // lanes
    units = beats * lanes  # whole beats only
    stim = {k: v[..., :units] for k, v in stim.items()}
    exp_h, exp_c, log = expected(stim, cfg, peephole)
    dut._log.info(
        "ernn_lstm_cell %s data, peephole %d, lanes %d: %d units, seed %d; golden saturations %s",
        cfg.data,
        peephole,
        lanes,
        units,
        seed,
        log.nonzero(),
    )
    missing = [name for name in COVERED if not log.counts.get(name)]
    assert not missing, f"stimulus does not reach the saturation points {missing} (seed {seed})"

    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
    source.set_pause_generator(pause_generator(rng, p_gap))
    sink.set_pause_generator(pause_generator(rng, p_stall))
    await reset_dut(dut)

    words = beat_words(stim, cfg, peephole, lanes)
    users = [t % (1 << USER_W) for t in range(beats)]
    t0 = get_sim_time("ns")
    for w, u in zip(words, users, strict=True):
        await source.send(AxiStreamFrame([w], tuser=u))
    out_words, out_users = [], []
    for _ in range(beats):
        frame = await sink.recv()
        out_words.append(int(frame.tdata[0]))
        out_users.append(int(frame.tuser))
    cycles = round((get_sim_time("ns") - t0) / 10)
    for _ in range(LATENCY + 4):
        await RisingEdge(dut.clk)
    assert sink.empty(), "ernn_lstm_cell produced more beats than it was given"
    check(out_words, out_users, users, exp_h, exp_c, labels, cfg, lanes, seed)
    if check_rate:
        assert cycles <= beats + LATENCY + 4, (
            f"ernn_lstm_cell took {cycles} clocks for {beats} beats at full rate (latency {LATENCY})"
        )


def check(
    out_words: list[int],
    out_users: list[int],
    users: list[int],
    exp_h: np.ndarray,
    exp_c: np.ndarray,
    labels: list[str],
    cfg: NumericsConfig,
    lanes: int,
    seed: int,
) -> None:
    dw, cw = cfg.data.word, cfg.cell.word
    got_h = np.array([rtl_runner.unpack(w, dw, lanes) for w in out_words], dtype=np.int64).reshape(-1)
    got_c = np.array(
        [rtl_runner.unpack(w >> (lanes * dw), cw, lanes) for w in out_words], dtype=np.int64
    ).reshape(-1)
    got = np.stack((got_h, got_c), axis=-1)
    exp = np.stack((exp_h, exp_c), axis=-1)
    msg = first_divergence(got, exp, ("unit", "output (0 = h_t, 1 = c_t)"), seed, "ernn_lstm_cell: ")
    if msg:
        unit = int(np.argwhere(got != exp)[0][0])
        raise AssertionError(
            f"{msg}; unit {unit} is beat {unit // lanes}, lane {unit % lanes}, stimulus '{labels[unit]}'; "
            f"h_t got {got_h[unit]} expected {exp_h[unit]}, c_t got {got_c[unit]} expected {exp_c[unit]}"
        )
    msg = first_divergence(np.array(out_users), np.array(users), ("beat",), seed, "ernn_lstm_cell tuser: ")
    assert msg is None, msg


try:
    import cocotb

    @cocotb.test(timeout_time=5, timeout_unit="ms")
    async def lstm_matches_golden(dut) -> None:
        """Every stimulus class with random tvalid gaps and tready back-pressure."""
        conf = rtl_runner.tb_config()
        await run_lstm(dut, conf["seed"], conf["units"], 0.3, 0.3)

    @cocotb.test(timeout_time=5, timeout_unit="ms")
    async def lstm_full_rate(dut) -> None:
        """No stalls: one beat per clock."""
        conf = rtl_runner.tb_config()
        await run_lstm(dut, conf["seed"] + 1, 16, 0.0, 0.0, check_rate=True)

    @cocotb.test(timeout_time=5, timeout_unit="ms")
    async def lstm_reset_mid_stream(dut) -> None:
        """A reset with beats in flight drops them; the beats sent afterwards are all correct."""
        from cocotb.triggers import RisingEdge
        from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        peephole, lanes = bool(conf["peephole"]), int(conf["lanes"])
        seed = conf["seed"] + 2
        rng = np.random.default_rng(seed)
        stim, labels = stimulus(cfg, peephole, 8, rng)
        beats = stim["c"].size // lanes
        units = beats * lanes
        stim = {k: v[..., :units] for k, v in stim.items()}
        exp_h, exp_c, _ = expected(stim, cfg, peephole)
        words = beat_words(stim, cfg, peephole, lanes)
        source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        await reset_dut(dut)
        # junk beats (the same stimulus), reset while about half of the pipeline is full
        for w in words[: LATENCY // 2]:
            await source.send(AxiStreamFrame([w], tuser=0))
        await source.wait()
        for _ in range(LATENCY // 4):
            await RisingEdge(dut.clk)
        dut.rst.value = 1
        await RisingEdge(dut.clk)
        await RisingEdge(dut.clk)
        dut.rst.value = 0
        sink.clear()
        for _ in range(LATENCY + 4):
            await RisingEdge(dut.clk)
        assert sink.empty(), "ernn_lstm_cell produced output after a reset with no new input"
        users = [(t + 1) % (1 << USER_W) for t in range(beats)]
        for w, u in zip(words, users, strict=True):
            await source.send(AxiStreamFrame([w], tuser=u))
        out_words, out_users = [], []
        for _ in range(beats):
            frame = await sink.recv()
            out_words.append(int(frame.tdata[0]))
            out_users.append(int(frame.tuser))
        check(out_words, out_users, users, exp_h, exp_c, labels, cfg, lanes, seed)

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


# ------------------------------------------------------------------------------------------------------
# pytest: one build per (simulator, parameter set)
# (data bits, peephole, lanes): 8 bits is the plain-lookup activation path (no interpolation multiplier)
BOTH = [(16, 1, 1), (12, 0, 2)]
# Icarus by default, Verilator with -m slow (the GRU testbench covers 8 bits on Verilator)
ICARUS = [(8, 1, 2)]
SLOW = [(16, 0, 3), (10, 1, 1), (24, 1, 1)]
UNITS_PER_CLASS = 96


@pytest.mark.parametrize(("sim", "bits", "peephole", "lanes"), sim_cases(BOTH, ICARUS, SLOW))
def test_ernn_lstm_cell(
    sim: str, bits: int, peephole: int, lanes: int, request: pytest.FixtureRequest
) -> None:
    cfg = NumericsConfig.for_data_bits(bits)
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    conf = {
        "numerics": cfg.to_dict(),
        "peephole": peephole,
        "lanes": lanes,
        "seed": seed,
        "units": UNITS_PER_CLASS,
    }
    rtl_runner.run(
        TOPLEVEL, "test_ernn_lstm_cell", lstm_params(cfg, bool(peephole), lanes), sim=sim, config=conf
    )


def bad_name(case: tuple) -> str:
    return "-".join(f"{k}={v}" for k, v in case[0].items() if not str(k).endswith("FILE"))


BAD_PARAMETERS = [
    ({"PEEPHOLE": 2}, r"PEEPHOLE must be 0 or 1 \(got 2\)"),
    ({"ACT_W": 16, "ACT_F": 15}, r"ACT_F \(15\) must be in \[1, ACT_W - 2\]"),
    ({"CELL_W": 24, "CELL_F": 23}, r"CELL_F \(23\) must be in \[0, CELL_W - 2\]"),
]


# every check on Icarus (cheap), the first on Verilator too
@pytest.mark.parametrize(
    ("sim", "params", "pattern"), sim_cases(BAD_PARAMETERS[:1], BAD_PARAMETERS[1:], name=bad_name)
)
def test_ernn_lstm_cell_bad_parameters(sim: str, params: dict[str, object], pattern: str) -> None:
    # valid tables and formats, so that only the parameter under test can stop the elaboration
    good = lstm_params(NumericsConfig.for_data_bits(16), False, 1)
    rtl_runner.expect_elaboration_error(TOPLEVEL, {**good, **params}, pattern, sim=sim)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
