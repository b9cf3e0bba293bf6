"""Stored numbers and multiplies of one TT-matrix product against the dense matvec (ernn.train.tt).

For each (rows, cols, cores, rank): the modes (ernn.shape.structures.tt_modes, padded), the ranks, the
core entries stored, the multiplies of both contraction orders (right to left and left to right,
``contraction_multiplies``, per core), the order ``tt_matvec`` takes (the cheaper one) and the ratios to the
dense matrix. Prints a table and writes JSON.

    .venv/bin/python bench/bench_tt_counts.py --out build/bench/tt_counts.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ernn.files import atomic
from ernn.shape.structures import TensorTrain
from ernn.train import tt

CASES = [
    (32, 12, 2, 4),  # JapaneseVowels GRU: W_x per gate
    (32, 32, 2, 4),  # ... W_h per gate
    (1024, 153, 4, 8),  # the SR1 hidden size: W_x per gate (TIMIT features)
    (1024, 1024, 4, 4),
    (1024, 1024, 4, 8),
    (1024, 1024, 4, 16),
    (1024, 1024, 2, 8),
    (1024, 153, 2, 8),  # the SR1 W_x in 2 cores: here right to left is the cheaper order
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/bench/tt_counts.json")
    args = ap.parse_args()
    rows = []
    print(f"{'matrix':>11s} {'cores':>5s} {'rank':>4s} {'row modes':>14s} {'col modes':>14s} {'ranks':>16s} "
          f"{'stored':>8s} {'x less':>7s} {'mult rl':>9s} {'mult lr':>9s} {'order':>5s} {'x less':>7s}")  # fmt: skip
    for r, c, d, rank in CASES:
        lay = tt.layout(r, c, TensorTrain(d, rank))
        by_order = {o: tt.contraction_multiplies(lay, order=o) for o in tt.ORDERS}
        order = tt.contraction_order(lay)
        mult = sum(by_order[order])
        row = {
            "rows": r, "cols": c, "cores": d, "rank": rank, "row_modes": lay.row_modes, "col_modes": lay.col_modes,
            "ranks": lay.ranks, "stored": lay.stored, "order": order, "multiplies": mult,
            "per_core": by_order[order], "multiplies_by_order": {o: sum(v) for o, v in by_order.items()},
            "dense": r * c,
        }  # fmt: skip
        rows.append(row)
        print(
            f"{f'{r}x{c}':>11s} {d:5d} {rank:4d} {lay.row_modes!s:>14s} {lay.col_modes!s:>14s} "
            f"{lay.ranks!s:>16s} {lay.stored:8d} {r * c / lay.stored:7.1f} {sum(by_order['rl']):9d} "
            f"{sum(by_order['lr']):9d} {order:>5s} {r * c / mult:7.2f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out, {"cases": rows}, force=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
