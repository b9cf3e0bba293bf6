"""The CSB group array's program: a compiled :class:`~ernn.export.csb_schedule.Schedule` turned into what
``rtl/ernn_csb_array.v`` executes, its memory images, and a cycle-by-cycle model of the array.

What the array is (``rtl/ernn_csb_array.v``)
--------------------------------------------
K x L PE groups of P x Q PEs. Every PE multiplies one kernel value by one input neuron per cycle and adds
the product into its own partial sums, indexed by (bank, row offset), in one of two halves:

* bank 0: rows of the block row the PE's group row works on (its own kernel, and the kernels of its
  horizontal neighbours: same block row, so the same rows; the helper reads the neighbour's input neurons,
  the paper's extra input-buffer port);
* bank 1 / bank 2: rows of the block row of the group row above / below (vertical parts: the partial
  sums go back to the owner through the accumulation path at the end of the tile row).

The rounds of a tile row (a K x L tile of blocks, :func:`~ernn.export.csb_schedule.tiles`) run back to back
in lockstep: the round lasts ``Round.cycles`` steps, all groups step together. When the tile row's rounds
are done, its block rows are reduced and reordered: for row offset r = 0 .. M-1 (``red_rows`` per cycle),
output row r of group row k's block row is the sum over the groups of that row of bank 0, over the row
above of bank 2 and over the row below of bank 1, rounded once to Q(ifft_out) as ``ernn.golden.csb.finish``
does. The partial sums are double-buffered: tile row a goes into half a mod 2, so its reduction runs while
the next tile row's MACs fill the other half (:func:`timeline`); a half is empty again once reduced.
Integer sums are exact, so the order of the partial sums does not matter: the array is bit-exact with the
golden matvec.

Per step the program holds per PE an enable bit, the kernel value and the target (bank, row offset), and
per PE column one input neuron's index (into x, of the column block the part belongs to): as in the paper,
the P PEs of a PE column share one input neuron, so the array reads Q elements of x per group and clock.
Between two barriers a group's entries (its parts, in the schedule's order) are grouped by kernel column
and cut into runs of at most P (:func:`column_runs`); run i takes PE column i mod Q at step i div Q. A group
with entries in columns of c_1, c_2, ... entries is busy ceil(sum_j ceil(c_j / P) / Q) steps, and the
stretch lasts as long as its slowest group (:func:`shared_barrier_cycles`): exactly the schedule's cycles
when the compiler balanced runs (``units`` "runs", the default: it moves whole runs, so these are the runs
it counted); at least them when it balanced entries (any P Q entries in a clock), equal with P = 1. The
array follows the program, and the measured utilization (busy PE-cycles / (PEs x MAC cycles)) equals
``Program.utilization`` exactly; ``bench/bench_csb_schedule.py`` measures both balancings side by side.
A "merged" schedule (:mod:`ernn.export.csb_merge`) is cut by input neuron instead of kernel column: a run
then holds one neuron's entries of up to three vertically adjacent kernels (targets in different banks),
which the array executes as any other run. :func:`check_program` checks every program against its matrix.

Memory images (``$readmemh``, one word per line, hex; word ``step``, holding every group's fields of that
step, group g = k L + l in the least significant part, and within a group PE ``p * Q + q`` in the least
significant field first: the groups run in lockstep, so the array reads one word per image and clock, one
read port, which Yosys builds as block RAM behind a registered address):

* ``<prefix>_en.mem`` — K L x P Q enable bits;
* ``<prefix>_val.mem`` — K L x P Q kernel values, W_W bits each, two's complement;
* ``<prefix>_x.mem`` — K L x Q input indices (one per PE column), ``X_W = max(1, clog2 COLS)`` bits each
  (:func:`column_inputs`; 0 for a column without an enabled PE);
* ``<prefix>_tgt.mem`` — K L x P Q targets ``{bank (2 bits), row offset (INDEX_W bits)}``;
* ``<prefix>_lens.mem`` — one word per tile row: its MAC steps (``LEN_W = clog2(STEPS + 1)`` bits).

Clocks per vector without stalls (:func:`array_cycles`): ceil(COLS / ELEMS) input beats + the MAC and
reduction engines' overlapped :func:`timeline` (about the sum over tile rows of max(steps, M / RED_ROWS),
plus the last reduction) + one clock of the reduction pipeline (:data:`REDUCTION_PIPE`) + the output beats
it does not hide (:func:`output_clocks`: a beat goes out once
the tile rows that complete its rows are reduced, so most overlap later tile rows; the last one comes after
the last reduction), where ELEMS is the stream width (elements per
AXI-Stream beat, the array's ``ELEMS`` parameter; 1 by default) and RED_ROWS the rows reduced per clock (the
array's ``RED_ROWS``; 1 by default). See docs/csb.md for SR1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ernn.export import csb as ecsb
from ernn.export import csb_merge as cm
from ernn.export import csb_schedule as cs
from ernn.golden import csb as gcsb
from ernn.golden.formats import NumericsConfig, clog2
from ernn.golden.matvec import Accumulators
from ernn.golden.ops import IntArray, hex_words

#: accumulation banks of a PE: own block row, the row above's, the row below's
BANKS = 3
BANK_W = 2
IMAGES = ("en", "val", "x", "tgt", "lens")


def x_word(cols: int) -> int:
    """Bits of an input-neuron index (0 .. COLS-1)."""
    return max(1, clog2(cols))


def bank_of(owner: cs.Group, helper: cs.Group) -> int:
    """0 when the helper's group row is the owner's, 1 when the owner is the row above, 2 below."""
    d = owner[0] - helper[0]
    if d not in (-1, 0, 1):
        raise ValueError(f"group {helper} cannot hold partial sums of group {owner}")
    return {0: 0, -1: 1, 1: 2}[d]


@dataclass(frozen=True)
class Program:
    """What the array executes for one matrix: per group and MAC step, P Q slots (arrays (K L, STEPS, P Q))."""

    grid: cs.Grid
    gates: int
    rows: int
    cols: int
    block: int
    lens: IntArray  # (tile rows,) MAC steps of each tile row
    enable: npt.NDArray[np.bool_]
    value: IntArray
    x_index: IntArray
    bank: IntArray
    row: IntArray

    @property
    def steps(self) -> int:
        return int(self.lens.sum())

    @property
    def tile_rows(self) -> int:
        return int(self.lens.size)

    @property
    def macs(self) -> int:
        return int(self.enable.sum())

    @property
    def utilization(self) -> float:
        """Busy PE-cycles / (PEs x MAC steps)."""
        return self.macs / (self.grid.pes * self.steps) if self.steps else 0.0

    def sizes(self) -> dict[str, int]:
        """The Verilog parameters that size the array for this program (besides the number formats)."""
        g = self.grid
        return {
            "K": g.k,
            "L": g.l,
            "P": g.p,
            "Q": g.q,
            "GATES": self.gates,
            "ROWS": self.rows,
            "COLS": self.cols,
            "BLOCK": self.block,
            "INDEX_W": ecsb.index_word(self.block),
            "X_W": x_word(self.cols),
            "STEPS": self.steps,
            "TILE_ROWS": self.tile_rows,
            "LEN_W": clog2(self.steps + 1) if self.steps else 1,
            "MACS": self.macs,
        }

    def header_lines(self, prefix: str = "ERNN_CSB_ARRAY") -> list[str]:
        """``localparam`` lines of the sizes (for a generated header)."""
        return [f"localparam integer {prefix}_{k} = {v};" for k, v in self.sizes().items()]


def tile_row_blocks(gates: int, rows: int, block: int, grid: cs.Grid) -> int:
    """Tile rows of a matrix: ceil(G * block rows / K)."""
    return -(-(gates * -(-rows // block)) // grid.k)


def _stretch_entries(
    matrix: gcsb.CSBMatrix, rounds: list[cs.Round], offsets: dict, groups: list[cs.Group]
) -> dict[cs.Group, IntArray]:
    """Per group, the kernel entries it computes between two barriers, one row each: (x index, value,
    bank, row offset, kernel column: block ordinal * M + column in the kernel), in the schedule's order of
    rounds and parts."""
    out: dict[cs.Group, list[IntArray]] = {g: [] for g in groups}
    for r in rounds:
        for part in r.parts:
            bi, bj = r.blocks[part.owner]
            ro, co, vo = offsets[(bi, bj)]
            _, n = r.sizes[part.owner]
            e = part.entries
            out[part.helper].append(
                np.stack(
                    [
                        bj * matrix.block + matrix.col_index[co + e[:, 1]],
                        matrix.values[vo + e[:, 0] * n + e[:, 1]],
                        np.full(len(e), bank_of(part.owner, part.helper)),
                        matrix.row_index[ro + e[:, 0]],
                        (bi * matrix.counts.shape[2] + bj) * matrix.block + e[:, 1],
                    ],
                    axis=1,
                ).astype(np.int64)
            )
    return {g: np.concatenate(v) if v else np.zeros((0, 5), dtype=np.int64) for g, v in out.items()}


def column_runs(kernel_column: IntArray, p: int) -> list[IntArray]:
    """A group's entries between two barriers cut into runs for the shared input neuron: the entries of one
    key (a kernel column, or for a "merged" schedule an input neuron, whichever kernels its entries come
    from; in their order), P at a time; each run is the row numbers of its entries. A run takes one PE
    column for one clock, so the group needs ceil(runs / Q) clocks."""
    runs = []
    for col in np.unique(kernel_column):
        rows = np.flatnonzero(kernel_column == col)
        runs.extend(rows[i : i + p] for i in range(0, len(rows), p))
    return runs


def build(matrix: gcsb.CSBMatrix, schedule: cs.Schedule) -> Program:
    """The program of ``schedule`` (compiled for ``matrix``'s counts alone) on its grid.

    Between two barriers of the schedule (:meth:`~ernn.export.csb_schedule.Schedule.barriers`: per round
    for a "round" schedule, per tile row for a "tile_row" one; the array synchronizes only on tile rows:
    its lengths image holds one word per tile row) a group's entries are grouped by input neuron and cut
    into runs of at most P per kernel column (:func:`column_runs`); run i goes to PE column i mod Q at step i div Q, its
    entries to PE rows 0, 1, ...: the P PEs of a PE column share one input neuron in every step, as in
    the paper, so the array reads Q input neurons per group and clock. The stretch lasts as long as its
    slowest group (:func:`shared_input_cycles`: the schedule's cycles when it is balanced in runs; at least
    them when balanced in entries, equal with P = 1).
    A "merged" schedule (:mod:`ernn.export.csb_merge`) is packed by input neuron instead of kernel column:
    entries of two kernels that read the same neuron share runs (their targets differ in bank).
    ValueError when the schedule is not this matrix's (:func:`~ernn.export.csb_schedule.check_schedule`)
    or its rounds are not in tile-row order; the program is checked against the matrix before it is
    returned (:func:`check_program`)."""
    grid = schedule.grid
    merged = schedule.units == cs.MERGED
    cs.check_schedule(schedule, [matrix.counts], [cm.kept_columns(matrix)] if merged else None)
    groups = grid.groups()
    p, q, pq = grid.p, grid.q, grid.group_pes
    br, bc = matrix.counts.shape[1], matrix.counts.shape[2]
    offsets = dict(
        zip(
            [(g * br + i, j) for g in range(matrix.gates) for i in range(br) for j in range(bc)],
            matrix._offsets,
            strict=True,
        )
    )
    n_tr = tile_row_blocks(matrix.gates, matrix.rows, matrix.block, grid)
    lens = np.zeros(n_tr, dtype=np.int64)
    stretches = []  # per barrier: (its tile row, per group (entries, runs), clocks)
    last_a = -1
    for rounds, _ in schedule.barriers():
        tiles = {r.tile[0] for r in rounds}
        a = min(tiles, default=last_a)
        if len(tiles) > 1 or a < last_a or a >= n_tr:
            raise ValueError(f"rounds {[r.tile for r in rounds]}: the rounds are not in tile-row order")
        last_a = a
        entries = _stretch_entries(matrix, rounds, offsets, groups)
        key = 0 if merged else 4  # runs per input neuron, or per kernel column
        work = {g: (e, column_runs(e[:, key], p)) for g, e in entries.items()}
        clocks = max((-(-len(runs) // q) for _, runs in work.values()), default=0)
        stretches.append((work, clocks))
        lens[a] += clocks
    steps = int(lens.sum())
    shape = (len(groups), steps, pq)
    enable = np.zeros(shape, dtype=bool)
    value, x_index, bank, row = (np.zeros(shape, dtype=np.int64) for _ in range(4))
    start = 0
    for work, clocks in stretches:
        for gi, g in enumerate(groups):
            e, runs = work[g]
            for i, run in enumerate(runs):
                s, col = start + i // q, i % q
                pe = np.arange(len(run)) * q + col  # PE rows 0.. of PE column col
                enable[gi, s, pe] = True
                value[gi, s, pe] = e[run, 1]
                x_index[gi, s, col::q] = e[run[0], 0]  # the whole PE column reads it (disabled PEs too)
                bank[gi, s, pe] = e[run, 2]
                row[gi, s, pe] = e[run, 3]
        start += clocks
    prog = Program(grid, matrix.gates, matrix.rows, matrix.cols, matrix.block, lens, enable, value,
                   x_index, bank, row)  # fmt: skip
    check_program(prog, matrix, schedule.mode)
    return prog


def check_program(prog: Program, matrix: gcsb.CSBMatrix, mode: str = "both") -> None:
    """ValueError naming the first way ``prog`` is not an execution of ``matrix`` on its array, from the
    program alone (what the RTL will do with it, not how it was compiled): a program of another size; a PE
    column whose enabled PEs read two input neurons in one step; an enabled slot with a bank other than
    0..2, an input outside the vector or a row offset outside the block; a slot computing a block that is
    neither its group's nor a neighbour's (a vertical helper shares the owner's block column, a horizontal
    one its block row), or a neighbour's in a direction ``mode`` does not allow; a slot whose row offset
    and input neuron are not a kept row and column of that block, or whose value is not that kernel
    entry's; a kernel entry computed twice or never."""
    g = prog.grid
    shape = (matrix.gates, matrix.rows, matrix.cols, matrix.block)
    if (prog.gates, prog.rows, prog.cols, prog.block) != shape:
        raise ValueError(
            f"program of (gates, rows, cols, block) {(prog.gates, prog.rows, prog.cols, prog.block)}, the matrix {shape}"
        )
    want = tile_row_blocks(matrix.gates, matrix.rows, matrix.block, g)
    if prog.tile_rows != want:
        raise ValueError(f"program of {prog.tile_rows} tile rows, the matrix has {want} on this grid")
    column_inputs(prog)  # one input neuron per PE column and step
    g.links(mode)  # validates the mode
    br, bc, m_b = matrix.counts.shape[1], matrix.counts.shape[2], matrix.block
    # per block (stacked block row, block column): the kernel's rank of each kept row / column offset (-1
    # where not kept), its column count and where its values start
    row_rank = np.full((matrix.gates * br, bc, m_b), -1, dtype=np.int64)
    col_rank = np.full((matrix.gates * br, bc, m_b), -1, dtype=np.int64)
    first = np.zeros((matrix.gates * br, bc), dtype=np.int64)
    for (gi, i, j), (ro, co, vo) in zip(np.ndindex(matrix.gates, br, bc), matrix._offsets, strict=True):
        m, n = (int(v) for v in matrix.counts[gi, i, j])
        row_rank[gi * br + i, j, matrix.row_index[ro : ro + m]] = np.arange(m)
        col_rank[gi * br + i, j, matrix.col_index[co : co + n]] = np.arange(n)
        first[gi * br + i, j] = vo
    ncols = matrix.counts[..., 1].reshape(-1, bc)
    groups = g.groups()
    tile = np.repeat(np.arange(prog.tile_rows), prog.lens)  # tile row of each step
    gi, s, n = np.nonzero(prog.enable)
    k = np.array([groups[v][0] for v in gi.tolist()], dtype=np.int64)
    lcol = np.array([groups[v][1] for v in gi.tolist()], dtype=np.int64)
    bank, row, x = prog.bank[gi, s, n], prog.row[gi, s, n], prog.x_index[gi, s, n]
    off = np.select([bank == 1, bank == 2], [-1, 1], 0)  # the owner's group row, relative
    i = tile[s] * g.k + k + off  # stacked block row
    j, c = x // m_b, x % m_b
    own = j % g.l  # the group column that owns block column j

    def where(t: int) -> str:
        step = int(s[t] - prog.lens[: tile[s[t]]].sum())
        return f"group {groups[gi[t]]}, tile row {int(tile[s[t]])}, step {step}, PE {int(n[t])}"

    def block(t: int) -> str:
        return f"CSB block (gate {int(i[t]) // br}, block row {int(i[t]) % br}, block column {int(j[t])})"

    bad = (bank > 2) | (x < 0) | (x >= matrix.cols) | (row < 0) | (row >= m_b) | (i >= matrix.gates * br)
    for t in np.flatnonzero(bad)[:1].tolist():
        raise ValueError(
            f"{where(t)}: bank {int(bank[t])}, row offset {int(row[t])}, input {int(x[t])} (stacked block row "
            f"{int(i[t])} of {matrix.gates * br}, {matrix.cols} inputs) out of range"
        )
    far = (k + off < 0) | (k + off >= g.k) | ((off != 0) & (own != lcol))
    far |= np.abs(own - lcol) > 1
    for t in np.flatnonzero(far)[:1].tolist():
        raise ValueError(
            f"{where(t)}: bank {int(bank[t])} and input {int(x[t])} name a block of group "
            f"({int(k[t] + off[t])}, {int(own[t])}), which is not this group or a neighbour"
        )
    rr, cr = row_rank[i, j, row], col_rank[i, j, c]
    for t in np.flatnonzero((rr < 0) | (cr < 0))[:1].tolist():
        raise ValueError(
            f"{where(t)}: row offset {int(row[t])} and column offset {int(c[t])} are not a kept row and "
            f"column of {block(t)}"
        )
    # a neighbour by now (above): its link is allowed when the mode shares in its direction
    for kind, sel in (("vertical", off != 0), ("horizontal", (off == 0) & (own != lcol))):
        for t in np.flatnonzero(sel)[:1].tolist():
            if mode not in (kind, "both"):
                raise ValueError(
                    f"{where(t)}: a {kind} part of {block(t)}, which mode {mode!r} does not allow"
                )
    entry = first[i, j] + rr * ncols[i, j] + cr
    for t in np.flatnonzero(prog.value[gi, s, n] != matrix.values[entry])[:1].tolist():
        raise ValueError(
            f"{where(t)}: value {int(prog.value[gi[t], s[t], n[t]])} for kernel entry (row {int(rr[t])}, "
            f"column {int(cr[t])}) of {block(t)}, which holds {int(matrix.values[entry[t]])}"
        )
    hits = np.bincount(entry, minlength=matrix.values.size)
    for e in np.flatnonzero(hits != 1)[:1].tolist():
        # the block holding value e: the last one starting at or before it (empty blocks start where the
        # next one does)
        blk = int(np.searchsorted(first.reshape(-1), e, side="right")) - 1
        ib, jb = divmod(blk, bc)
        local = e - int(first[ib, jb])
        raise ValueError(
            f"kernel entry (row {local // int(ncols[ib, jb])}, column {local % int(ncols[ib, jb])}) of CSB "
            f"block (gate {ib // br}, block row {ib % br}, block column {jb}) computed {int(hits[e])} times"
        )


def mixed_runs(prog: Program) -> int:
    """Runs (a PE column's step) whose enabled PEs target two or more banks: entries of several kernels of
    one input neuron (a merged schedule's, :mod:`ernn.export.csb_merge`)."""
    g = prog.grid
    bank = np.where(prog.enable, prog.bank, -1).reshape(-1, prog.steps, g.p, g.q)
    hi, lo = bank.max(axis=2), np.where(bank < 0, BANKS, bank).min(axis=2)
    return int(((hi >= 0) & (hi != lo)).sum())


def shared_input_cycles(schedule: cs.Schedule) -> int:
    """MAC clocks of :func:`build`'s program of ``schedule`` (the sum of :func:`shared_barrier_cycles`)."""
    return sum(shared_barrier_cycles(schedule))


def shared_barrier_cycles(schedule: cs.Schedule) -> list[int]:
    """MAC clocks of :func:`build`'s program between each two barriers of ``schedule``, counted from the
    schedule alone: per barrier and group, its entries by kernel column (of its block) in runs of P (ceil(entries / P) runs per kernel
    column: :meth:`~ernn.export.csb_schedule.Schedule.run_loads`), Q runs per clock; the stretch lasts as
    long as its slowest group. Equal to the schedule's own cycles when it is balanced in runs; a schedule
    balanced in entries assumes any P Q entries fit a clock (each PE its own input neuron)."""
    q = schedule.grid.q
    return [max((-(-v // q) for v in runs.values()), default=0) for runs in schedule.run_loads()]


# ------------------------------------------------------------------------------------------------------
# memory images
def _packed(fields: IntArray, width: int) -> list[int]:
    """(words, P Q) non-negative fields -> one integer per word, field 0 in the low bits."""
    shifts = [int(i) * width for i in range(fields.shape[-1])]
    return [sum(int(v) << s for v, s in zip(w, shifts, strict=True)) for w in fields.tolist()]


def _hex(words: list[int], width: int) -> list[str]:
    digits = max(1, -(-width // 4))
    return [f"{w:0{digits}x}" for w in words]


def column_inputs(prog: Program) -> IntArray:
    """(groups * steps, Q): the input index each PE column reads in each step, group-major (0 where the
    column has no enabled PE). ValueError naming the group, step and PE column when its enabled PEs do
    not share one input index (the array broadcasts one input neuron down each PE column)."""
    g, p, q = prog.grid.k * prog.grid.l, prog.grid.p, prog.grid.q
    x = prog.x_index.reshape(g, prog.steps, p, q)
    en = prog.enable.reshape(g, prog.steps, p, q)
    hi = np.where(en, x, -1).max(axis=2)
    lo = np.where(en, x, np.iinfo(np.int64).max).min(axis=2)
    bad = np.argwhere((hi >= 0) & (hi != lo))
    if bad.size:
        gi, s, c = (int(v) for v in bad[0])
        raise ValueError(
            f"group {prog.grid.groups()[gi]}, step {s}, PE column {c}: the enabled PEs read input indices "
            f"{sorted(set(x[gi, s, :, c][en[gi, s, :, c]].tolist()))}; a PE column shares one input neuron"
        )
    return np.maximum(hi, 0).reshape(-1, q)


def _image_words(prog: Program, weight_word: int, xw: int, lw: int) -> dict[str, tuple[list[int], int]]:
    """Each image's words and word width for ``prog``, indices in ``xw`` bits and lengths in ``lw``: one
    word per step, every group's fields in it (group 0 lowest)."""
    pq, ng = prog.grid.group_pes, len(prog.grid.groups())
    iw = ecsb.index_word(prog.block)

    def step_major(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """(groups * steps, F) group-major -> (steps, groups * F), group 0's F fields first."""
        f = a.shape[-1]
        return a.reshape(ng, prog.steps, f).transpose(1, 0, 2).reshape(prog.steps, ng * f)

    mask = (1 << weight_word) - 1
    vals = [int(w, 16) for w in hex_words(prog.value, weight_word)]  # range-checked two's complement
    vals_arr = np.array(vals, dtype=object).reshape(-1, pq) if vals else np.zeros((0, pq), dtype=object)
    return {
        "en": (_packed(step_major(prog.enable.astype(np.int64).reshape(-1, pq)), 1), ng * pq),
        "val": (_packed(step_major(vals_arr & mask), weight_word), ng * pq * weight_word),
        "x": (_packed(step_major(column_inputs(prog)), xw), ng * prog.grid.q * xw),
        "tgt": (
            _packed(step_major(((prog.bank << iw) | prog.row).reshape(-1, pq)), BANK_W + iw),
            ng * pq * (BANK_W + iw),
        ),
        "lens": ([int(v) for v in prog.lens], lw),
    }


def _write_images(words: dict[str, tuple[list[int], int]], folder: Path, prefix: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in IMAGES:
        w, width = words[name]
        paths[name] = folder / f"{prefix}_{name}.mem"
        text = _hex(w, width)
        paths[name].write_text("\n".join(text) + ("\n" if text else ""))
    return paths


def write(prog: Program, folder: Path, prefix: str, weight_word: int) -> dict[str, Path]:
    """The five images of ``prog`` in ``folder`` (see the module docstring); returns them by name."""
    s = prog.sizes()
    return _write_images(_image_words(prog, weight_word, s["X_W"], s["LEN_W"]), folder, prefix)


def joint_widths(progs: list[Program]) -> tuple[int, int]:
    """(X_W, LEN_W) of an array that runs all of ``progs``: the widest program's."""
    if not progs:
        raise ValueError("no programs to join")
    return max(p.sizes()["X_W"] for p in progs), max(p.sizes()["LEN_W"] for p in progs)


def write_joint(progs: list[Program], folder: Path, prefix: str, weight_word: int) -> dict[str, Path]:
    """The five images of an array that runs several programs (``ernn_csb_array`` with ``JOBS`` =
    len(progs)): program j's words after those of programs 0 .. j-1, every index in the widest program's
    X_W bits and every length in its LEN_W (:func:`joint_widths`); the programs must share the grid, the
    gates and the block size (the array's). Returns the images by name."""
    if not progs:
        raise ValueError("no programs to join")
    first = progs[0]
    for j, p in enumerate(progs):
        if (p.grid, p.gates, p.block) != (first.grid, first.gates, first.block):
            raise ValueError(
                f"program {j}: grid {p.grid}, {p.gates} gates, block {p.block}; program 0 has "
                f"{first.grid}, {first.gates}, {first.block} (one array runs them all)"
            )
    xw, lw = joint_widths(progs)
    joint: dict[str, tuple[list[int], int]] = {}
    for p in progs:
        for name, (w, width) in _image_words(p, weight_word, xw, lw).items():
            have, _ = joint.get(name, ([], width))
            joint[name] = (have + w, width)
    return _write_images(joint, folder, prefix)


def joint_table(progs: list[Program]) -> list[tuple[int, int, int, int, int]]:
    """Per program the array's JOB_TABLE row {ROWS, COLS, STEPS, TILE_ROWS, MACS}."""
    return [(p.rows, p.cols, p.steps, p.tile_rows, p.macs) for p in progs]


def read(
    folder: Path, prefix: str, grid: cs.Grid, shape: tuple[int, int, int, int], weight_word: int
) -> Program:
    """A program back from its images; ``shape`` = (gates, rows, cols, block)."""
    gates, rows, cols, block = shape
    pq = grid.group_pes
    iw, xw = ecsb.index_word(block), x_word(cols)
    words = {n: [int(w, 16) for w in (folder / f"{prefix}_{n}.mem").read_text().split()] for n in IMAGES}
    lens = np.array(words["lens"], dtype=np.int64)
    steps, ng = int(lens.sum()), len(grid.groups())
    for name in IMAGES[:-1]:
        if len(words[name]) != steps:
            raise ValueError(f"{prefix}_{name}.mem: {len(words[name])} words, the lengths give {steps}")

    def fields(name: str, width: int, per_group: int = pq) -> IntArray:
        """(groups, steps, per_group) fields of a step-major image."""
        n = ng * per_group
        out = np.array(
            [[(v >> (i * width)) & ((1 << width) - 1) for i in range(n)] for v in words[name]], dtype=np.int64
        )
        return out.reshape(steps, ng, per_group).transpose(1, 0, 2)

    raw = fields("val", weight_word)
    value = np.where(raw >= 1 << (weight_word - 1), raw - (1 << weight_word), raw)
    tgt = fields("tgt", BANK_W + iw)
    xcol = fields("x", xw, grid.q)  # one index per PE column, broadcast to its P PEs (PE n = p Q + q)
    return Program(grid, gates, rows, cols, block, lens, fields("en", 1).astype(bool), value,
                   np.tile(xcol, grid.p), tgt >> iw, tgt & ((1 << iw) - 1))  # fmt: skip


# ------------------------------------------------------------------------------------------------------
# the array, cycle by cycle
@dataclass(frozen=True)
class ArrayRun:
    """What one run of the array model gives: the exact accumulators (V, G, ROWS), y in Q(ifft_out), and
    the counts the RTL's counters give for one vector."""

    acc: IntArray
    y: IntArray
    mac_cycles: int  # clocks in the MAC phase
    busy: int  # PE-cycles with a useful MAC
    cycles: int  # clocks per vector without stalls (array_cycles at the run's stream width)
    pes: int

    @property
    def utilization(self) -> float:
        return self.busy / (self.pes * self.mac_cycles) if self.mac_cycles else 0.0


@dataclass(frozen=True)
class Timeline:
    """When each tile row's MACs and reduction run in one vector, in clocks from the first clock after the
    last input beat (arrays (tile rows,); an end is the first clock after)."""

    mac_start: IntArray
    mac_end: IntArray
    red_start: IntArray
    red_end: IntArray

    @property
    def clocks(self) -> int:
        """Clocks from the first MAC clock to the first output beat."""
        return int(self.red_end[-1]) if self.red_end.size else 0


def reduction_clocks(block: int, red_rows: int = 1) -> int:
    """Clocks to reduce one tile row at ``red_rows`` output rows per clock (a divisor of the block size)."""
    if red_rows < 1 or block % red_rows:
        raise ValueError(f"the reduction's rows per clock ({red_rows}) must divide the block size {block}")
    return block // red_rows


#: clocks from a reduction clock's PE reads to its rows in the y buffer beyond the reduction clock itself:
#: ``rtl/ernn_csb_array.v`` registers the groups' sums (red_bus_reg), adds the group rows in the next clock
#: (red_sum_reg) and rounds and writes y in the one after: three stages of about equal logic depth
#: (docs/csb.md, "Clock evidence")
REDUCTION_PIPE = 2
#: clocks from a MAC step's program read to its write into the PEs' partial sums beyond the read clock: the
#: array registers the step's program fields and x values and MACs them in the next clock, so a tile row's
#: half is full (and its reduction may start) one clock after its last MAC step's read
MAC_PIPE = 1


def timeline(prog: Program, red_rows: int = 1) -> Timeline:
    """The array's two engines, clock for clock (``rtl/ernn_csb_array.v``): the MAC engine runs tile row a
    into half a mod 2 of the PEs' partial sums for max(1, lens[a]) clocks, starting when it has finished
    tile row a-1 and the reduction of tile row a-2 has emptied that half; the reduction engine reduces tile
    row a in M / red_rows clocks, starting when its MACs are done (:data:`MAC_PIPE` clocks after the last
    MAC step's read) and the reduction of a-1 is."""
    red = reduction_clocks(prog.block, red_rows)
    n = prog.tile_rows
    ms, me, rs, re = (np.zeros(n, dtype=np.int64) for _ in range(4))
    for a, length in enumerate(prog.lens.tolist()):
        ms[a] = max(me[a - 1] if a else 0, re[a - 2] if a >= 2 else 0)
        me[a] = ms[a] + max(1, length)
        rs[a] = max(me[a] + MAC_PIPE, re[a - 1] if a else 0)
        re[a] = rs[a] + red
    return Timeline(ms, me, rs, re)


def rows_after(prog: Program, tile_row: int) -> int:
    """Output rows final once tile rows 0 .. ``tile_row`` are reduced: the rows of the stacked block rows
    below (tile_row + 1) K, a prefix of y (gate-major, each gate's block rows in order, the last one of a
    gate possibly ragged)."""
    br = -(-prog.rows // prog.block)
    end = min((tile_row + 1) * prog.grid.k, prog.gates * br)
    return (end // br) * prog.rows + min((end % br) * prog.block, prog.rows)


def output_clocks(prog: Program, elems: int = 1, red_rows: int = 1) -> IntArray:
    """The clock each output beat goes out without stalls, counted as :class:`Timeline` counts: beat o as
    soon as its rows are final (the end of the reduction of the tile row that completes them, plus
    :data:`REDUCTION_PIPE`) and one beat per clock, so the beats overlap the later tile rows' MACs and reductions; the last one waits for the
    last reduction."""
    if elems < 1:
        raise ValueError(f"the stream width must be >= 1 element per beat, got {elems}")
    tl = timeline(prog, red_rows)
    outs = prog.gates * prog.rows
    done = np.array([rows_after(prog, a) for a in range(prog.tile_rows)], dtype=np.int64)
    if not done.size or done[-1] != outs:
        raise ValueError(
            f"the program's {prog.tile_rows} tile rows of {prog.grid.k} block rows do not cover its "
            f"{outs} output rows in {prog.block}-blocks"
        )
    sent = np.zeros(-(-outs // elems), dtype=np.int64)
    clock = 0
    for o in range(sent.size):
        need = min((o + 1) * elems, outs)
        # the first tile row whose end covers it, its last sums through the reduction pipeline
        ready = tl.red_end[int(np.searchsorted(done, need))] + REDUCTION_PIPE
        clock = max(clock + (o > 0), int(ready))
        sent[o] = clock
    return sent


def array_cycles(prog: Program, elems: int = 1, red_rows: int = 1) -> int:
    """Clocks per vector without stalls at ``elems`` elements per stream beat and ``red_rows`` reduced rows
    per clock: ceil(COLS / elems) input beats, then the two engines' :func:`timeline` with the output beats
    overlapping it (:func:`output_clocks`), up to the clock after the last beat."""
    beats_in = -(-prog.cols // max(1, elems))
    return beats_in + int(output_clocks(prog, elems, red_rows)[-1]) + 1


def run(prog: Program, x: npt.ArrayLike, cfg: NumericsConfig, elems: int = 1, red_rows: int = 1) -> ArrayRun:
    """Execute ``prog`` on x (V, COLS) step by step as the RTL does (per PE accumulation buffers, the
    reduction per tile row, one rounding); y (V, G ROWS). ``elems`` (the stream width) and ``red_rows``
    (rows reduced per clock) only change the clocks per vector."""
    cycles = array_cycles(prog, elems, red_rows)
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != prog.cols:
        raise ValueError(f"array input must be (vectors, {prog.cols}), got {x.shape}")
    g = prog.grid
    v = x.shape[0]
    block_rows = -(-prog.rows // prog.block)
    acc_out = np.zeros((v, prog.gates * block_rows * prog.block), dtype=np.int64)
    gi, pe = np.meshgrid(np.arange(g.k * g.l), np.arange(g.group_pes), indexing="ij")
    step = 0
    busy = 0
    for a, length in enumerate(prog.lens.tolist()):
        buf = np.zeros((v, g.k * g.l, g.group_pes, BANKS, prog.block), dtype=np.int64)  # an empty half
        for _ in range(length):
            en = prog.enable[:, step]
            prod = np.where(en, prog.value[:, step] * x[:, prog.x_index[:, step]], 0)
            buf[:, gi, pe, prog.bank[:, step], prog.row[:, step]] += prod
            busy += int(en.sum())
            step += 1
        part = buf.sum(axis=2).reshape(v, g.k, g.l, BANKS, prog.block).sum(axis=2)  # (V, K, banks, M)
        for k in range(g.k):
            i = a * g.k + k
            if i >= prog.gates * block_rows:
                continue
            total = part[:, k, 0].copy()
            if k > 0:
                total += part[:, k - 1, 2]
            if k < g.k - 1:
                total += part[:, k + 1, 1]
            acc_out[:, i * prog.block : (i + 1) * prog.block] = total
    acc = acc_out.reshape(v, prog.gates, block_rows * prog.block)[..., : prog.rows]
    y = gcsb.finish(Accumulators(acc[..., None], np.zeros_like(acc)[..., None]), prog.rows, cfg)
    return ArrayRun(acc, y.reshape(v, -1), step, busy, cycles, g.pes)
