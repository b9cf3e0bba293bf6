"""The boards of the Vivado flow, read from their one source, ``fpga/vivado/boards.tcl``.

The Makefile (``BOARDS``), the tests and this module all read that table; a board is added there only.
"""

from __future__ import annotations

import re
from pathlib import Path

from ernn import paths

_ENTRY = re.compile(r"^\s*([a-z0-9_]+)\s+\[dict create part\s+(\S+)\s+clock_mhz\s+(\d+)", re.M)


def boards_tcl() -> Path:
    return paths.fpga_dir() / "vivado" / "boards.tcl"


def vivado_boards() -> dict[str, dict[str, object]]:
    """``{board: {"part": ..., "clock_mhz": ...}}`` in the table's order."""
    path = boards_tcl()
    found = {m[1]: {"part": m[2], "clock_mhz": int(m[3])} for m in _ENTRY.finditer(path.read_text())}
    if not found:
        raise ValueError(f"{path}: no board entries found (expected '<name> [dict create part ...]' lines)")
    return found
