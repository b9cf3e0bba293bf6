"""Where the toolkit finds its hardware sources and where it writes its builds.

Two settings, both environment variables, both optional:

* ``ERNN_HDL_DIR`` — a folder holding ``rtl/`` (the Verilog) and ``fpga/`` (board files, the iCE40 top).
  Unset: the copy installed with the package (``ernn/hdl/``, package data of a wheel), or, in a checkout
  (editable install), the checkout's own ``rtl/`` and ``fpga/``.
* ``ERNN_CACHE_DIR`` — simulator builds (one folder per toplevel, simulator and parameter set) and other
  re-usable intermediate files. Unset: ``$XDG_CACHE_HOME/ernn`` (``~/.cache/ernn``). ``make`` points it at
  ``build/cache`` inside the checkout. Nothing is ever written into the installed package.
"""

from __future__ import annotations

import os
from pathlib import Path

HDL_ENV = "ERNN_HDL_DIR"
CACHE_ENV = "ERNN_CACHE_DIR"

_PACKAGE = Path(__file__).resolve().parent


def hdl_root() -> Path:
    """The folder holding ``rtl/`` and ``fpga/`` (see the module docstring for the order of lookup)."""
    env = os.environ.get(HDL_ENV, "").strip()
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / "rtl").is_dir():
            raise FileNotFoundError(f"{HDL_ENV}={env}: {root / 'rtl'} is not a folder of Verilog sources")
        return root
    for root in (_PACKAGE / "hdl", _PACKAGE.parent):
        if (root / "rtl" / "ernn_top.v").is_file():
            return root
    raise FileNotFoundError(
        f"the toolkit's Verilog sources are not installed with the package ({_PACKAGE / 'hdl'}) and this is "
        f"not a checkout: reinstall the package or set {HDL_ENV} to a folder holding rtl/ and fpga/"
    )


def rtl_dir() -> Path:
    """The Verilog sources (``rtl/ernn_*.v``)."""
    return hdl_root() / "rtl"


def fpga_dir() -> Path:
    """Board and open-flow files (``fpga/open``, ``fpga/boards``, ``fpga/vivado``)."""
    return hdl_root() / "fpga"


def cache_dir() -> Path:
    """The cache folder: ``$ERNN_CACHE_DIR``, else ``$XDG_CACHE_HOME/ernn``, else ``~/.cache/ernn``."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "ernn").resolve()
