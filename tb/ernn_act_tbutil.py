"""Helpers of the activation and cell testbenches (tb/ernn_act_pwl, tb/ernn_lstm_cell, tb/ernn_gru_cell).

* activation tables: $readmemh files and the Verilog parameters that name them. The words come from
  :func:`ernn.golden.activation.activation_table` through :func:`ernn.golden.ops.hex_words`, exactly as the
  exporter writes ``sigmoid_values.mem`` / ``sigmoid_slopes.mem`` / ``tanh_*``. Files are
  content-addressed under ``<cache>/sim/data`` (``rtl_runner.BUILD_ROOT``) so that parallel test workers never rewrite a file that
  another simulation is reading;
* :func:`pack_fields`: an AXI-Stream beat from several lane-packed fields;
* :func:`sim_cases`: the (simulator, parameter set) matrix. Every Verilator parameter set compiles a C++
  model (10-20 s of CPU here), so the default suite runs some parameter sets on Icarus only;
  ``-m slow`` (``make test-long``) runs those on Verilator too, plus the long variants on both.

Nothing here computes expected values: the testbenches import the golden model for that.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ernn.golden.activation import activation_table
from ernn.golden.formats import NumericsConfig
from ernn.golden.ops import hex_words
from ernn.sim import runner as rtl_runner

KINDS = ("sigmoid", "tanh")


def _mem_file(stem: str, lines: list[str]) -> Path:
    text = "\n".join(lines) + "\n"
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    path = rtl_runner.BUILD_ROOT / "data" / f"{stem}-{digest}.mem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def table_files(cfg: NumericsConfig, kind: str) -> tuple[Path, Path]:
    """(VALUE file, SLOPE file) of ``kind`` for ``cfg``: two's-complement hex, one word per segment."""
    table = activation_table(kind, cfg)  # type: ignore[arg-type]
    values = _mem_file(f"{kind}_values", hex_words(table.values, cfg.act.word))
    slopes = _mem_file(f"{kind}_slopes", hex_words(table.slopes, cfg.act_slope.word))
    return values, slopes


def act_params(cfg: NumericsConfig, kind: str, lanes: int) -> dict[str, object]:
    """Verilog parameters of ernn_act_pwl for one activation of ``cfg``."""
    spec = cfg.sigmoid if kind == "sigmoid" else cfg.tanh
    values, slopes = table_files(cfg, kind)
    return {
        "LANES": lanes,
        "IN_W": cfg.gate.word,
        "IN_F": cfg.gate.frac,
        "OUT_W": cfg.act.word,
        "SLOPE_W": cfg.act_slope.word,
        "SLOPE_F": cfg.act_slope.frac,
        "RANGE_LOG2": spec.range_log2,
        "SEG_BITS": spec.seg_bits,
        "VALUE_FILE": values,
        "SLOPE_FILE": slopes,
    }


#: Formats of the GRU cell's parameters; the LSTM cell adds peephole and cell.
GRU_FORMATS = ("data", "ifft_out", "bias", "gate", "act", "act_slope")
LSTM_FORMATS = (*GRU_FORMATS, "peephole", "cell")


def cell_format_params(cfg: NumericsConfig, formats: Sequence[str]) -> dict[str, object]:
    """Format (``formats``) and activation-table parameters of ernn_lstm_cell / ernn_gru_cell.

    Names follow the exported header ``ernn_params.vh`` (``ERNN_<FIELD>_W`` / ``ERNN_<FIELD>_F``).
    """
    params: dict[str, object] = {}
    for name in formats:
        fmt = getattr(cfg, name)
        params[f"{name.upper()}_W"] = fmt.word
        params[f"{name.upper()}_F"] = fmt.frac
    for kind in KINDS:
        spec = cfg.sigmoid if kind == "sigmoid" else cfg.tanh
        values, slopes = table_files(cfg, kind)
        params[f"{kind.upper()}_RANGE_LOG2"] = spec.range_log2
        params[f"{kind.upper()}_SEG_BITS"] = spec.seg_bits
        params[f"{kind.upper()}_VALUE_FILE"] = values
        params[f"{kind.upper()}_SLOPE_FILE"] = slopes
    return params


def pack_fields(fields: Sequence[tuple[np.ndarray, int]]) -> int:
    """One bus word from fields of signed values (each flattened in C order, element 0 lowest), first field lowest."""
    word, pos = 0, 0
    for values, width in fields:
        flat = np.asarray(values).reshape(-1)
        word |= rtl_runner.pack(flat, width) << pos
        pos += flat.size * width
    return word


def sim_cases(
    both: Sequence[tuple],
    icarus: Sequence[tuple] = (),
    slow: Sequence[tuple] = (),
    name: Callable[[tuple], str] | None = None,
) -> list[Any]:
    """pytest params (sim, *case): ``both`` on every simulator, ``icarus`` on Icarus (Verilator: slow),
    ``slow`` on every simulator but marked slow. Honours ``SIM`` (:func:`ernn.sim.runner.simulators`).
    ``name(case)`` gives the test id after the simulator (default: pytest's)."""
    out = []
    for sim in rtl_runner.simulators():
        for cases, marks in (
            (both, ()),
            (icarus, () if sim == "icarus" else (pytest.mark.slow,)),
            (slow, (pytest.mark.slow,)),
        ):
            for case in cases:
                ident = f"{sim}-{name(case)}" if name else None
                out.append(pytest.param(sim, *case, marks=marks, id=ident))
    return out
