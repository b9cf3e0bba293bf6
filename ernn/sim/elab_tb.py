"""cocotb module for elaboration checks: a design whose parameter check fires never gets here.

:func:`ernn.sim.runner.expect_elaboration_error` starts a bad parameter set with this module; the
``initial`` block's ``$error``/``$finish`` ends the simulation at time 0.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import Timer


@cocotb.test()
async def elaborates(dut) -> None:
    """Only reached when the parameters were accepted (the caller then reports the missing error)."""
    await Timer(100, unit="ns")
