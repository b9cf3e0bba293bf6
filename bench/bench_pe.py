"""Circulant PE (rtl/ernn_pe.v): cycles of a matrix-vector product against the ideal, and simulator speed.

For each (k, P) the PE is built once (Verilator) and runs one job per size (rows = row blocks of k
outputs, q = input blocks), one job at a time with no stalls; every output is checked bit for bit against
the golden model while being timed (tb/ernn_pe/test_ernn_pe.py, cocotb test ``pe_bench``). Reported per job:

* cycles: clocks from the edge that takes the command to the edge that takes the last output beat;
* ideal: ceil(complex MACs / P) + pipeline latency, complex MACs = rows * q * (k/2 + 1), latency = the
  PE's fill/drain depth (:func:`pipeline_latency`, docs/pe.md);
* ratio = cycles / ideal (the target is <= 1.25).

Then the randomized PE testbench (``pe_matches_golden``: random jobs, random stalls on every handshake)
runs on Icarus and on Verilator; the speed of each (simulated clocks per wall second, from cocotb's
results) and their ratio are reported, along with build and whole-process times.

    PYTHONPATH=tb:tb/ernn_pe .venv/bin/python bench/bench_pe.py [--out build/bench/pe.json] [--quick]

(``make bench`` sets the path: the benchmark drives the PE testbench module itself.)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ernn.files import atomic
from ernn.sim import runner as rtl_runner

REPO = Path(__file__).resolve().parents[1]

try:
    import test_ernn_pe as pe_tb  # the testbench module: job plans and the cocotb tests
except ImportError as exc:  # pragma: no cover - a usage error
    raise SystemExit(
        "bench_pe.py drives tb/ernn_pe/test_ernn_pe.py: run it as "
        "'PYTHONPATH=tb:tb/ernn_pe .venv/bin/python bench/bench_pe.py' (make bench does)"
    ) from exc

# (k, P, bits) builds and the (rows, q) jobs each one runs
SWEEP: list[tuple[int, int, int, list[tuple[int, int]]]] = [
    (16, 1, 16, [(4, 2), (8, 4), (16, 4), (32, 8)]),
    (16, 2, 16, [(4, 2), (8, 4), (16, 4), (32, 8)]),
    (16, 4, 16, [(1, 1), (4, 2), (8, 4), (16, 4), (32, 8)]),
    (16, 8, 16, [(4, 2), (8, 4), (16, 4), (32, 8)]),
    (16, 16, 16, [(1, 1), (4, 2), (8, 4), (16, 4), (32, 8)]),
    (8, 3, 16, [(4, 2), (8, 4), (16, 8)]),
    (32, 8, 16, [(4, 2), (8, 4), (16, 4)]),
]
QUICK_SWEEP = [(16, 4, 16, [(1, 1), (8, 4), (32, 8)])]
XBUF_DEPTH = 8
SEED = 2019


def pipeline_latency(k: int) -> int:
    """Fill and drain depth of the PE in clocks (docs/pe.md, "Latency").

    command -> first block taken (1), FFT (2 log2 k - 2), [MAC issue: the job's work, not counted here],
    lane operand, product and accumulator registers (3), rounding (1), gearbox (1), IFFT input (1),
    IFFT (2 log2 k - 2), output register (1). A job without stalls takes this plus its MAC issue clocks
    (one per round and input block).
    """
    lk = int(math.log2(k))
    fft = ifft = 2 * lk - 2
    return 1 + fft + 3 + 1 + 1 + 1 + ifft + 1


def ideal_cycles(k: int, lanes: int, rows: int, q: int) -> int:
    macs = rows * q * (k // 2 + 1)
    return math.ceil(macs / lanes) + pipeline_latency(k)


def issue_cycles(k: int, lanes: int, rows: int, q: int) -> int:
    """MAC issue clocks of this PE's schedule: ceil(rows (k/2+1) / P) rounds of q clocks."""
    return math.ceil(rows * (k // 2 + 1) / lanes) * q


def run_sweep(
    sweep: list[tuple[int, int, int, list[tuple[int, int]]]], sim: str, out_dir: Path
) -> list[dict[str, Any]]:
    rows_out = []
    for k, lanes, bits, sizes in sweep:
        cfg = pe_tb.pe_config(k, bits, XBUF_DEPTH)
        jobs = pe_tb.bench_jobs(cfg, sizes, SEED)
        words = pe_tb.layout_weights(jobs, lanes, cfg.weight_spectrum.word)
        params = pe_tb.pe_params(cfg, lanes, XBUF_DEPTH, words)
        result_file = out_dir / f"pe-bench-k{k}-p{lanes}.json"
        conf = {
            "numerics": cfg.to_dict(),
            "seed": SEED,
            "lanes": lanes,
            "sizes": sizes,
            "out": str(result_file),
        }
        t0 = time.perf_counter()
        res = rtl_runner.run(
            pe_tb.TOPLEVEL, "test_ernn_pe", params, sim=sim, config=conf, testcase="pe_bench"
        )
        measured = json.loads(result_file.read_text())
        print(
            f"k={k} P={lanes}: built in {res.build_seconds:.1f} s, ran in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        for m in measured:
            rows, q, cycles = m["rows"], m["q"], m["cycles"]
            ideal = ideal_cycles(k, lanes, rows, q)
            rows_out.append(
                {
                    "k": k,
                    "P": lanes,
                    "rows": rows,
                    "q": q,
                    "complex_macs": rows * q * (k // 2 + 1),
                    "cycles": cycles,
                    "mac_issue_cycles": issue_cycles(k, lanes, rows, q),
                    "pipeline_latency": pipeline_latency(k),
                    "ideal": ideal,
                    "ratio": round(cycles / ideal, 4),
                }
            )
    return rows_out


def _xml_speed(xml: Path) -> dict[str, float]:
    case = ET.parse(xml).getroot().find(".//testcase")
    assert case is not None, f"no testcase in {xml}"
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    wall = float(case.get("time", "0"))
    sim_ns = float(props.get("sim_time_duration") or 0.0)
    return {
        "test_wall_s": wall,
        "sim_clocks": sim_ns / 10.0,
        "clocks_per_s": sim_ns / 10.0 / wall if wall else 0.0,
    }


def run_speed(n_jobs: int) -> dict[str, Any]:
    """The randomized PE testbench on both simulators (same seed, same parameters)."""
    out: dict[str, Any] = {"k": 16, "P": 4, "jobs": n_jobs, "seed": SEED}
    for sim in rtl_runner.SIMULATORS:
        t0 = time.perf_counter()
        res = pe_tb.run_pe(sim, 16, 4, 16, SEED, n_jobs=n_jobs)
        total = time.perf_counter() - t0
        speed = _xml_speed(res.results_xml)
        out[sim] = {
            "build_s": round(res.build_seconds, 2),
            "process_s": round(res.test_seconds, 2),
            "total_s": round(total, 2),
            "test_wall_s": round(speed["test_wall_s"], 3),
            "sim_clocks": int(speed["sim_clocks"]),
            "clocks_per_s": round(speed["clocks_per_s"], 1),
        }
        print(f"{sim}: {out[sim]}", flush=True)
    ic, vl = out["icarus"], out["verilator"]
    out["icarus_over_verilator_test_time"] = round(ic["test_wall_s"] / vl["test_wall_s"], 3)
    out["icarus_over_verilator_process_time"] = round(ic["process_s"] / vl["process_s"], 3)
    return out


def markdown(rows: list[dict[str, Any]], speed: dict[str, Any]) -> str:
    lines = [
        "| k | P | rows | q | complex MACs | cycles | MAC issue | latency | ideal | cycles / ideal |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['k']} | {r['P']} | {r['rows']} | {r['q']} | {r['complex_macs']} | {r['cycles']} | "
            f"{r['mac_issue_cycles']} | {r['pipeline_latency']} | {r['ideal']} | {r['ratio']:.3f} |"
        )
    ic, vl = speed["icarus"], speed["verilator"]
    lines += [
        "",
        "| simulator | build s | process s | test s | clocks | clocks / s |",
        "|---|---:|---:|---:|---:|---:|",
        f"| Icarus | {ic['build_s']} | {ic['process_s']} | {ic['test_wall_s']} | {ic['sim_clocks']} | {ic['clocks_per_s']} |",
        f"| Verilator | {vl['build_s']} | {vl['process_s']} | {vl['test_wall_s']} | {vl['sim_clocks']} | {vl['clocks_per_s']} |",
        "",
        f"Icarus / Verilator: test time {speed['icarus_over_verilator_test_time']}, "
        f"whole simulation process {speed['icarus_over_verilator_process_time']}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", type=Path, default=REPO / "build" / "bench" / "pe.json", help="JSON results file"
    )
    ap.add_argument("--quick", action="store_true", help="one (k, P) point and a short speed run")
    ap.add_argument("--jobs", type=int, default=30, help="jobs in the simulator-speed run")
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = run_sweep(QUICK_SWEEP if args.quick else SWEEP, "verilator", args.out.parent)
    speed = run_speed(8 if args.quick else args.jobs)
    worst = max(r["ratio"] for r in rows)
    result = {
        "command": "python bench/bench_pe.py" + (" --quick" if args.quick else ""),
        "simulator_for_cycles": "verilator",
        "target_ratio": 1.25,
        "worst_ratio": worst,
        "matvec": rows,
        "sim_speed": speed,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    atomic.write_json(args.out, result, force=True)
    print(markdown(rows, speed))
    print(f"worst cycles / ideal = {worst:.3f}; written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
