"""Bit-exact integer golden TRAINING step of tensor-train networks (the contract of the RTL training engine).

Three models, all trained with a squared-error loss L = 1/2 sum_b ||y_b - t_b||^2 on one-hot targets t
(the output error y - t is the gradient: no division, no exponential):

* **TT-MLP**: y = W x + b, W one TT-matrix (G = 1).
* **TT-GRU classifier**: a GRU whose W_x (3H x in) and W_h (3H x H) are TT-matrices (gates r, z, n as
  PyTorch stacks them), hard activations sigma(v) = clip(v/4 + 1/2, 0, 1) and tanh(v) = clip(v, -1, 1), run
  over each sequence's valid steps (a state is frozen past its length), and a dense head y = V h_T + c
  (a one-core TT-matrix: the engine's contraction unit runs it too).
* **TT-LSTM classifier**: the same with four gates i, f, g, o (PyTorch's order) in W_x (4H x in) and W_h
  (4H x H): i, f, o hard sigmoids, g a hard tanh, c_t = f c_{t-1} + i g summed exactly and rounded once
  into ``inter`` (c is held in ``inter``: it may leave [-1, 1]), h_t = o tanh(c_t) rounded into ``act``;
  h and c frozen past each sequence's length. b_x and b_h add into the same pre-activation, so their
  gradients are equal.

All numbers are int64 arrays holding the formats of :class:`golden.tt_formats.TTTrainFormats`. One step
(:func:`mlp_step`, :func:`gru_step`, :func:`lstm_step`) takes the state and a batch and returns the new
state, bit for bit:

1. **forward** -- the TT contraction of :mod:`ernn.train.tt` (right to left, core d first); each core's
   product is exact and rounded once to ``inter`` (round half up, saturate). Every core's input is kept
   for the backward pass (the saved activations; the recurrent cells keep them per time step).
2. **backward** -- through time for the GRU and the LSTM; the backward contraction runs the cores in the opposite
   order: dG_k = sum g_out (x) t_k exact, g_t = G_k^T g_out rounded to ``grad``. Rounding and saturation
   pass the gradient unchanged (straight-through); the hard activations pass it where their input lies
   strictly inside (-2, 2) (sigma, times 1/4: a shift) or (-1, 1) (tanh).
3. **rank prior** (``prior_samples`` > 0): core gradients gain w * (D_left + D_right), the decay of the
   two rank slices the entry belongs to, D_j = min(2**24 - 1, floor(B (n_j + 2) 2**(2 f_core + 16) /
   (N S_j))) in Q8.16 (S_j the slice's exact energy, n_j its entries): the MAP log-uniform prior of
   :class:`ernn.train.tt.RankPrior` per batch of B out of N samples, integer only (one division per slice).
4. **update** -- w <- sat(w - SR(g, s)), stochastic rounding with the lane LFSRs in
   :data:`UPDATE_ORDER` (golden/tt_formats.py has the polynomial and the draw order); pruned slices are
   forced back to 0.
5. **rank pruning** (``prune_shift`` > 0) -- after the update, per boundary, slice j is pruned when
   S_j * 2**prune_shift < max_j S_j (the largest slice always stays).

:func:`float_mlp_step` / :func:`float_gru_step` / :func:`float_lstm_step` run the same algorithm in
float64 without rounding (the reference); :func:`mlp_forward_bound` / :func:`mlp_gradient_bound` and
:func:`gru_bounds` / :func:`lstm_bounds` (through time) compute how far the integer outputs and
gradients can lie from it (running error analysis; docs/numerics.md). ``recompute=True`` (GRU, LSTM)
keeps only the recurrent state per time step and runs each step's forward again in the backward pass:
the same integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ernn.shape.structures import TensorTrain, tt_modes

from .formats import QFormat
from .ops import round_shift, saturate
from .tt_formats import LaneLFSR, TTTrainFormats

IntArray = npt.NDArray[np.int64]

#: the order in which the update visits the trained tensors (and draws their random bits)
UPDATE_ORDER = ("x_core", "h_core", "head", "bx", "bh", "bhead")

_DECAY_FRAC = 16
_DECAY_MAX = (1 << 24) - 1


# ------------------------------------------------------------------------------------------------------
# layouts
@dataclass(frozen=True)
class TTShape:
    """One TT-matrix: ``gates`` stacked (rows, cols) matrices, modes and ranks as in ernn.train.tt."""

    rows: int
    cols: int
    gates: int
    row_modes: tuple[int, ...]
    col_modes: tuple[int, ...]
    ranks: tuple[int, ...]

    @classmethod
    def of(cls, rows: int, cols: int, gates: int, params: TensorTrain | None) -> TTShape:
        """``params`` None: a dense matrix as one core (1, rows, cols, 1)."""
        if params is None:
            return cls(rows, cols, gates, (rows,), (cols,), (1, 1))
        return cls(
            rows, cols, gates, tt_modes(rows, params.cores), tt_modes(cols, params.cores),
            params.ranks(rows, cols),
        )  # fmt: skip

    @property
    def cores(self) -> int:
        return len(self.row_modes)

    def core_shape(self, k: int) -> tuple[int, ...]:
        return (self.gates, self.ranks[k], self.row_modes[k], self.col_modes[k], self.ranks[k + 1])


# ------------------------------------------------------------------------------------------------------
# the contraction, integer and float, with the saved inputs of every core
def _rq(v: IntArray, shift: int, fmt: QFormat) -> IntArray:
    return saturate(round_shift(v, shift), fmt)


def tt_forward(
    cores: list[np.ndarray], x: np.ndarray, shape: TTShape, shifts: list[int] | None, fmt: QFormat | None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """y (B, G*rows) = W x for x (B, cols), and the input of every core (index k: core k's input).

    Integer mode (``shifts`` and ``fmt`` given): core k's exact product is rounded by ``shifts[k]`` bits
    into ``fmt``. Float mode (both None): plain float64."""
    g, d = shape.gates, shape.cores
    b = x.shape[0]
    n_total = math.prod(shape.col_modes)
    t = np.zeros((b, n_total), dtype=x.dtype)
    t[:, : shape.cols] = x
    p = n_total // shape.col_modes[-1]
    t = np.broadcast_to(t.reshape(b, 1, p, shape.col_modes[-1], 1, 1), (b, g, p, shape.col_modes[-1], 1, 1))
    saved: list[np.ndarray] = [np.empty(0)] * d
    for k in range(d - 1, -1, -1):
        saved[k] = t
        out = np.einsum("gaijs,bgpjsq->bgpaiq", cores[k], t)
        if shifts is not None and fmt is not None:
            out = _rq(out, shifts[k], fmt)
        if k:
            p //= shape.col_modes[k - 1]
            t = out.reshape(b, g, p, shape.col_modes[k - 1], out.shape[3], -1)
        else:
            y = out.reshape(b, g, -1)[:, :, : shape.rows].reshape(b, g * shape.rows)
    return y, saved


def tt_backward(
    cores: list[np.ndarray],
    saved: list[np.ndarray],
    g_y: np.ndarray,
    shape: TTShape,
    grad_fmt: QFormat | None,
    core_frac: int,
    need_input: bool = True,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Core gradients (exact sums over the batch; core k's fraction bits: grad + core k's input) and the
    input gradient (B, cols) rounded to ``grad_fmt`` (float mode: ``grad_fmt`` None)."""
    g, d = shape.gates, shape.cores
    b = g_y.shape[0]
    m_total = math.prod(shape.row_modes)
    gy = np.zeros((b, g, m_total), dtype=g_y.dtype)
    gy[:, :, : shape.rows] = g_y.reshape(b, g, shape.rows)
    g_out = gy.reshape(b, g, 1, 1, shape.row_modes[0], -1)
    dcores: list[np.ndarray] = [np.empty(0)] * d
    g_t = None
    for k in range(d):
        dcores[k] = np.einsum("bgpaiq,bgpjsq->gaijs", g_out, saved[k])
        if k == d - 1 and not need_input:
            break
        g_t = np.einsum("gaijs,bgpaiq->bgpjsq", cores[k], g_out)
        if grad_fmt is not None:
            g_t = _rq(g_t, core_frac, grad_fmt)
        if k < d - 1:  # this core's input was the previous core's output, reshaped
            nxt = saved[k + 1]
            g_out = g_t.reshape(b, g, nxt.shape[2], shape.ranks[k + 1], shape.row_modes[k + 1], -1)
    if not need_input:
        return dcores, None
    gx = g_t.sum(axis=1).reshape(b, -1)[:, : shape.cols]
    if grad_fmt is not None:
        gx = saturate(gx, grad_fmt)
    return dcores, gx


# ------------------------------------------------------------------------------------------------------
# state
@dataclass
class TTState:
    """The trained state: integer tensors by name, rank masks, the LFSR lanes, the step count."""

    tensors: dict[str, IntArray]
    masks: dict[str, IntArray]  # "<matrix>_mask<k>": (G, r_k) of 0/1
    lfsr: LaneLFSR
    step: int = 0
    shapes: dict[str, TTShape] = field(default_factory=dict)

    def copy(self) -> TTState:
        return TTState(
            {k: v.copy() for k, v in self.tensors.items()},
            {k: v.copy() for k, v in self.masks.items()},
            self.lfsr.copy(),
            self.step,
            dict(self.shapes),
        )

    def cores(self, matrix: str) -> list[IntArray]:
        return [self.tensors[f"{matrix}{k}"] for k in range(self.shapes[matrix].cores)]


def _input_frac(fmts: TTTrainFormats, k: int, d: int, first_frac: int) -> int:
    """Fraction bits of core k's input: the layer input for core d-1 (the first run), else ``inter``."""
    return first_frac if k == d - 1 else fmts.inter.frac


def _core_shifts(fmts: TTTrainFormats, d: int, first_frac: int) -> list[int]:
    return [fmts.core.frac + _input_frac(fmts, k, d, first_frac) - fmts.inter.frac for k in range(d)]


def init_state(
    shapes: dict[str, TTShape], float_tensors: dict[str, np.ndarray], fmts: TTTrainFormats
) -> TTState:
    """Quantize float tensors (cores ``<matrix><k>``, biases) into a state: cores to ``core``, biases to
    ``inter``, round to nearest."""
    from .ops import quantize

    tensors, masks = {}, {}
    for name, value in float_tensors.items():
        fmt = fmts.inter if name.startswith("b") else fmts.core
        tensors[name] = quantize(value, fmt)
    for matrix, shape in shapes.items():
        for k in range(1, shape.cores):
            masks[f"{matrix}_mask{k}"] = np.ones((shape.gates, shape.ranks[k]), dtype=np.int64)
    return TTState(tensors, masks, LaneLFSR(fmts.seed, fmts.sr_lanes), 0, dict(shapes))


def random_state(shapes: dict[str, TTShape], fmts: TTTrainFormats, seed: int) -> TTState:
    """A state from random float cores (product entries of variance 1/(3 cols)) and zero biases."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, np.ndarray] = {}
    for matrix, shape in shapes.items():
        std = (1.0 / (3.0 * shape.cols) / math.prod(shape.ranks)) ** (1.0 / (2 * shape.cores))
        for k in range(shape.cores):
            tensors[f"{matrix}{k}"] = rng.standard_normal(shape.core_shape(k)) * std
        bias = {"x_core": "bx", "h_core": "bh", "head": "bhead", "w": "b"}[matrix]
        tensors[bias] = np.zeros(shape.gates * shape.rows)
    return init_state(shapes, tensors, fmts)


# ------------------------------------------------------------------------------------------------------
# rank prior, update, pruning
def _slice_energy(state: TTState, matrix: str, k: int) -> tuple[IntArray, int]:
    """Exact energy (sum of squares, 2 f_core fraction bits) of each slice at boundary k: (G, r_k)."""
    left, right = state.tensors[f"{matrix}{k - 1}"], state.tensors[f"{matrix}{k}"]
    energy = (left * left).sum(axis=(1, 2, 3)) + (right * right).sum(axis=(2, 3, 4))
    return energy, math.prod(left.shape[1:4]) + math.prod(right.shape[2:5])


def prior_decay(state: TTState, fmts: TTTrainFormats, batch: int) -> dict[str, IntArray]:
    """D (Q8.16, unsigned) per boundary slice: ``<matrix>_decay<k>`` (G, r_k)."""
    out = {}
    for matrix, shape in state.shapes.items():
        for k in range(1, shape.cores):
            energy, count = _slice_energy(state, matrix, k)
            num = batch * (count + 2) << (2 * fmts.core.frac + _DECAY_FRAC)
            den = fmts.prior_samples * energy
            decay = np.where(den > 0, num // np.maximum(den, 1), _DECAY_MAX)
            out[f"{matrix}_decay{k}"] = np.minimum(decay, _DECAY_MAX) * state.masks[f"{matrix}_mask{k}"]
    return out


def _add_decay(
    state: TTState, grads: dict[str, IntArray], fracs: dict[str, int], fmts: TTTrainFormats, batch: int
) -> None:
    decay = prior_decay(state, fmts, batch)
    for matrix, shape in state.shapes.items():
        for k in range(shape.cores):
            name = f"{matrix}{k}"
            per_entry = np.zeros(shape.core_shape(k), dtype=np.int64)
            if k > 0:
                per_entry += decay[f"{matrix}_decay{k}"][:, :, None, None, None]
            if k < shape.cores - 1:
                per_entry += decay[f"{matrix}_decay{k + 1}"][:, None, None, None, :]
            term = state.tensors[name] * per_entry  # f_core + 16 fraction bits
            grads[name] = grads[name] + round_shift(term, fmts.core.frac + _DECAY_FRAC - fracs[name])


def _apply_masks(state: TTState) -> None:
    for matrix, shape in state.shapes.items():
        for k in range(1, shape.cores):
            mask = state.masks[f"{matrix}_mask{k}"]
            state.tensors[f"{matrix}{k - 1}"] = (
                state.tensors[f"{matrix}{k - 1}"] * mask[:, None, None, None, :]
            )
            state.tensors[f"{matrix}{k}"] = state.tensors[f"{matrix}{k}"] * mask[:, :, None, None, None]


def update(state: TTState, grads: dict[str, IntArray], fracs: dict[str, int], fmts: TTTrainFormats) -> None:
    """w <- sat(w - SR(g, s)) for every tensor, in UPDATE_ORDER (the draw order), then masks re-applied."""
    names = sorted(grads, key=lambda n: (UPDATE_ORDER.index(_group(n)), n))
    for name in names:
        fmt = fmts.inter if name.startswith("b") else fmts.core
        shift = fracs[name] + fmts.lr_shift - fmt.frac
        g = grads[name]
        if shift > 0:
            rand = state.lfsr.draw(g.size, shift).reshape(g.shape)
            step = (g + rand) >> shift
        else:
            state.lfsr.draw(g.size, 0)
            step = g << -shift
        state.tensors[name] = saturate(state.tensors[name] - step, fmt)
    _apply_masks(state)


def _group(name: str) -> str:
    """The UPDATE_ORDER group of a tensor name (the TT-MLP's ``w<k>``, ``b`` update as x_core, bx)."""
    base = name.rstrip("0123456789")
    base = {"w": "x_core", "b": "bx"}.get(base, base)
    if base not in UPDATE_ORDER:
        raise ValueError(f"unknown tensor {name!r}")
    return base


def prune(state: TTState, fmts: TTTrainFormats) -> None:
    """Slice j of a boundary is pruned when S_j * 2**prune_shift < max_j S_j (module docstring)."""
    if not fmts.prune_shift:
        return
    for matrix, shape in state.shapes.items():
        for k in range(1, shape.cores):
            energy, _ = _slice_energy(state, matrix, k)
            mask = state.masks[f"{matrix}_mask{k}"]
            largest = energy.max(axis=1, keepdims=True)
            keep = mask * ((energy << fmts.prune_shift) >= largest)
            # the strongest kept slice always stays (a pruned slice never comes back, even when every kept
            # slice of the boundary has decayed to zero energy)
            strongest = np.where(mask > 0, energy, -1).argmax(axis=1)
            keep[np.arange(keep.shape[0]), strongest] = 1
            state.masks[f"{matrix}_mask{k}"] = keep
    _apply_masks(state)


def ranks(state: TTState) -> dict[str, list[list[int]]]:
    """Effective ranks per matrix and gate."""
    out = {}
    for matrix, shape in state.shapes.items():
        out[matrix] = [
            [1, *(int(state.masks[f"{matrix}_mask{k}"][gi].sum()) for k in range(1, shape.cores)), 1]
            for gi in range(shape.gates)
        ]
    return out


# ------------------------------------------------------------------------------------------------------
# gradient accumulators: exact (default), or held in the ``grad_store`` format
def _stored(part: np.ndarray, frac: int | None, fmts: TTTrainFormats | None) -> np.ndarray:
    """``part`` (an exact gradient with ``frac`` fraction bits) as the accumulator holds it: unchanged,
    or with ``grad_store`` rounded half up into it and saturated."""
    if fmts is None or fmts.grad_store is None or frac is None:
        return part
    return saturate(round_shift(part, frac - fmts.grad_store.frac), fmts.grad_store)


def _accumulate(
    acc: np.ndarray, part: np.ndarray, frac: int | None, fmts: TTTrainFormats | None
) -> np.ndarray:
    """acc + part exactly, or (``grad_store``) sat(acc + part rounded into grad_store): one rounding per
    time step, so that an accumulator is a ``grad_store`` word instead of an exact sum."""
    if fmts is None or fmts.grad_store is None or frac is None:
        return acc + part
    return saturate(acc + _stored(part, frac, fmts), fmts.grad_store)


def _recurrent_fracs(fmts: TTTrainFormats, shapes: dict[str, TTShape]) -> dict[str, int]:
    """Fraction bits of the exact gradients of the GRU / LSTM classifier's tensors."""
    fg = fmts.grad.frac
    fracs = {"bx": fg, "bh": fg, "bhead": fg}
    for matrix, first in (("x_core", fmts.x.frac), ("h_core", fmts.act.frac), ("head", fmts.act.frac)):
        d = shapes[matrix].cores
        fracs.update({f"{matrix}{k}": fg + _input_frac(fmts, k, d, first) for k in range(d)})
    return fracs


def _store_fracs(fracs: dict[str, int], fmts: TTTrainFormats) -> dict[str, int]:
    return fracs if fmts.grad_store is None else dict.fromkeys(fracs, fmts.grad_store.frac)


# ------------------------------------------------------------------------------------------------------
# TT-MLP
def mlp_shapes(inputs: int, outputs: int, params: TensorTrain) -> dict[str, TTShape]:
    return {"w": TTShape.of(outputs, inputs, 1, params)}


def one_hot(labels: np.ndarray, classes: int, fmt: QFormat) -> IntArray:
    out = np.zeros((len(labels), classes), dtype=np.int64)
    out[np.arange(len(labels)), labels] = 1 << fmt.frac
    return out


@dataclass
class StepResult:
    """What one step computed besides the new state (for checks and the engine's status words)."""

    y: IntArray  # outputs before the update (inter)
    grads: dict[str, IntArray]  # exact gradients (after the prior's decay), by tensor
    grad_fracs: dict[str, int]
    loss: float  # 1/2 sum (y - t)^2, for monitoring only


def mlp_step(
    state: TTState, x: IntArray, labels: np.ndarray, fmts: TTTrainFormats
) -> tuple[TTState, StepResult]:
    """One training step of the TT-MLP on a batch x (B, inputs) in ``x`` format."""
    new = state.copy()
    shape = new.shapes["w"]
    cores = new.cores("w")
    y, saved = tt_forward(cores, x, shape, _core_shifts(fmts, shape.cores, fmts.x.frac), fmts.inter)
    y = saturate(y + new.tensors["b"], fmts.inter)
    err = y - one_hot(labels, shape.rows, fmts.inter)
    g_y = saturate(round_shift(err, fmts.inter.frac - fmts.grad.frac), fmts.grad)
    dcores, _ = tt_backward(cores, saved, g_y, shape, fmts.grad, fmts.core.frac, need_input=False)
    grads = {f"w{k}": dcores[k] for k in range(shape.cores)}
    fracs = {
        f"w{k}": fmts.grad.frac + _input_frac(fmts, k, shape.cores, fmts.x.frac) for k in range(shape.cores)
    }
    grads["b"], fracs["b"] = g_y.sum(axis=0), fmts.grad.frac
    grads = {name: _stored(v, fracs[name], fmts) for name, v in grads.items()}
    fracs = _store_fracs(fracs, fmts)
    if fmts.prior_samples:
        _add_decay(new, grads, fracs, fmts, len(x))
    update(new, grads, fracs, fmts)
    prune(new, fmts)
    new.step += 1
    loss = 0.5 * float(((err / 2.0**fmts.inter.frac) ** 2).sum())
    return new, StepResult(y, grads, fracs, loss)


def mlp_predict(state: TTState, x: IntArray, fmts: TTTrainFormats) -> IntArray:
    shape = state.shapes["w"]
    y, _ = tt_forward(state.cores("w"), x, shape, _core_shifts(fmts, shape.cores, fmts.x.frac), fmts.inter)
    return saturate(y + state.tensors["b"], fmts.inter)


def float_mlp_step(
    tensors: dict[str, np.ndarray], shape: TTShape, x: np.ndarray, labels: np.ndarray, lr: float
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """The same algorithm in float64 (no rounding, plain w -= lr g): new tensors, y, gradients."""
    cores = [tensors[f"w{k}"] for k in range(shape.cores)]
    y, saved = tt_forward(cores, x, shape, None, None)
    y = y + tensors["b"]
    target = np.zeros_like(y)
    target[np.arange(len(labels)), labels] = 1.0
    g_y = y - target
    dcores, _ = tt_backward(cores, saved, g_y, shape, None, 0, need_input=False)
    grads = {f"w{k}": dcores[k] for k in range(shape.cores)}
    grads["b"] = g_y.sum(axis=0)
    return {n: tensors[n] - lr * grads[n] for n in tensors}, y, grads


def mlp_forward_bound(
    state: TTState, x: IntArray, fmts: TTTrainFormats
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Bounds on |y_int - y_float| (y_float: the float algorithm on the same, dequantized, numbers) and on
    every core input, by running error analysis: each core adds |G_k| e_in (exact in the integers) plus
    half an ``inter`` LSB of rounding; valid while nothing saturates."""
    shape = state.shapes["w"]
    cores = [np.abs(c.astype(np.float64)) / 2.0**fmts.core.frac for c in state.cores("w")]
    half = 2.0 ** -(fmts.inter.frac + 1)
    e = np.zeros(x.shape)
    n_total = math.prod(shape.col_modes)
    t = np.zeros((x.shape[0], n_total))
    t[:, : shape.cols] = e
    p = n_total // shape.col_modes[-1]
    t = t.reshape(x.shape[0], 1, p, shape.col_modes[-1], 1, 1)
    bounds: list[np.ndarray] = [np.empty(0)] * shape.cores
    for k in range(shape.cores - 1, -1, -1):
        bounds[k] = np.broadcast_to(t, (t.shape[0], 1, *t.shape[2:]))
        out = np.einsum("gaijs,bgpjsq->bgpaiq", cores[k], t) + half
        if k:
            p //= shape.col_modes[k - 1]
            t = out.reshape(x.shape[0], 1, p, shape.col_modes[k - 1], out.shape[3], -1)
        else:
            y = out.reshape(x.shape[0], -1)[:, : shape.rows]
    return y, bounds


def mlp_gradient_bound(
    state: TTState, x: IntArray, labels: np.ndarray, fmts: TTTrainFormats
) -> dict[str, np.ndarray]:
    """Bounds on |dG_k int - dG_k float| (in real units) for the TT-MLP: the output error carries the
    forward bound; the backward contraction adds |G_k|^T e_out plus half a ``grad`` LSB per core; a core
    gradient sum(g t) errs by at most sum(|g| e_t + |t| e_g + e_g e_t) (|g|, |t| of the integer run plus
    their own bounds, so the bound holds for the float values too)."""
    shape = state.shapes["w"]
    cores_i = state.cores("w")
    y_b, t_b = mlp_forward_bound(state, x, fmts)
    shifts = _core_shifts(fmts, shape.cores, fmts.x.frac)
    y, saved = tt_forward(cores_i, x, shape, shifts, fmts.inter)
    y = y + state.tensors["b"]
    err = (y - one_hot(labels, shape.rows, fmts.inter)) / 2.0**fmts.inter.frac
    cores = [np.abs(c.astype(np.float64)) / 2.0**fmts.core.frac for c in cores_i]
    half = 2.0 ** -(fmts.grad.frac + 1)
    b = x.shape[0]
    m_total = math.prod(shape.row_modes)
    e_g = np.zeros((b, 1, m_total))
    e_g[:, :, : shape.rows] = y_b[:, None, :]
    g_abs = np.zeros((b, 1, m_total))
    g_abs[:, :, : shape.rows] = np.abs(err)[:, None, :] + y_b[:, None, :]
    e_g = e_g.reshape(b, 1, 1, 1, shape.row_modes[0], -1)
    g_abs = g_abs.reshape(e_g.shape)
    out = {}
    for k in range(shape.cores):
        t_frac = _input_frac(fmts, k, shape.cores, fmts.x.frac)
        t_abs = np.abs(saved[k].astype(np.float64)) / 2.0**t_frac + t_b[k]
        out[f"w{k}"] = np.einsum("bgpaiq,bgpjsq->gaijs", g_abs, t_b[k]) + np.einsum(
            "bgpaiq,bgpjsq->gaijs", e_g, t_abs
        )
        if k < shape.cores - 1:
            e_next = np.einsum("gaijs,bgpaiq->bgpjsq", cores[k], e_g) + half
            g_next = np.einsum("gaijs,bgpaiq->bgpjsq", cores[k], g_abs) + half
            nxt = saved[k + 1]
            new_shape = (b, 1, nxt.shape[2], shape.ranks[k + 1], shape.row_modes[k + 1], -1)
            e_g, g_abs = e_next.reshape(new_shape), g_next.reshape(new_shape)
    out["b"] = y_b.sum(axis=0)
    return out


# ------------------------------------------------------------------------------------------------------
# TT-GRU classifier
#: per time step, what the GRU's backward pass keeps: the saved inputs of every x-core and h-core, then
#: r, z, h - n, W_hn h + b_hn, the three derivative masks and the valid flag (n itself is not needed)
TAPE_FIELDS = ("x_inputs", "h_inputs", "r", "z", "diff", "ahn", "mask_r", "mask_z", "mask_n", "valid")


def gru_shapes(
    inputs: int, hidden: int, classes: int, params: TensorTrain, head: TensorTrain | None = None
) -> dict[str, TTShape]:
    """Shapes of the TT-GRU classifier; ``head`` None: a dense head (one core), else a TT head."""
    params.check_rank([(hidden, inputs), (hidden, hidden)])
    return {
        "x_core": TTShape.of(hidden, inputs, 3, params),
        "h_core": TTShape.of(hidden, hidden, 3, params),
        "head": TTShape.of(classes, hidden, 1, head),
    }


class _Ops:
    """The GRU's arithmetic in integer mode (formats) or float mode (``fmts`` None)."""

    def __init__(self, fmts: TTTrainFormats | None) -> None:
        self.f = fmts

    def mul(self, a: np.ndarray, b: np.ndarray, shift: int, fmt: str) -> np.ndarray:
        if self.f is None:
            return a * b
        return _rq(a * b, shift, getattr(self.f, fmt))

    def sat(self, a: np.ndarray, fmt: str) -> np.ndarray:
        return a if self.f is None else saturate(a, getattr(self.f, fmt))

    def one(self, fmt: str) -> float | int:
        return 1.0 if self.f is None else 1 << getattr(self.f, fmt).frac

    def hsig(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """sigma(v) in act and its derivative's support |v| < 2."""
        if self.f is None:
            return np.clip(v / 4 + 0.5, 0.0, 1.0), np.abs(v) < 2.0
        fa, fi = self.f.act.frac, self.f.inter.frac
        u = round_shift(v, fi + 2 - fa) + (1 << (fa - 1))
        return np.clip(u, 0, 1 << fa), np.abs(v) < (2 << fi)

    def htanh(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.f is None:
            return np.clip(v, -1.0, 1.0), np.abs(v) < 1.0
        fa, fi = self.f.act.frac, self.f.inter.frac
        return np.clip(round_shift(v, fi - fa), -(1 << fa), 1 << fa), np.abs(v) < (1 << fi)

    def quarter(self, v: np.ndarray) -> np.ndarray:
        return v / 4 if self.f is None else round_shift(v, 2)


def _gru_run(
    tensors: dict[str, np.ndarray],
    shapes: dict[str, TTShape],
    x: np.ndarray,
    lengths: np.ndarray,
    labels: np.ndarray,
    fmts: TTTrainFormats | None,
    backward: bool = True,
    tape_out: list | None = None,
    recompute: bool = False,
    probe: dict | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, dict[str, int]]:
    """Forward (and backward) through time: (y, gradients, per-step hidden states, gradient fracs).

    ``probe``: receives (pre_r, pre_z, pre_n) of every forward step (``probe["forward"]``) and dh, g_ax,
    g_ah of every backward step (``probe["backward"][t]``), for :func:`gru_bounds`.

    ``tape_out``: receives what the backward pass keeps per time step (:data:`TAPE_FIELDS`; with
    ``recompute`` only h_{t-1}), then the head's saved input (the memory benchmark counts it).
    ``recompute``: the backward pass runs each step's forward again from h_{t-1} and x_t instead of keeping
    its intermediate results (one more forward contraction per step, the same integers: a test checks)."""
    ops = _Ops(fmts)
    sx, sh, shd = shapes["x_core"], shapes["h_core"], shapes["head"]
    hidden = sh.rows
    xc = [tensors[f"x_core{k}"] for k in range(sx.cores)]
    hc = [tensors[f"h_core{k}"] for k in range(sh.cores)]
    head = [tensors[f"head{k}"] for k in range(shd.cores)]
    integer = fmts is not None
    shx = _core_shifts(fmts, sx.cores, fmts.x.frac) if integer else None
    shh = _core_shifts(fmts, sh.cores, fmts.act.frac) if integer else None
    shhead = _core_shifts(fmts, shd.cores, fmts.act.frac) if integer else None
    inter = fmts.inter if integer else None
    fa = fmts.act.frac if integer else 0
    fi = fmts.inter.frac if integer else 0
    fg = fmts.grad.frac if integer else 0
    b, steps = x.shape[0], x.shape[1]
    h = np.zeros((b, hidden), dtype=np.int64 if integer else np.float64)
    tape = []
    hs = []

    def cell(t: int, h: np.ndarray) -> tuple[np.ndarray, tuple]:
        ax, sax = tt_forward(xc, x[:, t], sx, shx, inter)
        ah, sah = tt_forward(hc, h, sh, shh, inter)
        ax, ah = ops.sat(ax + tensors["bx"], "inter"), ops.sat(ah + tensors["bh"], "inter")
        pre_r = ops.sat(ax[:, :hidden] + ah[:, :hidden], "inter")
        pre_z = ops.sat(ax[:, hidden : 2 * hidden] + ah[:, hidden : 2 * hidden], "inter")
        r, mr = ops.hsig(pre_r)
        z, mz = ops.hsig(pre_z)
        ahn = ah[:, 2 * hidden :]
        pre_n = ops.sat(ax[:, 2 * hidden :] + ops.mul(r, ahn, fa, "inter"), "inter")
        n, mn = ops.htanh(pre_n)
        diff = h - n
        h_new = ops.sat(n + ops.mul(z, diff, fa, "act"), "act")
        valid = (t < lengths)[:, None]
        if probe is not None and len(probe.setdefault("forward", [])) < steps:
            probe["forward"].append((pre_r, pre_z, pre_n))
        return np.where(valid, h_new, h), (sax, sah, r, z, diff, ahn, mr, mz, mn, valid)

    for t in range(steps):
        h_prev = h
        h, entry = cell(t, h_prev)
        # recompute: keep only h_{t-1} (x_t is the input); the backward pass runs the step again
        tape.append(h_prev if recompute else entry)
        hs.append(h)
    y, shead = tt_forward(head, h, shd, shhead, inter)
    y = ops.sat(y + tensors["bhead"], "inter")
    if tape_out is not None:
        tape_out.extend(tape)
        tape_out.append(shead)
    if not backward:
        return y, {}, np.stack(hs, axis=1), {}
    target = np.zeros_like(y)
    target[np.arange(b), labels] = ops.one("inter")
    err = y - target
    g_y = saturate(round_shift(err, fi - fg), fmts.grad) if integer else err
    gfmt = fmts.grad if integer else None
    cfrac = fmts.core.frac if integer else 0
    d_head, dh = tt_backward(head, shead, g_y, shd, gfmt, cfrac)
    exact = _recurrent_fracs(fmts, shapes) if integer else {}
    grads = {f"head{k}": _stored(d_head[k], exact.get(f"head{k}"), fmts) for k in range(shd.cores)}
    grads["bhead"] = _stored(g_y.sum(axis=0), exact.get("bhead"), fmts)
    gx = [np.zeros_like(c) for c in xc]
    gh = [np.zeros_like(c) for c in hc]
    gbx = np.zeros(3 * hidden, dtype=h.dtype)
    gbh = np.zeros(3 * hidden, dtype=h.dtype)
    for t in range(steps - 1, -1, -1):
        entry = cell(t, tape[t])[1] if recompute else tape[t]
        sax, sah, r, z, diff, ahn, mr, mz, mn, valid = entry
        dz_h = ops.mul(dh, z, fa, "grad")
        dn = ops.sat(dh - dz_h, "grad") * mn
        dz = ops.mul(dh, diff, fa, "grad")
        dpre_z = ops.quarter(dz) * mz
        dr = ops.mul(dn, ahn, fi, "grad")
        dpre_r = ops.quarter(dr) * mr
        dahn = ops.mul(dn, r, fa, "grad")
        g_ax = np.concatenate([dpre_r, dpre_z, dn], axis=1) * valid
        g_ah = np.concatenate([dpre_r, dpre_z, dahn], axis=1) * valid
        if probe is not None:
            probe.setdefault("backward", {})[t] = (dh, g_ax, g_ah)
        dcx, _ = tt_backward(xc, sax, g_ax, sx, gfmt, cfrac, need_input=False)
        dch, dh_prev = tt_backward(hc, sah, g_ah, sh, gfmt, cfrac)
        for k in range(sx.cores):
            gx[k] = _accumulate(gx[k], dcx[k], exact.get(f"x_core{k}"), fmts)
        for k in range(sh.cores):
            gh[k] = _accumulate(gh[k], dch[k], exact.get(f"h_core{k}"), fmts)
        gbx = _accumulate(gbx, g_ax.sum(axis=0), exact.get("bx"), fmts)
        gbh = _accumulate(gbh, g_ah.sum(axis=0), exact.get("bh"), fmts)
        dh = np.where(valid, ops.sat(dz_h + dh_prev, "grad"), dh)
    grads.update({f"x_core{k}": gx[k] for k in range(sx.cores)})
    grads.update({f"h_core{k}": gh[k] for k in range(sh.cores)})
    grads["bx"], grads["bh"] = gbx, gbh
    fracs: dict[str, int] = {}
    if integer:
        for k in range(sx.cores):
            fracs[f"x_core{k}"] = fg + _input_frac(fmts, k, sx.cores, fmts.x.frac)
        for k in range(sh.cores):
            fracs[f"h_core{k}"] = fg + _input_frac(fmts, k, sh.cores, fa)
        for k in range(shd.cores):
            fracs[f"head{k}"] = fg + _input_frac(fmts, k, shd.cores, fa)
        fracs.update({"bx": fg, "bh": fg, "bhead": fg})
        fracs = _store_fracs(fracs, fmts)
    return y, grads, np.stack(hs, axis=1), fracs


def gru_step(
    state: TTState,
    x: IntArray,
    lengths: np.ndarray,
    labels: np.ndarray,
    fmts: TTTrainFormats,
    recompute: bool = False,
) -> tuple[TTState, StepResult]:
    """One training step of the TT-GRU classifier on a batch x (B, T, inputs) in ``x`` format
    (``recompute``: keep only h per step and recompute the rest in the backward pass; same result)."""
    new = state.copy()
    y, grads, _, fracs = _gru_run(new.tensors, new.shapes, x, lengths, labels, fmts, recompute=recompute)
    if fmts.prior_samples:
        _add_decay(new, grads, fracs, fmts, len(x))
    update(new, grads, fracs, fmts)
    prune(new, fmts)
    new.step += 1
    err = (y - one_hot(labels, new.shapes["head"].rows, fmts.inter)) / 2.0**fmts.inter.frac
    return new, StepResult(y, grads, fracs, 0.5 * float((err**2).sum()))


def gru_predict(state: TTState, x: IntArray, lengths: np.ndarray, fmts: TTTrainFormats) -> IntArray:
    y, _, _, _ = _gru_run(
        state.tensors, state.shapes, x, lengths, np.zeros(len(x), int), fmts, backward=False
    )
    return y


def float_gru_step(
    tensors: dict[str, np.ndarray],
    shapes: dict[str, TTShape],
    x: np.ndarray,
    lengths: np.ndarray,
    labels: np.ndarray,
    lr: float,
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """The same algorithm in float64: new tensors, y, gradients, hidden states (B, T, H)."""
    y, grads, hs, _ = _gru_run(tensors, shapes, x, lengths, labels, None)
    return {n: tensors[n] - lr * grads[n] for n in tensors}, y, grads, hs


def dequantized(state: TTState, fmts: TTTrainFormats) -> dict[str, np.ndarray]:
    """The state's tensors as floats (cores in ``core``, biases in ``inter``)."""
    return {
        n: v / 2.0 ** (fmts.inter.frac if n.startswith("b") else fmts.core.frac)
        for n, v in state.tensors.items()
    }


# ------------------------------------------------------------------------------------------------------
# TT-LSTM classifier
#: per time step, what the LSTM's backward pass keeps: the saved inputs of every x-core and h-core, the
#: four gates i, f, g, o, c_{t-1}, tanh(c_t), the five derivative masks and the valid flag
LSTM_TAPE_FIELDS = (
    "x_inputs", "h_inputs", "i", "f", "g", "o", "c_prev", "tc",
    "mask_i", "mask_f", "mask_g", "mask_o", "mask_c", "valid",
)  # fmt: skip


def lstm_shapes(
    inputs: int, hidden: int, classes: int, params: TensorTrain, head: TensorTrain | None = None
) -> dict[str, TTShape]:
    """Shapes of the TT-LSTM classifier (gates i, f, g, o stacked as PyTorch stacks them); ``head`` None:
    a dense head (one core), else a TT head."""
    params.check_rank([(hidden, inputs), (hidden, hidden)])
    return {
        "x_core": TTShape.of(hidden, inputs, 4, params),
        "h_core": TTShape.of(hidden, hidden, 4, params),
        "head": TTShape.of(classes, hidden, 1, head),
    }


def _lstm_cell_state(ops: _Ops, f: np.ndarray, c: np.ndarray, i: np.ndarray, g: np.ndarray) -> np.ndarray:
    """c_t = f c_{t-1} + i g, summed exactly and rounded once into ``inter`` (f c has f_act + f_inter
    fraction bits, i g has 2 f_act: aligned by a left shift of f_inter - f_act >= 0, exact)."""
    if ops.f is None:
        return f * c + i * g
    fa, fi = ops.f.act.frac, ops.f.inter.frac
    return _rq(f * c + ((i * g) << (fi - fa)), fa, ops.f.inter)


def _lstm_run(
    tensors: dict[str, np.ndarray],
    shapes: dict[str, TTShape],
    x: np.ndarray,
    lengths: np.ndarray,
    labels: np.ndarray,
    fmts: TTTrainFormats | None,
    backward: bool = True,
    tape_out: list | None = None,
    recompute: bool = False,
    probe: dict | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, dict[str, int]]:
    """Forward (and backward) through time of the TT-LSTM: (y, gradients, per-step h, gradient fracs).

    ``tape_out`` and ``recompute`` as in the GRU (:func:`_gru_run`); with ``recompute`` a step keeps
    h_{t-1} and c_{t-1} only. ``probe``: receives (pre-activations, c_t) of every forward step
    (``probe["forward"]``) and dh, dc, g_pre of every backward step (``probe["backward"][t]``), for the
    error analysis of :func:`lstm_bounds`."""
    ops = _Ops(fmts)
    sx, sh, shd = shapes["x_core"], shapes["h_core"], shapes["head"]
    hid = sh.rows
    xc = [tensors[f"x_core{k}"] for k in range(sx.cores)]
    hc = [tensors[f"h_core{k}"] for k in range(sh.cores)]
    head = [tensors[f"head{k}"] for k in range(shd.cores)]
    integer = fmts is not None
    shx = _core_shifts(fmts, sx.cores, fmts.x.frac) if integer else None
    shh = _core_shifts(fmts, sh.cores, fmts.act.frac) if integer else None
    shhead = _core_shifts(fmts, shd.cores, fmts.act.frac) if integer else None
    inter = fmts.inter if integer else None
    fa = fmts.act.frac if integer else 0
    fi = fmts.inter.frac if integer else 0
    fg = fmts.grad.frac if integer else 0
    b, steps = x.shape[0], x.shape[1]
    dtype = np.int64 if integer else np.float64
    h = np.zeros((b, hid), dtype=dtype)
    c = np.zeros((b, hid), dtype=dtype)
    tape: list = []
    hs = []

    def cell(t: int, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
        ax, sax = tt_forward(xc, x[:, t], sx, shx, inter)
        ah, sah = tt_forward(hc, h, sh, shh, inter)
        ax, ah = ops.sat(ax + tensors["bx"], "inter"), ops.sat(ah + tensors["bh"], "inter")
        pre = ops.sat(ax + ah, "inter")
        i, mi = ops.hsig(pre[:, :hid])
        f, mf = ops.hsig(pre[:, hid : 2 * hid])
        g, mg = ops.htanh(pre[:, 2 * hid : 3 * hid])
        o, mo = ops.hsig(pre[:, 3 * hid :])
        c_new = _lstm_cell_state(ops, f, c, i, g)
        tc, mc = ops.htanh(c_new)
        h_new = ops.mul(o, tc, fa, "act")
        valid = (t < lengths)[:, None]
        entry = (sax, sah, i, f, g, o, c, tc, mi, mf, mg, mo, mc, valid)
        if probe is not None and len(probe.setdefault("forward", [])) < steps:
            probe["forward"].append((pre, c_new))
        return np.where(valid, h_new, h), np.where(valid, c_new, c), entry

    for t in range(steps):
        h_prev, c_prev = h, c
        h, c, entry = cell(t, h_prev, c_prev)
        tape.append((h_prev, c_prev) if recompute else entry)
        hs.append(h)
    y, shead = tt_forward(head, h, shd, shhead, inter)
    y = ops.sat(y + tensors["bhead"], "inter")
    if tape_out is not None:
        tape_out.extend(tape)
        tape_out.append(shead)
    if not backward:
        return y, {}, np.stack(hs, axis=1), {}
    target = np.zeros_like(y)
    target[np.arange(b), labels] = ops.one("inter")
    err = y - target
    g_y = saturate(round_shift(err, fi - fg), fmts.grad) if integer else err
    gfmt = fmts.grad if integer else None
    cfrac = fmts.core.frac if integer else 0
    d_head, dh = tt_backward(head, shead, g_y, shd, gfmt, cfrac)
    exact = _recurrent_fracs(fmts, shapes) if integer else {}
    grads = {f"head{k}": _stored(d_head[k], exact.get(f"head{k}"), fmts) for k in range(shd.cores)}
    grads["bhead"] = _stored(g_y.sum(axis=0), exact.get("bhead"), fmts)
    gx = [np.zeros_like(core) for core in xc]
    gh = [np.zeros_like(core) for core in hc]
    gb = np.zeros(4 * hid, dtype=dtype)
    dc = np.zeros_like(dh)
    for t in range(steps - 1, -1, -1):
        entry = cell(t, *tape[t])[2] if recompute else tape[t]
        sax, sah, i, f, g, o, c_prev, tc, mi, mf, mg, mo, mc, valid = entry
        do = ops.mul(dh, tc, fa, "grad")
        dc_t = ops.sat(dc + ops.mul(dh, o, fa, "grad") * mc, "grad")
        df = ops.mul(dc_t, c_prev, fi, "grad")
        di = ops.mul(dc_t, g, fa, "grad")
        dg = ops.mul(dc_t, i, fa, "grad")
        dc_prev = ops.mul(dc_t, f, fa, "grad")
        g_pre = (
            np.concatenate(
                [ops.quarter(di) * mi, ops.quarter(df) * mf, dg * mg, ops.quarter(do) * mo], axis=1
            )
            * valid
        )
        if probe is not None:
            probe.setdefault("backward", {})[t] = (dh, dc, g_pre)
        dcx, _ = tt_backward(xc, sax, g_pre, sx, gfmt, cfrac, need_input=False)
        dch, dh_prev = tt_backward(hc, sah, g_pre, sh, gfmt, cfrac)
        for k in range(sx.cores):
            gx[k] = _accumulate(gx[k], dcx[k], exact.get(f"x_core{k}"), fmts)
        for k in range(sh.cores):
            gh[k] = _accumulate(gh[k], dch[k], exact.get(f"h_core{k}"), fmts)
        gb = _accumulate(gb, g_pre.sum(axis=0), exact.get("bx"), fmts)
        dh = np.where(valid, dh_prev, dh)
        dc = np.where(valid, dc_prev, dc)
    grads.update({f"x_core{k}": gx[k] for k in range(sx.cores)})
    grads.update({f"h_core{k}": gh[k] for k in range(sh.cores)})
    grads["bx"], grads["bh"] = gb, gb.copy()  # both biases add into the same pre-activation
    fracs: dict[str, int] = {}
    if integer:
        for k in range(sx.cores):
            fracs[f"x_core{k}"] = fg + _input_frac(fmts, k, sx.cores, fmts.x.frac)
        for k in range(sh.cores):
            fracs[f"h_core{k}"] = fg + _input_frac(fmts, k, sh.cores, fa)
        for k in range(shd.cores):
            fracs[f"head{k}"] = fg + _input_frac(fmts, k, shd.cores, fa)
        fracs.update({"bx": fg, "bh": fg, "bhead": fg})
        fracs = _store_fracs(fracs, fmts)
    return y, grads, np.stack(hs, axis=1), fracs


def lstm_step(
    state: TTState,
    x: IntArray,
    lengths: np.ndarray,
    labels: np.ndarray,
    fmts: TTTrainFormats,
    recompute: bool = False,
) -> tuple[TTState, StepResult]:
    """One training step of the TT-LSTM classifier on a batch x (B, T, inputs) in ``x`` format
    (``recompute``: keep only h and c per step and recompute the rest in the backward pass; same result)."""
    new = state.copy()
    y, grads, _, fracs = _lstm_run(new.tensors, new.shapes, x, lengths, labels, fmts, recompute=recompute)
    if fmts.prior_samples:
        _add_decay(new, grads, fracs, fmts, len(x))
    update(new, grads, fracs, fmts)
    prune(new, fmts)
    new.step += 1
    err = (y - one_hot(labels, new.shapes["head"].rows, fmts.inter)) / 2.0**fmts.inter.frac
    return new, StepResult(y, grads, fracs, 0.5 * float((err**2).sum()))


def lstm_predict(state: TTState, x: IntArray, lengths: np.ndarray, fmts: TTTrainFormats) -> IntArray:
    y, _, _, _ = _lstm_run(
        state.tensors, state.shapes, x, lengths, np.zeros(len(x), int), fmts, backward=False
    )
    return y


def float_lstm_step(
    tensors: dict[str, np.ndarray],
    shapes: dict[str, TTShape],
    x: np.ndarray,
    lengths: np.ndarray,
    labels: np.ndarray,
    lr: float,
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """The same algorithm in float64: new tensors, y, gradients, hidden states (B, T, H)."""
    y, grads, hs, _ = _lstm_run(tensors, shapes, x, lengths, labels, None)
    return {n: tensors[n] - lr * grads[n] for n in tensors}, y, grads, hs


# ------------------------------------------------------------------------------------------------------
# error bounds of the recurrent steps against their float reference (running error analysis through time)
class _Bounds:
    """What the running error analysis needs of one state: per matrix the cores as reals, their absolute
    values and |W| (the dense product's absolute values, per gate), and half an LSB of each format."""

    def __init__(self, state: TTState, fmts: TTTrainFormats) -> None:
        deq = dequantized(state, fmts)
        self.shapes = state.shapes
        self.real = {m: [deq[f"{m}{k}"] for k in range(s.cores)] for m, s in state.shapes.items()}
        self.abs = {m: [np.abs(c) for c in cores] for m, cores in self.real.items()}
        self.dense = {}
        for m, shape in state.shapes.items():
            w, _ = tt_forward(self.real[m], np.eye(shape.cols), shape, None, None)  # (cols, G*rows): W^T
            self.dense[m] = np.abs(w.T).reshape(shape.gates, shape.rows, shape.cols)
        self.fa, self.fi, self.fg = fmts.act.frac, fmts.inter.frac, fmts.grad.frac
        self.ha, self.hi, self.hg = (2.0 ** -(f + 1) for f in (self.fa, self.fi, self.fg))
        self.fx = fmts.x.frac

    def forward(self, m: str, e_in: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Bound on |y_int - y_float| (B, G*rows) of one TT product and on every core's input, from a
        bound ``e_in`` (B, cols) on the input: core k adds |G_k| e + 1/2 LSB(inter). The output's bound
        is also |W| e_in + the roundings' part alone (the cores are the same numbers in both runs, so the
        input's error goes through the dense product); the smaller of the two is returned."""
        shape = self.shapes[m]
        g, d, b = shape.gates, shape.cores, e_in.shape[0]
        n_total = math.prod(shape.col_modes)

        def run(e: np.ndarray, saved: list[np.ndarray] | None) -> np.ndarray:
            t = np.zeros((b, n_total))
            t[:, : shape.cols] = e
            p = n_total // shape.col_modes[-1]
            t = np.broadcast_to(
                t.reshape(b, 1, p, shape.col_modes[-1], 1, 1), (b, g, p, shape.col_modes[-1], 1, 1)
            )
            for k in range(d - 1, -1, -1):
                if saved is not None:
                    saved[k] = t
                out = np.einsum("gaijs,bgpjsq->bgpaiq", self.abs[m][k], t) + self.hi
                if k:
                    p //= shape.col_modes[k - 1]
                    t = out.reshape(b, g, p, shape.col_modes[k - 1], out.shape[3], -1)
            return out.reshape(b, g, -1)[:, :, : shape.rows].reshape(b, g * shape.rows)

        saved: list[np.ndarray] = [np.empty(0)] * d
        chained = run(e_in, saved)
        through_w = np.einsum("grc,bc->bgr", self.dense[m], e_in).reshape(b, -1) + run(
            np.zeros_like(e_in), None
        )
        return np.minimum(chained, through_w), saved

    def backward(
        self, m: str, t_int: list[np.ndarray], first_frac: int, t_err: list[np.ndarray], g_val: np.ndarray,
        g_err: np.ndarray,
    ) -> tuple[list[np.ndarray], np.ndarray]:  # fmt: skip
        """Bounds of one backward contraction from the integer run's backward signal ``g_val`` (real,
        signed) and its bound ``g_err``: per core |dG_int - dG_float| <= sum |g| e_t + e_g (|t| + e_t)
        (|t| the integer run's saved inputs ``t_int``; |g| of the integer run at core k is at most
        |G^T ... g_val| + the roundings so far), and the input gradient's bound: each backward core adds
        |G_k|^T e + 1/2 LSB(grad), or at most |W|^T e_g + the roundings' part (the smaller)."""
        shape = self.shapes[m]
        g, d, b = shape.gates, shape.cores, g_val.shape[0]
        m_total = math.prod(shape.row_modes)

        def laid_out(v: np.ndarray) -> np.ndarray:
            out = np.zeros((b, g, m_total))
            out[:, :, : shape.rows] = v.reshape(b, g, shape.rows)
            return out.reshape(b, g, 1, 1, shape.row_modes[0], -1)

        gv, ge = laid_out(g_val), laid_out(g_err)
        slack = np.zeros_like(gv)
        bounds: list[np.ndarray] = []
        for k in range(d):
            frac = first_frac if k == d - 1 else self.fi
            t_abs = np.abs(t_int[k].astype(np.float64)) / 2.0**frac
            bounds.append(
                np.einsum("bgpaiq,bgpjsq->gaijs", np.abs(gv) + slack, t_err[k])
                + np.einsum("bgpaiq,bgpjsq->gaijs", ge, t_abs + t_err[k])
            )
            gv = np.einsum("gaijs,bgpaiq->bgpjsq", self.real[m][k], gv)
            slack, ge = (np.einsum("gaijs,bgpaiq->bgpjsq", self.abs[m][k], v) + self.hg for v in (slack, ge))
            if k < d - 1:
                new_shape = (b, g, t_int[k + 1].shape[2], shape.ranks[k + 1], shape.row_modes[k + 1], -1)
                gv, slack, ge = (v.reshape(new_shape) for v in (gv, slack, ge))

        def to_input(v: np.ndarray) -> np.ndarray:
            return v.sum(axis=1).reshape(b, -1)[:, : shape.cols]

        through_w = np.einsum("grc,bgr->bc", self.dense[m], g_err.reshape(b, g, shape.rows)) + to_input(slack)
        return bounds, np.minimum(to_input(ge), through_w)


def _product_error(a: np.ndarray, ea: np.ndarray, b: np.ndarray, eb: np.ndarray) -> np.ndarray:
    """|a b - a' b'| for |a - a'| <= ea, |b - b'| <= eb (|a|, |b| of the integer run)."""
    return a * eb + b * ea + ea * eb


def _activation_error(
    pre: np.ndarray, e_pre: np.ndarray, clip: float, slope: float, half: float
) -> np.ndarray:
    """Error of a hard activation's output: 0 where the integer pre-activation lies beyond the clip point
    by more than its bound (both runs give exactly the clipped value), else slope * e_pre + its rounding."""
    return np.where(np.abs(pre) - clip > e_pre, 0.0, slope * e_pre + half)


def _masked_error(
    value: np.ndarray, err: np.ndarray, mask: np.ndarray, pre: np.ndarray, e_pre: np.ndarray, clip: float
) -> np.ndarray:
    """Error of value * mask when the float run's mask may differ: where the pre-activation lies within
    its error bound of the clip point, the float mask is unknown and the error is the whole |value'|."""
    unsure = np.abs(np.abs(pre) - clip) <= e_pre
    return np.where(unsure, value + err, mask * err)


def _head_bounds(
    bd: _Bounds, out: dict[str, np.ndarray], tape: list, y: IntArray, labels: np.ndarray, e_h: np.ndarray,
    fmts: TTTrainFormats,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The head's bounds: y's and dL/dh's (returned), its gradients' (into ``out``)."""
    shd = bd.shapes["head"]
    y_bound, t_err = bd.forward("head", e_h)
    err = (y - one_hot(labels, shd.rows, fmts.inter)) / 2.0**bd.fi
    d_head, e_dh = bd.backward("head", tape[-1], bd.fa, t_err, err, y_bound)
    out.update({f"head{k}": d_head[k] for k in range(shd.cores)})
    out["bhead"] = y_bound.sum(axis=0)
    return y_bound, e_dh


def lstm_bounds(
    state: TTState, x: IntArray, lengths: np.ndarray, labels: np.ndarray, fmts: TTTrainFormats
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Bounds on |y_int - y_float| (B, classes) and on every gradient element |g_int - g_float| (real
    units) of :func:`lstm_step` against :func:`float_lstm_step` on the same (dequantized) state and input,
    by running error analysis through time (docs/numerics.md section 16):

    * forward: a TT product adds |G_k| e_in + 1/2 LSB(inter) per core (or |W| e_in + the roundings); the
      hard sigmoid is 1/4-Lipschitz and the hard tanh 1-Lipschitz, plus 1/2 LSB(act) of rounding; a
      product a b errs by |a| e_b + |b| e_a + e_a e_b, plus 1/2 LSB of the format it rounds into;
    * backward: the same rules with 1/2 LSB(grad), the magnitudes those rules need taken from the integer
      run itself (its backward signals, recorded by ``probe``); a derivative mask is exact where the
      integer pre-activation lies farther than its bound from the clip point, elsewhere the masked
      value's whole magnitude is counted (so the bound holds whatever the float run's mask is).

    Valid while nothing saturates (the tests check the bounds on unsaturated cases)."""
    bd = _Bounds(state, fmts)
    hid = state.shapes["h_core"].rows
    tape: list = []
    probe: dict = {}
    y, _, _, _ = _lstm_run(state.tensors, state.shapes, x, lengths, labels, fmts, tape_out=tape, probe=probe)
    fa, fi, fg, ha, hi, hg = bd.fa, bd.fi, bd.fg, bd.ha, bd.hi, bd.hg
    b, steps = x.shape[0], x.shape[1]
    e_h, e_c = np.zeros((b, hid)), np.zeros((b, hid))
    fwd = []
    for t in range(steps):
        entry = dict(zip(LSTM_TAPE_FIELDS, tape[t], strict=True))
        e_ax, tx_err = bd.forward("x_core", np.zeros((b, x.shape[2])))
        e_ah, th_err = bd.forward("h_core", e_h)
        e_pre = e_ax + e_ah
        pre, c_new = (v / 2.0**fi for v in probe["forward"][t])
        i, f, g, o = (np.abs(entry[n]) / 2.0**fa for n in ("i", "f", "g", "o"))
        c_prev = np.abs(entry["c_prev"]) / 2.0**fi
        tc = np.abs(entry["tc"]) / 2.0**fa
        gate = [np.s_[:, j * hid : (j + 1) * hid] for j in range(4)]
        e_i, e_f, e_o = (_activation_error(pre[gate[j]], e_pre[gate[j]], 2.0, 0.25, ha) for j in (0, 1, 3))
        e_g = _activation_error(pre[gate[2]], e_pre[gate[2]], 1.0, 1.0, ha)
        e_c_new = _product_error(f, e_f, c_prev, e_c) + _product_error(i, e_i, g, e_g) + hi
        e_tc = _activation_error(c_new, e_c_new, 1.0, 1.0, ha)
        e_h_new = _product_error(o, e_o, tc, e_tc) + ha
        fwd.append({
            "e_pre": e_pre, "e_i": e_i, "e_f": e_f, "e_g": e_g, "e_o": e_o, "e_c_prev": e_c, "e_c_new": e_c_new,
            "e_tc": e_tc, "tx_err": tx_err, "th_err": th_err,
        })  # fmt: skip
        valid = entry["valid"]
        e_h, e_c = np.where(valid, e_h_new, e_h), np.where(valid, e_c_new, e_c)
    out: dict[str, np.ndarray] = {}
    y_bound, e_dh = _head_bounds(bd, out, tape, y, labels, e_h, fmts)
    bx = [np.zeros(bd.shapes["x_core"].core_shape(k)) for k in range(bd.shapes["x_core"].cores)]
    bh = [np.zeros(bd.shapes["h_core"].core_shape(k)) for k in range(bd.shapes["h_core"].cores)]
    bb = np.zeros(4 * hid)
    e_dc = np.zeros((b, hid))
    for t in range(steps - 1, -1, -1):
        entry = dict(zip(LSTM_TAPE_FIELDS, tape[t], strict=True))
        e = fwd[t]
        pre, c_new = (v / 2.0**fi for v in probe["forward"][t])
        dh, dc, g_pre = (
            np.abs(v) / 2.0**fg if k < 2 else v / 2.0**fg for k, v in enumerate(probe["backward"][t])
        )
        i, f, g, o = (np.abs(entry[n]) / 2.0**fa for n in ("i", "f", "g", "o"))
        c_prev = np.abs(entry["c_prev"]) / 2.0**fi
        tc = np.abs(entry["tc"]) / 2.0**fa
        valid = entry["valid"]
        do, e_do = dh * tc + hg, _product_error(dh, e_dh, tc, e["e_tc"]) + hg
        dtc, e_dtc = dh * o + hg, _product_error(dh, e_dh, o, e["e_o"]) + hg
        e_dtc = _masked_error(dtc, e_dtc, entry["mask_c"], c_new, e["e_c_new"], 1.0)
        dct, e_dct = dc + dtc * entry["mask_c"], e_dc + e_dtc
        df, e_df = dct * c_prev + hg, _product_error(dct, e_dct, c_prev, e["e_c_prev"]) + hg
        di, e_di = dct * g + hg, _product_error(dct, e_dct, g, e["e_g"]) + hg
        dg, e_dg = dct * i + hg, _product_error(dct, e_dct, i, e["e_i"]) + hg
        e_dcp = _product_error(dct, e_dct, f, e["e_f"]) + hg
        parts = [  # (value, error, mask, clip point) of dpre per gate: sigma' = 1/4 inside |v| < 2
            (di / 4 + hg, e_di / 4 + hg, entry["mask_i"], 2.0),
            (df / 4 + hg, e_df / 4 + hg, entry["mask_f"], 2.0),
            (dg, e_dg, entry["mask_g"], 1.0),
            (do / 4 + hg, e_do / 4 + hg, entry["mask_o"], 2.0),
        ]
        g_err = (
            np.concatenate(
                [
                    _masked_error(
                        v,
                        er,
                        m,
                        pre[:, j * hid : (j + 1) * hid],
                        e["e_pre"][:, j * hid : (j + 1) * hid],
                        clip,
                    )
                    for j, (v, er, m, clip) in enumerate(parts)
                ],
                axis=1,
            )
            * valid
        )
        dcx, _ = bd.backward("x_core", entry["x_inputs"], bd.fx, e["tx_err"], g_pre, g_err)
        dch, e_dhp = bd.backward("h_core", entry["h_inputs"], fa, e["th_err"], g_pre, g_err)
        for k in range(len(bx)):
            bx[k] += dcx[k]
        for k in range(len(bh)):
            bh[k] += dch[k]
        bb += g_err.sum(axis=0)
        e_dh, e_dc = np.where(valid, e_dhp, e_dh), np.where(valid, e_dcp, e_dc)
    out.update({f"x_core{k}": bx[k] for k in range(len(bx))})
    out.update({f"h_core{k}": bh[k] for k in range(len(bh))})
    out["bx"], out["bh"] = bb, bb.copy()
    return y_bound, out


def gru_bounds(
    state: TTState, x: IntArray, lengths: np.ndarray, labels: np.ndarray, fmts: TTTrainFormats
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Bounds on |y_int - y_float| and on every gradient element of :func:`gru_step` against
    :func:`float_gru_step` (real units): the running error analysis of :func:`lstm_bounds` applied to the
    GRU's rounding points (docs/numerics.md section 16). Valid while nothing saturates."""
    bd = _Bounds(state, fmts)
    hid = state.shapes["h_core"].rows
    tape: list = []
    probe: dict = {}
    y, _, _, _ = _gru_run(state.tensors, state.shapes, x, lengths, labels, fmts, tape_out=tape, probe=probe)
    fa, fi, fg, ha, hi, hg = bd.fa, bd.fi, bd.fg, bd.ha, bd.hi, bd.hg
    b, steps = x.shape[0], x.shape[1]
    e_h = np.zeros((b, hid))
    fwd = []
    for t in range(steps):
        e = dict(zip(TAPE_FIELDS, tape[t], strict=True))
        e_ax, tx_err = bd.forward("x_core", np.zeros((b, x.shape[2])))
        e_ah, th_err = bd.forward("h_core", e_h)
        r, z = np.abs(e["r"]) / 2.0**fa, np.abs(e["z"]) / 2.0**fa
        ahn, diff = np.abs(e["ahn"]) / 2.0**fi, np.abs(e["diff"]) / 2.0**fa
        pre_r, pre_z, pre_n = (v / 2.0**fi for v in probe["forward"][t])
        e_pre_r = e_ax[:, :hid] + e_ah[:, :hid]
        e_pre_z = e_ax[:, hid : 2 * hid] + e_ah[:, hid : 2 * hid]
        e_r = _activation_error(pre_r, e_pre_r, 2.0, 0.25, ha)
        e_z = _activation_error(pre_z, e_pre_z, 2.0, 0.25, ha)
        e_ahn = e_ah[:, 2 * hid :]
        e_pre_n = e_ax[:, 2 * hid :] + _product_error(r, e_r, ahn, e_ahn) + hi
        e_n = _activation_error(pre_n, e_pre_n, 1.0, 1.0, ha)
        e_diff = e_h + e_n
        e_h_new = e_n + _product_error(z, e_z, diff, e_diff) + ha
        fwd.append({
            "e_pre": (e_pre_r, e_pre_z, e_pre_n), "e_r": e_r, "e_z": e_z, "e_ahn": e_ahn, "e_diff": e_diff,
            "tx_err": tx_err, "th_err": th_err,
        })  # fmt: skip
        e_h = np.where(e["valid"], e_h_new, e_h)
    out: dict[str, np.ndarray] = {}
    y_bound, e_dh = _head_bounds(bd, out, tape, y, labels, e_h, fmts)
    bx = [np.zeros(bd.shapes["x_core"].core_shape(k)) for k in range(bd.shapes["x_core"].cores)]
    bh = [np.zeros(bd.shapes["h_core"].core_shape(k)) for k in range(bd.shapes["h_core"].cores)]
    bbx, bbh = np.zeros(3 * hid), np.zeros(3 * hid)
    for t in range(steps - 1, -1, -1):
        e = dict(zip(TAPE_FIELDS, tape[t], strict=True))
        f = fwd[t]
        pre_r, pre_z, pre_n = (v / 2.0**fi for v in probe["forward"][t])
        e_pre_r, e_pre_z, e_pre_n = f["e_pre"]
        dh_int, g_ax_int, g_ah_int = probe["backward"][t]
        dh, g_ax, g_ah = np.abs(dh_int) / 2.0**fg, g_ax_int / 2.0**fg, g_ah_int / 2.0**fg
        r, z = np.abs(e["r"]) / 2.0**fa, np.abs(e["z"]) / 2.0**fa
        ahn, diff = np.abs(e["ahn"]) / 2.0**fi, np.abs(e["diff"]) / 2.0**fa
        valid = e["valid"]
        dzh, e_dzh = dh * z + hg, _product_error(dh, e_dh, z, f["e_z"]) + hg
        e_dn = _masked_error(dh + dzh, e_dh + e_dzh, e["mask_n"], pre_n, e_pre_n, 1.0)
        dn = np.abs(g_ax[:, 2 * hid :])  # the integer run's dn (0 where a sequence has ended)
        e_dz = _product_error(dh, e_dh, diff, f["e_diff"]) + hg
        dr, e_dr = dn * ahn + hg, _product_error(dn, e_dn, ahn, f["e_ahn"]) + hg
        e_dahn = _product_error(dn, e_dn, r, f["e_r"]) + hg
        q_z, e_q_z = (dh * diff + hg) / 4 + hg, e_dz / 4 + hg
        e_dpre_r = _masked_error(dr / 4 + hg, e_dr / 4 + hg, e["mask_r"], pre_r, e_pre_r, 2.0)
        e_dpre_z = _masked_error(q_z, e_q_z, e["mask_z"], pre_z, e_pre_z, 2.0)
        gx_err = np.concatenate([e_dpre_r, e_dpre_z, e_dn], axis=1) * valid
        gh_err = np.concatenate([e_dpre_r, e_dpre_z, e_dahn], axis=1) * valid
        dcx, _ = bd.backward("x_core", e["x_inputs"], bd.fx, f["tx_err"], g_ax, gx_err)
        dch, e_dhp = bd.backward("h_core", e["h_inputs"], fa, f["th_err"], g_ah, gh_err)
        for k in range(len(bx)):
            bx[k] += dcx[k]
        for k in range(len(bh)):
            bh[k] += dch[k]
        bbx += gx_err.sum(axis=0)
        bbh += gh_err.sum(axis=0)
        e_dh = np.where(valid, e_dzh + e_dhp, e_dh)
    out.update({f"x_core{k}": bx[k] for k in range(len(bx))})
    out.update({f"h_core{k}": bh[k] for k in range(len(bh))})
    out["bx"], out["bh"] = bbx, bbh
    return y_bound, out
