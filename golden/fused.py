"""One time step of a block-circulant LSTM or GRU layer on a batch, fused per tile of batch lanes.

What ``ernn.golden.batched`` runs for each layer at each step, batch-minor (features x batch). For each
tile of ``unrolled.LANES`` (64) batch columns, every array of the step's middle local to the tile:

1. the FFT of every block of x_t and h_{t-1} (int64 Q(data) -> float64 integers of Q(fft_out),
   ``unrolled.fft_tile``) into the Gauss MAC's operand (bins, 3 q, LANES): Re X, Im X, Re X + Im X;
2. the MAC (:func:`_mac`, float64 BLAS, exact below 2**53) into the products (bins, 3 x 4 p, LANES):
   P1, P2, P3 of each accumulator row, P1 alone at the real bins;
3. for each block b of k units, the IFFT of its four gate rows g p + b (Q(accumulator) -> Q(ifft) ->
   IFFT -> Q(ifft_out), ``unrolled.ifft_tile``) into a 4 x k x LANES buffer (32 KiB at k = 16), and the
   cell update of the block's units straight from it (``batch_cells.lstm_unit`` / ``gru_unit``, inlined:
   h_t in Q(data), c_t in Q(cell)) into the state and into a lane-major copy of the tile;
4. the lane-major h_t and c_t stored into the caller's (N, T, H) results, one contiguous row per lane.

The same integers and saturation counts as the transforms, MAC and cell run one after the other over
the whole batch: the arithmetic is theirs, only the order of the loops differs, so neither the IFFT
output (16 MiB per step at batch 2,048, hidden 256, k 16) nor the MAC products (28 MiB) are written to
memory. Tiles are split over the threads (numba ``prange``), each tile counting into its own row of
counts, so the totals do not depend on the thread count.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
from numba import njit, prange

import ernn.golden.batch_cells as batch_cells  # modules by name, not the package (no import cycle)
import ernn.golden.unrolled as unrolled


@njit(cache=False, nogil=True, boundscheck=False)
def store_lanes(lane, i0, w, order, t, dst):  # pragma: no cover - jitted
    """dst[order[i0 + b], t, :] = lane[b, :rows] for the tile's lanes b < w: one contiguous row of the
    caller's (N, T, rows) result per lane, copied from the tile's lane-major h_t or c_t."""
    rows = dst.shape[2]
    for b in range(w):
        d = order[i0 + b]
        for j in range(rows):
            dst[d, t, j] = lane[b, j]


@njit(cache=False, nogil=True, boundscheck=False)
def _mac(wr, wi, ws, op, acc):  # pragma: no cover - jitted
    """The complex MAC of one lane tile on float64 BLAS (``np.dot``: exact, every partial sum an integer
    below 2**53, ``batched.supported``): acc[b] rows P1 = Re S Re X, P2 = Im S Im X, P3 = (Re S + Im S)
    (Re X + Im X) (Gauss) of each complex bin b, P1 alone of the real bins 0 and k/2."""
    nb, rr, q = wr.shape
    for b in range(1, nb - 1):
        np.dot(wr[b], op[b, 0:q], acc[b, 0:rr])
        np.dot(wi[b], op[b, q : 2 * q], acc[b, rr : 2 * rr])
        np.dot(ws[b], op[b, 2 * q : 3 * q], acc[b, 2 * rr : 3 * rr])
    np.dot(wr[0], op[0, 0:q], acc[0, 0:rr])
    np.dot(wr[nb - 1], op[nb - 1, 0:q], acc[nb - 1, 0:rr])


@lru_cache(maxsize=32)
def _driver(fft, ifft, unit, k: int, lstm: bool):
    """The compiled step for one block size (``fft``, ``ifft``: ``unrolled``'s tiles for it; ``unit``:
    ``batch_cells.lstm_unit`` or ``gru_unit``, inlined). The parallel loop's body passes whole arrays and
    indexes them with scalars only (no views, not even a row of counts): numba then finds no aliases
    among its arrays and tells the compiler so, which the cell's loop over lanes needs to vectorise."""
    lanes, nb = unrolled.LANES, k // 2 + 1

    @njit(cache=False, nogil=True, boundscheck=False, parallel=True)
    def run(
        x,
        h_prev,
        qx,
        m,
        los,
        his,
        wr,
        wi,
        ws,
        limf,
        shift,
        c_prev,
        bias,
        extra,
        use_peep,
        sig,
        tnh,
        st,
        sh,
        lims,
        h_new,
        c_new,
        order,
        t,
        h_dst,
        c_dst,
        counts,
        offs,
    ):  # pragma: no cover - jitted
        # run-time integers, not constants: numba would compile a tile once per literal argument value
        zero, fh0, fi0, cc0, wide = offs[0], offs[1], offs[2], offs[3], offs[4]
        hidden = h_dst.shape[2]
        rr, q = wr.shape[1], wr.shape[2]
        qh, p = q - qx, rr // 4
        nt = (m + lanes - 1) // lanes
        nch = max(1, min(numba.get_num_threads(), nt))
        for ch in prange(nch):
            op = np.empty((nb, 3 * q, lanes), dtype=np.float64)  # Re X, Im X, Re X + Im X; x then h blocks
            acc = np.empty((nb, 3 * rr, lanes), dtype=np.float64)  # P1, P2, P3 of each accumulator row
            ftin = np.empty(k * lanes, dtype=np.float64)
            ftout = np.empty(2 * nb * lanes, dtype=np.float64)
            tin = np.empty(2 * nb * lanes, dtype=np.float64)
            y = np.empty((4, k * lanes), dtype=np.float64)  # the 4 gates of a block: y[g, u lanes + lane]
            # the tile's h_t and c_t lane-major, for the store: rows padded by one cache line, so that the
            # 64 lanes' lines a unit writes fall in different L1 sets (rows of 2 KiB would share two)
            h_lane = np.empty((lanes, hidden + 8), dtype=np.int64)
            c_lane = np.empty((lanes, hidden + 8), dtype=np.int64)
            for tl in range(ch * nt // nch, (ch + 1) * nt // nch):
                i0 = tl * lanes
                w = min(lanes, m - i0)
                for j in range(qx):
                    fft(x, j, i0, w, los, his, op, zero, q, zero, wide, ftin, ftout, counts, tl, zero)
                for j in range(qh):
                    fft(h_prev, j, i0, w, los, his, op, qx, q, zero, wide, ftin, ftout, counts, tl, fh0)
                _mac(wr, wi, ws, op, acc)
                for b in range(p):  # block b: accumulator rows g p + b of the 4 gates
                    for g in range(4):
                        ifft(acc, g * p + b, rr, zero, w, limf, shift, tin, y, g, counts, tl, fi0)
                    for u in range(min(k, hidden - b * k)):
                        if lstm:
                            unit(
                                y,
                                u * lanes,
                                w,
                                b * k + u,
                                i0,
                                c_prev,
                                bias,
                                extra,
                                use_peep,
                                sig,
                                tnh,
                                st,
                                sh,
                                lims,
                                h_new,
                                c_new,
                                h_lane,
                                c_lane,
                                counts,
                                tl,
                                cc0,
                            )
                        else:
                            unit(
                                y,
                                u * lanes,
                                w,
                                b * k + u,
                                i0,
                                h_prev,
                                bias,
                                extra,
                                sig,
                                tnh,
                                st,
                                sh,
                                lims,
                                h_new,
                                h_lane,
                                counts,
                                tl,
                                cc0,
                            )
                store_lanes(h_lane, i0, w, order, t, h_dst)
                if lstm:
                    store_lanes(c_lane, i0, w, order, t, c_dst)

    return run


def kernel(cell: str, cfg):
    """The compiled fused step of an ``"lstm"`` or ``"gru"`` layer with numerics ``cfg`` (compiled once per
    cell, block size and twiddle table; the transforms are ``unrolled``'s tiles)."""
    k = cfg.block_size
    fft = unrolled.fft_tile(k, cfg.twiddle)
    ifft = unrolled.ifft_tile(k, cfg)
    unit = batch_cells.lstm_unit if cell == "lstm" else batch_cells.gru_unit
    return _driver(fft, ifft, unit, k, cell == "lstm")


def _counts(m: int, k: int, cell_counts: int) -> tuple[np.ndarray, np.ndarray]:
    """A row of counts per lane tile (x FFT stages, h FFT stages, IFFT, cell), and the driver's ``offs``:
    0, the first column of the h FFT's, the IFFT's and the cell's counts, LANES."""
    lk = k.bit_length() - 1
    counts = np.zeros(((m + unrolled.LANES - 1) // unrolled.LANES, 3 * lk + 3 + cell_counts), dtype=np.int64)
    return counts, np.array([0, lk, 2 * lk, 3 * lk + 3, unrolled.LANES], dtype=np.int64)


def lstm_step(
    kern,
    cfg,
    x,
    h_prev,
    qx,
    m,
    wr,
    wi,
    ws,
    c_prev,
    bias,
    peep,
    sig,
    tnh,
    st,
    sh,
    lims,
    h_new,
    c_new,
    order,
    t,
    h_dst,
    c_dst,
) -> np.ndarray:
    """One step of an LSTM layer, ``kern`` = :func:`kernel` ("lstm", cfg), for batch columns :m: x (>= qx k
    rows) and h_prev (rows past H zero) int64 Q(data); wr, wi, ws (bins, 4 p, q) the Gauss MAC's weights
    (``batched.gauss_weights``: W_ih then W_hh, q = qx + qh blocks); c_prev, c_new (H, N) Q(cell); h_new
    (>= H, N) Q(data); bias (H, 4) Q(bias) and peep (H, 3) Q(peephole) or None, a unit's values
    contiguous; sig, tnh, st, sh, lims as ``batch_cells.lstm_unit`` takes them. Column s is sequence
    order[s], stored at step t of h_dst and c_dst (N, T, H). Returns the counts: the x FFT's stages, the h
    FFT's, accumulator values out of range, ifft_in, every IFFT stage, ifft_out, then gate_pre, cell,
    tanh_c_in, hidden."""
    k = cfg.block_size
    los, his = unrolled.fft_limits(k, cfg.fft_out)
    limf, shift = unrolled.ifft_limits(cfg)
    counts, offs = _counts(m, k, 4)
    use = peep is not None
    pp = peep if use else np.zeros((c_new.shape[0], 3), dtype=np.int64)
    kern(
        x,
        h_prev,
        qx,
        m,
        los,
        his,
        wr,
        wi,
        ws,
        limf,
        shift,
        c_prev,
        bias,
        pp,
        use,
        sig,
        tnh,
        st,
        sh,
        lims,
        h_new,
        c_new,
        order,
        t,
        h_dst,
        c_dst,
        counts,
        offs,
    )
    return counts.sum(axis=0)


def gru_step(
    kern, cfg, x, h_prev, qx, m, wr, wi, ws, bias, b_hn, sig, tnh, st, sh, lims, h_new, order, t, h_dst
) -> np.ndarray:
    """One step of a GRU layer (``kern`` = :func:`kernel` ("gru", cfg)): the 4 p accumulator rows are r, z,
    in (W_in x) and hn (W_hn h); bias (H, 3), b_hn (H,); the rest as :func:`lstm_step`. Returns the counts:
    the FFTs' stages, the IFFT's as there, then gate_pre, gru_hn, hidden."""
    k = cfg.block_size
    los, his = unrolled.fft_limits(k, cfg.fft_out)
    limf, shift = unrolled.ifft_limits(cfg)
    counts, offs = _counts(m, k, 3)
    # an LSTM's cell states and their result, never touched by the GRU step: three arrays of their own,
    # as the compiled step is told that no two of its arrays overlap
    c_prev, c_new, c_dst = (
        np.zeros((1, 1), np.int64),
        np.zeros((1, 1), np.int64),
        np.zeros((1, 1, 1), np.int64),
    )
    kern(
        x,
        h_prev,
        qx,
        m,
        los,
        his,
        wr,
        wi,
        ws,
        limf,
        shift,
        c_prev,
        bias,
        b_hn,
        False,
        sig,
        tnh,
        st,
        sh,
        lims,
        h_new,
        c_new,
        order,
        t,
        h_dst,
        c_dst,
        counts,
        offs,
    )
    return counts.sum(axis=0)
