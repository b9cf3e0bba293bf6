"""Compiler of tensor-train training steps into the program of rtl/ernn_tt_engine.v, and a Python model of
that program (to check the compiler against golden.tt_train without a simulator).

The engine is a microcoded datapath: one multiplier-accumulator, one stochastic-rounding update unit and a
compare/clip unit fed from one data memory, sequenced by a program ROM. This module turns one golden
configuration into that ROM; every address, shift and saturation width is fixed at compile time, so the
hardware only counts a program counter. Two networks:

* :func:`compile_mlp` -- the TT-MLP step (golden.tt_train.mlp_step): the forward contraction core by core
  (ernn.train.tt's order, right to left), the bias add, the output error, the backward contraction (core
  gradients exact, the activation gradient rounded to ``grad``), the bias gradient, the update in
  UPDATE_ORDER with the LFSR draw order of golden/tt_formats.py, the rank masks and pruning.
* :func:`compile_gru` -- the TT-GRU classifier step (golden.tt_train.gru_step, ``recompute=True``): the
  cell run over T time steps keeping only h_t, the dense head and its error, then backward through time,
  each step's cell run again from h_{t-1} (the recompute variant: the same integers as keeping a tape),
  the gate arithmetic, the core and bias gradients accumulated exactly over the steps, the same update,
  masks and pruning. Sequences end at their lengths (a state frozen past it: a select against the valid
  flag).

Instruction word (LSB first): op (4) | first (1) | last (1) | shift (5) | satw (6) | a (AW) | b (AW) |
dst (AW). Ops:

* NOP -- nothing (the compiler's hazard padding: a word written is readable 4 slots later).
* MAC -- acc = (first ? 0 : acc) + mem[a] * mem[b] (operands: the low MUL_W bits, signed); on ``last``,
  mem[dst] = sat_satw(round_half_up(acc >> shift)) (satw 0: no saturation; shift 0: no rounding).
* ACC -- as MAC, but adds mem[a] itself (the full word): an exact gradient carried across time steps.
* UPD -- one LFSR draw r of ``shift`` bits (the next lane); mem[dst] = sat_satw(mem[b] - ((mem[a] + r)
  >> shift)) (floor): the golden update w <- sat(w - SR(g, s)) with mem[a] the gradient, mem[b] = w.
* LDI -- mem[dst] = a << shift (a sign-extended): constants and the zero of an empty sum.
* END -- the program (a step, or the inference entry) is done.
* MAX -- mem[dst] = max(mem[a], mem[b]) (the largest slice energy of a boundary, a mask's revival).
* GE -- mem[dst] = 1 if mem[a] * 2**shift >= mem[b] else 0 (the pruning test; t < length).
* CLIP -- mem[dst] = min(max(mem[a], first ? 0 : -mem[b]), mem[b]) (hard sigmoid's [0, 1], hard tanh's
  [-1, 1] with mem[b] = 1.0 in ``act``).
* IN -- mem[dst] = 1 if -mem[b] < mem[a] < mem[b] else 0 (the hard activations' derivative masks).

The GRU's element-wise arithmetic maps onto these: a product rounded into a format (golden ``_Ops.mul``)
is a one-term MAC with that shift and saturation; a saturated sum a + b a two-term MAC against the
constant 1; hard sigmoid round_shift(v, s) + 1/2 a two-term MAC v*1 + (1/2)*(2**s) with shift s, then
CLIP; a select ``valid ? a : b`` the exact two-term MAC a*valid + b*(1 - valid) (valid = GE(length,
t + 1), computed once per step); round_shift(d, 2) * mask a one-term MAC d*mask with shift 2.

Rank pruning (``prune_shift`` > 0) runs on the same units: the masks re-applied after the update are
MACs w * mask (always, so that a loaded state with pruned slices keeps them at 0, as golden does); a
slice's energy is a MAC chain of w * w; the largest a MAX chain; keep_j = mask_j * GE(S_j, largest). The
golden step keeps the strongest kept slice; that slice always passes the test (a pruned slice has energy
0, so the largest energy is a kept slice's, or every energy is 0 and 0 >= 0), except when no slice of the
boundary is kept at all: then golden's argmax is slice 0, and keep_0 = MAX(keep_0, GE(0, max_j mask_j)).

Memory map (words of DW bits; ``Program.regions`` has every address): constants, the trained state
(cores, biases, rank masks), the host's inputs (x, targets t one-hot in ``inter``, GRU: lengths), the
outputs y, then scratch (saved core inputs, backward partial results, gradients, energies; the GRU's
per-time-step scratch is reused from one step to the next).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ernn.golden.formats import QFormat
from ernn.golden.ops import round_shift, saturate
from ernn.golden.tt_formats import LaneLFSR, TTTrainFormats
from ernn.golden.tt_train import UPDATE_ORDER, TTShape, TTState

NOP, MAC, UPD, LDI, END, MAX, GE, CLIP, IN, ACC = range(10)
OP_NAMES = ("nop", "mac", "upd", "ldi", "end", "max", "ge", "clip", "in", "acc")
#: clocks from an instruction's memory read to its write becoming readable (the engine's pipeline)
WRITE_LATENCY = 4
#: clocks a run takes beyond its instructions (measured on the RTL; the testbench checks it)
PIPELINE_CYCLES = 6
OP_BITS, SHIFT_BITS, SATW_BITS = 4, 5, 6
#: instruction bits before the three address fields
HEADER_BITS = OP_BITS + 2 + SHIFT_BITS + SATW_BITS

Instr = tuple[int, int, int, int, int, int, int, int]


@dataclass
class Program:
    """A compiled training step: instruction tuples, the memory map, the entry of the inference program.

    ``shape`` is the TT-MLP's matrix (a TT-GRU's x-core matrix); ``shapes`` has every matrix by its golden
    name. ``state_regions`` maps each trained golden state entry (a tensor, or a mask ``<matrix>_mask<k>``)
    to its region; ``inputs`` names the regions the host writes before a step, ``phases`` the step's
    program ranges (name -> [(first pc, end pc), ...]) for the cycle accounts; region ``const`` holds the
    constants the program loads (a MAC against one of them is a scaled add, not a product)."""

    shape: TTShape
    batch: int
    fmts: TTTrainFormats
    aw: int = 0
    words: int = 0  # data memory words used
    regions: dict[str, np.ndarray] = field(default_factory=dict)  # region name -> address array
    code: list[Instr] = field(default_factory=list)
    infer_pc: int = 0
    macs: int = 0  # MAC instructions of the step (the multiplies)
    updates: int = 0
    shapes: dict[str, TTShape] = field(default_factory=dict)
    seq_len: int = 0  # time steps of a TT-GRU program (0: a TT-MLP)
    state_regions: dict[str, str] = field(default_factory=dict)
    inputs: tuple[str, ...] = ("x", "t")
    phases: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def encode(self) -> list[int]:
        """The ROM words of the program (module docstring layout)."""
        out = []
        mask = (1 << self.aw) - 1
        for op, first, last, shift, satw, a, b, d in self.code:
            word = op | first << OP_BITS | last << (OP_BITS + 1) | shift << (OP_BITS + 2)
            word |= satw << (OP_BITS + 2 + SHIFT_BITS)
            word |= (
                (a & mask) << HEADER_BITS | b << (HEADER_BITS + self.aw) | d << (HEADER_BITS + 2 * self.aw)
            )
            out.append(word)
        return out

    @property
    def width(self) -> int:
        return HEADER_BITS + 3 * self.aw

    def engine_parameters(self, prog_file: object, dw: int = 48, mul_w: int = 24) -> dict[str, object]:
        """The Verilog parameters of ernn_tt_train_top / ernn_tt_engine running this program from the ROM
        file ``prog_file`` (:meth:`encode`'s words, ``width`` bits each)."""
        return {
            "DW": dw, "MUL_W": mul_w, "DEPTH": self.words, "AW": self.aw, "PROG_DEPTH": max(len(self.code), 2),
            "PROG_FILE": prog_file, "INFER_PC": self.infer_pc, "LANES": self.fmts.sr_lanes,
            "SEED": self.fmts.seed & 0xFFFFFFFF,
        }  # fmt: skip


class _Builder:
    def __init__(self) -> None:
        self.code: list[Instr] = []
        self.written: dict[int, int] = {}  # address -> slot of its last write
        self.next_addr = 0
        self.high = 0  # the highest address allocated + 1 (scratch is released and reused)
        self.imm_bits = 2  # bits of the widest LDI immediate (signed)
        self.phases: dict[str, list[tuple[int, int]]] = {}

    def alloc(self, shape: tuple[int, ...]) -> np.ndarray:
        n = math.prod(shape)
        out = np.arange(self.next_addr, self.next_addr + n, dtype=np.int64).reshape(shape)
        self.next_addr += n
        self.high = max(self.high, self.next_addr)
        return out

    def emit(self, op: int, first=0, last=0, shift=0, satw=0, a=0, b=0, d=0, reads=()) -> None:
        # pad with NOPs until every operand's last write is visible (compile-time hazard avoidance)
        need = max((self.written.get(r, -WRITE_LATENCY) + WRITE_LATENCY for r in reads), default=0)
        while len(self.code) < need:
            self.code.append((NOP, 0, 0, 0, 0, 0, 0, 0))
        self.code.append((op, first, last, shift, satw, a, b, d))
        if last if op in (MAC, ACC) else op not in (NOP, END):
            self.written[d] = len(self.code) - 1

    def ldi(self, value: int, dst: int) -> None:
        """mem[dst] = value, as a short immediate times a power of two (the a field is only AW bits)."""
        shift = (value & -value).bit_length() - 1 if value else 0
        self.imm_bits = max(self.imm_bits, (value >> shift).bit_length() + 1)
        self.emit(LDI, shift=shift, a=value >> shift, d=dst)

    def chain(
        self, terms: list[tuple[int, int]], dst: int, shift: int, satw: int, accumulate: bool = False
    ) -> None:
        """dst = post(sum mem[a] mem[b]); an empty sum writes 0. ``accumulate``: dst = post(dst + sum), and
        an empty sum leaves dst alone."""
        if accumulate:
            if not terms:
                return
            self.emit(ACC, 1, 0, 0, 0, dst, 0, dst, reads=(dst,))
        elif not terms:
            self.emit(LDI, a=0, d=dst)
            return
        for n, (a, b) in enumerate(terms):
            first = n == 0 and not accumulate
            self.emit(MAC, first, n == len(terms) - 1, shift, satw, a, b, dst, reads=(a, b))

    def phase(self, name: str, start: int) -> None:
        """The instructions from ``start`` to here belong to phase ``name`` (a phase may have several)."""
        self.phases.setdefault(name, []).append((start, len(self.code)))


def _contract(
    bld: _Builder,
    left: np.ndarray,
    right: np.ndarray,
    out: np.ndarray,
    spec: str,
    shift: int,
    satw: int,
    accumulate: bool = False,
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
        bld.chain(terms, dst, shift, satw, accumulate)


def _each(
    bld: _Builder, dst: np.ndarray, pairs: list[tuple[object, object]], shift: int = 0, satw: int = 0
) -> None:
    """Element-wise: dst[i] = post(sum over ``pairs`` of A[i] * B[i]) (address arrays or scalar addresses,
    broadcast to dst's shape; -1: a known zero, the term skipped)."""
    wide = [(np.broadcast_to(a, dst.shape), np.broadcast_to(b, dst.shape)) for a, b in pairs]
    for idx in np.ndindex(*dst.shape):
        terms = [(int(a[idx]), int(b[idx])) for a, b in wide if a[idx] >= 0 and b[idx] >= 0]
        bld.chain(terms, int(dst[idx]), shift, satw)


def _each_op(bld: _Builder, op: int, dst: np.ndarray, a: object, b: object, first: int = 0) -> None:
    """Element-wise MAX / GE / CLIP / IN: dst[i] = op(mem[A[i]], mem[B[i]])."""
    wa, wb = np.broadcast_to(a, dst.shape), np.broadcast_to(b, dst.shape)
    for idx in np.ndindex(*dst.shape):
        ai, bi = int(wa[idx]), int(wb[idx])
        bld.emit(op, first, a=ai, b=bi, d=int(dst[idx]), reads=(ai, bi))


def _tt_forward(
    bld: _Builder, cores: list[np.ndarray], x: np.ndarray, shape: TTShape, shifts: list[int], satw: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """golden tt_forward on addresses: y (B, G*rows) and every core's input (x: (B, cols), -1 a zero)."""
    b, g, d = x.shape[0], shape.gates, shape.cores
    n_total = math.prod(shape.col_modes)
    t = np.full((b, n_total), -1, dtype=np.int64)
    t[:, : shape.cols] = x
    p = n_total // shape.col_modes[-1]
    t = np.broadcast_to(t.reshape(b, 1, p, shape.col_modes[-1], 1, 1), (b, g, p, shape.col_modes[-1], 1, 1))
    saved: list[np.ndarray] = [t] * d
    y = t
    for k in range(d - 1, -1, -1):
        saved[k] = t
        oshape = (b, g, p, shape.ranks[k], shape.row_modes[k], t.shape[5])
        if k:
            out = bld.alloc(oshape)
        else:  # core 0: only the first `rows` outputs of each gate are kept (y)
            out = np.full(oshape, -1, dtype=np.int64)
            flat = out.reshape(b, g, -1)
            flat[:, :, : shape.rows] = bld.alloc((b, g, shape.rows))
            y = flat[:, :, : shape.rows].reshape(b, g * shape.rows)
        _contract(bld, cores[k], t, out, "gaijs,bgpjsq->bgpaiq", shifts[k], satw)
        if k:
            p //= shape.col_modes[k - 1]
            t = out.reshape(b, g, p, shape.col_modes[k - 1], out.shape[3], -1)
    return y, saved


def _tt_backward(
    bld: _Builder,
    cores: list[np.ndarray],
    saved: list[np.ndarray],
    gy: np.ndarray,
    shape: TTShape,
    fmts: TTTrainFormats,
    one: int,
    dcores: list[np.ndarray] | None = None,
    accumulate: bool = False,
    need_input: bool = False,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """golden tt_backward on addresses: the exact core gradients (into ``dcores``, or allocated; with
    ``accumulate`` added to what they hold) and, with ``need_input``, the input gradient (B, cols):
    every gate's rounded partial summed and saturated to ``grad``."""
    b, g, d = gy.shape[0], shape.gates, shape.cores
    m_total = math.prod(shape.row_modes)
    full = np.full((b, g, m_total), -1, dtype=np.int64)
    full[:, :, : shape.rows] = gy.reshape(b, g, shape.rows)
    g_out = full.reshape(b, g, 1, 1, shape.row_modes[0], -1)
    out: list[np.ndarray] = []
    gx = None
    for k in range(d):
        dk = bld.alloc(shape.core_shape(k)) if dcores is None else dcores[k]
        out.append(dk)
        _contract(bld, g_out, saved[k], dk, "bgpaiq,bgpjsq->gaijs", 0, 0, accumulate)
        if k == d - 1 and not need_input:
            break
        if k < d - 1:
            gt = bld.alloc(saved[k].shape)
        else:  # the layer input's gradient: only the first `cols` of each gate are needed
            gt = np.full(saved[k].shape, -1, dtype=np.int64)
            gt.reshape(b, g, -1)[:, :, : shape.cols] = bld.alloc((b, g, shape.cols))
        _contract(bld, cores[k], g_out, gt, "gaijs,bgpaiq->bgpjsq", fmts.core.frac, fmts.grad.word)
        if k < d - 1:
            nxt = saved[k + 1]
            g_out = gt.reshape(b, g, nxt.shape[2], shape.ranks[k + 1], shape.row_modes[k + 1], -1)
        else:
            per_gate = gt.reshape(b, g, -1)[:, :, : shape.cols]
            if g == 1:  # saturating a value already in grad changes nothing
                gx = per_gate[:, 0]
            else:
                gx = bld.alloc((b, shape.cols))
                _each(bld, gx, [(per_gate[:, gi], one) for gi in range(g)], 0, fmts.grad.word)
    return out, gx


def _check_formats(fmts: TTTrainFormats, mul_w: int) -> None:
    if fmts.prior_samples:
        raise ValueError("ernn_tt_engine programs: the rank prior (prior_samples > 0) is not compiled yet")
    for name in ("core", "x", "act", "inter", "grad"):
        if getattr(fmts, name).word > mul_w:
            raise ValueError(f"format {name} is wider than the multiplier operands ({mul_w} bits)")


def _check_gradient_words(
    name: str, shape: TTShape, terms_per_entry: int, first_word: int, fmts: TTTrainFormats, dw: int
) -> None:
    """An exact core gradient sums terms_per_entry x (col modes left of k) x (row modes right of k)."""
    for k in range(shape.cores):
        terms = terms_per_entry * math.prod(shape.col_modes[:k]) * math.prod(shape.row_modes[k + 1 :])
        word = fmts.gradient_word(terms, first_word if k == shape.cores - 1 else fmts.inter.word)
        if word > dw:
            what = f"{name} core {k}" if name else f"core {k}"
            raise ValueError(f"the exact gradient of {what} needs {word} bits, the memory words have {dw}")


def _core_shifts(fmts: TTTrainFormats, d: int, first_frac: int) -> list[int]:
    """golden _core_shifts: core k's exact product (core x its input) rounded into ``inter``."""
    fi = fmts.inter.frac
    return [fmts.core.frac + (first_frac if k == d - 1 else fi) - fi for k in range(d)]


def _update(
    bld: _Builder, entries: list[tuple[str, np.ndarray, np.ndarray, int, QFormat]], fmts: TTTrainFormats
) -> int:
    """golden update(): w <- sat(w - SR(g, s)) per entry, tensors in UPDATE_ORDER then by name (a TT-MLP's
    w<k> as x_core, b as bx), entries in C order; returns the updates."""

    def key(entry: tuple) -> tuple[int, str]:
        base = entry[0].rstrip("0123456789")
        return UPDATE_ORDER.index({"w": "x_core", "b": "bx"}.get(base, base)), entry[0]

    count = 0
    for name, w, gr, frac, fmt in sorted(entries, key=key):
        s = frac + fmts.lr_shift - fmt.frac
        if not 0 <= s < 1 << SHIFT_BITS:
            raise ValueError(f"update of {name}: shift {s} outside [0, {(1 << SHIFT_BITS) - 1}]")
        for wa, ga in zip(w.reshape(-1), gr.reshape(-1), strict=True):
            bld.emit(UPD, shift=s, satw=fmt.word, a=int(ga), b=int(wa), d=int(wa), reads=(int(ga), int(wa)))
            count += 1
    return count


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
    """golden prune: per boundary and gate the slice energies S_j (exact), the largest, the new masks
    (module docstring: the strongest kept slice passes the test by itself; slice 0 comes back only when
    no slice was kept)."""
    for k, mask in masks.items():
        g, r = mask.shape
        energy = bld.alloc((g, r))
        largest, kept = (int(a) for a in bld.alloc((2,)))
        test = bld.alloc((g, r))
        for gi in range(g):
            for j in range(r):
                left = cores[k - 1][gi, ..., j].reshape(-1)
                right = cores[k][gi, j].reshape(-1)
                bld.chain([(int(w), int(w)) for w in (*left, *right)], int(energy[gi, j]), 0, 0)
            first, m0 = int(energy[gi, 0]), int(mask[gi, 0])
            bld.emit(MAX, a=first, b=first, d=largest, reads=(first,))
            bld.emit(MAX, a=m0, b=m0, d=kept, reads=(m0,))
            for j in range(1, r):
                e, m = int(energy[gi, j]), int(mask[gi, j])
                bld.emit(MAX, a=e, b=largest, d=largest, reads=(e, largest))
                bld.emit(MAX, a=m, b=kept, d=kept, reads=(m, kept))
            for j in range(r):
                e = int(energy[gi, j])
                bld.emit(GE, shift=shift, a=e, b=largest, d=int(test[gi, j]), reads=(e, largest))
            for j in range(r):
                m, t = int(mask[gi, j]), int(test[gi, j])
                bld.chain([(m, t)], m, 0, 0)
            # no slice kept before: golden's argmax over (mask ? S : -1) is slice 0, which stays
            z = int(test[gi, 0])
            bld.emit(GE, a=zero, b=kept, d=z, reads=(zero, kept))
            bld.emit(MAX, a=m0, b=z, d=m0, reads=(m0, z))


def _masks_and_prune(
    bld: _Builder, groups: list[tuple[list[np.ndarray], dict[int, np.ndarray]]], shift: int, zero: int
) -> None:
    """After the update: golden update()'s masks, then prune() (new masks, applied) for every matrix."""
    for cores, masks in groups:
        _apply_masks(bld, cores, masks)
    if shift:
        for cores, masks in groups:
            _prune(bld, cores, masks, shift, zero)
        for cores, masks in groups:
            _apply_masks(bld, cores, masks)


def compile_mlp(shape: TTShape, batch: int, fmts: TTTrainFormats, mul_w: int = 24, dw: int = 48) -> Program:
    """The TT-MLP training step (golden.tt_train.mlp_step; rank pruning, not the rank prior) and inference,
    for an engine with ``mul_w``-bit multiplier operands and ``dw``-bit memory words."""
    _check_formats(fmts, mul_w)
    if shape.gates != 1:
        raise ValueError(f"a TT-MLP has one gate, got {shape.gates}")
    _check_gradient_words("", shape, batch, fmts.x.word, fmts, dw)
    g, d, b = 1, shape.cores, batch
    bld = _Builder()
    one, k_err, nk_err, zero = (int(a) for a in bld.alloc((4,)))
    cores = [bld.alloc(shape.core_shape(k)) for k in range(d)]
    bias = bld.alloc((shape.rows,))
    xs = bld.alloc((b, shape.cols))
    tgt = bld.alloc((b, shape.rows))
    y = bld.alloc((b, shape.rows))
    masks = {k: bld.alloc((g, shape.ranks[k])) for k in range(1, d)}  # 0/1 per rank slice, trained state
    regions = {f"w{k}": cores[k] for k in range(d)} | {"b": bias, "x": xs, "t": tgt, "y": y}
    regions |= {f"m{k}": masks[k] for k in masks} | {"const": np.array([one, k_err, nk_err, zero])}
    fi, fg = fmts.inter.frac, fmts.grad.frac
    shifts = _core_shifts(fmts, d, fmts.x.frac)

    def constants() -> None:
        bld.emit(LDI, a=1, d=one)
        bld.emit(LDI, a=1 << (fg - fi), d=k_err)
        bld.emit(LDI, a=-(1 << (fg - fi)), d=nk_err)
        bld.emit(LDI, a=0, d=zero)

    def forward() -> list[np.ndarray]:
        y0, saved = _tt_forward(bld, cores, xs, shape, shifts, fmts.inter.word)
        _each(bld, y, [(y0, one), (bias, one)], 0, fmts.inter.word)  # y = sat(y0 + bias)
        return saved

    # ---- the training step
    constants()
    saved = forward()
    bld.phase("forward", 0)
    start = len(bld.code)
    gy = bld.alloc((b, shape.rows))
    regions["gy"] = gy
    _each(bld, gy, [(y, k_err), (tgt, nk_err)], 0, fmts.grad.word)  # g_y = sat((y - t) << (fg - fi))
    grads, _ = _tt_backward(bld, cores, saved, gy, shape, fmts, one)
    gb = bld.alloc((shape.rows,))
    _each(bld, gb, [(gy[bi], one) for bi in range(b)])
    regions |= {f"g_w{k}": grads[k] for k in range(d)} | {"g_b": gb}
    bld.phase("error and backward", start)
    start = len(bld.code)
    entries = [
        (f"w{k}", cores[k], grads[k], fg + (fmts.x.frac if k == d - 1 else fi), fmts.core) for k in range(d)
    ]
    updates = _update(bld, [*entries, ("b", bias, gb, fg, fmts.inter)], fmts)
    bld.phase("update", start)
    start = len(bld.code)
    _masks_and_prune(bld, [(cores, masks)] if masks else [], fmts.prune_shift, zero)
    bld.phase("masks and pruning", start)
    bld.emit(END)
    infer_pc = len(bld.code)
    # ---- inference: the forward pass and the bias (y), nothing trained
    bld.written.clear()  # the END drains the pipeline: no hazards across programs
    constants()
    forward()
    bld.emit(END)
    state_regions = {n: n for n in [*(f"w{k}" for k in range(d)), "b"]} | {
        f"w_mask{k}": f"m{k}" for k in masks
    }
    prog = Program(
        shape, batch, fmts, regions=regions, infer_pc=infer_pc, updates=updates, shapes={"w": shape},
        state_regions=state_regions, phases=bld.phases,
    )  # fmt: skip
    prog.aw = max(8, math.ceil(math.log2(max(bld.high, 2))), (1 << (fg - fi)).bit_length() + 1)
    return _finish(prog, bld)


def _finish(prog: Program, bld: _Builder) -> Program:
    prog.words = bld.high
    prog.aw = max(prog.aw, bld.imm_bits)
    prog.code = bld.code
    prog.macs = sum(1 for op, *_ in bld.code[: prog.infer_pc] if op == MAC)  # the pruning's MACs included
    if prog.aw > 16:
        raise ValueError(f"{prog.words} data words need more than 16 address bits")
    return prog


GRU_MATRICES = ("x_core", "h_core", "head")
GRU_BIASES = ("bx", "bh", "bhead")


def compile_gru(
    shapes: dict[str, TTShape],
    batch: int,
    seq_len: int,
    fmts: TTTrainFormats,
    mul_w: int = 24,
    dw: int = 48,
) -> Program:
    """The TT-GRU classifier's training step (golden.tt_train.gru_step with recompute, sequences of
    ``seq_len`` steps and per-sequence lengths; rank pruning, not the rank prior) and inference
    (gru_predict), for an engine with ``mul_w``-bit multiplier operands and ``dw``-bit memory words.
    ``shapes``: golden.tt_train.gru_shapes."""
    _check_formats(fmts, mul_w)
    if set(shapes) != set(GRU_MATRICES):
        raise ValueError(f"a TT-GRU has the matrices {GRU_MATRICES}, got {tuple(shapes)}")
    sx, sh, shd = (shapes[m] for m in GRU_MATRICES)
    hid = sh.rows
    if (sx.gates, sh.gates, shd.gates) != (3, 3, 1) or sx.rows != hid or sh.cols != hid or shd.cols != hid:
        raise ValueError("a TT-GRU's x_core and h_core stack 3 gates of `hidden` rows, the head reads h")
    if batch < 1 or seq_len < 1:
        raise ValueError(f"batch and seq_len must be >= 1, got {batch}, {seq_len}")
    b, steps = batch, seq_len
    _check_gradient_words("x_core", sx, b * steps, fmts.x.word, fmts, dw)
    _check_gradient_words("h_core", sh, b * steps, fmts.act.word, fmts, dw)
    _check_gradient_words("head", shd, b, fmts.act.word, fmts, dw)
    fa, fi, fg = fmts.act.frac, fmts.inter.frac, fmts.grad.frac
    iw, gw = fmts.inter.word, fmts.grad.word
    sgm = fi + 2 - fa  # hard sigmoid: v / 4 from inter to act (inter.frac >= act.frac, so >= 2)
    consts = {
        "one": 1, "neg": -1, "zero": 0, "k_err": 1 << (fg - fi), "nk_err": -(1 << (fg - fi)),
        "half": 1 << (fa - 1), "half_scale": 1 << sgm, "act_one": 1 << fa, "sig_edge": 2 << fi,
        "tanh_edge": 1 << fi,
    } | {f"t{n}": n for n in range(2, steps + 1)}  # fmt: skip
    bld = _Builder()
    c = {name: int(a) for name, a in zip(consts, bld.alloc((len(consts),)), strict=True)}
    one, neg = c["one"], c["neg"]
    t_plus_1 = np.array([one] + [c[f"t{n}"] for n in range(2, steps + 1)])
    cores = {m: [bld.alloc(s.core_shape(k)) for k in range(s.cores)] for m, s in shapes.items()}
    rows = {"bx": 3 * hid, "bh": 3 * hid, "bhead": shd.rows}
    biases = {n: bld.alloc((rows[n],)) for n in GRU_BIASES}
    masks = {m: {k: bld.alloc((s.gates, s.ranks[k])) for k in range(1, s.cores)} for m, s in shapes.items()}
    xs = bld.alloc((b, steps, sx.cols))
    lens = bld.alloc((b,))
    tgt = bld.alloc((b, shd.rows))
    y = bld.alloc((b, shd.rows))
    valid, invalid = bld.alloc((b, steps)), bld.alloc((b, steps))
    hs = bld.alloc((steps, b, hid))  # h_t
    dhs = bld.alloc((steps, b, hid))  # dL/dh_t entering step t's backward (t < T - 1)
    grads = {m: [bld.alloc(s.core_shape(k)) for k in range(s.cores)] for m, s in shapes.items()}
    gbias = {n: bld.alloc((rows[n],)) for n in GRU_BIASES}
    regions: dict[str, np.ndarray] = {"x": xs, "len": lens, "t": tgt, "y": y, "h": hs}
    regions["const"] = np.array(list(c.values()))
    for m in GRU_MATRICES:
        regions |= {f"{m}{k}": a for k, a in enumerate(cores[m])}
        regions |= {f"{m}_mask{k}": a for k, a in masks[m].items()}
        regions |= {f"g_{m}{k}": a for k, a in enumerate(grads[m])}
    regions |= biases | {f"g_{n}": a for n, a in gbias.items()}
    first_frac = {"x_core": fmts.x.frac, "h_core": fa, "head": fa}
    shifts = {m: _core_shifts(fmts, shapes[m].cores, first_frac[m]) for m in GRU_MATRICES}

    def setup() -> None:
        for name, value in consts.items():
            bld.ldi(value, c[name])
        _each_op(bld, GE, valid, lens[:, None], t_plus_1[None, :])  # valid: t < length
        _each(bld, invalid, [(one, one), (valid, neg)])

    def cell(t: int, tape: bool) -> tuple:
        """golden _gru_run's cell at step t from h_{t-1} (scratch); ``tape``: what the backward pass needs,
        else h_t written (a frozen state past the sequence's length)."""
        hp = hs[t - 1] if t else np.full((b, hid), -1, dtype=np.int64)  # h_{-1} = 0
        ax, sax = _tt_forward(bld, cores["x_core"], xs[:, t], sx, shifts["x_core"], iw)
        ah, sah = _tt_forward(bld, cores["h_core"], hp, sh, shifts["h_core"], iw)
        _each(bld, ax, [(ax, one), (biases["bx"], one)], 0, iw)
        _each(bld, ah, [(ah, one), (biases["bh"], one)], 0, iw)
        pre = bld.alloc((2, b, hid))  # r, z pre-activations
        _each(bld, pre[0], [(ax[:, :hid], one), (ah[:, :hid], one)], 0, iw)
        _each(bld, pre[1], [(ax[:, hid : 2 * hid], one), (ah[:, hid : 2 * hid], one)], 0, iw)
        u = bld.alloc((2, b, hid))  # round_shift(v, sgm) + 1/2
        _each(bld, u, [(pre, one), (c["half"], c["half_scale"])], sgm, 0)
        rz = bld.alloc((2, b, hid))
        _each_op(bld, CLIP, rz, u, c["act_one"], first=1)
        r, z = rz
        ahn = ah[:, 2 * hid :]
        rah = bld.alloc((b, hid))
        _each(bld, rah, [(r, ahn)], fa, iw)
        pre_n = bld.alloc((b, hid))
        _each(bld, pre_n, [(ax[:, 2 * hid :], one), (rah, one)], 0, iw)
        un = bld.alloc((b, hid))
        _each(bld, un, [(pre_n, one)], fi - fa, 0)
        n = bld.alloc((b, hid))
        _each_op(bld, CLIP, n, un, c["act_one"])
        diff = bld.alloc((b, hid))
        _each(bld, diff, [(hp, one), (n, neg)])
        if tape:
            masks3 = bld.alloc((3, b, hid))  # r, z, n derivative masks
            _each_op(bld, IN, masks3[:2], pre, c["sig_edge"])
            _each_op(bld, IN, masks3[2], pre_n, c["tanh_edge"])
            return sax, sah, r, z, diff, ahn, masks3
        zd = bld.alloc((b, hid))
        _each(bld, zd, [(z, diff)], fa, fmts.act.word)
        hn = bld.alloc((b, hid))
        _each(bld, hn, [(n, one), (zd, one)], 0, fmts.act.word)
        _each(bld, hs[t], [(hn, valid[:, t, None]), (hp, invalid[:, t, None])])
        return ()

    def forward() -> list[np.ndarray]:
        for t in range(steps):
            mark = bld.next_addr
            cell(t, False)
            bld.next_addr = mark  # the step's scratch is the next step's
        yh, shead = _tt_forward(bld, cores["head"], hs[steps - 1], shd, shifts["head"], iw)
        _each(bld, y, [(yh, one), (biases["bhead"], one)], 0, iw)
        return shead

    # ---- the training step
    setup()
    shead = forward()
    bld.phase("forward", 0)
    start = len(bld.code)
    gy = bld.alloc((b, shd.rows))
    _each(bld, gy, [(y, c["k_err"]), (tgt, c["nk_err"])], 0, gw)
    _, dh = _tt_backward(bld, cores["head"], shead, gy, shd, fmts, one, grads["head"], need_input=True)
    _each(bld, gbias["bhead"], [(gy[bi], one) for bi in range(b)])
    bld.phase("head backward", start)
    for t in range(steps - 1, -1, -1):
        mark = bld.next_addr
        start = len(bld.code)
        sax, sah, r, z, diff, ahn, m3 = cell(t, True)  # the recompute: step t's forward again
        bld.phase("recompute", start)
        start = len(bld.code)
        acc = t < steps - 1  # add to the gradients of the later steps
        v, iv = valid[:, t, None], invalid[:, t, None]
        dz_h = bld.alloc((b, hid))
        _each(bld, dz_h, [(dh, z)], fa, gw)
        mv = bld.alloc((2, b, hid))  # the z and n masks times valid (a frozen step sends no gradient)
        _each(bld, mv, [(m3[1:], v)])
        dn_sat = bld.alloc((b, hid))
        _each(bld, dn_sat, [(dh, one), (dz_h, neg)], 0, gw)
        dn = bld.alloc((b, hid))
        _each(bld, dn, [(dn_sat, mv[1])])
        dz = bld.alloc((b, hid))
        _each(bld, dz, [(dh, diff)], fa, gw)
        dpz = bld.alloc((b, hid))
        _each(bld, dpz, [(dz, mv[0])], 2, 0)
        dr = bld.alloc((b, hid))
        _each(bld, dr, [(dn, ahn)], fi, gw)
        dpr = bld.alloc((b, hid))
        _each(bld, dpr, [(dr, m3[0])], 2, 0)
        dahn = bld.alloc((b, hid))
        _each(bld, dahn, [(dn, r)], fa, gw)
        g_ax = np.concatenate([dpr, dpz, dn], axis=1)
        g_ah = np.concatenate([dpr, dpz, dahn], axis=1)
        _tt_backward(bld, cores["x_core"], sax, g_ax, sx, fmts, one, grads["x_core"], acc)
        _, dh_prev = _tt_backward(
            bld, cores["h_core"], sah, g_ah, sh, fmts, one, grads["h_core"], acc, need_input=t > 0
        )
        for name, g_pre in (("bx", g_ax), ("bh", g_ah)):
            for j in range(3 * hid):
                bld.chain([(int(g_pre[bi, j]), one) for bi in range(b)], int(gbias[name][j]), 0, 0, acc)
        if t:  # dh for step t - 1 (h_{t-1} is unused after step 0)
            s = bld.alloc((b, hid))
            _each(bld, s, [(dz_h, one), (dh_prev, one)], 0, gw)
            _each(bld, dhs[t - 1], [(s, v), (dh, iv)])
            dh = dhs[t - 1]
        bld.next_addr = mark
        bld.phase("backward through time", start)
    start = len(bld.code)
    entries = []
    for m in GRU_MATRICES:
        d = shapes[m].cores
        for k in range(d):
            frac = fg + (first_frac[m] if k == d - 1 else fi)
            entries.append((f"{m}{k}", cores[m][k], grads[m][k], frac, fmts.core))
    entries += [(n, biases[n], gbias[n], fg, fmts.inter) for n in GRU_BIASES]
    updates = _update(bld, entries, fmts)
    bld.phase("update", start)
    start = len(bld.code)
    groups = [(cores[m], masks[m]) for m in GRU_MATRICES if masks[m]]
    _masks_and_prune(bld, groups, fmts.prune_shift, c["zero"])
    bld.phase("masks and pruning", start)
    bld.emit(END)
    infer_pc = len(bld.code)
    # ---- inference: the forward pass, y; nothing trained
    bld.written.clear()  # the END drains the pipeline: no hazards across programs
    setup()
    forward()
    bld.emit(END)
    state_regions = {f"{m}{k}": f"{m}{k}" for m in GRU_MATRICES for k in range(shapes[m].cores)}
    state_regions |= {n: n for n in GRU_BIASES}
    state_regions |= {f"{m}_mask{k}": f"{m}_mask{k}" for m in GRU_MATRICES for k in masks[m]}
    prog = Program(
        sx, batch, fmts, regions=regions, infer_pc=infer_pc, updates=updates, shapes=dict(shapes),
        seq_len=steps, state_regions=state_regions, inputs=("x", "len", "t"), phases=bld.phases,
    )  # fmt: skip
    prog.aw = max(8, math.ceil(math.log2(max(bld.high, 2))))
    return _finish(prog, bld)


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
        if op in (MAC, ACC):
            term = int(mem[a]) if op == ACC else opnd(int(mem[a])) * opnd(int(mem[bb]))
            acc = (0 if first else acc) + term
            if last:
                v = int(round_shift(np.int64(acc), shift)) if shift else acc
                mem[dst] = int(saturate(np.int64(v), QFormat(satw, 0))) if satw else v
        elif op == UPD:
            r = int(lfsr.draw(1, shift)[0])
            v = int(mem[bb]) - ((int(mem[a]) + r) >> shift)
            mem[dst] = int(saturate(np.int64(v), QFormat(satw, 0)))
        elif op == LDI:
            mem[dst] = a << shift
        elif op == MAX:
            mem[dst] = max(int(mem[a]), int(mem[bb]))
        elif op == GE:
            mem[dst] = int((int(mem[a]) << shift) >= int(mem[bb]))
        elif op == CLIP:
            hi = int(mem[bb])
            mem[dst] = min(max(int(mem[a]), 0 if first else -hi), hi)
        elif op == IN:
            mem[dst] = int(-int(mem[bb]) < int(mem[a]) < int(mem[bb]))


def state_words(prog: Program, state: TTState) -> dict[str, np.ndarray]:
    """The trained state as the program's regions hold it (region name -> words in address order)."""
    out = {}
    for key, region in prog.state_regions.items():
        value = state.masks[key] if key in state.masks else state.tensors[key]
        out[region] = np.asarray(value).reshape(-1)
    return out


def load_state(prog: Program, state: TTState, words: int | None = None) -> np.ndarray:
    """A memory image holding ``state`` (everything else 0)."""
    mem = np.zeros(words or prog.words, dtype=np.int64)
    for region, values in state_words(prog, state).items():
        mem[prog.regions[region].reshape(-1)] = values
    return mem


def input_words(
    prog: Program, x: np.ndarray, labels: np.ndarray, lengths: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """What the host writes before a step (region name -> words): x, the one-hot targets t in ``inter``
    and, for a TT-GRU, the sequences' lengths."""
    from ernn.golden.tt_train import one_hot

    classes = prog.regions["y"].shape[-1]
    out = {"x": np.asarray(x).reshape(-1), "t": one_hot(labels, classes, prog.fmts.inter).reshape(-1)}
    if "len" in prog.inputs:
        if lengths is None:
            raise ValueError("a TT-GRU step needs the sequences' lengths")
        out["len"] = np.asarray(lengths).reshape(-1)
    return out


def step_cycles(prog: Program) -> int:
    """Clocks of one training step as ernn_tt_train_top counts them (STEP accepted to the engine's done):
    the step program's instructions (its END included) plus the start, the ROM read and the drain of
    S1..S4 (PIPELINE_CYCLES)."""
    return prog.infer_pc + PIPELINE_CYCLES
