"""Resources of the CSB unit's group array (``rtl/ernn_csb_array.v``), from its structure.

The array's LUTs are parts whose count the RTL fixes, each priced at what Yosys 0.23 ``synth_xilinx
-family xcu`` (hierarchy kept) built for it, in LUT sites. A LUT site is a logic LUT, or one of the LUTs
that a LUT RAM cell occupies: a ``RAM32M16`` holds 8 of a SLICEM's LUTs.

* **A PE** (K L P Q of them):
  * Logic: ``PE_LOGIC_BASE + PE_LOGIC_PER_BIT * SUM_W``. This is the read-modify-write's word select over
    its 6 RED_ROWS memories, its adder, and the reduction's half selects of three banks.
  * LUT RAM: 6 RED_ROWS single-port memories of BLOCK / RED_ROWS words of 1 + SUM_W bits. A
    ``RAM32M16`` holds 32 words x 16 bits of a single-port memory; a ``RAM64M8`` holds 64 x 8.
* **The reduction trees** (``ernn_sum_tree``): one two-input adder of SUM_W LUTs per node. Per group
  there are 3 RED_ROWS trees of P Q terms. Per group row k there is one tree of L (1 + [k > 0] +
  [k < K - 1]) terms per lane.
* **The x read ports** (K L Q): one LUT RAM copy per port of the x memory, which is ceil(COLS / ELEMS)
  beats of ELEMS x DATA_W bits. Cells: ceil(depth / 32) x ceil(width / ``X_BITS_PER_CELL``).
* **The array's own logic**: ``ARRAY_LOGIC_FIXED + ARRAY_LOGIC_PER_PORT`` per x read port. This covers
  the engines, the lane selects, the y buffer and the image decode.
* **FF**: the reduction pipeline (K L 3 RED_ROWS + K RED_ROWS sums of SUM_W bits) and each PE column's
  registered x value (K L Q x DATA_W). The program fields of the MAC stage sit in the images' block-RAM
  output registers.
* **DSP**: one DSP48E2 per PE (a 16 x 16 product).
* **BRAM36**: the program images, one word per MAC step, over every job's steps:
  * enable: K L P Q bits;
  * values: K L P Q x W_W bits;
  * input indices: K L Q x X_W bits;
  * targets: K L P Q x (2 + INDEX_W) bits.
  Each is priced in its best aspect ratio (``cost_model.bram36``).

The constants were measured on the whole SR1 model at 512 PEs (sum words 37 and 42:
``build/s33b/synth_p512``, ``build/s33/synth_p512``) and on one SR1-size gate at 64 PEs
(``bench/bench_csb_array.py``). ``CALIBRATION`` lists those points with their commands.
``tests/test_csb_cost.py`` holds the model to them and to the held-out points.

Not costed: RED_ROWS > 1 beyond the memory split. The logic per PE is scaled by (1 + RED_ROWS) / 2
on its selects, which was not measured. The y buffer's register-file form (shapes the CSB unit does not
use) is not costed either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ernn.dse import cost_model

#: logic LUTs of one PE at RED_ROWS = 1: 313 at SUM_W 37 and 343 at SUM_W 42 (the whole SR1 model at
#: 512 PEs, `ernn synth`'s per-module breakdown of ernn_csb_pe)
PE_LOGIC_BASE, PE_LOGIC_PER_BIT = 91, 6
#: LUT sites of a LUT RAM cell and the bits per word it holds as a single-port memory of up to 32
#: (RAM32M16) or 64 (RAM64M8) words
LUTRAM_CELL_SITES, BITS_32, BITS_64 = 8, 16, 8
#: bits of an x-memory word per RAM32M16 of a read port's copy: 512-bit words in 41 cells (ELEMS 32,
#: the 512-PE model) and 1,024-bit words in 82 (ELEMS 64, the 64-PE gate); the RAM32M16's 14 bits of a
#: read port less what Yosys left unpacked
X_BITS_PER_CELL = 12.5
#: the array's own LUT sites besides its x copies (with the groups' busy counts and the CSB unit's own): a
#: fixed part and a part per x read port, through 7,499 at 16 ports (64 PEs) and 43,373 at 128 (512 PEs)
ARRAY_LOGIC_FIXED, ARRAY_LOGIC_PER_PORT = 2374, 320

#: the measured points: (what, command, {grid, sum_w, cols, elems, red_rows}, measured LUT sites, FF)
CALIBRATION = (
    (
        "the whole SR1 model at 512 PEs, sum word 37: ernn_csb_unit and below",
        "python build/s31/exp512.py <dir>; ernn synth --model <dir> (session 33, d1c2f47)",
        {"grid": (8, 4, 4, 4), "sum_w": 37, "cols": 1024, "elems": 32, "red_rows": 1},
        375581,
        5841,
    ),
    (
        "the same at sum word 42 (the accumulator's), adder trees",
        "the same at 5e75380",
        {"grid": (8, 4, 4, 4), "sum_w": 42, "cols": 1024, "elems": 32, "red_rows": 1},
        398451,
        6321,
    ),
    (
        "one 512 x 1,024 gate at 13x on 2 x 2 groups of 4 x 4, sum word 36",
        "bench/bench_csb_array.py --yosys --yosys-shape 1 512 1024 32 --yosys-grids 2 2 4 4 --yosys-elems 64",
        {"grid": (2, 2, 4, 4), "sum_w": 36, "cols": 1024, "elems": 64, "red_rows": 1},
        53555,
        787,
    ),
)

#: points not used to set the constants, the same way measured (session 33; ``--out
#: build/s33b/heldout128.json``, ``build/s33b/heldout16.json``): (what, command, {grid, sum_w, cols, elems,
#: steps, x_w}, LUT sites, FF or None). The two 16-element points stream half a block per beat, so their y
#: buffer is the register file (not the CSB unit's case): their FF are not the model's.
HELD_OUT = (
    (
        "one 512 x 1,024 gate at 13x on 4 x 2 groups of 4 x 4 (128 PEs), 32 elements per beat",
        "bench/bench_csb_array.py --yosys --yosys-shape 1 512 1024 32 --yosys-grids 4 2 4 4 --yosys-elems 32",
        {"grid": (4, 2, 4, 4), "sum_w": 36, "cols": 1024, "elems": 32, "steps": 401, "x_w": 10},
        90085,
        1584,
    ),
    (
        "one 128 x 128 gate at 13x on 2 x 2 groups of 2 x 2 (16 PEs), 16 elements per beat",
        "bench/bench_csb_array.py --yosys --yosys-shape 1 128 128 32 --yosys-grids 2 2 2 2 --yosys-elems 16",
        {"grid": (2, 2, 2, 2), "sum_w": 34, "cols": 128, "elems": 16, "steps": 85, "x_w": 7},
        14843,
        None,
    ),
    (
        "the same gate on 1 x 2 groups of 4 x 4 (32 PEs)",
        "the same with --yosys-grids 1 2 4 4",
        {"grid": (1, 2, 4, 4), "sum_w": 34, "cols": 128, "elems": 16, "steps": 48, "x_w": 7},
        20851,
        None,
    ),
)


@dataclass(frozen=True)
class ArrayShape:
    """What sizes the group array: the grid, the sum word, the widest job's columns, the stream width
    (the controller's k), the rows reduced per clock and the number formats."""

    k: int
    l: int  # noqa: E741 (the paper's name)
    p: int
    q: int
    sum_w: int
    cols: int
    elems: int
    block: int
    red_rows: int = 1
    data_w: int = 16
    w_w: int = 16

    @property
    def pes(self) -> int:
        return self.k * self.l * self.p * self.q

    @property
    def ports(self) -> int:
        """x read ports: one per PE column of every group."""
        return self.k * self.l * self.q


def memory_sites(words: int, bits: int) -> int:
    """LUT sites of one single-port LUT RAM of ``words`` x ``bits`` (RAM32M16 up to 32 words, RAM64M8 per
    64 beyond)."""
    if words <= 32:
        return LUTRAM_CELL_SITES * math.ceil(bits / BITS_32)
    return LUTRAM_CELL_SITES * math.ceil(words / 64) * math.ceil(bits / BITS_64)


def tree_adders(a: ArrayShape) -> int:
    """Two-input adders of the reduction: per group 3 RED_ROWS trees of P Q terms, per group row and lane
    one of L (1 + [row above] + [row below]) terms."""
    group = a.k * a.l * 3 * a.red_rows * (a.p * a.q - 1)
    rows = sum(a.red_rows * (a.l * (1 + (k > 0) + (k < a.k - 1)) - 1) for k in range(a.k))
    return group + rows


def x_copy_sites(a: ArrayShape) -> int:
    """LUT sites of one x read port's copy of the x memory (ceil(COLS / ELEMS) words of ELEMS x DATA_W)."""
    depth = -(-a.cols // a.elems)
    cells = math.ceil(depth / 32) * math.ceil(a.elems * a.data_w / X_BITS_PER_CELL)
    return LUTRAM_CELL_SITES * cells


def parts(a: ArrayShape) -> dict[str, dict[str, float]]:
    """LUT sites, FF and DSP of each part of the array (module doc)."""
    sel_scale = (1 + a.red_rows) / 2
    pe_logic = PE_LOGIC_BASE + PE_LOGIC_PER_BIT * a.sum_w * sel_scale
    pe_ram = 6 * a.red_rows * memory_sites(a.block // a.red_rows, 1 + a.sum_w)
    return {
        "pe_logic": {"lut": a.pes * pe_logic, "ff": 0.0, "dsp": float(a.pes)},
        "pe_memories": {"lut": float(a.pes * pe_ram), "ff": 0.0, "dsp": 0.0},
        "reduction_trees": {"lut": float(tree_adders(a) * a.sum_w), "ff": 0.0, "dsp": 0.0},
        "x_copies": {"lut": float(a.ports * x_copy_sites(a)), "ff": 0.0, "dsp": 0.0},
        "array_logic": {
            "lut": float(ARRAY_LOGIC_FIXED + ARRAY_LOGIC_PER_PORT * a.ports),
            "ff": float((a.k * a.l * 3 * a.red_rows + a.k * a.red_rows) * a.sum_w + a.ports * a.data_w),
            "dsp": 0.0,
        },
    }


def image_bram36(a: ArrayShape, steps: int, x_w: int, index_w: int) -> float:
    """BRAM36 of the program images: ``steps`` words (every job's MAC steps) of the four per-step images."""
    widths = (a.pes, a.pes * a.w_w, a.ports * x_w, a.pes * (2 + index_w))
    return sum(cost_model.bram36(steps, w) for w in widths)


def estimate(a: ArrayShape, steps: int, x_w: int, index_w: int) -> dict[str, float]:
    """LUT (sites: logic and LUT RAM), FF, DSP and BRAM36 of the group array."""
    p = parts(a)
    out = {res: sum(part[res] for part in p.values()) for res in ("lut", "ff", "dsp")}
    out["bram36"] = image_bram36(a, steps, x_w, index_w)
    return out
