"""Testbench of rtl/ernn_selftest.v, the harness a board runs: test vectors in ROM -> ernn_top -> compare.

The exported model's test vectors go through the accelerator inside the harness; it must finish with
``done`` and ``pass`` and no mismatch. A copy of the model directory with one expected sample changed
must make it report exactly that one mismatch (the comparison can fail). Both simulators.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from ernn.sim import runner as rtl_runner


@cocotb.test()
async def selftest_runs(dut) -> None:
    cfg = rtl_runner.tb_config()
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    for _ in range(cfg["max_cycles"]):
        await RisingEdge(dut.clk)
        if int(dut.done.value):
            break
    else:
        raise AssertionError(f"ernn_selftest not done after {cfg['max_cycles']} cycles")
    await ClockCycles(dut.clk, 2)
    mismatches = int(dut.mismatches.value)
    assert mismatches == cfg["expected_mismatches"], (
        f"{mismatches} mismatches, expected {cfg['expected_mismatches']}"
    )
    passed = int(getattr(dut, "pass").value)  # `pass` is a Python keyword
    assert passed == int(mismatches == 0), f"pass = {passed} with {mismatches} mismatches"


@pytest.fixture(scope="module")
def model_dir(tiny_model) -> Path:
    export = ("--test-sequences", "3", "--lanes", "2")
    return tiny_model(steps=5, train_n=12, test_n=12, seed=11, export=export).model


def _run(model: Path, sim: str, expected_mismatches: int) -> None:
    frames = sum(1 for _ in (model / "vectors" / "last.mem").open())
    params = {"MEM_DIR": str(model / "mem"), "VEC_DIR": str(model / "vectors")}
    config = {"max_cycles": 400 * frames + 1000, "expected_mismatches": expected_mismatches}
    rtl_runner.run("ernn_selftest", "test_ernn_selftest", params, sim=sim, config=config, includes=[model])


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_selftest_passes(model_dir, sim):
    _run(model_dir, sim, expected_mismatches=0)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_selftest_catches_a_wrong_sample(model_dir, tmp_path, sim):
    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    path = broken / "vectors" / "expected_out.mem"
    words = path.read_text().split()
    words[5] = f"{(int(words[5], 16) ^ 1):0{len(words[5])}x}"  # one LSB of one sample of one step
    path.write_text("\n".join(words) + "\n")
    _run(broken, sim, expected_mismatches=1)


def test_selftest_lint_clean(model_dir):
    import subprocess

    rtl_runner.setup_simulator("verilator")
    cmd = [
        "verilator",
        "--lint-only",
        "-Wall",
        f"-I{model_dir}",
        f"-I{rtl_runner.RTL_DIR}",
        "--top-module",
        "ernn_selftest",
        f'-GMEM_DIR="{model_dir / "mem"}"',
        f'-GVEC_DIR="{model_dir / "vectors"}"',
        str(rtl_runner.RTL_DIR / "ernn_selftest.v"),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr[-3000:]
