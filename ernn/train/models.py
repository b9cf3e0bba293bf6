"""Block-circulant LSTM and GRU modules with the arguments, inputs and outputs of ``torch.nn.LSTM/GRU``.

Every weight matrix is stored as block-circulant defining vectors (see :mod:`ernn.train.circulant`), one
tensor of shape (G, p, q, k) per matrix, G = gates (LSTM i, f, g, o; GRU r, z, n as in PyTorch).
``block_size=1`` is an ordinary dense network, which is how the dense baseline and the ADMM W-step
are trained. The forward pass runs in the FFT domain (``matvec="fft"``) or through the expanded dense
matrices (``matvec="dense"``, the benchmark baseline); both give the same numbers.

Other structures (``structure=``, :mod:`ernn.shape.structures`): CSB blocks and unstructured pruning
store each matrix as a dense (G, rows, cols) parameter plus its pruning pattern, a bool buffer
``<name>_mask`` that every use multiplies in (:mod:`ernn.train.csb`, :mod:`ernn.train.sparse`); a new
module of such a structure starts at the projection of its random initialisation.

Extras over PyTorch: ``block_size``, LSTM ``peephole`` (diagonal p_i, p_f on c_{t-1}, p_o on c_t) and a
``lengths`` argument (or a PackedSequence input) for variable-length batches: steps past a sequence's
end leave its state unchanged and produce zero outputs, as ``pack_padded_sequence`` does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ernn.shape import BlockCirculant, StructureParams
from ernn.shape.structures import implementation, params_from_dict
from ernn.train import circulant

CELLS = ("lstm", "gru")
GATES = {"lstm": 4, "gru": 3}


def check_cell(cell: str) -> str:
    """Return the cell name in lower case, or raise a ValueError naming the allowed values."""
    name = str(cell).lower()
    if name not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    return name


class _CirculantRNNBase(nn.Module):
    """Shared machinery of :class:`LSTM` and :class:`GRU`."""

    cell: str = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        block_size: int = 1,
        peephole: bool = False,
        matvec: str = "fft",
        structure: StructureParams | dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if bidirectional:
            raise ValueError(
                "bidirectional=True is not supported: the accelerator runs causal, one-direction RNNs"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not isinstance(proj_size, int) or proj_size < 0 or proj_size >= hidden_size:
            raise ValueError(
                f"proj_size must be 0 (no projection) or in [1, hidden_size={hidden_size}), got {proj_size}"
            )
        if matvec not in ("fft", "dense"):
            raise ValueError(f"matvec must be 'fft' or 'dense', got {matvec!r}")
        if isinstance(structure, dict):
            structure = params_from_dict(structure)
        if structure is None:
            structure = BlockCirculant(circulant.check_block_size(block_size))
        elif not isinstance(structure, StructureParams):
            raise ValueError(f"structure must be structure parameters or their dict, got {structure!r}")
        if isinstance(structure, BlockCirculant):
            if block_size not in (1, structure.block_size):
                raise ValueError(f"block_size={block_size} contradicts structure {structure.describe()}")
            block_size = structure.block_size
        elif block_size != 1:
            raise ValueError(
                f"block_size is the circulant block size; structure {structure.name!r} takes none"
            )
        circulant.check_block_size(block_size)
        largest = max(input_size, hidden_size)
        if block_size > largest:
            raise ValueError(
                f"block_size={block_size} is larger than every layer dimension (input_size={input_size}, "
                f"hidden_size={hidden_size}): choose block_size <= {largest}"
            )
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.proj_size = bias, batch_first, dropout, proj_size
        self.bidirectional = False
        self.block_size, self.peephole, self.matvec = block_size, peephole, matvec
        # every structure-specific operation goes through the structure seam (ernn.train.structure)
        self.structure = structure
        self._structure = implementation(self.structure.name, "train")
        self._expanded: dict[str, Any] = {}  # per forward pass: each matrix's prepared operand
        gates = GATES[self.cell]
        out_size = proj_size or hidden_size
        bound = 1.0 / math.sqrt(hidden_size)  # PyTorch's init: U(-1/sqrt(H), 1/sqrt(H)) for every entry
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else out_size
            shapes = {
                f"weight_ih_l{layer}": (gates, *self._stored_shape(hidden_size, in_size)),
                f"weight_hh_l{layer}": (gates, *self._stored_shape(hidden_size, out_size)),
            }
            if bias:
                shapes[f"bias_ih_l{layer}"] = (gates * hidden_size,)
                shapes[f"bias_hh_l{layer}"] = (gates * hidden_size,)
            if proj_size:
                shapes[f"weight_hr_l{layer}"] = (1, *self._stored_shape(proj_size, hidden_size))
            if peephole:
                shapes[f"weight_peep_l{layer}"] = (3, hidden_size)
            for name, shape in shapes.items():
                self.register_parameter(name, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))
        self.masked = not isinstance(structure, BlockCirculant)
        if self.masked:  # a pruning structure: start in its set, pattern kept as a buffer
            with torch.no_grad():
                for name, _, _ in self.matrix_names():
                    param = getattr(self, name)
                    mask = self._structure.support(param, structure)
                    param.copy_(self._structure.from_dense(param, structure))
                    self.register_buffer(f"{name}_mask", mask)

    # ------------------------------------------------------------------ structure
    def _stored_shape(self, rows: int, cols: int) -> tuple[int, ...]:
        return self._structure.parameter_shape(rows, cols, self.structure)

    def stored(self, name: str) -> torch.Tensor:
        """Matrix ``name``'s stored numbers as every use sees them (times its pattern when pruned)."""
        param = getattr(self, name)
        return param * getattr(self, f"{name}_mask") if self.masked else param

    def mask(self, name: str) -> torch.Tensor | None:
        """The pruning pattern of matrix ``name`` (None for block-circulant)."""
        return getattr(self, f"{name}_mask") if self.masked else None

    @property
    def gates(self) -> int:
        return GATES[self.cell]

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.output_size

    def matrix_names(self) -> list[tuple[str, int, int]]:
        """(parameter name, rows, cols) of every weight matrix (per gate for the stacked ones)."""
        names = []
        for layer in range(self.num_layers):
            names.append((f"weight_ih_l{layer}", self.hidden_size, self.layer_input_size(layer)))
            names.append((f"weight_hh_l{layer}", self.hidden_size, self.output_size))
            if self.proj_size:
                names.append((f"weight_hr_l{layer}", self.proj_size, self.hidden_size))
        return names

    def dense_weight(self, name: str) -> torch.Tensor:
        """The expanded weight matrix ``name`` in PyTorch's layout (gates stacked along rows)."""
        rows, cols = next((r, c) for n, r, c in self.matrix_names() if n == name)
        return self._structure.dense_matrix(self.stored(name), rows, cols).reshape(-1, cols)

    def _matvec(self, name: str, rows: int, x: torch.Tensor) -> torch.Tensor:
        # Each matrix's operand (weight spectra, or the expanded dense matrix of the benchmark baseline)
        # is derived once per forward pass and reused at every time step.
        if name not in self._expanded:
            if self.matvec == "fft":
                self._expanded[name] = self._structure.prepare(self.stored(name))
            else:
                self._expanded[name] = self.dense_weight(name)
        if self.matvec == "fft":
            return self._structure.apply(self._expanded[name], x, rows)
        return nn.functional.linear(x, self._expanded[name])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
        s += f"structure={self.structure.describe()}" if self.masked else f"block_size={self.block_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.peephole:
            s += ", peephole=True"
        if self.batch_first:
            s += ", batch_first=True"
        return s

    # ------------------------------------------------------------------ forward
    def _initial_state(self, hx: Any, batch: int, ref: torch.Tensor) -> Any:
        raise NotImplementedError

    def _layer(
        self, layer: int, xs: torch.Tensor, state: Any, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError

    def forward(self, input: Any, hx: Any = None, lengths: torch.Tensor | None = None) -> tuple[Any, Any]:
        packed = isinstance(input, PackedSequence)
        if packed:
            # pad_packed_sequence restores the caller's batch order; packing again re-sorts.
            x, lengths = pad_packed_sequence(input, batch_first=False)
        else:
            x = input
            if x.dim() not in (2, 3):
                raise ValueError(f"input must be 2-D (unbatched) or 3-D, got shape {tuple(x.shape)}")
            if x.shape[-1] != self.input_size:
                raise ValueError(
                    f"input has {x.shape[-1]} features, the model expects input_size={self.input_size}"
                )
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(1)
            hx = _map_state(hx, lambda t: t.unsqueeze(1))
        elif self.batch_first and not packed:
            x = x.transpose(0, 1)
        steps, batch = x.shape[:2]
        mask = None
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device)
            if lengths.shape != (batch,) or int(lengths.min()) < 1 or int(lengths.max()) > steps:
                raise ValueError(f"lengths must hold {batch} values in [1, {steps}], got {lengths.tolist()}")
            mask = (torch.arange(steps, device=x.device)[:, None] < lengths[None, :]).to(x.dtype)
        state = self._initial_state(hx, batch, x)
        self._expanded = {}
        finals = []
        layer_in = x
        for layer in range(self.num_layers):
            out, final = self._layer(layer, layer_in, _select_layer(state, layer), mask)
            finals.append(final)
            layer_in = out
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = nn.functional.dropout(layer_in, self.dropout, training=True)
        output = layer_in
        final_state = _stack_states(finals)
        self._expanded = {}
        if packed:
            return pack_padded_sequence(output, lengths.cpu(), enforce_sorted=False), final_state
        if unbatched:
            return output.squeeze(1), _map_state(final_state, lambda t: t.squeeze(1))
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, final_state

    # ------------------------------------------------------------------ conversions
    def describe(self) -> dict[str, Any]:
        """Float model description (numpy float64) consumed by the fixed-point golden model and export."""
        layers = []
        matrices = {n for n, _, _ in self.matrix_names()}
        for layer in range(self.num_layers):

            def get(name: str, layer: int = layer) -> np.ndarray | None:
                full = f"{name}_l{layer}"
                if getattr(self, full, None) is None:
                    return None
                p = self.stored(full) if full in matrices else getattr(self, full)
                return p.detach().double().cpu().numpy().copy()

            zeros = np.zeros(self.gates * self.hidden_size)
            layers.append(
                {
                    "input_size": self.layer_input_size(layer),
                    "w_ih": get("weight_ih"),
                    "w_hh": get("weight_hh"),
                    "b_ih": get("bias_ih") if self.bias else zeros,
                    "b_hh": get("bias_hh") if self.bias else zeros.copy(),
                    "w_hr": get("weight_hr"),
                    "peephole": get("weight_peep"),
                }
            )
        out = {
            "cell": self.cell,
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "proj_size": self.proj_size,
            "num_layers": self.num_layers,
            "block_size": self.block_size,
            "peephole": self.peephole,
            "layers": layers,
        }
        if self.masked:  # no block size: the golden model must not read it as a circulant network
            del out["block_size"]
            out["structure"] = self.structure.to_dict()
        return out

    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable (``type(model)(**model.config())`` rebuilds it).

        Block-circulant: ``block_size`` (as every run before other structures existed recorded it); other
        structures: ``structure`` (their parameters' dict) instead."""
        out: dict[str, Any] = {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bias": self.bias,
            "batch_first": self.batch_first,
            "dropout": self.dropout,
            "proj_size": self.proj_size,
            "block_size": self.block_size,
            "peephole": self.peephole,
        }
        if self.masked:
            del out["block_size"]
            out["structure"] = self.structure.to_dict()
        return out

    def to_block_circulant(self, block_size: int) -> _CirculantRNNBase:
        """A copy whose every weight matrix is the Euclidean projection of this one's (hard projection)."""
        return self.to_structure(BlockCirculant(block_size))

    def to_structure(self, structure: StructureParams) -> _CirculantRNNBase:
        """A copy in ``structure`` whose every weight matrix is the projection of this one's (the ADMM hard
        projection); a pruning structure's pattern is fixed here, from this model's weights."""
        cfg = {k: v for k, v in self.config().items() if k not in ("block_size", "structure")}
        new = type(self)(**cfg, matvec=self.matvec, structure=structure)
        with torch.no_grad():
            for name, param in self.named_parameters():
                target = getattr(new, name)
                if name.startswith(("weight_ih", "weight_hh", "weight_hr")):
                    gates = 1 if name.startswith("weight_hr") else self.gates
                    dense = self.dense_weight(name)
                    dense = dense.reshape(gates, -1, dense.shape[-1])  # (gates, rows, cols)
                    target.copy_(new._structure.from_dense(dense, new.structure))
                    if new.masked:
                        getattr(new, f"{name}_mask").copy_(new._structure.support(dense, new.structure))
                else:
                    target.copy_(param)
        ref = next(self.parameters())
        return new.to(device=ref.device, dtype=ref.dtype)

    def to_torch(self) -> nn.Module:
        """An equivalent standard ``nn.LSTM`` / ``nn.GRU`` holding the expanded weights."""
        if self.peephole:
            raise ValueError("peephole=True has no torch.nn.LSTM equivalent; to_torch() needs peephole=False")
        kwargs = {"proj_size": self.proj_size} if self.cell == "lstm" else {}
        cls = nn.LSTM if self.cell == "lstm" else nn.GRU
        out = cls(
            self.input_size,
            self.hidden_size,
            num_layers=self.num_layers,
            bias=self.bias,
            batch_first=self.batch_first,
            dropout=self.dropout,
            **kwargs,
        )
        with torch.no_grad():
            for name, param in out.named_parameters():
                source = self.dense_weight(name) if name.startswith("weight") else getattr(self, name)
                param.copy_(source)
        ref = next(self.parameters())
        return out.to(device=ref.device, dtype=ref.dtype)

    def parameter_counts(self) -> dict[str, int]:
        """Stored weight-matrix entries (circulant vectors, or kept weights) vs the dense equivalent, plus
        all parameters (a pruning structure's dropped weights are not counted as stored)."""
        if self.masked:
            stored = sum(int(self.mask(n).sum()) for n, _, _ in self.matrix_names())
            total = sum(p.numel() for p in self.parameters()) - sum(
                getattr(self, n).numel() - int(self.mask(n).sum()) for n, _, _ in self.matrix_names()
            )
        else:
            stored = sum(getattr(self, n).numel() for n, _, _ in self.matrix_names())
            total = sum(p.numel() for p in self.parameters())
        dense = sum(
            self.gates * r * c if not n.startswith("weight_hr") else r * c for n, r, c in self.matrix_names()
        )
        return {
            "weights_stored": stored,
            "weights_dense": dense,
            "total_stored": total,
            "total_dense": total - stored + dense,
        }

    def storage(self) -> dict[str, int]:
        """A pruning structure's stored format over every weight matrix: ``values`` and the index overhead
        (``index_entries``, ``index_bits``; see the structure's ``storage``)."""
        if not self.masked:
            raise ValueError("storage() counts pruning structures; block-circulant stores no index")
        out: dict[str, int] = {}
        for name, _, _ in self.matrix_names():
            for key, value in self._structure.storage(self.mask(name), self.structure).items():
                out[key] = out.get(key, 0) + value
        return out

    def multiplies_per_step(self) -> dict[str, int]:
        """Real multiplies per time step in the weight matrices: dense vs FFT domain (see ``circulant``);
        a pruning structure: dense vs one per kept weight (``structured``)."""
        if self.masked:
            dense = sum(self.gates * r * c if not n.startswith("weight_hr") else r * c
                        for n, r, c in self.matrix_names())  # fmt: skip
            return {"dense": dense, "structured": self.parameter_counts()["weights_stored"]}
        out = {"dense": 0, "fft": 0}
        for name, rows, cols in self.matrix_names():
            gates = 1 if name.startswith("weight_hr") else self.gates
            counts = self._structure.multiplies(rows, cols, self.structure, gates=gates)
            out["dense"] += counts["dense"]
            out["fft"] += counts["structured"]
        return out


class LSTM(_CirculantRNNBase):
    """Block-circulant ``nn.LSTM``: ``output, (h_n, c_n) = lstm(input, (h_0, c_0))``."""

    cell = "lstm"

    def _initial_state(self, hx: Any, batch: int, ref: torch.Tensor) -> Any:
        shape_h = (self.num_layers, batch, self.output_size)
        shape_c = (self.num_layers, batch, self.hidden_size)
        if hx is None:
            return ref.new_zeros(shape_h), ref.new_zeros(shape_c)
        h0, c0 = hx
        if tuple(h0.shape) != shape_h or tuple(c0.shape) != shape_c:
            raise ValueError(
                f"(h_0, c_0) must have shapes {shape_h} and {shape_c}, got {tuple(h0.shape)}, {tuple(c0.shape)}"
            )
        return h0, c0

    def _layer(
        self, layer: int, xs: torch.Tensor, state: Any, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, Any]:
        h, c = state
        hs = self.hidden_size
        gx = self._matvec(f"weight_ih_l{layer}", hs, xs)  # all steps at once: (T, B, 4H)
        if self.bias:
            gx = gx + getattr(self, f"bias_ih_l{layer}") + getattr(self, f"bias_hh_l{layer}")
        peep = getattr(self, f"weight_peep_l{layer}", None)
        outputs = []
        for t in range(xs.shape[0]):
            g = gx[t] + self._matvec(f"weight_hh_l{layer}", hs, h)
            gi, gf, gg, go = g.split(hs, dim=-1)
            if peep is not None:
                gi = gi + peep[0] * c
                gf = gf + peep[1] * c
            c_new = torch.sigmoid(gf) * c + torch.sigmoid(gi) * torch.tanh(gg)
            if peep is not None:
                go = go + peep[2] * c_new
            h_new = torch.sigmoid(go) * torch.tanh(c_new)
            if self.proj_size:
                h_new = self._matvec(f"weight_hr_l{layer}", self.proj_size, h_new)
            if mask is not None:
                m = mask[t][:, None]
                c = m * c_new + (1 - m) * c
                h = m * h_new + (1 - m) * h
                outputs.append(h_new * m)
            else:
                c, h = c_new, h_new
                outputs.append(h_new)
        return torch.stack(outputs), (h, c)


class GRU(_CirculantRNNBase):
    """Block-circulant ``nn.GRU`` (reset gate applied after the hidden matvec, as PyTorch does)."""

    cell = "gru"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("proj_size", 0):
            raise ValueError("proj_size is an LSTM option; GRU takes proj_size=0")
        if kwargs.get("peephole", False):
            raise ValueError("peephole is an LSTM option; GRU takes peephole=False")
        super().__init__(*args, **kwargs)

    def _initial_state(self, hx: Any, batch: int, ref: torch.Tensor) -> Any:
        shape = (self.num_layers, batch, self.hidden_size)
        if hx is None:
            return ref.new_zeros(shape)
        if tuple(hx.shape) != shape:
            raise ValueError(f"h_0 must have shape {shape}, got {tuple(hx.shape)}")
        return hx

    def _layer(
        self, layer: int, xs: torch.Tensor, state: Any, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, Any]:
        h = state
        hs = self.hidden_size
        gx = self._matvec(f"weight_ih_l{layer}", hs, xs)
        b_hh = None
        if self.bias:
            gx = gx + getattr(self, f"bias_ih_l{layer}")
            b_hh = getattr(self, f"bias_hh_l{layer}")
        outputs = []
        for t in range(xs.shape[0]):
            gh = self._matvec(f"weight_hh_l{layer}", hs, h)
            if b_hh is not None:
                gh = gh + b_hh
            xr, xz, xn = gx[t].split(hs, dim=-1)
            hr, hz, hn = gh.split(hs, dim=-1)
            r = torch.sigmoid(xr + hr)
            z = torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)
            h_new = (1 - z) * n + z * h
            if mask is not None:
                m = mask[t][:, None]
                h = m * h_new + (1 - m) * h
                outputs.append(h_new * m)
            else:
                h = h_new
                outputs.append(h_new)
        return torch.stack(outputs), h


def _select_layer(state: Any, layer: int) -> Any:
    return tuple(s[layer] for s in state) if isinstance(state, tuple) else state[layer]


def _stack_states(finals: list[Any]) -> Any:
    if isinstance(finals[0], tuple):
        return tuple(torch.stack(parts) for parts in zip(*finals, strict=True))
    return torch.stack(finals)


def _map_state(state: Any, fn: Any) -> Any:
    if state is None:
        return None
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def build(cell: str, **kwargs: Any) -> _CirculantRNNBase:
    """``LSTM(**kwargs)`` or ``GRU(**kwargs)`` by name."""
    return {"lstm": LSTM, "gru": GRU}[check_cell(cell)](**kwargs)


def from_torch(module: nn.Module, block_size: int) -> _CirculantRNNBase:
    """Our model equivalent to a standard ``nn.LSTM`` / ``nn.GRU``, every weight matrix projected.

    With ``block_size=1`` the result computes what ``module`` computes (to float precision).
    """
    if isinstance(module, nn.LSTM):
        cls, extra = LSTM, {"proj_size": module.proj_size}
    elif isinstance(module, nn.GRU):
        cls, extra = GRU, {}
    else:
        raise TypeError(f"from_torch takes a torch.nn.LSTM or torch.nn.GRU, got {type(module).__name__}")
    if module.bidirectional:
        raise ValueError("bidirectional RNNs are not supported: the accelerator runs one direction")
    dense = cls(
        module.input_size,
        module.hidden_size,
        num_layers=module.num_layers,
        bias=module.bias,
        batch_first=module.batch_first,
        dropout=float(module.dropout),
        block_size=1,
        **extra,
    )
    ref = next(module.parameters())
    dense = dense.to(device=ref.device, dtype=ref.dtype)
    with torch.no_grad():
        for name, param in module.named_parameters():
            target = getattr(dense, name)
            target.copy_(param.detach().reshape(target.shape))
    return dense if block_size == 1 else dense.to_block_circulant(block_size)
