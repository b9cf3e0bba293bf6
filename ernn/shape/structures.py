"""Compression structures: their parameters, and the registry that is the structure seam.

A *structure* is a way of storing each weight matrix of a recurrent layer compactly (block-circulant
through every stage; CSB structured blocks and unstructured pruning in the training stage only so far;
tensor-train next). Every stage of the flow has its own part of a structure, in its own folder, behind
that stage's interface:

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

A structure may be registered before every stage exists: its entry lists only the stages that are
implemented (CSB and sparse: ``train``) and has no engine. :func:`implementation` refuses a missing stage
with a ValueError that names the structure, the stage and what exists, so ``ernn export`` of a CSB run
stops with that message instead of failing somewhere inside the golden model.
"""

from __future__ import annotations

import importlib
import math
import numbers
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


def _prune_rate(value: Any, name: str = "prune_rate") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1) (the fraction of weights pruned), got {value}")
    return float(value)


@dataclass(frozen=True)
class CSB(StructureParams):
    """CSB-RNN compressed structured blocks (Shi et al., ICS 2020): each matrix cut into ``block`` x
    ``block`` blocks; inside every block whole rows and whole columns are pruned, so each block keeps a
    dense kernel of its own size. ``prune_rate``: the target fraction of weights removed.

    Convention and projection: :mod:`ernn.train.csb`.
    """

    block: int
    prune_rate: float
    name: ClassVar[str] = "csb"

    def __post_init__(self) -> None:
        if isinstance(self.block, bool) or not isinstance(self.block, numbers.Integral) or self.block < 2:
            raise ValueError(f"block (the CSB block size) must be an integer >= 2, got {self.block!r}")
        object.__setattr__(self, "block", int(self.block))
        object.__setattr__(self, "prune_rate", _prune_rate(self.prune_rate))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "block": self.block, "prune_rate": self.prune_rate}

    def describe(self) -> str:
        return f"CSB {self.block}x{self.block} blocks, prune rate {self.prune_rate:g}"


@dataclass(frozen=True)
class Sparse(StructureParams):
    """Unstructured magnitude pruning (ESE-style): the ``prune_rate`` fraction of each matrix's weights
    with the smallest magnitudes removed. ``pes`` > 0: ESE's load-balance-aware variant, the rows of each
    matrix dealt to ``pes`` processing elements (row r to PE r mod pes) and every PE keeping the same
    number of weights (within one). Convention: :mod:`ernn.train.sparse`."""

    prune_rate: float
    pes: int = 0
    name: ClassVar[str] = "sparse"

    def __post_init__(self) -> None:
        object.__setattr__(self, "prune_rate", _prune_rate(self.prune_rate))
        if isinstance(self.pes, bool) or not isinstance(self.pes, numbers.Integral) or self.pes < 0:
            raise ValueError(
                f"pes (PEs of the load-balanced variant) must be an integer >= 0, got {self.pes!r}"
            )
        object.__setattr__(self, "pes", int(self.pes))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "prune_rate": self.prune_rate, "pes": self.pes}

    def describe(self) -> str:
        balance = f", balanced over {self.pes} PEs" if self.pes else ""
        return f"unstructured magnitude pruning, prune rate {self.prune_rate:g}{balance}"


@dataclass(frozen=True)
class StructureEntry:
    """One registered structure: its parameters and its implementation at the stages that exist.

    A structure that runs through the whole flow lists every stage of :data:`STAGES` and names its RTL
    engine and testbench; one that exists only for training so far lists ``{"train": ...}`` and has
    ``engine = testbench = None``."""

    name: str
    params: type[StructureParams]
    stages: dict[str, str]  # stage -> dotted module path, only for the stages that are implemented
    engine: str | None  # RTL toplevel that runs it (None: no engine yet)
    testbench: str | None  # tb/ folder of the engine's end-to-end testbench
    summary: str

    @property
    def complete(self) -> bool:
        """Every stage implemented and an engine to run it on."""
        return set(self.stages) == set(STAGES) and self.engine is not None

    def missing(self) -> list[str]:
        """The stages (and ``engine``) this structure does not have yet, in flow order."""
        out = [s for s in STAGES if s not in self.stages]
        return [*out, "engine"] if self.engine is None else out


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
    "csb": StructureEntry(
        name="csb",
        params=CSB,
        stages={"train": "ernn.train.csb", "golden": "ernn.golden.csb"},
        engine=None,
        testbench=None,
        summary="CSB-RNN structured blocks (rows and columns pruned per block); no cost model or engine yet",
    ),
    "sparse": StructureEntry(
        name="sparse",
        params=Sparse,
        stages={"train": "ernn.train.sparse"},
        engine=None,
        testbench=None,
        summary="unstructured magnitude pruning (ESE-style, optionally load-balanced); training only so far",
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
    entry = structure_entry(name)
    if stage not in entry.stages:
        raise ValueError(
            f"structure {name!r} has no {stage} stage yet: only {', '.join(entry.stages)} is implemented "
            f"(missing: {', '.join(entry.missing())}; docs/compare.md)"
        )
    return importlib.import_module(entry.stages[stage])
