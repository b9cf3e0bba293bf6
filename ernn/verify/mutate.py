"""``make mutate``: the mutation score of the RTL test suite: how many injected single-point bugs it catches.

A mutant is one edit of one ``rtl/*.v`` file (:class:`Mutant`), generated from the sources
(:func:`generate`) by these operators, only in code (comments, strings, ``initial`` blocks and
``translate_off`` regions, which hold parameter checks and simulation-only checks, are left alone):

=============  ==================================================================================
arith          binary ``+`` <-> ``-``
relational     ``<`` <-> ``<=`` (in expressions), ``>`` <-> ``>=``, ``==`` <-> ``!=``
logic          ``&&`` <-> ``||``; a handshake term ``a && b`` -> ``a`` (the second condition dropped)
bitwise        `` & `` <-> `` | ``, ``^`` -> ``&``
negation       a ``!`` or ``~`` removed
constant       a sized literal's value +1 (``1'b0`` -> ``1'b1``: reset values, rounding constants,
               saturation codes), a plain integer +1 / -1
width          a range ``[X-1:`` -> ``[X-2:`` (one bit narrower)
ternary        the condition of ``c ? a : b`` (an identifier) forced to 0 and to 1: a saturation or
               rounding choice, or a mux, always taking one side
=============  ==================================================================================

Each mutant is run on a copy of ``rtl/`` (``<out>/work/<id>/rtl``; ``rtl/`` itself is never edited) through
``ERNN_HDL_DIR``, which also gives it build directories of its own (:func:`ernn.sim.runner.build_variant`),
against the fast testbenches of the toplevels that contain the file (:data:`TESTBENCHES`, cheapest first,
stopping at the first failure). Its verdict (:func:`run_mutant`):

* ``killed``: a test failed (a divergence, a stopped simulation, a cycle count off);
* ``timeout``: the tests ran past ``--timeout`` seconds. On a loaded machine that is as likely slow tests as
  a hanging design, so a timeout is not counted as caught: the score treats it as a survivor (to be
  rerun with a longer ``--timeout`` or argued equivalent);
* ``survived``: every test passed;
* ``equivalent``: it survived or timed out, and :data:`EQUIVALENT` argues that no input can tell it from
  the original (docs/verification.md repeats the argument);
* ``invalid``: the mutant does not build (not a design; left out of the score).

Score = killed / (all - equivalent - invalid). Each verdict is a JSON file
``<out>/mutants/<id>.json`` written as the mutant finishes, so an interrupted run resumes where it
stopped; ``<out>/summary.json`` holds them all. ``--sample N --seed S`` draws N mutants at random (the same
N for the same seed and sources); ``-j`` runs that many mutants at once (default one: CPU is shared).
``--sim`` defaults to Icarus: a mutant needs a fresh build per toplevel, and Icarus compiles in about a
second where Verilator takes 20-90 s of C++ per toplevel, more than the simulations it would save.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from ernn import paths
from ernn.files import output_dir

#: (toplevel, pytest targets, -k expression): the fast testbenches a mutant runs against, cheapest first
TESTBENCHES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("ernn_delay", ("tb/ernn_delay/test_ernn_delay.py::test_ernn_delay",), ""),
    ("ernn_act_pwl", ("tb/ernn_act_pwl/test_ernn_act_pwl.py::test_ernn_act_pwl",), ""),
    ("ernn_cmac_array", ("tb/ernn_cmac_array/test_ernn_cmac_array.py::test_ernn_cmac_array",), ""),
    ("ernn_fft_stage", ("tb/ernn_fft_stage/test_ernn_fft_stage.py::test_ernn_fft_stage",), ""),
    ("ernn_fft", ("tb/ernn_fft/test_ernn_fft.py::test_ernn_fft",), ""),
    ("ernn_ifft", ("tb/ernn_ifft/test_ernn_ifft.py::test_ernn_ifft",), ""),
    ("ernn_gru_cell", ("tb/ernn_gru_cell/test_ernn_gru_cell.py::test_ernn_gru_cell",), ""),
    ("ernn_lstm_cell", ("tb/ernn_lstm_cell/test_ernn_lstm_cell.py::test_ernn_lstm_cell",), ""),
    ("ernn_pe", ("tb/ernn_pe/test_ernn_pe.py::test_ernn_pe",), ""),
    (
        "ernn_top",
        (
            "tb/ernn_top/test_ernn_top.py::test_ernn_top",
            "tb/ernn_top/test_ernn_top.py::test_reset_in_mid_sequence",
            "tb/ernn_top/test_ernn_top.py::test_job_table_mismatch_is_refused",
            "tb/ernn_top/test_ernn_top.py::test_weight_depth_mismatch_is_refused",
            "tb/ernn_top/test_ernn_top_cycles.py",
        ),
        # the small models: the trained JapaneseVowels LSTM and the k = 16 GRU add minutes, not coverage
        "not jv_lstm and not gru_2l_k16",
    ),
    ("ernn_selftest", ("tb/ernn_selftest/test_ernn_selftest.py",), ""),
)

#: surviving mutants that no input can tell from the original, by :attr:`Mutant.id`, with the argument
EQUIVALENT: dict[str, str] = {
    "ernn_delay-L36-constant-3ebcf3": "the default of DEPTH (2 -> 3): every instance in rtl/ and every testbench "
    "sets DEPTH, so the default is never used",
    "ernn_delay-L36-constant-67d455": "the default of DEPTH (2 -> 1): never used, as above",
    "ernn_delay-L74-constant-6d2900": "generate condition DEPTH >= 1 -> DEPTH >= 0: the parameter check stops "
    "elaboration for DEPTH < 1, so both conditions hold for every design that elaborates",
    "ernn_delay-L106-constant-e26dcc": "the constant inside unused_valid, a wire that only silences Verilator's "
    "UNUSEDSIGNAL lint and drives nothing",
    "ernn_act_pwl-L63-constant-c32955": "the default of SLOPE_W (18 -> 17): the five instances (ernn_cell_front "
    "x2, ernn_gru_cell, ernn_lstm_cell x2) and the testbench set SLOPE_W, so the default is never used",
    "ernn_act_pwl-L251-width-8dccc0": "the width of `unused` (one bit narrower): a wire that only silences "
    "Verilator's UNUSEDSIGNAL lint (B = 0: slopes not used) and drives nothing",
    "ernn_axis_skid-L22-constant-83667f": "the default of DATA_W (32 -> 31): its one instance (ernn_pe's "
    "out_skid_inst) sets DATA_W, so the default is never used",
    "ernn_cmd-L76-constant-a61cae": "the default of H_ADDR_W (2 -> 3): its one instance (ernn_ctrl's cmd_inst) "
    "sets H_ADDR_W, so the default is never used",
    "ernn_cmd-L96-constant-7853c9": "the default of FORWARD (0 -> 1): its one instance (ernn_ctrl's cmd_inst) "
    "sets FORWARD, so the default is never used",
    "ernn_cmd-L99-constant-38a55d": "the default of EARLY_LOAD (0 -> 1): its one instance (ernn_ctrl's cmd_inst) "
    "sets EARLY_LOAD, so the default is never used",
    "ernn_gate_buf-L62-constant-b274b3": "the default of FORWARD (0 -> 1): its one instance (ernn_ctrl's ybuf_inst) "
    "sets FORWARD (the header's ERNN_GATE_FORWARD), so the default is never used",
    "ernn_ctrl-L298-constant-347ab5": "C_DEPTH = max2(3, ...) instead of max2(2, ...): with NUM_LAYERS * PB < 3 "
    "the c memory gets one word (and perhaps one address bit) more that no address reaches; the addresses "
    "and the words stored are those of the original",
    "ernn_job_table-L202-relational-a16c8b": "next_stage_of's loop bound i > j -> i >= j: the one extra "
    "iteration (i = j) compares a row's layer with itself, never differs, so next_stage_of is unchanged",
    "ernn_sel-L27-constant-d14d64": "the default of W (8 -> 7): every instance (ernn_cmd 1, ernn_feeder 5, "
    "ernn_pe 1, ernn_job_table 1) sets W, so the default is never used",
    "ernn_state_mem-L59-constant-6dd8de": "the default of C_DEPTH (4 -> 5): its one instance (ernn_ctrl's "
    "state_inst) sets C_DEPTH, so the default is never used",
    "ernn_state_mem-L72-constant-69db96": "the default of FORWARD (0 -> 1): its one instance (ernn_ctrl's state_inst) "
    "sets FORWARD, so the default is never used",
    "ernn_job_table-L414-constant-0766ac": "LAST_BLK_I's fallback for a job of no blocks (0 -> 1): bad_shape() "
    "stops elaboration unless every job's F_BLOCKS is PB or QH (both >= 1), so the fallback is never taken",
    "ernn_pe-L391-width-031707": "units_left one bit narrower: units_reg = rows * BINS < 2**(ROWS_W + BIN_W) "
    "<= 2**(UNITS_W - 1) (FILL_W >= 1) and the issue base never passes units_reg, so the dropped top bit is "
    "always 0",
    "ernn_feeder-L74-constant-c00d4d": "the default of H_ADDR_W (2 -> 1): its one instance (ernn_ctrl's fd_inst) "
    "sets H_ADDR_W, so the default is never used",
}

#: marks --out as this tool's work folder (ernn.files.output_dir.claim_work_folder)
WORK_MARKER = ".ernn-mutate"

#: testbenches a mutant runs against: its module's own (or the cheapest that contains it) and the next one
DEFAULT_TESTBENCHES = 2

OPERATORS = ("arith", "relational", "logic", "bitwise", "negation", "constant", "width", "ternary")

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\])*\"", re.S)
_TRANSLATE_OFF = re.compile(r"synthesis translate_off.*?synthesis translate_on", re.S)
_SIM_TASK = re.compile(r"^[^\n]*\$(?:error|fatal|display|finish|warning|readmem\w*)[^\n]*$", re.M)


@dataclass(frozen=True)
class Mutant:
    """One edit: in ``file`` (a name in ``rtl/``), ``original`` at character ``offset`` becomes
    ``replacement``."""

    file: str
    line: int
    offset: int
    operator: str
    original: str
    replacement: str

    @property
    def id(self) -> str:
        """Stable name: file, line, operator and a hash of the edit (the same edit has the same id)."""
        edit = f"{self.file}:{self.offset}:{self.original}->{self.replacement}"
        return f"{Path(self.file).stem}-L{self.line}-{self.operator}-{hashlib.sha1(edit.encode()).hexdigest()[:6]}"

    def apply(self, text: str) -> str:
        end = self.offset + len(self.original)
        if text[self.offset : end] != self.original:
            raise ValueError(f"mutant {self.id}: {self.file} changed, {self.original!r} is not at its offset")
        return text[: self.offset] + self.replacement + text[end:]

    def describe(self) -> str:
        return f"{self.file}:{self.line}: {self.original.strip()!r} -> {self.replacement.strip()!r}"


def _blank(text: str, spans: Iterator[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        for i in range(a, b):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def _initial_blocks(code: str) -> Iterator[tuple[int, int]]:
    """Spans of ``initial`` blocks (their begin/end matched): parameter checks and memory loads."""
    for m in re.finditer(r"\binitial\b", code):
        depth, pos = 0, m.end()
        for tok in re.finditer(r"\b(begin|end)\b|;", code[pos:]):
            if tok.group(0) == "begin":
                depth += 1
            elif tok.group(0) == "end":
                depth -= 1
            if depth <= 0 and (tok.group(0) == "end" or (tok.group(0) == ";" and depth == 0)):
                yield m.start(), pos + tok.end()
                break


def code_mask(text: str) -> str:
    """``text`` with everything that is not mutable code blanked (offsets kept)."""
    code = _blank(text, ((m.start(), m.end()) for m in _COMMENT.finditer(text)))
    code = _blank(code, ((m.start(), m.end()) for m in _TRANSLATE_OFF.finditer(text)))
    code = _blank(code, list(_initial_blocks(code)))
    code = _blank(code, ((m.start(), m.end()) for m in _SIM_TASK.finditer(code)))
    # `include / `define lines and compiler directives
    return _blank(code, ((m.start(), m.end()) for m in re.finditer(r"`\w+[^\n]*", code)))


# (operator, pattern over the masked code, replacement(s) of group "x")
_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("arith", r"(?<=[\w)\]] )(?P<x>\+)(?= [\w(])", ("-",)),
    ("arith", r"(?<=[\w)\]] )(?P<x>-)(?= [\w(])", ("+",)),
    ("relational", r"(?<=[\w)\]] )(?P<x>==)(?= )", ("!=",)),
    ("relational", r"(?<=[\w)\]] )(?P<x>!=)(?= )", ("==",)),
    ("relational", r"(?<=[\w)\]] )(?P<x>>=)(?= )", (">",)),
    ("relational", r"(?<=[\w)\]] )(?P<x>>)(?= [\w(])", (">=",)),
    ("relational", r"(?<=[\w)\]] )(?P<x><)(?= [\w(])", ("<=",)),
    ("logic", r"(?P<x>&&)", ("||",)),
    ("logic", r"(?P<x>\|\|)", ("&&",)),
    ("logic", r"(?P<x> && !?\w+(?:\[[^\]]*\])?)(?=\s*[;)])", ("",)),
    ("bitwise", r"(?<=[\w)\]] )(?P<x>&)(?= [\w(~])", ("|",)),
    ("bitwise", r"(?<=[\w)\]] )(?P<x>\|)(?= [\w(~])", ("&",)),
    ("bitwise", r"(?<=[\w)\]] )(?P<x>\^)(?= [\w(~])", ("&",)),
    ("negation", r"(?P<x>!)(?=[\w(])", ("",)),
    ("negation", r"(?<![\w)\]])(?P<x>~)(?=[\w(])", ("",)),
    ("width", r"\[[^\[\]:]*?(?P<x>-\s*1)\s*:", ("- 2",)),
    ("ternary", r"(?<=[=(,] )(?P<x>!?\w+(?:\[[^\]]*\])?)(?= \?)", ("1'b0", "1'b1")),
)
_SIZED = re.compile(r"(?<![\w'])(?P<w>\d+)'(?P<b>[bdh])(?P<v>[0-9a-fA-F_]+)\b")
_PLAIN = re.compile(r"(?<![\w'.$\[])(?P<x>\d+)(?![\w'.])(?![^\[\]]*\])")


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _constant_mutants(name: str, text: str, code: str) -> Iterator[Mutant]:
    for m in _SIZED.finditer(code):
        width, base, value = int(m.group("w")), m.group("b"), m.group("v").replace("_", "")
        radix = {"b": 2, "d": 10, "h": 16}[base]
        new = (int(value, radix) + 1) % (1 << width)
        digits = {"b": f"{new:b}", "d": f"{new}", "h": f"{new:x}"}[base]
        yield Mutant(
            name, _line(text, m.start()), m.start(), "constant", m.group(0), f"{width}'{base}{digits}"
        )
    for m in _PLAIN.finditer(code):
        n = int(m.group("x"))
        for new in (n + 1, n - 1) if n > 0 else (n + 1,):
            yield Mutant(name, _line(text, m.start()), m.start(), "constant", m.group("x"), str(new))


def generate(rtl_dir: Path | None = None, files: Sequence[str] = ()) -> list[Mutant]:
    """Every mutant of every ``rtl/ernn_*.v`` (or of ``files``), in file and offset order."""
    rtl_dir = Path(rtl_dir or paths.rtl_dir())
    names = list(files) or sorted(p.name for p in rtl_dir.glob("ernn_*.v"))
    out: list[Mutant] = []
    for name in names:
        text = (rtl_dir / name).read_text()
        code = code_mask(text)
        found: list[Mutant] = []
        for operator, pattern, replacements in _RULES:
            for m in re.finditer(pattern, code):
                for new in replacements:
                    a = m.start("x")
                    found.append(Mutant(name, _line(text, a), a, operator, m.group("x"), new))
        found += _constant_mutants(name, text, code)
        # one mutant per distinct edit
        unique = {(x.offset, x.original, x.replacement): x for x in found}
        out += sorted(unique.values(), key=lambda x: (x.offset, x.operator, x.replacement))
    return out


def sample(mutants: Sequence[Mutant], n: int | None, seed: int) -> list[Mutant]:
    """``n`` mutants drawn without replacement with ``seed`` (all of them when n is None)."""
    if n is None or n >= len(mutants):
        return list(mutants)
    return sorted(random.Random(seed).sample(list(mutants), n), key=lambda x: (x.file, x.offset))


def testbenches_for(file: str, limit: int | None = None) -> list[tuple[str, tuple[str, ...], str]]:
    """The :data:`TESTBENCHES` whose toplevel compiles ``file``: the module's own testbench first, then the
    others, cheapest first; the first ``limit`` of them."""
    from ernn.sim.runner import rtl_sources

    found = [tb for tb in TESTBENCHES if file in {p.name for p in rtl_sources(tb[0])}]
    found.sort(key=lambda tb: tb[0] != Path(file).stem)  # stable: the rest stay in cost order
    return found[:limit]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_mutant(
    mutant: Mutant,
    work: Path,
    sim: str,
    timeout: float,
    source: Path | None = None,
    testbenches: int | None = DEFAULT_TESTBENCHES,
) -> dict:
    """Apply ``mutant`` to a copy of the RTL (``source``, default ``rtl/``) in ``work`` and run the first
    ``testbenches`` of its testbenches (:func:`testbenches_for`; None: all); the verdict as a dict."""
    src = Path(source or paths.rtl_dir())
    hdl = work / mutant.id
    shutil.rmtree(hdl, ignore_errors=True)
    shutil.copytree(src, hdl / "rtl")
    target = hdl / "rtl" / mutant.file
    target.write_text(mutant.apply(target.read_text()))
    env = dict(os.environ, ERNN_HDL_DIR=str(hdl), SIM=sim)
    for var in ("ERNN_WAVES", "WAVES", "ERNN_COVERAGE", "PYTEST_ADDOPTS"):
        env.pop(var, None)
    record = {**asdict(mutant), "id": mutant.id, "sim": sim, "tests": [], "status": "survived"}
    t0 = time.perf_counter()
    try:
        for toplevel, targets, select in testbenches_for(mutant.file, testbenches):
            left = timeout - (time.perf_counter() - t0)
            cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
            cmd += ["-k", f"not bad_parameters and not lint{' and ' + select if select else ''}", *targets]
            record["tests"].append(toplevel)
            proc = subprocess.Popen(
                cmd,
                cwd=paths.hdl_root(),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            try:
                out, _ = proc.communicate(timeout=max(left, 1))
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                proc.communicate()
                record["status"] = "timeout"
                break
            if proc.returncode == 0:
                continue
            if re.search(
                r"building \w+ failed in|syntax error|Error-PINNOTFOUND|%Error", out
            ) and not re.search(r"\d+ failed.*\bpassed\b", out):
                record["status"] = "invalid"
            elif proc.returncode == 5:  # no test collected: the selection is wrong, not the mutant
                raise RuntimeError(f"{toplevel}: pytest collected no test from {targets}")
            else:
                record["status"] = "killed"
            failed = re.findall(r"^FAILED (\S+)", out, re.M)
            record["killed_by"] = failed[0] if failed else toplevel
            record["log_tail"] = out[-1500:]
            break
    finally:
        shutil.rmtree(hdl, ignore_errors=True)
        _remove_builds(hdl / "rtl")
    if record["status"] in ("survived", "timeout") and mutant.id in EQUIVALENT:
        record["status"] = "equivalent"
        record["argument"] = EQUIVALENT[mutant.id]
    record["seconds"] = round(time.perf_counter() - t0, 1)
    return record


def _remove_builds(rtl: Path) -> None:
    """The mutant's simulator builds (``<hash>-...hdl-<its rtl path hash>``) are of no further use."""
    from ernn.sim import runner

    tag = "hdl-" + hashlib.sha1(str(rtl.resolve()).encode()).hexdigest()[:10]
    for bdir in runner.BUILD_ROOT.glob(f"*/*/*{tag}"):
        shutil.rmtree(bdir, ignore_errors=True)


def score(records: Sequence[dict]) -> dict:
    """Counts per status and the score (killed over the mutants that are neither equivalent nor invalid;
    a timeout is not counted as caught)."""
    counts = Counter(r["status"] for r in records)
    caught = counts["killed"]
    scored = len(records) - counts["equivalent"] - counts["invalid"]
    return {
        "mutants": len(records),
        **{s: counts[s] for s in ("killed", "timeout", "survived", "equivalent", "invalid")},
        "score": caught / scored if scored else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ernn.verify.mutate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="build/mutate", help="verdicts (one JSON per mutant) and summary")
    parser.add_argument("--sample", type=int, help="draw this many mutants (default: all)")
    parser.add_argument("--seed", type=int, default=1, help="seed of --sample")
    parser.add_argument("--files", nargs="*", default=(), help="rtl/ file names to mutate (default: all)")
    parser.add_argument("--operators", nargs="*", default=OPERATORS, choices=OPERATORS)
    parser.add_argument("--only", nargs="*", default=(), help="these mutant ids only")
    parser.add_argument("--sim", default="icarus", choices=("icarus", "verilator"))
    parser.add_argument("-j", "--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per mutant")
    parser.add_argument(
        "--testbenches", type=int, default=DEFAULT_TESTBENCHES, help="testbenches per mutant (0: all)"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument(
        "--force", action="store_true", help="write into an --out folder that holds files of other origin"
    )
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="summarise the verdicts on disk of the sample, run nothing",
    )
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    if not args.list:
        try:
            # verdicts are resumed from and source/, work/ replaced inside --out: only in a folder of its own
            output_dir.claim_work_folder(out, WORK_MARKER, "ernn.verify.mutate", force=args.force)
        except (FileExistsError, NotADirectoryError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    # one snapshot of rtl/ per invocation: every mutant of the run edits the same sources, even while rtl/
    # is being edited
    source = out / "source" / "rtl"
    if not (args.list or args.summary_only):
        shutil.rmtree(source, ignore_errors=True)
        shutil.copytree(paths.rtl_dir(), source)
    elif not source.is_dir():
        source = paths.rtl_dir()
    tested = {p.name for p in source.glob("ernn_*.v") if testbenches_for(p.name)}
    mutants = [m for m in generate(source, args.files) if m.operator in args.operators and m.file in tested]
    if args.only:
        mutants = [m for m in mutants if m.id in set(args.only)]
    chosen = sample(mutants, args.sample, args.seed)
    if args.list:
        for m in chosen:
            print(f"{m.id:40s} {m.describe()}")
        print(f"{len(chosen)} of {len(mutants)} mutants")
        return 0
    (out / "mutants").mkdir(parents=True, exist_ok=True)
    work = out / "work"
    print(f"mutate: {len(chosen)} of {len(mutants)} mutants (seed {args.seed}), {args.sim}, -j {args.jobs}")

    def on_disk(m: Mutant) -> dict | None:
        path = out / "mutants" / f"{m.id}.json"
        if path.is_file():  # resumable: a verdict already on disk stands
            rec = json.loads(path.read_text())
            if rec.get("replacement") == m.replacement and rec.get("offset") == m.offset:
                # a survivor argued equivalent after it ran
                if rec["status"] in ("survived", "timeout") and m.id in EQUIVALENT:
                    rec.update(status="equivalent", argument=EQUIVALENT[m.id])
                return rec
        return None

    def one(m: Mutant) -> dict:
        rec = on_disk(m)
        if rec is not None:
            return rec
        path = out / "mutants" / f"{m.id}.json"
        rec = run_mutant(m, work, args.sim, args.timeout, source, args.testbenches or None)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(rec, indent=1) + "\n")
        tmp.replace(path)
        print(f"  {rec['status']:10s} {m.id:40s} {m.describe()} ({rec['seconds']} s)", flush=True)
        return rec

    if args.summary_only:
        records = [r for r in map(on_disk, chosen) if r is not None]
    else:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            records = list(pool.map(one, chosen))
    summary = {
        "ran": f"{len(records)} of {len(chosen)}",
        "seed": args.seed,
        "sample": args.sample,
        "sim": args.sim,
        **score(records),
        "records": records,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    s = summary
    pct = f"{100 * s['score']:.1f} %" if s["score"] is not None else "-"
    print(
        f"mutate: {s['mutants']} mutants ({s['ran']} of the sample): {s['killed']} killed, {s['timeout']} timeout, {s['survived']} survived, "
        f"{s['equivalent']} equivalent, {s['invalid']} invalid; score {pct}"
    )
    for r in records:
        if r["status"] in ("survived", "equivalent"):
            print(
                f"  {r['status']}: {r['id']} {r['file']}:{r['line']}: {r['original']!r} -> {r['replacement']!r}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
