"""Testbench of rtl/ernn_fft_bfly.v with its multiplier register level (LEVELS = 3), the inverse butterfly.

With LEVELS = 3 the inverse butterfly keeps a + 1 in its level-1 register and halves (a + 1) +- t by
dropping the LSB (the halving's rounding constant folded into a, see the module header). This checks that
those outputs are the golden butterfly's, bit for bit:

    t = round_half_up(conj(W) b / 2**TW_F)  (TW_KIND = 2; t = b for TW_KIND = 0)
    p = sat(round_half_up((a + t) / 2)),  m = sat(round_half_up((a - t) / 2))

computed with ``ernn.golden.ops.round_shift`` and ``saturate`` (the functions ``ernn.golden.fft`` uses).
W = 1 at 4 bits runs every (a, b) pair exhaustively, real and imaginary parts in different orders, with a
4-bit output so that both clamps are reached; the general twiddle runs every extreme corner and random
operands at small widths. The pipeline enable stalls at random (the a + 1 register must move with t). A
mismatch names the first diverging vector, output and the seed.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from ernn_tbutil import first_divergence, seed_for

from ernn.golden.formats import QFormat
from ernn.golden.ops import round_shift, saturate
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_fft_bfly"
LEVELS = 3
N_RANDOM = 600


def expected(v: np.ndarray, tw_kind: int, tw_f: int, out_w: int) -> np.ndarray:
    """(N, 4) golden outputs (p_re, p_im, m_re, m_im) of the inverse butterfly for rows (a_re, a_im, b_re,
    b_im, w_re, w_im) of ``v``."""
    a_re, a_im, b_re, b_im, w_re, w_im = v.T
    if tw_kind == 2:
        # conj(W) b, exact, then rounded by the twiddle fraction
        t_re = round_shift(w_re * b_re + w_im * b_im, tw_f)
        t_im = round_shift(w_re * b_im - w_im * b_re, tw_f)
    else:
        t_re, t_im = b_re, b_im
    out = [round_shift(a + s * t, 1) for s in (1, -1) for a, t in ((a_re, t_re), (a_im, t_im))]
    return saturate(np.stack(out, axis=1), QFormat(out_w, 0))


def stimulus(tw_kind: int, w_in: int, tw_w: int, rng: np.random.Generator) -> np.ndarray:
    """(N, 6) operand rows (a_re, a_im, b_re, b_im, w_re, w_im)."""
    lo, hi = QFormat(w_in, 0).min_int, QFormat(w_in, 0).max_int
    if tw_kind == 0:
        # every (a, b) pair on the real part; the imaginary part takes them in reverse order
        pairs = np.array(list(itertools.product(range(lo, hi + 1), repeat=2)))
        rev = pairs[::-1]
        zeros = np.zeros(len(pairs), dtype=np.int64)
        return np.stack((pairs[:, 0], rev[:, 0], pairs[:, 1], rev[:, 1], zeros, zeros), axis=1)
    wlo, whi = QFormat(tw_w, 0).min_int, QFormat(tw_w, 0).max_int
    corners = [
        list(c) for c in itertools.product((lo, hi), (lo, hi), (lo, hi), (lo, hi), (wlo, whi), (wlo, whi))
    ]
    rand = np.concatenate(
        (
            rng.integers(lo, hi, size=(N_RANDOM, 4), endpoint=True),
            rng.integers(wlo, whi, (N_RANDOM, 2), endpoint=True),
        ),
        axis=1,
    )
    return np.concatenate((np.asarray(corners, dtype=np.int64), rand))


try:
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import ReadOnly, RisingEdge

    @cocotb.test(timeout_time=1, timeout_unit="ms")
    async def bfly_matches_golden(dut) -> None:
        conf = rtl_runner.tb_config()
        seed, tw_kind = int(conf["seed"]), int(conf["tw_kind"])
        w_in, w_out, tw_w, tw_f = int(conf["w_in"]), int(conf["w_out"]), int(conf["tw_w"]), int(conf["tw_f"])
        rng = np.random.default_rng(seed)
        v = stimulus(tw_kind, w_in, tw_w, rng)
        exp = expected(v, tw_kind, tw_f, w_out)

        # no reset: the butterfly has no valid bits, the testbench tracks which level holds which row
        dut.en.value = 0
        Clock(dut.clk, 10, unit="ns").start()
        await RisingEdge(dut.clk)
        pipe: list[int | None] = [None] * LEVELS
        got = np.zeros_like(exp)
        ports = ("a_re", "a_im", "b_re", "b_im", "w_re", "w_im")
        widths = (w_in, w_in, w_in, w_in, tw_w, tw_w)
        seen = 0
        i = 0
        while seen < len(v):
            en = int(rng.random() < 0.8)
            dut.en.value = en
            if i < len(v):
                for port, width, x in zip(ports, widths, v[i], strict=True):
                    getattr(dut, port).value = int(x) & ((1 << width) - 1)
            await ReadOnly()
            if pipe[-1] is not None and en:
                for j, port in enumerate(("p_re", "p_im", "m_re", "m_im")):
                    got[pipe[-1], j] = getattr(dut, port).value.to_signed()
                seen += 1
            await RisingEdge(dut.clk)
            if en:
                pipe = [i if i < len(v) else None, *pipe[:-1]]
                i += 1
        msg = first_divergence(
            got, exp, ("vector", "output (p_re, p_im, m_re, m_im)"), seed, "ernn_fft_bfly: "
        )
        assert msg is None, msg

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


# (TW_KIND, W_IN, W_OUT, TW_W, TW_F, CMUL_3M); tb/ernn_pe (MREG = 1 by default) and the slow tb/ernn_ifft MREG cases
# run the general twiddle at LEVELS = 3, the PE in the default suite, so its small-width case here is slow
CASES = [
    pytest.param((0, 4, 4, 5, 3, 1), id="kind0-4to4"),  # W = 1: every (a, t) pair, both clamps
    pytest.param((2, 4, 4, 5, 3, 1), id="kind2-4to4", marks=pytest.mark.slow),  # corners, random operands
]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize("case", CASES)
def test_ernn_fft_bfly_inverse_mreg(sim: str, case: tuple, request: pytest.FixtureRequest) -> None:
    tw_kind, w_in, w_out, tw_w, tw_f, mul3 = case
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    params = {
        "W_IN": w_in,
        "W_OUT": w_out,
        "TW_W": tw_w,
        "TW_F": tw_f,
        "TW_KIND": tw_kind,
        "INVERSE": 1,
        "LEVELS": LEVELS,
        "CMUL_3M": mul3,
    }
    conf = {"seed": seed, "tw_kind": tw_kind, "w_in": w_in, "w_out": w_out, "tw_w": tw_w, "tw_f": tw_f}
    rtl_runner.run(TOPLEVEL, "test_ernn_fft_bfly", params, sim=sim, config=conf)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
