"""Functional coverage of ernn_top runs: which stimulus classes the testbenches really produced.

The benches claim back-pressure at every stage, every job kind, resets in every state of the controller
and saturation at every rounding point. Line and toggle coverage cannot say whether a class happened (a
``tready`` can toggle without a stall that mattered), so a small collector samples the named handshakes
inside ``ernn_top`` on every clock of a run (:class:`TopCollector`, started by ``ernn.sim.rtl``'s monitor
when ``ERNN_COVERAGE`` is set) and counts hits per bin:

* ``backpressure/<stage>``: clocks with valid high and ready low at each handshake of the datapath
  (:data:`STAGES`: the accelerator's s_axis and m_axis, the command and data streams into the PE, the PE's
  output, the cell's input and output);
* ``job_kind/<kind>``: commands accepted by the PE, by the kind of their job (``ernn_job_table``: gate,
  in, hn, proj; a kind only exists for the models that have it: in/hn for a GRU, proj with a projection);
* ``reset_in/<state>``: resets that arrive while the controller is in each state (:data:`RESET_STATES`:
  the command side issuing or loading, the PE's output waiting, the cell holding work, the output held
  under back-pressure, idle).

Saturation per rounding point needs no sampling: every ``ernn_round_sat`` with a clamp has a wire
``over``, and Verilator's toggle coverage of it per instance says whether that clamp engaged
(:func:`saturation_bins`, from the coverage data). Each run writes ``funcov-<id>.json`` into the coverage
folder; :func:`merge` adds them up. No expected value is computed here: this is a record of stimulus.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: handshakes sampled for back-pressure: stage -> (valid, ready) paths below the toplevel
STAGES: dict[str, tuple[str, str]] = {
    "s_axis (input frames)": ("s_axis_tvalid", "s_axis_tready"),
    "pe s_cmd (jobs into the PE)": ("core_inst.pe_s_cmd_valid", "core_inst.pe_s_cmd_ready"),
    "pe s_axis (operands into the PE)": ("core_inst.pe_s_axis_tvalid", "core_inst.pe_s_axis_tready"),
    "pe m_axis (matvec out of the PE)": ("core_inst.pe_m_axis_tvalid", "core_inst.pe_m_axis_tready"),
    "cell s (gates into the cell)": ("core_inst.cell_s_valid", "core_inst.cell_s_ready"),
    "cell m (h, c out of the cell)": ("core_inst.cell_m_valid", "core_inst.cell_m_ready"),
    "m_axis (output vectors)": ("m_axis_tvalid", "m_axis_tready"),
}
#: job kinds of ernn_job_table's kind field
JOB_KINDS = ("gate", "in", "hn", "proj")
#: controller states a reset can arrive in (more than one may hold at once; idle when none does)
RESET_STATES = (
    "cmd issuing",
    "cmd loading",
    "pe output waiting",
    "cell busy",
    "output held",
    "idle",
)
CMD_STATE = "core_inst.cmd_inst.cmd_state_reg"
KIND = "core_inst.cmd_kind"


def _handle(dut: Any, path: str) -> Any:
    obj = dut
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


class TopCollector:
    """Samples :data:`STAGES`, the kind of each accepted PE command and the state at each reset."""

    def __init__(self, dut: Any) -> None:
        self.stages = {name: (_handle(dut, v), _handle(dut, r)) for name, (v, r) in STAGES.items()}
        self.cmd = self.stages["pe s_cmd (jobs into the PE)"]
        self.kind = _handle(dut, KIND)
        self.cmd_state = _handle(dut, CMD_STATE)
        self.rst = dut.rst
        self.was_reset = True
        self.hits: Counter[str] = Counter()

    def sample(self) -> None:
        """Call once per clock, at the rising edge (values before the edge's updates)."""
        rst = int(self.rst.value)
        if rst and not self.was_reset:
            self._reset_state()
        self.was_reset = bool(rst)
        if rst:
            return
        valid = {name: int(v.value) for name, (v, _) in self.stages.items()}
        for name, (_, r) in self.stages.items():
            if valid[name] and not int(r.value):
                self.hits[f"backpressure/{name}"] += 1
        if valid["pe s_cmd (jobs into the PE)"] and int(self.cmd[1].value):
            self.hits[f"job_kind/{JOB_KINDS[int(self.kind.value)]}"] += 1

    def _reset_state(self) -> None:
        for state in self.reset_states():
            self.hits[f"reset_in/{state}"] += 1

    def reset_states(self) -> list[str]:
        """The :data:`RESET_STATES` the controller is in now (read at a rising edge, before its updates);
        ``ernn.sim.rtl`` records them at each reset of a run, coverage or not."""
        states = []
        # ernn_cmd: CMD_ISSUE = 0, CMD_LOAD = 1
        states.append("cmd loading" if int(self.cmd_state.value) == 1 else "cmd issuing")
        for state, stage in (
            ("pe output waiting", "pe m_axis (matvec out of the PE)"),
            ("cell busy", "cell s (gates into the cell)"),
            ("output held", "m_axis (output vectors)"),
        ):
            if int(self.stages[stage][0].value):
                states.append(state)
        if len(states) == 1 and not int(self.cmd[0].value):
            states.append("idle")
        return states

    def write(self, folder: Path) -> Path:
        path = folder / f"funcov-{os.getpid()}-{time.time_ns()}.json"
        path.write_text(json.dumps(dict(self.hits), indent=1, sort_keys=True))
        return path


def all_bins() -> list[str]:
    """Every sampled bin, hit or not."""
    return (
        [f"backpressure/{s}" for s in STAGES]
        + [f"job_kind/{k}" for k in JOB_KINDS]
        + [f"reset_in/{s}" for s in RESET_STATES]
    )


def merge(files: Iterable[Path]) -> dict[str, int]:
    """Hits per bin over every run's ``funcov-*.json`` (every bin of :func:`all_bins` present)."""
    total: Counter[str] = Counter({b: 0 for b in all_bins()})
    for path in files:
        total.update(json.loads(Path(path).read_text()))
    return dict(total)


def saturation_bins(points: Mapping[tuple[str, ...], int]) -> dict[str, int]:
    """Per ``ernn_round_sat`` instance with a clamp (hierarchy): how often its ``over`` wire rose (the
    clamp engaged). ``points`` maps (file:line, hierarchy, comment, kind) of Verilator points to counts
    (:func:`ernn.verify.coverage.read_points`)."""
    out: dict[str, int] = {}
    for (where, hier, comment, kind), count in points.items():
        file = where.rsplit(":", 1)[0]
        if kind == "toggle" and file.endswith("ernn_round_sat.v") and comment.split(".")[-1] == "over:0->1":
            out[f"saturation/{hier}"] = out.get(f"saturation/{hier}", 0) + count
    return out
