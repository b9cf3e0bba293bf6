"""One block-circulant LSTM or GRU layer over a whole batch, every array batch-minor (features x batch).

What :meth:`ernn.golden.network.GoldenNetwork.run` computes for a large batch, with the same integers and
the same saturation counts, but laid out so that each step is four compiled passes over contiguous
columns and one BLAS call:

1. the FFT of x_t and of h_{t-1} (``ernn.golden.unrolled.fft_pass``: Q(data) -> Q(fft_out)), both
   written into one float64 operand (bins, 2 q_x + 2 q_h, N): Re and Im of every block of x, then of h;
2. the complex MAC of W_ih and W_hh as ONE float64 BLAS matmul per bin over the stacked weights
   [[Re, -Im], [Im, Re]] of W_ih next to those of W_hh (GRU: the n gate's W_in x and W_hn h kept apart as
   two row groups with zero blocks, r and z summed), so the x and h products are summed inside the
   matmul: exact, because every partial sum is an integer below 2 (q_x + q_h) max|S| max|X| < 2**53
   (checked once per layer, :func:`supported`);
3. the IFFT pass (``unrolled.ifft_pass``): accumulator -> Q(ifft) -> IFFT -> Q(ifft_out), row g p k + j
   of its output being gate g, unit j;
4. the cell update (``ernn.golden.batch_cells``), writing h_t (Q(data)) and c_t (Q(cell)) straight into
   the layer's output sequence, which is the next step's h and the next layer's input.

The batch is in the network's longest-first order, so the active sequences of step t are the first
``active[t]`` columns; a finished sequence's columns stay zero. Saturation counts are summed over the
steps and recorded once per layer under the names, and with the element totals, of the step-by-step path.
:func:`supported` says which layers this covers (no projection, block size up to
``unrolled.MAX_UNROLLED_BLOCK``, formats for which the float64 transforms and MAC are exact, activation
tables that saturate no code); the network runs the others step by step as before.
"""

from __future__ import annotations

import numpy as np
from numba import njit

import ernn.golden.batch_cells as batch_cells  # modules by name, not the package (no import cycle)
import ernn.golden.kernels as kernels
import ernn.golden.unrolled as unrolled

from .activation import activation_table
from .cells import _full_table
from .formats import QFormat, log2_exact
from .matvec import Spectra
from .ops import IntArray, SaturationLog

_EXACT = 1 << 53


def _tables(cfg):
    sig, tnh = activation_table("sigmoid", cfg), activation_table("tanh", cfg)
    fs, ft = _full_table(sig), _full_table(tnh)
    if fs is None or ft is None:
        return None
    return (fs, sig.lo_int), (ft, tnh.lo_int)


def supported(layer) -> bool:
    """Whether :func:`run_layer` runs ``layer`` (a ``network.QuantizedLayer``) bit-exactly."""
    cfg = layer.cfg
    k = cfg.block_size
    if not (isinstance(layer.w_ih, Spectra) and isinstance(layer.w_hh, Spectra)) or layer.w_hr is not None:
        return False
    if k > unrolled.MAX_UNROLLED_BLOCK or k < 4:
        return False
    if not (kernels.float_fft_exact(cfg.twiddle, cfg.fft_out) and kernels.float_ifft_exact(cfg)):
        return False
    if cfg.accumulator.frac - cfg.ifft.frac <= 0:
        return False
    # the FFT's input format must hold every Q(data) code (the step-by-step path checks it per call)
    in_fmt = QFormat(cfg.fft_out.word - log2_exact(k, name="block_size"), cfg.fft_out.frac)
    if cfg.data.frac != in_fmt.frac or cfg.data.min_int < in_fmt.min_int or cfg.data.max_int > in_fmt.max_int:
        return False
    q = layer.w_ih.shape[2] + layer.w_hh.shape[2]
    ws = max(layer.w_ih.max_component(), layer.w_hh.max_component())
    if 2 * q * ws * cfg.fft_out.max_int >= _EXACT:
        return False
    return _tables(cfg) is not None


def stacked_weights(layer) -> np.ndarray:
    """The MAC's left operand (bins, 2R, 2 q_x + 2 q_h) float64: Re rows then Im rows of R accumulator
    rows; LSTM R = 4p (i, f, g, o: W_ih x + W_hh h); GRU R = 4p (r, z: summed; in: W_in x; hn: W_hn h)."""
    wi, wh = layer.w_ih, layer.w_hh
    if layer.cell == "gru":
        zi, zh = np.zeros_like(wi.re[:1]), np.zeros_like(wh.re[:1])
        wi = Spectra(np.concatenate((wi.re, zi)), np.concatenate((wi.im, zi)))
        wh = Spectra(np.concatenate((wh.re[:2], zh, wh.re[2:])), np.concatenate((wh.im[:2], zh, wh.im[2:])))
    return np.ascontiguousarray(np.concatenate((wi.stacked(), wh.stacked()), axis=2).astype(np.float64))


def run_layer(
    layer,
    inp: IntArray,
    active: IntArray,
    log: SaturationLog | None = None,
    store: tuple[IntArray, IntArray, IntArray | None] | None = None,
) -> tuple[IntArray, IntArray | None]:
    """Run ``layer`` over inp (T, >= q_x k, N) int64 Q(data), batch-minor, rows past the layer's input
    zero; ``active[t]`` the number of leading columns that hold a frame at step t (non-increasing).
    Returns h (T, q_h k, N) Q(data) (rows past the output width zero; the next layer's input) and, for
    an LSTM, c (T, H, N) Q(cell). ``store`` (order, h_out, c_out): also store each step's h and c into
    h_out (N, T, out) and c_out (N, T, H) (or None), sorted column s as row order[s]."""
    cfg = layer.cfg
    k = cfg.block_size
    lk = log2_exact(k, name="block_size")
    nb = k // 2 + 1
    t_max, _, n = inp.shape
    _, p, qx, _ = layer.w_ih.shape
    qh = layer.w_hh.shape[2]
    hidden = layer.hidden_size
    pk = p * k
    rr = 4 * p
    w = stacked_weights(layer)
    tables = _tables(cfg)
    assert tables is not None  # supported() checked it
    (sig, sig_lo), (tnh, tnh_lo) = tables
    lstm = layer.cell == "lstm"
    sh = kernels.lstm_shifts(cfg, sig_lo, tnh_lo) if lstm else kernels.gru_shifts(cfg, sig_lo, tnh_lo)
    lims = kernels.cell_limits(cfg)
    h_seq = np.zeros((t_max, qh * k, n), dtype=np.int64)
    c_seq = np.zeros((t_max, hidden, n), dtype=np.int64) if lstm else None
    h0 = np.zeros((qh * k, n), dtype=np.int64)
    c0 = np.zeros((hidden, n), dtype=np.int64)
    op = np.empty((nb, 2 * (qx + qh), n), dtype=np.float64)
    acc = np.empty((nb, 2 * rr, n), dtype=np.float64)
    y = np.empty((rr * k, n), dtype=np.int64)
    fx = np.zeros(lk, dtype=np.int64)
    fh = np.zeros(lk, dtype=np.int64)
    fi = np.zeros(lk + 3, dtype=np.int64)
    cc = np.zeros(4 if lstm else 3, dtype=np.int64)
    frames = 0
    kernels._use_threads()
    for t in range(t_max):
        m = int(active[t])
        if m == 0:
            break
        frames += m
        h_prev = h_seq[t - 1] if t else h0
        fx += unrolled.fft_pass(inp[t], qx, m, cfg.twiddle, cfg.fft_out, op, 0).sum(axis=0)
        fh += unrolled.fft_pass(h_prev, qh, m, cfg.twiddle, cfg.fft_out, op, 2 * qx).sum(axis=0)
        np.matmul(w, op[:, :, :m], out=acc[:, :, :m])
        fi += unrolled.ifft_pass(acc, rr, m, cfg, y).sum(axis=0)
        if fi[0]:
            raise OverflowError(
                f"accumulator value outside {cfg.accumulator}: numerics.accumulator.word is too small for this model"
            )
        h_new = h_seq[t, :hidden]
        if lstm:
            c_prev = c_seq[t - 1] if t else c0
            cc += batch_cells.lstm_cell(
                m, y, pk, c_prev, layer.bias, layer.peephole, sig, tnh, sh, lims, h_new, c_seq[t]
            )
        else:
            cc += batch_cells.gru_cell(m, y, pk, h_prev, layer.bias, layer.b_hn, sig, tnh, sh, lims, h_new)
        if store is not None:
            order, h_out, c_out = store
            _store_step_kernel(h_new, m, order, t, h_out)
            if c_out is not None and c_seq is not None:
                _store_step_kernel(c_seq[t], m, order, t, c_out)
    if log is not None:
        _record(log, layer, frames, fx, fh, fi, cc)
    return h_seq, c_seq


def _record(log: SaturationLog, layer, frames: int, fx, fh, fi, cc) -> None:
    """The step-by-step path's log entries, summed over ``frames`` (batch element, step) pairs."""
    cfg = layer.cfg
    k = cfg.block_size
    lk = len(fx)
    nb = k // 2 + 1
    _, p, qx, _ = layer.w_ih.shape
    qh = layer.w_hh.shape[2]
    rows = frames * 4 * p  # accumulator rows through the IFFT (GRU: r, z, in, hn)
    for s in range(1, lk + 1):
        log.record(f"x/fft_stage{s}", int(fx[s - 1]), 2 * frames * qx * k)
    for s in range(1, lk + 1):
        log.record(f"h/fft_stage{s}", int(fh[s - 1]), 2 * frames * qh * k)
    log.record("mv/ifft_in", int(fi[1]), 2 * rows * nb)
    for s in range(1, lk):
        log.record(f"mv/ifft_stage{s}", int(fi[1 + s]), 2 * rows * k)
    log.record(f"mv/ifft_stage{lk}", int(fi[1 + lk]), rows * k)
    log.record("mv/ifft_out", int(fi[2 + lk]), rows * k)
    size = frames * layer.hidden_size
    if layer.cell == "lstm":
        log.record("gate_pre", int(cc[0]), 4 * size)
        log.record("sigmoid_out", 0, 3 * size)
        log.record("tanh_out", 0, 2 * size)
        log.record("cell", int(cc[1]), size)
        log.record("tanh_c_in", int(cc[2]), size)
        log.record("hidden", int(cc[3]), size)
    else:
        log.record("gate_pre", int(cc[0]), 3 * size)
        log.record("sigmoid_out", 0, 2 * size)
        log.record("gru_hn", int(cc[1]), size)
        log.record("tanh_out", 0, size)
        log.record("hidden", int(cc[2]), size)


def run_layers(
    layers, inp: IntArray, active: IntArray, log: SaturationLog, order: IntArray
) -> tuple[list[IntArray], list[IntArray] | None]:
    """Every layer on a batch inp (N, T, input) Q(data) in longest-first order (``active`` as in
    :func:`run_layer`): per layer h (N, T, out) and, for an LSTM, c (N, T, H), the sorted row ``s``
    stored as row ``order[s]`` (the caller's order), as ``GoldenNetwork._run`` returns them. The input
    is turned batch-minor once; each layer's output sequence is the next one's input as it is, and each
    step's h and c are also stored into the caller's layout while they are in cache."""
    n, t_max, _ = inp.shape
    k = layers[0].cfg.block_size
    x = np.zeros((t_max, layers[0].w_ih.shape[2] * k, n), dtype=np.int64)
    _to_batch_minor_kernel(np.ascontiguousarray(inp), x)
    order = np.ascontiguousarray(order, dtype=np.int64)
    h_all, c_all = [], []
    for idx, layer in enumerate(layers):
        h_out = np.zeros((n, t_max, layer.output_size), dtype=np.int64)
        c_out = np.zeros((n, t_max, layer.hidden_size), dtype=np.int64) if layer.cell == "lstm" else None
        x, _ = run_layer(layer, x, active, log.child(f"layer{idx}"), (order, h_out, c_out))
        h_all.append(h_out)
        if c_out is not None:
            c_all.append(c_out)
    return h_all, (c_all or None)


@njit(cache=False, nogil=True, boundscheck=False)
def _to_batch_minor_kernel(src, dst):  # pragma: no cover - jitted
    """src (N, T, F) -> dst[:, :F, :] (T, >= F, N), in tiles of 16 features (both sides in cache lines)."""
    n, t_max, cols = src.shape
    for t in range(t_max):
        for j0 in range(0, cols, 16):
            j1 = min(cols, j0 + 16)
            for i in range(n):
                for j in range(j0, j1):
                    dst[t, j, i] = src[i, t, j]


@njit(cache=False, nogil=True, boundscheck=False)
def _store_step_kernel(src, m, order, t, dst):  # pragma: no cover - jitted
    """dst[order[s], t, j] = src[j, s] for s < m, j < dst.shape[2]: one step's batch-minor result
    (just written, in cache) into the caller's (N, T, rows) layout, 8 batch columns (a cache line) at a
    time."""
    rows = dst.shape[2]
    for s0 in range(0, m, 8):
        s1 = min(m, s0 + 8)
        for j in range(rows):
            for s in range(s0, s1):
                dst[order[s], t, j] = src[j, s]
