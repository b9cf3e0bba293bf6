"""Compression structures: their parameters, and the registry that is the structure seam.

A *structure* is a way of storing each weight matrix of a recurrent layer compactly (block-circulant
and CSB structured blocks through every stage; unstructured pruning in the training stage only so far;
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
implemented (sparse: ``train``) and has no engine. :func:`implementation` refuses a missing stage
with a ValueError that names the structure, the stage and what exists, so ``ernn export`` of a sparse run
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


def tt_modes(size: int, cores: int) -> tuple[int, ...]:
    """Tensor-train modes of a matrix side of ``size`` entries: ``cores`` factors, each >= 2, ascending,
    whose product is the smallest ``n >= size`` that splits with largest factor <= 2 x smallest (the side
    is zero-padded to ``n``). 1024 in 4 cores: (4, 4, 8, 8); 12 in 2: (3, 4); 13 in 2: (3, 5) (padded to 15).
    Raises ValueError naming the size when ``size < 2**cores`` (some mode would be 1)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"a tensor-train side must be a positive integer size, got {size!r}")
    if size < 2**cores:
        raise ValueError(
            f"size {size} cannot be split into {cores} tensor-train modes of at least 2 each (needs >= "
            f"{2**cores}); choose tt cores <= {max(int(math.log2(size)), 1)}"
        )

    def balanced(n: int, parts: int, least: int) -> list[int] | None:
        # the factorization of n into `parts` factors >= least, ascending, with the smallest largest factor
        if parts == 1:
            return [n] if n >= least else None
        best = None
        f = least
        while f**parts <= n:
            if n % f == 0:
                rest = balanced(n // f, parts - 1, f)
                # the smallest largest factor, then the largest smallest one (4*4*8*8 over 2*8*8*8)
                if rest is not None and (best is None or (rest[-1], -f) < (best[-1], -best[0])):
                    best = [f, *rest]
            f += 1
        return best

    n = size
    while True:
        modes = balanced(n, cores, 2)
        if modes is not None and modes[-1] <= 2 * modes[0]:
            return tuple(modes)
        n += 1


@dataclass(frozen=True)
class TensorTrain(StructureParams):
    """Tensor-train (TT-matrix) weights: every (rows, cols) matrix is a chain of ``cores`` 4-way cores
    G_k (r_{k-1}, m_k, n_k, r_k), rows = prod m_k, cols = prod n_k (each side factorized by
    :func:`tt_modes`, zero-padded when it does not factor), r_0 = r_d = 1 and the inner ranks ``rank``,
    clipped at each boundary to the largest rank the matrix allows there (min of the products of m_k n_k
    on either side). ``rank_threshold`` > 0 turns on rank adaptation (a per-rank-slice prior variance;
    slices whose variance falls below ``rank_threshold`` x the largest at their boundary are pruned). Convention and contraction: :mod:`ernn.train.tt`."""

    cores: int
    rank: int
    rank_threshold: float = 0.0
    name: ClassVar[str] = "tt"

    def __post_init__(self) -> None:
        for field_name, least in (("cores", 2), ("rank", 1)):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
                raise ValueError(
                    f"{field_name} (tensor-train {field_name}) must be an integer >= {least}, got {value!r}"
                )
            object.__setattr__(self, field_name, int(value))
        t = self.rank_threshold
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 <= t < 1:
            raise ValueError(f"rank_threshold must be a number in [0, 1) (0 = fixed ranks), got {t!r}")
        object.__setattr__(self, "rank_threshold", float(t))

    def max_ranks(self, rows: int, cols: int) -> list[int]:
        """The largest rank each inner boundary of a (rows, cols) matrix allows: min of the products of
        m_k n_k on either side."""
        m, n = tt_modes(rows, self.cores), tt_modes(cols, self.cores)
        sizes = [a * b for a, b in zip(m, n, strict=True)]
        return [min(math.prod(sizes[:k]), math.prod(sizes[k:])) for k in range(1, self.cores)]

    def ranks(self, rows: int, cols: int) -> tuple[int, ...]:
        """(r_0, ..., r_d) of a (rows, cols) matrix: ``rank`` clipped to each boundary's largest."""
        return (1, *(min(self.rank, lim) for lim in self.max_ranks(rows, cols)), 1)

    def check_rank(self, shapes: list[tuple[int, int]]) -> None:
        """ValueError when ``rank`` exceeds what every one of the (rows, cols) matrices allows (nothing
        would be compressed and the option is surely a mistake)."""
        largest = max(max(self.max_ranks(r, c)) for r, c in shapes)
        if self.rank > largest:
            raise ValueError(
                f"tt rank {self.rank} is larger than any of the matrices {shapes} allows in {self.cores} "
                f"cores (largest possible rank {largest}); choose rank <= {largest}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cores": self.cores,
            "rank": self.rank,
            "rank_threshold": self.rank_threshold,
        }

    def describe(self) -> str:
        adapt = f", adaptive (threshold {self.rank_threshold:g})" if self.rank_threshold else ""
        return f"tensor-train {self.cores} cores, rank {self.rank}{adapt}"


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
        stages={
            "train": "ernn.train.csb",
            "golden": "ernn.golden.csb",
            "export": "ernn.export.csb_unit",
            "cost": "ernn.dse.csb_cost",
        },
        engine="ernn_top",
        testbench="tb/ernn_top",
        summary="CSB-RNN structured blocks (rows and columns pruned per block): group arrays behind ernn_top's controller",
    ),
    "sparse": StructureEntry(
        name="sparse",
        params=Sparse,
        stages={"train": "ernn.train.sparse"},
        engine=None,
        testbench=None,
        summary="unstructured magnitude pruning (ESE-style, optionally load-balanced); training only so far",
    ),
    "tt": StructureEntry(
        name="tt",
        params=TensorTrain,
        stages={"train": "ernn.train.tt"},
        engine=None,
        testbench=None,
        summary="tensor-train (TT-matrix) weights with adaptive ranks; training only so far "
        "(golden training step: golden/tt_train.py)",
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
