"""CSB group array utilization: the compiled schedule executed by the array, in the array model and in RTL
simulation.

Workload: the matrices of E-RNN's SR1 (2-layer LSTMP 153 -> 1024 -> 512: per layer W_ih, W_hh of 4 gates
and W_hr), Gaussian weights projected onto CSB at 32-blocks and 13x (``ernn.train.csb``), quantized by the
golden model, on the paper's engine (8 x 4 groups of 4 x 4 PEs, 512 PEs, ``--grid``). For each sharing mode
(none, horizontal, vertical, both; z3 per round, the greedy baseline for both, and both balanced per tile
row by max flow) every matrix is compiled (``ernn.export.csb_schedule``), turned into the array's program
(``ernn.export.csb_program``) and executed by the array model on a random input: outputs checked bit for bit against the golden matvec, busy PE-slots
and MAC clocks counted. Utilization = useful MACs / (PEs x MAC clocks); the clocks per vector add the
input and output beats and the tile rows' clear and reduction clocks. The array's P PEs of a PE column
share one input neuron, as in the paper (``ernn.export.csb_program.build`` packs each kernel column's
entries P at a time: ``shared_input_cycles``); "schedule" is the utilization the same schedules would
reach with an input neuron per PE (the array before that change).

The SR1 clocks per step (the six matrices one after the other) are also given at several stream widths
(``--elems``: elements per AXI-Stream beat, the array's ``ELEMS``; only the input and output beats change)
and reduction widths (``--red-rows``: output rows reduced per clock, the array's ``RED_ROWS``), with the time
per step at ``--mhz`` (an assumed clock, 200 MHz as CSB-RNN's ZCU102 design) and its ratio to CSB-RNN's
published 6.58 us and to our circulant engine's 1,031 cycles per SR1 step; beside them the clocks of the
array before its reductions overlapped the MACs ("serial": per tile row 1 clear clock + its MAC steps + M
reduction clocks, the period that array's testbench checked).

``--rtl`` also simulates ``rtl/ernn_csb_array.v`` (``--sim``, default Verilator) on a 1024 x 1024 matrix of
the same kind (one gate, 32-blocks, 13x) with and without balancing, and reads the array's own counters.

``--yosys`` estimates the array's resources instead: Yosys ``synth_xilinx -family xcu`` (out of context,
hierarchy kept, as docs/performance.md's table) of ``rtl/ernn_csb_array.v`` with the program of one random
CSB matrix (``--yosys-shape``: gates, rows, cols, block at 13x; both directions) on each grid of
``--yosys-grids`` (K L P Q, repeated), at stream width ``--yosys-elems`` and ``--yosys-red-rows``: LUT
(logic + LUTRAM sites), FF, LUTRAM cells and sites, DSP, BRAM36 and the Yosys run time; with
``--yosys-before REV`` also the array's three files as git revision REV has them (side by side, same
program), and a least-squares line per resource over the grids (intercept + slope x PEs) extrapolated to
512 PEs. ``--yosys-depth`` also writes each netlist (``write_json``) and reports its longest
register-to-register path (``ernn.fpga.logic_depth``: LUT levels, logic levels, start and end).

    .venv/bin/python bench/bench_csb_array.py --out build/bench/csb_array.json [--elems 1 16 64] \
        [--red-rows 1 2 4] [--rtl]
    .venv/bin/python bench/bench_csb_array.py --yosys --out build/bench/csb_array_yosys.json \
        [--yosys-shape 1 128 128 32] [--yosys-grids 1 1 2 2 1 2 2 2 2 2 2 2] [--yosys-red-rows 1] \
        [--yosys-before 4942be9]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ernn.export import csb_program as cp
from ernn.export import csb_schedule as cs
from ernn.files import atomic
from ernn.fpga import logic_depth
from ernn.golden import csb as gcsb
from ernn.shape import ModelShape
from ernn.shape.structures import CSB
from ernn.train import csb as tcsb

SR1 = {"input": 153, "hidden": 1024, "proj": 512, "layers": 2}
RATE_13X = 1.0 - 1.0 / 13.0
#: (sharing mode, solver, balancing scope): per round, and the max-flow balance per tile row (no barrier
#: between a tile row's rounds: ernn.export.csb_schedule's scope "tile_row")
RUNS = [
    ("none", "z3", "round"),
    ("horizontal", "z3", "round"),
    ("vertical", "z3", "round"),
    ("both", "z3", "round"),
    ("both", "greedy", "round"),
    ("both", "flow", "tile_row"),
]
#: CSB-RNN's published SR1 latency (issue 15) and our block-circulant engine's SR1 step (docs/performance.md)
PAPER_US = 6.58
CIRCULANT_CYCLES = 1031
TB_DIR = Path(__file__).resolve().parents[1] / "tb" / "ernn_csb_array"


def sr1_shapes() -> list[tuple[str, tuple[int, int, int]]]:
    out = []
    for layer in range(SR1["layers"]):
        n_in = SR1["input"] if layer == 0 else SR1["proj"]
        out += [
            (f"l{layer}_w_ih", (4, SR1["hidden"], n_in)),
            (f"l{layer}_w_hh", (4, SR1["hidden"], SR1["proj"])),
            (f"l{layer}_w_hr", (1, SR1["proj"], SR1["hidden"])),
        ]
    return out


def matrix(shape: tuple[int, int, int], block: int, rng: np.random.Generator):
    """A Gaussian matrix projected onto CSB at 13x and quantized, with its numerics."""
    _, rows, cols = shape
    params = CSB(block, RATE_13X)
    dense = tcsb.project(torch.from_numpy(rng.normal(size=shape) * 0.5), params).numpy()
    info = ModelShape(cell="gru", input_size=cols, hidden_size=rows, structure=params)
    cfg = gcsb.numerics(info, float(np.abs(dense).max()), 1.0, 0.0)
    return gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum), cfg


def serial_cycles(prog: cp.Program, elems: int) -> int:
    """Clocks per vector of the array before the overlapped reduction (rtl/ernn_csb_array.v up to commit
    4942be9): the beats, and per tile row 1 clear clock + its MAC steps + M reduction clocks, one after the
    other."""
    beats = -(-prog.cols // elems) + -(-(prog.gates * prog.rows) // elems)
    return beats + prog.tile_rows * (1 + prog.block) + prog.steps


def model_run(
    m,
    cfg,
    grid: cs.Grid,
    mode: str,
    method: str,
    scope: str,
    rng: np.random.Generator,
    widths: list[int],
    red_rows: list[int],
) -> dict:
    """Compile, build the program, execute it in the array model; the counts (outputs checked), and the
    clocks per vector at each stream width in ``widths`` and reduction width in ``red_rows`` (and of the
    serial array before)."""
    t0 = time.perf_counter()
    sched = cs.compile_matrix(m.counts, grid, mode, method, scope)
    t1 = time.perf_counter()
    prog = cp.build(m, sched)
    x = rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=(1, m.cols))
    out = cp.run(prog, x, cfg)
    want = gcsb.finish(gcsb.accumulate(m, x, cfg), m.rows, cfg).reshape(1, -1)
    if not np.array_equal(out.y, want):
        raise AssertionError(f"array model differs from the golden matvec ({mode}, {method})")
    if out.mac_cycles != cp.shared_input_cycles(sched) or out.busy != sched.macs:
        raise AssertionError("the array model does not follow the schedule")
    return {
        "macs": out.busy,
        "mac_cycles": out.mac_cycles,
        "cycles": out.cycles,
        "cycles_by_elems": {e: cp.array_cycles(prog, e) for e in widths},
        "cycles_by_red_rows": {
            f"{e}/{r}": cp.array_cycles(prog, e, r) for e in widths for r in red_rows if m.block % r == 0
        },
        "serial_cycles_by_elems": {e: serial_cycles(prog, e) for e in widths},
        "utilization": out.utilization,
        "schedule_utilization": sched.utilization,
        "shared_input_cycles": out.mac_cycles,
        "schedule_cycles": sched.cycles,
        "solve_s": sched.solve_seconds,
        "compile_s": t1 - t0,
    }


def rtl_run(sim: str, grid: cs.Grid, mode: str, seed: int, folder: Path) -> dict:
    """Simulate the array on a 1024 x 1024 SR1-like matrix; the counters as the array reports them."""
    sys.path.insert(0, str(TB_DIR))
    sys.path.insert(0, str(TB_DIR.parent))
    import test_ernn_csb_array as tb

    from ernn.sim import runner as rtl_runner

    _, _, sched, prog, conf, params = tb.setup(
        tb.SR1_SHAPE, (grid.k, grid.l, grid.p, grid.q), mode, seed, 2, folder
    )
    report = folder / "counters.json"
    conf |= {"p_gap": 0.0, "p_stall": 0.0, "period": cp.array_cycles(prog), "report": str(report)}
    t0 = time.perf_counter()
    res = rtl_runner.run(tb.TOPLEVEL, "test_ernn_csb_array", params, sim=sim, config=conf, test_dir=folder)
    wall = time.perf_counter() - t0
    got = json.loads(report.read_text())
    return {
        "sim": sim,
        "mode": mode,
        "vectors": got["vectors"],
        "mac_cycles": got["mac_cycles"],
        "busy": got["busy"],
        "utilization": got["busy"] / (grid.pes * got["mac_cycles"]),
        "schedule_utilization": sched.utilization,
        "cycles_per_vector": cp.array_cycles(prog),
        "build_s": res.build_seconds,
        "sim_s": res.test_seconds,
        "wall_s": wall,
    }


ARRAY_CHECK_START = "initial begin\n    if (K < 1"
ARRAY_CHECK_IMAGES = "    $readmemh(LENS_FILE"
ARRAY_CHECK_WALK = "    // the program, slot by slot"
ARRAY_CHECK_END = "end\n/* verilator lint_on WIDTHTRUNC */"


def rtl_text(name: str, rev: str | None) -> str:
    """rtl/<name> as the working tree has it, or as git revision ``rev`` has it."""
    import subprocess

    from ernn.fpga import open_flow as fpga

    if rev is None:
        return (fpga.RTL_DIR / name).read_text()
    root = fpga.RTL_DIR.parent
    got = subprocess.run(["git", "show", f"{rev}:rtl/{name}"], cwd=root, capture_output=True, text=True)
    if got.returncode:
        raise RuntimeError(f"git show {rev}:rtl/{name} failed: {got.stderr.strip()}")
    return got.stdout


def array_parts(rev: str | None) -> list[str]:
    """The rtl/ files ernn_csb_array.v instantiates, transitively (itself excluded), as the working tree
    or git revision ``rev`` has them: the group, the PE, the rounder and, since the reduction sums became
    adder trees, ernn_sum_tree and ernn_add."""
    import subprocess

    from ernn.fpga import open_flow as fpga

    if rev is None:
        have = {f.name for f in fpga.RTL_DIR.glob("ernn_*.v")}
    else:
        root = fpga.RTL_DIR.parent
        got = subprocess.run(
            ["git", "ls-tree", "--name-only", rev, "rtl/"], cwd=root, capture_output=True, text=True
        )
        if got.returncode:
            raise RuntimeError(f"git ls-tree {rev} rtl/ failed: {got.stderr.strip()}")
        have = {Path(line).name for line in got.stdout.split()}
    needed: list[str] = []
    todo = ["ernn_csb_array.v"]
    while todo:
        name = todo.pop()
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", rtl_text(name, rev), flags=re.S)
        for ident in re.findall(r"\b(ernn_\w+)\b", text):
            file = ident + ".v"
            if file in have and file not in needed and file != "ernn_csb_array.v":
                needed.append(file)
                todo.append(file)
    return sorted(needed)


def module_at(rev: str, path: str):
    """The Python module at ``path`` as git revision ``rev`` has it, loaded under a name of its own."""
    import importlib.util
    import subprocess

    from ernn.fpga import open_flow as fpga

    root = fpga.RTL_DIR.parent
    got = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True)
    if got.returncode:
        raise RuntimeError(f"git show {rev}:{path} failed: {got.stderr.strip()}")
    name = f"_at_{rev}_" + Path(path).stem
    spec = importlib.util.spec_from_loader(name, loader=None)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = mod  # dataclasses look their module up by name
    exec(compile(got.stdout, f"{rev}:{path}", "exec"), mod.__dict__)
    return mod


def synthesizable_array(work: Path, params: dict[str, object], rev: str | None = None) -> Path:
    """A copy of rtl/ernn_csb_array.v with the parameters written in as the defaults (as
    bench_csb_cost_samples.synthesizable_engine does); for a revision whose elaboration checks were not yet
    in ``translate_off``, only the $readmemh calls left in its initial block (Yosys 0.23 cannot resolve the
    checks' $error; they build no hardware, and the images come from ernn.export.csb_program, which the
    simulators' checks accept: tb/ernn_csb_array)."""
    text = rtl_text("ernn_csb_array.v", rev)
    if ARRAY_CHECK_START in text:  # revisions before the checks were in translate_off (Yosys skips those)
        start = text.index(ARRAY_CHECK_START)
        images = text.index(ARRAY_CHECK_IMAGES, start)
        walk = text.index(ARRAY_CHECK_WALK, images)
        end = text.index(ARRAY_CHECK_END, walk)
        text = text[:start] + "initial begin\n" + text[images:walk] + text[end:]
    for name, value in params.items():
        text, n = re.subn(
            rf"(parameter {name} = )[^,\n]*",
            lambda mt, v=value: mt.group(1) + (f'"{v}"' if isinstance(v, (str, Path)) else str(v)),
            text,
            count=1,
        )
        if n != 1 and not (rev is not None and name == "RED_ROWS" and value == 1):
            raise RuntimeError(f"rtl/ernn_csb_array.v ({rev or 'working tree'}) has no parameter {name}")
    path = work / "ernn_csb_array.v"
    path.write_text(text)
    return path


def yosys_run(
    shape: tuple[int, int, int, int],
    grid: cs.Grid,
    elems: int,
    red_rows: int,
    seed: int,
    work: Path,
    rev: str | None = None,
    depth: bool = False,
) -> dict:
    """synth_xilinx -family xcu of the array (the working tree's, or git revision ``rev``'s) running one
    random CSB matrix of ``shape`` at 13x (both directions) on ``grid``: LUT (logic + LUTRAM sites), FF,
    LUTRAM cells and sites, DSP, BRAM36, seconds."""
    import subprocess

    from bench_csb_cost_samples import lutram_luts_per_cell

    from ernn.fpga import open_flow as fpga

    sys.path.insert(0, str(TB_DIR))
    sys.path.insert(0, str(TB_DIR.parent))
    import test_ernn_csb_array as tb

    gates, rows, cols, block = shape
    m, cfg, sched, prog, _, params = tb.setup(
        (gates, rows, cols, block, RATE_13X), (grid.k, grid.l, grid.p, grid.q), "both", seed, 1, work,
        elems=elems, red_rows=red_rows,
    )  # fmt: skip
    if rev is not None and red_rows != 1:
        raise ValueError("the array before RED_ROWS reduces one row per clock: use --yosys-red-rows 1")
    if rev is not None:
        # that revision's program of the same schedule (its compiler packs the entries its array expects);
        # an array before SUM_W sums in ACC_W bits
        params = {k: v for k, v in params.items() if k != "SUM_W"}
        old = module_at(rev, "ernn/export/csb_program.py")
        prog = old.build(m, sched)
        paths = old.write(prog, work, "p_" + rev, cfg.weight_spectrum.word)
        params = (
            params | prog.sizes() | {f"{n.upper()}_FILE": paths[n] for n in ("en", "val", "x", "tgt", "lens")}
        )
    top = "ernn_csb_array"
    src = synthesizable_array(work, params, rev)
    parts = array_parts(rev)
    for name in parts:
        (work / name).write_text(rtl_text(name, rev))
    lines = [
        f"read_verilog {src} " + " ".join(str(work / name) for name in parts),
        f"hierarchy -check -top {top}",
        f"synth_xilinx -family xcu -top {top} -noiopad",
        "tee -q -o stat.json stat -json",
    ] + (["write_json netlist.json"] if depth else [])
    (work / "synth.ys").write_text("\n".join(lines) + "\n")
    yosys = fpga.need_tool("yosys")
    t0 = time.perf_counter()
    run = subprocess.run([yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=work, capture_output=True)
    wall = time.perf_counter() - t0
    if run.returncode:
        tail = (work / "yosys.log").read_text()[-2000:] if (work / "yosys.log").is_file() else ""
        raise RuntimeError(f"yosys failed on grid {grid}: {run.stderr.decode()[-500:]}\n{tail}")
    cells = fpga.total_cells(fpga.parse_stat_json((work / "stat.json").read_text()), top)
    used = fpga.classify_cells(cells)
    lutram = sum(n * lutram_luts_per_cell(cell) for cell, n in cells.items())
    return {
        "rtl": rev or "this tree",
        "shape": list(shape),
        "grid": [grid.k, grid.l, grid.p, grid.q],
        "pes": grid.pes,
        "elems": elems,
        "red_rows": red_rows,
        "acc_w": params["ACC_W"],
        "sum_w": params.get("SUM_W", params["ACC_W"]),  # an array before SUM_W sums in ACC_W bits
        "cols": cols,
        "steps": prog.steps,
        "macs": prog.macs,
        "utilization": prog.utilization,
        "lut": float(used["lut"] + lutram),
        "lut_logic": float(used["lut"]),
        "ff": float(used["ff"]),
        "lutram": float(used["lutram"]),
        "lutram_sites": float(lutram),
        "dsp": float(used["dsp"]),
        "bram36": float(used["bram36"]),
        "yosys_s": wall,
    } | ({"logic_depth": logic_depth.analyse_file(work / "netlist.json", top)} if depth else {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/csb_array.json"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--grid", type=int, nargs=4, default=(8, 4, 4, 4), metavar=("K", "L", "P", "Q"))
    ap.add_argument("--elems", type=int, nargs="+", default=[1, 16, 64], help="stream widths to report")
    ap.add_argument(
        "--red-rows", type=int, nargs="+", default=[1, 2, 4], help="rows reduced per clock to report"
    )
    ap.add_argument("--mhz", type=float, default=200.0, help="assumed clock for the time per step")
    ap.add_argument("--yosys", action="store_true", help="Yosys estimate of the array instead")
    ap.add_argument(
        "--yosys-shape", type=int, nargs=4, default=(1, 128, 128, 32), metavar=("G", "R", "C", "M")
    )
    ap.add_argument("--yosys-grids", type=int, nargs="+", default=[1, 1, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2])
    ap.add_argument("--yosys-elems", type=int, default=16)
    ap.add_argument("--yosys-red-rows", type=int, default=1)
    ap.add_argument(
        "--yosys-before", metavar="REV", help="also synthesize the array as git revision REV has it"
    )
    ap.add_argument(
        "--yosys-depth", action="store_true", help="longest register-to-register path of each netlist too"
    )
    ap.add_argument("--rtl", action="store_true", help="also simulate the array on a 1024 x 1024 matrix")
    ap.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    args = ap.parse_args()
    if args.yosys:
        g = args.yosys_grids
        if len(g) % 4:
            ap.error("--yosys-grids takes K L P Q per grid")
        runs = []
        print(f"Yosys synth_xilinx -family xcu of ernn_csb_array, matrix {args.yosys_shape} at 13x, ELEMS "
              f"{args.yosys_elems}:")  # fmt: skip
        for i in range(0, len(g), 4):
            for rev in [None] + ([args.yosys_before] if args.yosys_before else []):
                with tempfile.TemporaryDirectory() as tmp:
                    r = yosys_run(
                        tuple(args.yosys_shape), cs.Grid(*g[i : i + 4]), args.yosys_elems, args.yosys_red_rows,
                        args.seed, Path(tmp), rev, args.yosys_depth,
                    )  # fmt: skip
                runs.append(r)
                print(
                    f"{r['rtl']:<10} grid {r['grid']} ({r['pes']} PEs, {r['steps']} steps): LUT {r['lut']:.0f} "
                    f"(logic {r['lut_logic']:.0f}, LUTRAM sites {r['lutram_sites']:.0f} in {r['lutram']:.0f} "
                    f"cells), FF {r['ff']:.0f}, DSP {r['dsp']:.0f}, BRAM36 {r['bram36']:.1f}, {r['yosys_s']:.0f} s",
                    flush=True,
                )
                if "logic_depth" in r:
                    print(
                        "\n".join("  " + line for line in logic_depth.summary_lines(r["logic_depth"])),
                        flush=True,
                    )
                args.out.parent.mkdir(parents=True, exist_ok=True)
                atomic.write_json(args.out, {"machine": platform.platform(), "yosys": runs}, force=True)
        fits = {}
        for rtl in sorted({r["rtl"] for r in runs}):
            pts = [r for r in runs if r["rtl"] == rtl]
            if len(pts) < 2:
                continue
            pes = np.array([r["pes"] for r in pts], dtype=float)
            fits[rtl] = {}
            for key in ("lut", "ff", "lutram_sites", "dsp"):
                slope, icept = np.polyfit(pes, np.array([r[key] for r in pts], dtype=float), 1)
                fits[rtl][key] = {"per_pe": slope, "intercept": icept, "at_512": icept + 512 * slope}
            f = fits[rtl]
            print(
                f"{rtl}: least squares over {len(pts)} grids, per PE: LUT {f['lut']['per_pe']:.0f}, FF "
                f"{f['ff']['per_pe']:.0f}, LUTRAM sites {f['lutram_sites']['per_pe']:.0f}; at 512 PEs "
                f"(extrapolated, this matrix's COLS): LUT {f['lut']['at_512']:.0f}, FF {f['ff']['at_512']:.0f}"
            )
        atomic.write_json(args.out, {"machine": platform.platform(), "yosys": runs, "fits": fits}, force=True)
        print(f"wrote {args.out}")
        return
    grid = cs.Grid(*args.grid)
    rng = np.random.default_rng(args.seed)
    mats = [(name, *matrix(shape, args.block, rng)) for name, shape in sr1_shapes()]
    result: dict = {
        "workload": f"SR1 matrices, random CSB at 13x, M = {args.block}, seed {args.seed}",
        "grid": list(args.grid),
        "pes": grid.pes,
        "machine": platform.platform(),
        "model": {},
    }
    print(f"SR1 on {grid.k} x {grid.l} groups of {grid.p} x {grid.q} PEs ({grid.pes} PEs), array model:")
    print(
        f"{'mode':<18}{'MACs':>9}{'MAC clocks':>12}{'clocks/step':>13}{'utilization':>13}{'schedule':>10}{'solver s':>10}"
    )
    for mode, method, scope in RUNS:
        per = [
            model_run(m, cfg, grid, mode, method, scope, rng, args.elems, args.red_rows) for _, m, cfg in mats
        ]
        name = f"{mode}/{method}" + ("" if scope == "round" else f"/{scope}")
        keys = ("macs", "mac_cycles", "cycles", "shared_input_cycles", "schedule_cycles", "solve_s")
        tot = {k: sum(p[k] for p in per) for k in keys}
        for key in ("cycles_by_elems", "serial_cycles_by_elems", "cycles_by_red_rows"):
            tot[key] = {e: sum(p[key][e] for p in per) for e in per[0][key]}
        tot["utilization"] = tot["macs"] / (grid.pes * tot["mac_cycles"])
        tot["schedule_utilization"] = tot["macs"] / (grid.pes * tot["schedule_cycles"])
        tot["matrices"] = dict(zip([n for n, _, _ in mats], per, strict=True))
        result["model"][name] = tot
        print(
            f"{name:<18}{tot['macs']:>9}{tot['mac_cycles']:>12}{tot['cycles']:>13}"
            f"{tot['utilization']:>13.1%}{tot['schedule_utilization']:>10.1%}{tot['solve_s']:>10.1f}"
        )
    result["mhz_assumed"] = args.mhz
    print(
        f"SR1 clocks per step (us at an assumed {args.mhz:g} MHz) by stream width E (elements per beat): the "
        "serial array before, and the overlapped one at R rows reduced per clock:"
    )
    cols = [("serial", e, None) for e in args.elems] + [
        (f"R={r}", e, r) for e in args.elems for r in args.red_rows
    ]
    for name, tot in result["model"].items():
        print(name)
        for label, e, r in cols:
            c = tot["serial_cycles_by_elems"][e] if r is None else tot["cycles_by_red_rows"].get(f"{e}/{r}")
            if c is None:
                continue
            us = c / args.mhz
            print(
                f"  E={e:<4}{label:<8}{c:>8} clocks {us:>8.2f} us   x{us / PAPER_US:.2f} the paper's "
                f"{PAPER_US} us, x{c / CIRCULANT_CYCLES:.2f} the circulant engine's {CIRCULANT_CYCLES} cycles"
            )
    if args.rtl:
        result["rtl"] = []
        for mode in ("none", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                r = rtl_run(args.sim, grid, mode, args.seed, Path(tmp))
            result["rtl"].append(r)
            print(
                f"RTL ({args.sim}) 1024 x 1024, {mode}: {r['mac_cycles']} MAC clocks, {r['busy']} busy slots over "
                f"{r['vectors']} vectors: utilization {r['utilization']:.1%} (schedule "
                f"{r['schedule_utilization']:.1%}), {r['cycles_per_vector']} clocks per vector, {r['wall_s']:.0f} s"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(args.out, result, force=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
