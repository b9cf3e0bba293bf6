"""Testbench of rtl/ernn_fft_stage.v: one DIT stage equals the golden model's stage, bit for bit.

The reference is the stage function that ``ernn.golden.fft.fft_real`` / ``ifft_real`` apply for every stage
(``_stage``: the butterflies before rounding), followed by what those functions do at a stage boundary:
saturation to the output word (forward), or the round-half-up halving and saturation (inverse); stage 1
first applies the bit-reversal permutation (``bit_reverse_indices``), as the transforms do. The parameter
sets include widths that the transforms never use (a forward stage that saturates, an inverse stage into
a narrower word), the pruned last stages (forward: bins 0..k/2, inverse: real parts) and both
complex-multiplier forms.

Stimulus (seeded, seed printed): zeros, every element at the input minimum or maximum, alternating
extremes, impulses, random full-scale and random extreme vectors; random pipeline-enable stalls. A
mismatch names the first diverging vector, element and part, and the seed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_tbutil import first_divergence, seed_for

from ernn.golden.fft import _stage, bit_reverse_indices
from ernn.golden.formats import NumericsConfig, QFormat
from ernn.golden.ops import round_shift, saturate
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_fft_stage"
N_RANDOM = 120


def expected(z: np.ndarray, k: int, stage: int, inverse: bool, out_w: int, tw: QFormat) -> np.ndarray:
    """(N, 2, k) outputs of the stage for inputs ``z`` (N, 2, k) = (re, im), in the RTL's element order."""
    zz = np.moveaxis(z, 1, 0)  # (2, N, k), the golden layout
    if stage == 1:
        zz = zz[..., bit_reverse_indices(k)]
    out = _stage(zz, stage, k, tw, inverse=inverse)
    if inverse:
        out = round_shift(out, 1)
    return np.moveaxis(saturate(out, QFormat(out_w, 0)), 0, 1)


def stimulus(k: int, in_w: int, rng: np.random.Generator) -> np.ndarray:
    """Input vectors (N, 2, k) of Q(in_w) integers."""
    fmt = QFormat(in_w, 0)
    lo, hi = fmt.min_int, fmt.max_int
    vecs = [np.zeros((2, k)), np.full((2, k), hi), np.full((2, k), lo)]
    alt = np.where(np.arange(k) % 2 == 0, hi, lo)
    vecs += [np.stack((alt, alt[::-1])), np.stack((alt, -alt - 1))]
    for n in range(0, k, 3):
        for amp in (lo, hi):
            v = np.zeros((2, k))
            v[n % 2, n] = amp
            vecs.append(v)
    for i in range(N_RANDOM):
        if i % 2:
            vecs.append(rng.integers(lo, hi, size=(2, k), endpoint=True))
        else:
            vecs.append(np.where(rng.random((2, k)) < 0.5, lo, hi))
    return np.asarray(vecs, dtype=np.int64)


try:
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import ReadOnly, RisingEdge

    @cocotb.test(timeout_time=1, timeout_unit="ms")
    async def stage_matches_golden(dut) -> None:
        conf = rtl_runner.tb_config()
        seed, k, stage, inverse = int(conf["seed"]), int(conf["k"]), int(conf["stage"]), bool(conf["inverse"])
        in_w, out_w = int(conf["in_w"]), int(conf["out_w"])
        tw = NumericsConfig.from_dict(conf["numerics"]).twiddle
        levels = 2 if stage >= 3 else 1
        rng = np.random.default_rng(seed)
        z = stimulus(k, in_w, rng)
        exp = expected(z, k, stage, inverse, out_w, tw)
        # the outputs the stage forms (the pruned ones are zero and not compared)
        last = stage == k.bit_length() - 1
        n_out = k // 2 + 1 if last and not inverse else k
        parts = 1 if last and inverse else 2

        # no reset: the stage has no valid bits, the testbench tracks which level holds which vector
        dut.en.value = 0
        Clock(dut.clk, 10, unit="ns").start()
        await RisingEdge(dut.clk)
        pipe: list[int | None] = [None] * levels  # vector index held by each register level
        got = np.zeros((len(z), parts, n_out), dtype=np.int64)
        seen = 0
        i = 0
        while seen < len(z):
            en = int(rng.random() < 0.8)
            dut.en.value = en
            if i < len(z):
                dut.in_re.value = rtl_runner.pack(z[i, 0], in_w)
                dut.in_im.value = rtl_runner.pack(z[i, 1], in_w)
            await ReadOnly()
            if pipe[-1] is not None and en:
                out = (int(dut.out_re.value), int(dut.out_im.value))
                for p in range(parts):
                    got[pipe[-1], p] = rtl_runner.unpack(out[p], out_w, k)[:n_out]
                seen += 1
            await RisingEdge(dut.clk)
            if en:
                pipe = [i if i < len(z) else None, *pipe[:-1]]
                i += 1
        msg = first_divergence(
            got, exp[:, :parts, :n_out], ("vector", "part (0=re, 1=im)", "element"), seed, "ernn_fft_stage: "
        )
        assert msg is None, msg

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


# (K, STAGE, INVERSE, IN_W, OUT_W, CMUL_3M)
CASES = [
    (16, 1, 0, 12, 12, 1),  # bit reversal; a forward stage without growth saturates
    (16, 3, 1, 17, 16, 1),  # inverse, twiddle multipliers, halving into a narrower word
    (8, 3, 0, 18, 19, 0),  # last forward stage (bins 0..k/2), four-multiplier form
]
ICARUS = [(8, 3, 1, 20, 16, 1)]  # last inverse stage (real parts, ifft_out word); Verilator: slow


def case_id(case: tuple) -> str:
    k, stage, inverse, in_w, out_w, mul3 = case
    return f"k{k}-s{stage}-{'inv' if inverse else 'fwd'}-{in_w}to{out_w}-{'3m' if mul3 else '4m'}"


def cases() -> list:
    out = []
    for sim in rtl_runner.simulators():
        for case in CASES:
            out.append(pytest.param(sim, case, id=f"{sim}-{case_id(case)}"))
        for case in ICARUS:
            marks = () if sim == "icarus" else (pytest.mark.slow,)
            out.append(pytest.param(sim, case, marks=marks, id=f"{sim}-{case_id(case)}"))
    return out


@pytest.mark.parametrize(("sim", "case"), cases())
def test_ernn_fft_stage(sim: str, case: tuple, request: pytest.FixtureRequest) -> None:
    k, stage, inverse, in_w, out_w, mul3 = case
    cfg = NumericsConfig.for_data_bits(16, k)
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    words = rtl_runner.twiddle_words(k, cfg.twiddle)
    tw = rtl_runner.memh_file(rtl_runner.BUILD_ROOT / "data", f"twiddle-k{k}", words, 2 * cfg.twiddle.word)
    params = {
        "K": k,
        "STAGE": stage,
        "INVERSE": inverse,
        "IN_W": in_w,
        "OUT_W": out_w,
        "TW_W": cfg.twiddle.word,
        "TW_F": cfg.twiddle.frac,
        "TW_FILE": tw,
        "CMUL_3M": mul3,
    }
    conf = {
        "seed": seed,
        "k": k,
        "stage": stage,
        "inverse": inverse,
        "in_w": in_w,
        "out_w": out_w,
        "numerics": cfg.to_dict(),
    }
    rtl_runner.run(TOPLEVEL, "test_ernn_fft_stage", params, sim=sim, config=conf)


BAD_PARAMETERS = [
    ({"K": 16, "STAGE": 5}, r"STAGE must be in \[1, log2 K = 4\] \(got 5\)"),
    ({"K": 16, "STAGE": 3}, r"stage 3 of K = 16 needs TW_FILE"),
]


# every check on Icarus; the first on Verilator too
@pytest.mark.parametrize(
    ("sim", "params", "pattern"),
    [
        (sim, params, pattern)
        for sim in rtl_runner.simulators()
        for params, pattern in (BAD_PARAMETERS if sim == "icarus" else BAD_PARAMETERS[:1])
    ],
)
def test_ernn_fft_stage_bad_parameters(sim: str, params: dict[str, int], pattern: str) -> None:
    rtl_runner.expect_elaboration_error(TOPLEVEL, params, pattern, sim=sim)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
