"""Testbench of rtl/ernn_ifft.v: every sample equals ernn.golden.fft.ifft_real (saturated to Q(ifft_out)).

Stimulus (seeded, seed printed): zeros, full-scale positive and negative spectra, alternating signs
across bins, impulses of both extreme amplitudes in the real and the imaginary part of every bin,
random full-scale spectra (they saturate inside the transform), random small spectra and spectra of
real blocks (what the PE feeds it). The imaginary parts of bins 0 and k/2 carry random values that the
transform must ignore. Random tvalid gaps and tready back-pressure; tuser must follow its block.

The input range is the contract's symmetric one, [-(2**(W-1) - 1), 2**(W-1) - 1] (ernn.golden.matvec.acc_to_ifft
saturates to it, ifft_real rejects the most negative code): "full-scale negative" is -(2**(W-1) - 1).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_tbutil import first_divergence, pause_generator, reset_dut, seed_for

from ernn.golden.fft import ifft_real
from ernn.golden.formats import NumericsConfig, QFormat
from ernn.golden.ops import saturate
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_ifft"


def ifft_params(cfg: NumericsConfig, k: int, out: QFormat) -> dict[str, object]:
    """Verilog parameters of ernn_ifft (twiddle file written here)."""
    words = rtl_runner.twiddle_words(k, cfg.twiddle)
    tw = rtl_runner.memh_file(rtl_runner.BUILD_ROOT / "data", f"twiddle-k{k}", words, 2 * cfg.twiddle.word)
    return {
        "K": k,
        "IN_W": cfg.ifft.word,
        "OUT_W": out.word,
        "TW_W": cfg.twiddle.word,
        "TW_F": cfg.twiddle.frac,
        "TW_FILE": tw,
    }


def stimulus(
    k: int, fmt: QFormat, rng: np.random.Generator, n_random: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Spectra (re, im), each (N, k/2 + 1) in ``fmt``, and a label per spectrum."""
    bins = k // 2 + 1
    lo, hi = fmt.min_int, fmt.max_int
    res: list[np.ndarray] = []
    ims: list[np.ndarray] = []
    labels: list[str] = []

    def add(re: np.ndarray, im: np.ndarray, label: str) -> None:
        res.append(np.asarray(re, dtype=np.int64))
        ims.append(np.asarray(im, dtype=np.int64))
        labels.append(label)

    z = np.zeros(bins)
    add(z, z, "zeros")
    add(np.full(bins, hi), z, "full-scale positive (real)")
    add(np.full(bins, lo), z, "full-scale negative (real)")
    add(np.full(bins, hi), np.full(bins, hi), "full-scale positive (re, im)")
    add(np.full(bins, lo), np.full(bins, lo), "full-scale negative (re, im)")
    alt = np.where(np.arange(bins) % 2 == 0, hi, lo)
    add(alt, z, "alternating +- (real)")
    add(alt, alt[::-1], "alternating +- (re, im)")
    for m in range(bins):
        for amp, name in ((hi, "max"), (lo, "min")):
            x = np.zeros(bins)
            x[m] = amp
            add(x, z, f"impulse re {name} in bin {m}")
            add(z, x, f"impulse im {name} in bin {m}")
    for i in range(n_random):
        add(
            rng.integers(lo, hi, size=bins, endpoint=True),
            rng.integers(lo, hi, size=bins, endpoint=True),
            f"random full-scale {i}",
        )
    for i in range(n_random // 4):
        add(
            rng.integers(-8, 8, size=bins, endpoint=True),
            rng.integers(-8, 8, size=bins, endpoint=True),
            f"random small {i}",
        )
    for i in range(n_random // 2):
        # spectrum of a real block at a random level (numpy's float FFT only builds the stimulus)
        spec = np.fft.rfft(rng.standard_normal(k)) * (hi / (4 * np.sqrt(k))) * rng.uniform(0.05, 4.0)
        add(
            np.clip(np.rint(spec.real), lo, hi),
            np.clip(np.rint(spec.imag), lo, hi),
            f"real-signal spectrum {i}",
        )
    re = np.stack(res)
    im = np.stack(ims)
    # bins 0 and k/2 are real: whatever arrives in their imaginary part must be ignored
    im[:, 0] = rng.integers(lo, hi, size=len(im), endpoint=True)
    im[:, -1] = rng.integers(lo, hi, size=len(im), endpoint=True)
    # the contract's IFFT input range is symmetric (acc_to_ifft saturates to +-max_int): no min_int
    return np.maximum(re, lo + 1), np.maximum(im, lo + 1), labels


async def run_ifft(
    dut, cfg: NumericsConfig, out: QFormat, seed: int, n_random: int, p_gap: float, p_stall: float
) -> None:
    from cocotb.triggers import RisingEdge
    from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

    k = cfg.block_size
    bins = k // 2 + 1
    rng = np.random.default_rng(seed)
    re, im, labels = stimulus(k, cfg.ifft, rng, n_random)
    expected = saturate(ifft_real(re, im, cfg.twiddle, cfg.ifft), out)
    users = rng.integers(0, 2, size=len(re))
    dut._log.info("ernn_ifft k=%d %s -> %s, %d spectra, seed %d", k, cfg.ifft, out, len(re), seed)

    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
    source.set_pause_generator(pause_generator(rng, p_gap))
    sink.set_pause_generator(pause_generator(rng, p_stall))
    await reset_dut(dut)

    w = cfg.ifft.word
    for r, i, u in zip(re, im, users, strict=True):
        inter = np.stack((r, i), axis=-1).reshape(-1)
        await source.send(AxiStreamFrame([rtl_runner.pack(inter, w)], tuser=int(u)))
    got = np.zeros_like(expected)
    got_user = np.zeros_like(users)
    for b in range(len(re)):
        frame = await sink.recv()
        got[b] = rtl_runner.unpack(int(frame.tdata[0]), out.word, k)
        got_user[b] = int(frame.tuser)
    for _ in range(4):
        await RisingEdge(dut.clk)
    assert sink.empty(), "ernn_ifft produced more blocks than it was given"
    msg = first_divergence(got, expected, ("block", "sample"), seed, "ernn_ifft: ")
    if msg:
        first = int(np.argwhere(got != expected)[0][0])
        raise AssertionError(f"{msg}; block {first} is '{labels[first]}' (bins = {bins})")
    msg = first_divergence(got_user, users, ("block",), seed, "ernn_ifft tuser: ")
    assert msg is None, msg


try:
    import cocotb

    def _setup() -> tuple[NumericsConfig, QFormat, int]:
        conf = rtl_runner.tb_config()
        cfg = NumericsConfig.from_dict(conf["numerics"])
        out = QFormat.from_dict(conf["out"])
        return cfg, out, int(conf["seed"])

    @cocotb.test(timeout_time=2, timeout_unit="ms")
    async def ifft_matches_golden(dut) -> None:
        """Random stalls on both sides, every stimulus class."""
        cfg, out, seed = _setup()
        await run_ifft(dut, cfg, out, seed, 48, 0.3, 0.3)

    @cocotb.test(timeout_time=2, timeout_unit="ms")
    async def ifft_full_rate(dut) -> None:
        """No stalls: one spectrum per clock (initiation interval 1)."""
        cfg, out, seed = _setup()
        await run_ifft(dut, cfg, out, seed + 1, 16, 0.0, 0.0)

except ImportError:  # pragma: no cover
    pass


# ------------------------------------------------------------------------------------------------------
# pytest: one build per (simulator, parameter set); "out" = the output format: ifft_out, or the bare
# transform (OUT_W = IN_W)
# k = 32 also runs in the default suite inside the PE (tb/ernn_pe, k = 32 on both simulators)
CASES = [(4, 16, "ifft_out"), (8, 12, "ifft"), (16, 16, "ifft_out")]
SLOW_CASES = [(32, 10, "ifft_out"), (16, 8, "ifft"), (32, 16, "ifft_out"), (64, 16, "ifft_out")]


def _run(sim: str, k: int, bits: int, out_name: str, request: pytest.FixtureRequest, mreg: int = 0) -> None:
    cfg = NumericsConfig.for_data_bits(bits, k)
    out = getattr(cfg, out_name)
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    conf = {"numerics": cfg.to_dict(), "out": out.to_dict(), "seed": seed}
    params = ifft_params(cfg, k, out) | {"MREG": mreg}
    rtl_runner.run(TOPLEVEL, "test_ernn_ifft", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("k", "bits", "out"), CASES)
def test_ernn_ifft(sim: str, k: int, bits: int, out: str, request: pytest.FixtureRequest) -> None:
    _run(sim, k, bits, out, request)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("k", "bits", "out"), SLOW_CASES)
def test_ernn_ifft_slow(sim: str, k: int, bits: int, out: str, request: pytest.FixtureRequest) -> None:
    _run(sim, k, bits, out, request)


# the multiplier outputs registered (MREG = 1, the PE's default: tb/ernn_pe runs it in the default suite)
@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("k", "bits", "out"), [(8, 12, "ifft"), (16, 16, "ifft_out"), (32, 16, "ifft_out")])
def test_ernn_ifft_mreg(sim: str, k: int, bits: int, out: str, request: pytest.FixtureRequest) -> None:
    _run(sim, k, bits, out, request, mreg=1)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_ifft_bad_parameters(sim: str) -> None:
    # the output cannot be wider than the transform's word
    rtl_runner.expect_elaboration_error(
        TOPLEVEL, {"K": 4, "IN_W": 12, "OUT_W": 13}, r"2 <= OUT_W <= IN_W", sim=sim
    )


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
