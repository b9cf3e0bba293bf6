"""Testbench of rtl/ernn_proj_pe.v: every h block equals the golden projection (ernn.golden.matvec
accumulate and finish, then R12: saturate(align(y, ifft_out.frac, data.frac), data), as in
ernn.golden.network's LSTM layer step).

Stimulus (seeded, seed printed): random float circulant weights per layer (QH x PB blocks), quantized
to Q(weight_spectrum) with the formats NumericsConfig.for_weights fits to them; then a sequence of
layer passes, each PB m blocks of one layer in order (j = 0..PB-1), of four kinds: m in the cell's
range (|m| < 1, what o tanh(c) gives), full-scale random m (the sums saturate at the IFFT input and at
R12), all-zero m, and full-scale m of one sign. Layers come in a random order and back to back, so that
two layers' sums meet the two latch entries; random s_valid gaps and m_ready stalls (and none, at full
rate, where every pass's h block 0 must leave the engine's latency after its last m block). The
sideband must follow its layer's blocks, and nothing else may come out. A reset with a layer's sums
latched and the next layer's blocks in the FFT must leave nothing behind.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_tbutil import first_divergence, pause_generator, reset_dut, seed_for, sim_time_ns

from ernn.golden import matvec
from ernn.golden.formats import NumericsConfig
from ernn.golden.ops import align, saturate
from ernn.shape import BlockCirculant, ModelShape
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_proj_pe"
#: the clock reset_dut starts (ns)
CLOCK_NS = 10


def make_case(
    k: int, hidden: int, proj: int, layers: int, bits: int, seed: int
) -> tuple[NumericsConfig, list[matvec.Spectra]]:
    """Formats and per-layer quantized projection spectra (1, QH, PB, bins) of random weights."""
    rng = np.random.default_rng(seed)
    shape = ModelShape(
        cell="lstm", input_size=k, hidden_size=hidden, proj_size=proj, structure=BlockCirculant(k)
    )
    qh, pb = -(-proj // k), -(-hidden // k)
    vectors = [rng.normal(0.0, 0.6 / np.sqrt(hidden), size=(1, qh, pb, k)) for _ in range(layers)]
    max_spec = max(matvec.max_spectrum_component(v) for v in vectors)
    cfg = NumericsConfig.for_weights(shape, max_spec, 1.0, 1.0, bits)
    return cfg, [matvec.quantize_matrix(v, cfg.weight_spectrum) for v in vectors]


def golden_projection(spectra: matvec.Spectra, m: np.ndarray, proj: int, cfg: NumericsConfig) -> np.ndarray:
    """h = R12(W_hr m) of Q(data) m (N, hidden): (N, proj) Q(data)."""
    acc = matvec.accumulate(spectra, m, cfg)
    y = matvec.finish(acc, proj, cfg)[..., 0, :]
    return saturate(align(y, cfg.ifft_out.frac, cfg.data.frac), cfg.data)


def weight_words(spectra: list[matvec.Spectra], cfg: NumericsConfig) -> list[int]:
    """W_FILE words: (layer, j) -> QH x BINS complex spectra, element b BINS + m, re low, im high."""
    w = cfg.weight_spectrum.word
    words = []
    for s in spectra:
        pb = s.re.shape[2]
        for j in range(pb):
            inter = np.stack((s.re[0, :, j, :], s.im[0, :, j, :]), axis=-1).reshape(-1)  # b, m, re/im
            words.append(rtl_runner.pack(inter, w))
    return words


def params_for(
    k: int, hidden: int, proj: int, layers: int, cfg: NumericsConfig, words: list[int], mreg: int
) -> dict:
    qh, pb = -(-proj // k), -(-hidden // k)
    bins = k // 2 + 1
    data = rtl_runner.BUILD_ROOT / "data"
    tw = rtl_runner.memh_file(
        data, f"twiddle-k{k}", rtl_runner.twiddle_words(k, cfg.twiddle), 2 * cfg.twiddle.word
    )
    wf = rtl_runner.memh_file(data, "proj-pe-w", words, qh * bins * 2 * cfg.weight_spectrum.word)
    return {
        "K": k,
        "QH": qh,
        "PB": pb,
        "LAYERS": layers,
        "OUT_SIZE": proj,
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
        "IFFT_OUT_W": cfg.ifft_out.word,
        "W_FILE": wf,
        "USER_W": 3,
        "MREG": mreg,
    }


def passes(
    cfg: NumericsConfig, hidden: int, layers: int, rng: np.random.Generator, n: int
) -> list[tuple[int, np.ndarray, str]]:
    """(layer, m (hidden,) Q(data), label) per layer pass."""
    d = cfg.data
    one = 1 << d.frac
    out = []
    kinds = ["cell range", "full scale", "zeros", "one sign"]
    for i in range(n):
        kind = kinds[i % len(kinds)] if i < 2 * len(kinds) else kinds[int(rng.integers(0, 2))]
        if kind == "cell range":
            m = rng.integers(-one + 1, one, size=hidden)
        elif kind == "full scale":
            m = rng.integers(d.min_int, d.max_int + 1, size=hidden)
        elif kind == "zeros":
            m = np.zeros(hidden, dtype=np.int64)
        else:
            m = np.full(hidden, d.max_int if rng.random() < 0.5 else d.min_int)
        out.append((int(rng.integers(0, layers)), np.asarray(m, dtype=np.int64), kind))
    return out


def engine_latency(k: int, mreg: int) -> int:
    """Clocks from the edge that takes a layer's last m block to the edge that hands out its h block 0:
    FFT, the multipliers' register, the latch, the rounding register, IFFT (rtl/ernn_proj_pe.v)."""
    lk = k.bit_length() - 1
    transform = 2 * lk - 2 + mreg * (lk - 2)
    return transform + mreg + 2 + transform


async def run_proj(
    dut,
    conf: dict,
    p_gap: float,
    p_stall: float,
    n_passes: int,
    seed: int,
    *,
    reset_mid_pass: bool = False,
    check_latency: bool = False,
) -> None:
    """``reset_mid_pass``: first a pass and a half at full rate with m_ready low (a layer's sums latched
    and claimed, the next layer's blocks in the FFT), then a reset in the clock after the last of them;
    everything after must be as if nothing came before. ``check_latency`` (no gaps, no stalls): every
    pass's h block 0 leaves :func:`engine_latency` clocks after its last m block was taken."""
    import cocotb
    from cocotb.triggers import ReadOnly, RisingEdge

    k, hidden, proj, layers, bits = (conf[x] for x in ("k", "hidden", "proj", "layers", "bits"))
    cfg, spectra = make_case(k, hidden, proj, layers, bits, conf["case_seed"])
    qh, pb = -(-proj // k), -(-hidden // k)
    rng = np.random.default_rng(seed)
    work = passes(cfg, hidden, layers, rng, n_passes)
    users = rng.integers(0, 8, size=len(work))
    expected = np.stack([golden_projection(spectra[layer], m[None, :], proj, cfg)[0] for layer, m, _ in work])
    pad = np.zeros((len(work), qh * k), dtype=np.int64)
    pad[:, :proj] = expected
    dut._log.info(
        "ernn_proj_pe k=%d H=%d P=%d layers=%d %d-bit, %d passes, seed %d",
        k,
        hidden,
        proj,
        layers,
        bits,
        len(work),
        seed,
    )

    dut.s_valid.value = 0
    dut.m_ready.value = 0
    await reset_dut(dut)
    w = cfg.data.word
    if reset_mid_pass:
        d = cfg.data
        for i in range(pb + pb // 2 + 1):
            j = i % pb
            dut.s_valid.value = 1
            dut.s_data.value = rtl_runner.pack(rng.integers(d.min_int, d.max_int + 1, size=k), w)
            dut.s_blk.value = j
            dut.s_last.value = int(j == pb - 1)
            dut.s_layer.value = int(rng.integers(0, layers))
            dut.s_user.value = int(rng.integers(0, 8))
            await RisingEdge(dut.clk)
        dut.s_valid.value = 0
        dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        await RisingEdge(dut.clk)
    take_ns = np.zeros(len(work), dtype=np.int64)  # the edge that took each pass's last m block
    out_ns = np.zeros(len(work), dtype=np.int64)  # the edge that handed out its h block 0

    async def drive() -> None:
        gaps = pause_generator(rng, p_gap)
        for p, ((layer, m, _), user) in enumerate(zip(work, users, strict=True)):
            mp = np.zeros(pb * k, dtype=np.int64)
            mp[:hidden] = m
            for j in range(pb):
                while next(gaps):
                    dut.s_valid.value = 0
                    await RisingEdge(dut.clk)
                dut.s_valid.value = 1
                dut.s_data.value = rtl_runner.pack(mp[j * k : (j + 1) * k], w)
                dut.s_blk.value = j
                dut.s_last.value = int(j == pb - 1)
                dut.s_layer.value = layer
                dut.s_user.value = int(user)
                while True:  # the beat is taken at the edge where s_ready is high
                    await ReadOnly()
                    taken = bool(dut.s_ready.value)
                    await RisingEdge(dut.clk)
                    if taken:
                        take_ns[p] = sim_time_ns()
                        break
        dut.s_valid.value = 0

    got = np.zeros_like(pad)
    got_tag = np.zeros((len(work), qh, 3), dtype=np.int64)  # layer, user, last per output block
    stalls = pause_generator(rng, p_stall)
    driver = cocotb.start_soon(drive())
    count = 0
    timeout = 200 * (len(work) * (pb + qh) + 50)
    for _ in range(timeout):
        dut.m_ready.value = int(not next(stalls))
        await ReadOnly()
        handed = bool(dut.m_valid.value and dut.m_ready.value)
        if handed:
            if count >= len(work) * qh:
                raise AssertionError(
                    f"ernn_proj_pe: an h block more than the {len(work) * qh} expected (seed {seed})"
                )
            p, b = divmod(count, qh)
            assert int(dut.m_blk.value) == b, (
                f"ernn_proj_pe: pass {p} block {b} came out as m_blk {int(dut.m_blk.value)} (seed {seed})"
            )
            got[p, b * k : (b + 1) * k] = rtl_runner.unpack(int(dut.m_data.value), w, k)
            got_tag[p, b] = (int(dut.m_layer.value), int(dut.m_user.value), int(dut.m_last.value))
            count += 1
        await RisingEdge(dut.clk)
        if handed and b == 0:
            out_ns[p] = sim_time_ns()
        if count == len(work) * qh and driver.done():
            break
    for _ in range(30):  # nothing more may come out
        dut.m_ready.value = 1
        await ReadOnly()
        assert not dut.m_valid.value, f"ernn_proj_pe: an h block after the {count} expected (seed {seed})"
        await RisingEdge(dut.clk)
    assert count == len(work) * qh, (
        f"ernn_proj_pe: {count} of {len(work) * qh} h blocks came out (seed {seed})"
    )
    msg = first_divergence(got, pad, ("pass", "sample"), seed, "ernn_proj_pe: ")
    if msg:
        first = int(np.argwhere(got != pad)[0][0])
        raise AssertionError(f"{msg}; pass {first} is '{work[first][2]}' on layer {work[first][0]}")
    want_tag = np.zeros_like(got_tag)
    for p, (layer, _, _) in enumerate(work):
        want_tag[p, :, 0] = layer
        want_tag[p, :, 1] = users[p]
        want_tag[p, qh - 1, 2] = 1
    msg = first_divergence(
        got_tag, want_tag, ("pass", "block", "layer/user/last"), seed, "ernn_proj_pe sideband: "
    )
    assert msg is None, msg
    if check_latency:
        latency = (out_ns - take_ns) // CLOCK_NS
        want = engine_latency(k, conf["mreg"])
        assert np.all(latency == want), f"ernn_proj_pe: h block 0 after {latency.tolist()} clocks, not {want}"


try:
    import cocotb

    @cocotb.test(timeout_time=5, timeout_unit="ms")
    async def proj_matches_golden(dut) -> None:
        """Random s_valid gaps and m_ready stalls, every stimulus kind."""
        conf = rtl_runner.tb_config()
        await run_proj(dut, conf, 0.3, 0.4, 24, int(conf["seed"]))

    @cocotb.test(timeout_time=5, timeout_unit="ms")
    async def proj_full_rate(dut) -> None:
        """No gaps, no stalls: one m block a clock, layers back to back."""
        conf = rtl_runner.tb_config()
        await run_proj(dut, conf, 0.0, 0.0, 16, int(conf["seed"]) + 1, check_latency=True)

    @cocotb.test(timeout_time=5, timeout_unit="ms")
    async def proj_reset_mid_pass(dut) -> None:
        """A reset with a layer's sums latched and the next layer's blocks in flight, then gaps and stalls."""
        conf = rtl_runner.tb_config()
        await run_proj(dut, conf, 0.2, 0.3, 8, int(conf["seed"]) + 2, reset_mid_pass=True)

except ImportError:  # pragma: no cover
    pass


# ------------------------------------------------------------------------------------------------------
# pytest: one build per (simulator, parameter set): (k, hidden, proj, layers, data bits, MREG)
CASES = [
    (4, 64, 8, 2, 16, 1),  # the shapes the engine is for: k 4, many m blocks, few h blocks
    (8, 40, 12, 1, 16, 0),  # a partial last h block (4 of 8 samples), no multiplier registers
    (4, 4, 3, 3, 12, 1),  # one m block (first and last at once), three layers
]
SLOW_CASES = [(16, 48, 20, 2, 8, 1), (16, 64, 16, 1, 16, 1)]


def _run(sim: str, case: tuple[int, ...], request: pytest.FixtureRequest) -> None:
    k, hidden, proj, layers, bits, mreg = case
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    case_seed = seed ^ 0x5EED
    cfg, spectra = make_case(k, hidden, proj, layers, bits, case_seed)
    params = params_for(k, hidden, proj, layers, cfg, weight_words(spectra, cfg), mreg)
    conf = {
        "k": k,
        "hidden": hidden,
        "proj": proj,
        "layers": layers,
        "bits": bits,
        "mreg": mreg,
        "case_seed": case_seed,
        "seed": seed,
    }
    rtl_runner.run(TOPLEVEL, "test_ernn_proj_pe", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize("case", CASES)
def test_ernn_proj_pe(sim: str, case: tuple[int, ...], request: pytest.FixtureRequest) -> None:
    _run(sim, case, request)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize("case", SLOW_CASES)
def test_ernn_proj_pe_slow(sim: str, case: tuple[int, ...], request: pytest.FixtureRequest) -> None:
    _run(sim, case, request)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_proj_pe_bad_parameters(sim: str) -> None:
    # OUT_SIZE must fill the QH output blocks: 9 samples do not fit 2 blocks of 4
    rtl_runner.expect_elaboration_error(
        TOPLEVEL, {"K": 4, "QH": 2, "OUT_SIZE": 9, "W_FILE": "none.mem"}, r"OUT_SIZE \(9\) must fill", sim=sim
    )


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
