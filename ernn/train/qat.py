"""Quantization-aware fine-tuning (QAT): training through the golden model's number formats.

Post-training quantization (``ernn export --data-bits B``) rounds a model trained in float; at narrow data
paths that costs accuracy. QAT fine-tunes the float weights with a forward pass whose values are the golden
model's (:mod:`ernn.golden`, docs/numerics.md) at B bits, so that the weights move to where quantization
hurts less. The model stays an ordinary float model: the exported model is the fine-tuned torch model,
quantized by ``ernn export`` as usual.

Forward (:func:`quantized_forward`): **bit-exact** with ``GoldenNetwork(desc, numerics_for_model(desc, B))``,
i.e. with the model that ``ernn export --data-bits B`` writes (``tests/test_qat.py`` checks equality of
every output integer on random LSTM (peepholes, projection, 2 layers) and GRU models at 8/12/16 bits, and
equality of the accuracy with the exported model's golden accuracy). Per call:

* the formats are refitted to the current weights (``numerics_for_model``: weight-spectrum, bias and
  peephole fraction bits follow the weights' range, as export fits them), and the weights quantized by the
  golden model's own functions (spectra RFFT -> Q(weight_spectrum), merged biases -> Q(bias), peepholes ->
  Q(peephole), round to nearest even);
* inputs x_t -> Q(data) (round to nearest even, saturated; the golden ``input`` point), after the input
  shift export folds into layer 0 (x / 2**s, W_ih 2**s; :func:`export_input_shift`);
* the circulant matvecs (FFT with its stage roundings, exact MAC, IFFT with its roundings and
  saturations) are computed by the golden model itself (``ernn.golden.matvec`` on int64 numpy, no
  gradient) from the exact integer inputs and weights: nothing of the FFT is approximated;
* every cell operation is mirrored in torch on float64 values that are exact multiples of their format's
  LSB (products and sums stay below 2**53, hence :data:`MAX_BITS`): each rounding is round-half-up to the
  target frac (``floor(v 2**F + 1/2)``, ``ops.round_shift``), each saturation a clamp to the format's range,
  at the points of docs/numerics.md sections 9-11 (gate pre-activations, cell state, tanh(c) input, h_t,
  projection output, GRU reset product);
* sigmoid and tanh are the golden piecewise-linear tables (``activation_table``), evaluated on the integer
  codes exactly as ``activation.activate`` does.

Backward (straight-through estimators; values are replaced, gradients are those of the float operation):

* rounding (round-half-up in the datapath, ties-to-even of weights, biases, peepholes): identity;
* saturation: ``torch.clamp``'s gradient, 1 inside the format's range and 0 outside (a clamped gate
  pre-activation, cell state or h passes no gradient);
* each matvec: the gradient of the float FFT-domain matvec (``circulant.matvec``) at the float weights and
  the exact (quantized) inputs, so the weight gradient is straight through the spectrum quantization and
  the input gradient ignores the FFT's roundings and the (rare) IFFT saturations;
* sigmoid / tanh tables: the derivative of the float function at the quantized pre-activation (not the
  table's own slope, which is 0 inside every segment at 8 bits, where the table is a per-code lookup).

Nothing is approximated in the forward pass; the saturation counts of the golden model are not kept.

Schedule (:func:`finetune`, ``ernn train --qat-bits B --qat-epochs E``): after the normal schedule,
E more epochs of Adam through this forward at ``lr *`` :data:`LR_SCALE` with the same cosine decay, batch
size and gradient clipping as every other phase (``history`` phase ``qat``). ``metrics.json`` ``qat``
records the test accuracy before and after, of the float model and through this forward (= the golden
accuracy of the B-bit export), and the weight formats before and after.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ernn import data
from ernn.golden.activation import ActivationTable, activation_table
from ernn.golden.float_reference import run_float
from ernn.golden.formats import NumericsConfig, QFormat
from ernn.golden.matvec import Accumulators, concat_gates
from ernn.golden.network import GoldenNetwork, QuantizedLayer, numerics_for_model
from ernn.shape.structures import implementation
from ernn.train import circulant

#: fine-tuning learning rate = the run's lr times this (the weights are trained already; QAT only moves them)
LR_SCALE = 0.1
#: data-path widths QAT accepts: the golden model's lower limit; above 16 bits the float64 mirror of the cell
#: products would exceed 53 bits (and QAT has nothing left to recover there)
MIN_BITS, MAX_BITS = 6, 16
#: block sizes of the fixed-point FFT (ernn.golden.formats)
MIN_BLOCK, MAX_BLOCK = 4, 64
#: the largest input shift export chooses (ernn.export.input_shift.MAX_SHIFT)
_MAX_INPUT_SHIFT = 4

_MATRIX = implementation("circulant", "golden")  # the golden block-circulant matvec (ernn.golden.matvec)


def check(bits: int, epochs: int, block_size: int) -> None:
    """Raise ValueError naming ``qat_bits`` / ``qat_epochs`` when they are not usable for this model."""
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer):
        raise ValueError(f"qat_bits must be an integer: 0 (off) or in [{MIN_BITS}, {MAX_BITS}], got {bits!r}")
    if bits and not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"qat_bits must be 0 (off) or in [{MIN_BITS}, {MAX_BITS}], got {bits}")
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ValueError(f"qat_epochs must be an integer >= 1, got {epochs!r}")
    if bits and not MIN_BLOCK <= block_size <= MAX_BLOCK:
        raise ValueError(
            f"qat_bits needs a block size in [{MIN_BLOCK}, {MAX_BLOCK}] (the fixed-point FFT's), "
            f"got block_size={block_size}"
        )


# ------------------------------------------------------------------------------------------------------
# straight-through quantizers on float64 values that are exact multiples of their LSB
def _through(exact: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """``exact``'s values with ``source``'s gradient: ``source - source.detach()`` is exactly 0, so the sum
    is ``exact`` bit for bit (``source + (exact - source).detach()`` is not: it rounds twice)."""
    return exact + (source - source.detach())


def _rnd(v: torch.Tensor, frac: int) -> torch.Tensor:
    """Round half up to ``frac`` fraction bits (``ops.round_shift`` / ``align``), straight through."""
    scale = 2.0**frac
    return _through(torch.floor(v.detach() * scale + 0.5) / scale, v)


def _sat(v: torch.Tensor, fmt: QFormat) -> torch.Tensor:
    """Saturate to ``fmt``'s range (``ops.saturate``); no gradient outside it."""
    return torch.clamp(v, fmt.min_value, fmt.max_value)


def _fixed(ints: np.ndarray | torch.Tensor, frac: int, source: torch.Tensor | None = None) -> torch.Tensor:
    """Golden integers of ``frac`` fraction bits as float64 values (with ``source``'s gradient, if given)."""
    exact = torch.as_tensor(np.asarray(ints), dtype=torch.float64) * 2.0**-frac
    return exact if source is None else _through(exact, source)


def _ints(v: torch.Tensor, frac: int) -> np.ndarray:
    """Exact values of ``frac`` fraction bits -> the golden model's int64 integers."""
    return torch.round(v.detach() * 2.0**frac).to(torch.int64).numpy()


@functools.lru_cache(maxsize=64)
def _table_tensors(table: ActivationTable) -> tuple[torch.Tensor, torch.Tensor]:
    """VALUE and SLOPE of a golden table as int64 tensors (the golden arrays are read-only: copied)."""
    return torch.from_numpy(table.values.copy()), torch.from_numpy(table.slopes.copy())


def _activate(pre: torch.Tensor, table: ActivationTable) -> torch.Tensor:
    """The golden piecewise-linear table on Q(gate) values (``activation.activate``), float derivative."""
    values, slopes = _table_tensors(table)
    code = torch.round(pre.detach() * 2.0**table.in_fmt.frac).to(torch.int64)
    u = code.clamp(table.lo_int, table.hi_int) - table.lo_int
    b, sf = table.offset_bits, table.slope_fmt.frac
    seg = u >> b
    off = u & ((1 << b) - 1)
    prod = slopes[seg] * off
    interp = (prod + (1 << (sf - 1))) >> sf if sf > 0 else prod << -sf
    y = (values[seg] + interp).clamp(table.out_fmt.min_int, table.out_fmt.max_int)
    func = torch.sigmoid if table.kind == "sigmoid" else torch.tanh
    return _fixed(y, table.out_fmt.frac, func(pre))


# ------------------------------------------------------------------------------------------------------
class _Layer:
    """One layer's float parameters (gradient path) and golden integers (values)."""

    def __init__(self, rnn: nn.Module, idx: int, ql: QuantizedLayer, cfg: NumericsConfig, scale: float):
        self.ql, self.cfg, self.idx = ql, cfg, idx
        self.cell, self.hidden = ql.cell, ql.hidden_size
        g, h = (4, self.hidden) if self.cell == "lstm" else (3, self.hidden)
        self.w_ih = getattr(rnn, f"weight_ih_l{idx}").double() * scale
        self.w_hh = getattr(rnn, f"weight_hh_l{idx}").double()
        self.w_hr = getattr(rnn, f"weight_hr_l{idx}", None)
        self.w_hr = None if self.w_hr is None else self.w_hr.double()
        if rnn.bias:
            b_ih = getattr(rnn, f"bias_ih_l{idx}").double().view(g, h)
            b_hh = getattr(rnn, f"bias_hh_l{idx}").double().view(g, h)
        else:
            b_ih = b_hh = torch.zeros(g, h, dtype=torch.float64)
        bf = cfg.bias.frac
        if self.cell == "lstm":  # merged as the golden model merges them (network.merged_biases)
            self.bias = _fixed(ql.bias, bf, b_ih + b_hh)
            self.b_hn = None
        else:
            merged = torch.stack((b_ih[0] + b_hh[0], b_ih[1] + b_hh[1], b_ih[2]))
            self.bias = _fixed(ql.bias, bf, merged)
            assert ql.b_hn is not None
            self.b_hn = _fixed(ql.b_hn, bf, b_hh[2])
        peep = getattr(rnn, f"weight_peep_l{idx}", None)
        self.peephole = None
        if peep is not None:
            assert ql.peephole is not None
            self.peephole = _fixed(ql.peephole, cfg.peephole.frac, peep.double())

    def run(self, xs: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """Layer outputs (N, T, out) for exact Q(data) inputs xs (N, T, n), zero after each sequence."""
        cfg, hidden = self.cfg, self.hidden
        d, io = cfg.data.frac, cfg.ifft_out.frac
        n, steps = xs.shape[:2]
        acc_x = self.ql.input_acc(_ints(xs, d))  # exact accumulators of every frame, (N, T, G, p, bins)
        gx = circulant.matvec(self.w_ih, xs, hidden).view(n, steps, -1, hidden)
        h = xs.new_zeros(n, self.ql.output_size)
        c = xs.new_zeros(n, hidden) if self.cell == "lstm" else None
        outputs = []
        for t in range(steps):
            acc_h = _MATRIX.accumulate(self.ql.w_hh, _ints(h, d), cfg)
            gh = circulant.matvec(self.w_hh, h, hidden).view(n, -1, hidden)
            at = Accumulators(acc_x.re[:, t], acc_x.im[:, t])
            if self.cell == "lstm":
                y = _fixed(_MATRIX.finish(at + acc_h, hidden, cfg), io, gx[:, t] + gh)
                h_new, c_new = self._lstm(y, c)
            else:
                rz, nn_ = slice(0, 2), slice(2, None)
                acc = concat_gates([at.gates(rz) + acc_h.gates(rz), at.gates(nn_), acc_h.gates(nn_)])
                source = torch.cat((gx[:, t, :2] + gh[:, :2], gx[:, t, 2:], gh[:, 2:]), dim=1)
                y = _fixed(_MATRIX.finish(acc, hidden, cfg), io, source)  # r, z, in, hn
                h_new, c_new = self._gru(y, h), None
            m = active[:, t, None]
            h = torch.where(m, h_new, h)
            if c is not None and c_new is not None:
                c = torch.where(m, c_new, c)
            outputs.append(h_new * m)
        return torch.stack(outputs, dim=1)

    def _pre(self, y: torch.Tensor, bias: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """sat_G( rnd(y -> G) + rnd(bias -> G) [+ extra] ) (``cells.gate_preact``)."""
        g = self.cfg.gate.frac
        s = _rnd(y, g) + _rnd(bias, g)
        return _sat(s if extra is None else s + extra, self.cfg.gate)

    def _lstm(self, y: torch.Tensor, c_prev: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``cells.lstm_cell`` (+ the projection of ``QuantizedLayer.step``) on exact values."""
        assert c_prev is not None
        cfg = self.cfg
        sig, tnh = activation_table("sigmoid", cfg), activation_table("tanh", cfg)
        gf = cfg.gate.frac
        p = self.peephole
        if p is None:
            pre = self._pre(y, self.bias)
            i, f, o = _activate(pre[:, 0], sig), _activate(pre[:, 1], sig), _activate(pre[:, 3], sig)
            g = _activate(pre[:, 2], tnh)
        else:
            i = _activate(self._pre(y[:, 0], self.bias[0], _rnd(p[0] * c_prev, gf)), sig)
            f = _activate(self._pre(y[:, 1], self.bias[1], _rnd(p[1] * c_prev, gf)), sig)
            g = _activate(self._pre(y[:, 2], self.bias[2]), tnh)
        c = _sat(_rnd(f * c_prev + i * g, cfg.cell.frac), cfg.cell)  # one rounding (lstm_cell_state)
        if p is not None:
            o = _activate(self._pre(y[:, 3], self.bias[3], _rnd(p[2] * c, gf)), sig)
        tanh_c = _activate(_sat(_rnd(c, gf), cfg.gate), tnh)
        m = _sat(_rnd(o * tanh_c, cfg.data.frac), cfg.data)
        if self.w_hr is None:
            return m, c
        assert self.ql.w_hr is not None
        proj = self.ql.proj_size
        acc = _MATRIX.accumulate(self.ql.w_hr, _ints(m, cfg.data.frac), cfg)
        yp = _fixed(
            _MATRIX.finish(acc, proj, cfg)[..., 0, :], cfg.ifft_out.frac, circulant.matvec(self.w_hr, m, proj)
        )
        return _sat(_rnd(yp, cfg.data.frac), cfg.data), c

    def _gru(self, y: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        """``cells.gru_cell`` on exact values: y holds r, z, in, hn (N, 4, H)."""
        cfg = self.cfg
        sig, tnh = activation_table("sigmoid", cfg), activation_table("tanh", cfg)
        assert self.b_hn is not None
        rz = _activate(self._pre(y[:, :2], self.bias[:2]), sig)
        r, z = rz[:, 0], rz[:, 1]
        hn = self._pre(y[:, 3], self.b_hn)
        reset = _rnd(r * hn, cfg.gate.frac)
        n = _activate(self._pre(y[:, 2], self.bias[2], reset), tnh)
        return _sat(_rnd(n + z * (h_prev - n), cfg.data.frac), cfg.data)  # one rounding (gru_output)


def export_input_shift(ds: data.Dataset) -> int:
    """The input shift ``ernn export`` folds into layer 0 by default (``--input-shift auto``,
    ``ernn.export.input_shift``): the smallest s in 0..4 that leaves at most 1e-4 of the normalised training
    feature values beyond the data range 2**(3 + s). Fine-tuning runs with it so that layer 0's inputs are
    quantized as the export will quantize them (``tests/test_qat.py`` checks that the two rules agree)."""
    magnitudes = np.abs(ds.normalise(ds.train.x)[ds.train.frame_mask])
    for shift in range(_MAX_INPUT_SHIFT + 1):
        if int((magnitudes > float(1 << (3 + shift))).sum()) <= 1e-4 * magnitudes.size:
            return shift
    return _MAX_INPUT_SHIFT


def golden_network(rnn: nn.Module, bits: int, input_shift: int = 0) -> GoldenNetwork:
    """The golden model ``ernn export --data-bits bits`` builds from ``rnn``'s current weights (formats
    refitted to them); ``input_shift`` s: layer 0's W_ih times 2**s, as an export with that input shift."""
    desc = rnn.describe()
    if input_shift:
        desc["layers"][0]["w_ih"] = desc["layers"][0]["w_ih"] * float(1 << input_shift)
    return GoldenNetwork(desc, numerics_for_model(desc, bits))


def quantized_forward(
    rnn: nn.Module, x: torch.Tensor, lengths: torch.Tensor, bits: int, *, input_shift: int = 0
) -> tuple[torch.Tensor, NumericsConfig]:
    """The golden model's last-layer outputs (N, T, out), float64, for the (normalised) inputs x (N, T, F),
    with straight-through gradients to ``rnn``'s parameters (see the module docstring); and the formats.

    ``rnn`` is an ``ernn.LSTM`` / ``ernn.GRU`` (batch-first input here whatever its ``batch_first``).
    ``input_shift`` s: the inputs are x / 2**s and layer 0's W_ih is 2**s W_ih (the same float model).
    """
    net = golden_network(rnn, bits, input_shift)
    cfg = net.numerics
    active = torch.arange(x.shape[1])[None, :] < lengths[:, None]
    xs = x.detach().double() * 2.0**-input_shift
    d = cfg.data
    xq = torch.clamp(torch.round(xs * 2.0**d.frac), d.min_int, d.max_int) * 2.0**-d.frac
    layer_in = torch.where(active[..., None], xq, 0.0)  # golden: frames past a sequence's end are zero
    for idx, ql in enumerate(net.layers):
        layer = _Layer(rnn, idx, ql, cfg, float(1 << input_shift) if idx == 0 else 1.0)
        layer_in = layer.run(layer_in, active)
    return layer_in, cfg


class QATModel(nn.Module):
    """A trained classifier (``ernn.train.trainer.SequenceModel``: ``rnn``, ``head``, ``task``) whose RNN runs
    through :func:`quantized_forward` at ``bits``; same ``forward(x, lengths)`` and the same parameters (the
    wrapped model's, shared), so the trainer's epochs and evaluation run on it unchanged. The head runs in
    float64 as the exported model's host head does."""

    def __init__(self, model: nn.Module, bits: int, input_shift: int = 0) -> None:
        super().__init__()
        self.model, self.bits, self.input_shift = model, bits, input_shift
        self.task = model.task
        self.numerics: NumericsConfig | None = None  # the formats of the last forward

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = torch.as_tensor(lengths)
        out, self.numerics = quantized_forward(
            self.model.rnn, x, lengths, self.bits, input_shift=self.input_shift
        )
        head = self.model.head
        if self.task != "frames":
            out = out[torch.arange(out.shape[0]), lengths - 1]
        return nn.functional.linear(out, head.weight.double(), head.bias.double())


def golden_distance(
    rnn: nn.Module, x: np.ndarray, lengths: np.ndarray, bits: int, *, input_shift: int = 0
) -> dict[str, float]:
    """max |output - golden output| over valid frames, of :func:`quantized_forward` and of the float model
    (``x`` normalised, float32): how close the fine-tuning forward is to the golden model, and how far the
    float model is (the gap QAT trains against)."""
    net = golden_network(rnn, bits, input_shift)
    xs = np.asarray(x, dtype=np.float32) / np.float32(1 << input_shift)
    golden = net.run(xs, lengths).output
    with torch.no_grad():
        ours, _ = quantized_forward(
            rnn, torch.from_numpy(np.asarray(x)), torch.from_numpy(lengths), bits, input_shift=input_shift
        )
    float_out = run_float(rnn.describe(), x, lengths).output
    mask = np.arange(x.shape[1])[None, :] < lengths[:, None]
    return {
        "qat_vs_golden_max_abs": float(np.abs(ours.numpy() - golden)[mask].max()),
        "float_vs_golden_max_abs": float(np.abs(float_out - golden)[mask].max()),
        "data_lsb": net.numerics.data.lsb,
    }


def _formats(cfg: NumericsConfig | None) -> dict[str, str]:
    if cfg is None:
        return {}
    return {name: str(getattr(cfg, name)) for name in ("data", "weight_spectrum", "bias", "peephole", "gate")}


def finetune(
    model: nn.Module,
    ds: data.Dataset,
    cfg: Any,
    *,
    run_epochs: Callable[..., None],
    evaluate: Callable[..., float],
    input_shift: int | None = None,
) -> dict[str, Any]:
    """Fine-tune ``model`` in place for ``cfg.qat_epochs`` epochs through the ``cfg.qat_bits`` golden formats
    at ``cfg.lr * LR_SCALE``; returns the ``qat`` section of ``metrics.json``.

    ``cfg``: the run's ``TrainConfig``; ``run_epochs(module, ds, cfg, epochs, desc=...)`` and
    ``evaluate(module, split, ds, phase=...)`` are the trainer's (``ernn.train.trainer``, which calls this:
    the trainer imports this module, not the other way round). ``input_shift``: layer 0's input shift
    (default: the one ``ernn export`` will choose, :func:`export_input_shift`).
    """
    t0 = time.perf_counter()
    input_shift = export_input_shift(ds) if input_shift is None else input_shift
    quantized = QATModel(model, cfg.qat_bits, input_shift)
    result: dict[str, Any] = {
        "bits": cfg.qat_bits,
        "epochs": cfg.qat_epochs,
        "lr": cfg.lr * LR_SCALE,
        "input_shift": input_shift,
        "float_accuracy_before": evaluate(model, ds.test, ds, phase="qat"),
        "quantized_accuracy_before": evaluate(quantized, ds.test, ds, phase="qat"),
    }
    result["formats_before"] = _formats(quantized.numerics)
    run_epochs(quantized, ds, dataclasses.replace(cfg, lr=cfg.lr * LR_SCALE), cfg.qat_epochs, desc="qat")
    result["float_accuracy_after"] = evaluate(model, ds.test, ds, phase="qat")
    result["quantized_accuracy_after"] = evaluate(quantized, ds.test, ds, phase="qat")
    result["formats_after"] = _formats(quantized.numerics)
    result["seconds"] = time.perf_counter() - t0
    return result
