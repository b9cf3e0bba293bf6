"""Tensor-train (TT-matrix) weights in torch: TT-SVD, the contraction and its multiply count, TT LSTM/GRU.

Convention
----------
A (rows, cols) weight matrix is the top-left corner of an (M, N) matrix, M = prod m_k, N = prod n_k, with
the modes of :func:`ernn.shape.structures.tt_modes` (a side that does not factor is zero-padded: inputs
padded with zeros, extra output rows dropped). Row index i = (i_1, ..., i_d) and column index
j = (j_1, ..., j_d) in row-major order (i_1 slowest), and

    W[i, j] = G_1[0, i_1, j_1, :] G_2[:, i_2, j_2, :] ... G_d[:, i_d, j_d, 0]

with cores G_k of shape (r_{k-1}, m_k, n_k, r_k), r_0 = r_d = 1 (:meth:`TensorTrain.ranks`). PyTorch's
stacked gates are G separate TT-matrices; every core carries the gate axis in front: (G, r_{k-1}, m_k,
n_k, r_k).

Contraction order (:func:`tt_matvec`, counted by :func:`contraction_multiplies`)
---------------------------------------------------------------------------------
y = W x never forms W. **Right to left** ("rl"): x reshaped to (n_1 ... n_d) meets G_d first, then G_{d-1},
...; after core k the partial result is indexed by (j_1..j_{k-1}, r_{k-1}, i_k..i_d), so core k costs

    rl: mult_k = (n_1 ... n_{k-1}) * r_{k-1} m_k n_k r_k * (m_{k+1} ... m_d)

multiplies per gate. **Left to right** ("lr"): G_1 first; after core k the partial result is indexed by
(i_1..i_k, r_k, j_{k+1}..j_d), so

    lr: mult_k = (m_1 ... m_{k-1}) * r_{k-1} m_k n_k r_k * (n_{k+1} ... n_d).

The two are the same sum in another order (equal in exact arithmetic) and cost the same for square modes;
they differ when the row and column modes differ (1024 x 153, the SR1 input matrix: left to right is
1.14x cheaper in 4 cores at rank 8, right to left 1.58x cheaper in 2 cores). :func:`tt_matvec`
takes the cheaper one per matrix (:func:`contraction_order`, ties to right to left), so every count here is
the order that runs; the dense matvec costs rows * cols. The saving is in storage far more than in
multiplies: a 1024 x 1024 matrix in 4 cores (modes 4, 4, 8, 8) takes 884,736 multiplies at rank 8 (1.19x fewer
than dense) and 245,760 at rank 4 (4.3x), while it stores 5,760 and 1,600 numbers against 1,048,576
(``tests/test_tt.py`` checks the counts of both orders against the contraction's own einsum shapes;
docs/tensor_train.md has the table and its command). The integer golden training step
(:mod:`ernn.golden.tt_train`) and the RTL engine keep their own fixed order: rounding makes the order part
of their bit-exact contract.

Seam (ernn.train.structure.TorchStructure)
-----------------------------------------
The seam's stored form of one matrix is the cores packed into one zero-padded tensor (G, d, R, M_max,
N_max, R) (core k in [:, k, :r_{k-1}, :m_k, :n_k, :r_k]); the modes and ranks are recomputed from
(rows, cols, d, R), so the seam functions need no parameters. ``project_dense`` is the TT-SVD
reconstruction: quasi-optimal (within sqrt(d - 1) of the best TT approximation of those ranks), exact
at full rank, not a Euclidean projection. The torch modules (:class:`TTLSTM`, :class:`TTGRU`) keep each
core as its own parameter.

Rank adaptation (``rank_threshold`` > 0; :class:`RankPrior`)
------------------------------------------------------------
Bayesian tensor-rank determination (automatic relevance determination): the entries of rank slice j at
boundary k (column j of core k and row j of core k+1) have a Gaussian prior N(0, lambda_kj), lambda_kj
itself a log-uniform prior p(lambda) ~ 1/lambda. Training minimises the data loss plus
sum ||slice_kj||^2 / (2 N lambda_kj) (N training samples); after every epoch lambda takes its MAP value
lambda_kj = ||slice_kj||^2 / (n_kj + 2) (n_kj entries in the slice), so a slice the data do not need
shrinks, its variance with it, and its decay grows. Before the variances are taken every boundary is
gauged by an SVD (:meth:`RankPrior.update`), so slices are singular directions; slices whose lambda falls
below ``rank_threshold`` x the largest lambda of their boundary are pruned (a bool mask buffer; a pruned
slice stays 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ernn.shape.structures import StructureParams, TensorTrain, tt_modes
from ernn.train import models


@dataclass(frozen=True)
class Layout:
    """Modes and ranks of one TT-matrix."""

    rows: int
    cols: int
    row_modes: tuple[int, ...]
    col_modes: tuple[int, ...]
    ranks: tuple[int, ...]  # r_0 .. r_d

    @property
    def cores(self) -> int:
        return len(self.row_modes)

    def core_shape(self, k: int) -> tuple[int, int, int, int]:
        return (self.ranks[k], self.row_modes[k], self.col_modes[k], self.ranks[k + 1])

    @property
    def stored(self) -> int:
        """Numbers in the cores (one gate)."""
        return sum(math.prod(self.core_shape(k)) for k in range(self.cores))


def layout(rows: int, cols: int, params: TensorTrain) -> Layout:
    """The layout of a (rows, cols) matrix under ``params`` (errors name impossible sizes and ranks)."""
    return Layout(
        rows, cols, tt_modes(rows, params.cores), tt_modes(cols, params.cores), params.ranks(rows, cols)
    )


def _clipped_layout(rows: int, cols: int, cores: int, rank: int) -> Layout:
    """Layout from the packed tensor's d and R."""
    return layout(rows, cols, TensorTrain(cores, rank))


ORDERS = ("rl", "lr")


def contraction_multiplies(
    lay: Layout, ranks: tuple[int, ...] | None = None, order: str | None = None
) -> list[int]:
    """Multiplies of each core's step (one gate, one vector), listed core 1 first whatever the order;
    ``ranks`` overrides the layout's (a pruned model's effective ranks); ``order`` "rl" or "lr", default the
    one :func:`tt_matvec` takes (:func:`contraction_order`)."""
    r = ranks or lay.ranks
    m, n, d = lay.row_modes, lay.col_modes, lay.cores
    order = order or contraction_order(lay, ranks)
    if order == "rl":
        return [math.prod(n[:k]) * r[k] * m[k] * n[k] * r[k + 1] * math.prod(m[k + 1 :]) for k in range(d)]
    if order == "lr":
        return [math.prod(m[:k]) * r[k] * m[k] * n[k] * r[k + 1] * math.prod(n[k + 1 :]) for k in range(d)]
    raise ValueError(f"contraction order {order!r}: expected one of {ORDERS}")


def contraction_order(lay: Layout, ranks: tuple[int, ...] | None = None) -> str:
    """The cheaper contraction order of ``lay`` (at ``ranks``): "rl" unless left to right needs fewer
    multiplies."""
    rl = sum(contraction_multiplies(lay, ranks, "rl"))
    return "lr" if sum(contraction_multiplies(lay, ranks, "lr")) < rl else "rl"


def _cores_layout(cores: list[torch.Tensor], rows: int, cols: int) -> Layout:
    """The layout the cores' shapes say ((G, r, m, n, r') each)."""
    ranks = (*(int(c.shape[1]) for c in cores), int(cores[-1].shape[4]))
    return Layout(
        rows, cols, tuple(int(c.shape[2]) for c in cores), tuple(int(c.shape[3]) for c in cores), ranks
    )


def tt_matvec(
    cores: list[torch.Tensor], x: torch.Tensor, rows: int, order: str | None = None
) -> torch.Tensor:
    """y = W x for the G TT-matrices of ``cores`` ((G, r, m, n, r') each): (..., cols) -> (..., G * rows),
    in ``order`` ("rl" or "lr" of the module docstring; default the cheaper one for the cores' shapes).
    W is never formed."""
    g = cores[0].shape[0]
    col_modes = [c.shape[3] for c in cores]
    lead, cols = x.shape[:-1], x.shape[-1]
    n_total = math.prod(col_modes)
    x2 = x.reshape(-1, cols)
    if n_total > cols:
        x2 = nn.functional.pad(x2, (0, n_total - cols))
    b = x2.shape[0]
    d = len(cores)
    order = order or contraction_order(_cores_layout(cores, rows, cols))
    if order == "lr":
        # t: (B, G, i_1..i_{k-1}, r_{k-1}, j_k..j_d)
        t = x2.reshape(b, 1, 1, 1, n_total).expand(b, g, 1, 1, n_total)
        for core in cores:
            p, n_k = t.shape[2], core.shape[3]
            t = t.reshape(b, g, p, core.shape[1], n_k, -1)
            out = torch.einsum("gaijs,bgpajq->bgpisq", core, t)  # (B, G, P, m_k, r_k, Q)
            t = out.reshape(b, g, p * core.shape[2], core.shape[4], -1)
        y = t.reshape(b, g, -1)[:, :, :rows]
        return y.reshape(*lead, g * rows)
    if order != "rl":
        raise ValueError(f"contraction order {order!r}: expected one of {ORDERS}")
    p = n_total // col_modes[-1]
    t = x2.reshape(b, 1, p, col_modes[-1], 1, 1).expand(b, g, p, col_modes[-1], 1, 1)
    for k in range(d - 1, -1, -1):
        out = torch.einsum("gaijs,bgpjsq->bgpaiq", cores[k], t)  # (B, G, P, r_{k-1}, m_k, Q)
        if k:
            p //= col_modes[k - 1]
            t = out.reshape(b, g, p, col_modes[k - 1], out.shape[3], -1)
        else:
            y = out.reshape(b, g, -1)[:, :, :rows]
    return y.reshape(*lead, g * rows)


def tt_full(cores: list[torch.Tensor], rows: int, cols: int) -> torch.Tensor:
    """The (G, rows, cols) matrices the cores stand for."""
    t = cores[0][:, 0]  # (G, m1, n1, r1)
    for core in cores[1:]:
        g, mm, nn_, _ = t.shape
        t = torch.einsum("gMNr,grmnR->gMmNnR", t, core)
        t = t.reshape(g, mm * core.shape[2], nn_ * core.shape[3], core.shape[4])
    return t[..., 0][:, :rows, :cols]


def tt_svd(weight: torch.Tensor, lay: Layout) -> list[torch.Tensor]:
    """TT-SVD (Oseledets 2011) of (G, rows, cols) matrices at the layout's ranks, computed in float64:
    exact when every rank is the largest the matrix allows. Returns the cores (G, r, m, n, r')."""
    g = weight.shape[0]
    m, n, d = lay.row_modes, lay.col_modes, lay.cores
    full = torch.zeros(g, math.prod(m), math.prod(n), dtype=torch.float64, device=weight.device)
    full[:, : lay.rows, : lay.cols] = weight.detach().to(torch.float64)
    # (G, m1..md, n1..nd) -> (G, m1, n1, m2, n2, ...)
    t = full.reshape(g, *m, *n).permute(0, *[p for k in range(d) for p in (1 + k, 1 + d + k)])
    c = t.reshape(g, m[0] * n[0], -1)
    cores = []
    for k in range(d - 1):
        u, s, vh = torch.linalg.svd(c, full_matrices=False)
        r = lay.ranks[k + 1]
        cores.append(u[:, :, :r].reshape(g, lay.ranks[k], m[k], n[k], r))
        c = (s[:, :r, None] * vh[:, :r]).reshape(g, r * m[k + 1] * n[k + 1], -1)
    cores.append(c.reshape(g, lay.ranks[d - 1], m[d - 1], n[d - 1], 1))
    return [core.to(weight.dtype) for core in cores]


# ------------------------------------------------------------------------------------------------------
# packed form of the structure seam (ernn.train.structure.TorchStructure)
def pack(cores: list[torch.Tensor], rank: int) -> torch.Tensor:
    """Cores -> one zero-padded (G, d, R, M_max, N_max, R) tensor (the seam's stored form)."""
    g, d = cores[0].shape[0], len(cores)
    mx, nx = max(c.shape[2] for c in cores), max(c.shape[3] for c in cores)
    out = cores[0].new_zeros(g, d, rank, mx, nx, rank)
    for k, c in enumerate(cores):
        out[:, k, : c.shape[1], : c.shape[2], : c.shape[3], : c.shape[4]] = c
    return out


def unpack(stored: torch.Tensor, rows: int, cols: int) -> list[torch.Tensor]:
    """The cores of a packed tensor (views, differentiable)."""
    d, rank = stored.shape[-5], stored.shape[-1]
    lay = _clipped_layout(rows, cols, d, rank)
    return [stored[:, k, : s[0], : s[1], : s[2], : s[3]] for k in range(d) for s in [lay.core_shape(k)]]


def parameter_shape(rows: int, cols: int, params: TensorTrain) -> tuple[int, ...]:
    lay = layout(rows, cols, params)
    return (lay.cores, params.rank, max(lay.row_modes), max(lay.col_modes), params.rank)


def dense_matrix(stored: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    lead = stored.shape[:-5]
    flat = stored.reshape(-1, *stored.shape[-5:])
    return tt_full(unpack(flat, rows, cols), rows, cols).reshape(*lead, rows, cols)


def prepare(stored: torch.Tensor) -> Any:
    return stored  # the contraction works on the cores themselves: nothing to derive


def apply(prepared: Any, x: torch.Tensor, rows: int) -> torch.Tensor:
    return tt_matvec(unpack(prepared, rows, x.shape[-1]), x, rows)


def from_dense(weight: torch.Tensor, params: StructureParams) -> torch.Tensor:
    assert isinstance(params, TensorTrain)
    *lead, rows, cols = weight.shape
    flat = weight.reshape(-1, rows, cols)
    packed = pack(tt_svd(flat, layout(rows, cols, params)), params.rank)
    return packed.reshape(*lead, *packed.shape[1:])


def project_dense(weight: torch.Tensor, params: StructureParams) -> torch.Tensor:
    *_, rows, cols = weight.shape
    return dense_matrix(from_dense(weight, params), rows, cols)


def multiplies(rows: int, cols: int, params: StructureParams, gates: int = 1) -> dict[str, int]:
    assert isinstance(params, TensorTrain)
    return {
        "dense": gates * rows * cols,
        "structured": gates * sum(contraction_multiplies(layout(rows, cols, params))),
    }


def support(weight: torch.Tensor, params: StructureParams) -> None:
    return None  # every stored core entry is free (rank pruning is a training-time mask, below)


# ------------------------------------------------------------------------------------------------------
# torch modules: the LSTM / GRU of ernn.train.models with every matrix a TT-matrix, and a TT linear layer
def _register_matrix(module: nn.Module, name: str, lay: Layout, gates: int, target_var: float) -> None:
    """Cores ``<name>_core<k>`` (random, so that the product's entries have variance ``target_var``), and
    per inner boundary the rank mask ``<name>_mask<k>`` and prior variance ``<name>_var<k>``."""
    std = (target_var / math.prod(lay.ranks)) ** (1.0 / (2 * lay.cores))
    for k in range(lay.cores):
        core = torch.randn(gates, *lay.core_shape(k)) * std
        module.register_parameter(f"{name}_core{k}", nn.Parameter(core))
    for k in range(1, lay.cores):
        module.register_buffer(f"{name}_mask{k}", torch.ones(gates, lay.ranks[k], dtype=torch.bool))
        module.register_buffer(f"{name}_var{k}", torch.ones(gates, lay.ranks[k]))


class _TTMixin:
    """Replaces the weight storage of :class:`ernn.train.models` LSTM/GRU by TT cores; the cell equations,
    sequence handling (``lengths``, PackedSequence, ``batch_first``) and ``to_torch`` are theirs."""

    def _tt_init(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        batch_first: bool,
        proj_size: int,
        structure: TensorTrain | dict[str, Any],
    ) -> None:
        nn.Module.__init__(self)  # type: ignore[arg-type]
        if isinstance(structure, dict):
            structure = TensorTrain(**{k: v for k, v in structure.items() if k != "name"})
        if not isinstance(structure, TensorTrain):
            raise ValueError(f"structure must be TensorTrain parameters, got {structure!r}")
        if not isinstance(proj_size, int) or proj_size < 0 or proj_size >= hidden_size:
            raise ValueError(f"proj_size must be 0 or in [1, hidden_size={hidden_size}), got {proj_size}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.proj_size = bias, batch_first, 0.0, proj_size
        self.bidirectional, self.block_size, self.peephole, self.matvec = False, 1, False, "tt"
        self.structure, self.masked = structure, False
        self._structure = None
        self._expanded: dict[str, Any] = {}
        self.layouts: dict[str, Layout] = {}
        gates = models.GATES[self.cell]
        structure.check_rank([(rows, cols) for _, rows, cols in self.matrix_names()])
        for name, rows, cols in self.matrix_names():
            lay = layout(rows, cols, structure)  # impossible sizes / ranks refused here, by name
            self.layouts[name] = lay
            g = 1 if name.startswith("weight_hr") else gates
            _register_matrix(self, name, lay, g, 1.0 / (3.0 * hidden_size))  # type: ignore[arg-type]
        bound = 1.0 / math.sqrt(hidden_size)
        if bias:
            for layer in range(num_layers):
                for kind in ("ih", "hh"):
                    b = torch.empty(gates * hidden_size).uniform_(-bound, bound)
                    self.register_parameter(f"bias_{kind}_l{layer}", nn.Parameter(b))

    # ------------------------------------------------------------------ cores
    def cores(self, name: str) -> list[torch.Tensor]:
        """Matrix ``name``'s cores as every use sees them: pruned rank slices zeroed."""
        lay = self.layouts[name]
        out = []
        for k in range(lay.cores):
            core = getattr(self, f"{name}_core{k}")
            if k < lay.cores - 1:
                core = core * getattr(self, f"{name}_mask{k + 1}")[:, None, None, None, :]
            out.append(core)
        return out

    def dense_weight(self, name: str) -> torch.Tensor:
        lay = self.layouts[name]
        return tt_full(self.cores(name), lay.rows, lay.cols).reshape(-1, lay.cols)

    def _matvec(self, name: str, rows: int, x: torch.Tensor) -> torch.Tensor:
        if name not in self._expanded:  # masked cores once per forward pass
            self._expanded[name] = self.cores(name)
        return tt_matvec(self._expanded[name], x, rows)

    def effective_ranks(self) -> dict[str, list[list[int]]]:
        """Per matrix, per gate: (r_0, ..., r_d) after pruning."""
        out = {}
        for name, lay in self.layouts.items():
            g = getattr(self, f"{name}_core0").shape[0]
            out[name] = [
                [1, *(int(getattr(self, f"{name}_mask{k}")[gi].sum()) for k in range(1, lay.cores)), 1]
                for gi in range(g)
            ]
        return out

    def parameter_counts(self) -> dict[str, int]:
        """Core entries in use (pruned rank slices not counted) vs the dense matrices, plus biases."""
        stored = dense = 0
        for name, ranks in self.effective_ranks().items():
            lay = self.layouts[name]
            for r in ranks:
                stored += sum(r[k] * lay.row_modes[k] * lay.col_modes[k] * r[k + 1] for k in range(lay.cores))
                dense += lay.rows * lay.cols
        biases = sum(p.numel() for n, p in self.named_parameters() if n.startswith("bias"))
        return {
            "weights_stored": stored,
            "weights_dense": dense,
            "total_stored": stored + biases,
            "total_dense": dense + biases,
        }

    def multiplies_per_step(self) -> dict[str, int]:
        """Multiplies per time step in the weight matrices: dense vs the TT contraction (pruned ranks)."""
        out = {"dense": 0, "structured": 0}
        for name, ranks in self.effective_ranks().items():
            lay = self.layouts[name]
            for r in ranks:
                out["dense"] += lay.rows * lay.cols
                out["structured"] += sum(contraction_multiplies(lay, tuple(r)))
        return out

    def config(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bias": self.bias,
            "batch_first": self.batch_first,
            "proj_size": self.proj_size,
            "structure": self.structure.to_dict(),
        }

    def extra_repr(self) -> str:
        proj = f", proj_size={self.proj_size}" if self.proj_size else ""
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, {self.structure.describe()}{proj}"


class TTLinear(_TTMixin, nn.Module):
    """``nn.Linear`` whose weight is one TT-matrix (the TT-MLP layer; cores ``weight_core<k>``)."""

    def __init__(
        self, in_features: int, out_features: int, structure: TensorTrain, bias: bool = True
    ) -> None:
        nn.Module.__init__(self)
        structure.check_rank([(out_features, in_features)])
        self.in_features, self.out_features, self.structure = in_features, out_features, structure
        self.layouts = {"weight": layout(out_features, in_features, structure)}
        _register_matrix(self, "weight", self.layouts["weight"], 1, 1.0 / (3.0 * in_features))
        bound = 1.0 / math.sqrt(in_features)
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = tt_matvec(self.cores("weight"), x, self.out_features)
        return y + self.bias if self.bias is not None else y


class TTLSTM(_TTMixin, models.LSTM):
    """``nn.LSTM`` (with ``proj_size``: LSTMP) whose every weight matrix is a TT-matrix."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        proj_size: int = 0,
        *,
        structure: TensorTrain | dict[str, Any],
    ) -> None:
        self._tt_init(input_size, hidden_size, num_layers, bias, batch_first, proj_size, structure)


class TTGRU(_TTMixin, models.GRU):
    """``nn.GRU`` whose every weight matrix is a TT-matrix."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        *,
        structure: TensorTrain | dict[str, Any],
    ) -> None:
        self._tt_init(input_size, hidden_size, num_layers, bias, batch_first, 0, structure)


def build(cell: str, **kwargs: Any) -> TTLSTM | TTGRU:
    """``TTLSTM(**kwargs)`` or ``TTGRU(**kwargs)`` by name."""
    return {"lstm": TTLSTM, "gru": TTGRU}[models.check_cell(cell)](**kwargs)


def from_torch(module: nn.Module, params: TensorTrain) -> TTLSTM | TTGRU:
    """A TT model whose every matrix is the TT-SVD of ``module``'s (an ``nn.LSTM``, LSTMP included, or
    ``nn.GRU``); at full rank it computes what ``module`` computes (to float precision)."""
    if isinstance(module, nn.LSTM):
        new: TTLSTM | TTGRU = TTLSTM(
            module.input_size, module.hidden_size, module.num_layers, module.bias, module.batch_first,
            module.proj_size, structure=params,
        )  # fmt: skip
    elif isinstance(module, nn.GRU):
        new = TTGRU(
            module.input_size, module.hidden_size, module.num_layers, module.bias, module.batch_first,
            structure=params,
        )  # fmt: skip
    else:
        raise TypeError(f"from_torch takes a torch.nn.LSTM or torch.nn.GRU, got {type(module).__name__}")
    if module.bidirectional:
        raise ValueError("bidirectional RNNs are not supported: the accelerator runs one direction")
    new = new.to(dtype=next(module.parameters()).dtype)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.startswith("bias"):
                getattr(new, name).copy_(param)
                continue
            lay = new.layouts[name]
            cores = tt_svd(param.detach().reshape(-1, lay.rows, lay.cols), lay)
            for k, core in enumerate(cores):
                getattr(new, f"{name}_core{k}").copy_(core)
    return new


# ------------------------------------------------------------------------------------------------------
class RankPrior:
    """The rank-determining prior of a TT model (module docstring): penalty, MAP variances, pruning.

    ``samples``: training samples N (the prior is counted once per data set, the loss per sample)."""

    def __init__(self, rnn: _TTMixin, samples: int, threshold: float) -> None:
        self.rnn, self.samples, self.threshold = rnn, samples, threshold

    def _slices(self, name: str, k: int) -> tuple[torch.Tensor, int]:
        """||slice||^2 per (gate, rank index) at boundary k (G, r_k), and the entries per slice."""
        left = getattr(self.rnn, f"{name}_core{k - 1}")  # its last axis is r_k
        right = getattr(self.rnn, f"{name}_core{k}")  # its axis 1 is r_k
        energy = left.pow(2).sum(dim=(1, 2, 3)) + right.pow(2).sum(dim=(2, 3, 4))
        return energy, math.prod(left.shape[1:4]) + math.prod(right.shape[2:5])

    def penalty(self) -> torch.Tensor:
        total = torch.zeros(())
        for name, lay in self.rnn.layouts.items():
            for k in range(1, lay.cores):
                energy, _ = self._slices(name, k)
                mask = getattr(self.rnn, f"{name}_mask{k}")
                total = total + (energy / (2 * getattr(self.rnn, f"{name}_var{k}")) * mask).sum()
        return total / self.samples

    @torch.no_grad()
    def update(self) -> dict[str, list[list[int]]]:
        """Gauge every boundary by an SVD, take the MAP variances, prune the slices below the threshold
        (at least one stays per boundary); returns the effective ranks.

        The gauge: the product of the two cores around boundary k, an (r_{k-1} m n, m' n' r_{k+1})
        matrix, is replaced by U sqrt(S) and sqrt(S) V^T of its SVD. The matrix W is unchanged (to float
        rounding), but the rank slices now lie along its singular directions, so a direction the data do
        not need is one slice (the prior on slices is not rotation invariant; without the gauge the
        unneeded energy stays spread over all slices and nothing is pruned)."""
        for name, lay in self.rnn.layouts.items():
            for k in range(1, lay.cores):
                left = getattr(self.rnn, f"{name}_core{k - 1}")
                right = getattr(self.rnn, f"{name}_core{k}")
                mask = getattr(self.rnn, f"{name}_mask{k}")
                g, r = left.shape[0], left.shape[-1]
                product = left.reshape(g, -1, r) @ right.reshape(g, r, -1)
                u, sv, vh = torch.linalg.svd(product.double(), full_matrices=False)
                root = sv[:, :r].sqrt()
                left.copy_((u[:, :, :r] * root[:, None, :]).reshape(left.shape))
                right.copy_((root[:, :, None] * vh[:, :r]).reshape(right.shape))
                active = mask.sum(dim=1, keepdim=True)  # the SVD moves the kept directions to the front
                mask.copy_(torch.arange(r)[None, :] < active)
                energy, count = self._slices(name, k)
                var = getattr(self.rnn, f"{name}_var{k}")
                var.copy_((energy / (count + 2)).clamp_min(1e-30))
                keep = mask & (var >= self.threshold * var.max(dim=1, keepdim=True).values)
                keep[:, 0] = True  # the largest singular direction: a boundary keeps rank >= 1
                mask.copy_(keep)
                left.mul_(keep[:, None, None, None, :])
                right.mul_(keep[:, :, None, None, None])
        return self.rnn.effective_ranks()
