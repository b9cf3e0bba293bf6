"""The bit-exact golden network: stacked block-circulant LSTM/GRU layers on integers.

:class:`GoldenNetwork` is built from a float model description (``desc``, below), quantizes every parameter
once with a :class:`~ernn.golden.formats.NumericsConfig` and runs batches of sequences exactly as the RTL
does, time step by time step. Formats: input and every layer output in Q(data), LSTM cell state in Q(cell).

Model description (plain float64 numpy, as produced by ``ernn.train.models``)::

    {"cell": "lstm" | "gru", "input_size": n, "hidden_size": H, "proj_size": P (0 = none),
     "num_layers": L, "block_size": k, "peephole": bool,
     "layers": [{"input_size": n_l, "w_ih": (G, p, q, k), "w_hh": (G, p, q_h, k),
                 "b_ih": (G*H,), "b_hh": (G*H,), "w_hr": (1, p_r, q_r, k) or None,
                 "peephole": (3, H) or None}, ...]}

G = 4 (LSTM, gates i, f, g, o) or 3 (GRU, r, z, n); w_* are first-column circulant vectors
(ernn.train.circulant convention); w_hh's input is h (P wide with a projection, else H); w_hr maps H -> P.

Per time step and layer (docs/numerics.md, "Network"): FFT of h_{t-1}; MAC of W_hh into the accumulators
that already hold W_ih x_t (one accumulator per gate and output block; GRU's n gate keeps W_in x and
W_hn h apart); IFFT; cell update (:mod:`ernn.golden.cells`); optional projection matvec. State starts at
zero for every sequence; a sequence's outputs after its last frame are zero.
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

import ernn.golden.batched as batched  # the module by name, not the package (no import cycle)
from ernn.shape import GATES, BlockCirculant, ModelShape
from ernn.shape.structures import implementation

from .activation import activation_table
from .cells import gru_cell, lstm_cell
from .fft import twiddles
from .formats import MAX_BLOCK, MIN_BLOCK, NumericsConfig, QFormat, fit_frac
from .matvec import Accumulators, BinsMajorAccumulators, Spectra, concat_gates, fast_path, one_blas_thread
from .ops import IntArray, SaturationLog, align, dequantize, quantize, saturate

_SHAPE_FIELDS = [f.name for f in dataclasses.fields(ModelShape)]
#: the block-circulant golden matvec, through the structure seam (ernn.golden.structure.GoldenStructure)
_MATRIX = implementation("circulant", "golden")


# ------------------------------------------------------------------------------------------------------
# model description checks
@dataclass(frozen=True, kw_only=True)
class ModelInfo(ModelShape):
    """A model's shape (:class:`~ernn.shape.ModelShape`) with the weight statistics its number formats
    are fitted to, extracted from a validated model description (:func:`describe_model`)."""

    max_spectrum: float  # largest |Re|, |Im| of any weight spectrum
    max_bias: float  # largest |merged bias|
    max_peephole: float

    @property
    def shape(self) -> ModelShape:
        """The shape alone (without the weight statistics)."""
        return ModelShape(**{f: getattr(self, f) for f in _SHAPE_FIELDS})

    @property
    def max_blocks(self) -> int:
        """Most input blocks summed into one accumulator (:attr:`ModelShape.max_input_blocks`)."""
        return self.max_input_blocks


def _blocks(n: int, k: int) -> int:
    return -(-n // k)


def _arr(layer: dict[str, Any], key: str, where: str) -> np.ndarray:
    if key not in layer:
        raise ValueError(f"{where}: missing key {key!r}")
    value = np.asarray(layer[key], dtype=np.float64)
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{where}[{key!r}] holds NaN or infinite values")
    return value


def merged_biases(
    cell: str, b_ih: np.ndarray, b_hh: np.ndarray, hidden: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Float biases as the hardware adds them: LSTM (4, H) = b_ih + b_hh; GRU (3, H) = (b_r, b_z, b_in), b_hn."""
    g = GATES[cell]
    bi = b_ih.reshape(g, hidden)
    bh = b_hh.reshape(g, hidden)
    if cell == "lstm":
        return bi + bh, None
    return np.stack((bi[0] + bh[0], bi[1] + bh[1], bi[2])), bh[2].copy()


def describe_model(desc: dict[str, Any]) -> ModelInfo:
    """Validate a float model description; ValueError names the bad key and what is allowed."""
    if not isinstance(desc, dict):
        raise ValueError(f"model description must be a dict, got {type(desc).__name__}")
    # the fixed-point model's own limits first (the shape accepts any cell option and power of two)
    if desc.get("cell") not in GATES:
        raise ValueError(f"model description: 'cell' must be 'lstm' or 'gru', got {desc.get('cell')!r}")
    k = desc.get("block_size")
    if (
        isinstance(k, int | np.integer)
        and not isinstance(k, bool)
        and (k & (k - 1) or not MIN_BLOCK <= k <= MAX_BLOCK)
    ):
        raise ValueError(
            f"model description: 'block_size' must be a power of two in [{MIN_BLOCK}, {MAX_BLOCK}] "
            f"for the fixed-point model, got {k}"
        )
    ms = ModelShape.from_dict(desc, where="model description")
    try:  # a structure without a golden stage (unstructured pruning) is refused by name
        matrix = implementation(ms.structure.name, "golden")
    except ValueError as exc:
        raise ValueError(f"model description: {exc}") from exc
    cell, n_in, hidden, proj = ms.cell, ms.input_size, ms.hidden_size, ms.proj_size
    n_layers, peephole = ms.num_layers, ms.peephole
    layers = desc.get("layers")
    if not isinstance(layers, list | tuple) or len(layers) != n_layers:
        raise ValueError(f"model description: 'layers' must be a list of num_layers = {n_layers} dicts")
    g = GATES[cell]
    out = proj or hidden
    st = ms.structure
    max_blocks = 1
    max_spec = max_bias = max_peep = 0.0
    for idx, layer in enumerate(layers):
        where = f"model description: layers[{idx}]"
        if not isinstance(layer, dict):
            raise ValueError(f"{where} must be a dict")
        n_l = n_in if idx == 0 else out
        if layer.get("input_size", n_l) != n_l:
            raise ValueError(f"{where}['input_size'] must be {n_l}, got {layer.get('input_size')!r}")
        shapes = {
            "w_ih": (g, *matrix.stored_shape(hidden, n_l, st)),
            "w_hh": (g, *matrix.stored_shape(hidden, out, st)),
            "b_ih": (g * hidden,),
            "b_hh": (g * hidden,),
        }
        arrays = {}
        for key, shape in shapes.items():
            arrays[key] = _arr(layer, key, where)
            if arrays[key].shape != shape:
                raise ValueError(f"{where}[{key!r}] must have shape {shape}, got {arrays[key].shape}")
        max_blocks = max(max_blocks, shapes["w_ih"][2] + shapes["w_hh"][2])
        for key in ("w_ih", "w_hh"):
            max_spec = max(max_spec, matrix.max_weight(matrix.from_description(arrays[key], st)))
        merged, b_hn = merged_biases(cell, arrays["b_ih"], arrays["b_hh"], hidden)
        max_bias = max(max_bias, float(np.abs(merged).max()))
        if b_hn is not None:
            max_bias = max(max_bias, float(np.abs(b_hn).max()))
        if proj:
            w_hr = _arr(layer, "w_hr", where)
            shape = (1, *matrix.stored_shape(proj, hidden, st))
            if w_hr.shape != shape:
                raise ValueError(f"{where}['w_hr'] must have shape {shape}, got {w_hr.shape}")
            max_blocks = max(max_blocks, shape[2])
            max_spec = max(max_spec, matrix.max_weight(matrix.from_description(w_hr, st)))
        elif layer.get("w_hr") is not None:
            raise ValueError(f"{where}['w_hr'] must be None when proj_size = 0")
        if peephole:
            pe = _arr(layer, "peephole", where)
            if pe.shape != (3, hidden):
                raise ValueError(f"{where}['peephole'] must have shape (3, {hidden}), got {pe.shape}")
            max_peep = max(max_peep, float(np.abs(pe).max()))
        elif layer.get("peephole") is not None:
            raise ValueError(f"{where}['peephole'] must be None when the model has no peepholes")
    if (
        isinstance(st, BlockCirculant) and max_blocks != ms.max_input_blocks
    ):  # the shape's count is the one every stage uses
        raise AssertionError(f"input blocks: layers give {max_blocks}, the shape {ms.max_input_blocks}")
    return ModelInfo(
        **{f: getattr(ms, f) for f in _SHAPE_FIELDS},
        max_spectrum=max_spec,
        max_bias=max_bias,
        max_peephole=max_peep,
    )


def numerics_for_model(desc: dict[str, Any], bits: int = 16) -> NumericsConfig:
    """The formats of ``desc`` on a ``bits``-wide data path: every width from the shape, the fraction bits
    of the weight spectra, biases and peepholes fitted to its weights (:meth:`NumericsConfig.for_weights`)."""
    info = describe_model(desc)
    matrix = implementation(info.structure.name, "golden")
    return matrix.numerics(info.shape, info.max_spectrum, info.max_bias, info.max_peephole, bits)


# ------------------------------------------------------------------------------------------------------
@dataclass(eq=False)
class QuantizedLayer:
    """One layer's integer parameters and the integer step function that uses them."""

    cell: str
    input_size: int
    hidden_size: int
    proj_size: int
    w_ih: Spectra  # (G, p, q_x, bins) Q(weight_spectrum)
    w_hh: Spectra  # (G, p, q_h, bins)
    bias: IntArray  # LSTM (4, H): b_ih + b_hh; GRU (3, H): b_r, b_z, b_in   Q(bias)
    b_hn: IntArray | None  # GRU (H,) Q(bias)
    peephole: IntArray | None  # (3, H) Q(peephole)
    w_hr: Spectra | None  # (1, p_r, q_r, bins)
    cfg: NumericsConfig
    matrix: Any = (
        _MATRIX  # the structure's golden matvec module (ernn.golden.structure); w_* are its matrices
    )

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def input_acc(self, x: IntArray, log: SaturationLog | None = None) -> Accumulators:
        """The W_ih products of the layer inputs x (..., n_l) Q(data): exact accumulators (..., G, p, bins)."""
        return self.matrix.accumulate(self.w_ih, x, self.cfg, log, "x")

    def step(
        self,
        acc_x: Accumulators,
        h: IntArray,
        c: IntArray | None,
        log: SaturationLog | None = None,
    ) -> tuple[IntArray, IntArray | None]:
        """One time step of this layer for a batch: (h_t Q(data), c_t Q(cell) or None).

        acc_x: :meth:`input_acc` of x_t, (N, G, p, bins); h: h_{t-1} (N, out); c: c_{t-1} (N, H) (LSTM).
        """
        cfg, hidden = self.cfg, self.hidden_size
        if not isinstance(acc_x, BinsMajorAccumulators):  # the fast path's layout stays as it is
            acc_x = Accumulators(*acc_x)
        acc_h = self.matrix.accumulate(self.w_hh, h, cfg, log, "h")
        if self.cell == "lstm":
            y = self.matrix.finish(acc_x + acc_h, hidden, cfg, log, "mv")  # (N, 4, H)
            if c is None:
                raise ValueError("an LSTM layer step needs the cell state c")
            m, c_new = lstm_cell(y, c, self.bias, cfg, log, self.peephole)
            if self.w_hr is None:
                return m, c_new
            acc_p = self.matrix.accumulate(self.w_hr, m, cfg, log, "proj")
            yp = self.matrix.finish(acc_p, self.proj_size, cfg, log, "proj")[..., 0, :]
            h_new = saturate(align(yp, cfg.ifft_out.frac, cfg.data.frac), cfg.data, log, "proj_out")
            return h_new, c_new
        # GRU: r, z merge input and recurrent products; n keeps them apart (r multiplies W_hn h + b_hn)
        rz, n = slice(0, 2), slice(2, None)
        acc = concat_gates([acc_x.gates(rz) + acc_h.gates(rz), acc_x.gates(n), acc_h.gates(n)])
        y = self.matrix.finish(acc, hidden, cfg, log, "mv")  # (N, 4, H): r, z, in, hn
        assert self.b_hn is not None
        h_new = gru_cell(y[..., :2, :], y[..., 2, :], y[..., 3, :], h, self.bias, self.b_hn, cfg, log)
        return h_new, None


@dataclass
class GoldenResult:
    """Outputs of :meth:`GoldenNetwork.run`: per layer, per sequence, per time step."""

    h_int: list[IntArray]  # per layer (N, T, out) Q(data); zero after each sequence's length
    c_int: list[IntArray] | None  # LSTM: per layer (N, T, H) Q(cell)
    lengths: IntArray
    log: SaturationLog
    numerics: NumericsConfig
    input_int: IntArray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def output_int(self) -> IntArray:
        """Last layer's h (N, T, out), integers of Q(data) (what the RTL streams out)."""
        return self.h_int[-1]

    @property
    def h(self) -> list[npt.NDArray[np.float64]]:
        """Dequantized h per layer."""
        return [dequantize(h, self.numerics.data) for h in self.h_int]

    @property
    def c(self) -> list[npt.NDArray[np.float64]] | None:
        return None if self.c_int is None else [dequantize(c, self.numerics.cell) for c in self.c_int]

    @property
    def output(self) -> npt.NDArray[np.float64]:
        return dequantize(self.output_int, self.numerics.data)


class GoldenNetwork:
    """Bit-exact fixed-point model of the RTL, built from a float model description.

    ``numerics`` defaults to :func:`numerics_for_model` (``data_bits`` wide). A given config must be
    able to hold the model (weight spectra, biases, peepholes, accumulator width): otherwise ValueError
    names the field and what would fit.
    """

    def __init__(self, desc: dict[str, Any], numerics: NumericsConfig | None = None, *, data_bits: int = 16):
        self.info = describe_model(desc)
        cfg = numerics_for_model(desc, data_bits) if numerics is None else numerics
        if not isinstance(cfg, NumericsConfig):
            raise ValueError(f"numerics must be a NumericsConfig, got {type(cfg).__name__}")
        self.numerics = cfg
        self.matrix = implementation(self.info.structure.name, "golden")
        self._check_fits()
        self.layers = [self._quantize_layer(i, layer) for i, layer in enumerate(desc["layers"])]

    # -- construction -----------------------------------------------------------------------------
    def _check_fits(self) -> None:
        info, cfg = self.info, self.numerics
        self.matrix.check_numerics(cfg, info.shape)
        for name, value in (
            ("weight_spectrum", info.max_spectrum),
            ("bias", info.max_bias),
            ("peephole", info.max_peephole),
        ):
            fmt: QFormat = getattr(cfg, name)
            if np.rint(value * 2.0**fmt.frac) > fmt.max_int:
                best = fit_frac(value, fmt.word, max_frac=fmt.frac)
                raise ValueError(
                    f"numerics.{name} = {fmt} cannot hold the model's largest value {value:.6g}: "
                    f"allowed frac <= {best} at word {fmt.word} (or a wider word)"
                )

    def _quantize_layer(self, idx: int, layer: dict[str, Any]) -> QuantizedLayer:
        info, cfg = self.info, self.numerics
        ws, m, st = cfg.weight_spectrum, self.matrix, info.structure
        merged, b_hn = merged_biases(
            info.cell, np.asarray(layer["b_ih"]), np.asarray(layer["b_hh"]), info.hidden_size
        )
        w_hr = None
        if info.proj_size:
            w_hr = m.quantize_matrix(m.from_description(layer["w_hr"], st), ws)
        return QuantizedLayer(
            cell=info.cell,
            input_size=info.input_size if idx == 0 else info.output_size,
            hidden_size=info.hidden_size,
            proj_size=info.proj_size,
            w_ih=m.quantize_matrix(m.from_description(layer["w_ih"], st), ws),
            w_hh=m.quantize_matrix(m.from_description(layer["w_hh"], st), ws),
            bias=quantize(merged, cfg.bias),
            b_hn=None if b_hn is None else quantize(b_hn, cfg.bias),
            peephole=None if layer.get("peephole") is None else quantize(layer["peephole"], cfg.peephole),
            w_hr=w_hr,
            cfg=cfg,
            matrix=m,
        )

    # -- running ----------------------------------------------------------------------------------
    def quantize_input(self, x: npt.ArrayLike, log: SaturationLog | None = None) -> IntArray:
        """Float input -> Q(data) (round to nearest even, saturated); integer input is saturated (counted)."""
        arr = np.asarray(x)
        if np.issubdtype(arr.dtype, np.integer):
            return saturate(arr.astype(np.int64), self.numerics.data, log, "input")
        return quantize(arr, self.numerics.data, log, "input")

    def initial_state(self, batch: int) -> list[tuple[IntArray, IntArray | None]]:
        """Zero (h, c) per layer for ``batch`` sequences."""
        state = []
        for layer in self.layers:
            h = np.zeros((batch, layer.output_size), dtype=np.int64)
            c = np.zeros((batch, layer.hidden_size), dtype=np.int64) if self.info.cell == "lstm" else None
            state.append((h, c))
        return state

    def step(
        self,
        x_t: npt.ArrayLike,
        state: list[tuple[IntArray, IntArray | None]] | None = None,
        log: SaturationLog | None = None,
    ) -> tuple[list[IntArray], list[tuple[IntArray, IntArray | None]]]:
        """One time step of every layer for a batch of frames x_t (N, input_size) (Q(data) integers).

        Returns (h_t per layer, new state); ``state`` None means zero state.
        """
        x = self.quantize_input(x_t, log)
        if x.ndim != 2 or x.shape[1] != self.info.input_size:
            raise ValueError(f"x_t must have shape (N, {self.info.input_size}), got {x.shape}")
        state = self.initial_state(x.shape[0]) if state is None else state
        outs, new_state = [], []
        inp = x
        for idx, layer in enumerate(self.layers):
            llog = None if log is None else log.child(f"layer{idx}")
            h, c = state[idx]
            h_new, c_new = layer.step(layer.input_acc(inp, llog), h, c, llog)
            outs.append(h_new)
            new_state.append((h_new, c_new))
            inp = h_new
        return outs, new_state

    def run(self, x: npt.ArrayLike, lengths: npt.ArrayLike | None = None) -> GoldenResult:
        """Run a batch x (N, T, input_size) (float, or integers of Q(data)) with per-sequence lengths.

        All N sequences advance together, one time step per matvec: a large batch is the fast way to run a
        test set (``bench/bench_golden.py``), with the same integers and saturation counts as running the
        sequences one by one (``tests/test_golden_batched.py``).
        """
        arr = np.asarray(x)
        # the BLAS thread setting costs milliseconds: only for batches that take the fast path
        # numerics.block_size: the model's k (a structure without one records a nominal k, golden/csb.py)
        with one_blas_thread() if fast_path(arr.size // max(1, self.numerics.block_size)) else nullcontext():
            return self._run(arr, lengths)

    def _run(self, x: npt.ArrayLike, lengths: npt.ArrayLike | None) -> GoldenResult:
        arr = np.asarray(x)
        if arr.ndim != 3 or arr.shape[2] != self.info.input_size:
            raise ValueError(f"x must have shape (N, T, {self.info.input_size}), got {arr.shape}")
        n, t_max, _ = arr.shape
        lens = np.full(n, t_max, dtype=np.int64) if lengths is None else np.asarray(lengths, dtype=np.int64)
        if lens.shape != (n,) or (lens.size and (lens.min() < 0 or lens.max() > t_max)):
            raise ValueError(f"lengths must be {n} integers in [0, {t_max}], got {lengths!r}")
        log = SaturationLog()
        if all(map(batched.supported, self.layers)) and fast_path(n * self.layers[0].w_ih.shape[2]):
            # the batch-minor runner quantizes the input itself, straight into its own layout
            xq, h_bm, c_bm = batched.run_network(self.layers, arr, lens, self.numerics.data, log)
            return GoldenResult(
                h_int=h_bm, c_int=c_bm, lengths=lens, log=log, numerics=self.numerics, input_int=xq
            )
        active = np.arange(t_max)[None, :] < lens[:, None]  # (N, T)
        xq = np.zeros(arr.shape, dtype=np.int64)
        xq[active] = self.quantize_input(arr[active], log)
        order = np.argsort(-lens, kind="stable")  # longest first: active rows are a prefix at every t
        inv = np.argsort(order)
        inp = xq[order]
        lens_sorted = lens[order]
        counts = (np.arange(t_max)[:, None] < lens_sorted[None, :]).sum(axis=1)  # active rows per step
        h_all: list[IntArray] = []
        c_all: list[IntArray] = []
        for idx, layer in enumerate(self.layers):
            llog = log.child(f"layer{idx}")
            h_out = np.zeros((n, t_max, layer.output_size), dtype=np.int64)
            c_out = np.zeros((n, t_max, layer.hidden_size), dtype=np.int64)
            ((h, c),) = self.initial_state(n)[idx : idx + 1]
            for t in range(t_max):
                m = int(counts[t])  # the active rows are a prefix: only real frames are multiplied
                if m == 0:
                    break
                acc_x = layer.input_acc(inp[:m, t], llog)
                h_new, c_new = layer.step(acc_x, h[:m], None if c is None else c[:m], llog)
                # the state is the fresh step result itself (no copy): the active rows only shrink, so
                # the next step's h[:m] is a prefix of it
                h = h_new
                h_out[:m, t] = h_new
                if c is not None and c_new is not None:
                    c = c_new
                    c_out[:m, t] = c_new
            h_all.append(h_out)
            c_all.append(c_out)
            inp = h_out
        return GoldenResult(
            h_int=[h[inv] for h in h_all],
            c_int=[c[inv] for c in c_all] if self.info.cell == "lstm" else None,
            lengths=lens,
            log=log,
            numerics=self.numerics,
            input_int=xq,
        )

    def run_stream(self, frames: npt.ArrayLike, last: npt.ArrayLike) -> tuple[IntArray, SaturationLog]:
        """Run frames (T, input_size) as the RTL sees them on AXI-Stream: ``last[t]`` (TLAST) ends a sequence
        and the state is reset after it. Returns the last layer's outputs (T, out) and the saturation log.
        """
        arr = np.asarray(frames)
        flags = np.asarray(last, dtype=bool)
        if arr.ndim != 2 or flags.shape != (arr.shape[0],):
            raise ValueError("run_stream: frames must be (T, input_size) and last must be (T,) booleans")
        ends = [int(e) + 1 for e in np.flatnonzero(flags)]
        if not ends or ends[-1] != arr.shape[0]:
            ends.append(arr.shape[0])
        bounds = [(s, e) for s, e in zip([0, *ends[:-1]], ends, strict=True) if e > s]
        starts = [s for s, _ in bounds]
        lens = np.array([e - s for s, e in bounds], dtype=np.int64)
        if arr.shape[0] == 0:
            return np.zeros((0, self.info.output_size), dtype=np.int64), SaturationLog()
        t_max = int(lens.max())
        batch = np.zeros((len(lens), t_max, arr.shape[1]), dtype=arr.dtype)
        for row, (s, ln) in enumerate(zip(starts, lens, strict=True)):
            batch[row, :ln] = arr[s : s + ln]
        res = self.run(batch, lens)
        out = np.concatenate([res.output_int[row, :ln] for row, ln in enumerate(lens)], axis=0)
        return out, res.log

    # -- export -----------------------------------------------------------------------------------
    def quantized_params(self) -> dict[str, Any]:
        """Every integer the RTL memories hold, with the config (numpy int64 arrays; see docs/numerics.md).

        Keys: numerics (dict), cell, block_size, input_size, hidden_size, proj_size, num_layers, peephole,
        twiddles {re, im} (k/2,) Q(twiddle), sigmoid / tanh {values, slopes, range_log2, seg_bits},
        layers[l] {w_ih, w_hh, w_hr: {re, im} (G, p, q, k/2+1) Q(weight_spectrum) or None,
        bias (G', H) Q(bias), b_hn (H,) or None, peephole (3, H) Q(peephole) or None}.
        """
        cfg, info = self.numerics, self.info
        tw_re, tw_im = twiddles(cfg.block_size, cfg.twiddle)
        acts = {}
        for kind in ("sigmoid", "tanh"):
            tab = activation_table(kind, cfg)  # type: ignore[arg-type]
            acts[kind] = {
                "values": tab.values.copy(),
                "slopes": tab.slopes.copy(),
                "range_log2": tab.spec.range_log2,
                "seg_bits": tab.spec.seg_bits,
            }

        def spec(s: Any) -> dict[str, IntArray] | None:
            return None if s is None else self.matrix.int_arrays(s)

        return {
            "numerics": cfg.to_dict(),
            "cell": info.cell,
            "block_size": cfg.block_size,
            "input_size": info.input_size,
            "hidden_size": info.hidden_size,
            "proj_size": info.proj_size,
            "num_layers": info.num_layers,
            "peephole": info.peephole,
            "twiddles": {"re": tw_re.copy(), "im": tw_im.copy()},
            **acts,
            "layers": [
                {
                    "w_ih": spec(layer.w_ih),
                    "w_hh": spec(layer.w_hh),
                    "w_hr": spec(layer.w_hr),
                    "bias": layer.bias.copy(),
                    "b_hn": None if layer.b_hn is None else layer.b_hn.copy(),
                    "peephole": None if layer.peephole is None else layer.peephole.copy(),
                }
                for layer in self.layers
            ],
        }

    def float_equivalent(self) -> dict[str, Any]:
        """Model description holding the dequantized parameters (what the integers stand for).

        Circulant vectors are IRFFT of the dequantized spectra (exact: bins 0 and k/2 are real); the merged
        biases go to b_ih with b_hh = 0, except GRU's b_hn, which stays in b_hh.
        """
        cfg, info = self.numerics, self.info
        k = info.block_size

        def vec(s: Spectra) -> np.ndarray:
            spec = dequantize(s.re, cfg.weight_spectrum) + 1j * dequantize(s.im, cfg.weight_spectrum)
            return np.fft.irfft(spec, n=k, axis=-1)

        layers = []
        for idx, layer in enumerate(self.layers):
            g, h = info.gates, info.hidden_size
            b_ih = dequantize(layer.bias, cfg.bias).reshape(-1)
            b_hh = np.zeros(g * h)
            if layer.b_hn is not None:
                b_hh[2 * h :] = dequantize(layer.b_hn, cfg.bias)
            layers.append(
                {
                    "input_size": info.input_size if idx == 0 else info.output_size,
                    "w_ih": vec(layer.w_ih),
                    "w_hh": vec(layer.w_hh),
                    "b_ih": b_ih,
                    "b_hh": b_hh,
                    "w_hr": None if layer.w_hr is None else vec(layer.w_hr),
                    "peephole": None if layer.peephole is None else dequantize(layer.peephole, cfg.peephole),
                }
            )
        return {
            "cell": info.cell,
            "input_size": info.input_size,
            "hidden_size": info.hidden_size,
            "proj_size": info.proj_size,
            "num_layers": info.num_layers,
            "block_size": k,
            "peephole": info.peephole,
            "layers": layers,
        }
