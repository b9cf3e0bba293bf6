"""Design-space exploration, Phase II (hardware): the PE's MAC lanes P for a chosen model on a target device.

For one model shape (the Phase I choice, a named shape such as E-RNN's SR1, or an exported model), every
candidate P is costed with :mod:`ernn.dse.cost_model` (cycles per time step, LUT, FF, DSP, BRAM36), turned
into a latency at the clock and a utilisation of the device, and

* the Pareto front of latency against resources is marked (no other P is both faster and smaller, in
  DSP and LUT);
* the chosen P is the smallest P that meets the latency target and fits the device (every resource at
  most ``budget`` of its capacity); when none meets the target, the fastest P that fits.

The cost model is checked against measured samples (Yosys estimates and Verilator cycle counts of real
exports, ``bench/bench_cost_samples.py``): :func:`check_model` gives the relative error per sample and
quantity, split into calibration points (used for fitting) and check points (not used).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import ernn.export.dsp_pack as dsp_pack_rule
from ernn.dse import cost_model
from ernn.dse.figures import save_png
from ernn.export import layout as hw_layout
from ernn.fpga import open_flow as fpga
from ernn.golden.formats import NumericsConfig
from ernn.shape import ModelShape
from ernn.shape.structures import implementation

#: Named model shapes for Phase II (export_random / random_model keyword arguments).
SHAPES: dict[str, dict[str, Any]] = {
    # E-RNN / ESE / C-LSTM's TIMIT model: 2-layer LSTM with projection and peepholes
    "sr1": {
        "cell": "lstm",
        "input_size": 153,
        "hidden_size": 1024,
        "proj_size": 512,
        "num_layers": 2,
        "peephole": True,
        "block_size": 16,
    },
    "default": {"cell": "lstm", "input_size": 12, "hidden_size": 32, "block_size": 8},
}
QUANTITIES = ("cycles", *cost_model.RESOURCES)


def default_lane_candidates(max_lanes: int = 1024, bins: int | None = None) -> list[int]:
    """Powers of two and their 1.5x neighbours from 1 to ``max_lanes``; with ``bins`` (k/2 + 1) also as
    many row blocks: P = m bins for those m. Such a P deals whole row blocks per round, which removes the
    PE gearbox's lane muxes and its bin rotation (rtl/ernn_pe.v) and can save a round per job."""
    out = set()
    p = 1
    while p <= max_lanes:
        out.add(p)
        if p >= 2 and p * 3 // 2 <= max_lanes:
            out.add(p * 3 // 2)
        p *= 2
    if bins:
        out |= {m * bins for m in out if m * bins <= max_lanes}
    return sorted(out)


def config_for_shape(
    shape: ModelShape | dict[str, Any], lanes: int, data_bits: int = 16, dsp_pack: bool = False
) -> cost_model.HwConfig:
    """The cost model's configuration of a shape: formats from the shape and ``data_bits`` alone
    (:meth:`NumericsConfig.for_shape`: weights only set fraction bits, never a width); ``dsp_pack``: the
    MAC lanes packed as ``ernn export --dsp-pack`` builds them (weight spectra narrowed to pack)."""
    if not isinstance(shape, ModelShape):
        shape = ModelShape.from_dict(shape, where="hardware shape")
    cost = implementation(shape.structure.name, "cost")  # the structure's cost model (ernn.dse.structure)
    numerics_for_shape = getattr(cost, "numerics_for_shape", NumericsConfig.for_shape)
    numerics = numerics_for_shape(shape, data_bits)
    if not dsp_pack:
        return cost.HwConfig.build(shape, numerics, lanes)
    if shape.structure.name != "circulant":
        raise ValueError(
            f"DSP packing is an option of the block-circulant PE, not of {shape.structure.describe()}"
        )
    packed = dsp_pack_rule.packed_numerics(numerics)
    return cost.HwConfig.build(shape, packed, lanes, dsp_pack_lanes=True)


def sweep(
    base: cost_model.HwConfig,
    lanes: list[int],
    *,
    device: str = "xcku060",
    clock_mhz: float = 200.0,
    coeffs: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per P: estimate, latency and device utilisation; Pareto flags over (latency, DSP, LUT)."""
    if device not in fpga.DEVICES:
        raise ValueError(f"device must be one of {', '.join(fpga.DEVICES)}, got {device!r}")
    if clock_mhz <= 0:
        raise ValueError(f"clock_mhz must be positive, got {clock_mhz}")
    if not lanes:
        raise ValueError("no P candidates to sweep")
    for p in lanes:
        hw_layout.check_lanes(p)
    cost = implementation(base.shape.structure.name, "cost")
    coeffs = coeffs or cost.load_coefficients()
    cap = fpga.DEVICES[device]
    family = cap["family"]
    rows = []
    for p in sorted(set(lanes)):
        c = cost_model.HwConfig(**{**base.__dict__, "lanes": p, "w_depth": _w_depth(base, p)})
        est = cost.estimate(c, coeffs, family)
        util = {r: 100.0 * est.used[r] / cap[r] for r in cost_model.RESOURCES}
        rows.append(
            {
                "lanes": p,
                "cycles_per_step": est.cycles_per_step,
                "ideal_cycles": est.ideal_cycles,
                "latency_us": est.cycles_per_step / clock_mhz,
                "used": est.used,
                "utilisation_percent": util,
                "blocks": est.blocks,
            }
        )
    for r in rows:
        r["pareto"] = not any(
            o is not r
            and o["latency_us"] <= r["latency_us"]
            and o["used"]["dsp"] <= r["used"]["dsp"]
            and o["used"]["lut"] <= r["used"]["lut"]
            and (o["latency_us"], o["used"]["dsp"], o["used"]["lut"])
            != (r["latency_us"], r["used"]["dsp"], r["used"]["lut"])
            for o in rows
        )
    return rows


def _w_depth(base: cost_model.HwConfig, lanes: int) -> int:
    return sum(job.words(base.bins, lanes) for job in hw_layout.all_jobs(base.shape))


def choose(
    rows: list[dict[str, Any]], target_latency_us: float | None, budget: float = 0.8
) -> dict[str, Any]:
    """The smallest P that meets the target and fits (every resource <= budget x capacity); else the
    fastest P that fits. Raises when no P fits."""
    if not 0 < budget <= 1:
        raise ValueError(f"budget must be in (0, 1], got {budget}")
    fits = [r for r in rows if all(u <= 100.0 * budget for u in r["utilisation_percent"].values())]
    if not fits:
        raise ValueError(
            f"no P in {[r['lanes'] for r in rows]} fits the device within {budget:.0%} of each resource"
        )
    meets = [r for r in fits if target_latency_us is None or r["latency_us"] <= target_latency_us]
    if meets and target_latency_us is not None:
        chosen, reason = (
            min(meets, key=lambda r: r["lanes"]),
            "smallest P that meets the latency target and fits",
        )
    else:
        chosen = min(fits, key=lambda r: (r["latency_us"], r["lanes"]))
        reason = "fastest P that fits" + (
            "" if target_latency_us is None else " (no P meets the latency target)"
        )
    return {**chosen, "reason": reason, "budget": budget, "target_latency_us": target_latency_us}


# ------------------------------------------------------------------------------------------------------
# the model against measurements
def check_model(samples: list[dict[str, Any]], coeffs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Relative error of the cost model on each measured sample (cycles and every resource)."""
    coeffs = coeffs or cost_model.load_coefficients()
    rows = []
    for s in samples:
        c = cost_model._sample_config(s)
        est = cost_model.estimate(c, coeffs, s["yosys"].get("family", "xcu"))
        measured = {
            "cycles": s["cycles_per_step"],
            **{r: s["yosys"]["used"][r] for r in cost_model.RESOURCES},
        }
        predicted = {"cycles": est.cycles_per_step, **est.used}
        # BRAM counts are small (often 0 to 7): relative to at least one BRAM36
        rel = {
            q: (predicted[q] - measured[q]) / max(measured[q], 1.0 if q == "bram36" else 1e-9)
            for q in QUANTITIES
        }
        rows.append(
            {
                "name": s["name"],
                "role": s["role"],
                "lanes": s["lanes"],
                "measured": measured,
                "predicted": predicted,
                "relative_error": rel,
            }
        )
    summary = {}
    for role in ("calibration", "check", "all"):
        pick = [r for r in rows if role == "all" or r["role"] == role]
        summary[role] = (
            {
                q: {
                    "mean_abs_percent": 100.0 * float(np.mean([abs(r["relative_error"][q]) for r in pick])),
                    "max_abs_percent": 100.0 * float(np.max([abs(r["relative_error"][q]) for r in pick])),
                }
                for q in QUANTITIES
            }
            if pick
            else {}
        )
    return {"samples": rows, "summary": summary}


# ------------------------------------------------------------------------------------------------------
# plots and report
def _log_axes(ax) -> None:
    """Log scale on both axes, labelled at 1, 2 and 5 per decade in plain numbers (matplotlib's default
    labels minor ticks on short decades in overlapping scientific notation)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    def plain(v: float, _pos: int) -> str:
        return f"{v / 1000:g}k" if v >= 10_000 else f"{v:g}"

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_minor_locator(LogLocator(subs=(3.0, 4.0, 6.0, 7.0, 8.0, 9.0)))
        axis.set_major_formatter(FuncFormatter(plain))
        axis.set_minor_formatter(FuncFormatter(lambda _v, _p: ""))


def plot_pareto(
    rows: list[dict[str, Any]], chosen: dict[str, Any], path: str | Path, title: str, *, force: bool = False
) -> None:
    """Latency vs DSP and vs LUT of every P, the Pareto front and the choice; PNG at ``path`` (all or
    nothing; an existing file is replaced only with ``force``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, res, label in ((axes[0], "dsp", "DSP slices"), (axes[1], "lut", "LUTs")):
        xs = [r["used"][res] for r in rows]
        ys = [r["latency_us"] for r in rows]
        ax.scatter(xs, ys, c=["tab:blue" if r["pareto"] else "tab:gray" for r in rows], s=18)
        front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["used"][res])
        ax.plot([r["used"][res] for r in front], [r["latency_us"] for r in front], "b-", alpha=0.4)
        for r in rows:
            ax.annotate(
                r.get("short", f"P={r['lanes']}"),
                (r["used"][res], r["latency_us"]),
                fontsize=6,
                xytext=(2, 2),
                textcoords="offset points",
            )
        ax.scatter(
            [chosen["used"][res]],
            [chosen["latency_us"]],
            marker="*",
            s=160,
            c="tab:red",
            label="chosen " + chosen.get("short", f"P={chosen['lanes']}"),
            zorder=3,
        )
        if chosen.get("target_latency_us"):
            ax.axhline(chosen["target_latency_us"], color="tab:red", ls="--", lw=0.8, label="latency target")
        _log_axes(ax)
        ax.set_xlabel(f"{label} (cost model)")
        ax.set_ylabel("latency per time step (us)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_png(fig, path, force=force)


def plot_model_check(check: dict[str, Any], path: str | Path, *, force: bool = False) -> None:
    """Cost model vs measured samples, one panel per quantity; PNG at ``path`` (as :func:`plot_pareto`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(QUANTITIES), figsize=(3.2 * len(QUANTITIES), 3.2))
    for ax, q in zip(axes, QUANTITIES, strict=True):
        for role, marker in (("calibration", "o"), ("check", "^")):
            pts = [r for r in check["samples"] if r["role"] == role and r["measured"][q] > 0]
            ax.scatter(
                [r["measured"][q] for r in pts],
                [r["predicted"][q] for r in pts],
                marker=marker,
                label=role,
                s=22,
            )
        vals = [v for r in check["samples"] for v in (r["measured"][q], r["predicted"][q]) if v > 0]
        if vals:
            lo, hi = min(vals) / 1.5, max(vals) * 1.5
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.7)
            _log_axes(ax)
        ax.set_title(q, fontsize=9)
        ax.set_xlabel("measured")
        ax.set_ylabel("cost model")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Phase II cost model vs Yosys estimates and Verilator cycles", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, force=force)


def report_markdown(
    shape_name: str,
    shape: dict[str, Any],
    rows: list[dict[str, Any]],
    chosen: dict[str, Any],
    check: dict[str, Any] | None,
    device: str,
    clock_mhz: float,
) -> str:
    dev = fpga.DEVICES[device]
    lines = [
        f"## Phase II (hardware): {shape_name} on the {dev['name']} at {clock_mhz:g} MHz",
        "",
        f"Shape: `{shape}`. Cost model: `ernn.dse.cost_model` (coefficients fitted to Yosys runs, "
        "`bench/bench_cost_samples.py --fit`).",
        "",
        "| P | cycles/step | ideal | latency (us) | LUT | FF | DSP | BRAM36 | LUT % | DSP % | BRAM % | Pareto |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        u, pct = r["used"], r["utilisation_percent"]
        mark = " **chosen**" if r["lanes"] == chosen["lanes"] else ""
        lines.append(
            f"| {r['lanes']}{mark} | {r['cycles_per_step']:.0f} | {r['ideal_cycles']} | {r['latency_us']:.2f} | "
            f"{u['lut']:,.0f} | {u['ff']:,.0f} | {u['dsp']:,.0f} | {u['bram36']:,.1f} | {pct['lut']:.1f} | "
            f"{pct['dsp']:.1f} | {pct['bram36']:.1f} | {'yes' if r['pareto'] else ''} |"
        )
    target = chosen["target_latency_us"]
    lines += [
        "",
        f"Chosen: **P = {chosen['lanes']}** ({chosen['reason']}; target "
        f"{'none' if target is None else f'{target:g} us'}, budget {chosen['budget']:.0%} of each resource): "
        f"{chosen['cycles_per_step']:.0f} cycles = {chosen['latency_us']:.2f} us per time step, "
        f"{chosen['used']['lut']:,.0f} LUT, {chosen['used']['dsp']:,.0f} DSP, {chosen['used']['bram36']:,.1f} BRAM36.",
    ]
    if check:
        lines += [
            "",
            "### Cost model vs measured",
            "",
            "| sample | role | P | cycles meas./model | LUT meas./model | FF meas./model | DSP meas./model | BRAM36 meas./model |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in check["samples"]:
            m, p = r["measured"], r["predicted"]
            cells = " | ".join(
                f"{m[q]:,.0f} / {p[q]:,.0f} ({100 * r['relative_error'][q]:+.0f} %)"
                if q != "bram36"
                else f"{m[q]:.1f} / {p[q]:.1f}"
                for q in QUANTITIES
            )
            lines.append(f"| {r['name']} | {r['role']} | {r['lanes']} | {cells} |")
        lines += [
            "",
            "| error (mean / max abs %) | " + " | ".join(QUANTITIES) + " |",
            "|---|" + "---|" * len(QUANTITIES),
        ]
        for role, s in check["summary"].items():
            if s:
                lines.append(
                    f"| {role} | "
                    + " | ".join(
                        f"{s[q]['mean_abs_percent']:.1f} / {s[q]['max_abs_percent']:.1f}" for q in QUANTITIES
                    )
                    + " |"
                )
    return "\n".join(lines) + "\n"
