""":class:`ModelShape`: the one description of a network's shape that every stage of the flow shares.

A shape is what is fixed before any weight exists: the cell (PyTorch semantics: LSTM gates i, f, g, o;
GRU r, z, n), the input, hidden and projection sizes, the number of stacked layers, LSTM peepholes, and
the compression structure with its parameters (:mod:`ernn.shape.structures`). The golden model adds weight
statistics on top of it (``ernn.golden.network.ModelInfo``); number formats follow from a shape and a
data-path width alone (``NumericsConfig.for_shape``); the exporter, the simulator and the cost model read
it from a model directory (``ernn.export.model_dir``).

Serialised as the flat keys of a model description / config.json ``model`` section:
``cell, input_size, hidden_size, proj_size, num_layers, peephole, block_size`` (block-circulant; the
``structure`` key names another structure and holds its parameters).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

from ernn.shape.structures import BlockCirculant, StructureParams, params_from_dict

GATES = {"lstm": 4, "gru": 3}
CELLS = tuple(GATES)


def _int(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int (numpy integers included) if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ValueError(f"model shape: {name!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True, kw_only=True)
class ModelShape:
    """Cell, sizes, layers, projection, peepholes and structure of a stacked LSTM/GRU (validated)."""

    cell: str
    input_size: int
    hidden_size: int
    proj_size: int = 0
    num_layers: int = 1
    peephole: bool = False
    structure: StructureParams = field(default_factory=lambda: BlockCirculant(8))

    def __post_init__(self) -> None:
        if self.cell not in GATES:
            raise ValueError(f"model shape: 'cell' must be 'lstm' or 'gru', got {self.cell!r}")
        for name, minimum in (("input_size", 1), ("hidden_size", 1), ("proj_size", 0), ("num_layers", 1)):
            object.__setattr__(self, name, _int(getattr(self, name), name, minimum))
        object.__setattr__(self, "peephole", bool(self.peephole))
        if self.cell == "gru" and (self.proj_size or self.peephole):
            raise ValueError(
                "model shape: 'proj_size' and 'peephole' are LSTM options (GRU allows 0 / False)"
            )
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"model shape: 'proj_size' must be in [0, hidden_size - 1 = {self.hidden_size - 1}], "
                f"got {self.proj_size}"
            )
        if not isinstance(self.structure, StructureParams):
            raise ValueError(f"model shape: 'structure' must be structure parameters, got {self.structure!r}")

    # -- derived sizes ------------------------------------------------------------------------------
    @property
    def gates(self) -> int:
        return GATES[self.cell]

    @property
    def output_size(self) -> int:
        """Each layer's output (and recurrent input) size: the projection, or the hidden size."""
        return self.proj_size or self.hidden_size

    def layer_input_size(self, layer: int) -> int:
        if not 0 <= layer < self.num_layers:
            raise ValueError(f"layer must be in [0, {self.num_layers - 1}], got {layer}")
        return self.input_size if layer == 0 else self.output_size

    @property
    def block_size(self) -> int:
        """The block-circulant block size k (ValueError for a structure without one)."""
        k = getattr(self.structure, "block_size", None)
        if k is None:
            raise ValueError(f"structure {self.structure.name!r} has no block_size")
        return int(k)

    @property
    def max_input_blocks(self) -> int:
        """Most input blocks summed into one accumulator: q_x + q_h of a gate job, or the projection's
        q_m (sets the accumulator width and the PE's input-spectrum buffer depth)."""
        s = self.structure
        if not isinstance(s, BlockCirculant):
            raise ValueError(f"max_input_blocks is defined for block-circulant shapes, not {s.name!r}")
        most = 1
        for layer in range(self.num_layers):
            most = max(most, s.blocks(self.layer_input_size(layer)) + s.blocks(self.output_size))
        if self.proj_size:
            most = max(most, s.blocks(self.hidden_size))
        return most

    # -- serialisation ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The flat keys of a model description (block size as ``block_size`` for block-circulant)."""
        out: dict[str, Any] = {
            "cell": self.cell,
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "proj_size": self.proj_size,
            "num_layers": self.num_layers,
            "peephole": self.peephole,
        }
        if isinstance(self.structure, BlockCirculant):
            out["block_size"] = self.structure.block_size
        else:
            out["structure"] = self.structure.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "model shape") -> ModelShape:
        """From a model description, a config.json ``model`` section or :meth:`to_dict` (extra keys such
        as ``layers`` are ignored); ValueError names ``where`` and the bad key."""
        if not isinstance(data, dict):
            raise ValueError(f"{where} must be a dict, got {type(data).__name__}")
        try:
            if "structure" in data and data["structure"] is not None:
                structure = params_from_dict(data["structure"])
            else:
                if "block_size" not in data:
                    raise ValueError("missing key 'block_size' (or 'structure')")
                structure = BlockCirculant(_int(data["block_size"], "block_size", 1))
            missing = [k for k in ("cell", "input_size", "hidden_size") if k not in data]
            if missing:
                raise ValueError(f"missing key {missing[0]!r}")
            return cls(
                cell=data["cell"],
                input_size=data["input_size"],
                hidden_size=data["hidden_size"],
                proj_size=data.get("proj_size") or 0,
                num_layers=data.get("num_layers", 1),
                peephole=bool(data.get("peephole", False)),
                structure=structure,
            )
        except ValueError as exc:
            msg = str(exc).removeprefix("model shape: ")
            raise ValueError(f"{where}: {msg}") from exc
