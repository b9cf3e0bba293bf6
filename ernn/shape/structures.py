"""Compression structures: their parameters, and the registry that is the structure seam.

A *structure* is a way of storing each weight matrix of a recurrent layer compactly (block-circulant
today; CSB structured blocks, unstructured pruning and tensor-train next). Every stage of the flow has its
own part of a structure, in its own folder, behind that stage's interface:

==========  ==========================================  ==============================================
stage       interface (module: class)                   block-circulant implementation
==========  ==========================================  ==============================================
train       ``ernn.train.structure: TorchStructure``    ``ernn.train.circulant``
golden      ``ernn.golden.structure: GoldenStructure``  ``ernn.golden.matvec``
export      ``ernn.export.structure: ExportStructure``  ``ernn.export.layout``
cost        ``ernn.dse.structure: CostStructure``       ``ernn.dse.cost_model``
engine      RTL toplevel and testbench folder           ``rtl/ernn_top.v``, ``tb/ernn_top``
==========  ==========================================  ==============================================

:data:`registry` maps a structure's name to a :class:`StructureEntry`: its parameter class and the dotted
module path of its implementation at every stage. Stages look implementations up here
(:func:`implementation`), so this module imports none of them: the registry sits below every stage and
adding a structure touches one module per stage, one RTL engine, one ``tb/`` folder and this table
(docs/architecture.md has the checklist).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

STAGES = ("train", "golden", "export", "cost")


@dataclass(frozen=True)
class StructureParams:
    """Base of every structure's parameters (a frozen dataclass per structure)."""

    name: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def _power_of_two(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise ValueError(f"{name} must be a power of two (1, 2, 4, 8, 16, 32, ...), got {value!r}")
    return value


@dataclass(frozen=True)
class BlockCirculant(StructureParams):
    """E-RNN / C-LSTM block-circulant matrices: k x k circulant blocks, k = ``block_size`` (1 = dense).

    Convention: :mod:`ernn.train.circulant` (first-column vectors; sizes zero-padded to multiples of k).
    """

    block_size: int
    name: ClassVar[str] = "circulant"

    def __post_init__(self) -> None:
        _power_of_two(self.block_size, "block_size")

    def blocks(self, size: int) -> int:
        """Number of k-blocks that cover ``size`` entries (the last one zero-padded)."""
        return -(-size // self.block_size)

    def stored_weights(self, rows: int, cols: int) -> int:
        """Numbers stored for one (rows, cols) matrix: one length-k vector per block."""
        return self.blocks(rows) * self.blocks(cols) * self.block_size

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "block_size": self.block_size}

    def describe(self) -> str:
        return f"block-circulant k={self.block_size}"


@dataclass(frozen=True)
class StructureEntry:
    """One registered structure: its parameters and its implementation at every stage."""

    name: str
    params: type[StructureParams]
    stages: dict[str, str]  # stage -> dotted module path
    engine: str  # RTL toplevel that runs it
    testbench: str  # tb/ folder of the engine's end-to-end testbench
    summary: str


registry: dict[str, StructureEntry] = {
    "circulant": StructureEntry(
        name="circulant",
        params=BlockCirculant,
        stages={
            "train": "ernn.train.circulant",
            "golden": "ernn.golden.matvec",
            "export": "ernn.export.layout",
            "cost": "ernn.dse.cost_model",
        },
        engine="ernn_top",
        testbench="tb/ernn_top",
        summary="E-RNN block-circulant weights: FFT -> frequency-domain MAC -> IFFT PE",
    ),
}


def structure_entry(name: str) -> StructureEntry:
    """The registry entry of ``name``; ValueError names the allowed structures."""
    if name not in registry:
        raise ValueError(f"structure must be one of {', '.join(sorted(registry))}; got {name!r}")
    return registry[name]


def params_from_dict(data: dict[str, Any]) -> StructureParams:
    """Inverse of ``StructureParams.to_dict``; errors name the key."""
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"structure must be a dict with a 'name', got {data!r}")
    entry = structure_entry(data["name"])
    fields = {k: v for k, v in data.items() if k != "name"}
    try:
        return entry.params(**fields)
    except TypeError as exc:
        raise ValueError(f"structure {data['name']!r}: bad parameters {sorted(fields)} ({exc})") from exc


def implementation(name: str, stage: str) -> ModuleType:
    """The module implementing structure ``name`` at ``stage`` (one of :data:`STAGES`)."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}; got {stage!r}")
    return importlib.import_module(structure_entry(name).stages[stage])
