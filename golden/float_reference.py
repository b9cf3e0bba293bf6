"""Float64 numpy reference of the network the golden model quantizes (PyTorch nn.LSTM / nn.GRU semantics).

The block-circulant matrices are expanded to dense ones (ernn.train.circulant convention: first-column vectors,
C[r, s] = c[(r - s) mod k], the top-left (rows, cols) corner of the padded block matrix; a CSB description's
matrices are dense already) and the cells run in plain float64 on them:

    LSTM: i = s(W_ii x + b_ii + W_hi h + b_hi + p_i c), f = s(... + p_f c), g = tanh(...),
          c' = f c + i g, o = s(... + p_o c'), m = o tanh(c'), h' = W_hr m (projection) or m
    GRU:  r = s(W_ir x + b_ir + W_hr h + b_hr), z = s(...), n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
          h' = (1 - z) n + z h

Used by the tests (error trend and bounds) and as the float baseline of the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def expand(vectors: npt.ArrayLike, rows: int, cols: int) -> FloatArray:
    """Dense (..., rows, cols) matrices from defining vectors (..., p, q, k)."""
    v = np.asarray(vectors, dtype=np.float64)
    *lead, p, q, k = v.shape
    r = np.arange(k)
    idx = (r[:, None] - r[None, :]) % k
    blocks = v[..., idx]  # (..., p, q, k, k): [i, j, r, s]
    dense = np.swapaxes(blocks, -3, -2).reshape(*lead, p * k, q * k)
    return dense[..., :rows, :cols]


def dense(desc: dict[str, Any], value: npt.ArrayLike, rows: int, cols: int) -> FloatArray:
    """A description's stored matrix as dense (G, rows, cols): block-circulant vectors expanded; a pruning
    structure's matrices (CSB: a ``structure`` key) are stored dense already, zeros where pruned."""
    if desc.get("structure") is not None:
        return np.asarray(value, dtype=np.float64)
    return expand(value, rows, cols)


def _sigmoid(x: FloatArray) -> FloatArray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass
class FloatResult:
    h: list[FloatArray]  # per layer (N, T, out); zero after each sequence's length
    c: list[FloatArray] | None  # LSTM per layer (N, T, H)
    trace: list[dict[str, FloatArray]] | None = None  # per layer: gate values (N, T, H) if asked for

    @property
    def output(self) -> FloatArray:
        return self.h[-1]


def run_float(
    desc: dict[str, Any], x: npt.ArrayLike, lengths: npt.ArrayLike | None = None, *, trace: bool = False
) -> FloatResult:
    """Run the float model ``desc`` on x (N, T, input_size) with per-sequence lengths (zero initial state).

    ``trace``: also return every gate's values per layer (LSTM i, f, g, o, m; GRU r, z, n, hn), zero
    after each sequence's length.
    """
    cell = desc["cell"]
    hidden = int(desc["hidden_size"])
    proj = int(desc.get("proj_size") or 0)
    out = proj or hidden
    g = 4 if cell == "lstm" else 3
    xs = np.asarray(x, dtype=np.float64)
    n, t_max, _ = xs.shape
    lens = np.full(n, t_max) if lengths is None else np.asarray(lengths)
    active = np.arange(t_max)[None, :] < lens[:, None]
    inp = np.where(active[..., None], xs, 0.0)
    hs: list[FloatArray] = []
    cs: list[FloatArray] = []
    traces: list[dict[str, FloatArray]] = []
    names = ("i", "f", "g", "o", "m") if cell == "lstm" else ("r", "z", "n", "hn")
    for idx, layer in enumerate(desc["layers"]):
        n_in = int(desc["input_size"]) if idx == 0 else out
        w_ih = dense(desc, layer["w_ih"], hidden, n_in).reshape(g * hidden, n_in)
        w_hh = dense(desc, layer["w_hh"], hidden, out).reshape(g * hidden, out)
        b_ih = np.asarray(layer["b_ih"], dtype=np.float64)
        b_hh = np.asarray(layer["b_hh"], dtype=np.float64)
        w_hr = None if layer.get("w_hr") is None else dense(desc, layer["w_hr"], proj, hidden)[0]
        peep = None if layer.get("peephole") is None else np.asarray(layer["peephole"], dtype=np.float64)
        h = np.zeros((n, out))
        c = np.zeros((n, hidden))
        h_out = np.zeros((n, t_max, out))
        c_out = np.zeros((n, t_max, hidden))
        gx = inp @ w_ih.T + b_ih  # (N, T, G*H)
        tr = {name: np.zeros((n, t_max, hidden)) for name in names}
        for t in range(t_max):
            gh = h @ w_hh.T + b_hh
            a = gx[:, t].reshape(n, g, hidden)
            b = gh.reshape(n, g, hidden)
            if cell == "lstm":
                pre = a + b
                pi = 0.0 if peep is None else peep[0] * c
                pf = 0.0 if peep is None else peep[1] * c
                i = _sigmoid(pre[:, 0] + pi)
                f = _sigmoid(pre[:, 1] + pf)
                gg = np.tanh(pre[:, 2])
                c_new = f * c + i * gg
                po = 0.0 if peep is None else peep[2] * c_new
                o = _sigmoid(pre[:, 3] + po)
                m = o * np.tanh(c_new)
                h_new = m if w_hr is None else m @ w_hr.T
                values: tuple[FloatArray, ...] = (i, f, gg, o, m)
            else:
                r = _sigmoid(a[:, 0] + b[:, 0])
                z = _sigmoid(a[:, 1] + b[:, 1])
                nn = np.tanh(a[:, 2] + r * b[:, 2])
                h_new = (1.0 - z) * nn + z * h
                c_new = c
                values = (r, z, nn, b[:, 2])
            keep = active[:, t][:, None]
            h = np.where(keep, h_new, h)
            c = np.where(keep, c_new, c)
            h_out[:, t] = np.where(keep, h_new, 0.0)
            c_out[:, t] = np.where(keep, c_new, 0.0)
            for name, value in zip(names, values, strict=True):
                tr[name][:, t] = np.where(keep, value, 0.0)
        hs.append(h_out)
        cs.append(c_out)
        traces.append(tr)
        inp = h_out
    return FloatResult(hs, cs if cell == "lstm" else None, traces if trace else None)


def random_model(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    block_size: int = 8,
    num_layers: int = 1,
    proj_size: int = 0,
    peephole: bool = False,
    scale: float = 0.5,
    seed: int = 0,
) -> dict[str, Any]:
    """A random float model description (weights ~ U(-1, 1) * scale / sqrt(fan-in), like PyTorch's init)."""
    rng = np.random.default_rng(seed)
    g = 4 if cell == "lstm" else 3
    k = block_size
    out = proj_size or hidden_size

    def blocks(n: int) -> int:
        return -(-n // k)

    def vectors(p: int, q_size: int, fan_in: int, lead: int) -> FloatArray:
        bound = scale / np.sqrt(max(1, fan_in))
        return rng.uniform(-bound, bound, size=(lead, p, blocks(q_size), k))

    layers = []
    for idx in range(num_layers):
        n_in = input_size if idx == 0 else out
        bb = scale / np.sqrt(hidden_size)
        layers.append(
            {
                "input_size": n_in,
                "w_ih": vectors(blocks(hidden_size), n_in, n_in, g),
                "w_hh": vectors(blocks(hidden_size), out, out, g),
                "b_ih": rng.uniform(-bb, bb, size=g * hidden_size),
                "b_hh": rng.uniform(-bb, bb, size=g * hidden_size),
                "w_hr": vectors(blocks(proj_size), hidden_size, hidden_size, 1) if proj_size else None,
                "peephole": rng.uniform(-0.5, 0.5, size=(3, hidden_size)) if peephole else None,
            }
        )
    return {
        "cell": cell,
        "input_size": input_size,
        "hidden_size": hidden_size,
        "proj_size": proj_size,
        "num_layers": num_layers,
        "block_size": k,
        "peephole": peephole,
        "layers": layers,
    }
