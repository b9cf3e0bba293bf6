"""What a wider block path would give: the timing model with more than one block a clock (issue 18).

``rtl/ernn_top.v`` moves one block of k values a clock through every stage between two MAC rounds: the
loads into the PE's FFT, the MAC's reads of the spectrum slots, the IFFTs (``ERNN_N_IFFT`` row blocks a
clock), the cell (k / ``CELL_LANES`` beats a block, one block a clock at most) and its writer. A step
whose MACs take a few clocks on a large P is then a latency chain in which every hidden block passes one
at a time (docs/performance.md, "A grid over the sweep's space"), and at k = 4 that costs more than 1.25
times the ideal. This prices a datapath that is not built: ``ernn.export.timing.step_timing`` with the
loads, the MAC's slot reads and the cell taking ``width`` blocks a clock (fractional clocks, rounded up
at the end), the IFFTs as given, and optionally without the controller's hand-off clocks. It patches a
copy of the model's source and fails if a patch no longer applies (the model changed: update the
patches). Prints a table and writes JSON.

    .venv/bin/python bench/whatif_block_width.py --out build/bench/whatif_block_width.json

``--grid-scan FILE`` (a ``bench_cycles.py --grid --model-scan`` JSON) adds what each of the controller's
hand-off clocks is worth: the shapes of that scan over 1.25, priced again (the exporter's design chosen
again too) with that hand-off one clock shorter, and with none at all; counts over 1.25 and the worst.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import types
from pathlib import Path

from ernn.export import schedule, timing
from ernn.files import atomic
from ernn.shape import BlockCirculant, ModelShape

#: (label, shape keywords, k, P): the worst shapes of the grid scan by family, and two near them
SHAPES = [
    ("LSTMP 3 -> 64 (8), k 4", dict(cell="lstm", input_size=3, hidden_size=64, proj_size=8), 4, 256),
    (
        "LSTMP 20 -> 33 (6, peepholes), k 4",
        dict(cell="lstm", input_size=20, hidden_size=33, proj_size=6, peephole=True),
        4,
        171,
    ),
    ("GRU 3 -> 40, k 4", dict(cell="gru", input_size=3, hidden_size=40), 4, 256),
    ("GRU 8 -> 33, k 4", dict(cell="gru", input_size=8, hidden_size=33), 4, 234),
    ("LSTM 4 -> 64, k 4", dict(cell="lstm", input_size=4, hidden_size=64), 4, 256),
]

#: (label, blocks a clock through (loads, slot reads, cell), IFFTs or None = the exporter's, hand-offs)
VARIANTS = [
    ("as built", (1, 1, 1), None, True),
    ("8 IFFTs", (1, 1, 1), 8, True),
    ("2 blocks a clock, 8 IFFTs", (2, 2, 2), 8, True),
    ("4 blocks a clock, 16 IFFTs", (4, 4, 4), 16, True),
    ("as built, no hand-off clocks", (1, 1, 1), None, False),
    ("2 blocks a clock, 8 IFFTs, no hand-off clocks", (2, 2, 2), 8, False),
    # one resource widened at a time (with 8 IFFTs): each leaves the next one-block-a-clock stage in place
    ("8 IFFTs, cell 2 blocks a clock", (1, 1, 2), 8, True),
    ("8 IFFTs, loads 2 blocks a clock", (2, 1, 1), 8, True),
    ("8 IFFTs, slot reads 2 a clock", (1, 2, 1), 8, True),
    ("8 IFFTs, loads and cell 2 a clock", (2, 1, 2), 8, True),
]

#: source patches: the block-serial resources advance by 1 / (their width) clocks per block: the loads
#: LOAD_W, the MAC's slot reads READ_W, the cell CELL_W
PATCHES = [
    ("load_free = at + 1\n", "load_free = at + 1 / LOAD_W\n"),
    ("cell_free = at + beats\n", "cell_free = at + beats / CELL_W\n"),
    ("done.append(at + beats - 1 + CELL_LATENCY", "done.append(at + beats / CELL_W - 1 + CELL_LATENCY"),
    ("clock = first + qr\n", "clock = first + qr / READ_W\n"),
    ("clock = max(clock + 1, need + 1)", "clock = max(clock + 1 / READ_W, need + 1)"),
    ("cycles = out_done[-1] - out_done[-2]", "cycles = math.ceil(out_done[-1] - out_done[-2])"),
    ("from .jobs import", "from ernn.export.jobs import"),
]


def widened_model() -> types.ModuleType:
    """A copy of ``ernn.export.timing`` with the patches applied (``LOAD_W``, ``READ_W``, ``CELL_W`` and
    ``HANDOFF`` settable; :func:`set_width` sets the three widths)."""
    source = inspect.getsource(timing)
    for old, new in PATCHES:
        if source.count(old) != 1:
            raise SystemExit(
                f"whatif_block_width: the timing model changed, this patch no longer applies: {old!r}"
            )
        source = source.replace(old, new)
    module = types.ModuleType("timing_widened")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, "timing_widened", "exec"), module.__dict__)
    return module


def set_width(
    model: types.ModuleType, loads: float, reads: float | None = None, cell: float | None = None
) -> None:
    """Blocks a clock through the loads, the MAC's slot reads and the cell of a :func:`widened_model`
    (one number: all three)."""
    model.LOAD_W = loads
    model.READ_W = loads if reads is None else reads
    model.CELL_W = loads if cell is None else cell


def handoff_sensitivity(scan_file: Path) -> dict[str, dict]:
    """Per hand-off of ``timing.HANDOFF``: the scan's shapes over the target priced with it one clock
    shorter (the exporter's design chosen again under it), and with every hand-off 0."""
    scan = json.loads(scan_file.read_text())
    over = [r for r in scan["results"] if r["predicted_ratio"] > schedule.TARGET_RATIO]
    built = dict(timing.HANDOFF)
    variants = {"as built": built}
    variants |= {f"{name} - 1": built | {name: clocks - 1} for name, clocks in built.items() if clocks > 0}
    variants["no hand-off clocks"] = dict.fromkeys(built, 0)
    out = {}
    try:
        for label, handoff in variants.items():
            timing.HANDOFF.update(handoff)  # the exporter's design (schedule.design) reads the model's
            schedule._design.cache_clear()  # designs are cached per shape: price them again under this
            ratios = []
            for r in over:
                shape = dict(r["shape"])
                k, lanes = shape.pop("block_size"), shape.pop("lanes")
                cm = schedule.cycle_model(ModelShape(structure=BlockCirculant(k), **shape), lanes)
                ratios.append(cm.predicted / cm.ideal)
            out[label] = {
                "over": sum(x > schedule.TARGET_RATIO for x in ratios),
                "of": len(over),
                "worst": max(ratios, default=0.0),
            }
    finally:
        timing.HANDOFF.update(built)
        schedule._design.cache_clear()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--grid-scan", type=Path, default=None, help="a bench_cycles.py --grid --model-scan JSON")
    args = ap.parse_args()
    if args.grid_scan is not None:
        if not args.grid_scan.is_file():
            ap.error(f"--grid-scan: no file {args.grid_scan}")
        try:
            scan = json.loads(args.grid_scan.read_text())
            valid = all("shape" in r and "predicted_ratio" in r for r in scan["results"])
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            ap.error(
                f"--grid-scan: {args.grid_scan} is not a bench_cycles.py --model-scan JSON (results with shape, predicted_ratio)"
            )
    model = widened_model()
    rows = []
    print("| shape | P | ideal | " + " | ".join(v[0] for v in VARIANTS) + " |")
    print("|---|---|---|" + "---|" * len(VARIANTS))
    for label, kw, k, lanes in SHAPES:
        info = ModelShape(num_layers=1, structure=BlockCirculant(k), **kw)
        cm = schedule.cycle_model(info, lanes)
        cells, row = [], {"shape": label, "lanes": lanes, "ideal": cm.ideal, "variants": {}}
        for name, widths, iffts, handoffs in VARIANTS:
            set_width(model, *widths)
            model.HANDOFF = dict(timing.HANDOFF) if handoffs else dict.fromkeys(timing.HANDOFF, 0)
            cycles = model.step_timing(
                info,
                lanes,
                cm.cell_lanes,
                iffts=iffts or cm.n_ifft,
                layer_skew=cm.layer_skew,
                in_first=cm.gru_in_first,
                load_ahead=cm.load_ahead,
                interleave=cm.interleave,
                gru_fused=cm.gru_fused,
                split=cm.split,
                proj_engine=cm.proj_engine,
            ).cycles
            row["variants"][name] = {"cycles": cycles, "ratio": cycles / cm.ideal}
            cells.append(f"{cycles} ({cycles / cm.ideal:.2f})")
        rows.append(row)
        print(f"| {label} | {lanes} | {cm.ideal} | " + " | ".join(cells) + " |")
    sensitivity = None
    if args.grid_scan is not None:
        sensitivity = handoff_sensitivity(args.grid_scan)
        print(f"\n| hand-offs ({args.grid_scan}: its shapes over the target) | over | of | worst |")
        print("|---|---|---|---|")
        for label, row in sensitivity.items():
            print(f"| {label} | {row['over']} | {row['of']} | {row['worst']:.3f} |")
    if args.out:
        report = {
            "handoff_sensitivity": sensitivity,
            "benchmark": "timing model what-if: blocks a clock through loads, slot reads and the cell",
            "variants": [
                dict(zip(("name", "loads_reads_cell", "iffts", "handoffs"), v, strict=True)) for v in VARIANTS
            ],
            "results": rows,
            "command": "bench/whatif_block_width.py",
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(args.out, json.dumps(report, indent=1) + "\n", force=True)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
