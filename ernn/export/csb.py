"""CSB export: the memory images of a CSB model's stored kernels, their header lines and the MAC floor.

For every matrix of every layer (``w_ih``, ``w_hh``, ``w_hr``: G stacked gate matrices, M x M blocks in
(gate, block row, block column) row-major order, the format of :mod:`ernn.golden.csb`), four ``$readmemh``
images in ``mem/``, one entry per line, two's complement hex:

* ``l{L}_{name}_counts.mem`` — one word per block: ``{n_b, m_b}``, m_b (kept rows) in the low
  ``COUNT_W = clog2(M + 1)`` bits, n_b (kept columns) above;
* ``l{L}_{name}_rows.mem`` — the kept row offsets (0..M-1, ``INDEX_W = max(1, clog2 M)`` bits), block after block;
* ``l{L}_{name}_cols.mem`` — the kept column offsets, likewise;
* ``l{L}_{name}_values.mem`` — the kernel values, row-major per kernel, block after block, Q(weight_spectrum).

A block's entries start where the previous blocks' counts end (prefix sums of m_b, n_b and m_b n_b), so the
images need no pointer table. The header (``ernn_params.vh``) carries M, the count and index widths and
every image's depth; :func:`check_header` refuses a header that is not this model's.

These images feed the one-MAC engine ``rtl/ernn_csb_engine.v``. ``lanes`` is the number of multipliers
(PEs) the images are meant for and :func:`cycle_model` gives the MAC floor (every PE busy every cycle); the
balanced schedule of a K x L grid of P x Q PE groups and its utilization come from
:mod:`ernn.export.csb_schedule`, and :mod:`ernn.export.csb_program` compiles it into the program images of
the group array ``rtl/ernn_csb_array.v``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ernn.golden.csb import CSBMatrix
from ernn.golden.formats import clog2
from ernn.golden.network import GoldenNetwork
from ernn.golden.ops import hex_words
from ernn.shape import ModelShape
from ernn.shape.structures import CSB

#: the stored arrays of one matrix and their image suffixes
IMAGES = (("counts", "counts"), ("row_index", "rows"), ("col_index", "cols"), ("values", "values"))
MAX_LANES = 1 << 16


def count_word(block: int) -> int:
    """Bits of one count (0..M)."""
    return clog2(block + 1)


def index_word(block: int) -> int:
    """Bits of one kept-row or kept-column offset (0..M-1)."""
    return max(1, clog2(block))


def check_lanes(lanes: int) -> int:
    if isinstance(lanes, bool) or not isinstance(lanes, int | np.integer) or not 1 <= lanes <= MAX_LANES:
        raise ValueError(
            f"lanes (PEs of the CSB engine) must be an integer in [1, {MAX_LANES}], got {lanes!r}"
        )
    return int(lanes)


def default_lanes(info: ModelShape) -> int:
    """The CSB-RNN paper's engine size, 512 PEs (8 x 4 groups of 4 x 4), when the model has that many MACs per
    step; otherwise the smallest power of two that covers one step's kept MACs in one cycle."""
    macs = cycle_model(info, 1).macs
    lanes = 1
    while lanes < 512 and lanes < macs:
        lanes *= 2
    return lanes


def _matrices(net: GoldenNetwork) -> list[tuple[str, CSBMatrix]]:
    out = []
    for idx, layer in enumerate(net.layers):
        for name in ("w_ih", "w_hh", "w_hr"):
            m = getattr(layer, name)
            if m is not None:
                if not isinstance(m, CSBMatrix):
                    raise ValueError(f"layer {idx} {name}: not a CSB matrix ({type(m).__name__})")
                out.append((f"l{idx}_{name}", m))
    return out


@dataclass(frozen=True)
class CSBHardware:
    """What config.json's ``hardware`` section and ``ernn_params.vh`` record for a CSB model."""

    lanes: int  # PEs the images are meant for
    block: int  # M
    depths: dict[str, int]  # image file -> entries
    files: dict[str, str]  # role -> image file
    values: int  # kernel values of the whole model (= MACs per time step)
    controller: tuple[str, ...] = ()  # the controller's and the unit's header lines (ernn.export.csb_unit)
    unit: dict[str, Any] = field(default_factory=dict)  # config.json: the unit's grid, k and clocks

    def header_lines(self) -> list[str]:
        lines = [
            # lint_save/lint_restore, not lint_on: a lint_on here would end the waiver of an includer that
            # wraps the whole header (ernn_selftest), since Verilator's waivers do not nest
            "/* verilator lint_save */",
            "/* verilator lint_off UNUSEDPARAM */  // the image sizes: for readers of the header, not ernn_top",
            f"localparam integer ERNN_CSB_PES = {self.lanes};  // PEs of the CSB engine (export --lanes)",
            f"localparam integer ERNN_CSB_BLOCK = {self.block};  // M: CSB blocks are M x M",
            f"localparam integer ERNN_CSB_COUNT_W = {count_word(self.block)};  // bits of m_b, n_b (0..M)",
            f"localparam integer ERNN_CSB_INDEX_W = {index_word(self.block)};  // bits of a kept offset (0..M-1)",
            f"localparam integer ERNN_CSB_VALUES = {self.values};  // kernel values (MACs per time step)",
        ]
        for file, depth in self.depths.items():
            lines.append(
                f"localparam integer ERNN_CSB_{Path(file).stem.upper()}_DEPTH = {depth};  // mem/{file}"
            )
        return [*lines, "/* verilator lint_restore */", *self.controller]

    def record(self) -> dict[str, Any]:
        """config.json's ``hardware`` entries (the writer adds ``cycles_per_step``)."""
        return {
            "lanes": self.lanes,
            "csb_block": self.block,
            "csb_values": self.values,
            "memories": self.files,
            **({"csb_unit": self.unit} if self.unit else {}),
        }


def hardware(net: GoldenNetwork, lanes: int) -> CSBHardware:
    """The images' file names and depths for ``net`` (nothing written)."""
    check_lanes(lanes)
    structure = net.info.structure
    if not isinstance(structure, CSB):
        raise ValueError(f"CSB export: the model is {structure.describe()}, not CSB")
    depths, files, values = {}, {}, 0
    for prefix, m in _matrices(net):
        for key, suffix in IMAGES:
            file = f"{prefix}_{suffix}.mem"
            arr = getattr(m, key)
            depths[file] = (
                int(arr.shape[0] * arr.shape[1] * arr.shape[2]) if key == "counts" else int(arr.size)
            )
            files[f"{prefix}_{suffix}"] = file
        values += int(m.values.size)
    return CSBHardware(check_lanes(lanes), structure.block, depths, files, values)


def _write(path: Path, words: list[str]) -> None:
    path.write_text("\n".join(words) + ("\n" if words else ""))


def write_memories(net: GoldenNetwork, mem_dir: Path, lanes: int) -> CSBHardware:
    """Write the four images of every matrix into ``mem_dir``; return the hardware record (the engine
    behind ``ernn_top`` adds its programs and header lines: :func:`ernn.export.csb_unit.write_memories`)."""
    hw = hardware(net, lanes)
    for prefix, m in _matrices(net):
        write_matrix(m, mem_dir, prefix, net.numerics.weight_spectrum.word)
    return hw


def write_matrix(m: CSBMatrix, mem_dir: Path, prefix: str, weight_word: int) -> dict[str, Path]:
    """The four images of one matrix, ``<prefix>_{counts,rows,cols,values}.mem`` (what
    ``rtl/ernn_csb_engine.v`` reads); returns them by suffix."""
    cw, iw = count_word(m.block), index_word(m.block)
    packed = [(int(n) << cw) | int(mb) for mb, n in m.counts.reshape(-1, 2)]
    digits = -(-2 * cw // 4)
    paths = {suffix: mem_dir / f"{prefix}_{suffix}.mem" for _, suffix in IMAGES}
    _write(paths["counts"], [f"{w:0{digits}x}" for w in packed])
    _write(paths["rows"], _unsigned(m.row_index, iw))
    _write(paths["cols"], _unsigned(m.col_index, iw))
    _write(paths["values"], hex_words(m.values, weight_word))
    return paths


def engine_cycles(m: CSBMatrix) -> int:
    """Clocks per vector of ``rtl/ernn_csb_engine.v`` without stalls: COLS input beats, G*ROWS clocks to
    clear the accumulators, one clock per kernel entry and one per empty block, G*ROWS output beats."""
    per_block = np.maximum(m.counts[..., 0] * m.counts[..., 1], 1)
    return int(m.cols + 2 * m.gates * m.rows + per_block.sum())


def _unsigned(values: np.ndarray, width: int) -> list[str]:
    arr = np.asarray(values, dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= 1 << width):
        raise ValueError(f"index values outside the unsigned {width}-bit range")
    digits = -(-width // 4)
    return [f"{int(v):0{digits}x}" for v in arr]


def read_matrix(
    mem_dir: Path, prefix: str, rows: int, cols: int, gates: int, block: int, weight_word: int
) -> CSBMatrix:
    """A matrix back from its four images (checked by :class:`CSBMatrix`: errors name the block)."""
    cw = count_word(block)
    words = [int(w, 16) for w in (mem_dir / f"{prefix}_counts.mem").read_text().split()]
    bc, br = -(-cols // block), -(-rows // block)
    if len(words) != gates * br * bc:
        raise ValueError(f"{prefix}_counts.mem: {len(words)} blocks, the shape gives {gates * br * bc}")
    mask = (1 << cw) - 1
    counts = np.array([[w & mask, w >> cw] for w in words], dtype=np.int64).reshape(gates, br, bc, 2)
    ints = {
        name: np.array(
            [int(w, 16) for w in (mem_dir / f"{prefix}_{name}.mem").read_text().split()], dtype=np.int64
        )
        for name in ("rows", "cols", "values")
    }
    raw = ints["values"]
    values = np.where(raw >= 1 << (weight_word - 1), raw - (1 << weight_word), raw)  # two's complement
    return CSBMatrix(rows, cols, block, counts, ints["rows"], ints["cols"], values)


def check_header(header: str, net: GoldenNetwork, lanes: int, extra: tuple[str, ...] = ()) -> None:
    """ValueError when ``header``'s CSB lines are not the ones this model and ``lanes`` give (``extra``: the
    engine's own lines, :func:`ernn.export.csb_unit.check_header`)."""
    want = [
        line
        for line in [*hardware(net, lanes).header_lines(), *extra]
        if re.match(r"localparam integer ERNN_CSB_", line)
    ]
    got = [line for line in header.splitlines() if re.match(r"localparam integer ERNN_CSB_", line)]
    if got != want:
        diff = (
            next((w for w, g in zip(want, got, strict=False) if w != g), None)
            or f"{len(got)} vs {len(want)} lines"
        )
        raise ValueError(f"the CSB lines differ from this model's (first: {diff})")


@dataclass(frozen=True)
class CSBCycleModel:
    """The MAC floor of a CSB model on ``lanes`` PEs (no pipeline term; the CSB unit's clocks per job are
    config.json's ``hardware.csb_unit``, :mod:`ernn.export.csb_unit`)."""

    lanes: int
    macs: int  # kept weights of every matrix of every layer at the target rate: MACs per time step
    mac_cycles: int  # ceil(macs / lanes): every PE busy every cycle
    ideal: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ideal", self.mac_cycles)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def cycle_model(info: ModelShape, lanes: int) -> CSBCycleModel:
    """MACs per time step at the shape's target prune rate and the cycles at full utilization."""
    check_lanes(lanes)
    s = info.structure
    if not isinstance(s, CSB):
        raise ValueError(f"CSB cycle model: the shape is {s.describe()}, not CSB")
    keep = 1.0 - s.prune_rate
    macs = 0
    for layer in range(info.num_layers):
        macs += round(
            keep * info.gates * info.hidden_size * (info.layer_input_size(layer) + info.output_size)
        )
        if info.proj_size:
            macs += round(keep * info.proj_size * info.hidden_size)
    return CSBCycleModel(lanes, macs, -(-macs // lanes))
