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
* ``max_weight`` — the largest magnitude the weight format must hold (fits the fraction bits);
* ``from_description`` / ``stored_shape`` — what ``quantize_matrix`` and ``max_weight`` take, made from a
  model description's array and the structure's parameters, and that array's shape per gate;
* ``numerics`` / ``check_numerics`` — the structure's formats fitted to a model's largest values, and the
  check that a given config runs a shape exactly (the accumulator width rule);
* ``int_arrays`` — the integer arrays of a quantized matrix that the engine's memories hold.
"""

from __future__ import annotations

from typing import Any, Protocol

from ernn.shape import ModelShape
from ernn.shape.structures import StructureParams

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

    def from_description(self, value: Any, params: StructureParams) -> Any: ...

    def stored_shape(self, rows: int, cols: int, params: StructureParams) -> tuple[int, ...]: ...

    def numerics(
        self, shape: ModelShape, max_weight: float, max_bias: float, max_peephole: float, bits: int = 16
    ) -> NumericsConfig: ...

    def check_numerics(self, cfg: NumericsConfig, shape: ModelShape) -> None: ...

    def int_arrays(self, matrix: Any) -> dict[str, IntArray]: ...


FUNCTIONS = (
    "quantize_matrix",
    "accumulate",
    "finish",
    "max_weight",
    "from_description",
    "stored_shape",
    "numerics",
    "check_numerics",
    "int_arrays",
)
