"""Logic depth of a ``synth_xilinx`` netlist: the longest register-to-register path in LUT levels.

Input is the mapped netlist Yosys writes with ``write_json`` (hierarchy kept; :func:`ernn.fpga.open_flow.
yosys_estimate` leaves it as ``netlist.json``). The hierarchy is flattened here, in memory, so that paths
crossing module boundaries are followed; each leaf is a Xilinx primitive. No delays are modelled: a path
is a count of primitives, which is what the synthesis result alone can tell (placement and routing set
the rest; docs/performance.md, "Clock evidence", turns the count into a clock estimate).

What starts and ends a path (the clock pins of every primitive are not data and are skipped):

* flip-flops (``FD*``): ``Q`` starts a path; ``D``, ``CE`` and the synchronous ``R`` / ``S`` end one
  (the asynchronous ``CLR`` / ``PRE`` are not timed register-to-register);
* block RAM (``RAMB18*`` / ``RAMB36*``): every data and address input ends a path, every output starts
  one (the read is synchronous whether or not the optional output register ``DO*_REG`` is used);
* DSP slices (``DSP48E1`` / ``DSP48E2``): an input pin ends a path at its own pipeline register
  (``AREG``, ``BREG``, ``CREG``, ...); without one, it ends at the first internal register behind it
  (``ADREG`` of a used pre-adder, ``MREG`` of a used multiplier, ``PREG``) with one *DSP stage* counted,
  and if there is none at all the slice is combinational, one DSP stage from the pin to ``P``. ``P``
  starts a path at ``PREG``, or one DSP stage after an internal register;
* LUT RAM and shift registers (``RAM32M``, ``RAM64X1D``, ``SRL16E``, ...): the write side (data, write
  enable, addresses) ends a path; the read is one LUT level, from the address pins or from the stored
  bits (a start).

Levels: ``LUT1``-``LUT6``, ``LUT6_2`` and ``INV`` are LUT levels; ``CARRY4`` / ``CARRY8`` carry stages
(bit-exact: carry-in and bits 0..j reach output j only); ``MUXF7``-``MUXF9`` wide-mux stages. Two maxima
are reported: the most LUT levels on any path (ties broken by the other stages), and the most *logic
levels* as Vivado counts them (every LUT, CARRY, MUXF and DSP on the path). Top-level ports are neither
starts nor ends (the estimate is out of context). A primitive this walker does not know is an error that
names it, so a new cell type cannot be silently counted as a wire.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: stage kinds, in the order of a path's weight vector
STAGES = ("lut", "carry", "muxf", "dsp")
LUT, CARRY, MUXF, DSP = ((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1))
ZERO = (0, 0, 0, 0)

_LUT_TYPES = re.compile(r"LUT[1-6](_2)?|INV")
_FF_TYPES = re.compile(r"FD[A-Z]*(_1)?|LD[A-Z]*")
_BRAM_TYPES = re.compile(r"RAMB(18|36)[A-Z0-9]*")
_LUTRAM_TYPES = re.compile(r"RAM(32|64|128|256|512)[A-Z0-9]*")
_SRL_TYPES = re.compile(r"SRLC?(16|32)E?")
_BUF_TYPES = re.compile(r"BUFG[A-Z_]*|BUFH|BUFR|IBUF[A-Z_]*|OBUF[A-Z_]*")
_CLOCK_PINS = re.compile(r"C|CLK|WCLK|CLK[A-Z]*CLK|CLK[AB]|REGCLK[A-Z]*")
_ASYNC_PINS = {"CLR", "PRE"}
#: inputs of a DSP slice that belong to the cut-by-MREG multiplier path, per register that guards them
_DSP_PIN_REG = {
    "A": "AREG",
    "ACIN": "AREG",
    "B": "BREG",
    "BCIN": "BREG",
    "C": "CREG",
    "D": "DREG",
    "PCIN": None,
    "OPMODE": "OPMODEREG",
    "ALUMODE": "ALUMODEREG",
    "INMODE": "INMODEREG",
    "CARRYIN": "CARRYINREG",
    "CARRYINSEL": "CARRYINSELREG",
    "CARRYCASCIN": None,
    "MULTSIGNIN": None,
}
_DSP_MULT_PINS = {"A", "ACIN", "B", "BCIN", "D", "INMODE"}
_DSP_PREADD_PINS = {"A", "ACIN", "D"}


@dataclass
class Leaf:
    """One primitive of the flattened netlist: connections as global bit ids (None for a constant)."""

    name: str
    type: str
    params: dict[str, Any]
    inputs: dict[str, list[int | None]]
    outputs: dict[str, list[int | None]]


@dataclass
class Timing:
    """What one primitive contributes: combinational arcs, path starts and path ends."""

    # (outputs, inputs, stage): every input reaches every output through one stage
    arcs: list[tuple[list[int], list[int], tuple[int, ...]]] = field(default_factory=list)
    # (bit, stage before it: ZERO for a register output, e.g. LUT for a LUT RAM's stored bits)
    starts: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    # (bit, pin, stage after it: ZERO at a register input, DSP at a DSP pin without its own register)
    ends: list[tuple[int, str, tuple[int, ...]]] = field(default_factory=list)


def _int(value: Any) -> int:
    """A Yosys JSON parameter (a binary string, or an int with -compat-int) as an int."""
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text, 2) if re.fullmatch(r"[01]+", text) else 0


def _bits(bits: list[int | None]) -> list[int]:
    return [b for b in bits if b is not None]


def flatten(netlist: dict[str, Any], top: str) -> Iterator[Leaf]:
    """Every primitive under ``top``, with hierarchical names (``inst.sub.cell``) and global bit ids.

    A module of the netlist that is not a black box is a user module and is entered; anything else
    (a Xilinx primitive from Yosys's cell library) is a leaf. The walk is deterministic, so two walks
    of one netlist give the same bit ids (:func:`net_names` relies on that).
    """
    modules = netlist["modules"]
    if top not in modules:
        raise ValueError(
            f"module {top!r} is not in the netlist (modules: {', '.join(sorted(modules)[:8])} ...)"
        )
    counter = [0]

    def is_user(name: str) -> bool:
        m = modules.get(name)
        return m is not None and not _int(m.get("attributes", {}).get("blackbox", 0))

    def walk(name: str, prefix: str, ports: dict[int, int | None]) -> Iterator[Leaf]:
        mod = modules[name]
        local: dict[int, int | None] = dict(ports)

        def glob(bit: Any) -> int | None:
            if not isinstance(bit, int):
                return None  # "0", "1", "x", "z": a constant
            if bit not in local:
                counter[0] += 1
                local[bit] = counter[0]
            return local[bit]

        for cell_name, cell in mod["cells"].items():
            conns = {pin: [glob(b) for b in bits] for pin, bits in cell["connections"].items()}
            path = prefix + cell_name
            if is_user(cell["type"]):
                child = modules[cell["type"]]
                child_ports: dict[int, int | None] = {}
                for port, info in child["ports"].items():
                    for cbit, pbit in zip(info["bits"], conns.get(port, []), strict=False):
                        if isinstance(cbit, int):
                            child_ports[cbit] = pbit
                yield from walk(cell["type"], path + ".", child_ports)
                continue
            dirs = cell.get("port_directions", {})
            ins, outs = {}, {}
            for pin, bits in conns.items():
                if pin not in dirs:
                    raise ValueError(f"{path} ({cell['type']}): no direction for pin {pin} in the netlist")
                (outs if dirs[pin] == "output" else ins)[pin] = bits
            yield Leaf(path, cell["type"], cell.get("parameters", {}), ins, outs)

    top_ports = {}
    for info in modules[top]["ports"].values():
        for bit in info["bits"]:
            if isinstance(bit, int):
                counter[0] += 1
                top_ports[bit] = counter[0]
    yield from walk(top, "", top_ports)


def net_names(netlist: dict[str, Any], top: str, wanted: set[int]) -> dict[int, str]:
    """Readable names (``inst.sub.reg_name[3]``) of the global bits in ``wanted`` (a second walk)."""
    modules = netlist["modules"]
    names: dict[int, tuple[int, int, str]] = {}
    counter = [0]

    def walk(name: str, prefix: str, ports: dict[int, int | None]) -> None:
        mod = modules[name]
        local = dict(ports)

        def glob(bit: Any) -> int | None:
            if not isinstance(bit, int):
                return None
            if bit not in local:
                counter[0] += 1
                local[bit] = counter[0]
            return local[bit]

        for cell_name, cell in mod["cells"].items():
            conns = {pin: [glob(b) for b in bits] for pin, bits in cell["connections"].items()}
            child = modules.get(cell["type"])
            if child is not None and not _int(child.get("attributes", {}).get("blackbox", 0)):
                child_ports = {}
                for port, info in child["ports"].items():
                    for cbit, pbit in zip(info["bits"], conns.get(port, []), strict=False):
                        if isinstance(cbit, int):
                            child_ports[cbit] = pbit
                walk(cell["type"], prefix + cell_name + ".", child_ports)
        for net, info in mod.get("netnames", {}).items():
            rank = 1 if info.get("hide_name") else 0  # a public name wins over $auto$ ones
            for i, bit in enumerate(info["bits"]):
                g = local.get(bit) if isinstance(bit, int) else None
                if g in wanted:
                    label = prefix + net + (f"[{i}]" if len(info["bits"]) > 1 else "")
                    if g not in names or (rank, len(label)) < names[g][:2]:
                        names[g] = (rank, len(label), label)

    top_ports = {}
    for info in modules[top]["ports"].values():
        for bit in info["bits"]:
            if isinstance(bit, int):
                counter[0] += 1
                top_ports[bit] = counter[0]
    walk(top, "", top_ports)
    return {g: v[2] for g, v in names.items()}


def _carry_arcs(leaf: Leaf) -> list[tuple[list[int], list[int], tuple[int, ...]]]:
    """CARRY4 / CARRY8 bit by bit: output j sees the carry-in and bits 0..j of S and DI."""
    width = 8 if leaf.type.startswith("CARRY8") else 4
    head = _bits(leaf.inputs.get("CI", [])) + _bits(leaf.inputs.get("CYINIT", []))
    head += _bits(leaf.inputs.get("CI_TOP", []))
    s, di = leaf.inputs.get("S", []), leaf.inputs.get("DI", [])
    arcs = []
    for j in range(width):
        outs = [b for pin in ("O", "CO") for b in leaf.outputs.get(pin, [])[j : j + 1] if b is not None]
        if outs:
            arcs.append((outs, head + _bits(s[: j + 1]) + _bits(di[: j + 1]), CARRY))
    return arcs


def _dsp_timing(leaf: Leaf) -> Timing:
    p = leaf.params
    mult = str(p.get("USE_MULT", "MULTIPLY")).strip() != "NONE"
    preadd = str(p.get("AMULTSEL", "A")).strip() == "AD" or str(p.get("USE_DPORT", "FALSE")).strip() == "TRUE"
    mreg, preg = _int(p.get("MREG", 1)), _int(p.get("PREG", 1))
    any_reg = False
    through: list[int] = []
    t = Timing()
    for pin, bits in leaf.inputs.items():
        if pin not in _DSP_PIN_REG:
            continue  # clock enables and resets of the slice's registers: constant in this RTL
        reg = _DSP_PIN_REG[pin]
        own = reg is not None and (
            _int(p.get(reg, 1)) or (reg in ("AREG", "BREG") and _int(p.get(reg[0] + "CASCREG", 0)))
        )
        later = preg or (pin in _DSP_MULT_PINS and mult and mreg)
        later = later or (pin in _DSP_PREADD_PINS and preadd and _int(p.get("ADREG", 1)))
        any_reg = any_reg or bool(own) or bool(later)
        for b in _bits(bits):
            if own:
                t.ends.append((b, pin, ZERO))
            elif later:
                t.ends.append((b, pin, DSP))
            else:
                through.append(b)
    outs = [b for bits in leaf.outputs.values() for b in _bits(bits)]
    if through:
        t.arcs.append((outs, through, DSP))
    if preg:
        t.starts += [(b, ZERO) for b in outs]
    elif any_reg:
        t.starts += [(b, DSP) for b in outs]
    return t


def timing_of(leaf: Leaf) -> Timing:
    """The arcs, starts and ends of one primitive (see the module docstring)."""
    kind = leaf.type
    t = Timing()
    ins = {pin: bits for pin, bits in leaf.inputs.items() if not _CLOCK_PINS.fullmatch(pin)}
    outs = [b for bits in leaf.outputs.values() for b in _bits(bits)]
    if _LUT_TYPES.fullmatch(kind):
        t.arcs.append((outs, [b for bits in ins.values() for b in _bits(bits)], LUT))
    elif kind.startswith("MUXF"):
        t.arcs.append((outs, [b for bits in ins.values() for b in _bits(bits)], MUXF))
    elif kind.startswith("CARRY"):
        t.arcs = _carry_arcs(leaf)
    elif _FF_TYPES.fullmatch(kind):
        t.starts = [(b, ZERO) for b in outs]
        t.ends = [(b, pin, ZERO) for pin, bits in ins.items() if pin not in _ASYNC_PINS for b in _bits(bits)]
    elif _BRAM_TYPES.fullmatch(kind):
        t.starts = [(b, ZERO) for b in outs]
        t.ends = [(b, pin, ZERO) for pin, bits in ins.items() for b in _bits(bits)]
    elif kind.startswith("DSP48"):
        return _dsp_timing(leaf)
    elif _LUTRAM_TYPES.fullmatch(kind) or _SRL_TYPES.fullmatch(kind):
        # the read is a LUT: from the address pins, and from the stored bits (a register)
        addr = [
            b
            for pin, bits in ins.items()
            if re.fullmatch(r"A\d*|ADDR[A-Z]|DPRA\d*|RADR\d*", pin)
            for b in _bits(bits)
        ]
        if addr:
            t.arcs.append((outs, addr, LUT))
        t.starts = [(b, LUT) for b in outs]
        t.ends = [(b, pin, ZERO) for pin, bits in ins.items() for b in _bits(bits)]
    elif _BUF_TYPES.fullmatch(kind):
        t.arcs.append((outs, [b for bits in ins.values() for b in _bits(bits)], ZERO))
    elif kind in ("GND", "VCC"):
        pass
    else:
        raise ValueError(
            f"{leaf.name}: primitive {kind} is not known to the logic-depth walk (ernn.fpga.logic_depth)"
        )
    return t


def _add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


#: (stage vector, end cell, chain, stages inside the start cell, stages inside the end cell)
Result = tuple[tuple[int, ...], int, list[tuple[int, int, int]], tuple[int, ...], tuple[int, ...]]


#: bit -> (deepest stage vector arriving there, (driving cell, previous bit or -1 at a start))
Arrivals = dict[int, tuple[tuple[int, ...], tuple[int, int] | None]]


def arrivals(
    leaves: list[Leaf], timings: list[Timing], key: Callable[[tuple[int, ...]], tuple[int, ...]]
) -> Arrivals:
    """The deepest arrival under ``key`` at every bit, with the bit it came from.

    Arrival times are propagated through the arcs in topological order (Kahn); a combinational loop is
    an error that names a cell on it.
    """
    driver_arcs: dict[int, list[tuple[int, int]]] = {}  # bit -> [(cell, arc index)]
    arrival: dict[int, tuple[tuple[int, ...], tuple[int, int] | None]] = {}
    for ci, t in enumerate(timings):
        for bit, pre in t.starts:
            if bit not in arrival or key(pre) > key(arrival[bit][0]):
                arrival[bit] = (pre, (ci, -1))
    pending: dict[tuple[int, int], int] = {}
    users: dict[int, list[tuple[int, int]]] = {}
    for ci, t in enumerate(timings):
        for ai, (outs, _ins, _) in enumerate(t.arcs):
            for b in outs:
                driver_arcs.setdefault(b, []).append((ci, ai))
    comb_driven = set(driver_arcs)
    for ci, t in enumerate(timings):
        for ai, (_, ins, _) in enumerate(t.arcs):
            deps = {b for b in ins if b in comb_driven}
            pending[(ci, ai)] = len(deps)
            for b in deps:
                users.setdefault(b, []).append((ci, ai))
    remaining = {b: len(arcs) for b, arcs in driver_arcs.items()}  # arcs still to evaluate per bit
    queue = deque(arc for arc, n in pending.items() if n == 0)
    done = 0
    while queue:
        ci, ai = queue.popleft()
        done += 1
        outs, ins, stage = timings[ci].arcs[ai]
        best: tuple[tuple[int, ...], int] | None = None
        for b in ins:
            a = arrival.get(b)
            if a is not None and (best is None or key(a[0]) > key(best[0])):
                best = (a[0], b)
        for o in outs:
            if best is not None:
                cand = _add(best[0], stage)
                if o not in arrival or key(cand) > key(arrival[o][0]):
                    arrival[o] = (cand, (ci, best[1]))
            remaining[o] -= 1
            if remaining[o] == 0:
                for user in users.get(o, []):
                    pending[user] -= 1
                    if pending[user] == 0:
                        queue.append(user)
    if done != len(pending):
        stuck = next(arc for arc, n in pending.items() if n > 0)
        raise RuntimeError(f"combinational loop through {leaves[stuck[0]].name} ({leaves[stuck[0]].type})")
    return arrival


def path_ends(
    timings: list[Timing], arrival: Arrivals
) -> Iterator[tuple[tuple[int, ...], int, int, tuple[int, ...]]]:
    """Every path end that a path reaches: (total stage vector, end cell, end bit, stages inside the end)."""
    for ci, t in enumerate(timings):
        for bit, _pin, post in t.ends:
            a = arrival.get(bit)
            if a is not None:
                yield _add(a[0], post), ci, bit, post


def _result(
    arrival: Arrivals, total: tuple[int, ...], end_cell: int, bit: int, post: tuple[int, ...]
) -> Result:
    """The path into one end, traced back through the arrivals."""
    chain: list[tuple[int, int, int]] = []
    while True:
        vec, pred = arrival[bit]
        assert pred is not None
        ci, prev = pred
        chain.append((bit, ci, prev))
        if prev == -1:
            break
        bit = prev
    chain.reverse()
    return total, end_cell, chain, vec, post


def longest(
    leaves: list[Leaf], timings: list[Timing], key: Callable[[tuple[int, ...]], tuple[int, ...]]
) -> Result | None:
    """Longest register-to-register path under ``key`` (a linear order on stage vectors).

    Returns (stage vector, index of the end cell, the path as (bit, driving cell index, previous bit or
    -1 at the start) from start to end, the stages inside the start cell, the stages inside the end
    cell) or None for a design without one.
    """
    arrival = arrivals(leaves, timings, key)
    best = max(path_ends(timings, arrival), key=lambda e: key(e[0]), default=None)
    return None if best is None else _result(arrival, *best)


def _register_name(net: str) -> str:
    """A register's name without its bit index: ``u.full_reg[3]`` -> ``u.full_reg``."""
    return re.sub(r"\[\d+\]$", "", net)


def deepest_registers(
    netlist: dict[str, Any],
    top: str,
    leaves: list[Leaf],
    timings: list[Timing],
    key: Callable[[tuple[int, ...]], tuple[int, ...]],
    count: int,
) -> list[Result]:
    """The deepest path into each of the ``count`` deepest registers (a register: all bits of one name).

    The longest path alone hides the paths behind it: once it is cut, the next one decides the clock.
    This lists one path per end register, deepest first, so a change can be judged by what it leaves.
    """
    arrival = arrivals(leaves, timings, key)
    ends = sorted(path_ends(timings, arrival), key=lambda e: key(e[0]), reverse=True)
    # end nets are named in batches: naming every end of a large design is slow
    picked: dict[str, tuple] = {}
    start = 0
    batch = max(256, 32 * count)
    while len(picked) < count and start < len(ends):
        chunk = ends[start : start + batch]
        start += batch
        out_bits = {e[2]: [b for bits in leaves[e[1]].outputs.values() for b in _bits(bits)] for e in chunk}
        names = net_names(
            netlist, top, {b for bits in out_bits.values() for b in bits} | {e[2] for e in chunk}
        )
        for e in chunk:
            outs = [names[b] for b in out_bits[e[2]] if b in names]
            name = _register_name(outs[0] if outs else names.get(e[2], leaves[e[1]].name))
            if name not in picked:
                picked[name] = e
                if len(picked) == count:
                    break
    return [_result(arrival, *e) for e in picked.values()]


def analyse(netlist: dict[str, Any], top: str = "ernn_top", registers: int = 0) -> dict[str, Any]:
    """The logic depth report of a netlist: the longest path by LUT levels and by logic levels.

    With ``registers`` > 0 it also lists the deepest path (by logic levels) into each of that many
    deepest end registers (``deepest_registers``).
    """
    leaves = list(flatten(netlist, top))
    timings = [timing_of(leaf) for leaf in leaves]
    by_lut = longest(leaves, timings, lambda v: (v[0], sum(v)))
    by_logic = longest(leaves, timings, lambda v: (sum(v), v[0]))
    # a combinational DSP stage is slow (a multiply) whatever the LUT count: its deepest path apart
    by_dsp = longest(leaves, timings, lambda v: (v[3], sum(v)))
    per_register = (
        deepest_registers(netlist, top, leaves, timings, lambda v: (sum(v), v[0]), registers)
        if registers
        else []
    )
    results = [r for r in (by_lut, by_logic, by_dsp, *per_register) if r is not None]
    report: dict[str, Any] = {
        "primitives": len(leaves),
        "stages": list(STAGES),
        "lut_levels": None,
        "logic_levels": None,
    }
    if by_lut is None or by_logic is None:
        return report
    wanted = {bit for result in results for bit, _, _ in result[2]}
    for result in results:
        end = result[1]
        wanted |= {b for pin, bits in leaves[end].inputs.items() for b in _bits(bits)}
        wanted |= {b for bits in leaves[end].outputs.values() for b in _bits(bits)}
    names = net_names(netlist, top, wanted)

    def describe(result: Result) -> dict[str, Any]:
        total, end, chain, pre, post = result
        cells = [
            {"cell": leaves[ci].name, "type": leaves[ci].type, "net": names.get(bit, f"bit {bit}")}
            for bit, ci, _ in chain
        ]
        end_leaf = leaves[end]
        end_bit = chain[-1][0]
        end_pin = next(
            (pin for pin, bits in end_leaf.inputs.items() if end_bit in bits),
            "?",
        )
        end_out = [names[b] for bits in end_leaf.outputs.values() for b in _bits(bits) if b in names]
        start = cells[0]
        return {
            "levels": dict(zip(STAGES, total, strict=True)),
            "logic_levels": sum(total),
            # a LUT RAM's read (a LUT level) or a DSP stage inside the start or end cell itself
            "start": {**start, "stages": dict(zip(STAGES, pre, strict=True))},
            "end": {
                "cell": end_leaf.name,
                "type": end_leaf.type,
                "pin": end_pin,
                "net": end_out[0] if end_out else names.get(end_bit, f"bit {end_bit}"),
                "stages": dict(zip(STAGES, post, strict=True)),
            },
            "path": cells[1:],
        }

    report["lut_levels"] = by_lut[0][0]
    report["logic_levels"] = sum(by_logic[0])
    report["longest_by_lut"] = describe(by_lut)
    report["longest_by_logic"] = describe(by_logic)
    report["dsp_stages"] = by_dsp[0][3] if by_dsp else 0
    if by_dsp and by_dsp[0][3]:
        report["longest_through_dsp"] = describe(by_dsp)
    if registers:
        report["deepest_registers"] = [describe(r) for r in per_register]
    return report


def analyse_file(path: str | Path, top: str = "ernn_top", registers: int = 0) -> dict[str, Any]:
    return analyse(json.loads(Path(path).read_text()), top, registers)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A few lines for the terminal: the two maxima and their endpoints."""
    if report["lut_levels"] is None:
        return ["logic depth: no register-to-register path"]
    lines = []
    for key, what in (
        ("longest_by_lut", "LUT levels"),
        ("longest_by_logic", "logic levels"),
        ("longest_through_dsp", "combinational DSP stages"),
    ):
        if key not in report:
            continue
        p = report[key]
        lv = p["levels"]
        lines.append(
            f"longest path by {what}: {lv['lut']} LUT + {lv['carry']} CARRY + {lv['muxf']} MUXF + {lv['dsp']} DSP"
            f" = {p['logic_levels']} levels"
        )
        lines.append(f"  from {p['start']['net']} ({p['start']['type']} {p['start']['cell']})")
        lines.append(
            f"  to   {p['end']['net']} ({p['end']['type']} {p['end']['cell']}, pin {p['end']['pin']})"
        )
    if report.get("deepest_registers"):
        lines.append(
            "deepest path into each register (logic levels: LUT + CARRY + MUXF + DSP, start -> end):"
        )
        for p in report["deepest_registers"]:
            lv = p["levels"]
            lines.append(
                f"  {p['logic_levels']:3d} ({lv['lut']} + {lv['carry']} + {lv['muxf']} + {lv['dsp']})"
                f"  {_register_name(p['start']['net'])} -> {_register_name(p['end']['net'])}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    """``python -m ernn.fpga.logic_depth NETLIST [--top T] [--json OUT] [--registers N]``: analyse a netlist Yosys wrote."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("netlist", type=Path, help="write_json output of a synth_xilinx run (netlist.json)")
    ap.add_argument("--top", default="ernn_top")
    ap.add_argument("--json", type=Path, help="write the report here")
    ap.add_argument(
        "--registers",
        type=int,
        default=0,
        metavar="N",
        help="also list the deepest path into each of the N deepest registers (what is left once the longest is cut)",
    )
    args = ap.parse_args(argv)
    if args.registers < 0:
        ap.error(f"--registers must be >= 0 (got {args.registers})")
    report = analyse_file(args.netlist, args.top, args.registers)
    print("\n".join(summary_lines(report)))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
