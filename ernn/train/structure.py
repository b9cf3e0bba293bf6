"""The training stage's side of the structure seam: what a structure provides to torch training.

A structure's training module (registered in :data:`ernn.shape.structures.registry` under ``"train"``;
block-circulant: :mod:`ernn.train.circulant`) provides these functions. ``params`` is the structure's
parameter object (e.g. :class:`~ernn.shape.BlockCirculant`); ``stored`` is what a layer keeps as its
``nn.Parameter`` for one matrix of ``rows x cols`` (with a leading gate axis G, as PyTorch stacks gates).
The modules of :mod:`ernn.train.models` and the trainer (dense, direct, ADMM) use nothing else.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from ernn.shape.structures import StructureParams


class TorchStructure(Protocol):
    def parameter_shape(self, rows: int, cols: int, params: StructureParams) -> tuple[int, ...]:
        """Shape of the stored parameters of one (rows, cols) matrix (without the gate axis)."""
        ...

    def dense_matrix(self, stored: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
        """The (..., rows, cols) matrix the stored parameters stand for."""
        ...

    def prepare(self, stored: torch.Tensor) -> Any:
        """The operand :meth:`apply` multiplies with, derived from ``stored`` once per forward pass and
        reused at every time step (block-circulant: the weight spectra); opaque to the caller, differentiable."""
        ...

    def apply(self, prepared: Any, x: torch.Tensor, rows: int) -> torch.Tensor:
        """y = W x for the G stacked matrices behind ``prepared`` (from :meth:`prepare`):
        (..., cols) -> (..., G * rows)."""
        ...

    def from_dense(self, weight: torch.Tensor, params: StructureParams) -> torch.Tensor:
        """Stored parameters of the projection of a dense (..., rows, cols) weight (``from_torch``,
        the ADMM hard projection)."""
        ...

    def project_dense(self, weight: torch.Tensor, params: StructureParams) -> torch.Tensor:
        """Euclidean projection of a dense weight onto the structure's set, same shape (ADMM Z-step)."""
        ...

    def multiplies(self, rows: int, cols: int, params: StructureParams, gates: int = 1) -> dict[str, int]:
        """Real multiplications of ``gates`` products W_g x (``dense`` and ``structured``); for a pruning
        structure the count at the target rate (a trained model counts its own kept weights)."""
        ...

    def support(self, weight: torch.Tensor, params: StructureParams) -> torch.Tensor | None:
        """The fixed pattern (bool, the shape of :meth:`from_dense`'s result) that the hard projection of a
        dense (..., rows, cols) weight leaves, or None where every stored number stays free (block-circulant).

        A structure with a pattern is a *pruning* structure: its layers keep the pattern as a buffer
        (``<weight name>_mask``) and multiply the stored numbers by it in every use, so fine-tuning never
        moves a pruned weight away from zero; it also provides ``storage(pattern, params)`` (values and
        index overhead of the stored format)."""
        ...


FUNCTIONS = (
    "parameter_shape",
    "dense_matrix",
    "prepare",
    "apply",
    "from_dense",
    "project_dense",
    "multiplies",
    "support",
)
