"""Formal checks of the RTL: Yosys reads a property wrapper (``formal/*_props.v``) around one module,
``yosys-smtbmc`` proves it with an SMT solver, and the verdict names the failing property and step.

A :class:`Check` is one wrapper at one parameter set, run by one method:

* ``"comb"`` — the wrapper is combinational: one solver call at step 0 covers every input (a proof);
* ``"bmc"`` — bounded model check from the initial state to ``depth`` steps (no proof beyond that depth);
* ``"induction"`` — the base case (BMC to ``depth`` >= k steps) and the k-induction step: the properties
  hold in every reachable state. When the induction step fails after a passing base case, the result is
  ``"bounded"`` (true to ``depth``, induction not closed), never ``"proven"``. The base case runs deeper
  than k so that the same run catches a mutant whose failure needs a few clocks to show.

Properties are labelled immediate assertions (``label: assert (...)``) of Yosys' ``read_verilog -formal``.
The properties whose names start with ``inv_`` are lemmas that make the induction close; some read
registers inside the DUT, which the wrapper declares as ``tap_*`` wires and the driver connects after
flattening (``connect -set tap_x dut.x_reg``), so that the RTL itself carries no formal code.

Every property must be able to fail: :data:`MUTANTS` lists, for each check, single-point edits of the RTL
(a wrapping saturator, a skid buffer that drops a beat, ...) that violate each of its properties;
``run_check(check, mutant=...)`` runs the same check on the edited copy (``tb/test_formal.py`` asserts that
each property, checked alone, fails on its mutant).

The solver is z3 (PyPI ``z3-solver``, its ``z3`` binary beside the Python interpreter, or on PATH).
``python -m ernn.verify.formal`` (``make formal``) runs every check and writes ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ernn import paths
from ernn.files import atomic, output_dir

#: solver binary used by yosys-smtbmc
SOLVER = "z3"
#: longest a single yosys or yosys-smtbmc call may run (seconds)
TOOL_TIMEOUT = 900


class FormalToolError(RuntimeError):
    """Yosys or yosys-smtbmc is missing, or ended without a verdict (syntax error, crash, timeout)."""


def formal_dir() -> Path:
    """The property wrappers: ``formal/`` beside ``rtl/`` (checkout, package data or ``ERNN_HDL_DIR``)."""
    return paths.hdl_root() / "formal"


@dataclass(frozen=True)
class Check:
    """One property wrapper at one parameter set."""

    name: str
    #: the wrapper module (``formal/<top>.v``)
    top: str
    #: RTL files (``rtl/``) the wrapper instantiates
    rtl: tuple[str, ...]
    #: labels of the wrapper's assertions at this parameter set, in file order
    properties: tuple[str, ...]
    method: str = "comb"
    #: BMC depth (steps from the initial state; also the base case of the induction)
    depth: int = 1
    #: k of the induction step (method "induction")
    k: int = 0
    params: Mapping[str, int] = field(default_factory=dict)
    #: wrapper wire -> signal of the flattened DUT it reads
    taps: Mapping[str, str] = field(default_factory=dict)
    #: other files of formal/ the wrapper uses
    helpers: tuple[str, ...] = ()
    #: in the long suite (``pytest -m slow``) only
    slow: bool = False
    #: what the check shows, one line (docs/verification.md)
    claim: str = ""

    def __post_init__(self) -> None:
        if self.method not in ("comb", "bmc", "induction"):
            raise ValueError(f"{self.name}: method must be comb, bmc or induction (got {self.method!r})")
        if self.method == "induction" and not 1 <= self.k <= self.depth:
            raise ValueError(
                f"{self.name}: induction needs 1 <= k <= depth (got k={self.k}, depth={self.depth})"
            )


@dataclass(frozen=True)
class Mutant:
    """A single-point edit of one RTL file that must make ``violates`` fail."""

    name: str
    file: str
    old: str
    new: str
    violates: tuple[str, ...]
    #: the parameter sets it applies to (default: all)
    when: Callable[[Mapping[str, int]], bool] = lambda params: True


@dataclass
class Result:
    check: str
    #: "proven", "bounded" (BMC passed, no induction or induction open), or "failed"
    status: str
    method: str
    depth: int
    k: int
    #: failing property labels (or source locations of unlabelled assertions)
    failed: list[str]
    #: the step at which they fail (BMC: from the initial state)
    step: int | None
    seconds: float
    work_dir: str
    #: the induction step's failing lemmas when it did not close
    induction_open: list[str] = field(default_factory=list)
    mutant: str | None = None

    @property
    def passed(self) -> bool:
        return self.status in ("proven", "bounded")


# --------------------------------------------------------------------------------------------------------
# The checks


def _round_sat(in_w: int, shift: int, out_w: int, symmetric: int, *, slow: bool = False) -> Check:
    shifted_w = in_w + 1 - shift if shift > 0 else in_w - shift
    clamps = shifted_w > out_w
    return Check(
        name=f"round_sat_{in_w}_{shift}_{out_w}{'_sym' if symmetric else ''}".replace("-", "m"),
        top="ernn_round_sat_props",
        rtl=("ernn_round_sat.v",),
        # the pre-rounded form differs from the plain one only for a right shift
        properties=("round_sat_exact",)
        + (("pre_rounded_same",) if shift > 0 else ())
        + (("no_wrap",) if clamps else ()),
        params={
            "IN_W": in_w,
            "RIGHT": max(shift, 0),
            "LEFT": max(-shift, 0),
            "OUT_W": out_w,
            "SYMMETRIC": symmetric,
        },
        slow=slow,
        claim="out = clamp(round_half_up(in / 2**SHIFT)) for every input; never wraps; the pre-rounded "
        "form given in + 2**(SHIFT-1) gives the same",
    )


def _cmul(x_w: int, c_w: int, conj: int, mul3: int, *, pack: int = 0, slow: bool = False) -> Check:
    form = "pack" if pack else "3m" if mul3 else "4m"
    return Check(
        name=f"cmul_{x_w}x{c_w}{'_conj' if conj else ''}_{form}",
        top="ernn_cmul_props",
        rtl=("ernn_cmul.v",),
        properties=("product_re", "product_im"),
        params={"X_W": x_w, "C_W": c_w, "CONJ": conj, "MUL3": mul3, "PACK": pack},
        slow=slow,
        claim="p = x c (or x conj(c)) exactly, for every x and c",
    )


_BFLY_TAPS = {
    "tap_a_re": "dut.g_level1.a_re_reg",
    "tap_a_im": "dut.g_level1.a_im_reg",
    "tap_t_re": "dut.g_level1.t_re_reg",
    "tap_t_im": "dut.g_level1.t_im_reg",
}


def _bfly(name: str, *, slow: bool = False, **params: int) -> Check:
    levels = params.get("LEVELS", 1)
    return Check(
        name=f"fft_bfly_{name}",
        top="ernn_fft_bfly_props",
        rtl=("ernn_round_sat.v", "ernn_cmul.v", "ernn_fft_bfly.v"),
        helpers=("ernn_formal_cmul_ref.v",),
        properties=("plus_re", "plus_im", "minus_re", "minus_im", *(("inv_level1",) if levels == 2 else ())),
        method="induction",
        depth=6,
        k=2,
        params=params,
        taps=_BFLY_TAPS if levels == 2 else {},
        slow=slow,
        claim="p, m = sat(a +- round(W b)) (halved for the inverse) for every input and enable pattern",
    )


_CMAC_TAPS = {
    "tap_x_re": "dut.x_re_reg",
    "tap_x_im": "dut.x_im_reg",
    "tap_w_re": "dut.w_re_reg",
    "tap_w_im": "dut.w_im_reg",
    "tap_prod_re": "dut.prod_re_reg",
    "tap_prod_im": "dut.prod_im_reg",
    "tap_valid": "dut.ctrl_delay_inst.g_line.g_valid.valid_reg",
    "tap_control": "dut.ctrl_delay_inst.g_line.data_reg",
}
_CMAC_PROPS = (
    "acc_valid_timing",
    "acc_sum_re",
    "acc_sum_im",
    "exact_re",
    "exact_im",
    "inv_valid",
    "inv_order",
    "inv_operands",
    "inv_product",
    "inv_product_range",
    "inv_wide",
    "inv_bound",
)


def _cmac(x_w: int, w_w: int, acc_w: int, mul3: int, *, symmetric_w: int = 0, slow: bool = False) -> Check:
    # a run of 2**(ACC_W - PROD_W) products is exact for every w (PROD_W = X_W + W_W + 1 bits per
    # product); one more doubling (golden accumulator_word's rule) when w never holds the most negative code
    run_log2 = acc_w - x_w - w_w - 1 + symmetric_w
    return Check(
        name=f"cmac_{x_w}x{w_w}_acc{acc_w}_{'3m' if mul3 else '4m'}{'_wsym' if symmetric_w else ''}",
        top="ernn_cmac_props",
        rtl=("ernn_cmul.v", "ernn_delay.v", "ernn_cmac.v"),
        helpers=("ernn_formal_cmul_ref.v",),
        properties=_CMAC_PROPS,
        method="induction",
        depth=12,
        k=2,
        params={
            "X_W": x_w,
            "W_W": w_w,
            "ACC_W": acc_w,
            "CMUL_3M": mul3,
            "RUN_LOG2": run_log2,
            "W_SYMMETRIC": symmetric_w,
        },
        taps=_CMAC_TAPS,
        slow=slow,
        claim="acc = sum of the run's products (mod 2**ACC_W, exact for 2**(ACC_W-X_W-W_W-1) products); "
        "acc_valid 3 advances after in_last",
    )


_RMAC_PAIR_TAPS = {
    "tap_x": "dut.x_reg",
    "tap_w_a": "dut.w_a_reg",
    "tap_w_b": "dut.w_b_reg",
    "tap_prod_a": "dut.prod_a_reg",
    "tap_prod_b": "dut.prod_b_reg",
    "tap_valid": "dut.ctrl_delay_inst.g_line.g_valid.valid_reg",
    "tap_control": "dut.ctrl_delay_inst.g_line.data_reg",
    "tap_zero": "dut.zero_delay_inst.g_line.data_reg",
}
# MREG = 1: the split of the multiplier register (the wires prod_a, prod_b), for inv_split
_RMAC_PAIR_SPLIT_TAPS = {"tap_split_a": "dut.prod_a", "tap_split_b": "dut.prod_b"}
_RMAC_PAIR_PROPS = (
    "acc_valid_timing",
    "acc_sum_a",
    "acc_sum_b",
    "exact_a",
    "exact_b",
    "inv_valid",
    "inv_zero",
    "inv_order",
    "inv_operands",
    "inv_product",
    "inv_product_range",
    "inv_wide",
    "inv_bound",
)


def _rmac_pair(x_w: int, w_w: int, acc_w: int, mreg: int, round_shift: int, *, slow: bool = False) -> Check:
    # the wrapper's exact_* contract (runs of 2**(ACC_W-X_W-W_W) products, |sum| <= 2**(ACC_W-2)) leaves
    # 2**(ACC_W-3) for the rounding constant 2**(ROUND_SHIFT-1)
    if not 0 <= round_shift <= acc_w - 2:
        raise ValueError(
            f"rmac_pair: ROUND_SHIFT must be in 0 .. ACC_W - 2 (got {round_shift}, ACC_W {acc_w})"
        )
    return Check(
        name=f"rmac_pair_{x_w}x{w_w}_acc{acc_w}_m{mreg}_rs{round_shift}",
        top="ernn_rmac_pair_props",
        rtl=("ernn_delay.v", "ernn_rmac_pair.v"),
        properties=_RMAC_PAIR_PROPS + (("inv_split",) if mreg else ()),
        method="induction",
        depth=12,
        k=2,
        params={"X_W": x_w, "W_W": w_w, "ACC_W": acc_w, "MREG": mreg, "ROUND_SHIFT": round_shift},
        taps={**_RMAC_PAIR_TAPS, **(_RMAC_PAIR_SPLIT_TAPS if mreg else {})},
        slow=slow,
        claim="acc_a, acc_b = 2**(ROUND_SHIFT-1) + the run's x w_a, x w_b (plain products; mod 2**ACC_W, "
        "exact for 2**(ACC_W-X_W-W_W) products) through the packed multiply's split, for every operand; "
        "acc_valid 3 + MREG advances after in_last",
    )


_SKID_TAPS = {
    "tap_skid_valid": "dut.skid_valid_reg",
    "tap_skid_data": "dut.skid_data_reg",
    "tap_skid_last": "dut.skid_last_reg",
}


def _skid(data_w: int) -> Check:
    return Check(
        name=f"axis_skid_{data_w}",
        top="ernn_axis_skid_props",
        rtl=("ernn_axis_skid.v",),
        properties=(
            "stable_valid",
            "stable_data",
            "no_invented",
            "in_order",
            "no_overflow",
            "no_drop",
            "inv_count",
            "inv_skid",
            "inv_ready",
        ),
        method="induction",
        depth=12,
        k=2,
        params={"DATA_W": data_w},
        taps=_SKID_TAPS,
        claim="AXI4-Stream master side stable while stalled; the beats out are the beats in, "
        "in order, none dropped or repeated (FIFO refinement), under any environment and reset",
    )


def _out_vec() -> Check:
    return Check(
        name="out_vec_k2_3x2",
        top="ernn_out_vec_props",
        rtl=("ernn_out_vec.v",),
        properties=(
            "stable_valid",
            "stable_data",
            "no_invented",
            "in_order",
            "no_overflow",
            "no_drop",
            "inv_blocks",
        ),
        method="induction",
        depth=10,
        k=2,
        params={"K": 2, "DATA_W": 2, "OUT_SIZE": 3, "IDX_W": 2},
        taps={
            "tap_blk0": "dut.g_blk[0].blk_reg",
            "tap_blk1": "dut.g_blk[1].blk_reg",
            "tap_asm_last": "dut.asm_last_reg",
        },
        claim="ernn_top's m_axis: stable while stalled; each completed vector offered once, in order, "
        "as written (under the write contract: no write while full)",
    )


CHECKS: tuple[Check, ...] = (
    _round_sat(8, 3, 4, 0),
    _round_sat(8, 3, 4, 1),
    _round_sat(6, 0, 4, 0),
    _round_sat(6, 0, 4, 1),
    _round_sat(5, -2, 6, 0),
    _round_sat(6, 2, 8, 0),
    _round_sat(12, 1, 8, 1),
    _round_sat(20, 7, 10, 1),
    _cmul(3, 3, 0, 1),
    _cmul(3, 3, 1, 1),
    _cmul(5, 4, 0, 0),
    _cmul(5, 4, 1, 0),
    _cmul(4, 4, 0, 1, slow=True),
    _cmul(4, 4, 1, 1, slow=True),
    # the packed form (DSP48E2 packing, ernn_cmac DSP_PACK): every operand, so the split is exact
    _cmul(4, 3, 0, 0, pack=1),
    _cmul(4, 3, 1, 0, pack=1),
    _cmul(5, 4, 0, 0, pack=1, slow=True),
    _bfly("general_fwd_l1", W_IN=4, W_OUT=5, TW_W=5, TW_F=3, TW_KIND=2, INVERSE=0, LEVELS=1),
    _bfly("general_inv_l1", W_IN=4, W_OUT=4, TW_W=5, TW_F=3, TW_KIND=2, INVERSE=1, LEVELS=1),
    _bfly("general_fwd_l2", W_IN=4, W_OUT=5, TW_W=5, TW_F=3, TW_KIND=2, INVERSE=0, LEVELS=2),
    _bfly("general_inv_l2", W_IN=4, W_OUT=4, TW_W=5, TW_F=3, TW_KIND=2, INVERSE=1, LEVELS=2),
    _bfly("minus_j_fwd_l2", W_IN=4, W_OUT=4, TW_W=5, TW_F=3, TW_KIND=1, INVERSE=0, LEVELS=2),
    _bfly("minus_j_inv_l1", W_IN=4, W_OUT=4, TW_W=5, TW_F=3, TW_KIND=1, INVERSE=1, LEVELS=1),
    _bfly("one_fwd_l2", W_IN=4, W_OUT=4, TW_W=5, TW_F=3, TW_KIND=0, INVERSE=0, LEVELS=2),
    _bfly("one_inv_l1_pruned", W_IN=4, W_OUT=4, TW_W=5, TW_F=3, TW_KIND=0, INVERSE=1, LEVELS=1, OUT_IMAG=0),
    _bfly("general_fwd_l2_noplus", W_IN=4, W_OUT=5, TW_W=5, TW_F=3, TW_KIND=2, LEVELS=2, OUT_PLUS=0),
    _bfly("general_fwd_l2_3m", W_IN=3, W_OUT=4, TW_W=4, TW_F=2, TW_KIND=2, LEVELS=2, CMUL_3M=1, slow=True),
    _cmac(3, 3, 8, 0),
    _cmac(3, 3, 9, 0),
    _cmac(3, 3, 8, 0, symmetric_w=1),
    _cmac(3, 3, 8, 1, slow=True),
    # two real lanes on one packed multiply (ernn_cmac_array DSP_PACK): every operand, so the split is
    # exact; ACC_W = PROD_W at 5x3 (no sign extension); the 6-bit x forms take 10-12 s
    _rmac_pair(4, 3, 9, 0, 0),
    _rmac_pair(4, 3, 9, 1, 2),
    _rmac_pair(5, 3, 9, 0, 3),
    _rmac_pair(5, 4, 10, 1, 1, slow=True),
    _rmac_pair(6, 4, 12, 0, 0, slow=True),
    _rmac_pair(6, 4, 12, 1, 4, slow=True),
    _skid(3),
    _skid(8),
    _out_vec(),
)


# --------------------------------------------------------------------------------------------------------
# Mutants: every property of every check fails on at least one


def _m(
    name: str,
    file: str,
    old: str,
    new: str,
    *violates: str,
    when: Callable[[Mapping[str, int]], bool] | None = None,
) -> Mutant:
    return Mutant(name, file, old, new, violates, when or (lambda params: True))


def _round_sat_shifted_w(params: Mapping[str, int]) -> int:
    """ernn_round_sat's SH_W: the word after the shift (a clamp exists when it exceeds OUT_W - 1)."""
    shift = params["RIGHT"] - params["LEFT"]
    return params["IN_W"] + 1 - shift if shift > 0 else params["IN_W"] - shift


_RS = "ernn_round_sat.v"
_ROUND_SAT_MUTANTS = (
    _m(
        "pre-rounded input shifted one bit too far",
        _RS,
        "assign shifted = {in_all[IN_W-1], in_all[IN_W-1:SHIFT]};",
        "assign shifted = {in_all[IN_W-1], in_all[IN_W-1], in_all[IN_W-1:SHIFT+1]};",
        "pre_rounded_same",
        when=lambda p: 0 < p["RIGHT"] < p["IN_W"] - 1 and p["LEFT"] == 0,
    ),
    _m(
        "wrapping saturator (no clamp)",
        _RS,
        "assign out = over ? limit : kept;",
        "assign out = kept;",
        "round_sat_exact",
        "no_wrap",
        when=lambda p: _round_sat_shifted_w(p) > p["OUT_W"],
    ),
    _m(
        "clamp to the wrong end",
        _RS,
        "wire [OUT_W-1:0] limit = sign ?",
        "wire [OUT_W-1:0] limit = !sign ?",
        "round_sat_exact",
        "no_wrap",
        when=lambda p: _round_sat_shifted_w(p) > p["OUT_W"],
    ),
    _m(
        "sign extension lost",
        _RS,
        "assign out = {{(OUT_W-SH_W){shifted[SH_W-1]}}, shifted};",
        "assign out = {{(OUT_W-SH_W){1'b0}}, shifted};",
        "round_sat_exact",
        when=lambda p: _round_sat_shifted_w(p) < p["OUT_W"],
    ),
    _m(
        "round half down",
        _RS,
        "localparam [IN_W:0] HALF = {{IN_W{1'b0}}, 1'b1} << (SHIFT - 1);",
        "localparam [IN_W:0] HALF = ({{IN_W{1'b0}}, 1'b1} << (SHIFT - 1)) - 1;",
        "round_sat_exact",
        when=lambda p: p["RIGHT"] > 0,
    ),
    _m(
        "symmetric clamp missing",
        _RS,
        "wire most_negative = SYMMETRIC != 0 && shifted[OUT_W-1:0] == {1'b1, {(OUT_W-1){1'b0}}};",
        "wire most_negative = 1'b0;",
        "round_sat_exact",
        when=lambda p: p["SYMMETRIC"] == 1,
    ),
)

_CM = "ernn_cmul.v"
_CMUL3_MUTANTS = (
    _m("3m: k1 - k3 -> k1 + k3", _CM, "assign p_re = k1 - k3;", "assign p_re = k1 + k3;", "product_re"),
    _m(
        "3m: conj pre-adder",
        _CM,
        "wire signed [C_W:0] c_k2 = CONJ ? cr + ci : ci - cr;",
        "wire signed [C_W:0] c_k2 = CONJ ? cr - ci : ci + cr;",
        "product_im",
    ),
    _m(
        "3m: pre-adder one bit short",
        _CM,
        "wire signed [X_W:0] x_sum = xr + xi;",
        "wire signed [X_W-1:0] x_sum = xr + xi;",
        "product_re",
        "product_im",
    ),
)
_CMUL4_MUTANTS = (
    _m(
        "4m: conj sign",
        _CM,
        "assign p_re = CONJ ? rr + ii : rr - ii;",
        "assign p_re = CONJ ? rr - ii : rr + ii;",
        "product_re",
    ),
    _m(
        "4m: product without its corner bit (-2**(X_W-1) * -2**(C_W-1) wraps)",
        _CM,
        "wire signed [P_W-1:0] ir_m = xi * cr;",
        "wire signed [X_W+C_W-2:0] ir_m = xi * cr;",
        "product_im",
    ),
)

_BF = "ernn_fft_bfly.v"


def _plus(p: Mapping[str, int]) -> bool:
    return p.get("OUT_PLUS", 1) == 1


def _minus(p: Mapping[str, int]) -> bool:
    return p.get("OUT_MINUS", 1) == 1


def _imag(p: Mapping[str, int]) -> bool:
    return p.get("OUT_IMAG", 1) == 1


_BFLY_MUTANTS = (
    _m(
        "plus: subtract",
        _BF,
        "wire [S_W-1:0] sum_re = a_re_s + t_re_s;",
        "wire [S_W-1:0] sum_re = a_re_s - t_re_s;",
        "plus_re",
        when=_plus,
    ),
    _m(
        "plus imag: real part of t",
        _BF,
        "wire [S_W-1:0] sum_im = a_im_s + t_im_s;",
        "wire [S_W-1:0] sum_im = a_im_s + t_re_s;",
        "plus_im",
        when=lambda p: _plus(p) and _imag(p),
    ),
    _m(
        "minus: off by one",
        _BF,
        "wire [S_W-1:0] dif_re = a_re_s - t_re_s;",
        "wire [S_W-1:0] dif_re = a_re_s - t_re_s + 1'b1;",
        "minus_re",
        when=_minus,
    ),
    _m(
        "minus imag: a + t",
        _BF,
        "wire [S_W-1:0] dif_im = a_im_s - t_im_s;",
        "wire [S_W-1:0] dif_im = a_im_s + t_im_s;",
        "minus_im",
        when=lambda p: _minus(p) and _imag(p),
    ),
    _m(
        "pruned plus output not tied to zero",
        _BF,
        "    assign p_re = {W_OUT{1'b0}};",
        "    assign p_re = {W_OUT{1'b1}};",
        "plus_re",
        when=lambda p: not _plus(p),
    ),
    _m(
        "pruned plus imag not tied to zero",
        _BF,
        "        assign p_im = {W_OUT{1'b0}};",
        "        assign p_im = {{(W_OUT-1){1'b0}}, 1'b1};",
        "plus_im",
        when=lambda p: _plus(p) and not _imag(p),
    ),
    _m(
        "pruned plus (imag) not tied to zero",
        _BF,
        "    assign p_im = {W_OUT{1'b0}};\nend",
        "    assign p_im = {W_OUT{1'b1}};\nend",
        "plus_im",
        when=lambda p: not _plus(p),
    ),
    _m(
        "pruned minus imag not tied to zero",
        _BF,
        "        assign m_im = {W_OUT{1'b0}};",
        "        assign m_im = {{(W_OUT-1){1'b0}}, 1'b1};",
        "minus_im",
        when=lambda p: _minus(p) and not _imag(p),
    ),
    _m(
        "level-1 register takes the wrong component",
        _BF,
        "            a_re_reg <= a1_re;",
        "            a_re_reg <= a1_im;",
        "inv_level1",
        when=lambda p: p.get("LEVELS", 1) == 2,
    ),
)

_CA = "ernn_cmac.v"
_CMAC_MUTANTS = (
    _m(
        "accumulator never restarts",
        _CA,
        "acc_re_reg <= (first_2 ? (zero_2 ? {ACC_W{1'b0}} : ACC_START) : acc_re_reg) + prod_re_ext;",
        "acc_re_reg <= acc_re_reg + prod_re_ext;",
        "acc_sum_re",
        "exact_re",
        "inv_wide",
        "inv_bound",
    ),
    _m(
        "imaginary accumulator subtracts",
        _CA,
        "acc_im_reg <= (first_2 ? (zero_2 ? {ACC_W{1'b0}} : ACC_START) : acc_im_reg) + prod_im_ext;",
        "acc_im_reg <= (first_2 ? (zero_2 ? {ACC_W{1'b0}} : ACC_START) : acc_im_reg) - prod_im_ext;",
        "acc_sum_im",
        "exact_im",
    ),
    _m(
        "acc_valid on every beat",
        _CA,
        "acc_valid_reg <= valid_2 && last_2;",
        "acc_valid_reg <= valid_2;",
        "acc_valid_timing",
    ),
    _m(
        "product sign-extension lost",
        _CA,
        "assign prod_re_ext = {{(ACC_W-PROD_W){prod_re_reg[PROD_W-1]}}, prod_re_reg};",
        "assign prod_re_ext = {{(ACC_W-PROD_W){1'b0}}, prod_re_reg};",
        "acc_sum_re",
        "exact_re",
    ),
    _m(
        "operand register skips en",
        _CA,
        "        x_re_reg <= x_re;",
        "        x_re_reg <= in_valid ? x_re : x_re_reg;",
        "inv_operands",
    ),
    _m(
        "product register takes the real part",
        _CA,
        "        prod_im_reg <= prod_im;",
        "        prod_im_reg <= prod_re;",
        "inv_product",
    ),
    _m(
        "product register loads an out-of-range word",
        _CA,
        "        prod_re_reg <= prod_re;",
        "        prod_re_reg <= {1'b0, {(PROD_W-1){1'b1}}};",
        "inv_product",
        "inv_product_range",
    ),
    _m(
        "run control not reset",
        "ernn_delay.v",
        "                valid_reg <= {DEPTH{1'b0}};",
        "                valid_reg <= valid_reg;",
        "inv_valid",
        "inv_order",
        "acc_valid_timing",
    ),
)

_RP = "ernn_rmac_pair.v"
# the first mutant listed for a property (that applies) is the one tb/test_formal.py runs it against
_RMAC_PAIR_MUTANTS = (
    _m(
        "rounding constant one bit too high",
        _RP,
        "ACC_START = ROUND_SHIFT > 0 ? ACC_ONE << (ROUND_SHIFT - 1) : {ACC_W{1'b0}};",
        "ACC_START = ROUND_SHIFT > 0 ? ACC_ONE << ROUND_SHIFT : {ACC_W{1'b0}};",
        "acc_sum_a",
        "acc_sum_b",
        "exact_a",
        "exact_b",
        when=lambda p: p["ROUND_SHIFT"] > 0,
    ),
    _m(
        "split: low field one bit short (the min x min corner wraps)",
        _RP,
        "localparam S = X_W + W_W;",
        "localparam S = X_W + W_W - 1;",
        "acc_sum_a",
        "exact_a",
    ),
    _m(
        "product sign-extension lost",
        _RP,
        "assign prod_b_ext = {{(ACC_W-PROD_W){prod_b_reg[PROD_W-1]}}, prod_b_reg};",
        "assign prod_b_ext = {{(ACC_W-PROD_W){1'b0}}, prod_b_reg};",
        "exact_b",
        "acc_sum_b",
        when=lambda p: p["ACC_W"] > p["X_W"] + p["W_W"] + 1,
    ),
    _m(
        "split: high field without the low field's sign",
        _RP,
        "wire [PROD_W-1:0] prod_b = m[M_W-1:S] + {{(PROD_W-1){1'b0}}, m[S-1]};",
        "wire [PROD_W-1:0] prod_b = m[M_W-1:S];",
        "acc_sum_b",
        "exact_b",
        "inv_product",
    ),
    _m(
        "multiplier register skips en",
        _RP,
        "        if (en) begin\n            m_reg <= m_comb;",
        "        if (1'b1) begin\n            m_reg <= m_comb;",
        "inv_split",
        when=lambda p: p["MREG"] == 1,
    ),
    _m(
        "accumulator never restarts",
        _RP,
        "acc_a_reg <= (first_2 ? (zero_2 ? {ACC_W{1'b0}} : ACC_START) : acc_a_reg) + prod_a_ext;",
        "acc_a_reg <= acc_a_reg + prod_a_ext;",
        "acc_sum_a",
        "exact_a",
        "inv_wide",
        "inv_bound",
    ),
    _m(
        "the zero-start line loads a 1",
        _RP,
        "    .in_data(in_zero_start),",
        "    .in_data(1'b1),",
        "inv_zero",
    ),
    _m(
        "acc_valid on every beat",
        _RP,
        "acc_valid_reg <= valid_2 && last_2;",
        "acc_valid_reg <= valid_2;",
        "acc_valid_timing",
    ),
    _m(
        "operand register skips en",
        _RP,
        "        w_b_reg <= w_b;",
        "        w_b_reg <= in_valid ? w_b : w_b_reg;",
        "inv_operands",
    ),
    _m(
        "product register loads an out-of-range word",
        _RP,
        "        prod_a_reg <= prod_a;",
        "        prod_a_reg <= {1'b0, {(PROD_W-1){1'b1}}};",
        "inv_product",
        "inv_product_range",
    ),
    _m(
        "run control not reset",
        "ernn_delay.v",
        "                valid_reg <= {DEPTH{1'b0}};",
        "                valid_reg <= valid_reg;",
        "inv_valid",
        "inv_order",
        "acc_valid_timing",
    ),
)

_SK = "ernn_axis_skid.v"
_SKID_MUTANTS = (
    _m(
        "output overwritten while stalled",
        _SK,
        "if (m_axis_tready || !out_valid_reg) begin",
        "if (1'b1) begin",
        "stable_valid",
        "stable_data",
        "inv_count",
        "no_drop",
    ),
    _m(
        "skid beat sent twice",
        _SK,
        "        skid_valid_next = 1'b0;\n        load_out_from_skid = 1'b1;",
        "        skid_valid_next = skid_valid_reg;\n        load_out_from_skid = 1'b1;",
        "no_invented",
        "inv_count",
    ),
    _m(
        "skid register not loaded",
        _SK,
        "            load_skid = 1'b1;",
        "            load_skid = 1'b0;",
        "in_order",
        "inv_skid",
    ),
    _m(
        "ready while full (accepts into a full buffer)",
        _SK,
        "wire s_ready_next = m_axis_tready || (!skid_valid_reg && (!out_valid_reg || !s_axis_tvalid));",
        "wire s_ready_next = 1'b1;",
        "no_overflow",
        "inv_ready",
    ),
    _m(
        "skid beat dropped on drain",
        _SK,
        "        out_valid_next = skid_valid_reg;",
        "        out_valid_next = 1'b0;",
        "no_drop",
        "inv_count",
    ),
)


_OV = "ernn_out_vec.v"
_OUT_VEC_MUTANTS = (
    _m(
        "output valid dropped while stalled",
        _OV,
        "    if (m_axis_tready) begin\n        out_valid_reg <= 1'b0;",
        "    if (1'b1) begin\n        out_valid_reg <= 1'b0;",
        "stable_valid",
        "no_drop",
    ),
    _m(
        "output register overwritten while stalled",
        _OV,
        "if (asm_full_reg && (!out_valid_reg || m_axis_tready)) begin",
        "if (asm_full_reg) begin",
        "stable_data",
        "in_order",
    ),
    _m(
        "a vector moved out without being complete",
        _OV,
        "if (asm_full_reg && (!out_valid_reg || m_axis_tready)) begin",
        "if ((asm_full_reg || m_axis_tready) && (!out_valid_reg || m_axis_tready)) begin",
        "no_invented",
    ),
    _m(
        "block decoder inverted",
        _OV,
        "if (wr_en && wr_blk == B) begin",
        "if (wr_en && wr_blk != B) begin",
        "in_order",
        "inv_blocks",
    ),
    _m(
        "never full (the producer overruns it)",
        _OV,
        "            asm_full_reg <= 1'b1;",
        "            asm_full_reg <= 1'b0;",
        "no_overflow",
        "no_drop",
    ),
)

_CMUL_PACK_MUTANTS = (
    _m(
        "pack: high product without the low field's sign correction",
        _CM,
        "wire [P_W-1:0] hi_r = mr[M_W-1:S] + {{(P_W-1){1'b0}}, mr[S-1]};",
        "wire [P_W-1:0] hi_r = mr[M_W-1:S];",
        "product_im",
    ),
    _m(
        "pack: low field one bit short (the min x min corner wraps)",
        _CM,
        "localparam S = X_W + C_W;",
        "localparam S = X_W + C_W - 1;",
        "product_re",
    ),
)


def mutants_for(check: Check) -> tuple[Mutant, ...]:
    """The mutants that apply to ``check``'s configuration."""
    if check.top == "ernn_round_sat_props":
        return _ROUND_SAT_MUTANTS
    if check.top == "ernn_cmul_props":
        if check.params.get("PACK", 0):
            return _CMUL_PACK_MUTANTS
        return _CMUL3_MUTANTS if check.params.get("MUL3", 1) else _CMUL4_MUTANTS
    if check.top == "ernn_fft_bfly_props":
        return _BFLY_MUTANTS
    if check.top == "ernn_cmac_props":
        return _CMAC_MUTANTS
    if check.top == "ernn_rmac_pair_props":
        return _RMAC_PAIR_MUTANTS
    if check.top == "ernn_axis_skid_props":
        return _SKID_MUTANTS
    if check.top == "ernn_out_vec_props":
        return _OUT_VEC_MUTANTS
    return ()


def mutant_for(check: Check, prop: str) -> Mutant:
    """A mutant that violates ``prop`` at ``check``'s parameters (the first listed)."""
    for m in mutants_for(check):
        if prop in m.violates and m.when(check.params):
            return m
    raise KeyError(f"{check.name}: no mutant violates {prop}")


def check_by_name(name: str) -> Check:
    for c in CHECKS:
        if c.name == name:
            return c
    raise KeyError(f"no formal check named {name!r}; known: {', '.join(c.name for c in CHECKS)}")


# --------------------------------------------------------------------------------------------------------
# Running


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise FormalToolError(
            f"{name} is not on PATH: install the Debian package 'yosys' (it ships yosys-smtbmc)"
        )
    return found


def _solver_dir() -> Path:
    """The folder holding the solver binary (the venv's ``bin`` from z3-solver, else PATH)."""
    beside = Path(sys.executable).parent / SOLVER
    if beside.is_file():
        return beside.parent
    found = shutil.which(SOLVER)
    if found:
        return Path(found).parent
    raise FormalToolError(
        f"the SMT solver '{SOLVER}' is missing: pip install z3-solver (a dependency of ernn)"
    )


def _sources(check: Check, mutant: Mutant | None, work: Path) -> list[Path]:
    rtl = paths.rtl_dir()
    files = []
    for name in check.rtl:
        src = rtl / name
        if mutant is not None and mutant.file == name:
            text = src.read_text()
            if text.count(mutant.old) != 1:
                raise ValueError(
                    f"mutant {mutant.name!r}: {name} must hold its text exactly once "
                    f"(found {text.count(mutant.old)}): {mutant.old!r}"
                )
            src = work / f"mutant_{name}"
            src.write_text(text.replace(mutant.old, mutant.new))
        files.append(src)
    if mutant is not None and mutant.file not in check.rtl:
        raise ValueError(f"mutant {mutant.name!r} edits {mutant.file}, which {check.name} does not read")
    fdir = formal_dir()
    files += [fdir / f"{check.top}.v", *(fdir / h for h in check.helpers)]
    return files


def yosys_script(check: Check, sources: Sequence[Path], smt2: Path, only: Sequence[str] | None = None) -> str:
    """The Yosys script that writes ``check``'s SMT-LIB2 model (keeping only ``only`` assertions if given)."""
    lines = [f"read_verilog -formal {' '.join(str(s) for s in sources)}"]
    if check.params:
        sets = " ".join(f"-set {k} {v}" for k, v in check.params.items())
        lines.append(f"chparam {sets} {check.top}")
    lines += [f"hierarchy -check -top {check.top}", "proc", "flatten"]
    # taps: wrapper wires that read registers inside the flattened DUT
    lines += [f"connect -nounset -set {wire} {signal}" for wire, signal in check.taps.items()]
    # the wrapper's property list must be the check's: each label once, nothing else
    lines += [f"select -assert-count 1 t:$assert n:{p} %i" for p in check.properties]
    lines.append(f"select -assert-count {len(check.properties)} t:$assert")
    if only:
        kept = " ".join(f"n:{p}" for p in only) + " %u" * (len(only) - 1)
        lines.append(f"chformal -assert -remove t:$assert {kept} %d")
    lines += [f"prep -top {check.top}", "async2sync", "dffunmap", f"write_smt2 -wires {smt2}"]
    return "\n".join(lines) + "\n"


_STEP = re.compile(r"(?:Checking assertions in|Trying induction in) step (\d+)")
_FAILED = re.compile(r"Assert failed in \S+: (.+)$")


def _run(cmd: Sequence[str], cwd: Path, log: Path, env: Mapping[str, str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            env=dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FormalToolError(f"{cmd[0]} ran past {TOOL_TIMEOUT} s in {cwd}") from exc
    out = proc.stdout + proc.stderr
    log.write_text(out)
    return proc.returncode, out


def _verdict(out: str) -> tuple[str | None, list[str], int | None]:
    """(status line value, failing assertions, last step) from a yosys-smtbmc log."""
    status = None
    failed: list[str] = []
    step = None
    for line in out.splitlines():
        text = line.split("  ", 2)[-1].strip() if line.startswith("##") else line.strip()
        if m := _STEP.search(text):
            step = int(m.group(1))
        elif m := _FAILED.search(text):
            label = m.group(1).strip()
            if label not in failed:
                failed.append(label)
        elif text.startswith("Status:"):
            status = text.split(":", 1)[1].strip()
    return status, failed, step


def run_check(
    check: Check,
    work_dir: Path | None = None,
    *,
    only: Sequence[str] | None = None,
    mutant: Mutant | None = None,
    depth: int | None = None,
    k: int | None = None,
) -> Result:
    """Run ``check`` (optionally only some assertions, on a mutant copy, at another depth or k) in ``work_dir``."""
    start = time.monotonic()
    if work_dir is None:
        base = paths.cache_dir() / "formal"
        base.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{check.name}-", dir=base))
    else:
        work = Path(work_dir)
        work.mkdir(parents=True, exist_ok=True)
    if only:
        unknown = sorted(set(only) - set(check.properties))
        if unknown:
            raise ValueError(f"{check.name} has no properties {unknown}; it has {list(check.properties)}")
    depth = depth if depth is not None else check.depth
    k = k if k is not None else check.k
    env = dict(os.environ)
    env["PATH"] = f"{_solver_dir()}{os.pathsep}{env.get('PATH', '')}"
    smt2 = work / "model.smt2"
    (work / "model.ys").write_text(yosys_script(check, _sources(check, mutant, work), smt2, only))
    rc, out = _run([_tool("yosys"), "-q", "-l", "yosys.log", "model.ys"], work, work / "yosys.out", env)
    if rc != 0 or not smt2.is_file():
        raise FormalToolError(f"yosys failed on {check.name} (log {work / 'yosys.log'}):\n{out[-3000:]}")
    smtbmc = [_tool("yosys-smtbmc"), "-s", SOLVER]
    steps = 1 if check.method == "comb" else depth
    rc, out = _run(
        [*smtbmc, "-t", str(steps), "--dump-vcd", "trace.vcd", "model.smt2"], work, work / "bmc.log", env
    )
    status, failed, step = _verdict(out)
    if status not in ("PASSED", "FAILED"):
        raise FormalToolError(
            f"yosys-smtbmc gave no verdict on {check.name} (log {work / 'bmc.log'}):\n{out[-3000:]}"
        )
    result = Result(
        check=check.name,
        status="failed" if status == "FAILED" else ("proven" if check.method == "comb" else "bounded"),
        method=check.method,
        depth=steps,
        k=k if check.method == "induction" else 0,
        failed=failed if status == "FAILED" else [],
        step=step if status == "FAILED" else None,
        seconds=0.0,
        work_dir=str(work),
        mutant=mutant.name if mutant else None,
    )
    if status == "FAILED" and not failed:
        raise FormalToolError(f"{check.name}: BMC failed but no assertion was named (log {work / 'bmc.log'})")
    if result.status == "bounded" and check.method == "induction":
        cmd = [*smtbmc, "-i", "-t", str(k), "--dump-vcd", "trace_induction.vcd", "model.smt2"]
        rc, out = _run(cmd, work, work / "induction.log", env)
        istatus, ifailed, _ = _verdict(out)
        if istatus == "PASSED":
            result.status = "proven"
        elif istatus == "FAILED":
            result.induction_open = ifailed
        else:
            raise FormalToolError(f"yosys-smtbmc -i gave no verdict on {check.name}:\n{out[-3000:]}")
    result.seconds = round(time.monotonic() - start, 2)
    (work / "result.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result


def describe(result: Result) -> str:
    """One line: check, verdict, method and depth, time; the failing properties and step if any."""
    what = {"comb": "combinational (all inputs)", "bmc": f"BMC depth {result.depth}"}.get(
        result.method, f"k-induction k={result.k}, BMC {result.depth}"
    )
    line = f"{result.check:34s} {result.status:8s} {what:28s} {result.seconds:7.2f} s"
    if result.failed:
        line += f"  FAILED {', '.join(result.failed)} at step {result.step}"
    if result.induction_open:
        line += f"  (induction open: {', '.join(result.induction_open)}; BMC to depth {result.depth} passed)"
    return line


def run_checks(checks: Iterable[Check], out_dir: Path, *, echo: bool = True) -> list[Result]:
    results = []
    for check in checks:
        result = run_check(check, out_dir / check.name)
        results.append(result)
        if echo:
            print(describe(result), flush=True)
    return results


#: marks a work folder as this tool's: its files (logs, traces, results) are rewritten by the next run
WORK_MARKER = ".ernn-formal"


def claim_work_folder(out: Path, *, force: bool = False) -> None:
    """``out`` as the checks' work folder (:func:`ernn.files.output_dir.claim_work_folder`)."""
    output_dir.claim_work_folder(out, WORK_MARKER, "ernn.verify.formal", force=force)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ernn.verify.formal",
        description="Run the formal checks of formal/ (Yosys + yosys-smtbmc + z3) and report each verdict.",
    )
    parser.add_argument("names", nargs="*", help="check names or prefixes (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: <cache>/formal/run)")
    parser.add_argument("--quick", action="store_true", help="leave out the slow checks")
    parser.add_argument(
        "--mutants", action="store_true", help="also show that each property fails on its mutant"
    )
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument(
        "--force", action="store_true", help="write into an --out folder that holds files of other origin"
    )
    args = parser.parse_args(argv)
    checks = [
        c
        for c in CHECKS
        if (not args.names or any(c.name.startswith(n) for n in args.names)) and not (args.quick and c.slow)
    ]
    if args.list:
        for c in checks:
            print(
                f"{c.name:34s} {c.method:9s} depth {c.depth:2d} k {c.k}  {'slow ' if c.slow else ''}{', '.join(c.properties)}"
            )
        return 0
    if not checks:
        parser.error(f"no check matches {args.names}")
    out = (args.out or paths.cache_dir() / "formal" / "run").resolve()
    try:
        claim_work_folder(out, force=args.force)
    except (FileExistsError, NotADirectoryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    results = run_checks(checks, out)
    bad = [r for r in results if not r.passed]
    undetected: list[str] = []
    if args.mutants:
        for c in checks:
            for prop in c.properties:
                m = mutant_for(c, prop)
                r = run_check(c, out / "mutants" / f"{c.name}-{prop}", only=[prop], mutant=m)
                ok = r.status == "failed" and prop in r.failed
                print(
                    f"  mutant {c.name}/{prop:18s} {'caught' if ok else 'NOT CAUGHT'}: {m.name} (step {r.step})"
                )
                if not ok:
                    undetected.append(f"{c.name}/{prop}")
    atomic.write_json(out / "results.json", [asdict(r) for r in results], force=True)
    proven = sum(r.status == "proven" for r in results)
    total = sum(r.seconds for r in results)
    print(
        f"{proven} proven, {sum(r.status == 'bounded' for r in results)} bounded, {len(bad)} failed; {total:.1f} s"
    )
    if undetected:
        print(f"properties not caught on their mutant: {', '.join(undetected)}")
    return 1 if bad or undetected else 0


if __name__ == "__main__":
    sys.exit(main())
