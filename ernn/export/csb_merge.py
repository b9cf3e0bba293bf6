"""Merged runs: the CSB balancing compiler when one run of the group array holds entries of several kernels.

What the group array executes (``rtl/ernn_csb_array.v``, ``ernn_csb_group.v``, ``ernn_csb_pe.v``)
--------------------------------------------------------------------------------------------------
A *run* is one PE column of a group for one clock. The array reads one input neuron per PE column and
clock (the ``x`` image holds one index per PE column) and broadcasts it to the column's P PEs; each PE has
its own enable bit, kernel value and target {bank, row offset}, and adds its product into the partial sums
of the tile row being filled: bank 0 for its group row's block row, bank 1 / 2 for the block row of the
group row above / below (the vertical accumulation path), whatever block column or kernel the entry comes
from. So the P entries of a run must read **one input neuron** and target rows **within the group's
reach**; nothing ties them to one kernel. In a round the groups of one group column own the blocks of one
block column (block (a K + k, b L + l) on group (k, l)), so they read the same input neurons: group k may
hold, in one run, entries of column c of its own kernel and of the kernel above or below it when those
keep column c too (the vertical helper's bank 1 or 2). Horizontal neighbours own other block columns, so
their kernels never share an input neuron with the helper's own.

``csb_schedule`` (``units`` "runs") cuts each kernel column into runs of P on its own: a column of m entries
is ceil(m / P) runs, so its last run is partly empty (SR1 at 13x keeps about 9 rows per kernel: 87.3 % of
the runs' PE-slots hold an entry at P = 4, docs/csb.md). This module lets the partly empty runs of
vertically adjacent kernels fill each other. Nothing else can share a run: the entries of one input
neuron in a tile row are this chain's (other tile rows fill the other half of the partial sums), so
ceil(sum_k m_k / P) runs per chain bounds every program of this array.

Compiler (``units`` "merged")
----------------------------
Per round, group column l and kept column offset c, the *chain* m_0 .. m_{K-1}: the entries of column c
in the kernels of group rows 0 .. K-1 (0 where a kernel does not keep c). :func:`chain_runs` cuts the
chain into the fewest runs of at most P entries in which every run holds entries of kernels at most three
group rows apart (:data:`WINDOW`: group row k reaches rows k - 1 .. k + 1 through its banks; dynamic
programming over k, among the fewest runs the fewest pieces). A one-kernel run may go to its owner or any
neighbour the sharing mode allows (as in ``csb_schedule``); a run of two adjacent kernels to either owner,
one of rows k - 1 .. k + 1 to row k only (the others' entries travel the vertical path), so runs of
several kernels exist only in the modes with vertical sharing. Between two barriers (a round, or a tile
row) the runs form classes by their owners; the balancing is the max-flow of ``csb_schedule`` on classes
instead of groups: source -> class (its runs) -> an allowed executor -> sink (capacity T Q); the smallest
feasible T by bisection (exact for these runs), then the assignment that keeps the most runs on an owner
(a transportation LP, integral at a vertex, by HiGHS). A narrower window gives more runs but more places
to put them, so windows 3, 2 and 1 (1: each kernel column on its own, the "runs" schedule's work) are
tried in turn until one reaches the floor (the window-3 runs spread over all K L Q PE columns, which no
program beats), and each barrier keeps the fewest clocks: a merged schedule is never longer than the
runs schedule of the same kernels. The runs become ordinary parts (owner, helper, kernel entries), and a
group's clocks are counted as ``csb_program.build`` packs a "merged" schedule: its entries grouped by
input neuron, P per run, Q runs per clock (``Schedule.run_loads``), never more than planned (entries of
two runs of one neuron on one group may share a run).

The merged schedule needs the kernels' kept columns (:func:`kept_columns` of a ``CSBMatrix``, or the masks
of a projected matrix), not only their counts; ``csb_schedule.check_schedule`` checks them.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import numpy.typing as npt

from ernn.export import csb_schedule as cs
from ernn.golden import csb as gcsb

Group = cs.Group
#: the owners of a class of runs: one group, or up to three of one group column within WINDOW rows (upper first)
Owners = tuple[Group, ...]


def kept_columns(matrix: gcsb.CSBMatrix) -> npt.NDArray[np.bool_]:
    """(G, BR, BC, M) masks: block (g, i, j) keeps column offset c (its ``col_index``)."""
    g, br, bc, _ = matrix.counts.shape
    keep = np.zeros((g, br, bc, matrix.block), dtype=bool)
    for (gi, i, j), (_, co, _) in zip(np.ndindex(g, br, bc), matrix._offsets, strict=True):
        keep[gi, i, j, matrix.col_index[co : co + int(matrix.counts[gi, i, j, 1])]] = True
    return keep


#: the most kernels one run may span: group row k reaches the block rows k - 1, k, k + 1 (banks 1, 0, 2)
WINDOW = 3


@functools.lru_cache(maxsize=1 << 16)
def chain_runs(m: tuple[int, ...], p: int, window: int = WINDOW) -> tuple[tuple[tuple[int, int], ...], ...]:
    """The fewest runs of at most ``p`` entries for a chain of kernel columns of ``m[k]`` entries (one input
    neuron, kernels k = 0, 1, ... of consecutive group rows), each run holding entries of kernels at most
    ``window`` apart (k .. k + window - 1, ``window`` 1 to 3), and among those the fewest pieces (a run's
    pieces: its kernels): each run a tuple of (k, entries) pieces.

    Dynamic programming over k. The state before kernel k is (a, b): the entries in the run left open by
    kernel k - 2 (it may take k's entries and then closes; window 3 only) and in the run kernel k - 1 left
    open (k's entries may join it; window >= 2). A kernel's entries fill the open runs first (t1, t2 of
    them), then make full runs and at most one partly filled run of its own, the next open one."""
    if p < 1 or any(v < 0 for v in m) or window not in (1, 2, 3):
        raise ValueError(
            f"a chain needs P >= 1, entry counts >= 0 and a window of 1 to 3, got {p}, {m}, {window}"
        )
    # layers[k][(a, b)] = ((runs, pieces), previous state, t1, t2)
    Choice = tuple[tuple[int, int], tuple[int, int], int, int]
    layers: list[dict[tuple[int, int], Choice]] = [{(0, 0): ((0, 0), (0, 0), 0, 0)}]
    for mk in m:
        nxt: dict[tuple[int, int], Choice] = {}
        for (a, b), (cost, _, _, _) in layers[-1].items():
            for t1 in range(min(p - a, mk) + 1) if a else (0,):
                for t2 in range(min(p - b, mk - t1) + 1) if b else (0,):
                    full, rem = divmod(mk - t1 - t2, p)
                    keep = b + t2 if window == 3 and b and b + t2 < p else 0  # k - 1's run stays open
                    state = (keep, rem if window > 1 else 0)
                    new = (cost[0] + full + (rem > 0), cost[1] + (t1 > 0) + (t2 > 0))
                    if state not in nxt or new < nxt[state][0]:
                        nxt[state] = (new, (a, b), t1, t2)
        layers.append(nxt)
    state = min(layers[-1], key=lambda st: layers[-1][st][0])
    moves = []
    for k in range(len(m), 0, -1):
        _, prev, t1, t2 = layers[k][state]
        moves.append((t1, t2))
        state = prev
    moves.reverse()
    runs: list[list[tuple[int, int]]] = []
    run_a: list[tuple[int, int]] | None = None  # open since kernel k - 2
    run_b: list[tuple[int, int]] | None = None  # open since kernel k - 1
    for k, (mk, (t1, t2)) in enumerate(zip(m, moves, strict=True)):
        if t1:
            assert run_a is not None
            run_a.append((k, t1))
        if t2:
            assert run_b is not None
            run_b.append((k, t2))
        full, rem = divmod(mk - t1 - t2, p)
        runs.extend([(k, p)] for _ in range(full))
        run_a = run_b if window == 3 and run_b is not None and sum(n for _, n in run_b) < p else None
        run_b = [(k, rem)] if rem else None
        if run_b:
            runs.append(run_b)
    return tuple(tuple(r) for r in runs)


#: one piece of a planned run: (owner, its first kernel row, entries, kernel column): rows first ..
#: first + entries - 1 of that column of the owner's kernel
Piece = tuple[Group, int, int, int]
#: one planned run: (its round's index in the barrier's stretch, its pieces)
Run = tuple[int, tuple[Piece, ...]]


def _plan(rounds: list[cs.Round], grid: cs.Grid, window: int) -> dict[Owners, list[Run]]:
    """A barrier's runs by class: per round, group column and kept column offset, the chain of the group
    column's kernels cut by :func:`chain_runs` (runs spanning at most ``window`` kernels; 1: each kernel
    column on its own, as ``csb_schedule``'s runs)."""
    out: dict[Owners, list[Run]] = {}
    for ri, r in enumerate(rounds):
        rank = {g: {c: e for e, c in enumerate(cols)} for g, cols in r.columns.items()}
        for l in range(grid.l):  # noqa: E741
            col = [(k, l) for k in range(grid.k)]
            present = [g for g in col if g in rank]
            for c in sorted({c for g in present for c in rank[g]}):
                m = tuple(r.sizes[g][0] if g in rank and c in rank[g] else 0 for g in col)
                used = [0] * grid.k  # rows of each kernel's column c handed out so far
                for run in chain_runs(m, grid.p, window):
                    pieces = []
                    for k, n in run:
                        g = col[k]
                        pieces.append((g, used[k], n, rank[g][c]))
                        used[k] += n
                    out.setdefault(tuple(pc[0] for pc in pieces), []).append((ri, tuple(pieces)))
    return out


def _executors(owners: Owners, grid: cs.Grid, mode: str) -> list[Group]:
    """Where a class's runs may go: one owner's to itself and the neighbours the mode allows; a run of
    kernels of two adjacent group rows to either of them, of rows k - 1 .. k + 1 to row k (the only row
    whose banks reach both)."""
    if len(owners) == 1:
        (g,) = owners
        return [g] + [h for a, h in grid.links(mode) if a == g]
    lo, hi, col = owners[0][0], owners[-1][0], owners[0][1]
    if hi - lo == 1:
        return [(lo, col), (hi, col)]
    if hi - lo == 2:
        return [(lo + 1, col)]
    raise RuntimeError(f"a run of the kernels of groups {owners} spans more than {WINDOW} group rows")


def _fits(supply: dict[Owners, int], execs: dict[Owners, list[Group]], groups: list[Group], cap: int) -> bool:
    """Whether every run fits with at most ``cap`` runs per group: the maximum flow of source -> class
    (its runs) -> executor -> sink (``cap``) carries them all (Dinic, ``scipy.sparse.csgraph``)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    classes = list(supply)
    nc, ng = len(classes), len(groups)
    at = {g: 1 + nc + i for i, g in enumerate(groups)}
    rows, cols, caps = [], [], []
    for i, o in enumerate(classes):
        rows.append(0)
        cols.append(1 + i)
        caps.append(supply[o])
        for h in execs[o]:
            rows.append(1 + i)
            cols.append(at[h])
            caps.append(supply[o])
    for g in groups:
        rows.append(at[g])
        cols.append(1 + nc + ng)
        caps.append(cap)
    n = nc + ng + 2
    net = csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)), shape=(n, n))
    return maximum_flow(net, 0, n - 1).flow_value == sum(supply.values())


def _assign(
    supply: dict[Owners, int], execs: dict[Owners, list[Group]], grid: cs.Grid
) -> tuple[dict[tuple[Owners, Group], int], int]:
    """The fewest clocks T (bisection on :func:`_fits`, Q runs per clock) and, within T Q runs per group, the
    assignment that keeps the most runs on an owner (a transportation LP: integral at the vertex HiGHS's
    dual simplex returns; ``milp`` should it not be)."""
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    groups = grid.groups()
    q = grid.q
    total = sum(supply.values())
    if not total:
        return {}, 0
    home: dict[Group, int] = {}  # every class on its first executor: feasible, an upper bound
    for o, v in supply.items():
        home[execs[o][0]] = home.get(execs[o][0], 0) + v
    lo, hi = -(-total // (len(groups) * q)), -(-max(home.values()) // q)
    while lo < hi:
        mid = (lo + hi) // 2
        if _fits(supply, execs, groups, mid * q):
            hi = mid
        else:
            lo = mid + 1
    edges = [(o, h) for o in supply for h in execs[o]]
    at = {g: i for i, g in enumerate(groups)}
    cls = {o: i for i, o in enumerate(supply)}
    a_eq = np.zeros((len(supply), len(edges)))
    a_ub = np.zeros((len(groups), len(edges)))
    for i, (o, h) in enumerate(edges):
        a_eq[cls[o], i] = 1
        a_ub[at[h], i] = 1
    cost = np.array([0.0 if h in o else 1.0 for o, h in edges])
    b_eq = np.array([supply[o] for o in supply], dtype=float)
    b_ub = np.full(len(groups), float(lo * q))
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs-ds")
    if res.success and not np.allclose(res.x, np.round(res.x), rtol=0, atol=1e-6):
        res = milp(
            cost,
            constraints=[LinearConstraint(a_ub, -np.inf, b_ub), LinearConstraint(a_eq, b_eq, b_eq)],
            integrality=np.ones(len(edges)),
            bounds=Bounds(0, np.inf),
        )
    if not res.success:
        raise RuntimeError(
            f"no assignment keeps every group within {lo * q} runs although a maximum flow did"
        )
    return {e: round(v) for e, v in zip(edges, res.x, strict=True) if round(v) > 0}, lo


def _parts(
    plan: dict[Owners, list[Run]], flows: dict[tuple[Owners, Group], int], n_rounds: int
) -> list[list[cs.Part]]:
    """Per round of the stretch, the parts the assignment makes: a one-kernel class's runs in order,
    horizontal executors taking them from the end, vertical ones from the start, the owner the middle (as
    ``csb_schedule``); a class of several kernels' runs in order to its executors."""
    take: dict[tuple[int, Group, Group], list[Piece]] = {}
    for owners, runs in plan.items():
        got = {h: v for (o, h), v in flows.items() if o == owners}
        if len(owners) == 1:
            g = owners[0]
            lo, hi = 0, len(runs)
            order: list[tuple[Group, list[Run]]] = []
            for h, v in sorted(got.items()):
                if h == g:
                    continue
                if cs.direction(g, h) == "horizontal":
                    order.append((h, runs[hi - v : hi]))
                    hi -= v
                else:
                    order.append((h, runs[lo : lo + v]))
                    lo += v
            order.append((g, runs[lo:hi]))
        else:
            order, pos = [], 0
            for h in sorted(got):
                order.append((h, runs[pos : pos + got[h]]))
                pos += got[h]
        if sum(len(r) for _, r in order) != len(runs):
            raise RuntimeError(
                f"class {owners}: the assignment places {sum(got.values())} of {len(runs)} runs"
            )
        for h, rs in order:
            for ri, pieces in rs:
                for pc in pieces:
                    take.setdefault((ri, pc[0], h), []).append(pc)
    out: list[list[cs.Part]] = [[] for _ in range(n_rounds)]
    for (ri, owner, h), pcs in sorted(take.items()):
        first, size, col = (np.array([pc[i] for pc in pcs], dtype=np.int64) for i in (1, 2, 3))
        ends = np.cumsum(size)
        rows = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - size - first, size)
        entries = np.stack([rows, np.repeat(col, size)], axis=1)
        out[ri].append(cs.Part(owner, h, cs.direction(owner, h), entries))
    return out


def _clocks(rounds: list[cs.Round], parts: list[list[cs.Part]], grid: cs.Grid) -> int:
    """Clocks of a stretch as ``csb_program.build`` packs a merged schedule: per group, its entries by input
    neuron (block column, kept column offset), ceil(entries / P) runs each, Q runs per clock."""
    keys: dict[Group, list[npt.NDArray[np.int64]]] = {g: [] for g in grid.groups()}
    for r, ps in zip(rounds, parts, strict=True):
        for part in ps:
            bj = r.blocks[part.owner][1]
            offsets = np.asarray(r.columns[part.owner], dtype=np.int64)[part.entries[:, 1]]
            keys[part.helper].append(bj * (1 << 20) + offsets)
    clocks = 0
    for ks in keys.values():
        if ks:
            _, n = np.unique(np.concatenate(ks), return_counts=True)
            clocks = max(clocks, -(-int((-(-n // grid.p)).sum()) // grid.q))
    return clocks


def _stretch(rounds: list[cs.Round], grid: cs.Grid, mode: str) -> tuple[list[list[cs.Part]], int]:
    """The parts and clocks of one barrier's stretch: runs spanning up to three, two and one kernels (the
    first two only in modes with vertical sharing), whichever takes fewest clocks (ties: the wider)."""
    best: tuple[list[list[cs.Part]], int] | None = None
    floor = 0  # no program takes fewer: the widest window's runs (the fewest) spread over all PE columns
    for window in range(WINDOW, 0, -1) if mode in ("vertical", "both") else (1,):
        plan = _plan(rounds, grid, window)
        supply = {o: len(rs) for o, rs in plan.items()}
        if window == WINDOW:
            floor = -(-sum(supply.values()) // (len(grid.groups()) * grid.q))
        execs = {o: _executors(o, grid, mode) for o in plan}
        flows, _ = _assign(supply, execs, grid)
        parts = _parts(plan, flows, len(rounds))
        clocks = _clocks(rounds, parts, grid)
        if best is None or clocks < best[1]:
            best = (parts, clocks)
        if best[1] <= floor:
            break
    assert best is not None
    return best


def compile_matrix(
    counts: npt.ArrayLike,
    columns: npt.ArrayLike,
    grid: cs.Grid,
    mode: str = "both",
    method: str = "flow",
    scope: str = "round",
) -> cs.Schedule:
    """Schedule a matrix (kernel counts (G, BR, BC, 2), kept-column masks (G, BR, BC, M), e.g.
    ``CSBMatrix.counts`` and :func:`kept_columns`) in merged runs (see the module docstring), balanced per
    round or per tile row (``scope``) by the exact max-flow (``method`` "flow", the only one here)."""
    if method != "flow":
        raise ValueError(f"merged runs are balanced by max flow ('flow'), not {method!r}")
    if scope not in cs.SCOPES:
        raise ValueError(f"balancing scope must be one of {', '.join(cs.SCOPES)}, got {scope!r}")
    grid.links(mode)  # validates the mode
    rounds = cs.tiles(counts, grid, columns)
    stretches = [[r] for r in rounds]
    if scope == "tile_row":
        by_row: dict[int, list[cs.Round]] = {}
        for r in rounds:
            by_row.setdefault(r.tile[0], []).append(r)
        stretches = list(by_row.values())
    t0 = time.perf_counter()
    tile_rows, first = [], 0
    for stretch in stretches:
        parts, clocks = _stretch(stretch, grid, mode)
        for r, ps in zip(stretch, parts, strict=True):
            r.parts = ps
            r.flows = {}
            for part in ps:
                if part.kind != "local":
                    key = (part.owner, part.helper)
                    r.flows[key] = r.flows.get(key, 0) + len(part.entries)  # entries, in a merged schedule
        if scope == "round":
            stretch[0].cycles = clocks
        else:
            tile_rows.append(cs.TileRow(first, len(stretch), clocks))
        first += len(stretch)
    solve = time.perf_counter() - t0
    return cs.Schedule(grid, mode, method, rounds, solve, scope, tile_rows, cs.MERGED)


def compile_matrices(
    counts: list[npt.ArrayLike],
    columns: list[npt.ArrayLike],
    grid: cs.Grid,
    mode: str = "both",
    method: str = "flow",
    scope: str = "round",
) -> cs.Schedule:
    """Several matrices one after the other (the rounds of each)."""
    if not counts or len(counts) != len(columns):
        raise ValueError(f"{len(counts)} matrices' counts and {len(columns)} kept-column masks")
    out = compile_matrix(counts[0], columns[0], grid, mode, method, scope)
    for c, k in zip(counts[1:], columns[1:], strict=True):
        out = out.merge(compile_matrix(c, k, grid, mode, method, scope))
    return out


def barrier_runs(
    counts: npt.ArrayLike, columns: npt.ArrayLike, grid: cs.Grid, scope: str = "round"
) -> list[int]:
    """A matrix's runs between each two barriers when every chain is cut by :func:`chain_runs` (what merging
    saves before any balancing: the merged runs' fill)."""
    rounds = cs.tiles(counts, grid, columns)
    per: dict[tuple[int, ...], int] = {}
    for r in rounds:
        key = r.tile if scope == "round" else (r.tile[0],)
        per[key] = per.get(key, 0) + sum(len(rs) for rs in _plan([r], grid, WINDOW).values())
    return list(per.values())
