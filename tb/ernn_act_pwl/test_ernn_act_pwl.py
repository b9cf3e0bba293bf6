"""Testbench of rtl/ernn_act_pwl.v: every output equals ernn.golden.activation.activate, bit for bit.

Stimulus (seeded, seed printed): every input code of the gate format when it has at most 2**16 codes
(the 16-bit default included), else a stride through the range plus every segment boundary (and its
neighbours), both clamp points and both ends of the format; then seeded random codes. The first test runs
at full rate (a new beat every clock, ce always 1); the second adds random in_valid gaps and random ce = 0
stalls and checks that out_user follows its beat. The tables are generated here from
ernn.golden.activation.activation_table with ernn.golden.ops.hex_words (ernn_act_tables).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from ernn_act_tbutil import act_params, sim_cases
from ernn_tbutil import first_divergence, reset_dut, seed_for

from ernn.golden.activation import activate, activation_table
from ernn.golden.formats import ActivationSpec, NumericsConfig, QFormat
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_act_pwl"

#: Gate formats with at most this many codes are swept exhaustively.
EXHAUSTIVE_CODES = 1 << 16


def input_codes(
    cfg: NumericsConfig, kind: str, rng: np.random.Generator, n_random: int, sweep: bool = True
) -> np.ndarray:
    """Every gate code (small formats) or stride + segment boundaries + ends (``sweep``), then random codes."""
    table = activation_table(kind, cfg)  # type: ignore[arg-type]
    fmt = cfg.gate
    lo, hi = fmt.min_int, fmt.max_int
    if not sweep:
        base = np.array([lo, hi, table.lo_int, table.hi_int], dtype=np.int64)
    elif hi - lo + 1 <= EXHAUSTIVE_CODES:
        base = np.arange(lo, hi + 1, dtype=np.int64)
    else:
        width = 1 << table.offset_bits
        starts = table.lo_int + width * np.arange((1 << table.spec.seg_bits) + 1, dtype=np.int64)
        edges = np.concatenate([starts - 1, starts, starts + 1, starts + width // 2])
        ends = np.array(
            [lo, lo + 1, table.lo_int - 1, table.lo_int, table.hi_int, table.hi_int + 1, hi - 1, hi]
        )
        stride = np.arange(lo, hi + 1, max(1, (hi - lo + 1) // EXHAUSTIVE_CODES), dtype=np.int64)
        base = np.unique(np.clip(np.concatenate([edges, ends, stride]), lo, hi))
    return np.concatenate([base, rng.integers(lo, hi, size=n_random, endpoint=True)])


async def run_act(
    dut, conf: dict, seed: int, p_gap: float, p_stall: float, n_random: int, sweep: bool
) -> None:
    from cocotb.triggers import FallingEdge

    cfg = NumericsConfig.from_dict(conf["numerics"])
    kind, lanes = conf["kind"], conf["lanes"]
    table = activation_table(kind, cfg)
    rng = np.random.default_rng(seed)
    codes = input_codes(cfg, kind, rng, n_random, sweep)
    beats = -(-codes.size // lanes)
    codes = np.concatenate([codes, np.zeros(beats * lanes - codes.size, dtype=np.int64)])
    expected = activate(codes, table)
    in_w, out_w = cfg.gate.word, cfg.act.word
    words = [rtl_runner.pack(codes[b * lanes : (b + 1) * lanes], in_w) for b in range(beats)]
    users = [b & 1 for b in range(beats)]
    dut._log.info(
        "ernn_act_pwl %s %s -> %s, %d segments, lanes %d: %d codes, seed %d",
        kind,
        cfg.gate,
        cfg.act,
        1 << table.spec.seg_bits,
        lanes,
        codes.size,
        seed,
    )

    dut.ce.value = 1
    dut.in_valid.value = 0
    dut.in_x.value = 0
    dut.in_user.value = 0
    await reset_dut(dut)

    got_words: list[int] = []
    got_users: list[int] = []
    sent = 0
    idle = 0
    gaps = (rng.random(4 * beats + 64) < p_gap).tolist()
    stalls = (rng.random(4 * beats + 64) < p_stall).tolist()
    cycle = 0
    ce_now = True  # ce during the clock that just ended
    in_valid = False  # in_valid during the clock that just ended
    # handles and trigger looked up once: this loop runs once per clock
    ce_h, in_valid_h, in_x_h, in_user_h = dut.ce, dut.in_valid, dut.in_x, dut.in_user
    out_valid_h, out_y_h, out_user_h = dut.out_valid, dut.out_y, dut.out_user
    falling = FallingEdge(dut.clk)
    # mid-cycle (falling edge): outputs are settled; inputs written now are sampled at the next rising edge
    while len(got_words) < beats:
        await falling
        ce = not stalls[cycle % len(stalls)]
        if ce and out_valid_h.value:
            got_words.append(out_y_h.value.to_unsigned())
            got_users.append(int(out_user_h.value))
        if ce_now or not in_valid:
            # the beat on in_* was taken at the last edge (or there was none): offer the next one or a gap
            offer = sent < beats and not gaps[cycle % len(gaps)]
            if offer:
                in_x_h.value = words[sent]
                in_user_h.value = users[sent]
                sent += 1
            if offer != in_valid:
                in_valid_h.value = int(offer)
                in_valid = offer
        if ce != ce_now:
            ce_h.value = int(ce)
            ce_now = ce
        cycle += 1
        idle = idle + 1 if sent == beats else 0
        assert idle < 64, f"ernn_act_pwl: only {len(got_words)} of {beats} beats came out (seed {seed})"

    got = np.array([rtl_runner.unpack(w, out_w, lanes) for w in got_words], dtype=np.int64).reshape(-1)
    msg = first_divergence(got, expected, ("input",), seed, f"ernn_act_pwl {kind}: ")
    if msg:
        first = int(np.argwhere(got != expected)[0][0])
        u = int(np.clip(codes[first], table.lo_int, table.hi_int)) - table.lo_int
        raise AssertionError(
            f"{msg}; input code {int(codes[first])} = {codes[first] / 2.0**cfg.gate.frac:g} "
            f"(beat {first // lanes}, lane {first % lanes}, segment {u >> table.offset_bits}, "
            f"offset {u & ((1 << table.offset_bits) - 1)})"
        )
    msg = first_divergence(np.array(got_users), np.array(users), ("beat",), seed, "ernn_act_pwl out_user: ")
    assert msg is None, msg


try:
    import cocotb

    @cocotb.test(timeout_time=20, timeout_unit="ms")
    async def act_full_rate(dut) -> None:
        """Every code (or the boundary set) at one beat per clock."""
        conf = rtl_runner.tb_config()
        await run_act(dut, conf, conf["seed"], 0.0, 0.0, 256, True)

    @cocotb.test(timeout_time=20, timeout_unit="ms")
    async def act_random_stalls(dut) -> None:
        """Seeded random codes (and both ends) with random in_valid gaps and ce stalls; out_user follows."""
        conf = rtl_runner.tb_config()
        await run_act(dut, conf, conf["seed"] + 1, 0.3, 0.3, 2000, False)

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


# ------------------------------------------------------------------------------------------------------
# pytest: one build per (simulator, parameter set)
def corner_config() -> NumericsConfig:
    """16-bit formats with coarse tables: 8 sigmoid segments of 2**13 codes, slope frac 0 (SLOPE_F = 0),
    tanh over +-4 as a single segment (SEG_BITS = 0)."""
    return dataclasses.replace(
        NumericsConfig.for_data_bits(16),
        act_slope=QFormat(18, 0),
        sigmoid=ActivationSpec(4, 3),
        tanh=ActivationSpec(2, 0),
    )


def numerics_for(bits: int | str) -> NumericsConfig:
    return corner_config() if bits == "corner" else NumericsConfig.for_data_bits(int(bits))


# (data bits, kind, lanes): 16 bits sweeps every code of Q16.11; 8 and 10 bits are plain lookups (B = 0);
# "corner": 8 sigmoid segments / 1 tanh segment, SLOPE_F = 0; 24 bits: stride + every boundary
BOTH = [(16, "sigmoid", 4), (16, "tanh", 3)]
# Icarus by default, Verilator with -m slow (the cell testbenches cover 12 and 8 bits on Verilator)
# ("corner", "tanh") is the only one-segment table (SEG_BITS = 0): in the default suite so that a generate
# condition on SEG_BITS cannot change unnoticed (docs/verification.md, the mutation score)
ICARUS = [(12, "sigmoid", 1), (8, "tanh", 2), ("corner", "tanh", 4)]
SLOW = [(12, "tanh", 2), (10, "sigmoid", 1), (24, "tanh", 2), ("corner", "sigmoid", 4)]


@pytest.mark.parametrize(("sim", "bits", "kind", "lanes"), sim_cases(BOTH, ICARUS, SLOW))
def test_ernn_act_pwl(
    sim: str, bits: int | str, kind: str, lanes: int, request: pytest.FixtureRequest
) -> None:
    cfg = numerics_for(bits)
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    conf = {"numerics": cfg.to_dict(), "kind": kind, "lanes": lanes, "seed": seed}
    rtl_runner.run(TOPLEVEL, "test_ernn_act_pwl", act_params(cfg, kind, lanes), sim=sim, config=conf)


def bad_name(case: tuple) -> str:
    return "-".join(f"{k}={v}" for k, v in case[0].items() if not str(k).endswith("FILE"))


BAD_PARAMETERS = [
    (
        {"IN_W": 16, "IN_F": 11, "RANGE_LOG2": 5, "VALUE_FILE": "v.mem", "SLOPE_FILE": "s.mem"},
        r"RANGE_LOG2 \(5\) must be in \[0, IN_W - 1 - IN_F = 4\]",
    ),
    ({"SEG_BITS": 10}, r"needs VALUE_FILE and SLOPE_FILE"),
]


# every check on Icarus (cheap), the first on Verilator too
@pytest.mark.parametrize(
    ("sim", "params", "pattern"), sim_cases(BAD_PARAMETERS[:1], BAD_PARAMETERS[1:], name=bad_name)
)
def test_ernn_act_pwl_bad_parameters(sim: str, params: dict[str, object], pattern: str) -> None:
    rtl_runner.expect_elaboration_error(TOPLEVEL, params, pattern, sim=sim)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
