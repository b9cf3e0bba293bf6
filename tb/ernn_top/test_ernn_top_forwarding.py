"""Loads forwarded from the writers in the pipelined designs (``ERNN_LAYER_SKEW`` = 1, session 42).

With the layers pipelined the command side keeps the writers' progress per layer in registers; it still
requests a block in the clock its producer writes it, because ``rtl/ernn_cmd.v`` (``FORWARD``, set by
``ernn_ctrl``) compares that clock's h and m write ports with the h_{t-1} or m block its load awaits
(the h and m memories read write-first). Forwarding is worth nothing if it never fires and wrong data if it fires on the
wrong block, and neither shows in bit-exactness against a design that is merely a clock slower. So each
case runs twice on each simulator, on the checkout's RTL and on a copy whose ``ernn_cmd`` instance has
``FORWARD`` 0 (the registered counts only; ``ERNN_HDL_DIR``), and both must be bit-exact with the golden
model, the forwarded one exactly one clock per step faster:

* the 2-layer GRU of test_ernn_top_cycles (8 -> 8, k 4, P 3): its recurrent h_{t-1} block is awaited
  while its own layer writes it (the h write port, ``r_fwd``): 60 clocks against 61;
* the 2-layer LSTMP with peepholes (10 -> 20 (8), k 4), interleaved: a projection awaits the m block its
  layer's cell is writing (the m write port, ``m_fwd``): 222 against 223.

(A layer's input x, the layer below's h of the same step, is not compared: forwarding it changed no clock
on any shape measured, docs/performance.md "Forwarded loads in the pipelined designs".)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from ernn_tbutil import seed_for
from ernn_top_models import model_dir
from test_ernn_top import LSTMP_PEEP
from test_ernn_top_cycles import _cases
from test_ernn_top_layer_skew import _steady

from ernn import paths
from ernn.export.writer import ExportedModel
from ernn.sim import runner as rtl_runner

GRU_2L = _cases("gru")[1]
#: case -> the clocks per step forwarded and not (Icarus and Verilator alike: the schedule is the RTL's)
CASES = {GRU_2L.name: (GRU_2L, 60, 61), LSTMP_PEEP.name: (LSTMP_PEEP, 222, 223)}
#: ernn_ctrl's ernn_cmd instance, up to its parameter list's FORWARD
CMD_FORWARD = re.compile(r"(ernn_cmd\s*#\s*\((?:(?!\)\s*cmd_inst)[\s\S])*?\.FORWARD\()1(\))")


def unforwarded_hdl(dest: Path) -> Path:
    """A copy of the toolkit's rtl/ and fpga/ under ``dest`` with ernn_ctrl's ernn_cmd at FORWARD 0."""
    shutil.copytree(paths.rtl_dir(), dest / "rtl")
    shutil.copytree(paths.fpga_dir(), dest / "fpga")
    ctrl = dest / "rtl" / "ernn_ctrl.v"
    text, count = CMD_FORWARD.subn(r"\g<1>0\g<2>", ctrl.read_text())
    assert count == 1, f"{ctrl}: expected one ernn_cmd instance with .FORWARD(1), found {count}"
    ctrl.write_text(text)
    return dest


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize("name", list(CASES))
def test_forwarded_loads_save_their_clock(sim, name, request, tmp_path, monkeypatch) -> None:
    case, forwarded, registered = CASES[name]
    seed = seed_for(request.node.nodeid)
    model = model_dir(case)
    assert ExportedModel(model).config["hardware"].get("layer_skew"), (
        f"{name}: the exporter no longer pipelines it"
    )
    on = _steady(model, sim, seed, tmp_path / "on")
    monkeypatch.setenv(paths.HDL_ENV, str(unforwarded_hdl(tmp_path / "hdl")))
    off = _steady(model, sim, seed, tmp_path / "off")
    assert (on, off) == (forwarded, registered), (
        f"{name} on {sim}: {on} clocks per step forwarded, {off} with ernn_cmd FORWARD 0 "
        f"(expected {forwarded} and {registered})"
    )


def test_the_copy_turns_off_only_the_command_sides_forwarding(tmp_path) -> None:
    """The variant differs from the checkout in one parameter of one instance (state_mem keeps FORWARD)."""
    hdl = unforwarded_hdl(tmp_path / "hdl")
    before = paths.rtl_dir().joinpath("ernn_ctrl.v").read_text().splitlines()
    after = (hdl / "rtl" / "ernn_ctrl.v").read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1 and ".FORWARD(1)" in changed[0][0] and ".FORWARD(0)" in changed[0][1], changed
    index = before.index(changed[0][0])
    assert any("ernn_cmd #(" in line for line in before[max(0, index - 40) : index]), (
        "not the ernn_cmd instance"
    )
