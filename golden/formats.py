"""Fixed-point formats of the golden model and the RTL: :class:`QFormat` and :class:`NumericsConfig`.

Notation: ``Q<word>.<frac>`` is a signed two's-complement number of ``word`` bits of which ``frac`` are
fraction bits, i.e. the integer ``v`` stands for ``v / 2**frac`` and lies in
``[-2**(word-1), 2**(word-1) - 1]``. ``Q16.12`` therefore spans [-8, 8) in steps of 2**-12.
(This is the word/frac notation of fxpmath's ``Fxp(signed, n_word, n_frac)``, not ARM's Qm.n.)

:class:`NumericsConfig` names every format of the datapath once (docs/numerics.md says what each one is
used for); it is serialised into the exported model config so that the golden model and the Verilog read
the same numbers. Every field is validated; a bad one raises ``ValueError`` naming the field and the allowed
range. fxpmath is the format authority: :meth:`QFormat.fxp` builds the matching ``Fxp`` template.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fxpmath import Fxp

from ernn.shape import ModelShape

#: Every intermediate of the golden model must stay below 2**HEADROOM_BITS in magnitude (int64 safety).
HEADROOM_BITS = 62

#: Block sizes the fixed-point FFT supports.
MIN_BLOCK, MAX_BLOCK = 4, 64


@dataclass(frozen=True)
class QFormat:
    """A two's-complement fixed-point format: ``word`` bits in all, ``frac`` of them fraction bits."""

    word: int
    frac: int
    signed: bool = True

    def __post_init__(self) -> None:
        for name in ("word", "frac"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"QFormat.{name} must be an integer, got {value!r}")
        if not 1 <= self.word <= HEADROOM_BITS:
            raise ValueError(f"QFormat.word must be in [1, {HEADROOM_BITS}], got {self.word}")
        if not isinstance(self.signed, bool):
            raise ValueError(f"QFormat.signed must be a bool, got {self.signed!r}")

    @property
    def min_int(self) -> int:
        """Smallest representable integer."""
        return -(1 << (self.word - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        """Largest representable integer."""
        return (1 << (self.word - 1)) - 1 if self.signed else (1 << self.word) - 1

    @property
    def lsb(self) -> float:
        """Value of one least-significant bit (2**-frac)."""
        return math.ldexp(1.0, -self.frac)

    @property
    def max_value(self) -> float:
        """Largest representable real value."""
        return math.ldexp(float(self.max_int), -self.frac)

    @property
    def min_value(self) -> float:
        """Smallest representable real value."""
        return math.ldexp(float(self.min_int), -self.frac)

    @property
    def int_bits(self) -> int:
        """Integer bits including the sign bit (word - frac)."""
        return self.word - self.frac

    def fxp(self, value: Any = None, rounding: str = "nearest_posinf") -> Fxp:
        """fxpmath ``Fxp`` of this format (saturating), holding ``value`` (None: an empty template)."""
        return Fxp(value, self.signed, self.word, self.frac, rounding=rounding, overflow="saturate")

    def to_dict(self) -> dict[str, Any]:
        return {"signed": self.signed, "word": int(self.word), "frac": int(self.frac)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str = "format") -> QFormat:
        if not isinstance(data, dict):
            raise ValueError(f"{name} must be a dict with keys signed, word, frac; got {data!r}")
        unknown = set(data) - {"signed", "word", "frac"}
        if unknown:
            raise ValueError(f"{name}: unknown keys {sorted(unknown)} (allowed: signed, word, frac)")
        try:
            return cls(word=data["word"], frac=data["frac"], signed=data.get("signed", True))
        except KeyError as err:
            raise ValueError(f"{name}: missing key {err.args[0]!r}") from None
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}Q{self.word}.{self.frac}"


@dataclass(frozen=True)
class ActivationSpec:
    """Piecewise-linear activation: input clamped to [-2**range_log2, 2**range_log2), 2**seg_bits segments."""

    range_log2: int
    seg_bits: int

    def to_dict(self) -> dict[str, int]:
        return {"range_log2": int(self.range_log2), "seg_bits": int(self.seg_bits)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str) -> ActivationSpec:
        if not isinstance(data, dict) or set(data) != {"range_log2", "seg_bits"}:
            raise ValueError(
                f"{name} must be a dict with exactly the keys range_log2, seg_bits; got {data!r}"
            )
        return cls(range_log2=int(data["range_log2"]), seg_bits=int(data["seg_bits"]))


def log2_exact(value: int, *, name: str) -> int:
    """log2 of a power of two, else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1 or value & (value - 1):
        raise ValueError(f"{name} must be a power of two, got {value!r}")
    return int(value).bit_length() - 1


def clog2(value: int) -> int:
    """ceil(log2(value)) for value >= 1 (Verilog's $clog2)."""
    return max(0, (int(value) - 1).bit_length())


def accumulator_word(fft_word: int, spectrum_word: int, blocks: int) -> int:
    """Width that holds a sum of ``blocks`` exact complex products without overflow.

    One component of a complex product, Re(a)Re(b) - Im(a)Im(b), of a ``fft_word``-bit and a
    ``spectrum_word``-bit operand lies in [-2**(A+B-1), 2**(A+B-1) - 2**(A-1)] (A, B the two widths):
    it needs A + B bits. Each doubling of the number of summed terms adds one bit.
    ``ACC_W = FFT_W + WS_W + $clog2(BLOCKS)``.
    """
    return fft_word + spectrum_word + clog2(max(1, blocks))


def fit_frac(max_abs: float, word: int, *, max_frac: int) -> int:
    """Largest fraction width <= ``max_frac`` at which ``max_abs`` rounds into a signed ``word``-bit integer."""
    limit = (1 << (word - 1)) - 1
    frac = max_frac
    while frac > -word and np.rint(max_abs * 2.0**frac) > limit:
        frac -= 1
    return frac


_FORMAT_FIELDS = (
    "data",
    "twiddle",
    "fft_out",
    "weight_spectrum",
    "accumulator",
    "ifft",
    "ifft_out",
    "bias",
    "gate",
    "act",
    "act_slope",
    "peephole",
    "cell",
)


@dataclass(frozen=True)
class NumericsConfig:
    """Every number format of the fixed-point datapath (see docs/numerics.md for each one's role).

    Build one with :meth:`for_data_bits`, :meth:`for_shape` or :meth:`for_weights`; ``validate()`` runs on construction.
    """

    block_size: int
    data: QFormat  # x_t and h_t: inputs of every circulant matvec, outputs of every layer
    twiddle: QFormat  # FFT/IFFT twiddle factors W_k^m
    fft_out: QFormat  # forward FFT output (input spectra): data word + log2 k bits, data frac
    weight_spectrum: QFormat  # RFFT(c) of the circulant weights, real and imaginary parts
    accumulator: QFormat  # frequency-domain complex MAC accumulator (exact)
    ifft: QFormat  # IFFT input and every IFFT stage
    ifft_out: QFormat  # matvec result (IFFT real output), same frac as ifft
    bias: QFormat  # merged biases
    gate: QFormat  # gate pre-activation (input of sigmoid/tanh)
    act: QFormat  # activation output (sigmoid, tanh)
    act_slope: QFormat  # slope table of the piecewise-linear activations (act LSBs per input LSB)
    peephole: QFormat  # diagonal peephole weights
    cell: QFormat  # LSTM cell state c
    sigmoid: ActivationSpec = field(default_factory=lambda: ActivationSpec(4, 10))
    tanh: ActivationSpec = field(default_factory=lambda: ActivationSpec(3, 10))

    def __post_init__(self) -> None:
        self.validate()

    # ----------------------------------------------------------------------------------------------
    @property
    def log2_k(self) -> int:
        return log2_exact(self.block_size, name="block_size")

    @property
    def bins(self) -> int:
        """Number of stored spectrum bins, k/2 + 1."""
        return self.block_size // 2 + 1

    def fft_stage_format(self, stage: int) -> QFormat:
        """Format of the forward FFT after radix-2 stage ``stage`` (1..log2 k): one bit of growth per stage."""
        return QFormat(self.fft_out.word - self.log2_k + stage, self.fft_out.frac)

    def required_accumulator_word(self, blocks: int) -> int:
        """Accumulator width needed for ``blocks`` summed input blocks (see :func:`accumulator_word`)."""
        return accumulator_word(self.fft_out.word, self.weight_spectrum.word, blocks)

    # ----------------------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field and its allowed range."""

        def need(cond: bool, name: str, allowed: str, got: Any) -> None:
            if not cond:
                raise ValueError(f"numerics.{name}: allowed {allowed}, got {got}")

        bs = self.block_size
        need(
            not isinstance(bs, bool) and isinstance(bs, int | np.integer) and bs >= 1 and not bs & (bs - 1),
            "block_size",
            f"a power of two in [{MIN_BLOCK}, {MAX_BLOCK}]",
            bs,
        )
        need(MIN_BLOCK <= bs <= MAX_BLOCK, "block_size", f"a power of two in [{MIN_BLOCK}, {MAX_BLOCK}]", bs)
        lk = self.log2_k
        for name in _FORMAT_FIELDS:
            fmt = getattr(self, name)
            need(isinstance(fmt, QFormat), name, "a QFormat", type(fmt).__name__)
            need(fmt.signed, f"{name}.signed", "True (every datapath format is two's complement)", fmt.signed)
        for name in ("sigmoid", "tanh"):
            need(
                isinstance(getattr(self, name), ActivationSpec),
                name,
                "an ActivationSpec",
                getattr(self, name),
            )

        d, tw, fo, ws, acc = self.data, self.twiddle, self.fft_out, self.weight_spectrum, self.accumulator
        need(4 <= d.word <= 24, "data.word", "[4, 24]", d.word)
        need(0 <= d.frac <= d.word - 1, "data.frac", f"[0, data.word - 1 = {d.word - 1}] (|h| < 1)", d.frac)
        need(4 <= tw.word <= 27, "twiddle.word", "[4, 27]", tw.word)
        need(
            2 <= tw.frac <= tw.word - 2,
            "twiddle.frac",
            f"[2, twiddle.word - 2 = {tw.word - 2}] (+1.0 must be representable)",
            tw.frac,
        )
        need(fo.frac == d.frac, "fft_out.frac", f"data.frac = {d.frac} (the FFT does not scale)", fo.frac)
        need(
            d.word + lk <= fo.word <= 40,
            "fft_out.word",
            f"[data.word + log2(block_size) = {d.word + lk}, 40] (one bit of growth per stage)",
            fo.word,
        )
        need(
            fo.word + tw.word <= HEADROOM_BITS - 1,
            "fft_out.word",
            f"<= {HEADROOM_BITS - 1} - twiddle.word (product headroom)",
            fo.word,
        )
        need(2 <= ws.word <= 27, "weight_spectrum.word", "[2, 27]", ws.word)
        need(-ws.word < ws.frac <= 60, "weight_spectrum.frac", f"[{1 - ws.word}, 60]", ws.frac)
        need(
            acc.frac == fo.frac + ws.frac,
            "accumulator.frac",
            f"fft_out.frac + weight_spectrum.frac = {fo.frac + ws.frac} (exact products)",
            acc.frac,
        )
        need(
            fo.word + ws.word <= acc.word <= HEADROOM_BITS,
            "accumulator.word",
            f"[fft_out.word + weight_spectrum.word = {fo.word + ws.word}, {HEADROOM_BITS}]",
            acc.word,
        )
        ii, io = self.ifft, self.ifft_out
        need(4 <= ii.word <= 40, "ifft.word", "[4, 40]", ii.word)
        need(
            ii.word + tw.word <= HEADROOM_BITS - 1,
            "ifft.word",
            f"<= {HEADROOM_BITS - 1} - twiddle.word (product headroom)",
            ii.word,
        )
        need(0 <= ii.frac <= ii.word - 1, "ifft.frac", f"[0, ifft.word - 1 = {ii.word - 1}]", ii.frac)
        need(io.frac == ii.frac, "ifft_out.frac", f"ifft.frac = {ii.frac}", io.frac)
        need(2 <= io.word <= ii.word, "ifft_out.word", f"[2, ifft.word = {ii.word}]", io.word)
        g, a, sl, b, p, c = self.gate, self.act, self.act_slope, self.bias, self.peephole, self.cell
        need(4 <= g.word <= 32, "gate.word", "[4, 32]", g.word)
        need(0 <= g.frac <= g.word - 2, "gate.frac", f"[0, gate.word - 2 = {g.word - 2}]", g.frac)
        need(2 <= b.word <= 32, "bias.word", "[2, 32]", b.word)
        need(-b.word < b.frac <= 40, "bias.frac", f"[{1 - b.word}, 40]", b.frac)
        need(4 <= a.word <= 32, "act.word", "[4, 32]", a.word)
        need(1 <= a.frac <= a.word - 2, "act.frac", f"[1, act.word - 2 = {a.word - 2}] (±1.0 exact)", a.frac)
        need(4 <= sl.word <= 32, "act_slope.word", "[4, 32]", sl.word)
        need(0 <= sl.frac <= 40, "act_slope.frac", "[0, 40]", sl.frac)
        need(2 <= p.word <= 32, "peephole.word", "[2, 32]", p.word)
        need(-p.word < p.frac <= 40, "peephole.frac", f"[{1 - p.word}, 40]", p.frac)
        need(4 <= c.word <= 48, "cell.word", "[4, 48]", c.word)
        need(0 <= c.frac <= c.word - 2, "cell.frac", f"[0, cell.word - 2 = {c.word - 2}]", c.frac)
        need(
            c.word + max(a.word, p.word) + 2 <= HEADROOM_BITS,
            "cell.word",
            f"<= {HEADROOM_BITS - 2} - max(act.word, peephole.word) (product headroom)",
            c.word,
        )
        need(
            sl.word + g.word + 1 <= HEADROOM_BITS,
            "act_slope.word",
            f"<= {HEADROOM_BITS - 1} - gate.word (product headroom)",
            sl.word,
        )
        for name in ("sigmoid", "tanh"):
            spec: ActivationSpec = getattr(self, name)
            top = g.word - 1 - g.frac
            need(
                0 <= spec.range_log2 <= top,
                f"{name}.range_log2",
                f"[0, gate.word - 1 - gate.frac = {top}] (the range must fit the gate format)",
                spec.range_log2,
            )
            span = spec.range_log2 + 1 + g.frac
            need(
                0 <= spec.seg_bits <= min(span, 14),
                f"{name}.seg_bits",
                f"[0, min(range_log2 + 1 + gate.frac, 14) = {min(span, 14)}]",
                spec.seg_bits,
            )

    # ----------------------------------------------------------------------------------------------
    @classmethod
    def for_data_bits(
        cls,
        bits: int = 16,
        block_size: int = 16,
        *,
        weight_frac: int | None = None,
        max_input_blocks: int = 128,
    ) -> NumericsConfig:
        """Default formats for a ``bits``-wide data path (8, 10, 12 or 16; any of 6..24 is accepted).

        ``weight_frac``: fraction bits of the weight spectra (default ``bits - 3``, i.e. |S| < 4; use
        :meth:`for_weights` to fit it to a model). ``max_input_blocks``: the most input blocks summed into one
        accumulator (q_x + q_h), which sets the accumulator width.
        """
        if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 6 <= bits <= 24:
            raise ValueError(
                f"data bits must be an integer in [6, 24] (8, 10, 12, 16 are tested), got {bits!r}"
            )
        if not isinstance(block_size, int | np.integer) or not MIN_BLOCK <= block_size <= MAX_BLOCK:
            raise ValueError(
                f"block_size must be a power of two in [{MIN_BLOCK}, {MAX_BLOCK}] for the fixed-point FFT, "
                f"got {block_size!r}"
            )
        lk = log2_exact(int(block_size), name="block_size")
        d = int(bits)
        tw_word = min(d + 2, 18)
        data = QFormat(d, d - 4)
        fft_out = QFormat(d + lk, d - 4)
        wsf = d - 3 if weight_frac is None else int(weight_frac)
        ws = QFormat(d, wsf)
        acc = QFormat(accumulator_word(fft_out.word, ws.word, max_input_blocks), fft_out.frac + wsf)
        gate = QFormat(d, d - 5)
        return cls(
            block_size=int(block_size),
            data=data,
            twiddle=QFormat(tw_word, tw_word - 2),
            fft_out=fft_out,
            weight_spectrum=ws,
            accumulator=acc,
            ifft=QFormat(d + 3 + lk, d - 2),
            ifft_out=QFormat(d + 3, d - 2),
            bias=gate,
            gate=gate,
            act=QFormat(d, d - 2),
            act_slope=QFormat(d + 2, d - 3),
            peephole=QFormat(d, d - 4),
            cell=QFormat(d + 8, d),
            sigmoid=ActivationSpec(4, min(10, 4 + 1 + gate.frac)),
            tanh=ActivationSpec(3, min(10, 3 + 1 + gate.frac)),
        )

    @classmethod
    def for_shape(cls, shape: ModelShape, bits: int = 16) -> NumericsConfig:
        """The formats of a model of this shape on a ``bits``-wide data path, before any weight exists.

        Every word width is final (the accumulator's follows from the shape's most input blocks); the
        fraction bits of the weight spectra, biases and peepholes are the defaults of
        :meth:`for_data_bits`, which :meth:`for_weights` fits to actual weights (widths do not change).
        """
        return cls.for_data_bits(bits, shape.block_size, max_input_blocks=shape.max_input_blocks)

    @classmethod
    def for_weights(
        cls, shape: ModelShape, max_spectrum: float, max_bias: float, max_peephole: float, bits: int = 16
    ) -> NumericsConfig:
        """Defaults of :meth:`for_shape` with the weight-dependent fraction bits fitted to the weights'
        largest magnitudes (``ernn.golden.network.numerics_for_model`` takes them from a model description):

        * weight_spectrum.frac: the largest that holds max |Re|, |Im| over every spectrum of the model
          (one frac per model: W_ih and W_hh share an accumulator, so they must share it);
        * bias.frac / peephole.frac: lowered from the default only if a value would not fit;
        * accumulator.word: from the largest number of input blocks summed into one accumulator.
        """
        base = cls.for_shape(shape, bits)
        blocks = shape.max_input_blocks
        ws_word = base.weight_spectrum.word
        wsf = fit_frac(max_spectrum, ws_word, max_frac=2 * ws_word)
        ws = QFormat(ws_word, wsf)
        acc = QFormat(accumulator_word(base.fft_out.word, ws_word, blocks), base.fft_out.frac + wsf)
        bias = QFormat(base.bias.word, fit_frac(max_bias, base.bias.word, max_frac=base.bias.frac))
        peep = QFormat(
            base.peephole.word, fit_frac(max_peephole, base.peephole.word, max_frac=base.peephole.frac)
        )
        return dataclasses.replace(base, weight_spectrum=ws, accumulator=acc, bias=bias, peephole=peep)

    # ----------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (the ``numerics`` section of the exported model config)."""
        out: dict[str, Any] = {"block_size": int(self.block_size)}
        for name in _FORMAT_FIELDS:
            out[name] = getattr(self, name).to_dict()
        out["sigmoid"] = self.sigmoid.to_dict()
        out["tanh"] = self.tanh.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericsConfig:
        """Inverse of :meth:`to_dict`; unknown or missing keys raise ValueError naming them."""
        if not isinstance(data, dict):
            raise ValueError(f"numerics must be a dict, got {type(data).__name__}")
        expected = {"block_size", *_FORMAT_FIELDS, "sigmoid", "tanh"}
        unknown = set(data) - expected
        missing = expected - set(data)
        if unknown:
            raise ValueError(f"numerics: unknown keys {sorted(unknown)}")
        if missing:
            raise ValueError(f"numerics: missing keys {sorted(missing)}")
        kwargs: dict[str, Any] = {"block_size": data["block_size"]}
        for name in _FORMAT_FIELDS:
            kwargs[name] = QFormat.from_dict(data[name], name=f"numerics.{name}")
        kwargs["sigmoid"] = ActivationSpec.from_dict(data["sigmoid"], name="numerics.sigmoid")
        kwargs["tanh"] = ActivationSpec.from_dict(data["tanh"], name="numerics.tanh")
        return cls(**kwargs)

    def replace(self, **changes: Any) -> NumericsConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line per format, for logs and reports."""
        lines = [f"block_size = {self.block_size}"]
        for name in _FORMAT_FIELDS:
            fmt = getattr(self, name)
            lines.append(f"{name:16s} {fmt!s:>8s}  [{fmt.min_value:g}, {fmt.max_value:g}]")
        lines.append(
            f"sigmoid          range ±2**{self.sigmoid.range_log2}, 2**{self.sigmoid.seg_bits} segments"
        )
        lines.append(f"tanh             range ±2**{self.tanh.range_log2}, 2**{self.tanh.seg_bits} segments")
        return "\n".join(lines)
