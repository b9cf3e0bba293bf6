"""The CSB engine's workload-balancing compiler: each block's kernel split into local, horizontal and
vertical parts over a K x L grid of PE groups (P x Q PEs each), so that the groups finish together.

Engine model (CSB-RNN, Shi et al. ICS 2020; ``rtl/ernn_csb_array.v`` runs it, :mod:`ernn.export.csb_program`)
-----------------------------------------------------------------------------------------------------------
A matrix of G stacked gates is a grid of (G * BR) x BC blocks (:mod:`ernn.golden.csb`). The engine takes
it in *rounds*: round (a, b) maps the K x L tile of block rows a*K .. a*K+K-1 and block columns
b*L .. b*L+L-1 onto the groups, block (a*K + k, b*L + l) onto group (k, l) (a partial tile at the matrix
edge leaves groups without a block of their own). A round ends when its slowest group does. The P PEs of
a PE column share one input neuron (``rtl/ernn_csb_group.v``), so a group computes one kernel column's
entries P at a time: a *run* (at most P entries of one column of one kernel) takes a PE column for a clock,
and a group runs Q runs per clock. ``units`` "runs" (the default) balances these: a kernel of m x n entries
is n ceil(m / P) runs, a load of w runs takes ceil(w / Q) cycles, and the parts are whole runs
(:func:`_kernel_runs`), so the cycles are exactly what ``ernn.export.csb_program.build``'s program takes.
``units`` "merged" (:mod:`ernn.export.csb_merge`, which needs the kernels' kept columns) lets one run hold
an input neuron's entries of up to three vertically adjacent kernels. ``units`` "entries" balances entries
as if any P Q of them fitted a clock (ceil(w / (P Q)) cycles for w
entries); the array then needs more clocks wherever P > 1 (a part cuts a column into partial runs, a
column's last run is partly empty): on SR1 at 13x and 512 PEs 1,657 against 1,409 per tile row
(docs/csb.md).

Kernels differ in size, so groups idle. Two sharing paths let a group compute part of a *neighbour's*
kernel in the same round:

* **horizontal** (the extra input-buffer port): groups (k, l) and (k, l +- 1), same block row, so the
  partial sums land in the same output rows; the helper reads the owner's input neurons;
* **vertical** (the accumulation path): groups (k, l) and (k +- 1, l), same block column, so the inputs are
  the same; the partial sums travel to the owner's accumulators.

A part computed elsewhere comes from the owner's own kernel only (work is never forwarded twice).

Barriers (``scope``)
--------------------
"round": every round is a barrier, all groups start it together, so each round pays the rounding of its
slowest group (ceil of a few cycles: SR1's rounds hold about 2,400 entries, under 5 cycles of 512 PEs) and
a ragged last round of a tile row (one block column of L) leaves L - 1 group columns without work.
``ernn.export.csb_program.build`` turns either scope into the array's program. "tile_row": only a tile
row is a barrier, which is all the array itself needs (its lengths image holds one word per tile row, and
every PE accumulates by (bank, row) whatever block column an entry comes from): group g runs its parts of all
the tile row's rounds back to back, so the work balanced is W_g = the sum over the tile row of g's kernels,
and the tile row takes ceil(max load / (P Q)) cycles. ``csb_program.build`` fills a group's slots per tile
row for such a schedule (its rounds carry no cycles of their own), and the unchanged RTL runs it.

Formulation (per barrier; :func:`balance_flow`, :func:`balance_z3`)
------------------------------------------------------------------
Integers f_e >= 0 for every directed link e = (g -> h) allowed by the sharing ``mode``; W_g the units
(runs, or entries) of group g's kernels between two barriers (0 without a block)::

    sum_h f_(g->h) <= W_g                                   (a group gives only its own work)
    load_g = W_g - sum_h f_(g->h) + sum_h f_(h->g)
    minimize max_g load_g

The stretch then takes T = ceil(max_g load_g / C) cycles, C = Q runs (or P Q entries) per clock: in runs the
problem is the entries' on a grid of 1 x Q PEs per group. Loads within U = T C are feasible iff a
network source -> owner g (capacity W_g) -> helper h in {g} and g's neighbours -> sink (capacity U) carries
all the work; integer capacities give an integral maximum flow, so :func:`balance_flow` finds the fewest
cycles exactly by bisection on T with max-flow checks (Dinic, ``scipy.sparse.csgraph``), then, among the
flows whose loads fit T cycles, one that moves the fewest entries (a min-cost flow: a network LP, whose
vertex solution HiGHS's dual simplex returns integral, through ``scipy.optimize.linprog``).
:func:`balance_z3` minimizes max_g load_g itself by bisection on z3 feasibility checks (``QF_LIA``), which
gives the same cycles: the cross-check, slower (``bench/bench_csb_schedule.py`` times both). Opposite flows
on one link are netted afterwards (they buy nothing). The greedy baseline (:func:`balance_greedy`) moves
half the load difference from the most loaded group to its least loaded neighbour until no move lowers the
maximum. A tile row's flows are cut into per-round flows afterwards (:func:`_split`: a giver's entries taken
from its rounds in order), always possible since a giver never gives more than its kernels hold.

The flows become parts (:func:`materialize`). In runs: a kernel's runs listed column by column, horizontal
helpers take them from the last column backwards, vertical ones from the first column on (whole columns
where a flow is a multiple of a column's runs: a horizontal helper reads few input neurons; the vertical
path moves partial sums of every row of the block row anyway), the owner keeps the middle. Runs split
whole, so every group's runs of a column are the column's own: the schedule's runs are the program's, and
no split of entries needs fewer clocks (a column of c entries is ceil(c / P) runs however it is split, and
splitting never lowers the sum), so the flow optimum in runs is the array's optimum under these links.
In entries: a kernel's horizontal parts take whole columns first
(column-major from its last column: a helper reads few input neurons), its vertical parts whole rows of the
rest (row-major from its last row: few partial-sum transfers), the owner keeps the rest; every kernel entry
is in exactly one part (:func:`check_schedule`).

Utilization = useful MACs / (K L P Q x cycles), over all barriers; :meth:`Schedule.idle` splits the idle
PE-slots into rounding (what a perfect spread over all PEs would still leave) and imbalance (the rest; in
runs it includes the partly empty last run of each kernel column).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

MODES = ("none", "horizontal", "vertical", "both")
METHODS = ("flow", "z3", "greedy")
SCOPES = ("round", "tile_row")
#: what the balancing counts from the kernel counts alone: "runs" (the array's cost: a kernel column's
#: entries in runs of P, Q runs per clock, since a PE column shares one input neuron) or "entries" (any P Q
#: entries per clock)
UNITS = ("runs", "entries")
#: runs of one input neuron that may hold entries of up to three vertically adjacent kernels
#: (:mod:`ernn.export.csb_merge`, which needs the kept columns, not only the counts)
MERGED = "merged"

Group = tuple[int, int]


@dataclass(frozen=True)
class Grid:
    """K x L PE groups of P x Q PEs each (the paper's ZCU102 engine: 8 x 4 groups of 4 x 4, 512 PEs)."""

    k: int
    l: int  # noqa: E741 - the paper's name
    p: int
    q: int

    def __post_init__(self) -> None:
        for name in ("k", "l", "p", "q"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"grid {name.upper()} must be an integer >= 1, got {v!r}")

    @property
    def group_pes(self) -> int:
        return self.p * self.q

    @property
    def pes(self) -> int:
        return self.k * self.l * self.p * self.q

    def groups(self) -> list[Group]:
        return [(k, l) for k in range(self.k) for l in range(self.l)]  # noqa: E741

    def links(self, mode: str) -> list[tuple[Group, Group]]:
        """Directed links (giver, helper) the sharing ``mode`` allows."""
        if mode not in MODES:
            raise ValueError(f"sharing mode must be one of {', '.join(MODES)}, got {mode!r}")
        out = []
        for k, l in self.groups():  # noqa: E741
            if mode in ("horizontal", "both"):
                out += [((k, l), (k, n)) for n in (l - 1, l + 1) if 0 <= n < self.l]
            if mode in ("vertical", "both"):
                out += [((k, l), (n, l)) for n in (k - 1, k + 1) if 0 <= n < self.k]
        return out


def direction(giver: Group, helper: Group) -> str:
    """'horizontal' (same group row), 'vertical' (same group column) or 'local'."""
    if giver == helper:
        return "local"
    if giver[0] == helper[0] and abs(giver[1] - helper[1]) == 1:
        return "horizontal"
    if giver[1] == helper[1] and abs(giver[0] - helper[0]) == 1:
        return "vertical"
    raise ValueError(f"groups {giver} and {helper} are not neighbours")


@dataclass(frozen=True)
class Part:
    """Entries of one kernel computed by one group: ``entries`` (n, 2) kernel-local (row, column) pairs."""

    owner: Group
    helper: Group
    kind: str  # local | horizontal | vertical
    entries: npt.NDArray[np.int64]


@dataclass
class Round:
    """One K x L tile of blocks: which block each group owns, its kernel size, the parts and the cycles."""

    tile: tuple[int, int]  # (a, b): block rows a*K.., block columns b*L..
    blocks: dict[Group, tuple[int, int]]  # group -> (block row, block column) it owns
    sizes: dict[Group, tuple[int, int]]  # group -> (m_b, n_b) of its kernel
    flows: dict[tuple[Group, Group], int]
    cycles: int  # 0 in a tile-row schedule: the tile row's cycles are in Schedule.tile_rows
    parts: list[Part] = field(default_factory=list)
    #: group -> the kept column offsets (0..M-1) of its kernel, in kernel-column order; only a "merged"
    #: schedule carries them (its runs are per input neuron, so it needs to know which neuron a column is)
    columns: dict[Group, tuple[int, ...]] = field(default_factory=dict)

    def loads(self, grid: Grid) -> dict[Group, int]:
        out = {g: 0 for g in grid.groups()}
        for part in self.parts:
            out[part.helper] += len(part.entries)
        return out


@dataclass(frozen=True)
class TileRow:
    """The rounds ``first .. first + count - 1`` of a tile-row schedule and the cycles they take together."""

    first: int
    count: int
    cycles: int


@dataclass
class Schedule:
    """The compiled schedule of one matrix (or the rounds of several) on a grid.

    ``scope`` "round": every round is a barrier (all groups start a round together), ``Round.cycles`` each;
    what ``ernn.export.csb_program.build`` turns into the array's program. ``scope`` "tile_row": only
    a tile row is a barrier (the array's own: its lengths image holds one word per tile row), a group runs
    its parts of all the tile row's rounds back to back, ``tile_rows`` hold the cycles and the rounds carry
    none (``cycles`` 0; ``csb_program.build`` fills per tile row for them)."""

    grid: Grid
    mode: str
    method: str
    rounds: list[Round]
    solve_seconds: float
    scope: str = "round"
    tile_rows: list[TileRow] = field(default_factory=list)
    units: str = "runs"

    @property
    def macs(self) -> int:
        return sum(m * n for r in self.rounds for m, n in r.sizes.values())

    @property
    def cycles(self) -> int:
        return sum(c for _, c in self.barriers())

    @property
    def utilization(self) -> float:
        """Useful MACs / (PEs x cycles)."""
        return self.macs / (self.grid.pes * self.cycles) if self.cycles else 0.0

    def barriers(self) -> list[tuple[list[Round], int]]:
        """The stretches between two barriers (a round, or a tile row's rounds) and their cycles."""
        if self.scope == "round":
            return [([r], r.cycles) for r in self.rounds]
        return [(self.rounds[t.first : t.first + t.count], t.cycles) for t in self.tile_rows]

    def loads(self) -> list[dict[Group, int]]:
        """Entries per group between two barriers (see :meth:`barriers`)."""
        out = []
        for rounds, _ in self.barriers():
            load = {g: 0 for g in self.grid.groups()}
            for r in rounds:
                for g, v in r.loads(self.grid).items():
                    load[g] += v
            out.append(load)
        return out

    def run_loads(self) -> list[dict[Group, int]]:
        """Runs per group between two barriers, as the array runs them (``csb_program.build``): per block
        and kernel column a group computes entries of, ceil(entries / P) runs (its P PEs of a PE column
        share one input neuron); a group takes ceil(runs / Q) clocks. In a "merged" schedule the runs are
        per input neuron (block column, kept column offset: ``Round.columns``), whichever kernels its
        entries come from."""
        out = []
        for rounds, _ in self.barriers():
            per: dict[Group, dict[tuple[int, int, int], int]] = {g: {} for g in self.grid.groups()}
            for r in rounds:
                for part in r.parts:
                    bi, bj = r.blocks[part.owner]
                    cols, counts = np.unique(part.entries[:, 1], return_counts=True)
                    d = per[part.helper]
                    for c, n in zip(cols.tolist(), counts.tolist(), strict=True):
                        key = (-1, bj, r.columns[part.owner][c]) if self.units == MERGED else (bi, bj, c)
                        d[key] = d.get(key, 0) + n
            out.append({g: sum(-(-n // self.grid.p) for n in d.values()) for g, d in per.items()})
        return out

    def margin(self) -> float:
        """Largest (max load / average load - 1) between two barriers (0 = perfectly even)."""
        worst = 0.0
        for load in self.loads():
            avg = sum(load.values()) / len(load)
            if avg:
                worst = max(worst, max(load.values()) / avg - 1.0)
        return worst

    def idle(self) -> dict[str, int]:
        """Where the PE-slots (PEs x cycles) go, between every two barriers: ``useful`` MACs; ``rounding``,
        the slots even a perfect spread of the stretch's W entries over all PEs leaves
        (PEs x ceil(W / PEs) - W: whole cycles, groups without a block); ``imbalance``, the rest (PEs x
        (cycles - ceil(W / PEs)): the load the sharing links could not spread, or the solver did not; in a
        schedule balanced in runs also the empty slots of each kernel column's last run).
        They add up to ``slots``; independent of how the solver cuts the kernels, given its cycles."""
        pes = self.grid.pes
        rounding = imbalance = 0
        for load, (_, cycles) in zip(self.loads(), self.barriers(), strict=True):
            w = sum(load.values())
            rounding += pes * -(-w // pes) - w
            imbalance += pes * (cycles - -(-w // pes))
        return {"slots": pes * self.cycles, "useful": self.macs, "rounding": rounding, "imbalance": imbalance}

    def moved(self) -> dict[str, int]:
        """Kernel entries computed by their owner (``local``) and by a neighbour, per direction."""
        out = {"local": 0, "horizontal": 0, "vertical": 0}
        for r in self.rounds:
            for part in r.parts:
                out[part.kind] += len(part.entries)
        return out

    def merge(self, other: Schedule) -> Schedule:
        if (self.grid, self.mode, self.method, self.scope, self.units) != (
            other.grid,
            other.mode,
            other.method,
            other.scope,
            other.units,
        ):
            raise ValueError("only schedules of one grid, mode, method, scope and units merge")
        shift = len(self.rounds)
        return Schedule(
            self.grid,
            self.mode,
            self.method,
            self.rounds + other.rounds,
            self.solve_seconds + other.solve_seconds,
            self.scope,
            self.tile_rows + [TileRow(t.first + shift, t.count, t.cycles) for t in other.tile_rows],
            self.units,
        )


def block_grid(counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """(G, BR, BC, 2) kernel counts of G stacked gates -> (G * BR, BC, 2): the gates' block rows stacked."""
    c = np.asarray(counts, dtype=np.int64)
    if c.ndim == 3:
        c = c[None]
    if c.ndim != 4 or c.shape[-1] != 2 or (c.size and c.min() < 0):
        raise ValueError(f"kernel counts must be (G, BR, BC, 2) non-negative integers, got shape {c.shape}")
    return c.reshape(c.shape[0] * c.shape[1], c.shape[2], 2)


def kept_grid(counts: npt.ArrayLike, columns: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """(G, BR, BC, M) kept-column masks (``columns[g, i, j, c]``: block (g, i, j) keeps column offset c)
    -> (G * BR, BC, M), checked against the counts: ValueError naming the first block whose mask does not
    hold n_b columns."""
    c = block_grid(counts)
    keep = np.asarray(columns, dtype=bool)
    if keep.ndim == 4:
        keep = keep.reshape(keep.shape[0] * keep.shape[1], *keep.shape[2:])
    if keep.ndim != 3 or keep.shape[:2] != c.shape[:2]:
        raise ValueError(
            f"kept columns must be (G, BR, BC, M) for counts of {c.shape[:2]} blocks, got {keep.shape}"
        )
    bad = np.argwhere(keep.sum(axis=2) != c[..., 1])
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ValueError(
            f"block (stacked block row {i}, block column {j}): {int(keep[i, j].sum())} kept columns, "
            f"the counts give {int(c[i, j, 1])}"
        )
    return keep


def tiles(counts: npt.ArrayLike, grid: Grid, columns: npt.ArrayLike | None = None) -> list[Round]:
    """The rounds of a matrix, unbalanced (no flows, cycles 0); with ``columns`` (the kept-column masks,
    :func:`kept_grid`) each round also holds its kernels' kept column offsets (``Round.columns``)."""
    c = block_grid(counts)
    keep = None if columns is None else kept_grid(counts, columns)
    rows, cols = c.shape[:2]
    out = []
    for a in range(math.ceil(rows / grid.k)):
        for b in range(math.ceil(cols / grid.l)):
            blocks, sizes, kept = {}, {}, {}
            for k, l in grid.groups():  # noqa: E741
                i, j = a * grid.k + k, b * grid.l + l
                if i < rows and j < cols:
                    blocks[(k, l)] = (i, j)
                    sizes[(k, l)] = (int(c[i, j, 0]), int(c[i, j, 1]))
                    if keep is not None:
                        kept[(k, l)] = tuple(np.flatnonzero(keep[i, j]).tolist())
            out.append(Round((a, b), blocks, sizes, {}, 0, columns=kept))
    return out


def _work(r: Round, p: int = 1) -> dict[Group, int]:
    """Per group, its kernel's units: runs of at most ``p`` entries of one kernel column (n ceil(m / p));
    ``p`` = 1 counts entries."""
    return {g: n * -(-m // p) for g, (m, n) in r.sizes.items()}


def _kernel_runs(m: int, n: int, p: int) -> list[list[tuple[int, int]]]:
    """An m x n kernel's runs, column by column: rows 0..p-1, p..2p-1, ... of each column."""
    return [[(i, j) for i in range(i0, min(i0 + p, m))] for j in range(n) for i0 in range(0, m, p)]


def _loads(grid: Grid, work: dict[Group, int], flows: dict[tuple[Group, Group], int]) -> dict[Group, int]:
    load = {g: work.get(g, 0) for g in grid.groups()}
    for (a, b), f in flows.items():
        load[a] -= f
        load[b] += f
    return load


def _fits(work: dict[Group, int], grid: Grid, mode: str, cap: int) -> bool:
    """Whether all the work fits with every load <= ``cap``: the maximum flow of the network source ->
    owner g (capacity W_g) -> helper h in {g} and the neighbours the mode allows (capacity W_g) -> sink
    (capacity ``cap``) is sum W_g. Nodes: 0 the source, 1 .. n the owners, n+1 .. 2n the helpers, 2n+1 the
    sink (n groups)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    groups = grid.groups()
    n = len(groups)
    at = {g: i for i, g in enumerate(groups)}
    rows, cols, caps = [], [], []
    for g in groups:
        w = work.get(g, 0)
        if w:
            rows += [0, 1 + at[g]]
            cols += [1 + at[g], 1 + n + at[g]]
            caps += [w, w]
    for a, b in grid.links(mode):
        if work.get(a, 0):
            rows.append(1 + at[a])
            cols.append(1 + n + at[b])
            caps.append(work[a])
    for g in groups:
        rows.append(1 + n + at[g])
        cols.append(2 * n + 1)
        caps.append(cap)
    net = csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)), shape=(2 * n + 2, 2 * n + 2))
    return maximum_flow(net, 0, 2 * n + 1).flow_value == sum(work.values())


def balance_flow(work: dict[Group, int], grid: Grid, mode: str) -> dict[tuple[Group, Group], int]:
    """The flows that give the fewest cycles (exact: bisection on max-flow checks), moving the fewest entries.

    A cycle count T is feasible iff the network of :func:`_fits` with the load bound U = T P Q carries
    all the work; its capacities are integers, so an integral maximum flow exists (Dinic,
    ``scipy.sparse.csgraph``) and the smallest feasible T is the optimum of the integer problem
    :func:`balance_z3` solves (each check is polynomial; ``bench/bench_csb_schedule.py`` times both). Then,
    under that bound, the flow that moves the fewest entries (:func:`_fewest_moves`)."""
    total = sum(work.values())
    if not grid.links(mode) or not total:
        return {}
    pq = grid.group_pes
    if max(work.values()) + pq >= 1 << 31:
        raise ValueError(f"a group's work of {max(work.values())} entries exceeds the solver's int32 range")
    lo, hi = -(-total // (len(grid.groups()) * pq)), -(-max(work.values()) // pq)  # even spread, no sharing
    while lo < hi:
        mid = (lo + hi) // 2
        if _fits(work, grid, mode, mid * pq):
            hi = mid
        else:
            lo = mid + 1
    return _fewest_moves(work, grid, mode, lo * pq)


def _fewest_moves(work: dict[Group, int], grid: Grid, mode: str, cap: int) -> dict[tuple[Group, Group], int]:
    """Among the flows that keep every load <= ``cap``, one that moves the fewest entries: a min-cost flow.
    Its LP's constraint matrix is a network's (totally unimodular), so the dual simplex's vertex solution
    (HiGHS through ``scipy.optimize.linprog``) is integral; ``milp`` is the fallback should it not be."""
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    links = [e for e in grid.links(mode) if work.get(e[0], 0)]
    if not links:
        return {}
    groups = grid.groups()
    at = {g: i for i, g in enumerate(groups)}
    give = np.zeros((len(groups), len(links)))  # row g: entries g gives away
    take = np.zeros((len(groups), len(links)))  # row g: entries g computes for others
    for i, (a, b) in enumerate(links):
        give[at[a], i] = 1
        take[at[b], i] = 1
    w = np.array([work.get(g, 0) for g in groups], dtype=float)
    # a group gives only its own work; load_g = W_g - out + in <= cap
    a_ub, b_ub = np.vstack((give, take - give)), np.concatenate((w, cap - w))
    res = linprog(np.ones(len(links)), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs-ds")
    if res.success and not np.allclose(res.x, np.round(res.x), rtol=0, atol=1e-6):
        res = milp(
            np.ones(len(links)),
            constraints=[LinearConstraint(a_ub, -np.inf, b_ub)],
            integrality=np.ones(len(links)),
            bounds=Bounds(0, np.inf),
        )
    if not res.success:
        raise RuntimeError(f"no flow keeps every load <= {cap} although a maximum flow did ({res.message})")
    flows = {e: round(v) for e, v in zip(links, res.x, strict=True) if round(v) > 0}
    if max(_loads(grid, work, flows).values()) > cap:
        raise RuntimeError(f"the min-cost flow exceeds the load bound {cap} (the LP is wrong)")
    return _net(flows)


def balance_z3(work: dict[Group, int], grid: Grid, mode: str) -> dict[tuple[Group, Group], int]:
    """The flows that minimize the largest load, hence the cycles (bisection on z3 feasibility checks)."""
    import z3

    links = grid.links(mode)
    if not links or not any(work.values()):
        return {}
    solver = z3.SolverFor("QF_LIA")
    f = {e: z3.Int(f"f_{e[0][0]}_{e[0][1]}_{e[1][0]}_{e[1][1]}") for e in links}
    top = z3.Int("max_load")
    for e, v in f.items():
        solver.add(v >= 0, v <= work.get(e[0], 0))
    for g in grid.groups():
        out = [f[e] for e in links if e[0] == g]
        inc = [f[e] for e in links if e[1] == g]
        if out:
            solver.add(z3.Sum(out) <= work.get(g, 0))
        solver.add(work.get(g, 0) - z3.Sum([z3.IntVal(0), *out]) + z3.Sum([z3.IntVal(0), *inc]) <= top)
    # minimize max_load by bisection on feasibility checks (z3's Optimize takes seconds per round here);
    # the smallest largest load also gives the fewest cycles, ceil(max_load / (P Q))
    total = sum(work.values())
    lo, hi = -(-total // len(grid.groups())), max(work.values())  # the average, and no sharing at all
    model = None
    while lo <= hi:
        mid = (lo + hi) // 2
        solver.push()
        solver.add(top <= mid)
        if solver.check() == z3.sat:
            model, hi = solver.model(), mid - 1
        else:
            lo = mid + 1
        solver.pop()
    if model is None:  # the bound max(work) is always feasible (no flow)
        raise RuntimeError("z3 found no schedule for a round (the model is wrong)")
    return _net({e: model[v].as_long() for e, v in f.items()})


def _net(flows: dict[tuple[Group, Group], int]) -> dict[tuple[Group, Group], int]:
    """Opposite flows on one link cancelled (g gives h x and h gives g y: only |x - y| moves)."""
    out = {}
    for (a, b), v in flows.items():
        d = v - flows.get((b, a), 0)
        if d > 0:
            out[(a, b)] = d
    return out


def balance_greedy(work: dict[Group, int], grid: Grid, mode: str) -> dict[tuple[Group, Group], int]:
    """Baseline: repeatedly move half the load difference from the most loaded group to its least loaded
    neighbour (only the giver's own, not yet given work), until no move lowers the maximum."""
    links = grid.links(mode)
    neighbours: dict[Group, list[Group]] = {g: [] for g in grid.groups()}
    for a, b in links:
        neighbours[a].append(b)
    flows: dict[tuple[Group, Group], int] = {}
    for _ in range(16 * len(links) + 16):
        load = _loads(grid, work, flows)
        moved = False
        for g in sorted(load, key=lambda x: -load[x]):
            own = work.get(g, 0) - sum(v for (a, _), v in flows.items() if a == g)
            if not neighbours[g] or own <= 0:
                continue
            h = min(neighbours[g], key=lambda x: load[x])
            d = min((load[g] - load[h]) // 2, own)
            if d <= 0:
                continue
            back = flows.get((h, g), 0)  # cancel a reverse flow first
            if back:
                take = min(back, d)
                flows[(h, g)] = back - take
                d -= take
            if d:
                flows[(g, h)] = flows.get((g, h), 0) + d
            moved = True
            break
        if not moved:
            break
    return {e: v for e, v in flows.items() if v > 0}


def materialize(r: Round, grid: Grid, units: str = "entries") -> list[Part]:
    """The parts of a round from its flows (see the module docstring); flows count ``units``."""
    helpers_of: dict[Group, list[tuple[Group, int]]] = {}
    for (a, b), v in sorted(r.flows.items()):
        helpers_of.setdefault(a, []).append((b, v))
    if units == "runs":
        return _materialize_runs(r, grid, helpers_of)
    parts = []
    for g, (m, n) in r.sizes.items():
        if m * n == 0:
            continue
        col_major = [(i, j) for j in reversed(range(n)) for i in range(m)]
        given: set[tuple[int, int]] = set()
        outs = helpers_of.get(g, [])
        h_parts = [(h, v) for h, v in outs if direction(g, h) == "horizontal"]
        v_parts = [(h, v) for h, v in outs if direction(g, h) == "vertical"]
        pos = 0
        for h, v in h_parts:
            take = col_major[pos : pos + v]
            pos += v
            given.update(take)
            parts.append(Part(g, h, "horizontal", np.array(take, dtype=np.int64).reshape(-1, 2)))
        row_major = [(i, j) for i in reversed(range(m)) for j in range(n) if (i, j) not in given]
        pos = 0
        for h, v in v_parts:
            take = row_major[pos : pos + v]
            pos += v
            given.update(take)
            parts.append(Part(g, h, "vertical", np.array(take, dtype=np.int64).reshape(-1, 2)))
        local = [(i, j) for i in range(m) for j in range(n) if (i, j) not in given]
        if local:
            parts.append(Part(g, g, "local", np.array(local, dtype=np.int64).reshape(-1, 2)))
    return parts


def _materialize_runs(r: Round, grid: Grid, helpers_of: dict[Group, list[tuple[Group, int]]]) -> list[Part]:
    """Parts of whole runs (:func:`_kernel_runs`, column by column): horizontal helpers take runs from the
    kernel's last column backwards, vertical ones from its first column on, the owner keeps the middle; a
    flow of a multiple of ceil(m / P) runs is whole columns. Every run stays whole, so no group's runs of a
    column exceed the column's own: the runs the array executes are exactly the flows' units."""
    parts = []
    as_array = lambda runs: np.array([e for run in runs for e in run], dtype=np.int64).reshape(-1, 2)  # noqa: E731
    for g, (m, n) in r.sizes.items():
        if m * n == 0:
            continue
        runs = _kernel_runs(m, n, grid.p)
        lo, hi = 0, len(runs)
        for h, v in helpers_of.get(g, []):
            if direction(g, h) == "horizontal":
                take, hi = runs[hi - v : hi], hi - v
            else:
                take, lo = runs[lo : lo + v], lo + v
            parts.append(Part(g, h, direction(g, h), as_array(take)))
        if lo > hi:
            raise RuntimeError(
                f"group {g} gives {lo - hi} runs more than its kernel holds (the solver is wrong)"
            )
        if hi > lo:
            parts.append(Part(g, g, "local", as_array(runs[lo:hi])))
    return parts


_BALANCE = {"flow": balance_flow, "z3": balance_z3, "greedy": balance_greedy}


def _split(
    flows: dict[tuple[Group, Group], int], rounds: list[Round], p: int = 1
) -> list[dict[tuple[Group, Group], int]]:
    """A tile row's flows (each giver's total over its rounds) cut into per-round flows: a giver's flows
    taken from its rounds' kernels in order. Always possible: a giver never gives more than its rounds hold."""
    left = [dict(_work(r, p)) for r in rounds]
    out: list[dict[tuple[Group, Group], int]] = [{} for _ in rounds]
    for (a, b), v in sorted(flows.items()):
        for i, w in enumerate(left):
            take = min(v, w.get(a, 0))
            if take:
                out[i][(a, b)] = take
                w[a] -= take
                v -= take
            if not v:
                break
        if v:
            raise RuntimeError(
                f"group {a} gives {v} entries more than its kernels hold (the solver is wrong)"
            )
    return out


def compile_matrix(
    counts: npt.ArrayLike,
    grid: Grid,
    mode: str = "both",
    method: str = "flow",
    scope: str = "round",
    units: str = "runs",
) -> Schedule:
    """Schedule every round of a matrix (kernel counts (G, BR, BC, 2), e.g. ``CSBMatrix.counts``), balanced
    per round (``scope`` "round", what the array's program builder takes) or per tile row ("tile_row"),
    counting ``units``: "runs" (what the array executes, the default; see the module docstring) or
    "entries" (any P Q entries per clock: the array then needs more clocks than the schedule's where P > 1)."""
    if method not in METHODS:
        raise ValueError(f"balancing method must be one of {', '.join(METHODS)}, got {method!r}")
    if scope not in SCOPES:
        raise ValueError(f"balancing scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if units == MERGED:
        raise ValueError(
            "balancing units 'merged' need the kept columns, not only the counts: "
            "ernn.export.csb_merge.compile_matrix"
        )
    if units not in UNITS:
        raise ValueError(f"balancing units must be one of {', '.join(UNITS)}, got {units!r}")
    grid.links(mode)  # validates the mode
    # in runs a group takes Q units per clock: balanced as on a grid of 1 x Q PEs per group
    p = grid.p if units == "runs" else 1
    unit_grid = Grid(grid.k, grid.l, 1, grid.q) if units == "runs" else grid
    rounds = tiles(counts, grid)
    solve = 0.0
    stretches = [[r] for r in rounds]
    if scope == "tile_row":
        by_row: dict[int, list[Round]] = {}
        for r in rounds:
            by_row.setdefault(r.tile[0], []).append(r)
        stretches = list(by_row.values())
    tile_rows, first = [], 0
    for stretch in stretches:
        work: dict[Group, int] = {}
        for r in stretch:
            for g, v in _work(r, p).items():
                work[g] = work.get(g, 0) + v
        t0 = time.perf_counter()
        flows = {} if mode == "none" else _BALANCE[method](work, unit_grid, mode)
        solve += time.perf_counter() - t0
        for r, f in zip(stretch, _split(flows, stretch, p), strict=True):
            r.flows = f
            r.parts = materialize(r, grid, units)
        top = max(_loads(grid, work, flows).values())
        cycles = math.ceil(top / unit_grid.group_pes)
        if scope == "round":
            stretch[0].cycles = cycles
        else:
            tile_rows.append(TileRow(first, len(stretch), cycles))
        first += len(stretch)
    return Schedule(grid, mode, method, rounds, solve, scope, tile_rows, units)


def compile_matrices(
    counts: list[npt.ArrayLike],
    grid: Grid,
    mode: str = "both",
    method: str = "flow",
    scope: str = "round",
    units: str = "runs",
) -> Schedule:
    """Several matrices one after the other (the rounds of each)."""
    if not counts:
        raise ValueError("no matrices to schedule")
    out = compile_matrix(counts[0], grid, mode, method, scope, units)
    for c in counts[1:]:
        out = out.merge(compile_matrix(c, grid, mode, method, scope, units))
    return out


def check_schedule(
    schedule: Schedule, counts: list[npt.ArrayLike], columns: list[npt.ArrayLike] | None = None
) -> None:
    """ValueError naming the first problem: a kernel entry missing, duplicated or outside its kernel, a part
    on a group that is not the owner or a neighbour in the mode's directions, or a round (a tile row, in a
    tile-row schedule) whose cycles do not cover its largest load; in a tile-row schedule also tile rows
    that do not cover the rounds in order or mix two tile rows, and rounds with cycles of their own; in a
    schedule balanced in runs also a barrier whose cycles do not cover a group's runs
    (:meth:`Schedule.run_loads`, Q per clock); a "merged" schedule needs the matrices' kept-column masks
    (``columns``, :func:`kept_grid`) and is refused when its rounds' kept columns are not theirs."""
    grid = schedule.grid
    allowed = set(grid.links(schedule.mode))
    merged = schedule.units == MERGED
    if merged and (columns is None or len(columns) != len(counts)):
        raise ValueError("a schedule balanced in merged runs is checked against its matrices' kept columns")
    expected = [r for i, c in enumerate(counts) for r in tiles(c, grid, columns[i] if merged else None)]
    if len(expected) != len(schedule.rounds):
        raise ValueError(f"schedule has {len(schedule.rounds)} rounds, the matrices {len(expected)}")
    for idx, (r, want) in enumerate(zip(schedule.rounds, expected, strict=True)):
        if r.sizes != want.sizes or r.blocks != want.blocks:
            raise ValueError(f"round {idx}: blocks or kernel sizes differ from the matrix")
        if merged and r.columns != want.columns:
            raise ValueError(f"round {idx}: the kernels' kept columns differ from the matrix")
        seen: dict[Group, npt.NDArray[np.int64]] = {
            g: np.zeros((m, n), dtype=np.int64) for g, (m, n) in r.sizes.items()
        }
        for part in r.parts:
            if part.owner not in seen:
                raise ValueError(f"round {idx}: a part of group {part.owner}, which owns no block")
            kind = direction(part.owner, part.helper)
            if kind != part.kind or (kind != "local" and (part.owner, part.helper) not in allowed):
                raise ValueError(
                    f"round {idx}: group {part.helper} computes a {part.kind} part of {part.owner}, "
                    f"which mode {schedule.mode!r} does not allow"
                )
            m, n = r.sizes[part.owner]
            e = part.entries
            if e.size and (e.min() < 0 or e[:, 0].max() >= m or e[:, 1].max() >= n):
                raise ValueError(f"round {idx}: a part of {part.owner} leaves its {m} x {n} kernel")
            np.add.at(seen[part.owner], (e[:, 0], e[:, 1]), 1)
        for g, hits in seen.items():
            if hits.size and (hits.min() != 1 or hits.max() != 1):
                bad = np.argwhere(hits != 1)[0].tolist()
                raise ValueError(
                    f"round {idx}: kernel of group {g} (block {r.blocks[g]}): entry {bad} computed "
                    f"{int(hits[tuple(bad)])} times"
                )
    if schedule.units not in (*UNITS, MERGED):
        raise ValueError(
            f"schedule units must be one of {', '.join((*UNITS, MERGED))}, got {schedule.units!r}"
        )
    if schedule.units in ("runs", MERGED) and schedule.scope in SCOPES:
        for idx, (runs, (_, cycles)) in enumerate(
            zip(schedule.run_loads(), schedule.barriers(), strict=True)
        ):
            if cycles * grid.q < max(runs.values()):
                raise ValueError(
                    f"barrier {idx}: {cycles} cycles do not cover a group's {max(runs.values())} "
                    f"{'merged ' if merged else ''}runs of P (Q = {grid.q} per clock)"
                )
    if schedule.scope == "round":
        for idx, (load, (_, cycles)) in enumerate(zip(schedule.loads(), schedule.barriers(), strict=True)):
            if cycles * grid.group_pes < max(load.values()):
                raise ValueError(
                    f"round {idx}: {cycles} cycles do not cover a load of {max(load.values())} entries"
                )
        return
    if schedule.scope not in SCOPES:
        raise ValueError(f"schedule scope must be one of {', '.join(SCOPES)}, got {schedule.scope!r}")
    covered = [t.first + i for t in schedule.tile_rows for i in range(t.count)]
    if covered != list(range(len(schedule.rounds))):
        raise ValueError("the tile rows of a tile-row schedule do not cover its rounds in order, once each")
    for t, load in zip(schedule.tile_rows, schedule.loads(), strict=True):
        rows = {r.tile[0] for r in schedule.rounds[t.first : t.first + t.count]}
        if len(rows) != 1:
            raise ValueError(f"tile row at round {t.first}: its rounds come from tile rows {sorted(rows)}")
        if any(r.cycles for r in schedule.rounds[t.first : t.first + t.count]):
            raise ValueError(
                f"tile row at round {t.first}: a round of a tile-row schedule has cycles of its own"
            )
        if t.cycles * grid.group_pes < max(load.values()):
            raise ValueError(
                f"tile row at round {t.first}: {t.cycles} cycles do not cover a load of {max(load.values())} entries"
            )
