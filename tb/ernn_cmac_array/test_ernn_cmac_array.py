"""Testbench of rtl/ernn_cmac_array.v: every lane's sum equals ernn.golden.matvec.cmac, bit for bit.

Runs of 1..8 products per accumulator with random weight addresses, bubbles inside runs and random
pipeline-enable stalls; operands are random, at the format extremes (min x min is the corner of the
exact product), or zero. Both complex-multiplier forms (3 and 4 multipliers) and the packed form
(DSP_PACK: two products per multiply, at the widest packable formats X_W + 2 W_W + 1 = 27), and real
lanes (REAL_BINS = 3: lanes 0 and 2 get x_im = 0, as bins 0 and k/2 of a real FFT, and must give the real
sum and acc_im = 0). Packed and real together at P = 9 (three row blocks) put the real lanes of blocks 0 and
1 on shared multiplies (ernn_rmac_pair) and leave block 2's alone; that case also starts every sum at the
rounding constant (ROUND_SHIFT). With REAL_BINS, lane l gets the x of bin l mod REAL_BINS, as in the PE (a
pair's lanes must see the same x; a second test checks that the array stops the run when they do not). A
mismatch names the run and the lane, and the seed.
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
# packed and real together: three row blocks of REAL_BINS lanes, so blocks 0 and 1 pair their real lanes (0 with
# 3, 2 with 5) and block 2's (6, 8) stay ernn_cmac REAL lanes; the sums start at 2**(PAIR_ROUND_SHIFT - 1)
PAIR_LANES, PAIR_ROUND_SHIFT = 3 * REAL_BINS, 5
PAIR_FATAL = "share a multiply but got different x"


def acc_width(x_w: int, w_w: int) -> int:
    # one product component takes x_w + w_w + 1 bits (xr wi + xi wr is 2**(x_w + w_w - 1) when all four are
    # at their minimum), and a run of MAX_RUN of them clog2(MAX_RUN) = 3 more
    return x_w + w_w + 1 + 3


def weight_memory(seed: int, w_w: int = W_W, lanes: int = LANES) -> np.ndarray:
    """(DEPTH, lanes, 2) signed weights (re, im) of the ROM, extremes included."""
    rng = np.random.default_rng(seed)
    fmt = QFormat(w_w, 0)
    w = rng.integers(fmt.min_int, fmt.max_int, size=(DEPTH, lanes, 2), endpoint=True)
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
        lanes, real_bins, round_shift = int(conf["lanes"]), int(conf["real_bins"]), int(conf["round_shift"])
        acc_w = acc_width(x_w, w_w)
        rng = np.random.default_rng(seed + 7)
        wmem = weight_memory(seed, w_w, lanes)
        fx = QFormat(x_w, 0)
        runs = []
        for r in range(60):
            q = int(rng.integers(1, MAX_RUN + 1))
            addr = rng.integers(0, DEPTH, size=q)
            style = rng.choice(["random", "min", "max", "zero"], p=[0.7, 0.1, 0.1, 0.1])
            if style == "random":
                x = rng.integers(fx.min_int, fx.max_int, size=(q, lanes, 2), endpoint=True)
            else:
                x = np.full((q, lanes, 2), {"min": fx.min_int, "max": fx.max_int, "zero": 0}[str(style)])
                addr[:] = {"min": 0, "max": 1, "zero": 2}[str(style)] if r % 2 else addr
            if real_bins:
                # the PE's contract: lane l multiplies bin l mod REAL_BINS, so lanes of one bin (one in each
                # row block) see the same x; a pair of real lanes shares one multiply of that x
                x = x[:, np.arange(lanes) % real_bins]
            x[:, real_lanes, 1] = 0  # a real lane's bins have no imaginary part
            runs.append((addr, x))
        # golden: lane l of run r sums W[addr_j][l] * x_j[l] (cmac of one matrix row, one bin)
        exp_re = np.zeros((len(runs), lanes), dtype=np.int64)
        exp_im = np.zeros_like(exp_re)
        for r, (addr, x) in enumerate(runs):
            w = wmem[addr]  # (q, lanes, 2)
            wr = w[..., 0].T[None, :, :, None]  # (1, lanes, q, 1)
            wi = w[..., 1].T[None, :, :, None]
            for lane in range(lanes):
                ar, ai = cmac(
                    wr[:, lane : lane + 1], wi[:, lane : lane + 1], x[:, lane, 0:1], x[:, lane, 1:2]
                )
                exp_re[r, lane], exp_im[r, lane] = int(ar[0, 0, 0]), int(ai[0, 0, 0])
        # ROUND_SHIFT: every run's sums start at the rounding constant (acc = C + sum of products), but a real
        # lane holds acc_im at 0 (the IFFT never reads the imaginary parts of bins 0 and k/2)
        if round_shift:
            exp_re += 1 << (round_shift - 1)
            exp_im += 1 << (round_shift - 1)
        exp_im[:, real_lanes] = 0

        dut.en.value = 0
        dut.in_valid.value = 0
        await reset_dut(dut)
        beats = []
        for r, (addr, x) in enumerate(runs):
            for j in range(len(addr)):
                beats.append((int(addr[j]), x[j], j == 0, j == len(addr) - 1, r % 2))
        got_re, got_im, got_user = [], [], []
        pending_x = np.zeros((lanes, 2), dtype=np.int64)
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
                got_re.append(rtl_runner.unpack(int(dut.acc_re.value), acc_w, lanes))
                got_im.append(rtl_runner.unpack(int(dut.acc_im.value), acc_w, lanes))
                got_user.append(int(dut.acc_user.value))
            await RisingEdge(dut.clk)
        got = np.stack((np.array(got_re), np.array(got_im)), axis=-1)
        exp = np.stack((exp_re, exp_im), axis=-1)
        msg = first_divergence(got, exp, ("run", "lane", "part (0=re, 1=im)"), seed, "ernn_cmac_array: ")
        assert msg is None, msg
        msg = first_divergence(np.array(got_user), np.arange(len(runs)) % 2, ("run",), seed, "acc_user: ")
        assert msg is None, msg

    @cocotb.test(timeout_time=100, timeout_unit="us")
    async def pair_with_different_x_stops(dut) -> None:
        """Beats that keep the PE's contract, then one whose paired real lanes 2 and 5 differ: the run must stop."""
        conf = rtl_runner.tb_config()
        x_w, lanes, real_bins = int(conf["x_w"]), int(conf["lanes"]), int(conf["real_bins"])
        fx = QFormat(x_w, 0)
        # per bin (lane mod REAL_BINS): distinct non-zero values, the bins' extremes included
        bins_x = np.array([fx.min_int, 7, fx.max_int])[:real_bins]
        good = bins_x[np.arange(lanes) % real_bins]
        bad = good.copy()
        bad[2 + real_bins] = 1  # lane 5: block 1's bin k/2, paired with lane 2 (max_int there)
        zeros = rtl_runner.pack(np.zeros(lanes, dtype=np.int64), x_w)
        dut.en.value = 1
        dut.in_valid.value = 0
        dut.in_x_im.value = zeros
        dut.in_x_re.value = zeros
        await reset_dut(dut)
        for x in (good, good, bad, good):
            # a one-beat run, its x one clock after its address
            dut.in_valid.value, dut.in_first.value, dut.in_last.value = 1, 1, 1
            dut.in_addr.value, dut.in_user.value = 0, 0
            await RisingEdge(dut.clk)
            dut.in_valid.value = 0
            dut.in_x_re.value = rtl_runner.pack(x, x_w)
            await RisingEdge(dut.clk)
            dut.in_x_re.value = zeros
        for _ in range(8):
            await RisingEdge(dut.clk)
        raise AssertionError("ernn_cmac_array did not stop on a pair of real lanes with different x")

except ImportError:  # pragma: no cover
    pass


def case(form: str, seed: int) -> tuple[dict[str, object], dict[str, object]]:
    """The Verilog parameters and the cocotb config of one form ("3m", "4m", "pack", "real", "pack_real",
    each optionally with "_mreg")."""
    mreg = int(form.endswith("_mreg"))
    form = form.removesuffix("_mreg")
    packed, real = form.startswith("pack"), form.endswith("real")
    lanes = PAIR_LANES if form == "pack_real" else LANES
    x_w, w_w = (PACK_X_W, PACK_W_W) if packed else (X_W, W_W)
    words = memory_words(weight_memory(seed, w_w, lanes), w_w)
    wf = rtl_runner.memh_file(
        rtl_runner.BUILD_ROOT / "data", f"cmac-array-weights-{form}", words, lanes * 2 * w_w
    )
    round_shift = PAIR_ROUND_SHIFT if form == "pack_real" else 0
    params = {
        "P": lanes,
        "X_W": x_w,
        "W_W": w_w,
        "ACC_W": acc_width(x_w, w_w),
        "W_DEPTH": DEPTH,
        "W_FILE": wf,
        "CMUL_3M": int(form == "3m"),
        "DSP_PACK": int(packed),
        "REAL_BINS": REAL_BINS if real else 0,
        "MREG": mreg,
        # only where set: the other forms keep their build directories (the parameter hash)
        **({"ROUND_SHIFT": round_shift} if round_shift else {}),
    }
    real_lanes = [lane for lane in range(lanes) if lane % REAL_BINS in (0, REAL_BINS - 1)] if real else []
    config = {
        "seed": seed,
        "x_w": x_w,
        "w_w": w_w,
        "lanes": lanes,
        "real_bins": REAL_BINS if real else 0,
        "real_lanes": real_lanes,
        "round_shift": round_shift,
    }
    return params, config


# the four-multiplier form, the packed form and the real lanes also run in the default suite inside the PE
# (tb/ernn_pe: k = 8, and the MAC-option case); "_mreg": the multiplier outputs registered (MREG = 1, the
# PE's default, so tb/ernn_pe runs it in the default suite). "pack_real" (shared multiplies of paired real
# lanes, ernn_rmac_pair) runs here in the default suite without MREG, the form tb/ernn_pe leaves out, and is
# the cheapest test of the pair for the mutation campaign (ernn.verify.mutate)
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(
    "form",
    [
        "3m",
        "pack_real",
        *(
            pytest.param(f, marks=pytest.mark.slow)
            for f in ("4m", "pack", "real", "3m_mreg", "4m_mreg", "pack_mreg", "real_mreg", "pack_real_mreg")
        ),
    ],
)
def test_ernn_cmac_array(sim: str, form: str, request: pytest.FixtureRequest) -> None:
    seed = seed_for(request.node.nodeid.replace(f"[{sim}-", "[").replace(f"-{sim}]", "]"))
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    params, config = case(form, seed)
    rtl_runner.run(
        TOPLEVEL, "test_ernn_cmac_array", params, sim=sim, config=config, testcase="cmac_array_matches_golden"
    )


# the same build as the pack_real case above; the beats before the bad one keep the contract, so it is the pair's
# check, not the stimulus, that stops the run
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_cmac_array_pair_needs_same_x(
    sim: str, capfd: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    # the seed (hence the weight file, hence the build) of test_ernn_cmac_array[pack_real]
    params, config = case(
        "pack_real", seed_for(request.node.nodeid.split("::")[0] + "::test_ernn_cmac_array[pack_real]")
    )
    with pytest.raises(rtl_runner.SimulationAbortedError, match=r"\$finish/\$fatal|exited abnormally"):
        rtl_runner.run(
            TOPLEVEL,
            "test_ernn_cmac_array",
            params,
            sim=sim,
            config=config,
            testcase="pair_with_different_x_stops",
        )
    out, err = capfd.readouterr()
    assert f"real lanes 2 and 5 {PAIR_FATAL}" in out + err


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
