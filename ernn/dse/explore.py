"""``ernn dse``: the design-space exploration as one run (Phase I, then Phase II on its choice).

The CLI parses arguments into a :class:`~ernn.dse.phase1.Phase1Config` and a :class:`Phase2Request` and
calls :func:`explore`; everything else happens here:

* :func:`phase1` trains (or resumes) the sweep over seeds, summarises, selects under the accuracy budget,
  checks E-RNN's observations and draws the accuracy plot;
* :func:`phase2` takes a model (Phase I's choice, a named shape, a JSON shape or an exported model
  directory), costs every P with the structure's cost model, chooses one for the device, checks the cost
  model against the measured samples and draws the Pareto plot;
* :func:`explore` merges both into ``report.json`` and ``report.md``.

Writing (docs/reliability.md): the output folder is claimed before any work
(:func:`ernn.files.resumable.claim`, kind ``dse``): a new or empty folder, or an earlier exploration, which
is resumed (its ``points/`` are reused); a training run or a model directory is refused, and so is a folder
of the user's unless ``force`` (then the exploration is written beside the user's files, none of which it
replaces). Every file is written all or nothing (:mod:`ernn.files.atomic`), and at the end the folder's
``ernn-manifest.json`` lists every file of the exploration with its hash (:func:`~ernn.files.resumable.seal`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ernn import data
from ernn.dse import cost_model, csb_cost
from ernn.dse import phase1 as dse
from ernn.dse import phase2 as dse_hw
from ernn.dse import structure_choice as choice
from ernn.dse.phase1 import Phase1Config
from ernn.export.model_dir import ModelDirectory
from ernn.files import atomic, resumable
from ernn.fpga import open_flow as fpga
from ernn.shape import ModelShape
from ernn.shape.structures import implementation


@dataclass
class Phase2Request:
    """Phase II's question: which model, on which device, at which clock, under which budget."""

    hw_shape: str = "chosen"
    hw_model: str | None = None
    data_bits: int = 16
    device: str = "xcku060"
    clock_mhz: float = 200.0
    target_latency_us: float | None = None
    budget: float = 0.8
    lanes: list[int] | None = None
    cost_samples: str = "docs/results/cost_samples.json"
    # across structures (ernn.dse.structure_choice): None = the model's own structure, as before
    structures: list[str] | None = None
    csb_block: int | None = None
    csb_rate: float | None = None
    block_size: int | None = None  # the block-circulant variant's k (default: nearest the compression)
    csb_grids: list[tuple[int, int, int, int]] | None = None
    csb_modes: list[str] | None = None
    csb_method: str = "z3"
    runs: list[str] | None = None  # training runs whose accuracy the report lists


#: what the exploration's folder is (ernn.files.manifest kinds)
KIND = "dse"
#: the files an exploration writes besides ``points/*.json``
REPORT_FILES = (
    "report.json",
    "report.md",
    "phase1_accuracy.png",
    "phase2_pareto.png",
    "phase2_cost_model.png",
)


def own_files(out: Path) -> list[str]:
    """The exploration's files in ``out`` (relative names): its points and report files. In a claimed
    folder these names are the exploration's (:mod:`ernn.files.resumable`)."""
    names = [name for name in REPORT_FILES if (out / name).is_file()]
    points = out / "points"
    if points.is_dir():
        names += [f"points/{p.name}" for p in sorted(points.glob("*.json")) if p.is_file()]
    return names


def explore(
    out: Path,
    phase: str,
    cfg: Phase1Config,
    hw: Phase2Request,
    *,
    max_accuracy_loss: float,
    workers: int,
    engine: str,
    command: str,
    force: bool = False,
) -> dict[str, Any]:
    """``ernn dse``: Phase I and/or II into ``out`` (report.json merged with an earlier one, report.md).

    Arguments and a ``--hw-model`` are checked first; then ``out`` is claimed (refused if it is another
    kind of ernn directory, or the user's folder without ``force``), and sealed at the end.
    """
    if phase not in ("1", "2", "both"):
        raise ValueError(f"phase must be 1, 2 or both, got {phase!r}")
    model = None
    if phase in ("1", "both"):
        cfg.points()  # every configuration valid, before the folder is claimed
        if workers < 1:
            raise ValueError(f"--workers must be >= 1, got {workers}")
        if engine not in ("local", "ray"):
            raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    if phase in ("2", "both"):
        if hw.device not in fpga.DEVICES:
            raise ValueError(f"--device must be one of {', '.join(fpga.DEVICES)}, got {hw.device!r}")
        if hw.hw_model:
            model = ModelDirectory(hw.hw_model)  # verified against its manifest: a changed file is named
    out = resumable.claim(out, KIND, force=force, reserved=(*REPORT_FILES, "points"))
    report_path = out / "report.json"
    try:
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
    except ValueError as exc:
        raise ValueError(
            f"{report_path}: not valid JSON ({exc}); move it away to start a new report"
        ) from None
    if phase in ("1", "both"):
        report["phase1"] = phase1(
            cfg, out, max_accuracy_loss=max_accuracy_loss, workers=workers, engine=engine, command=command
        )
    no_choice = hw.hw_shape == "chosen" and not hw.hw_model and not report.get("phase1", {}).get("chosen")
    if phase == "both" and no_choice:
        print("phase II skipped: Phase I chose no model within --max-accuracy-loss")
        report.pop("phase2", None)  # a stale Phase II of an earlier choice would be misleading
    elif phase in ("2", "both"):
        report["phase2"] = phase2(hw, out, report.get("phase1"), command, model=model)
    atomic.write_json(report_path, report, force=True)
    atomic.write_text(out / "report.md", markdown(report), force=True)
    resumable.seal(out, KIND, own_files(out))
    print(f"report: {out / 'report.md'}")
    return report


def phase1(
    cfg: Phase1Config, out: Path, *, max_accuracy_loss: float, workers: int, engine: str, command: str
) -> dict[str, Any]:
    """Train (or resume) the sweep, summarise over seeds, select, plot; the report's ``phase1`` section."""
    cfg.check_seeds()
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    results = dse.run_phase1(cfg, out, workers=workers, engine=engine)
    rows = dse.summarise(results)
    chosen = dse.select(rows, max_accuracy_loss)
    obs = dse.observations(rows)
    dse.plot_accuracy(rows, out / "phase1_accuracy.png", max_accuracy_loss, chosen, force=True)
    if chosen:
        print(
            f"chosen: {chosen['cell'].upper()} hidden {chosen['hidden_size']} x{chosen['num_layers']} "
            f"k={chosen['block_size']}: {chosen['accuracy']:.2f} ± {chosen['accuracy_std']:.2f}% over "
            f"{chosen['n_seeds']} seeds ({chosen['accuracy_loss']:+.2f} ± {chosen['accuracy_loss_se']:.2f} vs "
            f"dense), compression {chosen['compression_ratio']:.2f}x"
        )
    else:
        print(f"no point meets --max-accuracy-loss {max_accuracy_loss} (on the mean over seeds)")
    for name, text in obs["verdicts"].items():
        print(f"observation {name}: {text}")
    return {
        "config": asdict(cfg),
        "command": command,
        "points": rows,
        "max_accuracy_loss": max_accuracy_loss,
        "selection": "most compressed point whose mean loss over seeds is within max_accuracy_loss",
        "chosen": chosen,
        "observations": obs,
    }


def phase2(
    req: Phase2Request,
    out: Path,
    phase1: dict[str, Any] | None,
    command: str,
    *,
    model: ModelDirectory | None = None,
) -> dict[str, Any]:
    """Cost every P for the requested model on the device, choose, plot; the report's ``phase2`` section.

    ``model``: ``req.hw_model`` already read (and verified), if the caller has it."""
    if req.device not in fpga.DEVICES:
        raise ValueError(f"--device must be one of {', '.join(fpga.DEVICES)}, got {req.device!r}")
    model_shape = (model or ModelDirectory(req.hw_model)).shape if req.hw_model else None
    if req.structures or (model_shape or _request_shape(req, phase1)).structure.name != "circulant":
        return phase2_structures(req, out, phase1, command, model=model)
    if req.hw_model:
        md = model or ModelDirectory(req.hw_model)
        base = implementation(md.shape.structure.name, "cost").HwConfig.build(md.shape, md.numerics, 1)
        shape_name, shape = f"model {req.hw_model}", {"model_dir": str(req.hw_model)}
    else:
        shape_name, shape = hardware_shape(req.hw_shape, phase1)
        base = dse_hw.config_for_shape(shape, 1, data_bits=req.data_bits)
    lanes = req.lanes or dse_hw.default_lane_candidates(bins=base.bins)
    coeffs = cost_model.load_coefficients()
    rows = dse_hw.sweep(base, lanes, device=req.device, clock_mhz=req.clock_mhz, coeffs=coeffs)
    chosen = dse_hw.choose(rows, req.target_latency_us, req.budget)
    out.mkdir(parents=True, exist_ok=True)
    check = None
    samples_path = Path(req.cost_samples)
    if samples_path.is_file():
        check = dse_hw.check_model(list(json.loads(samples_path.read_text())["samples"].values()), coeffs)
        dse_hw.plot_model_check(check, out / "phase2_cost_model.png", force=True)
    dev = fpga.DEVICES[req.device]["name"]
    dse_hw.plot_pareto(
        rows,
        chosen,
        out / "phase2_pareto.png",
        f"{shape_name} on the {dev} at {req.clock_mhz:g} MHz",
        force=True,
    )
    print(
        f"phase II: {shape_name} on the {dev}: P = {chosen['lanes']} ({chosen['reason']}): "
        f"{chosen['cycles_per_step']:.0f} cycles = {chosen['latency_us']:.2f} us per step, "
        f"{chosen['used']['lut']:,.0f} LUT, {chosen['used']['dsp']:,.0f} DSP, {chosen['used']['bram36']:,.1f} BRAM36"
    )
    if check:
        err = check["summary"]["all"]
        print(
            "cost model vs measured (mean / max abs %): "
            + ", ".join(
                f"{q} {err[q]['mean_abs_percent']:.1f} / {err[q]['max_abs_percent']:.1f}" for q in err
            )
        )
    return {
        "command": command,
        "shape_name": shape_name,
        "shape": shape,
        "device": req.device,
        "clock_mhz": req.clock_mhz,
        "rows": rows,
        "chosen": chosen,
        "check": check,
        "coefficients": str(cost_model.COEFFICIENTS_FILE.name),
    }


def _request_shape(req: Phase2Request, phase1: dict[str, Any] | None) -> ModelShape:
    return ModelShape.from_dict(hardware_shape(req.hw_shape, phase1)[1], where="--hw-shape")


def phase2_structures(
    req: Phase2Request,
    out: Path,
    phase1: dict[str, Any] | None,
    command: str,
    *,
    model: ModelDirectory | None = None,
) -> dict[str, Any]:
    """Phase II across structures (:mod:`ernn.dse.structure_choice`): the report's ``phase2`` section with
    ``structures`` set."""
    kernels = None
    if req.hw_model:
        md = model or ModelDirectory(req.hw_model)
        shape, numerics = md.shape, md.numerics
        shape_name, shape_dict = f"model {req.hw_model}", {"model_dir": str(req.hw_model)}
        if shape.structure.name == "csb":
            kernels = _model_kernels(req.hw_model)
    else:
        shape_name, shape_dict = hardware_shape(req.hw_shape, phase1)
        shape = ModelShape.from_dict(shape_dict, where="--hw-shape")
        numerics = None
    names = req.structures or [shape.structure.name]
    var = choice.variants(
        shape, names, csb_block=req.csb_block, csb_rate=req.csb_rate, block_size=req.block_size
    )
    rows: list[dict[str, Any]] = []
    for name, v in var.items():
        if name == "circulant":
            rows += choice.circulant_rows(v, req.data_bits, req.lanes, req.device, req.clock_mhz)
        else:
            same = v == shape and numerics is not None
            rows += choice.sweep_csb(
                v,
                numerics if same else csb_cost.numerics_for_shape(v, req.data_bits),
                req.csb_grids or list(choice.DEFAULT_CSB_GRIDS),
                req.csb_modes or list(choice.DEFAULT_CSB_MODES),
                method=req.csb_method,
                device=req.device,
                clock_mhz=req.clock_mhz,
                counts=kernels[0] if kernels and v == shape else None,
                columns=kernels[1] if kernels and v == shape else None,
            )
    choice.mark_pareto(rows)
    chosen = choice.choose(rows, req.target_latency_us, req.budget, req.device)
    runs = choice.run_accuracies(req.runs or [])
    dev = fpga.DEVICES[req.device]["name"]
    out.mkdir(parents=True, exist_ok=True)
    dse_hw.plot_pareto(
        rows, chosen, out / "phase2_pareto.png", f"{shape_name} on the {dev} at {req.clock_mhz:g} MHz",
        force=True,
    )  # fmt: skip
    print(
        f"phase II: {shape_name} on the {dev}: {chosen['structure']} {chosen['label']} ({chosen['reason']}): "
        f"{chosen['cycles_per_step']:.0f} cycles = {chosen['latency_us']:.2f} us per step, "
        f"{chosen['used']['lut']:,.0f} LUT, {chosen['used']['dsp']:,.0f} DSP, {chosen['used']['bram36']:,.1f} BRAM36"
    )
    return {
        "command": command,
        "shape_name": shape_name,
        "shape": shape_dict,
        "device": req.device,
        "clock_mhz": req.clock_mhz,
        "structures": names,
        "variants": {n: v.to_dict() for n, v in var.items()},
        "compression": {n: choice.compression(v) for n, v in var.items()},
        "rows": rows,
        "chosen": chosen,
        "runs": runs,
    }


def _model_kernels(model_dir: str) -> csb_cost.Kernels:
    """Kernel counts and kept columns of an exported CSB model's matrices, in the cost model's order (layer:
    w_ih, w_hh, w_hr): ``csb_cost.model_kernels``."""
    from ernn.export.writer import ExportedModel

    return csb_cost.model_kernels(ExportedModel(model_dir).net)


def hardware_shape(spec: str, phase1: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """(name, shape) of Phase II's model: Phase I's choice, a named shape or a JSON object."""
    if spec == "chosen":
        if not phase1 or not phase1.get("chosen"):
            raise ValueError(
                "--hw-shape chosen needs Phase I's choice: run Phase I first (--phase 1 or both) or name a shape"
            )
        c = phase1["chosen"]
        cfg = phase1["config"]
        ds = data.load("classify", cfg.get("train_file"), cfg.get("test_file"))
        shape = {
            "cell": c["cell"],
            "input_size": int(ds.num_features),
            "hidden_size": c["hidden_size"],
            "num_layers": c["num_layers"],
            "block_size": c["block_size"],
        }
        return f"Phase I choice ({c['cell'].upper()} h{c['hidden_size']} k{c['block_size']})", shape
    if spec in dse_hw.SHAPES:
        return spec.upper(), dict(dse_hw.SHAPES[spec])
    try:
        shape = json.loads(spec)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"--hw-shape must be 'chosen', one of {', '.join(dse_hw.SHAPES)}, or a JSON object; got {spec!r}"
        ) from exc
    need = {"cell", "input_size", "hidden_size"}
    if not isinstance(shape, dict) or not need <= set(shape) or not {"block_size", "structure"} & set(shape):
        raise ValueError(
            f"--hw-shape JSON needs the keys {sorted(need)} and block_size (or a structure), got {spec!r}"
        )
    return "custom shape", shape


def markdown(report: dict[str, Any]) -> str:
    """report.md: Phase I and Phase II sections."""
    parts = []
    if "phase1" in report:
        p1 = report["phase1"]
        parts.append(
            dse.report_markdown(
                p1["points"], p1["chosen"], p1["observations"], p1["max_accuracy_loss"], p1["command"]
            )
        )
    if "phase2" in report and "structures" in report["phase2"]:
        p2 = report["phase2"]
        parts.append(choice.report_markdown(p2) + f"\nCommand: `{p2['command']}`\n")
    elif "phase2" in report:
        p2 = report["phase2"]
        parts.append(
            dse_hw.report_markdown(
                p2["shape_name"],
                p2["shape"],
                p2["rows"],
                p2["chosen"],
                p2.get("check"),
                p2["device"],
                p2["clock_mhz"],
            )
            + f"\nCommand: `{p2['command']}`\n"
        )
    return "\n".join(parts)
