"""Compiler of the TT-MLP training step into the program of rtl/ernn_tt_engine.v, and a Python model of
that program (to check the compiler against golden.tt_train.mlp_step without a simulator).

The engine is a microcoded datapath: one multiplier-accumulator and one stochastic-rounding update unit
fed from one data memory, sequenced by a program ROM. This module turns one golden TT-MLP configuration
(shape, batch, formats) into that ROM: the forward contraction core by core (ernn.train.tt's order,
right to left), the bias add, the output error, the backward contraction (core gradients exact, the
activation gradient rounded to ``grad``), the bias gradient and the update in UPDATE_ORDER with the LFSR
draw order of golden/tt_formats.py. Every address, shift and saturation width is fixed at compile time,
so the hardware only counts a program counter.

Instruction word (LSB first): op (3) | first (1) | last (1) | shift (5) | satw (6) | a (AW) | b (AW) |
dst (AW). Ops:

* NOP -- nothing (the compiler's hazard padding: a word written is readable 4 slots later).
* MAC -- acc = (first ? 0 : acc) + mem[a] * mem[b] (operands: the low MUL_W bits, signed); on ``last``,
  mem[dst] = sat_satw(round_half_up(acc >> shift)) (satw 0: the exact sum, no rounding or saturation).
* UPD -- one LFSR draw r of ``shift`` bits (the next lane); mem[dst] = sat_satw(mem[b] - ((mem[a] + r)
  >> shift)) (floor): the golden update w <- sat(w - SR(g, s)) with mem[a] the gradient, mem[b] = w.
* LDI -- mem[dst] = a (sign-extended): constants and the zero of an empty sum.
* END -- the program (a step, or the inference entry) is done.
* MAX -- mem[dst] = max(mem[a], mem[b]) (the largest slice energy of a boundary).
* GE -- mem[dst] = 1 if mem[a] * 2**shift >= mem[b] else 0 (a slice survives the pruning test).

Rank pruning (``prune_shift`` > 0) runs on the same units: the masks re-applied after the update are
MACs w * mask; a slice's energy is a MAC chain of w * w; the largest a MAX chain; keep_j = mask_j *
GE(S_j, largest) and, for slice 0, MAX(that, GE(0, largest)): the golden step keeps the argmax slice,
which only matters when every energy is 0 (otherwise the largest slice is unpruned and passes the test),
and then the argmax is slice 0.

Memory map (words of DW bits; ``Program.regions`` has every address): constants, the cores w0..w{d-1},
the bias b, the batch input x (B, cols), the targets t (B, rows, one-hot in ``inter``), the outputs y
(B, rows), the rank masks m1..m{d-1} (0/1 per slice: trained state, loaded as ones), then scratch: the
saved inputs of cores 0..d-2, the backward partial results, the core and bias gradients, the pruning's
slice energies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ernn.golden.formats import QFormat
from ernn.golden.ops import round_shift, saturate
from ernn.golden.tt_formats import LaneLFSR, TTTrainFormats
from ernn.golden.tt_train import TTShape, TTState

NOP, MAC, UPD, LDI, END, MAX, GE = 0, 1, 2, 3, 4, 5, 6
#: clocks from an instruction's memory read to its write becoming readable (the engine's pipeline)
WRITE_LATENCY = 4
#: clocks a run takes beyond its instructions (measured on the RTL; the testbench checks it)
PIPELINE_CYCLES = 6
SHIFT_BITS, SATW_BITS = 5, 6


@dataclass
class Program:
    """A compiled TT-MLP step: instruction tuples, the memory map, the entry of the inference program."""

    shape: TTShape
    batch: int
    fmts: TTTrainFormats
    aw: int = 0
    words: int = 0  # data memory words used
    regions: dict[str, np.ndarray] = field(default_factory=dict)  # tensor name -> address array
    code: list[tuple[int, int, int, int, int, int, int, int]] = field(default_factory=list)
    infer_pc: int = 0
    macs: int = 0  # MAC instructions of the step (the multiplies)
    updates: int = 0

    def encode(self) -> list[int]:
        """The ROM words of the program (:mod:`module docstring <tt_program>` layout)."""
        out = []
        aw = self.aw
        for op, first, last, shift, satw, a, b, d in self.code:
            word = op | first << 3 | last << 4 | shift << 5 | satw << 10
            word |= (a & ((1 << aw) - 1)) << 16 | b << (16 + aw) | d << (16 + 2 * aw)
            out.append(word)
        return out

    @property
    def width(self) -> int:
        return 16 + 3 * self.aw


class _Builder:
    def __init__(self) -> None:
        self.code: list[tuple[int, ...]] = []
        self.written: dict[int, int] = {}  # address -> slot of its last write
        self.next_addr = 0

    def alloc(self, shape: tuple[int, ...]) -> np.ndarray:
        n = math.prod(shape)
        out = np.arange(self.next_addr, self.next_addr + n, dtype=np.int64).reshape(shape)
        self.next_addr += n
        return out

    def emit(self, op: int, first=0, last=0, shift=0, satw=0, a=0, b=0, d=0, reads=()) -> None:
        # pad with NOPs until every operand's last write is visible (compile-time hazard avoidance)
        need = max((self.written.get(r, -WRITE_LATENCY) + WRITE_LATENCY for r in reads), default=0)
        while len(self.code) < need:
            self.code.append((NOP, 0, 0, 0, 0, 0, 0, 0))
        self.code.append((op, first, last, shift, satw, a, b, d))
        if op in (MAC, UPD, LDI, MAX, GE) and (op != MAC or last):
            self.written[d] = len(self.code) - 1

    def chain(self, terms: list[tuple[int, int]], dst: int, shift: int, satw: int) -> None:
        """dst = post(sum mem[a] mem[b]); an empty sum writes 0."""
        if not terms:
            self.emit(LDI, a=0, d=dst)
            return
        for n, (a, b) in enumerate(terms):
            self.emit(MAC, n == 0, n == len(terms) - 1, shift, satw, a, b, dst, reads=(a, b))


def _contract(
    bld: _Builder, left: np.ndarray, right: np.ndarray, out: np.ndarray, spec: str, shift: int, satw: int
) -> None:
    """For every output address (``out`` >= 0) the chain over the summed indices of an einsum ``spec``
    between two address arrays (-1: a known zero, skipped)."""
    ins, res = spec.split("->")
    la, ra = ins.split(",")
    summed = sorted(set(la + ra) - set(res))
    sizes = dict(zip(la, left.shape, strict=True)) | dict(zip(ra, right.shape, strict=True))
    for oidx in np.ndindex(*out.shape):
        dst = int(out[oidx])
        if dst < 0:
            continue
        env = dict(zip(res, oidx, strict=True))
        terms = []
        for sidx in np.ndindex(*(sizes[c] for c in summed)):
            env.update(zip(summed, sidx, strict=True))
            a = int(left[tuple(env[c] for c in la)])
            b = int(right[tuple(env[c] for c in ra)])
            if a >= 0 and b >= 0:
                terms.append((a, b))
        bld.chain(terms, dst, shift, satw)


def compile_mlp(shape: TTShape, batch: int, fmts: TTTrainFormats, mul_w: int = 24, dw: int = 48) -> Program:
    """The TT-MLP training step (golden.tt_train.mlp_step; rank pruning, not the rank prior) and inference,
    for an engine with ``mul_w``-bit multiplier operands and ``dw``-bit memory words."""
    if fmts.prior_samples:
        raise ValueError("ernn_tt_engine programs: the rank prior (prior_samples > 0) is not compiled yet")
    if shape.gates != 1:
        raise ValueError(f"a TT-MLP has one gate, got {shape.gates}")
    for name in ("core", "x", "act", "inter", "grad"):
        if getattr(fmts, name).word > mul_w:
            raise ValueError(f"format {name} is wider than the multiplier operands ({mul_w} bits)")
    g, d, b = 1, shape.cores, batch
    for k in range(d):  # an exact core gradient sums batch x (col modes left of k) x (row modes right of k)
        terms = b * math.prod(shape.col_modes[:k]) * math.prod(shape.row_modes[k + 1 :])
        word = fmts.gradient_word(terms, fmts.x.word if k == d - 1 else fmts.inter.word)
        if word > dw:
            raise ValueError(f"the exact gradient of core {k} needs {word} bits, the memory words have {dw}")
    bld = _Builder()
    one, k_err, nk_err, zero = (int(a) for a in bld.alloc((4,)))
    cores = [bld.alloc(shape.core_shape(k)) for k in range(d)]
    bias = bld.alloc((shape.rows,))
    xs = bld.alloc((b, shape.cols))
    tgt = bld.alloc((b, shape.rows))
    y = bld.alloc((b, shape.rows))
    masks = {k: bld.alloc((g, shape.ranks[k])) for k in range(1, d)}  # 0/1 per rank slice, trained state
    regions = {f"w{k}": cores[k] for k in range(d)} | {"b": bias, "x": xs, "t": tgt, "y": y}
    regions |= {f"m{k}": masks[k] for k in masks}
    fi, fg, fc = fmts.inter.frac, fmts.grad.frac, fmts.core.frac
    shifts = [fc + (fmts.x.frac if k == d - 1 else fi) - fi for k in range(d)]

    def forward() -> list[np.ndarray]:
        n_total = math.prod(shape.col_modes)
        t = np.full((b, n_total), -1, dtype=np.int64)
        t[:, : shape.cols] = xs
        p = n_total // shape.col_modes[-1]
        t = t.reshape(b, g, p, shape.col_modes[-1], 1, 1)
        saved: list[np.ndarray] = [t] * d
        for k in range(d - 1, -1, -1):
            saved[k] = t
            oshape = (b, g, p, shape.ranks[k], shape.row_modes[k], t.shape[5])
            if k:
                out = bld.alloc(oshape)
            else:  # core 0: only the first `rows` outputs are kept; they are y before the bias
                out = np.full(oshape, -1, dtype=np.int64)
                flat = out.reshape(b, -1)
                flat[:, : shape.rows] = bld.alloc((b, shape.rows))
                y0 = flat[:, : shape.rows]
            _contract(bld, cores[k], t, out, "gaijs,bgpjsq->bgpaiq", shifts[k], fmts.inter.word)
            if k:
                p //= shape.col_modes[k - 1]
                t = out.reshape(b, g, p, shape.col_modes[k - 1], out.shape[3], -1)
        for bi in range(b):  # y = sat(y0 + bias)
            for o in range(shape.rows):
                terms = [(int(y0[bi, o]), one), (int(bias[o]), one)]
                bld.chain(terms, int(y[bi, o]), 0, fmts.inter.word)
        return saved

    def constants() -> None:
        bld.emit(LDI, a=1, d=one)
        bld.emit(LDI, a=1 << (fg - fi), d=k_err)
        bld.emit(LDI, a=-(1 << (fg - fi)), d=nk_err)
        bld.emit(LDI, a=0, d=zero)

    # ---- the training step
    constants()
    saved = forward()
    m_total = math.prod(shape.row_modes)
    gy = np.full((b, m_total), -1, dtype=np.int64)
    gy[:, : shape.rows] = bld.alloc((b, shape.rows))
    regions["gy"] = gy[:, : shape.rows]
    for bi in range(b):  # g_y = sat((y - t) << (fg - fi), grad)
        for o in range(shape.rows):
            terms = [(int(y[bi, o]), k_err), (int(tgt[bi, o]), nk_err)]
            bld.chain(terms, int(gy[bi, o]), 0, fmts.grad.word)
    g_out = gy.reshape(b, g, 1, 1, shape.row_modes[0], -1)
    grads = []
    for k in range(d):
        dk = bld.alloc(shape.core_shape(k))
        grads.append(dk)
        _contract(bld, g_out, saved[k], dk, "bgpaiq,bgpjsq->gaijs", 0, 0)
        if k == d - 1:
            break
        gt = bld.alloc(saved[k].shape)
        _contract(bld, cores[k], g_out, gt, "gaijs,bgpaiq->bgpjsq", fc, fmts.grad.word)
        nxt = saved[k + 1]
        g_out = gt.reshape(b, g, nxt.shape[2], shape.ranks[k + 1], shape.row_modes[k + 1], -1)
    gb = bld.alloc((shape.rows,))
    for o in range(shape.rows):
        bld.chain([(int(gy[bi, o]), one) for bi in range(b)], int(gb[o]), 0, 0)
    regions |= {f"g_w{k}": grads[k] for k in range(d)} | {"g_b": gb}
    # ---- the update, UPDATE_ORDER (w0..w{d-1} as x_core, then b as bx), entries in C order
    updates = 0
    order = [
        (f"w{k}", cores[k], grads[k], fg + (fmts.x.frac if k == d - 1 else fi), fmts.core) for k in range(d)
    ]
    order.append(("b", bias, gb, fg, fmts.inter))
    # golden update(): UPDATE_ORDER group (w* as x_core, b as bx), then the name as a string (w10 < w2)
    order.sort(key=lambda e: (e[0] == "b", e[0]))
    for name, w, gr, frac, fmt in order:
        s = frac + fmts.lr_shift - fmt.frac
        if not 0 <= s < 1 << SHIFT_BITS:
            raise ValueError(f"update of {name}: shift {s} outside [0, {(1 << SHIFT_BITS) - 1}]")
        for wa, ga in zip(w.reshape(-1), gr.reshape(-1), strict=True):
            bld.emit(UPD, shift=s, satw=fmt.word, a=int(ga), b=int(wa), d=int(wa), reads=(int(ga), int(wa)))
            updates += 1
    if fmts.prune_shift:
        _apply_masks(bld, cores, masks)
        _prune(bld, cores, masks, fmts.prune_shift, zero)
        _apply_masks(bld, cores, masks)
    bld.emit(END)
    infer_pc = len(bld.code)
    # ---- inference: the forward pass and the bias (y), nothing trained
    bld.written.clear()  # the END drains the pipeline: no hazards across programs
    constants()
    forward()
    bld.emit(END)
    macs = sum(1 for op, *_ in bld.code[:infer_pc] if op == MAC)  # the pruning's MACs included
    prog = Program(shape, batch, fmts, regions=regions, infer_pc=infer_pc, macs=macs, updates=updates)
    prog.words = bld.next_addr
    prog.aw = max(8, math.ceil(math.log2(max(prog.words, 2))), (1 << (fg - fi)).bit_length() + 1)
    prog.code = bld.code
    if prog.aw > 16:
        raise ValueError(f"{prog.words} data words need more than 16 address bits")
    return prog


def _apply_masks(bld: _Builder, cores: list[np.ndarray], masks: dict[int, np.ndarray]) -> None:
    """golden _apply_masks: core k-1's last axis and core k's rank axis times boundary k's mask."""
    for k, mask in masks.items():
        for idx in np.ndindex(*cores[k - 1].shape):
            w, m = int(cores[k - 1][idx]), int(mask[idx[0], idx[-1]])
            bld.chain([(w, m)], w, 0, 0)
        for idx in np.ndindex(*cores[k].shape):
            w, m = int(cores[k][idx]), int(mask[idx[0], idx[1]])
            bld.chain([(w, m)], w, 0, 0)


def _prune(
    bld: _Builder, cores: list[np.ndarray], masks: dict[int, np.ndarray], shift: int, zero: int
) -> None:
    """golden prune: per boundary the slice energies S_j (exact), the largest, the new masks."""
    for k, mask in masks.items():
        g, r = mask.shape
        energy = bld.alloc((g, r))
        largest = int(bld.alloc((1,))[0])
        test = bld.alloc((g, r))
        for gi in range(g):
            for j in range(r):
                left = cores[k - 1][gi, ..., j].reshape(-1)
                right = cores[k][gi, j].reshape(-1)
                bld.chain([(int(w), int(w)) for w in (*left, *right)], int(energy[gi, j]), 0, 0)
            first = int(energy[gi, 0])
            bld.emit(MAX, a=first, b=first, d=largest, reads=(first,))
            for j in range(1, r):
                e = int(energy[gi, j])
                bld.emit(MAX, a=e, b=largest, d=largest, reads=(e, largest))
            for j in range(r):
                e = int(energy[gi, j])
                bld.emit(GE, shift=shift, a=e, b=largest, d=int(test[gi, j]), reads=(e, largest))
            for j in range(r):
                m, t = int(mask[gi, j]), int(test[gi, j])
                bld.chain([(m, t)], m, 0, 0)
            # all energies 0: the golden argmax keeps slice 0 (GE(0, largest) = 1 exactly then)
            z, m0 = int(test[gi, 0]), int(mask[gi, 0])
            bld.emit(GE, a=zero, b=largest, d=z, reads=(zero, largest))
            bld.emit(MAX, a=m0, b=z, d=m0, reads=(m0, z))


def model_run(prog: Program, mem: np.ndarray, lfsr: LaneLFSR, pc: int, mul_w: int = 24) -> int:
    """Execute the program from ``pc`` to its END on ``mem`` (int64 words) and ``lfsr`` (the engine's
    semantics, in Python); returns the instructions executed."""
    acc = 0
    count = 0

    def opnd(v: int) -> int:
        v &= (1 << mul_w) - 1
        return v - (1 << mul_w) if v >> (mul_w - 1) else v

    while True:
        op, first, last, shift, satw, a, bb, dst = prog.code[pc]
        pc += 1
        count += 1
        if op == END:
            return count
        if op == MAC:
            acc = (0 if first else acc) + opnd(int(mem[a])) * opnd(int(mem[bb]))
            if last:
                v = int(round_shift(np.int64(acc), shift)) if shift else acc
                mem[dst] = int(saturate(np.int64(v), QFormat(satw, 0))) if satw else v
        elif op == UPD:
            r = int(lfsr.draw(1, shift)[0])
            v = int(mem[bb]) - ((int(mem[a]) + r) >> shift)
            mem[dst] = int(saturate(np.int64(v), QFormat(satw, 0)))
        elif op == LDI:
            mem[dst] = a
        elif op == MAX:
            mem[dst] = max(int(mem[a]), int(mem[bb]))
        elif op == GE:
            mem[dst] = int((int(mem[a]) << shift) >= int(mem[bb]))


def load_state(prog: Program, state: TTState, words: int | None = None) -> np.ndarray:
    mem = np.zeros(words or prog.words, dtype=np.int64)
    for k in range(prog.shape.cores):
        mem[prog.regions[f"w{k}"].reshape(-1)] = state.tensors[f"w{k}"].reshape(-1)
    mem[prog.regions["b"]] = state.tensors["b"]
    for k in range(1, prog.shape.cores):
        mem[prog.regions[f"m{k}"]] = state.masks[f"w_mask{k}"]
    return mem


def step_cycles(prog: Program) -> int:
    """Clocks of one training step as ernn_tt_train_top counts them (STEP accepted to the engine's done):
    the step program's instructions (its END included) plus the start, the ROM read and the drain of
    S1..S4 (PIPELINE_CYCLES)."""
    return prog.infer_pc + PIPELINE_CYCLES
