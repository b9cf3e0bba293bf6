"""Helpers shared by the cocotb testbenches: clock/reset, random handshake stalls, seeds, divergence reports.

The reference model is always ``ernn.golden`` (imported by each testbench); nothing here computes
expected values. ``ERNN_WAVES=1`` makes every testbench record a waveform (:mod:`ernn.sim.runner`: Icarus
FST, Verilator VCD, beside the run's results, the path printed); a divergence report given the simulated
time of each compared element (:func:`sim_time_ns`) says where in it to look.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

SEED_ENV = "ERNN_SEED"
WAVES_HINT = "ERNN_WAVES=1 records the waveform"


def seed_for(name: str) -> int:
    """Seed of a testbench run: ``$ERNN_SEED`` if set, else a stable hash of ``name`` (the pytest id)."""
    env = os.environ.get(SEED_ENV, "").strip()
    if env:
        return int(env, 0)
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:4], "little")


def pause_generator(rng: np.random.Generator, probability: float) -> Iterator[bool]:
    """Endless random pause pattern for cocotbext-axi (True = hold tvalid low / tready low this cycle)."""
    while True:
        yield from (rng.random(64) < probability).tolist()


async def reset_dut(dut, cycles: int = 4) -> None:
    """Start a 10 ns clock on ``dut.clk`` and hold ``dut.rst`` high for ``cycles`` clocks."""
    from cocotb.clock import Clock
    from cocotb.triggers import RisingEdge

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


def sim_time_ns() -> int:
    """Inside a cocotb test: the current simulated time in ns (to stamp an output as it is sampled)."""
    from cocotb.simtime import get_sim_time

    return round(get_sim_time("ns"))


def first_divergence(
    got: npt.ArrayLike,
    expected: npt.ArrayLike,
    axes: Sequence[str],
    seed: int,
    what: str = "",
    times_ns: Sequence[int] | None = None,
) -> str | None:
    """None if equal, else a message naming the first differing element by its axes and the seed, and, with
    ``times_ns`` (the simulated time at which each element along the first axis was sampled), that time:
    where to look in the waveform (``ERNN_WAVES=1``)."""
    g = np.asarray(got)
    e = np.asarray(expected)
    if g.shape != e.shape:
        return f"{what}shape mismatch: got {g.shape}, expected {e.shape} (seed {seed})"
    diff = np.argwhere(g != e)
    if diff.size == 0:
        return None
    idx = tuple(int(i) for i in diff[0])
    where = ", ".join(f"{name} {i}" for name, i in zip(axes, idx, strict=True))
    if times_ns is not None:
        where += f" (simulated time {int(times_ns[idx[0]])} ns; {WAVES_HINT})"
    return (
        f"{what}first divergence at {where}: got {int(g[idx])}, expected {int(e[idx])} "
        f"({len(diff)} of {g.size} values differ; seed {seed}, rerun with {SEED_ENV}={seed})"
    )
