"""Seam functions shared by the pruning structures (CSB, unstructured): a pruned matrix is stored at its
full (G, rows, cols) size, zeros where pruned, and its pattern travels as a mask buffer beside it
(:mod:`ernn.train.models`). These are the :class:`~ernn.train.structure.TorchStructure` functions that do
not depend on how the pattern was chosen; :mod:`ernn.train.csb` and :mod:`ernn.train.sparse` re-export
them next to their own projection, storage and multiply counts."""

from __future__ import annotations

import torch

from ernn.shape.structures import StructureParams


def parameter_shape(rows: int, cols: int, params: StructureParams) -> tuple[int, int]:
    return rows, cols


def dense_matrix(stored: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    return stored


def prepare(stored: torch.Tensor) -> torch.Tensor:
    return stored


def apply(prepared: torch.Tensor, x: torch.Tensor, rows: int) -> torch.Tensor:
    gates, _, cols = prepared.shape
    return torch.nn.functional.linear(x, prepared.reshape(gates * rows, cols))
