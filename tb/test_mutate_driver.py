"""The mutation driver (ernn.verify.mutate) tells a caught mutant from an equivalent one, on both simulators.

Two mutants of ``rtl/ernn_delay.v`` (the cheapest testbench): the valid line's reset value 0 -> 1 (every
level comes out of reset valid: tb/ernn_delay must fail) and the generate condition ``DEPTH >= 1`` ->
``DEPTH >= 0`` (the parameter check already refuses DEPTH < 1: no design changes, the testbench passes, and
the driver reports it as equivalent because :data:`ernn.verify.mutate.EQUIVALENT` argues so). ``rtl/`` is
not touched: the driver edits a copy.
"""

from __future__ import annotations

import pytest

from ernn.sim import runner as rtl_runner
from ernn.verify import mutate

KILLED = "ernn_delay-L98-constant-bdf172"
EQUIVALENT = "ernn_delay-L74-constant-6d2900"


def _mutant(mutant_id: str) -> mutate.Mutant:
    (m,) = [m for m in mutate.generate(files=["ernn_delay.v"]) if m.id == mutant_id]
    return m


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("mutant_id", "status"), [(KILLED, "killed"), (EQUIVALENT, "equivalent")])
def test_driver_verdicts(sim, mutant_id, status, tmp_path) -> None:
    m = _mutant(mutant_id)
    before = (rtl_runner.RTL_DIR / m.file).read_text()
    rec = mutate.run_mutant(m, tmp_path, sim, timeout=300, testbenches=1)  # its own testbench only
    assert rec["status"] == status, rec.get("log_tail", rec)
    assert rec["tests"] == ["ernn_delay"]
    if status == "killed":
        assert "test_ernn_delay" in rec["killed_by"]
    else:
        assert "parameter check" in rec["argument"]
    assert (rtl_runner.RTL_DIR / m.file).read_text() == before  # rtl/ itself is never edited
    assert not (tmp_path / m.id).exists()  # the copy is removed


def test_known_mutants_are_what_the_docstring_says() -> None:
    killed, equivalent = _mutant(KILLED), _mutant(EQUIVALENT)
    assert (killed.original, killed.replacement) == ("1'b0", "1'b1") and "valid_reg <=" in killed.apply(
        (rtl_runner.RTL_DIR / "ernn_delay.v").read_text()
    ).splitlines()[killed.line - 1]
    assert (equivalent.original, equivalent.replacement) == ("1", "0")
