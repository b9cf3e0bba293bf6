"""The Vivado TCL, sourced in tclsh against stand-in commands (Vivado itself is not available here)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from ernn.fpga.boards import vivado_boards

ROOT = Path(__file__).resolve().parents[1]
STANDIN = ROOT / "fpga/vivado/standin.tcl"
BOARDS = list(vivado_boards())


def tclsh() -> str:
    path = shutil.which("tclsh")
    if path is None:
        raise RuntimeError("tclsh is missing: install Debian's 'tcl' package (the Vivado TCL check needs it)")
    return path


@pytest.fixture(scope="module")
def model_dir(tiny_model):
    return tiny_model(features=4, steps=5, classes=2, train_n=16, test_n=16).model


def run_flow(
    board: str, model: Path, out: Path, log: Path, slack: str = "0.2"
) -> subprocess.CompletedProcess:
    cmd = [tclsh(), str(STANDIN), slack, str(log), "--", board, str(model), str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("board", BOARDS)
def test_flow_calls_vivado_in_order_with_existing_files(board, model_dir, tmp_path):
    result = run_flow(board, model_dir, tmp_path / "out", tmp_path / "log")
    assert result.returncode == 0, result.stderr
    calls = [line.split()[0] for line in (tmp_path / "log").read_text().splitlines()]
    steps = [
        c
        for c in calls
        if c
        in (
            "create_project",
            "read_verilog",
            "read_xdc",
            "synth_design",
            "opt_design",
            "place_design",
            "phys_opt_design",
            "route_design",
            "report_timing_summary",
            "report_power",
            "write_bitstream",
        )
    ]
    order = [
        "create_project",
        "read_verilog",
        "read_xdc",
        "synth_design",
        "opt_design",
        "place_design",
        "phys_opt_design",
        "route_design",
        "report_timing_summary",
        "report_power",
        "write_bitstream",
    ]
    assert [c for i, c in enumerate(steps) if i == 0 or c != steps[i - 1]] == order
    rtl = sorted(p.name for p in (ROOT / "rtl").glob("*.v"))
    read = [
        Path(line.split()[1]).name
        for line in (tmp_path / "log").read_text().splitlines()
        if line.startswith("read_verilog")
    ]
    assert set(rtl) <= set(read) and "ernn_board_top.v" in read
    names = ("utilization.rpt", "timing_summary.rpt", "power.rpt", "logic_levels.rpt", "timing.json")
    for name in (*names, f"ernn_{board}.bit"):
        assert (tmp_path / "out" / name).exists(), name


def test_timing_json_carries_the_slack(model_dir, tmp_path):
    import json

    result = run_flow("ku060", model_dir, tmp_path / "out", tmp_path / "log", slack="0.125")
    assert result.returncode == 0, result.stderr
    timing = json.loads((tmp_path / "out" / "timing.json").read_text())
    assert timing["wns_ns"] == timing["whs_ns"] == 0.125 and timing["clock_mhz"] == 200


def test_make_check_vivado_tcl_includes_the_negative_slack_case(model_dir):
    result = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "check-vivado-tcl", f"MODEL={model_dir}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "a negative WNS fails the build" in result.stdout


def test_negative_slack_fails_the_build(model_dir, tmp_path):
    result = run_flow("ku060", model_dir, tmp_path / "out", tmp_path / "log", slack="-0.3")
    assert result.returncode != 0
    assert "post-route timing failed" in result.stderr
    assert (tmp_path / "out" / "timing_summary.rpt").exists()  # reports first
    assert not (tmp_path / "out" / "ernn_ku060.bit").exists()


def test_unknown_board_and_missing_model_are_named(model_dir, tmp_path):
    result = run_flow("de10", model_dir, tmp_path / "o", tmp_path / "log")
    assert result.returncode != 0 and "unknown board 'de10'" in result.stderr
    result = run_flow("ku060", tmp_path / "nowhere", tmp_path / "o", tmp_path / "log")
    assert result.returncode != 0 and "ernn_params.vh is missing" in result.stderr


@pytest.mark.parametrize(
    ("good", "bad", "message"),
    [
        ("opt_design\n", "opt_desing\n", "not a Vivado command known to the stand-in: opt_desing"),
        ("place_design\n", "", "phys_opt_design before place"),
        (
            "read_xdc [file join $repo_root fpga boards ${board}.xdc]",
            "read_xdc [file join $repo_root fpga boards nope.xdc]",
            "nope.xdc does not exist",
        ),
    ],
)
def test_standin_catches_a_broken_script(model_dir, tmp_path, good, bad, message):
    script = (ROOT / "fpga/vivado/build.tcl").read_text()
    assert good in script
    repo = tmp_path / "repo"  # a copy of the repository layout around the broken script
    (repo / "fpga/vivado").mkdir(parents=True)
    (repo / "rtl").symlink_to(ROOT / "rtl")
    (repo / "fpga/boards").symlink_to(ROOT / "fpga/boards")
    broken = repo / "fpga/vivado/build.tcl"
    broken.write_text(script.replace(good, bad, 1))
    shutil.copy(ROOT / "fpga/vivado/boards.tcl", repo / "fpga/vivado/boards.tcl")
    shutil.copy(ROOT / "fpga/vivado/ernn_board_top.v", repo / "fpga/vivado/ernn_board_top.v")
    cmd = [
        tclsh(),
        str(STANDIN),
        "0.1",
        str(tmp_path / "log"),
        "--",
        "ku060",
        str(model_dir),
        str(tmp_path / "o"),
    ]
    env = {"PATH": "/usr/bin:/bin", "ERNN_BUILD_TCL": str(broken)}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode != 0
    assert message in result.stderr


def test_make_bitstream_without_vivado_says_so(model_dir):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    result = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "bitstream", f"MODEL={model_dir}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Vivado is not on PATH" in result.stderr


def test_board_table_is_the_makefiles():
    """`make`'s BOARDS comes from the same table (fpga/vivado/boards.tcl), in the same order."""
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = out.split("one of:")[1].split(")")[0].split()
    assert listed == BOARDS
    assert BOARDS[:2] == ["ku060", "vc709"]
