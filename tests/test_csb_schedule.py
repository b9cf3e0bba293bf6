"""The CSB workload-balancing compiler (ernn/export/csb_schedule.py): every kernel entry exactly once, parts
only on the owner or a neighbour in the allowed directions, the z3 bisection reaching the optimum, the
greedy baseline and the unshared schedule no better, and a broken schedule refused by name."""

import dataclasses
import math

import numpy as np
import pytest

from ernn.export import csb_schedule as cs


def random_counts(rng, gates=2, block_rows=5, block_cols=7, block=8):
    """Kernel sizes of random CSB blocks, empty blocks included."""
    m = rng.integers(0, block + 1, size=(gates, block_rows, block_cols))
    n = np.where(m > 0, rng.integers(1, block + 1, size=m.shape), 0)
    return np.stack((m, n), axis=-1)


@pytest.mark.parametrize("mode", cs.MODES)
@pytest.mark.parametrize("method", cs.METHODS)
def test_schedule_covers_every_entry_once_on_the_grid(mode, method):
    rng = np.random.default_rng(3)
    counts = [random_counts(rng), random_counts(rng, gates=1, block_rows=3, block_cols=2)]
    grid = cs.Grid(2, 3, 2, 2)
    sched = cs.compile_matrices(counts, grid, mode, method)
    cs.check_schedule(sched, counts)
    # rounds: ceil(10 / 2) * ceil(7 / 3) + ceil(3 / 2) * ceil(2 / 3)
    assert len(sched.rounds) == 5 * 3 + 2 * 1
    macs = sum(int((c[..., 0] * c[..., 1]).sum()) for c in counts)
    assert sched.macs == macs
    assert sched.utilization == pytest.approx(macs / (grid.pes * sched.cycles))
    for r in sched.rounds:
        assert r.cycles == max(math.ceil(v / grid.group_pes) for v in r.loads(grid).values())
        for part in r.parts:
            kind = cs.direction(part.owner, part.helper)
            if mode == "none":
                assert kind == "local"
            elif mode != "both":
                assert kind in ("local", mode)


def test_z3_reaches_the_optimum_and_beats_the_others():
    rng = np.random.default_rng(11)
    counts = random_counts(rng, gates=4, block_rows=4, block_cols=8, block=16)
    grid = cs.Grid(4, 4, 2, 2)
    z3s = {mode: cs.compile_matrix(counts, grid, mode, "z3") for mode in cs.MODES}
    greedy = {mode: cs.compile_matrix(counts, grid, mode, "greedy") for mode in cs.MODES[1:]}
    for mode in cs.MODES[1:]:
        assert z3s[mode].cycles <= greedy[mode].cycles <= z3s["none"].cycles
        for a, b in zip(z3s[mode].rounds, z3s["none"].rounds, strict=True):
            assert max(a.loads(grid).values()) <= max(b.loads(grid).values())
    for a, h, v in zip(z3s["both"].rounds, z3s["horizontal"].rounds, z3s["vertical"].rounds, strict=True):
        assert max(a.loads(grid).values()) <= min(max(h.loads(grid).values()), max(v.loads(grid).values()))
    assert z3s["both"].utilization > z3s["none"].utilization


@pytest.mark.parametrize(
    ("grid", "work", "mode", "best"),
    [
        # two groups side by side: the pair's total split in half
        (cs.Grid(1, 2, 1, 1), {(0, 0): 101, (0, 1): 0}, "horizontal", 51),
        # a loaded corner of a 2 x 2 grid shares with its right and lower neighbours, not the diagonal one
        (cs.Grid(2, 2, 1, 1), {(0, 0): 100}, "both", 34),
        (cs.Grid(2, 2, 1, 1), {(0, 0): 100}, "vertical", 50),
        # a loaded middle group of a 1 x 3 row shares both ways
        (cs.Grid(1, 3, 1, 1), {(0, 1): 90, (0, 0): 3}, "horizontal", 31),
        (cs.Grid(1, 3, 1, 1), {(0, 1): 90, (0, 0): 3}, "vertical", 90),
    ],
)
def test_z3_optimum_on_hand_solved_rounds(grid, work, mode, best):
    flows = cs.balance_z3(work, grid, mode)
    load = {g: work.get(g, 0) for g in grid.groups()}
    for (a, b), v in flows.items():
        assert (a, b) in grid.links(mode) and 0 < v
        load[a] -= v
        load[b] += v
    assert max(load.values()) == best and min(load.values()) >= 0


def _schedule():
    rng = np.random.default_rng(5)
    counts = random_counts(rng, gates=1, block_rows=2, block_cols=3)
    counts[0, 0, 0] = (8, 8)  # a full kernel next to smaller ones: work moves
    return counts, cs.compile_matrix(counts, cs.Grid(2, 3, 2, 2), "both", "z3")


def test_a_broken_schedule_is_refused_by_name():
    counts, sched = _schedule()
    r = sched.rounds[0]
    moved = next(p for p in r.parts if p.kind != "local")
    # an entry computed twice
    dup = dataclasses.replace(moved, entries=np.concatenate((moved.entries, moved.entries[:1])))
    r.parts[r.parts.index(moved)] = dup
    with pytest.raises(
        ValueError, match=r"round 0: kernel of group \(0, 0\) \(block \(0, 0\)\): entry .* 2 times"
    ):
        cs.check_schedule(sched, [counts])
    # an entry missing
    r.parts[r.parts.index(dup)] = dataclasses.replace(moved, entries=moved.entries[1:])
    with pytest.raises(ValueError, match="computed 0 times"):
        cs.check_schedule(sched, [counts])
    # a part on a group that is not a neighbour
    counts, sched = _schedule()
    r = sched.rounds[0]
    moved = next(p for p in r.parts if p.kind != "local")
    far = dataclasses.replace(moved, helper=(1, 2), kind="horizontal")
    r.parts[r.parts.index(moved)] = far
    with pytest.raises(ValueError, match=r"not neighbours|does not allow"):
        cs.check_schedule(sched, [counts])
    # a horizontal part in a vertical-only schedule
    counts, sched = _schedule()
    sched.mode = "vertical"
    assert any(p.kind == "horizontal" for r in sched.rounds for p in r.parts)
    with pytest.raises(ValueError, match="which mode 'vertical' does not allow"):
        cs.check_schedule(sched, [counts])
    # too few cycles
    counts, sched = _schedule()
    sched.rounds[0].cycles -= 1
    with pytest.raises(ValueError, match="round 0: .* cycles do not cover a load"):
        cs.check_schedule(sched, [counts])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="grid Q must be an integer >= 1"):
        cs.Grid(2, 2, 2, 0)
    with pytest.raises(ValueError, match="sharing mode must be one of none, horizontal, vertical, both"):
        cs.compile_matrix(np.zeros((1, 1, 1, 2), dtype=int), cs.Grid(1, 1, 1, 1), "diagonal")
    with pytest.raises(ValueError, match="balancing method must be one of z3, greedy"):
        cs.compile_matrix(np.zeros((1, 1, 1, 2), dtype=int), cs.Grid(1, 1, 1, 1), "both", "lp")
    with pytest.raises(ValueError, match=r"kernel counts must be \(G, BR, BC, 2\)"):
        cs.block_grid(np.zeros((2, 2)))
