"""The logic-depth walk (ernn.fpga.logic_depth) on small hand-built netlists in Yosys's write_json form.

Each netlist is built here with the depth it must have, so every count below is known by construction:
register-to-register LUT chains, a path across module boundaries (and a module used twice), the carry
chain's bit order, DSP slices with and without their pipeline registers, a loop, an unknown primitive.
The real synth_xilinx netlist is checked in tb/test_open_flow.py.
"""

import itertools

import pytest

from ernn.fpga import logic_depth as ld

DIRS = {
    "FDRE": {"C": "input", "CE": "input", "D": "input", "R": "input", "Q": "output"},
    "CARRY4": {
        "CI": "input",
        "CYINIT": "input",
        "DI": "input",
        "S": "input",
        "O": "output",
        "CO": "output",
    },
}


def lut(n):
    return {**{f"I{i}": "input" for i in range(n)}, "O": "output"}


class Net:
    """A module under construction: fresh bit ids, cells in Yosys's JSON shape."""

    def __init__(self, ports=None):
        self.ids = itertools.count(2)
        self.cells = {}
        self.netnames = {}
        self.ports = ports or {}

    def bit(self, name=None):
        b = next(self.ids)
        if name:
            self.netnames[name] = {"hide_name": 0, "bits": [b]}
        return b

    def cell(self, name, kind, conns, params=None, dirs=None):
        if dirs is None:
            dirs = lut(len(conns) - 1) if kind.startswith("LUT") else DIRS[kind]
        self.cells[name] = {
            "type": kind,
            "parameters": params or {},
            "port_directions": dirs,
            "connections": {p: b if isinstance(b, list) else [b] for p, b in conns.items()},
        }

    def ff(self, name, d, q, clk=1):
        self.cell(name, "FDRE", {"C": clk, "CE": "1", "R": "0", "D": d, "Q": q})

    def module(self):
        return {"attributes": {}, "ports": self.ports, "cells": self.cells, "netnames": self.netnames}


def design(top, **modules):
    return {"modules": {"top": top.module(), **{k: v.module() for k, v in modules.items()}}}


def lut_chain(m, src, n, tag):
    for i in range(n):
        dst = m.bit(f"{tag}{i}")
        m.cell(f"{tag}_lut{i}", "LUT2", {"I0": src, "I1": "0", "O": dst})
        src = dst
    return src


@pytest.mark.parametrize("depth", [1, 3, 7])
def test_a_chain_of_luts_between_registers(depth):
    m = Net()
    q = m.bit("start_q")
    m.ff("start", m.bit(), q)
    end = lut_chain(m, q, depth, "x")
    m.ff("stop", end, m.bit("stop_q"))
    # a shorter side branch into another register must not change the answer
    m.ff("side", lut_chain(m, q, depth - 1, "y") if depth > 1 else q, m.bit())
    report = ld.analyse(design(m), "top")
    assert report["lut_levels"] == depth == report["logic_levels"]
    path = report["longest_by_lut"]
    assert path["start"] == {
        "cell": "start",
        "type": "FDRE",
        "net": "start_q",
        "stages": dict.fromkeys(ld.STAGES, 0),
    }
    assert path["end"]["cell"] == "stop" and path["end"]["pin"] == "D" and path["end"]["net"] == "stop_q"
    assert [c["cell"] for c in path["path"]] == [f"x_lut{i}" for i in range(depth)]
    assert "longest_through_dsp" not in report and report["dsp_stages"] == 0


def test_deepest_registers_lists_one_path_per_register_deepest_first():
    """Three registers (one of two bits) at depths 5, 3 and 1: each listed once with its own path."""
    m = Net()
    q = m.bit("src")
    m.ff("start", m.bit(), q)
    m.ff("a0", lut_chain(m, q, 5, "a"), m.bit("acc[0]"))
    m.ff("a1", lut_chain(m, q, 4, "b"), m.bit("acc[1]"))  # the same register, shallower bit
    m.ff("f", lut_chain(m, q, 3, "c"), m.bit("flag"))
    m.ff("g", lut_chain(m, q, 1, "d"), m.bit("ready"))
    report = ld.analyse(design(m), "top", registers=3)
    listed = [(p["end"]["net"], p["logic_levels"]) for p in report["deepest_registers"]]
    assert listed == [("acc[0]", 5), ("flag", 3), ("ready", 1)]
    assert [c["cell"] for c in report["deepest_registers"][1]["path"]] == ["c_lut0", "c_lut1", "c_lut2"]
    # fewer registers than asked: every one a path reaches ("start"'s D is driven by nothing); none asked: no list
    assert len(ld.analyse(design(m), "top", registers=10)["deepest_registers"]) == 3
    assert "deepest_registers" not in ld.analyse(design(m), "top")
    assert any("-> flag" in line for line in ld.summary_lines(report))


def test_paths_cross_module_boundaries_and_each_instance_counts():
    # sub: in -> 2 LUTs -> out (combinational), used twice in series between two registers: 4 levels
    sub = Net()
    a, y = sub.bit("a"), sub.bit("y")
    sub.ports = {"a": {"direction": "input", "bits": [a]}, "y": {"direction": "output", "bits": [y]}}
    mid = lut_chain(sub, a, 1, "s")
    sub.cell("s_last", "LUT1", {"I0": mid, "O": y})
    top = Net()
    q, m1, m2 = top.bit("q"), top.bit("m1"), top.bit("m2")
    top.ff("r0", top.bit(), q)
    for name, i, o in (("u0", q, m1), ("u1", m1, m2)):
        top.cells[name] = {"type": "sub", "parameters": {}, "connections": {"a": [i], "y": [o]}}
    top.ff("r1", m2, top.bit("out"))
    report = ld.analyse(design(top, sub=sub), "top")
    assert report["lut_levels"] == 4 and report["primitives"] == 6
    assert [c["cell"] for c in report["longest_by_lut"]["path"]] == [
        "u0.s_lut0",
        "u0.s_last",
        "u1.s_lut0",
        "u1.s_last",
    ]


def test_carry_bits_see_only_lower_inputs():
    """A deep chain into S[3] does not reach O[0]; the path to O[0] is its shallow chain + one CARRY4."""
    m = Net()
    q = m.bit("q")
    m.ff("r0", m.bit(), q)
    shallow, deep = lut_chain(m, q, 1, "a"), lut_chain(m, q, 5, "b")
    o = [m.bit(f"o{i}") for i in range(4)]
    m.cell("c", "CARRY4", {"CI": "0", "CYINIT": "0", "DI": ["0"] * 4, "S": [shallow, "0", "0", deep], "O": o})
    m.ff("r1", o[0], m.bit("low"))
    report = ld.analyse(design(m), "top")
    assert report["longest_by_lut"]["levels"] == {"lut": 1, "carry": 1, "muxf": 0, "dsp": 0}
    # with O[3] registered too, the deep input counts
    m.ff("r2", o[3], m.bit("high"))
    report = ld.analyse(design(m), "top")
    assert report["longest_by_lut"]["levels"]["lut"] == 5
    assert report["longest_by_lut"]["end"]["net"] == "high"


DSP_DIRS = {"A": "input", "B": "input", "C": "input", "CLK": "input", "P": "output"}


def dsp_design(**regs):
    """FF -> LUT -> DSP48E2 A ; FF -> B ; P -> LUT -> FF, with the given pipeline registers."""
    m = Net()
    qa, qb = m.bit("qa"), m.bit("qb")
    m.ff("ra", m.bit(), qa)
    m.ff("rb", m.bit(), qb)
    a = lut_chain(m, qa, 1, "pre")
    p = m.bit("p")
    params = {k: format(regs.get(k, 0), "032b") for k in ("AREG", "BREG", "CREG", "MREG", "PREG", "ADREG")}
    m.cell("mul", "DSP48E2", {"A": a, "B": qb, "C": "0", "CLK": 1, "P": p}, params, DSP_DIRS)
    m.ff("rp", lut_chain(m, p, 1, "post"), m.bit("out"))
    return design(m)


@pytest.mark.parametrize(
    ("regs", "lut_levels", "dsp"),
    [
        ({}, 2, 1),  # a combinational slice: one path, LUT + DSP + LUT
        ({"AREG": 1, "BREG": 1}, 1, 1),  # input registers: the DSP stage is after them (to P)
        ({"MREG": 1}, 1, 1),  # into the multiplier register, then out of it
        ({"AREG": 1, "BREG": 1, "MREG": 1, "PREG": 1}, 1, 0),  # fully pipelined: a register like any
    ],
)
def test_dsp_pipeline_registers_cut_paths(regs, lut_levels, dsp):
    report = ld.analyse(dsp_design(**regs), "top")
    assert report["lut_levels"] == lut_levels
    assert report["dsp_stages"] == dsp
    if dsp:
        path = report["longest_through_dsp"]
        assert path["levels"]["dsp"] == dsp
        inside = path["start"]["stages"]["dsp"] + path["end"]["stages"]["dsp"]
        assert inside + sum(c["type"] == "DSP48E2" for c in path["path"]) == dsp


def test_loop_and_unknown_primitive_are_named():
    m = Net()
    a, b = m.bit("a"), m.bit("b")
    m.cell("l0", "LUT1", {"I0": b, "O": a})
    m.cell("l1", "LUT1", {"I0": a, "O": b})
    with pytest.raises(RuntimeError, match="combinational loop through l[01]"):
        ld.analyse(design(m), "top")
    m = Net()
    m.cell("weird", "URAM288", {"DIN": m.bit(), "DOUT": m.bit()}, dirs={"DIN": "input", "DOUT": "output"})
    with pytest.raises(ValueError, match="weird: primitive URAM288 is not known"):
        ld.analyse(design(m), "top")


def test_no_register_path():
    m = Net()
    m.cell("l0", "LUT1", {"I0": m.bit(), "O": m.bit()})
    report = ld.analyse(design(m), "top")
    assert report["lut_levels"] is None
    assert ld.summary_lines(report) == ["logic depth: no register-to-register path"]
