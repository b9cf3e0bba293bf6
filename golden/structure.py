"""The golden model's side of the structure seam: a structure's integer matrix-vector product.

A structure's golden module (registered under ``"golden"``; block-circulant: :mod:`ernn.golden.matvec`)
splits y = W x at the point where the hardware accumulates exactly, so that a layer can sum the products
of its input and recurrent matrices before rounding once, as the RTL does:

* ``quantize_matrix`` — the float stored parameters of G stacked matrices -> the integer matrix object the
  engine's memories hold (in Q(weight format)), saturations counted;
* ``accumulate`` — x (..., cols) in Q(data) -> exact accumulators (..., G, row blocks, ...) that add with
  ``+``;
* ``finish`` — accumulators -> y (..., G, rows) in Q(ifft_out), every rounding and saturation of the
  contract (docs/numerics.md);
* ``max_weight`` — the largest magnitude the weight format must hold (fits the fraction bits).
"""

from __future__ import annotations

from typing import Any, Protocol

from .formats import NumericsConfig, QFormat
from .ops import IntArray, SaturationLog


class GoldenStructure(Protocol):
    def quantize_matrix(self, stored: Any, fmt: QFormat, log: SaturationLog | None = None) -> Any: ...

    def accumulate(
        self, matrix: Any, x: IntArray, cfg: NumericsConfig, log: SaturationLog | None = None, name: str = ""
    ) -> Any: ...

    def finish(
        self, acc: Any, rows: int, cfg: NumericsConfig, log: SaturationLog | None = None, name: str = ""
    ) -> IntArray: ...

    def max_weight(self, stored: Any) -> float: ...


FUNCTIONS = ("quantize_matrix", "accumulate", "finish", "max_weight")
