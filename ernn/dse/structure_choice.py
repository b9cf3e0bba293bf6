"""Phase II across structures: block-circulant (k, P) against CSB (block, rate, K x L x P x Q, sharing mode)
for one model on one device, and the structure and parallelism to build.

For a model (a shape, Phase I's choice or an exported model) each requested structure gets a *variant* of
the same cell, sizes and layers (:func:`variants`): the model's own structure as it is, the other one at a
matching compression unless given (block-circulant at the power-of-two k nearest the CSB compression; CSB at
``--csb-block`` and the prune rate 1 - 1/compression of the circulant model). Every variant is costed over its
candidates, block-circulant by :mod:`ernn.dse.cost_model` per P (:func:`ernn.dse.phase2.sweep`), CSB by
:mod:`ernn.dse.csb_cost` per grid and sharing mode (:func:`sweep_csb`), and :func:`choose` picks among all rows:

* the rows that fit (every resource within ``budget`` of the device) and meet the latency target: the
  **smallest** one (lowest largest utilisation of any resource; faster on ties);
* none meets the target: the **fastest** that fits;
* none fits: a ValueError naming, per structure, its smallest point and the resource that does not fit.

Accuracy is not modelled: where training runs of the structures exist (``--hw-runs``: run directories or
their ``metrics.json``), the report gives each run's structure, compression and test accuracy next to the
hardware rows (:func:`run_accuracies`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ernn.dse import cost_model, csb_cost
from ernn.dse import phase2 as dse_hw
from ernn.export import csb_schedule as cs
from ernn.fpga import open_flow as fpga
from ernn.golden.formats import NumericsConfig
from ernn.shape import ModelShape
from ernn.shape.structures import CSB, BlockCirculant

STRUCTURES = ("circulant", "csb")
#: CSB grids swept by default: the paper's 8 x 4 groups of 4 x 4 (512 PEs) and its halvings and doublings
DEFAULT_CSB_GRIDS = (
    (2, 2, 2, 2),
    (4, 2, 2, 2),
    (4, 4, 2, 2),
    (4, 2, 4, 4),
    (4, 4, 4, 4),
    (8, 4, 4, 4),
    (8, 8, 4, 4),
    (16, 8, 4, 4),
)
DEFAULT_CSB_MODES = ("none", "both")


def compression(shape: ModelShape) -> float:
    """Dense weights / stored weights of a shape's matrices (CSB: at its target rate)."""
    s = shape.structure
    if isinstance(s, CSB):
        return 1.0 / (1.0 - s.prune_rate)
    dense = stored = 0
    for _, gates, rows, cols in csb_cost.matrix_shapes(shape):
        dense += gates * rows * cols
        stored += gates * s.stored_weights(rows, cols)
    return dense / stored


def variants(
    shape: ModelShape,
    structures: list[str],
    *,
    csb_block: int | None = None,
    csb_rate: float | None = None,
    block_size: int | None = None,
) -> dict[str, ModelShape]:
    """The model as each structure (see the module doc)."""
    bad = [s for s in structures if s not in STRUCTURES]
    if bad or not structures:
        raise ValueError(f"--hw-structures must name some of {', '.join(STRUCTURES)}, got {structures}")
    own = shape.structure.name
    if own not in STRUCTURES:
        raise ValueError(f"Phase II has no cost model for {shape.structure.describe()}")
    ratio = compression(shape)
    out = {}
    for name in structures:
        if name == "circulant":
            if own == "circulant" and not block_size:
                out[name] = shape
            else:
                out[name] = _with(shape, BlockCirculant(block_size or 2 ** max(0, round(math.log2(ratio)))))
        else:
            base = shape.structure if isinstance(shape.structure, CSB) else None
            block = csb_block or (base.block if base else min(32, shape.hidden_size))
            rate = csb_rate if csb_rate is not None else (base.prune_rate if base else 1.0 - 1.0 / ratio)
            out[name] = _with(shape, CSB(block, rate))
    return out


def _with(shape: ModelShape, structure) -> ModelShape:
    return ModelShape(
        cell=shape.cell,
        input_size=shape.input_size,
        hidden_size=shape.hidden_size,
        proj_size=shape.proj_size,
        num_layers=shape.num_layers,
        peephole=shape.peephole,
        structure=structure,
    )


def _fit_rows(rows: list[dict[str, Any]], cap: dict[str, Any]) -> None:
    for r in rows:
        r["utilisation_percent"] = {q: 100.0 * r["used"][q] / cap[q] for q in cost_model.RESOURCES}


def sweep_csb(
    shape: ModelShape,
    numerics: NumericsConfig,
    grids: list[tuple[int, int, int, int]],
    modes: list[str],
    *,
    method: str = "z3",
    device: str = "xcku060",
    clock_mhz: float = 200.0,
    coeffs: dict[str, Any] | None = None,
    counts: tuple[np.ndarray, ...] | None = None,
    columns: tuple[np.ndarray, ...] | None = None,
) -> list[dict[str, Any]]:
    """One row per (grid, sharing mode): cycles (the compiler's, plus overheads), latency, resources; the
    model's kernel ``counts`` and kept ``columns`` when given (``csb_cost.model_kernels``)."""
    if device not in fpga.DEVICES:
        raise ValueError(f"device must be one of {', '.join(fpga.DEVICES)}, got {device!r}")
    if clock_mhz <= 0:
        raise ValueError(f"clock_mhz must be positive, got {clock_mhz}")
    if not grids or not modes:
        raise ValueError("no CSB grids or sharing modes to sweep")
    cap = fpga.DEVICES[device]
    coeffs = coeffs or csb_cost.load_coefficients()
    rows = []
    for g in grids:
        grid = cs.Grid(*g)
        for mode in modes:
            c = csb_cost.HwConfig.build(
                shape, numerics, grid.pes, grid=grid, mode=mode, method=method, counts=counts, columns=columns
            )
            est = csb_cost.estimate(c, coeffs, cap["family"])
            rows.append(
                {
                    "structure": "csb",
                    "label": c.label,
                    "short": f"{g[0]}x{g[1]}x{g[2]}x{g[3]} {mode}",
                    "grid": list(g),
                    "mode": mode,
                    "lanes": grid.pes,
                    "cycles_per_step": est.cycles_per_step,
                    "ideal_cycles": est.ideal_cycles,
                    "mac_cycles": est.mac_cycles,
                    "mac_utilization": est.utilization,
                    "macs": est.complex_macs,
                    "latency_us": est.cycles_per_step / clock_mhz,
                    "used": est.used,
                    "blocks": est.blocks,
                }
            )
    _fit_rows(rows, cap)
    return rows


def circulant_rows(
    shape: ModelShape, data_bits: int, lanes: list[int] | None, device: str, clock_mhz: float
) -> list[dict[str, Any]]:
    base = dse_hw.config_for_shape(shape, 1, data_bits=data_bits)
    rows = dse_hw.sweep(
        base, lanes or dse_hw.default_lane_candidates(bins=base.bins), device=device, clock_mhz=clock_mhz
    )
    for r in rows:
        r["structure"] = "circulant"
        r["label"] = f"k {shape.block_size}, P = {r['lanes']}"
        r["short"] = f"k{shape.block_size} P={r['lanes']}"
    return rows


def mark_pareto(rows: list[dict[str, Any]]) -> None:
    """Pareto flags over (latency, DSP, LUT) across every structure's rows."""

    def key(r: dict[str, Any]) -> tuple[float, float, float]:
        return (r["latency_us"], r["used"]["dsp"], r["used"]["lut"])

    for r in rows:
        r["pareto"] = not any(
            all(a <= b for a, b in zip(key(o), key(r), strict=True)) and key(o) != key(r) for o in rows
        )


def choose(
    rows: list[dict[str, Any]], target_latency_us: float | None, budget: float, device: str
) -> dict[str, Any]:
    """The smallest row that fits and meets the target, else the fastest that fits (module doc)."""
    if not 0 < budget <= 1:
        raise ValueError(f"budget must be in (0, 1], got {budget}")
    limit = 100.0 * budget

    def worst(r: dict[str, Any]) -> tuple[str, float]:
        q = max(r["utilisation_percent"], key=r["utilisation_percent"].get)
        return q, r["utilisation_percent"][q]

    fits = [r for r in rows if worst(r)[1] <= limit]
    if not fits:
        name = fpga.DEVICES[device]["name"]
        parts = []
        for s in dict.fromkeys(r["structure"] for r in rows):
            smallest = min((r for r in rows if r["structure"] == s), key=lambda r: worst(r)[1])
            q, pct = worst(smallest)
            parts.append(f"{s} {smallest['label']} needs {pct:.0f} % of the {q.upper()}s")
        raise ValueError(
            f"no configuration fits the {name} within {budget:.0%} of each resource: " + "; ".join(parts)
        )
    meets = [r for r in fits if target_latency_us is not None and r["latency_us"] <= target_latency_us]
    if meets:
        chosen = min(meets, key=lambda r: (worst(r)[1], r["latency_us"]))
        reason = "smallest (lowest largest utilisation) that meets the latency target and fits"
    else:
        chosen = min(fits, key=lambda r: (r["latency_us"], worst(r)[1]))
        reason = "fastest that fits" + (
            "" if target_latency_us is None else " (none meets the latency target)"
        )
    return {**chosen, "reason": reason, "budget": budget, "target_latency_us": target_latency_us}


def run_accuracies(paths: list[str]) -> list[dict[str, Any]]:
    """Structure, compression and test accuracy of training runs (run directories or metrics.json)."""
    out = []
    for p in paths:
        path = Path(p)
        run = path if path.is_dir() else path.parent
        metrics_file, config_file = run / "metrics.json", run / "config.json"
        if not metrics_file.is_file() or not config_file.is_file():
            raise ValueError(f"--hw-runs {p}: not a training run (needs metrics.json and config.json)")
        metrics = json.loads(metrics_file.read_text())
        model = json.loads(config_file.read_text()).get("model", {})
        shape = ModelShape.from_dict(model, where=f"--hw-runs {p}")
        out.append(
            {
                "run": str(run),
                "structure": shape.structure.name,
                "describe": shape.structure.describe(),
                "cell": shape.cell,
                "hidden_size": shape.hidden_size,
                "compression_ratio": metrics.get("compression_ratio"),
                "test_accuracy": metrics.get("test_accuracy"),
            }
        )
    return out


def report_markdown(section: dict[str, Any]) -> str:
    """The cross-structure section of report.md."""
    dev = fpga.DEVICES[section["device"]]
    lines = [
        f"## Phase II across structures: {section['shape_name']} on the {dev['name']} at "
        f"{section['clock_mhz']:g} MHz",
        "",
    ]
    for name, shape in section["variants"].items():
        described = ModelShape.from_dict(shape).structure.describe()
        lines.append(f"- {name}: {described} (compression {section['compression'][name]:.2f}x)")
    lines += [
        "",
        "Cost models: block-circulant `ernn.dse.cost_model`; CSB `ernn.dse.csb_cost` (cycles: the CSB unit's "
        "array clocks per job from the balancing compiler's programs, plus fixed clocks fitted to the RTL; "
        "resources: the group array's parts as the RTL sizes them, priced at what Yosys built for them, "
        "LUT counting LUT RAM; `ernn.dse.csb_array_cost`, docs/dse.md).",
        "",
        "| structure | configuration | PEs / lanes | cycles/step | latency (us) | LUT | FF | DSP | BRAM36 | "
        "largest use | MAC utilization | Pareto |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    chosen = section["chosen"]
    for r in section["rows"]:
        u = r["used"]
        q = max(r["utilisation_percent"], key=r["utilisation_percent"].get)
        mark = " **chosen**" if (r["structure"], r["label"]) == (chosen["structure"], chosen["label"]) else ""
        util = f"{100 * r['mac_utilization']:.1f} %" if "mac_utilization" in r else ""
        lines.append(
            f"| {r['structure']}{mark} | {r['label']} | {r['lanes']} | {r['cycles_per_step']:.0f} | "
            f"{r['latency_us']:.2f} | {u['lut']:,.0f} | {u['ff']:,.0f} | {u['dsp']:,.0f} | {u['bram36']:,.1f} | "
            f"{r['utilisation_percent'][q]:.0f} % {q.upper()} | {util} | {'yes' if r['pareto'] else ''} |"
        )
    target = chosen["target_latency_us"]
    lines += [
        "",
        f"Chosen: **{chosen['structure']}, {chosen['label']}** ({chosen['reason']}; target "
        f"{'none' if target is None else f'{target:g} us'}, budget {chosen['budget']:.0%}): "
        f"{chosen['cycles_per_step']:.0f} cycles = {chosen['latency_us']:.2f} us per step, "
        f"{chosen['used']['lut']:,.0f} LUT, {chosen['used']['dsp']:,.0f} DSP, "
        f"{chosen['used']['bram36']:,.1f} BRAM36.",
    ]
    runs = section.get("runs") or []
    if runs:
        lines += [
            "",
            "Accuracy reached by training runs of the structures (metrics.json):",
            "",
            "| run | structure | cell | hidden | compression | test accuracy (%) |",
            "|---|---|---|---|---|---|",
        ]
        for r in runs:
            ratio = "—" if r["compression_ratio"] is None else f"{r['compression_ratio']:.2f}x"
            acc = "—" if r["test_accuracy"] is None else f"{r['test_accuracy']:.2f}"
            lines.append(
                f"| {r['run']} | {r['describe']} | {r['cell'].upper()} | {r['hidden_size']} | {ratio} | "
                f"{acc} |"
            )
    return "\n".join(lines) + "\n"
