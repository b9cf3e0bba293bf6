"""Forwarding in the controller: loads from the writers (session 42) and gate-buffer blocks to the feeder
(session 44), and a job's first block requested with its command (session 44): each saves clocks where it
fires.

* ``rtl/ernn_cmd.v`` ``FORWARD`` (pipelined designs, ``ERNN_LAYER_SKEW`` = 1): the command side keeps the
  writers' progress per layer in registers and still requests a block in the clock its producer writes
  it, because it compares that clock's h and m write ports with the h_{t-1} or m block its load awaits
  (the h and m memories read write-first).
* ``rtl/ernn_cmd.v`` ``EARLY_LOAD`` (every design): a job's first block is requested in the clock its
  command is taken, not the clock after.
* ``rtl/ernn_gate_buf.v`` ``FORWARD`` (``ERNN_GATE_FORWARD``, where the exporter takes it): a block
  counts as full for the feeder in the clock the PE writer completes it, and the slot RAMs read
  write-first, so the cell takes it a clock sooner.

Forwarding is worth nothing if it never fires and wrong data if it fires on the wrong block, and neither
shows in bit-exactness against a design that is merely a clock slower. So each case runs twice on each
simulator, on the checkout's RTL and on a copy whose instance (ernn_ctrl's ``ernn_cmd`` or
``ernn_gate_buf``) has that parameter at 0 (``ERNN_HDL_DIR``), and both must be bit-exact with the golden
model, the forwarded one faster by the clocks pinned below:

* ernn_cmd FORWARD, the 2-layer GRU of test_ernn_top_cycles (8 -> 8, k 4, P 3): its recurrent h_{t-1} block is
  awaited while its own layer writes it (the h write port, ``r_fwd``): 59 clocks against 60;
* ernn_cmd FORWARD, the 2-layer LSTMP with peepholes (10 -> 20 (8), k 4), interleaved: a projection awaits the m
  block its layer's cell is writing (the m write port, ``m_fwd``): 221 against 222;
* ernn_cmd EARLY_LOAD, a GRU 10 -> 20, k 4, P 3 (layers in order, two loading jobs a step): 132 against 134;
* ernn_gate_buf FORWARD, the 1-layer LSTM of test_ernn_top_cycles (layers in order) and (slow) the same
  2-layer GRU (pipelined): the cell waits on the block the PE writer completes: 62 against 63, 59 against 60.

(A layer's input x, the layer below's h of the same step, is not compared by ernn_cmd: forwarding it
changed no clock on any shape measured, docs/performance.md "Forwarded loads in the pipelined designs".)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from ernn_tbutil import seed_for
from ernn_top_models import Case, model_dir
from test_ernn_top import LSTMP_PEEP
from test_ernn_top_cycles import _cases
from test_ernn_top_layer_skew import _steady

from ernn import paths
from ernn.export.writer import ExportedModel
from ernn.sim import runner as rtl_runner

GRU_2L = _cases("gru")[1]
LSTM_1L = _cases("lstm")[0]
GRU_IN_ORDER = Case(
    "early_load_gru_k4", cell="gru", input_size=10, hidden_size=20, block_size=4, lanes=3, seed=23
)
#: what a variant turns off -> ernn_ctrl's instance and a pattern up to that parameter's value in its list (the
#: instance name ends the list)
VARIANTS = {
    "ernn_cmd FORWARD": (
        "ernn_cmd",
        re.compile(r"(ernn_cmd\s*#\s*\((?:(?!\)\s*cmd_inst)[\s\S])*?\.FORWARD\()1(\))"),
    ),
    "ernn_cmd EARLY_LOAD": (
        "ernn_cmd",
        re.compile(r"(ernn_cmd\s*#\s*\((?:(?!\)\s*cmd_inst)[\s\S])*?\.EARLY_LOAD\()1(\))"),
    ),
    "ernn_gate_buf FORWARD": (
        "ernn_gate_buf",
        re.compile(r"(ernn_gate_buf\s*#\s*\((?:(?!\)\s*ybuf_inst)[\s\S])*?\.FORWARD\()GATE_FORWARD(\))"),
    ),
}
#: (variant, case) -> the case and its clocks per step with the variant's parameter on and off (Icarus and
#: Verilator alike: the schedule is the RTL's)
CASES = {
    ("ernn_cmd FORWARD", GRU_2L.name): (GRU_2L, 59, 60),
    ("ernn_cmd FORWARD", LSTMP_PEEP.name): (LSTMP_PEEP, 221, 222),
    ("ernn_cmd EARLY_LOAD", GRU_IN_ORDER.name): (GRU_IN_ORDER, 132, 134),
    ("ernn_gate_buf FORWARD", LSTM_1L.name): (LSTM_1L, 62, 63),
    ("ernn_gate_buf FORWARD", GRU_2L.name): (GRU_2L, 59, 60),
}


def unforwarded_hdl(dest: Path, variant: str) -> Path:
    """A copy of the toolkit's rtl/ and fpga/ under ``dest`` with ``variant``'s parameter of ernn_ctrl's
    instance at 0 (ernn_cmd's FORWARD and EARLY_LOAD are 1 in every design; ernn_gate_buf's FORWARD is the
    header's ERNN_GATE_FORWARD)."""
    shutil.copytree(paths.rtl_dir(), dest / "rtl")
    shutil.copytree(paths.fpga_dir(), dest / "fpga")
    ctrl = dest / "rtl" / "ernn_ctrl.v"
    text, count = VARIANTS[variant][1].subn(r"\g<1>0\g<2>", ctrl.read_text())
    assert count == 1, f"{ctrl}: expected one instance with {variant}, found {count}"
    ctrl.write_text(text)
    return dest


#: the default suite keeps one case per variant (its 30-minute budget); the second gate-buffer case is slow
SLOW = {("ernn_gate_buf FORWARD", GRU_2L.name)}


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(
    "variant,name",
    [pytest.param(*key, marks=pytest.mark.slow) if key in SLOW else key for key in CASES],
)
def test_forwarding_saves_its_clock(sim, variant, name, request, tmp_path, monkeypatch) -> None:
    case, forwarded, registered = CASES[(variant, name)]
    seed = seed_for(request.node.nodeid)
    model = model_dir(case)
    hardware = ExportedModel(model).config["hardware"]
    if variant == "ernn_cmd FORWARD":
        assert hardware.get("layer_skew"), f"{name}: the exporter no longer pipelines it"
    if variant == "ernn_gate_buf FORWARD":
        assert hardware.get("gate_forward"), f"{name}: the exporter no longer forwards its gate buffer"
    on = _steady(model, sim, seed, tmp_path / "on")
    monkeypatch.setenv(paths.HDL_ENV, str(unforwarded_hdl(tmp_path / "hdl", variant)))
    off = _steady(model, sim, seed, tmp_path / "off")
    assert (on, off) == (forwarded, registered), (
        f"{name} on {sim}: {on} clocks per step forwarded, {off} with {variant} 0 "
        f"(expected {forwarded} and {registered})"
    )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_copy_turns_off_only_that_forwarding(variant, tmp_path) -> None:
    """The variant differs from the checkout in one parameter of one instance (state_mem keeps FORWARD)."""
    instance, _ = VARIANTS[variant]
    parameter = variant.split()[1]
    hdl = unforwarded_hdl(tmp_path / "hdl", variant)
    before = paths.rtl_dir().joinpath("ernn_ctrl.v").read_text().splitlines()
    after = (hdl / "rtl" / "ernn_ctrl.v").read_text().splitlines()
    changed = [(i, a, b) for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 1 and f".{parameter}(" in changed[0][1] and f".{parameter}(0)" in changed[0][2], (
        changed
    )
    index = changed[0][0]
    assert any(f"{instance} #(" in line for line in before[max(0, index - 40) : index]), (
        f"not the {instance} instance"
    )
