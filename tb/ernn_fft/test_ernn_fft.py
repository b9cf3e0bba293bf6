"""Testbench of rtl/ernn_fft.v: every bin of every block equals ernn.golden.fft.fft_real, bit for bit.

Stimulus (seeded, seed printed): zeros, full-scale positive and negative blocks, alternating signs,
impulses of both extreme amplitudes at every position, random full-scale, random small and random
extreme (every sample at the format minimum or maximum) blocks. The all-minimum and alternating blocks
reach the most negative value of the output format exactly (the width corner of every stage). Random
tvalid gaps and tready back-pressure; tuser must follow its block.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_tbutil import first_divergence, pause_generator, reset_dut, seed_for

from ernn.golden.fft import fft_real
from ernn.golden.formats import NumericsConfig, QFormat
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_fft"


def fft_params(cfg: NumericsConfig, k: int) -> dict[str, object]:
    """Verilog parameters of ernn_fft for a numerics config (twiddle file written here)."""
    words = rtl_runner.twiddle_words(k, cfg.twiddle)
    tw = rtl_runner.memh_file(rtl_runner.BUILD_ROOT / "data", f"twiddle-k{k}", words, 2 * cfg.twiddle.word)
    return {
        "K": k,
        "IN_W": cfg.data.word,
        "OUT_W": cfg.fft_out.word,
        "TW_W": cfg.twiddle.word,
        "TW_F": cfg.twiddle.frac,
        "TW_FILE": tw,
    }


def stimulus(k: int, fmt: QFormat, rng: np.random.Generator, n_random: int) -> tuple[np.ndarray, list[str]]:
    """Test blocks (N, k) in ``fmt`` and a label per block."""
    lo, hi = fmt.min_int, fmt.max_int
    blocks: list[np.ndarray] = []
    labels: list[str] = []

    def add(x: np.ndarray, label: str) -> None:
        blocks.append(np.asarray(x, dtype=np.int64))
        labels.append(label)

    add(np.zeros(k), "zeros")
    add(np.full(k, hi), "full-scale positive")
    add(np.full(k, lo), "full-scale negative")
    alt = np.where(np.arange(k) % 2 == 0, hi, lo)
    add(alt, "alternating +-")
    add(np.where(np.arange(k) % 2 == 0, lo, hi), "alternating -+")
    for n in range(k):
        for amp, name in ((hi, "max"), (lo, "min")):
            x = np.zeros(k)
            x[n] = amp
            add(x, f"impulse {name} at {n}")
    for i in range(n_random):
        add(rng.integers(lo, hi, size=k, endpoint=True), f"random full-scale {i}")
    for i in range(n_random // 4):
        add(rng.integers(-8, 8, size=k, endpoint=True), f"random small {i}")
    for i in range(n_random // 2):
        add(rng.choice([lo, hi], size=k), f"random extreme {i}")
    return np.stack(blocks), labels


async def run_fft(
    dut, cfg: NumericsConfig, seed: int, n_random: int, p_valid_gap: float, p_stall: float
) -> None:
    from cocotb.triggers import RisingEdge
    from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

    k = cfg.block_size
    rng = np.random.default_rng(seed)
    in_fmt = QFormat(cfg.fft_out.word - cfg.log2_k, cfg.fft_out.frac)
    # the RTL input port is data.word wide; the golden input format may be wider: stay in the port's range
    port_fmt = QFormat(cfg.data.word, cfg.data.frac) if cfg.data.word < in_fmt.word else in_fmt
    blocks, labels = stimulus(k, port_fmt, rng, n_random)
    exp_re, exp_im = fft_real(blocks, cfg.twiddle, cfg.fft_out)
    users = rng.integers(0, 2, size=len(blocks))
    dut._log.info("ernn_fft k=%d %s -> %s, %d blocks, seed %d", k, cfg.data, cfg.fft_out, len(blocks), seed)

    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
    source.set_pause_generator(pause_generator(rng, p_valid_gap))
    sink.set_pause_generator(pause_generator(rng, p_stall))
    await reset_dut(dut)

    in_w, out_w = cfg.data.word, cfg.fft_out.word
    for x, u in zip(blocks, users, strict=True):
        await source.send(AxiStreamFrame([rtl_runner.pack(x, in_w)], tuser=int(u)))
    got_re = np.zeros_like(exp_re)
    got_im = np.zeros_like(exp_im)
    got_user = np.zeros_like(users)
    bins = k // 2 + 1
    for b in range(len(blocks)):
        frame = await sink.recv()
        fields = rtl_runner.unpack(int(frame.tdata[0]), out_w, 2 * bins)
        got_re[b] = fields[0::2]
        got_im[b] = fields[1::2]
        got_user[b] = int(frame.tuser)
    for _ in range(4):
        await RisingEdge(dut.clk)
    assert sink.empty(), "ernn_fft produced more blocks than it was given"
    got = np.stack((got_re, got_im), axis=-1)
    exp = np.stack((exp_re, exp_im), axis=-1)
    msg = first_divergence(got, exp, ("block", "bin", "part (0=re, 1=im)"), seed, "ernn_fft: ")
    if msg:
        first = int(np.argwhere(got != exp)[0][0])
        raise AssertionError(f"{msg}; block {first} is '{labels[first]}'")
    msg = first_divergence(got_user, users, ("block",), seed, "ernn_fft tuser: ")
    assert msg is None, msg


try:
    import cocotb

    @cocotb.test(timeout_time=2, timeout_unit="ms")
    async def fft_matches_golden(dut) -> None:
        """Random stalls on both sides, every stimulus class."""
        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        await run_fft(dut, cfg, conf["seed"], conf.get("n_random", 48), 0.3, 0.3)

    @cocotb.test(timeout_time=2, timeout_unit="ms")
    async def fft_full_rate(dut) -> None:
        """No stalls: one block per clock (initiation interval 1)."""
        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        await run_fft(dut, cfg, conf["seed"] + 1, 16, 0.0, 0.0)

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


# ------------------------------------------------------------------------------------------------------
# pytest: one build per (simulator, parameter set)
# k = 32 also runs in the default suite inside the PE (tb/ernn_pe, k = 32 on both simulators)
CASES = [(4, 16), (8, 12), (16, 16)]
SLOW_CASES = [(32, 10), (16, 8), (32, 16), (64, 16)]


def _run(sim: str, k: int, bits: int, request: pytest.FixtureRequest, mreg: int = 0) -> None:
    cfg = NumericsConfig.for_data_bits(bits, k)
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    rtl_runner.run(
        TOPLEVEL,
        "test_ernn_fft",
        fft_params(cfg, k) | {"MREG": mreg},
        sim=sim,
        config={"numerics": cfg.to_dict(), "seed": seed},
    )


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("k", "bits"), CASES)
def test_ernn_fft(sim: str, k: int, bits: int, request: pytest.FixtureRequest) -> None:
    _run(sim, k, bits, request)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("k", "bits"), SLOW_CASES)
def test_ernn_fft_slow(sim: str, k: int, bits: int, request: pytest.FixtureRequest) -> None:
    _run(sim, k, bits, request)


# the multiplier outputs registered (MREG = 1, the PE's default: tb/ernn_pe runs it in the default suite)
@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("k", "bits"), [(8, 12), (16, 16), (32, 16)])
def test_ernn_fft_mreg(sim: str, k: int, bits: int, request: pytest.FixtureRequest) -> None:
    _run(sim, k, bits, request, mreg=1)


BAD_PARAMETERS = [
    ({"K": 12, "OUT_W": 20}, r"K must be a power of two"),
    ({"K": 4, "IN_W": 16, "OUT_W": 17}, r"OUT_W \(17\) must be >= IN_W \+ log2 K = 18"),
    ({"K": 8, "OUT_W": 19}, r"needs TW_FILE"),
]


# every check on Icarus; one on Verilator too (a Verilator model build is the expensive part)
@pytest.mark.parametrize(
    ("sim", "params", "pattern"),
    [
        (sim, params, pattern)
        for sim in rtl_runner.simulators()
        for params, pattern in (BAD_PARAMETERS if sim == "icarus" else BAD_PARAMETERS[1:2])
    ],
)
def test_ernn_fft_bad_parameters(sim: str, params: dict[str, int], pattern: str) -> None:
    rtl_runner.expect_elaboration_error(TOPLEVEL, params, pattern, sim=sim)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
