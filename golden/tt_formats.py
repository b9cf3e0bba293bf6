"""Number formats and the random source of the tensor-train golden training step (golden/tt_train.py).

Every word of the step has a named format (docs/numerics.md, section "Tensor-train training"):

=========  =========  ===============================================================================
name       default    holds
=========  =========  ===============================================================================
core       Q8.6       TT-core entries and the dense head's weights (the trained state)
x          Q8.5       inputs (normalised features)
act        Q8.6       h, gate values r, z, n of the GRU (hard sigmoid in [0, 1], hard tanh in [-1, 1])
inter      Q16.10     partial results between TT cores, pre-activations, biases, outputs y
grad       Q20.12     every backward signal (dL/dy, dL/dh, dL/dpre, partial results of the backward
                      contraction)
=========  =========  ===============================================================================

Core and bias gradients are not rounded: they are exact sums (int64 here; the widths the hardware needs
are :meth:`TTTrainFormats.gradient_word`) and the update rounds them once, stochastically, into the
parameter's own format. Option ``grad_store`` (default None: exact sums, the engine's contract) holds
every gradient accumulator in one named format instead: each time step's core or bias gradient (exact
over the batch) is rounded half up into it and added with saturation, and the update reads that word
(its fraction bits are then frac(g) below); it trades the accumulators' width (the training state's
largest part, docs/tensor_train.md section 4) for a rounding per time step: ``w <- sat(w - SR(g, s))`` with s = frac(g) + ``lr_shift`` - frac(w) (learning
rate 2**-lr_shift), ``SR(g, s) = (g + r) >> s`` (floor) with r uniform in [0, 2**s) from :class:`LaneLFSR`.

Random source: ``sr_lanes`` Galois LFSRs of 32 bits, polynomial x^32 + x^22 + x^2 + x + 1 (primitive;
period 2**32 - 1), right-shifting, toggle mask 0x80200003. One LFSR step: ``bit = s & 1; s >>= 1; if bit:
s ^= 0x80200003``; ``bit`` is the output. Lane l starts at ``seed_l = (seed + l * 0x9E3779B9) mod 2**32``
(0 is replaced by 1). A draw of k bits takes k steps of one lane, the first output bit the most
significant. Draw order: the tensors in :data:`golden.tt_train.UPDATE_ORDER` order, inside a tensor its
entries in C order; the i-th draw of a step (counted over all tensors) comes from lane i mod L. Every entry
draws, pruned or not and whatever its gradient, so the schedule depends on the configuration only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .formats import QFormat, clog2

#: x^32 + x^22 + x^2 + x + 1 as a right-shifting Galois toggle mask (bits 31, 21, 1, 0)
LFSR_POLY = 0x80200003
LFSR_BITS = 32
_GOLDEN = 0x9E3779B9


@dataclass(frozen=True)
class TTTrainFormats:
    """The formats and constants of one golden training configuration (validated on construction)."""

    core: QFormat = field(default_factory=lambda: QFormat(8, 6))
    x: QFormat = field(default_factory=lambda: QFormat(8, 5))
    act: QFormat = field(default_factory=lambda: QFormat(8, 6))
    inter: QFormat = field(default_factory=lambda: QFormat(16, 10))
    grad: QFormat = field(default_factory=lambda: QFormat(20, 12))
    lr_shift: int = 6  # learning rate 2**-lr_shift on the batch-summed gradient
    prune_shift: int = 0  # > 0: prune a rank slice when its energy * 2**prune_shift < its boundary's largest
    prior_samples: int = 0  # > 0: the rank prior's decay, N training samples (0: no prior)
    sr_lanes: int = 8  # LFSR lanes
    seed: int = 1
    grad_store: QFormat | None = None  # None: exact gradient sums; else the accumulators' format

    def __post_init__(self) -> None:
        for name in ("core", "x", "act", "inter", "grad"):
            fmt = getattr(self, name)
            if not isinstance(fmt, QFormat) or not fmt.signed:
                raise ValueError(f"tt format {name} must be a signed QFormat, got {fmt!r}")
            if not 0 <= fmt.frac < fmt.word:
                raise ValueError(f"tt format {name} Q{fmt.word}.{fmt.frac}: frac must be in [0, word)")
        for name in ("core", "x", "act"):
            if getattr(self, name).word > 16:
                raise ValueError(
                    f"tt format {name} is a memory word: at most 16 bits, got {getattr(self, name)}"
                )
        for name in ("inter", "grad"):
            if getattr(self, name).word > 32:
                raise ValueError(
                    f"tt format {name} is a datapath word: at most 32 bits, got {getattr(self, name)}"
                )
        if self.act.frac < 1 or self.act.word - self.act.frac < 2:
            raise ValueError(
                f"tt format act {self.act} must hold 1.0 and -1.0 (the gates' range): at least 2 integer bits "
                "and 1 fraction bit"
            )
        if self.inter.frac < max(self.act.frac, self.x.frac):
            raise ValueError(
                f"tt format inter {self.inter} has fewer fraction bits than act/x: the pre-activations would "
                "lose the activations' resolution"
            )
        need = self.inter.word - self.inter.frac + 1  # |y - target| < 2 * max|y|
        if self.grad.word - self.grad.frac < need:
            raise ValueError(
                f"tt format grad {self.grad} is too narrow for the gradients: the output error y - target "
                f"needs {need} integer bits (inter {self.inter}), grad has {self.grad.word - self.grad.frac}"
            )
        if self.grad.frac < self.inter.frac:
            raise ValueError(
                f"tt format grad {self.grad} has fewer fraction bits than inter {self.inter}: the output "
                "error would be rounded before the backward pass starts"
            )
        for name, least, most in (("lr_shift", 0, 30), ("prune_shift", 0, 30), ("sr_lanes", 1, 1024)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
                raise ValueError(f"{name} must be an integer in [{least}, {most}], got {value!r}")
        if (
            isinstance(self.prior_samples, bool)
            or not isinstance(self.prior_samples, int)
            or self.prior_samples < 0
        ):
            raise ValueError(f"prior_samples must be an integer >= 0, got {self.prior_samples!r}")
        if self.grad_store is not None:
            gs = self.grad_store
            if not isinstance(gs, QFormat) or not gs.signed or not 0 <= gs.frac < gs.word:
                raise ValueError(
                    f"tt format grad_store must be a signed QFormat with 0 <= frac < word, got {gs!r}"
                )
            if gs.word > 32:
                raise ValueError(f"tt format grad_store is a memory word: at most 32 bits, got {gs}")
            if gs.word - gs.frac < self.grad.word - self.grad.frac:
                raise ValueError(
                    f"tt format grad_store {gs} is too narrow for the gradients: a bias gradient sums grad "
                    f"words ({self.grad.word - self.grad.frac} integer bits in grad {self.grad}), grad_store has "
                    f"{gs.word - gs.frac}"
                )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    def gradient_word(self, terms: int, input_word: int) -> int:
        """Bits of an exact core-gradient accumulator summing ``terms`` products grad x input."""
        return self.grad.word + input_word + clog2(max(terms, 1))

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name in ("core", "x", "act", "inter", "grad"):
            fmt = getattr(self, name)
            out[name] = {"word": fmt.word, "frac": fmt.frac}
        for name in ("lr_shift", "prune_shift", "prior_samples", "sr_lanes", "seed"):
            out[name] = getattr(self, name)
        if self.grad_store is not None:  # only when set: the default's record stays what it was
            out["grad_store"] = {"word": self.grad_store.word, "frac": self.grad_store.frac}
        return out


class LaneLFSR:
    """``lanes`` 32-bit Galois LFSRs (module docstring); :meth:`draw` hands out draws in lane order."""

    def __init__(self, seed: int, lanes: int) -> None:
        states = [((seed + lane * _GOLDEN) & 0xFFFFFFFF) or 1 for lane in range(lanes)]
        self.state = np.array(states, dtype=np.int64)
        self.lanes = lanes
        self.next_lane = 0  # the lane of the next draw

    def copy(self) -> LaneLFSR:
        new = LaneLFSR.__new__(LaneLFSR)
        new.state, new.lanes, new.next_lane = self.state.copy(), self.lanes, self.next_lane
        return new

    def draw(self, count: int, bits: int) -> npt.NDArray[np.int64]:
        """``count`` draws of ``bits`` bits (values in [0, 2**bits)), draw i from lane (next + i) mod L."""
        out = np.zeros(count, dtype=np.int64)
        if count == 0 or bits == 0:
            self.next_lane = (self.next_lane + count) % self.lanes
            return out
        lane_of = (self.next_lane + np.arange(count)) % self.lanes
        per_lane = np.bincount(lane_of, minlength=self.lanes)
        rounds = int(per_lane.max())
        table = np.zeros((rounds, self.lanes), dtype=np.int64)
        for rnd in range(rounds):
            active = per_lane > rnd
            value = np.zeros(self.lanes, dtype=np.int64)
            for _ in range(bits):
                bit = self.state & 1
                stepped = (self.state >> 1) ^ (bit * LFSR_POLY)
                self.state = np.where(active, stepped, self.state)
                value = (value << 1) | bit
            table[rnd] = value
        # the r-th draw of lane l is table[r, l]; draw i is lane_of[i]'s (i - first index of that lane) // L-th
        order = (np.arange(count) + self.next_lane) // self.lanes - (self.next_lane > lane_of)
        out[:] = table[order, lane_of]
        self.next_lane = (self.next_lane + count) % self.lanes
        return out


def is_primitive_gf2(poly: int) -> bool:
    """Whether the GF(2) polynomial with coefficient bits ``poly`` (bit i = x^i) is primitive: x has
    order 2**deg - 1 modulo it (checked against every prime factor of 2**deg - 1)."""
    deg = poly.bit_length() - 1

    def mulmod(a: int, b: int) -> int:
        r = 0
        while b:
            if b & 1:
                r ^= a
            b >>= 1
            a <<= 1
            if a >> deg & 1:
                a ^= poly
        return r

    def powmod(e: int) -> int:
        r, base = 1, 2  # the polynomial "x"
        while e:
            if e & 1:
                r = mulmod(r, base)
            base = mulmod(base, base)
            e >>= 1
        return r

    order = (1 << deg) - 1
    primes, n, f = [], order, 2
    while f * f <= n:
        while n % f == 0:
            primes.append(f)
            n //= f
        f += 1
    if n > 1:
        primes.append(n)
    return powmod(order) == 1 and all(powmod(order // p) != 1 for p in set(primes))


def galois_polynomial(mask: int, bits: int = LFSR_BITS) -> int:
    """The feedback polynomial of a right-shifting Galois LFSR with toggle ``mask`` (bit i -> x^(i+1))."""
    return (1 << 0) | sum(1 << (i + 1) for i in range(bits) if mask >> i & 1)
