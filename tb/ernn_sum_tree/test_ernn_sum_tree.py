"""Testbench of rtl/ernn_sum_tree.v: sum = (terms[0] + ... + terms[N-1]) mod 2**W, combinational.

The reference is Python's integer sum of the terms, reduced modulo 2**W. Stimulus per case: random
words, then the corners where every carry runs (all terms 2**W - 1: the sum wraps N - 1 times; all
terms 2**(W-1): two's-complement minimum; one term set and the rest zero, once at every position, so a
leaf wired to the wrong node or dropped is found). A mismatch names the first diverging vector and the
seed.
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
from ernn_tbutil import first_divergence, seed_for

from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_sum_tree"
RANDOM_VECTORS = 200


def vectors(n: int, w: int, rng: random.Random) -> list[list[int]]:
    """Random terms, the carry corners and each leaf alone (see the module docstring)."""
    top = (1 << w) - 1
    vecs = [[rng.getrandbits(w) for _ in range(n)] for _ in range(RANDOM_VECTORS)]
    vecs += [[top] * n, [1 << (w - 1)] * n, [0] * n]
    vecs += [[top if i == j else 0 for i in range(n)] for j in range(n)]
    return vecs


try:
    import cocotb
    from cocotb.triggers import Timer

    @cocotb.test(timeout_time=1, timeout_unit="ms")
    async def sum_tree_matches_model(dut) -> None:
        conf = rtl_runner.tb_config()
        seed, n, w = int(conf["seed"]), int(conf["n"]), int(conf["w"])
        rng = random.Random(seed)
        got, exp = [], []
        for terms in vectors(n, w, rng):
            dut.terms.value = sum(t << (i * w) for i, t in enumerate(terms))
            await Timer(1, unit="ns")
            got.append(int(dut.sum.value))
            exp.append(sum(terms) % (1 << w))
        msg = first_divergence(
            np.array(got, dtype=object), np.array(exp, dtype=object), ("vector",), seed, "ernn_sum_tree: "
        )
        assert msg is None, msg

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


# (N, W): one term (no adder), a pair, an odd count (a leaf one level up), the CSB group's 16 partial
# sums at SR1's accumulator width, and a group row's 3 x 8 terms
CASES = [(1, 5), (2, 8), (5, 13), (16, 43), (24, 43)]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("n", "w"), CASES)
def test_ernn_sum_tree(sim: str, n: int, w: int, request: pytest.FixtureRequest) -> None:
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    rtl_runner.run(
        TOPLEVEL, "test_ernn_sum_tree", {"N": n, "W": w}, sim=sim, config={"seed": seed, "n": n, "w": w}
    )


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
