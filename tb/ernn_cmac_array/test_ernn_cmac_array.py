"""Testbench of rtl/ernn_cmac_array.v: every lane's sum equals ernn.golden.matvec.cmac, bit for bit.

Runs of 1..8 products per accumulator with random weight addresses, bubbles inside runs and random
pipeline-enable stalls; operands are random, at the format extremes (min x min is the corner of the
exact product), or zero. Both complex-multiplier forms (3 and 4 multipliers) and the packed form
(DSP_PACK: two products per multiply, at the widest packable formats X_W + 2 W_W + 1 = 27), and real
lanes (REAL_BINS = 3: lanes 0 and 2 get x_im = 0, as bins 0 and k/2 of a real FFT, and must give the real
sum and acc_im = 0). A mismatch
names the run and the lane, and the seed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_tbutil import first_divergence, reset_dut, seed_for

from ernn.golden.formats import QFormat
from ernn.golden.matvec import cmac
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_cmac_array"
LANES, X_W, W_W, DEPTH, MAX_RUN = 3, 20, 16, 16, 8
# the packed form's widths: x 12 bits (8-bit data, k = 16), weight spectra 7 bits, 12 + 2 7 + 1 = 27
PACK_X_W, PACK_W_W = 12, 7
# real lanes: lanes l with l mod REAL_BINS in (0, REAL_BINS - 1), here lanes 0 and 2 of 3 (lane 1 complex)
REAL_BINS = 3


def acc_width(x_w: int, w_w: int) -> int:
    # one product component takes x_w + w_w + 1 bits (xr wi + xi wr is 2**(x_w + w_w - 1) when all four are
    # at their minimum), and a run of MAX_RUN of them clog2(MAX_RUN) = 3 more
    return x_w + w_w + 1 + 3


def weight_memory(seed: int, w_w: int = W_W) -> np.ndarray:
    """(DEPTH, LANES, 2) signed weights (re, im) of the ROM, extremes included."""
    rng = np.random.default_rng(seed)
    fmt = QFormat(w_w, 0)
    w = rng.integers(fmt.min_int, fmt.max_int, size=(DEPTH, LANES, 2), endpoint=True)
    w[0] = fmt.min_int
    w[1] = fmt.max_int
    w[2] = 0
    return w


def memory_words(w: np.ndarray, w_w: int = W_W) -> list[int]:
    words = []
    for row in w:
        word = 0
        for lane, (re, im) in enumerate(row):
            word |= (rtl_runner.pack([re, im], w_w)) << (2 * lane * w_w)
        words.append(word)
    return words


try:
    import cocotb
    from cocotb.triggers import ReadOnly, RisingEdge

    @cocotb.test(timeout_time=2, timeout_unit="ms")
    async def cmac_array_matches_golden(dut) -> None:
        conf = rtl_runner.tb_config()
        seed = int(conf["seed"])
        x_w, w_w = int(conf["x_w"]), int(conf["w_w"])
        real_lanes = list(conf["real_lanes"])
        acc_w = acc_width(x_w, w_w)
        rng = np.random.default_rng(seed + 7)
        wmem = weight_memory(seed, w_w)
        fx = QFormat(x_w, 0)
        runs = []
        for r in range(60):
            q = int(rng.integers(1, MAX_RUN + 1))
            addr = rng.integers(0, DEPTH, size=q)
            style = rng.choice(["random", "min", "max", "zero"], p=[0.7, 0.1, 0.1, 0.1])
            if style == "random":
                x = rng.integers(fx.min_int, fx.max_int, size=(q, LANES, 2), endpoint=True)
            else:
                x = np.full((q, LANES, 2), {"min": fx.min_int, "max": fx.max_int, "zero": 0}[str(style)])
                addr[:] = {"min": 0, "max": 1, "zero": 2}[str(style)] if r % 2 else addr
            x[:, real_lanes, 1] = 0  # a real lane's bins have no imaginary part
            runs.append((addr, x))
        # golden: lane l of run r sums W[addr_j][l] * x_j[l] (cmac of one matrix row, one bin)
        exp_re = np.zeros((len(runs), LANES), dtype=np.int64)
        exp_im = np.zeros_like(exp_re)
        for r, (addr, x) in enumerate(runs):
            w = wmem[addr]  # (q, LANES, 2)
            wr = w[..., 0].T[None, :, :, None]  # (1, LANES, q, 1)
            wi = w[..., 1].T[None, :, :, None]
            for lane in range(LANES):
                ar, ai = cmac(
                    wr[:, lane : lane + 1], wi[:, lane : lane + 1], x[:, lane, 0:1], x[:, lane, 1:2]
                )
                exp_re[r, lane], exp_im[r, lane] = int(ar[0, 0, 0]), int(ai[0, 0, 0])
        # a real lane holds acc_im at 0 (the IFFT never reads the imaginary parts of bins 0 and k/2)
        exp_im[:, real_lanes] = 0

        dut.en.value = 0
        dut.in_valid.value = 0
        await reset_dut(dut)
        beats = []
        for r, (addr, x) in enumerate(runs):
            for j in range(len(addr)):
                beats.append((int(addr[j]), x[j], j == 0, j == len(addr) - 1, r % 2))
        got_re, got_im, got_user = [], [], []
        pending_x = np.zeros((LANES, 2), dtype=np.int64)
        i = 0
        while len(got_re) < len(runs):
            en = rng.random() < 0.8
            dut.en.value = int(en)
            if en:
                # x belongs to the beat presented at the previous enabled clock
                dut.in_x_re.value = rtl_runner.pack(pending_x[:, 0], x_w)
                dut.in_x_im.value = rtl_runner.pack(pending_x[:, 1], x_w)
                if i < len(beats) and rng.random() < 0.85:
                    addr, x, first, last, user = beats[i]
                    i += 1
                    dut.in_valid.value = 1
                    dut.in_addr.value = addr
                    dut.in_first.value = int(first)
                    dut.in_last.value = int(last)
                    dut.in_user.value = user
                    pending_x = x
                else:
                    dut.in_valid.value = 0
                    dut.in_first.value = int(rng.random() < 0.5)  # must be ignored
                    dut.in_last.value = int(rng.random() < 0.5)
            await ReadOnly()
            if en and int(dut.acc_valid.value):
                got_re.append(rtl_runner.unpack(int(dut.acc_re.value), acc_w, LANES))
                got_im.append(rtl_runner.unpack(int(dut.acc_im.value), acc_w, LANES))
                got_user.append(int(dut.acc_user.value))
            await RisingEdge(dut.clk)
        got = np.stack((np.array(got_re), np.array(got_im)), axis=-1)
        exp = np.stack((exp_re, exp_im), axis=-1)
        msg = first_divergence(got, exp, ("run", "lane", "part (0=re, 1=im)"), seed, "ernn_cmac_array: ")
        assert msg is None, msg
        msg = first_divergence(np.array(got_user), np.arange(len(runs)) % 2, ("run",), seed, "acc_user: ")
        assert msg is None, msg

except ImportError:  # pragma: no cover
    pass


# the four-multiplier form, the packed form and the real lanes also run in the default suite inside the PE
# (tb/ernn_pe: k = 8, and the MAC-option case); "_mreg": the multiplier outputs registered (MREG = 1, the
# PE's default, so tb/ernn_pe runs it in the default suite)
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(
    "form",
    [
        "3m",
        *(
            pytest.param(f, marks=pytest.mark.slow)
            for f in ("4m", "pack", "real", "3m_mreg", "4m_mreg", "pack_mreg", "real_mreg")
        ),
    ],
)
def test_ernn_cmac_array(sim: str, form: str, request: pytest.FixtureRequest) -> None:
    seed = seed_for(request.node.nodeid.replace(f"[{sim}-", "[").replace(f"-{sim}]", "]"))
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    mreg = int(form.endswith("_mreg"))
    form = form.removesuffix("_mreg")
    x_w, w_w = (PACK_X_W, PACK_W_W) if form == "pack" else (X_W, W_W)
    words = memory_words(weight_memory(seed, w_w), w_w)
    wf = rtl_runner.memh_file(
        rtl_runner.BUILD_ROOT / "data", f"cmac-array-weights-{form}", words, LANES * 2 * w_w
    )
    params = {
        "P": LANES,
        "X_W": x_w,
        "W_W": w_w,
        "ACC_W": acc_width(x_w, w_w),
        "W_DEPTH": DEPTH,
        "W_FILE": wf,
        "CMUL_3M": int(form == "3m"),
        "DSP_PACK": int(form == "pack"),
        "REAL_BINS": REAL_BINS if form == "real" else 0,
        "MREG": mreg,
    }
    real_lanes = (
        [lane for lane in range(LANES) if lane % REAL_BINS in (0, REAL_BINS - 1)] if form == "real" else []
    )
    config = {"seed": seed, "x_w": x_w, "w_w": w_w, "real_lanes": real_lanes}
    rtl_runner.run(TOPLEVEL, "test_ernn_cmac_array", params, sim=sim, config=config)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_cmac_array_bad_parameters(sim: str) -> None:
    # the accumulator must at least hold one exact product
    wf = rtl_runner.memh_file(rtl_runner.BUILD_ROOT / "data", "zeros", [0, 0], 2 * 2 * 8)
    params = {"P": 2, "X_W": 8, "W_W": 8, "ACC_W": 16, "W_DEPTH": 2, "W_FILE": wf}
    rtl_runner.expect_elaboration_error(
        TOPLEVEL, params, r"ACC_W \(16\) must be >= X_W \+ W_W \+ 1 = 17", sim=sim
    )


# both simulators in the default suite (Verilator's elaboration takes about 10 s)
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_cmac_array_refuses_unpackable_widths(sim: str) -> None:
    # one bit too wide for the DSP48E2's 27-bit port: 12 + 2 * 8 + 1 = 29
    wf = rtl_runner.memh_file(rtl_runner.BUILD_ROOT / "data", "zeros-8", [0, 0], 2 * 2 * 8)
    params = {"P": 2, "X_W": 12, "W_W": 8, "ACC_W": 24, "W_DEPTH": 2, "W_FILE": wf, "DSP_PACK": 1}
    rtl_runner.expect_elaboration_error(
        TOPLEVEL,
        params,
        r"DSP_PACK needs X_W \+ 2 W_W \+ 1 <= 27 and X_W <= 18 .*got X_W=12 W_W=8: 29 bits",
        sim=sim,
    )


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
