"""Testbench of rtl/ernn_gru_cell.v: every h_t equals ernn.golden.cells.gru_cell, bit for bit.

One golden call checks the whole unit: ``gru_cell(y_rz, y_in, y_hn, h_prev, bias, b_hn, numerics, log)`` on
all the units sent (unit u = beat * LANES + lane). Stimulus per unit (seeded, seed printed): zeros,
full-scale positive and negative (every field at its format's maximum / minimum), random extremes (each
field at its minimum or maximum), random full-scale, random moderate values (the trained-network regime),
and saturating reset terms (W_hn h + b_hn and W_in x + b_in + r * hn pushed past the gate format). The
saturation points the stimulus must reach (gate_pre, gru_hn) are checked. Random tvalid gaps and tready
back-pressure; tuser must follow its beat; a full-rate run must take one beat per clock; a reset in
mid-stream must drop the beats in flight and nothing else.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_act_tbutil import GRU_FORMATS, cell_format_params, pack_fields, sim_cases
from ernn_tbutil import first_divergence, pause_generator, reset_dut, seed_for

from ernn.golden.cells import gru_cell
from ernn.golden.formats import NumericsConfig, QFormat
from ernn.golden.ops import SaturationLog, quantize
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_gru_cell"
#: Pipeline depth of the RTL (docs/cells.md); the full-rate test checks the throughput against it.
LATENCY = 15
USER_W = 8
#: Saturation points the random stimulus must reach.
COVERED = ("gate_pre", "gru_hn")


def gru_params(cfg: NumericsConfig, lanes: int) -> dict[str, object]:
    return {**cell_format_params(cfg, GRU_FORMATS), "LANES": lanes, "USER_W": USER_W}


def _full(fmt: QFormat, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return rng.integers(fmt.min_int, fmt.max_int, size=shape, endpoint=True)


def _extreme(fmt: QFormat, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return rng.choice(np.array([fmt.min_int, fmt.max_int]), size=shape)


def stimulus(
    cfg: NumericsConfig, units_per_class: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per unit: y (4, H) and bias (4, H) in gate order r, z, in, hn; h (H,); and a class label."""
    yf, bf, df = cfg.ifft_out, cfg.bias, cfg.data
    parts: list[dict[str, np.ndarray]] = []
    labels: list[str] = []

    def add(label: str, y, b, h) -> None:
        parts.append({"y": np.asarray(y), "b": np.asarray(b), "h": np.asarray(h)})
        labels.extend([label] * np.shape(h)[0])

    n = units_per_class
    add("zeros", np.zeros((4, 2)), np.zeros((4, 2)), np.zeros(2))
    add(
        "full-scale positive",
        np.full((4, 1), yf.max_int),
        np.full((4, 1), bf.max_int),
        np.full(1, df.max_int),
    )
    add(
        "full-scale negative",
        np.full((4, 1), yf.min_int),
        np.full((4, 1), bf.min_int),
        np.full(1, df.min_int),
    )
    add("random extremes", _extreme(yf, (4, n), rng), _extreme(bf, (4, n), rng), _extreme(df, (n,), rng))
    add("random full-scale", _full(yf, (4, n), rng), _full(bf, (4, n), rng), _full(df, (n,), rng))
    add(
        "random moderate",
        quantize(rng.normal(0.0, 2.0, (4, 2 * n)), yf),
        quantize(rng.normal(0.0, 1.0, (4, 2 * n)), bf),
        quantize(rng.normal(0.0, 0.5, 2 * n), df),
    )
    # r near 1, W_hn h + b_hn and W_in x + b_in at the same extreme: hn and pre_n saturate
    sign = rng.choice(np.array([-1, 1]), size=n)
    ext_y = np.where(sign > 0, yf.max_int, yf.min_int)
    ext_b = np.where(sign > 0, bf.max_int, bf.min_int)
    add(
        "saturating reset term",
        np.stack([np.full(n, yf.max_int), _full(yf, (n,), rng), ext_y, ext_y]),
        np.stack([np.zeros(n, dtype=np.int64), _full(bf, (n,), rng), ext_b, ext_b]),
        _full(df, (n,), rng),
    )
    stim = {k: np.concatenate([p[k] for p in parts], axis=-1).astype(np.int64) for k in ("y", "b", "h")}
    return stim, labels


def beat_words(stim: dict[str, np.ndarray], cfg: NumericsConfig, lanes: int) -> list[int]:
    """s_axis_tdata per beat (layout in rtl/ernn_gru_cell.v)."""
    words = []
    for t in range(stim["h"].size // lanes):
        sl = slice(t * lanes, (t + 1) * lanes)
        words.append(
            pack_fields(
                [
                    (stim["y"][:, sl], cfg.ifft_out.word),
                    (stim["b"][:, sl], cfg.bias.word),
                    (stim["h"][sl], cfg.data.word),
                ]
            )
        )
    return words


def expected(stim: dict[str, np.ndarray], cfg: NumericsConfig) -> tuple[np.ndarray, SaturationLog]:
    log = SaturationLog()
    y, b = stim["y"], stim["b"]
    h = gru_cell(y[:2], y[2], y[3], stim["h"], b[:3], b[3], cfg, log)
    return h, log


def whole_beats(stim: dict[str, np.ndarray], lanes: int) -> dict[str, np.ndarray]:
    units = stim["h"].size // lanes * lanes
    return {k: v[..., :units] for k, v in stim.items()}


def check(
    out_words: list[int],
    out_users: list[int],
    users: list[int],
    exp_h: np.ndarray,
    labels: list[str],
    cfg: NumericsConfig,
    lanes: int,
    seed: int,
) -> None:
    got = np.array([rtl_runner.unpack(w, cfg.data.word, lanes) for w in out_words], dtype=np.int64).reshape(
        -1
    )
    msg = first_divergence(got, exp_h, ("unit",), seed, "ernn_gru_cell h_t: ")
    if msg:
        unit = int(np.argwhere(got != exp_h)[0][0])
        raise AssertionError(
            f"{msg}; unit {unit} is beat {unit // lanes}, lane {unit % lanes}, stimulus '{labels[unit]}'"
        )
    msg = first_divergence(np.array(out_users), np.array(users), ("beat",), seed, "ernn_gru_cell tuser: ")
    assert msg is None, msg


async def run_gru(
    dut, seed: int, units_per_class: int, p_gap: float, p_stall: float, check_rate: bool = False
) -> None:
    from cocotb.triggers import RisingEdge
    from cocotb.utils import get_sim_time
    from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

    conf = rtl_runner.tb_config()
    cfg = NumericsConfig.from_dict(conf["numerics"])
    lanes = int(conf["lanes"])
    rng = np.random.default_rng(seed)
    stim, labels = stimulus(cfg, units_per_class, rng)
    stim = whole_beats(stim, lanes)
    beats = stim["h"].size // lanes
    exp_h, log = expected(stim, cfg)
    dut._log.info(
        "ernn_gru_cell %s data, lanes %d: %d units, seed %d; golden saturations %s",
        cfg.data,
        lanes,
        beats * lanes,
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

    words = beat_words(stim, cfg, lanes)
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
    assert sink.empty(), "ernn_gru_cell produced more beats than it was given"
    check(out_words, out_users, users, exp_h, labels, cfg, lanes, seed)
    if check_rate:
        assert cycles <= beats + LATENCY + 4, (
            f"ernn_gru_cell took {cycles} clocks for {beats} beats at full rate (latency {LATENCY})"
        )


try:
    import cocotb

    @cocotb.test(timeout_time=5, timeout_unit="ms")
    async def gru_matches_golden(dut) -> None:
        """Every stimulus class with random tvalid gaps and tready back-pressure."""
        conf = rtl_runner.tb_config()
        await run_gru(dut, conf["seed"], conf["units"], 0.3, 0.3)

    @cocotb.test(timeout_time=5, timeout_unit="ms")
    async def gru_full_rate(dut) -> None:
        """No stalls: one beat per clock."""
        conf = rtl_runner.tb_config()
        await run_gru(dut, conf["seed"] + 1, 16, 0.0, 0.0, check_rate=True)

    @cocotb.test(timeout_time=5, timeout_unit="ms")
    async def gru_reset_mid_stream(dut) -> None:
        """A reset with beats in flight drops them; the beats sent afterwards are all correct."""
        from cocotb.triggers import RisingEdge
        from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        lanes = int(conf["lanes"])
        seed = conf["seed"] + 2
        rng = np.random.default_rng(seed)
        stim, labels = stimulus(cfg, 8, rng)
        stim = whole_beats(stim, lanes)
        beats = stim["h"].size // lanes
        exp_h, _ = expected(stim, cfg)
        words = beat_words(stim, cfg, lanes)
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
        assert sink.empty(), "ernn_gru_cell produced output after a reset with no new input"
        users = [(t + 1) % (1 << USER_W) for t in range(beats)]
        for w, u in zip(words, users, strict=True):
            await source.send(AxiStreamFrame([w], tuser=u))
        out_words, out_users = [], []
        for _ in range(beats):
            frame = await sink.recv()
            out_words.append(int(frame.tdata[0]))
            out_users.append(int(frame.tuser))
        check(out_words, out_users, users, exp_h, labels, cfg, lanes, seed)

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


# ------------------------------------------------------------------------------------------------------
# pytest: one build per (simulator, parameter set)
# (data bits, lanes): 8 bits is the plain-lookup activation path (no interpolation multiplier)
BOTH = [(16, 1), (8, 2)]
SLOW = [(12, 3), (10, 1), (24, 1)]
UNITS_PER_CLASS = 96


@pytest.mark.parametrize(("sim", "bits", "lanes"), sim_cases(BOTH, slow=SLOW))
def test_ernn_gru_cell(sim: str, bits: int, lanes: int, request: pytest.FixtureRequest) -> None:
    cfg = NumericsConfig.for_data_bits(bits)
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    conf = {"numerics": cfg.to_dict(), "lanes": lanes, "seed": seed, "units": UNITS_PER_CLASS}
    rtl_runner.run(TOPLEVEL, "test_ernn_gru_cell", gru_params(cfg, lanes), sim=sim, config=conf)


def bad_name(case: tuple) -> str:
    return "-".join(f"{k}={v}" for k, v in case[0].items() if not str(k).endswith("FILE"))


BAD_PARAMETERS = [
    ({"ACT_W": 16, "ACT_F": 0}, r"ACT_F \(0\) must be in \[1, ACT_W - 2\]"),
    ({"DATA_W": 16, "DATA_F": 16}, r"DATA_F \(16\) must be in \[0, DATA_W - 1\]"),
]


# every check on Icarus (cheap), the first on Verilator too
@pytest.mark.parametrize(
    ("sim", "params", "pattern"), sim_cases(BAD_PARAMETERS[:1], BAD_PARAMETERS[1:], name=bad_name)
)
def test_ernn_gru_cell_bad_parameters(sim: str, params: dict[str, object], pattern: str) -> None:
    # valid tables and formats, so that only the parameter under test can stop the elaboration
    good = gru_params(NumericsConfig.for_data_bits(16), 1)
    rtl_runner.expect_elaboration_error(TOPLEVEL, {**good, **params}, pattern, sim=sim)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
