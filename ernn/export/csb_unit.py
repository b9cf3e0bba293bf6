"""The CSB matvec unit behind ``ernn_top``: the controller's block size, the engine grid, one program per job.

``rtl/ernn_top.v`` runs a CSB model on the controller and cell units of the block-circulant accelerator
(``rtl/ernn_ctrl.v``) with ``rtl/ernn_csb_unit.v`` where the circulant PE is. The controller works in blocks
of k samples and steps through the job table of :mod:`ernn.export.schedule`; for a CSB model that table is
the one of the same shape with block-circulant structure at k (:func:`controller_shape`):

* **k** (:func:`controller_block`): the smallest power of two in [4, 64] that the CSB block size M divides
  (M = 8 gives k = 8, M = 2 gives k = 4). Because M divides k, every M x M block of a gate matrix lies
  inside one k-row block and one k-column block of the controller, so re-placing the blocks in the job's
  row and column order keeps each kernel whole. An M that divides no such power of two (12, 128, ...) has
  no controller block: :func:`controller_block` refuses it, naming M.
* **The job's matrix** (:func:`job_matrix`): one CSB matrix per PE job, its rows in the job's row-block
  order (gate job: block i's gates one after the other, as the cell unit reads them), its columns the job's
  input blocks as the command side sends them (x_t padded to q_x k, then h_{t-1} padded to q_h k). The
  gate job stacks [W_ih | W_hh] of each gate, so both products share one accumulator and one rounding, as
  the golden model sums them; the GRU's W_in x and W_hn h are jobs of their own; the projection is W_hr.
  Padding rows and columns hold no kernel, so they compute and meet zeros.
* **The grid** (:func:`engine_grid`): ``--lanes`` PEs (a power of two) as K x L groups of P x Q PEs, the
  factors of two dealt to K, P, Q, L in turn (512: the paper's 8 x 4 groups of 4 x 4; 16: 2 x 2 of 2 x 2).
  Every job's matrix is scheduled on it in merged runs (:func:`ernn.export.csb_merge.compile_matrix`, both
  sharing directions, the exact max-flow solver, balanced per tile row: the only barrier the array has) and
  compiled into the group array's program (:mod:`ernn.export.csb_program`: the PEs of a PE column share one
  input neuron, and a run may hold the entries of up to three vertically adjacent kernels of that neuron;
  SR1 random kernels at 13x on 512 PEs: 88.9 % utilization, docs/csb.md).

The unit instantiates one ``ernn_csb_array`` that holds every job's program, one after the other in the images
``mem/csb_prog_*.mem`` (:func:`write_programs`, :func:`ernn.export.csb_program.write_joint`), and runs job j's
on the j-th command; the header carries the table of their sizes (:func:`unit_table_lines`,
``ERNN_CSB_UNIT_TABLE``) and ``define ERNN_STRUCTURE_CSB``, which selects the unit in ``ernn_top``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ernn.export import csb as ecsb
from ernn.export import csb_merge as cm
from ernn.export import csb_program as cp
from ernn.export import csb_schedule as cs
from ernn.export import layout  # the cell images' layout and packing, shared with block-circulant
from ernn.export.jobs import Job, all_jobs
from ernn.export.schedule import (
    default_cell_lanes,
    job_table,
    job_table_lines,
    parse_job_table,
    xbuf_depth,
)
from ernn.golden.csb import CSBMatrix, sum_word
from ernn.golden.formats import NumericsConfig
from ernn.golden.network import GoldenNetwork
from ernn.shape import ModelShape
from ernn.shape.structures import CSB, BlockCirculant

#: block sizes the controller takes (rtl/ernn_ctrl.v: a power of two in [4, 64])
CONTROLLER_BLOCKS = (4, 8, 16, 32, 64)
#: the job table's weight regions are counted for this many lanes (the unit reads no weight memory)
TABLE_LANES = 1
#: fields of a row of ERNN_CSB_UNIT_TABLE, field 0 in the highest bits
#: (sum_w: the word the array sums in, ernn.golden.csb.sum_word; since model format v11)
UNIT_FIELDS = ("rows", "cols", "x_w", "steps", "tile_rows", "len_w", "macs", "sum_w")
FIELD_BITS = 32
#: the sharing mode, balancing method and barrier scope of the programs ernn export writes
MODE, METHOD, SCOPE = "both", "flow", "tile_row"
#: output rows the group array reduces per clock (``ERNN_CSB_RED_ROWS``); None: :func:`reduction_rows`. One by
#: default: a wider reduction hides more of it behind the MACs (SR1 on 1,024 PEs: 1,403 -> 985 clocks per step
#: at 2) but splits every PE's partial sums into more memories (16 PEs at M = 32: +24 % LUT at 2; at M = 4 the
#: memories leave LUT RAM: +89 % LUT, 5x the FF), so it is a choice, not a default (docs/csb.md)
RED_ROWS: int | None = 1


def reduction_rows(jobs: list[UnitJob], block: int) -> int:
    """The reduction width that hides the reduction: the fewest rows per clock (a power of two dividing the
    block size M) whose M / r reduction clocks per tile row are no more than the median tile row's MAC
    clocks over every job, so that a tile row's reduction hides behind the next one's MACs for most tile
    rows. Blind to what it costs (every doubling splits each PE's partial sums into twice the memories:
    docs/csb.md), so export takes it only with ``RED_ROWS = None``."""
    lens = np.concatenate([uj.program.lens for uj in jobs]) if jobs else np.zeros(0)
    target = max(1.0, float(np.median(lens))) if lens.size else float(block)
    r = 1
    while block % (2 * r) == 0 and block / r > target:
        r *= 2
    return r


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def controller_block(block: int) -> int:
    """k, the block size the controller works in, for CSB block size M = ``block`` (see the module doc)."""
    for k in CONTROLLER_BLOCKS:
        if k % block == 0:
            return k
    raise ValueError(
        f"CSB block size M = {block}: the CSB engine behind ernn_top cannot be built, because the controller "
        f"works in blocks of k = {', '.join(map(str, CONTROLLER_BLOCKS))} and M must divide k "
        "(train with --csb-block 2, 4, 8, 16, 32 or 64)"
    )


def controller_shape(shape: ModelShape) -> ModelShape:
    """The shape with block-circulant structure at :func:`controller_block`: what the job table,
    the bias images and the controller's memories are laid out for."""
    s = shape.structure
    if not isinstance(s, CSB):
        raise ValueError(f"the CSB unit runs CSB models, not {s.describe()}")
    plain = shape.shape if hasattr(shape, "shape") else shape  # ModelInfo -> ModelShape
    return dataclasses.replace(plain, structure=BlockCirculant(controller_block(s.block)))


def engine_grid(lanes: int) -> cs.Grid:
    """``lanes`` PEs as K x L groups of P x Q PEs: the factors of two dealt to K, P, Q, L in turn."""
    if isinstance(lanes, bool) or not isinstance(lanes, int | np.integer) or lanes < 1 or lanes & (lanes - 1):
        raise ValueError(
            f"the CSB engine behind ernn_top cannot be built for --lanes {lanes!r}: its PEs form K x L groups "
            "of P x Q PEs, so the PE count must be a power of two"
        )
    dims = [1, 1, 1, 1]  # K, P, Q, L
    for i in range(int(lanes).bit_length() - 1):
        dims[i % 4] *= 2
    return cs.Grid(k=dims[0], l=dims[3], p=dims[1], q=dims[2])


def _sources(net: GoldenNetwork, job: Job) -> list[tuple[CSBMatrix, int, int]]:
    """(matrix, gate, first column) of each gate matrix that feeds ``job``; gate order = row order."""
    layer = net.layers[job.layer]
    k = controller_block(net.info.structure.block)
    if job.kind == "gate":
        qx = job.x_blocks
        return [(m, g, off) for g in range(job.gates) for m, off in ((layer.w_ih, 0), (layer.w_hh, qx * k))]
    if job.kind == "in":
        return [(layer.w_ih, 2, 0)]
    if job.kind == "hn":
        return [(layer.w_hh, 2, 0)]
    return [(layer.w_hr, 0, 0)]


def job_matrix(net: GoldenNetwork, job: Job) -> CSBMatrix:
    """The one-gate CSB matrix of ``job`` (rows in the job's row order, columns its input blocks)."""
    m_size = net.info.structure.block
    k = controller_block(m_size)
    rows, cols = job.rows * k, job.read_count * k
    gates = job.gates if job.kind == "gate" else 1
    placed: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for slot, (matrix, gate, col0) in enumerate(_sources(net, job)):
        g_slot = slot // 2 if job.kind == "gate" else 0
        for g, r0, c0, ri, ci, vals in matrix.kernels():
            if g != gate:
                continue
            new_r0 = ((r0 // k) * gates + g_slot) * k + r0 % k
            placed[(new_r0 // m_size, (col0 + c0) // m_size)] = (ri, ci, vals)
    br, bc = _cdiv(rows, m_size), _cdiv(cols, m_size)
    counts = np.zeros((1, br, bc, 2), dtype=np.int64)
    ri_all, ci_all, v_all = [], [], []
    for i in range(br):
        for j in range(bc):
            if (i, j) in placed:
                ri, ci, vals = placed[(i, j)]
                counts[0, i, j] = len(ri), len(ci)
                ri_all.append(ri)
                ci_all.append(ci)
                v_all.append(vals.reshape(-1))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)  # noqa: E731
    return CSBMatrix(rows, cols, m_size, counts, cat(ri_all), cat(ci_all), cat(v_all))


@dataclass(frozen=True)
class UnitJob:
    """One job of the unit: the job, its matrix and the group array's program for it."""

    job: Job
    matrix: CSBMatrix
    program: cp.Program

    def sum_word(self, cfg: NumericsConfig) -> int:
        """The word the group array sums this job's products in (:func:`ernn.golden.csb.sum_word`)."""
        return sum_word(self.matrix, cfg.data.word, cfg.weight_spectrum.word)

    def row(self, cfg: NumericsConfig) -> tuple[int, ...]:
        s = self.program.sizes()
        return (s["ROWS"], s["COLS"], s["X_W"], s["STEPS"], s["TILE_ROWS"], s["LEN_W"], s["MACS"],
                self.sum_word(cfg))  # fmt: skip


def unit_jobs(
    net: GoldenNetwork, lanes: int, mode: str = MODE, method: str = METHOD, scope: str = SCOPE
) -> list[UnitJob]:
    """Every job's matrix, schedule on :func:`engine_grid` and program, in job-table order."""
    return grid_jobs(net, engine_grid(lanes), mode, method, scope)


def grid_jobs(
    net: GoldenNetwork, grid: cs.Grid, mode: str = MODE, method: str = METHOD, scope: str = SCOPE
) -> list[UnitJob]:
    """:func:`unit_jobs` on any ``grid`` (the cost model prices grids export does not lay out); ``net``
    needs only ``info`` (its shape) and per layer the CSB matrices ``w_ih``, ``w_hh``, ``w_hr``."""
    out = []
    for job in all_jobs(controller_shape(net.info)):
        matrix = job_matrix(net, job)
        schedule = cm.compile_matrix(matrix.counts, cm.kept_columns(matrix), grid, mode, method, scope)
        out.append(UnitJob(job, matrix, cp.build(matrix, schedule)))
    return out


#: file prefix of the unit's program images (rtl/ernn_csb_unit.v reads MEM_DIR/csb_prog_<image>.mem)
PROGRAM_PREFIX = "csb_prog"


def controller_lines(shape: ModelShape) -> list[str]:
    """The controller's header lines for a CSB model (the circulant names, the CSB unit's meanings)."""
    ctrl = controller_shape(shape)
    table = job_table(ctrl, TABLE_LANES)
    words = sum(job.words(ctrl.block_size // 2 + 1, TABLE_LANES) for job in all_jobs(ctrl))
    return [
        "`define ERNN_STRUCTURE_CSB  // rtl/ernn_top.v: the CSB unit (rtl/ernn_csb_unit.v) where the circulant PE is",
        f"localparam integer ERNN_CSB_K = {ctrl.block_size};  // k: the block size the controller works in",
        f"localparam integer ERNN_LANES = {TABLE_LANES};  // the job table's weight regions are counted for one lane",
        f"localparam integer ERNN_CELL_LANES = {default_cell_lanes(ctrl.block_size)};  // hidden units per cell-unit beat",
        "localparam integer ERNN_N_IFFT = 1;  // the CSB unit hands one row block per beat",
        "localparam integer ERNN_LAYER_SKEW = 0;  // layers in order (not pipelined across steps)",
        "localparam integer ERNN_INTERLEAVE = 0;  // each stage's jobs together (no projection to interleave)",
        "localparam integer ERNN_SPLIT = 0;  // no circulant PE",
        "localparam integer ERNN_GATE_FORWARD = 0;  // the feeder reads a completed block a clock later",
        "localparam integer ERNN_PROJ_ENGINE = 0;  // projections are the CSB unit's jobs",
        "localparam integer ERNN_REAL_BINS = 0;  // no circulant PE",
        "localparam integer ERNN_DSP_PACK = 0;  // no circulant PE",
        f"localparam integer ERNN_W_DEPTH = {words};  // the job table's weight words (the CSB unit reads none)",
        f"localparam integer ERNN_XBUF_DEPTH = {xbuf_depth(ctrl)};  // the CSB unit's input-block slots",
        f"localparam integer ERNN_CSB_UNIT_FIELDS = {len(UNIT_FIELDS)};  // fields of an ERNN_CSB_UNIT_TABLE row",
        *job_table_lines(table),
    ]


def grid_lines(lanes: int, red_rows: int) -> list[str]:
    g = engine_grid(lanes)
    return [
        f"localparam integer ERNN_CSB_RED_ROWS = {red_rows};  // output rows the group array reduces per clock",
        f"localparam integer ERNN_CSB_GRID_K = {g.k};  // group rows of the unit's group array",
        f"localparam integer ERNN_CSB_GRID_L = {g.l};  // group columns",
        f"localparam integer ERNN_CSB_GRID_P = {g.p};  // PE rows of a group",
        f"localparam integer ERNN_CSB_GRID_Q = {g.q};  // PE columns of a group",
    ]


def unit_table_lines(jobs: list[UnitJob], cfg: NumericsConfig) -> list[str]:
    """``ERNN_CSB_UNIT_FIELDS`` and ``ERNN_CSB_UNIT_TABLE``: per job its array's sizes and sum word in the
    model's formats ``cfg``, row 0 first."""
    rows = [job.row(cfg) for job in jobs]
    for row in rows:
        if not all(0 <= v < 1 << FIELD_BITS for v in row):
            raise ValueError(f"CSB unit table row {row} has a field outside [0, 2**{FIELD_BITS})")
    lines = [
        "// CSB unit table (ernn.export.csb_unit): per PE job, the sizes of its program on the group array",
        f"// (mem/csb_prog_*.mem, the jobs in order); fields {', '.join(UNIT_FIELDS)}; row 0 and field 0 in the highest bits.",
        f"localparam [ERNN_JOBS*ERNN_CSB_UNIT_FIELDS*{FIELD_BITS}-1:0] ERNN_CSB_UNIT_TABLE = {{",
    ]
    for idx, (row, job) in enumerate(zip(rows, jobs, strict=True)):
        sep = "" if idx == len(rows) - 1 else ","
        cells = ", ".join(f"{FIELD_BITS}'d{v}" for v in row)
        lines.append(f"    {cells}{sep}  // job {idx}: layer {job.job.layer} {job.job.kind}")
    lines.append("};")
    return lines


_UNIT_RE = re.compile(r"ERNN_CSB_UNIT_TABLE\s*=\s*\{(.*?)\};", re.S)


def parse_unit_table(header: str) -> list[tuple[int, ...]]:
    found = _UNIT_RE.search(header)
    if found is None:
        raise ValueError(
            "the header has no ERNN_CSB_UNIT_TABLE (exported before the CSB unit existed: export again)"
        )
    body = re.sub(r"//[^\n]*", "", found.group(1))
    values = [int(v) for v in re.findall(rf"\b{FIELD_BITS}'d(\d+)", body)]
    n = len(UNIT_FIELDS)
    if len(values) % n:
        raise ValueError(f"ERNN_CSB_UNIT_TABLE holds {len(values)} fields, not a multiple of {n}")
    return [tuple(values[i : i + n]) for i in range(0, len(values), n)]


# ------------------------------------------------------------------------------------------------------
# the export seam (ernn.export.structure) for CSB: the images of ernn.export.csb and the unit's programs
check_lanes = ecsb.check_lanes
default_lanes = ecsb.default_lanes
cycle_model = ecsb.cycle_model


def check_red_rows(red_rows: int | str | None, block: int) -> int | str | None:
    """``red_rows`` as export takes it: None (the module's :data:`RED_ROWS`), "auto" (:func:`reduction_rows`)
    or a whole number of output rows per clock that divides the CSB block size ``block``; anything else is
    refused, naming the value and the block size."""
    if red_rows is None or red_rows == "auto":
        return red_rows
    rows = int(red_rows) if isinstance(red_rows, str) and red_rows.strip().isdigit() else red_rows
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1 or block % rows:
        divisors = [d for d in range(1, block + 1) if block % d == 0]
        raise ValueError(
            f"CSB reduction rows per clock {red_rows!r} must be 'auto' or divide the CSB block size {block} "
            f"(one of {', '.join(map(str, divisors))})"
        )
    return rows


def write_memories(
    net: GoldenNetwork, mem_dir: Path, lanes: int, red_rows: int | str | None = None
) -> ecsb.CSBHardware:
    """The kernel images (:func:`ernn.export.csb.write_memories`), the cell images, one group-array program
    per job, and the controller's and the unit's header lines; refused, naming the reason, when the engine
    cannot be built (:func:`controller_block`, :func:`engine_grid`). ``red_rows``: the output rows the
    group array reduces per clock (:func:`check_red_rows`; None: :data:`RED_ROWS`, "auto": the rule
    :func:`reduction_rows`)."""
    block = net.info.structure.block
    red_rows = check_red_rows(RED_ROWS if red_rows is None else red_rows, block)
    k, grid = controller_block(block), engine_grid(lanes)
    hw = ecsb.write_memories(net, mem_dir, lanes)
    ww = net.numerics.weight_spectrum.word
    jobs = unit_jobs(net, lanes)
    red_rows = reduction_rows(jobs, block) if red_rows in (None, "auto") else red_rows
    files = {**hw.files, **write_cell_images(net, mem_dir), **write_programs(jobs, mem_dir, ww)}
    unit = {
        "k": k,
        "grid": {"K": grid.k, "L": grid.l, "P": grid.p, "Q": grid.q},
        "mode": MODE,
        "method": METHOD,
        "scope": SCOPE,
        "red_rows": red_rows,
        "job_array_cycles": unit_cycles(jobs, k, red_rows),
        "job_mac_cycles": [uj.program.steps for uj in jobs],
        "job_macs": [uj.program.macs for uj in jobs],
    }
    lines = (*controller_lines(net.info), *grid_lines(lanes, red_rows), *unit_table_lines(jobs, net.numerics))
    return dataclasses.replace(hw, files=files, controller=lines, unit=unit)


def check_header(header: str, net: GoldenNetwork, lanes: int) -> None:
    """ValueError when the header's CSB lines (:func:`ernn.export.csb.check_header`, with k and the grid),
    the controller's job table or the unit table's matrix sizes (rows, columns, tile rows, kernel entries)
    are not this model's; the program lengths are checked by the RTL at elaboration (``ernn_csb_array``:
    lengths against STEPS, enabled slots against MACS)."""
    found = re.search(r"localparam integer ERNN_CSB_RED_ROWS = (\d+);", header)
    if found is None:
        raise ValueError(
            "the header has no ERNN_CSB_RED_ROWS (exported before the CSB unit chose it: export again)"
        )
    red_rows = int(found.group(1))
    if red_rows < 1 or net.info.structure.block % red_rows:
        raise ValueError(
            f"ERNN_CSB_RED_ROWS = {red_rows} does not divide the CSB block size {net.info.structure.block}"
        )
    ecsb.check_header(header, net, lanes, (*controller_lines(net.info), *grid_lines(lanes, red_rows)))
    ctrl = controller_shape(net.info)
    if parse_job_table(header) != job_table(ctrl, TABLE_LANES):
        raise ValueError(f"the job table differs from this CSB model's schedule at k = {ctrl.block_size}")
    grid = engine_grid(lanes)
    got = parse_unit_table(header)
    jobs = all_jobs(ctrl)
    if len(got) != len(jobs):
        raise ValueError(f"ERNN_CSB_UNIT_TABLE has {len(got)} rows, the model has {len(jobs)} jobs")
    for idx, (row, job) in enumerate(zip(got, jobs, strict=True)):
        m = job_matrix(net, job)
        want = {
            "rows": m.rows,
            "cols": m.cols,
            "tile_rows": cp.tile_row_blocks(1, m.rows, m.block, grid),
            "macs": int(m.values.size),
            "sum_w": sum_word(m, net.numerics.data.word, net.numerics.weight_spectrum.word),
        }
        have = dict(zip(UNIT_FIELDS, row, strict=True))
        bad = [f"{k} {have[k]} (model: {v})" for k, v in want.items() if have[k] != v]
        if bad:
            raise ValueError(f"ERNN_CSB_UNIT_TABLE job {idx} ({job.kind}): {', '.join(bad)}")


def write_programs(jobs: list[UnitJob], mem_dir: Path, weight_word: int) -> dict[str, str]:
    """The group array's five program images in ``mem_dir``, every job's program in job order
    (:func:`ernn.export.csb_program.write_joint`); returns role -> file name."""
    paths = cp.write_joint([uj.program for uj in jobs], mem_dir, PROGRAM_PREFIX, weight_word)
    return {f"{PROGRAM_PREFIX}_{name}": path.name for name, path in paths.items()}


def write_cell_images(net: GoldenNetwork, mem_dir: Path) -> dict[str, str]:
    """``cell_bias.mem`` (and ``cell_peephole.mem``) per (layer, hidden block of k): the images the
    controller's feeder reads, laid out as for a block-circulant model at k (:mod:`ernn.export.layout`)."""
    ctrl, cfg = controller_shape(net.info), net.numerics
    params = net.quantized_params()
    k = ctrl.block_size
    bias = layout._pack(layout.bias_image(params, ctrl), cfg.bias.word)
    layout._write_words(mem_dir / layout.FILES["bias"], bias, 4 * k * cfg.bias.word)
    files = {"bias": layout.FILES["bias"]}
    if ctrl.peephole:
        pw = cfg.peephole.word
        peep = layout._pack(layout.peephole_image(params, ctrl), pw)
        layout._write_words(mem_dir / layout.FILES["peephole"], peep, 3 * k * pw)
        files["peephole"] = layout.FILES["peephole"]
    return files


def unit_cycles(jobs: list[UnitJob], k: int, red_rows: int = 1) -> list[int]:
    """Each job's group-array clocks without stalls at k elements per beat and ``red_rows`` rows reduced per
    clock (``array_cycles``)."""
    return [cp.array_cycles(uj.program, k, red_rows) for uj in jobs]
