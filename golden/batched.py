"""Block-circulant LSTM and GRU layers over a whole batch, every array batch-minor (features x batch).

What :meth:`ernn.golden.network.GoldenNetwork.run` computes for a large batch, with the same integers and
the same saturation counts, but laid out so that each step of a layer is one compiled pass over tiles of
contiguous batch columns. :func:`run_network` runs step-major: at step t it quantizes frame x_t of every
active sequence (Q(data), straight into the caller's xq and a batch-minor buffer), then advances every
layer one step, each layer's h_t the next one's input, so nothing of size T x batch is held in the
batch-minor layout (a layer's state is two buffers used in turn). One step of a layer
(``ernn.golden.fused``), for each tile of ``unrolled.LANES`` batch columns:

1. the FFT of x_t and of h_{t-1} (``ernn.golden.unrolled``: Q(data) -> Q(fft_out)), both written into
   one float64 operand (bins, 3 (q_x + q_h), LANES): Re X, Im X and Re X + Im X, each with the blocks of
   x before those of h;
2. the complex MAC of W_ih and W_hh with the x and h products summed inside BLAS matmuls over
   [W_ih | W_hh] (GRU: the n gate's W_in x and W_hn h kept apart as two row groups with zero blocks, r
   and z summed), by Gauss's three real products per complex bin, P1 = Re S Re X, P2 = Im S Im X,
   P3 = (Re S + Im S)(Re X + Im X) (Re = P1 - P2, Im = P3 - P1 - P2, formed where the IFFT reads
   them), and of bins 0 and k/2, which are real for real weights and inputs, P1 alone: 7 x 3 + 2 = 23
   real products at k = 16 where the stacked [[Re, -Im], [Im, Re]] matmul made 9 x 4 = 36. Exact,
   because every partial sum is an integer below 4 (q_x + q_h) max|S| max|X| < 2**53 (checked once
   per layer, :func:`supported`);
3. per block of k units, the IFFT of its four gate rows (accumulator -> Q(ifft) -> IFFT -> Q(ifft_out))
   and the cell update of its units from them (``ernn.golden.batch_cells``), writing h_t (Q(data)) and
   c_t (Q(cell));
4. the tile's h_t and c_t also stored into the caller's (N, T, H) result while they are in cache.

The batch is in the network's longest-first order, so the active sequences of step t are the first
``active[t]`` columns. Saturation counts are summed over the steps and recorded once per layer under
the names, and with the element totals, of the step-by-step path. :func:`supported` says which layers
this covers (no projection, block size up to ``unrolled.MAX_UNROLLED_BLOCK``, formats for which the
float64 transforms and MAC are exact, activation tables that saturate no code); the network runs the
others step by step as before.
"""

from __future__ import annotations

import numpy as np
from numba import njit

import ernn.golden.fused as fused  # modules by name, not the package (no import cycle)
import ernn.golden.kernels as kernels
import ernn.golden.unrolled as unrolled

from .activation import activation_table
from .cells import _full_table
from .formats import QFormat, log2_exact
from .matvec import Spectra
from .ops import IntArray, SaturationLog, saturate

_EXACT = 1 << 53


def _tables(cfg):
    sig, tnh = activation_table("sigmoid", cfg), activation_table("tanh", cfg)
    fs, ft = _full_table(sig), _full_table(tnh)
    if fs is None or ft is None:
        return None
    return (fs, sig.lo_int), (ft, tnh.lo_int)


def supported(layer) -> bool:
    """Whether :func:`run_network` runs ``layer`` (a ``network.QuantizedLayer``) bit-exactly."""
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
    # the Gauss MAC's third product (Re S + Im S)(Re X + Im X): every partial sum an integer below
    # q 2 max|S| 2 max|X|, so float64 is exact below 2**53
    if 4 * q * ws * cfg.fft_out.max_int >= _EXACT:
        return False
    # bins 0 and k/2 of a real block's spectrum are real: the MAC forms only Re S Re X there
    nb = k // 2 + 1
    if any(np.any(w.im[..., b]) for w in (layer.w_ih, layer.w_hh) for b in (0, nb - 1)):
        return False
    return _tables(cfg) is not None


def gauss_weights(layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MAC's left operands, float64 (bins, R, q_x + q_h) each: Re S, Im S and Re S + Im S of W_ih
    next to W_hh (the three products of the Gauss complex multiply); LSTM R = 4p (i, f, g, o:
    W_ih x + W_hh h); GRU R = 4p (r, z: summed; in: W_in x; hn: W_hn h)."""
    wi, wh = layer.w_ih, layer.w_hh
    if layer.cell == "gru":
        zi, zh = np.zeros_like(wi.re[:1]), np.zeros_like(wh.re[:1])
        wi = Spectra(np.concatenate((wi.re, zi)), np.concatenate((wi.im, zi)))
        wh = Spectra(np.concatenate((wh.re[:2], zh, wh.re[2:])), np.concatenate((wh.im[:2], zh, wh.im[2:])))

    def rows(part_i, part_h):  # (G, p, q, bins) x 2 -> (bins, G p, q_x + q_h)
        g, p, _, nb = part_i.shape
        both = np.concatenate((part_i, part_h), axis=2).astype(np.float64)
        return np.ascontiguousarray(both.transpose(3, 0, 1, 2).reshape(nb, g * p, -1))

    wr, wim = rows(wi.re, wh.re), rows(wi.im, wh.im)
    return wr, wim, wr + wim


class _LayerRun:
    """One layer's constants and state for a batch of ``n`` columns. The state is two (rows, n) buffers
    used in turn (h_{t-1} read, h_t written); the active columns only shrink, so the columns :m of
    h_{t-1} always hold the previous step."""

    def __init__(self, layer, n: int) -> None:
        cfg = layer.cfg
        self.layer = layer
        k = cfg.block_size
        _, self.p, self.qx, _ = layer.w_ih.shape
        self.qh = layer.w_hh.shape[2]
        self.hidden = layer.hidden_size
        self.wr, self.wi, self.ws = gauss_weights(layer)
        tables = _tables(cfg)
        assert tables is not None  # supported() checked it
        (self.sig, sig_lo), (self.tnh, tnh_lo) = tables
        self.lstm = layer.cell == "lstm"
        self.sh = (kernels.lstm_shifts if self.lstm else kernels.gru_shifts)(cfg, sig_lo, tnh_lo)
        self.lims = kernels.cell_limits(cfg)
        self.st = kernels._shift_table(self.sh[:8])
        self.kern = fused.kernel(layer.cell, cfg)
        # a unit's bias (and peephole) values contiguous: the fused step reads them per unit
        self.bias = np.ascontiguousarray(layer.bias.T)
        self.peep = None if layer.peephole is None else np.ascontiguousarray(layer.peephole.T)
        self.h = [np.zeros((self.qh * k, n), dtype=np.int64) for _ in range(2)]  # rows past H stay zero
        self.c = [np.zeros((self.hidden, n), dtype=np.int64) for _ in range(2)] if self.lstm else None
        lk = log2_exact(k, name="block_size")
        self.fx = np.zeros(lk, dtype=np.int64)
        self.fh = np.zeros(lk, dtype=np.int64)
        self.fi = np.zeros(lk + 3, dtype=np.int64)
        self.cc = np.zeros(4 if self.lstm else 3, dtype=np.int64)
        self.frames = 0

    def step(
        self, t: int, m: int, x: IntArray, order: IntArray, h_dst: IntArray, c_dst: IntArray | None
    ) -> IntArray:
        """Step t for columns :m of x (>= q_x k rows, Q(data)): h_t (q_h k, n) (rows past H zero; for an
        LSTM also c_t), valid in columns :m, also stored at step t of h_dst (and c_dst) (N, T, H), column
        s as sequence order[s]."""
        cfg, layer = self.layer.cfg, self.layer
        qx = self.qx
        h_prev, h_new = self.h[(t + 1) % 2], self.h[t % 2]
        self.frames += m
        # FFT, MAC, IFFT, cell and the store of h_t (and c_t) fused per tile of lanes (ernn.golden.fused)
        if self.c is not None:
            c_prev, c_new = self.c[(t + 1) % 2], self.c[t % 2]
            counts = fused.lstm_step(
                self.kern,
                cfg,
                x,
                h_prev,
                qx,
                m,
                self.wr,
                self.wi,
                self.ws,
                c_prev,
                self.bias,
                self.peep,
                self.sig,
                self.tnh,
                self.st,
                self.sh,
                self.lims,
                h_new,
                c_new,
                order,
                t,
                h_dst,
                c_dst,
            )
        else:
            counts = fused.gru_step(
                self.kern,
                cfg,
                x,
                h_prev,
                qx,
                m,
                self.wr,
                self.wi,
                self.ws,
                self.bias,
                layer.b_hn,
                self.sig,
                self.tnh,
                self.st,
                self.sh,
                self.lims,
                h_new,
                order,
                t,
                h_dst,
            )
        lk = len(self.fx)
        self.fx += counts[:lk]
        self.fh += counts[lk : 2 * lk]
        counts = counts[2 * lk :]
        nf = len(self.fi)
        self.fi += counts[:nf]
        self.cc += counts[nf:]
        if self.fi[0]:
            raise OverflowError(
                f"accumulator value outside {cfg.accumulator}: numerics.accumulator.word is too small for this model"
            )
        return h_new

    def record(self, log: SaturationLog) -> None:
        _record(log, self.layer, self.frames, self.fx, self.fh, self.fi, self.cc)


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


def run_network(
    layers, x: np.ndarray, lens: IntArray, data: QFormat, log: SaturationLog
) -> tuple[IntArray, list[IntArray], list[IntArray] | None]:
    """Every layer on a batch x (N, T, input) (float, or integers of Q(data)) with sequence lengths
    ``lens``, as ``GoldenNetwork._run`` returns it: the quantized input xq (N, T, input) (zero past each
    length; saturations recorded as "input"), per layer h (N, T, out) and, for an LSTM, c (N, T, H).

    Step-major: at each step t the frame x_t is quantized (:func:`_quantize_step_kernel`, into xq and a
    batch-minor buffer) and every layer advances one step, its h_t the next layer's input, so no
    batch-minor sequence is ever held (each layer's state is two buffers used in turn). The sequences
    run longest first, so the active ones of a step are its leading columns; each step's h and c are
    stored into the caller's layout while they are in cache."""
    n, t_max, f = x.shape
    order = np.argsort(-lens, kind="stable").astype(np.int64)  # longest first: active columns a prefix
    active = (np.arange(t_max)[:, None] < lens[order][None, :]).sum(axis=1)  # active columns per step
    k = layers[0].cfg.block_size
    xq = np.zeros((n, t_max, f), dtype=np.int64)
    xb = np.zeros((layers[0].w_ih.shape[2] * k, n), dtype=np.int64)  # rows past the input stay zero
    floating = np.issubdtype(x.dtype, np.floating)
    if floating:
        src = np.ascontiguousarray(x, dtype=np.float64)
        scale, lo, hi = float(2.0**data.frac), float(data.min_int), float(data.max_int)
    else:  # integers of Q(data): saturated (counted) as GoldenNetwork.quantize_input does
        mask = np.arange(t_max)[None, :] < lens[:, None]
        xq[mask] = saturate(np.asarray(x)[mask].astype(np.int64), data, log, "input")
    runs = [_LayerRun(layer, n) for layer in layers]
    h_out = [np.zeros((n, t_max, layer.output_size), dtype=np.int64) for layer in layers]
    c_out = [
        np.zeros((n, t_max, layer.hidden_size), dtype=np.int64) for layer in layers if layer.cell == "lstm"
    ]
    n_sat = 0
    kernels._use_threads()
    for t in range(t_max):
        m = int(active[t])
        if m == 0:
            break
        if floating:
            sat, bad = _quantize_step_kernel(src, t, order, m, scale, lo, hi, xq, xb)
            if bad:
                raise ValueError("input: cannot quantize NaN or infinite values")
            n_sat += sat
        else:  # numpy: integer input is rare, and a kernel of its own would add compile time
            xb[:f, :m] = xq[order[:m], t].T
        inp = xb
        ci = 0
        for idx, run in enumerate(runs):
            c_dst = None
            if run.lstm:
                c_dst, ci = c_out[ci], ci + 1
            inp = run.step(t, m, inp, order, h_out[idx], c_dst)
    if floating:
        log.record("input", int(n_sat), int(lens.sum()) * f)
    for idx, run in enumerate(runs):
        run.record(log.child(f"layer{idx}"))
    return xq, h_out, (c_out or None)


@njit(cache=False, nogil=True, boundscheck=False)
def _quantize_step_kernel(x, t, order, m, scale, lo, hi, xq, xb):  # pragma: no cover - jitted
    """ops.quantize of frame t of the m active sequences: xq[i, t, j] = clip(rint(x[i, t, j] 2**frac)),
    and the same integer into xb[j, s] for the sorted column s of sequence i = order[s]. Returns
    (saturated count, count of NaN or infinite values). The product by 2**frac is exact as ops.quantize's
    ldexp is (both give the correctly rounded x 2**frac) and rint rounds ties to even. Eight sequences
    at a time: each row quantized without branches (vectorised) into a local tile, the tile then
    written out as eight columns of xb (one cache line per row)."""
    f = x.shape[2]
    n_sat = 0
    n_bad = 0
    tile = np.empty((8, f), dtype=np.int64)
    for s0 in range(0, m, 8):
        s1 = min(m, s0 + 8)
        for s in range(s0, s1):
            i = order[s]
            for j in range(f):
                v = np.rint(x[i, t, j] * scale)
                n_bad += (v - v) != 0.0  # NaN or infinite (the caller raises: no code written matters)
                n_sat += (v < lo) | (v > hi)
                q = np.int64(min(max(v, lo), hi))
                tile[s - s0, j] = q
                xq[i, t, j] = q
        for j in range(f):
            for s in range(s0, s1):
                xb[j, s] = tile[s - s0, j]
    return n_sat, n_bad
