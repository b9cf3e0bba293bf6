"""Export a trained run to a model directory: formats, Verilog header, $readmemh memories, test vectors.

A model directory (``ernn export --checkpoint RUN_DIR --out MODEL_DIR``) holds

* ``ernn-manifest.json`` — every other file's SHA-256 and one digest over them (:mod:`ernn.files.manifest`;
                      a changed file is named on load);
* ``config.json``   — architecture, every number format (``numerics``), data normalisation and provenance,
                      the source run (path, digest), test vectors, the hardware section;
* ``model.npz``     — the float model description (``describe()``) the integers are quantized from, and
                      the head's float weights;
* ``params.npz``    — every integer the RTL memories hold (``GoldenNetwork.quantized_params``), flattened;
* ``ernn_params.vh``— Verilog ``localparam``s: sizes, k, every format's word and frac, the hardware
                      choices (``ERNN_LANES`` = P, ``ERNN_CELL_LANES``, ``ERNN_W_DEPTH``, ...) and the PE job
                      table the controller steps through (``ERNN_JOB_TABLE``, :mod:`ernn.export.schedule`);
* ``mem/*.mem``     — ``$readmemh`` images (two's complement hex, one word per line), layouts below;
* ``vectors/``      — test vectors: a stream of quantized input frames with TLAST, and the golden model's
                      expected outputs per time step for every layer (``.mem`` and ``vectors.npz``).

Memory layouts (address = row-major index over the named axes; complex words are ``{im, re}``, im in the
upper half):

* ``twiddle.mem``                 m = 0 .. k/2 - 1, Q(twiddle) complex
* ``sigmoid_values.mem`` / ``sigmoid_slopes.mem`` (and ``tanh_*``) — segment index, Q(act) / Q(act_slope)
* ``l{L}_w_ih.mem`` / ``l{L}_w_hh.mem`` / ``l{L}_w_hr.mem`` — (gate, out block, in block, bin), Q(weight_spectrum) complex
* ``l{L}_bias.mem``               (gate', unit) merged bias, Q(bias); ``l{L}_b_hn.mem`` GRU only
* ``l{L}_peephole.mem``           (i/f/o, unit), Q(peephole), LSTM with peepholes only
* ``pe_weights.mem``, ``cell_bias.mem``, ``cell_peephole.mem`` — what ``rtl/ernn_top.v`` reads: the same
  integers in the PE's layout for P lanes (``--lanes``) and per hidden block (:mod:`ernn.export.layout`)

config.json's ``hardware`` section records P, the cell-unit lanes, the memory depths and the cycle model
(:func:`ernn.export.layout.cycle_model`: ideal cycles per time step = ceil(complex MACs / P) + pipeline latency).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import ernn.export.dsp_pack as dsp_pack_rule
from ernn import data
from ernn.export import input_shift as input_shift_rule
from ernn.export import model_dir as model_directory
from ernn.files import manifest, output_dir
from ernn.golden.network import GoldenNetwork, numerics_for_model
from ernn.golden.ops import hex_words
from ernn.shape.structures import implementation, structure_entry
from ernn.train import run_directory as runs
from ernn.train import trainer as train

#: the format this writer writes is the one the reader (ernn.export.model_dir) accepts; since version 2 the
#: header also carries the PE job table (ERNN_JOB_TABLE) that rtl/ernn_ctrl.v steps through
FORMAT_NAME, FORMAT_VERSION = model_directory.FORMAT_NAME, model_directory.FORMAT_VERSION


def _write_mem(path: Path, values: np.ndarray, word: int) -> None:
    path.write_text("\n".join(hex_words(values, word)) + "\n")


def _complex_words(re: np.ndarray, im: np.ndarray, word: int) -> list[str]:
    mask = (1 << word) - 1
    digits = -(-2 * word // 4)
    return [
        f"{((int(i) & mask) << word) | (int(r) & mask):0{digits}x}"
        for r, i in zip(re.ravel(), im.ravel(), strict=True)
    ]


def _write_complex_mem(path: Path, re: np.ndarray, im: np.ndarray, word: int) -> None:
    hex_words(re, word), hex_words(im, word)  # range checks: raises if a value does not fit
    path.write_text("\n".join(_complex_words(re, im, word)) + "\n")


def _flatten_params(params: dict[str, Any]) -> dict[str, np.ndarray]:
    """``quantized_params()`` as flat name -> int64 array (for params.npz and the mismatch check)."""
    flat: dict[str, np.ndarray] = {
        "twiddle_re": params["twiddles"]["re"],
        "twiddle_im": params["twiddles"]["im"],
    }
    for kind in ("sigmoid", "tanh"):
        flat[f"{kind}_values"] = params[kind]["values"]
        flat[f"{kind}_slopes"] = params[kind]["slopes"]
    for idx, layer in enumerate(params["layers"]):
        for name in ("w_ih", "w_hh", "w_hr"):
            for key, value in (layer[name] or {}).items():  # circulant: re, im; CSB: the stored arrays
                flat[f"l{idx}_{name}_{key}"] = value
        for name in ("bias", "b_hn", "peephole"):
            if layer[name] is not None:
                flat[f"l{idx}_{name}"] = layer[name]
    return {k: np.asarray(v, dtype=np.int64) for k, v in flat.items()}


def verilog_header(net: GoldenNetwork, num_vectors: int, hardware: Any = None) -> str:
    info, cfg = net.info, net.numerics
    lines = [
        "// Generated by `ernn export`: parameters of one exported model. Do not edit.",
        "// Include inside a module body: every name is a localparam.",
        f"localparam integer ERNN_CELL_LSTM = {1 if info.cell == 'lstm' else 0};",
        f"localparam integer ERNN_INPUT_SIZE = {info.input_size};",
        f"localparam integer ERNN_HIDDEN_SIZE = {info.hidden_size};",
        f"localparam integer ERNN_PROJ_SIZE = {info.proj_size};",
        f"localparam integer ERNN_OUTPUT_SIZE = {info.output_size};",
        f"localparam integer ERNN_NUM_LAYERS = {info.num_layers};",
        f"localparam integer ERNN_PEEPHOLE = {int(info.peephole)};",
        f"localparam integer ERNN_GATES = {info.gates};",
        f"localparam integer ERNN_K = {cfg.block_size};",
        f"localparam integer ERNN_BINS = {cfg.bins};",
        f"localparam integer ERNN_SIGMOID_RANGE_LOG2 = {cfg.sigmoid.range_log2};",
        f"localparam integer ERNN_SIGMOID_SEG_BITS = {cfg.sigmoid.seg_bits};",
        f"localparam integer ERNN_TANH_RANGE_LOG2 = {cfg.tanh.range_log2};",
        f"localparam integer ERNN_TANH_SEG_BITS = {cfg.tanh.seg_bits};",
        f"localparam integer ERNN_TEST_FRAMES = {num_vectors};",
    ]
    for name, fmt in cfg.to_dict().items():
        if isinstance(fmt, dict) and "word" in fmt:
            upper = name.upper()
            lines.append(
                f"localparam integer ERNN_{upper}_W = {fmt['word']};  // Q{fmt['word']}.{fmt['frac']}"
            )
            lines.append(f"localparam integer ERNN_{upper}_F = {fmt['frac']};")
    if hardware is not None:
        lines += hardware.header_lines()
    return "\n".join(lines) + "\n"


def export(
    run_dir: str | Path,
    out: str | Path,
    *,
    data_bits: int = 16,
    num_sequences: int = 8,
    force: bool = False,
    dataset: data.Dataset | None = None,
    lanes: int | None = None,
    data_file: str | Path | None = None,
    bundle_test_data: bool = False,
    input_shift: str | int = "auto",
    dsp_pack: bool = False,
    csb_red_rows: int | str | None = None,
) -> Path:
    """Quantize the run in ``run_dir`` and write the model directory ``out`` (see the module docstring).

    Everything is checked before anything is written (the output folder, the run's manifest and
    checkpoint, the formats, ``lanes``), and the directory appears complete or not at all
    (:func:`ernn.files.output_dir.output_directory`): an existing model is replaced only with ``force``,
    a folder of the user's keeps its files, and a training run is never replaced by a model.

    ``lanes``: P, the PE's complex MAC lanes the memory images are laid out for (default
    :func:`ernn.export.layout.default_lanes` of the model). ``data_file``: the run's test split where it is
    now, if it moved (checked by content hash). ``dataset``: use this data set's test split instead of the
    run's (random-weight exports); ``bundle_test_data`` stores that split in the model (``data/test.npz``).
    ``input_shift``: 'auto' or s in 0..4, the power-of-two input shift folded into layer 0's weights
    (:mod:`ernn.export.input_shift`). ``dsp_pack``: the PE's MAC lanes form two weight products per
    multiply (one DSP48E2 for two, ``ERNN_DSP_PACK``); the weight spectra are narrowed to the widest word
    that packs (:func:`ernn.export.dsp_pack.packed_numerics`: 7 bits at 8-bit data and k = 8 or 16), which
    costs accuracy the golden model measures; circulant models only. ``csb_red_rows``: the output rows
    the CSB group array reduces per clock (``ERNN_CSB_RED_ROWS``), a divisor of the CSB block size or
    "auto" (:func:`ernn.export.csb_unit.reduction_rows`; None: one, :data:`ernn.export.csb_unit.RED_ROWS`);
    CSB models only.
    """
    out = output_dir.check_output_dir(out, model_directory.KIND, force=force)
    if num_sequences < 1:
        raise ValueError(f"the number of test sequences must be >= 1, got {num_sequences}")
    model, run_config = runs.load_run(run_dir)
    _check_exportable(run_dir, model.rnn.structure)
    run_digest = manifest.read(Path(run_dir)).digest
    shift = input_shift_rule.choose(run_config["data"].get("input_range"), input_shift)
    desc = input_shift_rule.scale_desc(model.rnn.describe(), shift)
    numerics = numerics_for_model(desc, data_bits)
    if dsp_pack:
        structure = model.rnn.structure
        if structure.name != "circulant":
            raise ValueError(
                f"{run_dir}: DSP packing (--dsp-pack) is an option of the block-circulant PE, not of a "
                f"{structure.describe()} model"
            )
        numerics = dsp_pack_rule.packed_numerics(numerics)
    options: dict[str, Any] = {"dsp_pack_lanes": True} if dsp_pack else {}
    if csb_red_rows is not None:
        structure = model.rnn.structure
        if structure.name != "csb":
            raise ValueError(
                f"{run_dir}: the reduction width (--csb-red-rows) is an option of the CSB engine, not of a "
                f"{structure.describe()} model"
            )
        from ernn.export import csb_unit

        options["red_rows"] = csb_unit.check_red_rows(csb_red_rows, structure.block)
    net = GoldenNetwork(desc, numerics)
    engine = implementation(net.info.structure.name, "export")  # ernn.export.structure
    lanes = engine.default_lanes(net.info) if lanes is None else engine.check_lanes(lanes)
    test = dataset.test if dataset is not None else runs.run_dataset(run_dir, data_file)
    data_record = json.loads(json.dumps(run_config["data"]))
    data_record["input_shift"] = shift
    data_record["input_clipping"] = _clipping(data_record, test, shift, net.numerics.data.max_value)
    if bundle_test_data:
        data_record["provenance"]["test"]["path"] = TEST_DATA
    with output_dir.output_directory(out, model_directory.KIND, force=force) as stage:
        sections = _write_model(
            stage, net, model, desc, test, data_record, num_sequences, lanes, engine, options
        )
        if bundle_test_data:
            (stage / TEST_DATA).parent.mkdir()
            data.save_npz(stage / TEST_DATA, test)
        config = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "source_run": {"path": str(Path(run_dir).resolve()), "digest": run_digest},
            "model": {k: v for k, v in desc.items() if k != "layers"},
            "numerics": net.numerics.to_dict(),
            "data": data_record,
            "data_bits": data_bits,
            **sections,
        }
        (stage / model_directory.CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    return out


def _check_exportable(run_dir: str | Path, structure: Any) -> None:
    """A run of a structure that has no golden model or exporter yet (sparse) is refused by name."""
    entry = structure_entry(structure.name)
    missing = [stage for stage in ("golden", "export") if stage not in entry.stages]
    if missing:
        raise ValueError(
            f"{run_dir}: cannot export a {structure.describe()} run: structure {structure.name!r} has no golden "
            f"model or RTL engine yet (implemented: {', '.join(entry.stages)} only; docs/compare.md)"
        )


def _clipping(record: dict[str, Any], test: data.Split, shift: int, limit: float) -> dict[str, Any]:
    """How many normalised, shifted feature values input quantization clips: on the test split exactly,
    on the training split from the power-of-two counts its run recorded (values beyond 2^(3+s))."""
    mean = np.asarray(record["mean"], dtype=np.float32)
    std = np.asarray(record["std"], dtype=np.float32)
    x = (test.x - mean) / std / float(1 << shift)
    out: dict[str, Any] = {"limit": limit, "test": input_shift_rule.clipping(x, test.frame_mask, limit)}
    rng = record.get("input_range")
    if rng:
        out["train"] = {"values": rng["values"], "clipped": rng["beyond"].get(str(1 << (3 + shift)), 0)}
    return out


#: where ``bundle_test_data`` keeps the test split inside the model directory
TEST_DATA = "data/test.npz"


def _write_model(
    stage: Path,
    net: GoldenNetwork,
    model: Any,
    desc: dict[str, Any],
    test: data.Split,
    data_record: dict[str, Any],
    num_sequences: int,
    lanes: int,
    engine: Any,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write every file of the model but config.json into ``stage``; return config.json's
    ``test_vectors`` and ``hardware`` sections. ``options``: the engine's own ``write_memories`` options
    (the circulant PE's ``dsp_pack_lanes``, the CSB unit's ``red_rows``), checked by :func:`export`."""
    params = net.quantized_params()
    flat = _flatten_params(params)
    cfg = net.numerics
    mem = stage / "mem"
    vec = stage / "vectors"
    mem.mkdir()
    vec.mkdir()
    _write_complex_mem(mem / "twiddle.mem", flat["twiddle_re"], flat["twiddle_im"], cfg.twiddle.word)
    for kind in ("sigmoid", "tanh"):
        _write_mem(mem / f"{kind}_values.mem", flat[f"{kind}_values"], cfg.act.word)
        _write_mem(mem / f"{kind}_slopes.mem", flat[f"{kind}_slopes"], cfg.act_slope.word)
    for idx in range(net.info.num_layers):
        for name in ("w_ih", "w_hh", "w_hr"):
            if f"l{idx}_{name}_re" in flat:
                re, im = flat[f"l{idx}_{name}_re"], flat[f"l{idx}_{name}_im"]
                _write_complex_mem(mem / f"l{idx}_{name}.mem", re, im, cfg.weight_spectrum.word)
        for name, fmt in (("bias", cfg.bias), ("b_hn", cfg.bias), ("peephole", cfg.peephole)):
            if f"l{idx}_{name}" in flat:
                _write_mem(mem / f"l{idx}_{name}.mem", flat[f"l{idx}_{name}"], fmt.word)
    # each option belongs to one engine (export refuses it for the others)
    hardware = engine.write_memories(net, mem, lanes, **(options or {}))

    # Test vectors: the first test sequences back to back, as the RTL sees them on AXI-Stream.
    n = min(num_sequences, len(test))
    mean = np.asarray(data_record["mean"], dtype=np.float32)
    std = np.asarray(data_record["std"], dtype=np.float32)
    x = ((test.x[:n] - mean) / std / float(1 << data_record["input_shift"])).astype(np.float32)
    lengths = test.lengths[:n]
    result = net.run(x, lengths)
    mask = test.frame_mask[:n]
    frames = result.input_int[mask]  # (frames, input_size), sequence after sequence
    last = np.zeros(len(frames), dtype=np.int64)
    last[np.cumsum(lengths) - 1] = 1
    expected = [h[mask] for h in result.h_int]  # per layer (frames, layer output size)
    _write_mem(vec / "input.mem", frames, cfg.data.word)
    _write_mem(vec / "last.mem", last, 2)
    for idx, h in enumerate(expected):
        _write_mem(vec / f"expected_l{idx}.mem", h, cfg.data.word)
    # The last layer's outputs once more under a fixed name: what ernn_top streams out (rtl/ernn_selftest.v).
    _write_mem(vec / "expected_out.mem", expected[-1], cfg.data.word)
    np.savez(
        vec / "vectors.npz",
        input=frames,
        last=last,
        lengths=lengths,
        x_float=x,
        **{f"expected_l{idx}": h for idx, h in enumerate(expected)},
    )

    float_desc = {f"desc_{k}": v for k, v in _flatten_desc(desc).items()}
    head = {
        "head_weight": model.head.weight.detach().double().numpy(),
        "head_bias": model.head.bias.detach().double().numpy(),
    }
    np.savez(stage / "model.npz", **float_desc, **head)
    np.savez(stage / "params.npz", **flat)
    (stage / "ernn_params.vh").write_text(verilog_header(net, len(frames), hardware))
    hw = {**hardware.record(), "cycles_per_step": engine.cycle_model(net.info, lanes).as_dict()}
    return {"test_vectors": {"sequences": int(n), "frames": len(frames)}, "hardware": hw}


def _flatten_desc(desc: dict[str, Any]) -> dict[str, np.ndarray]:
    flat = {}
    for idx, layer in enumerate(desc["layers"]):
        for key, value in layer.items():
            if isinstance(value, np.ndarray):
                flat[f"l{idx}_{key}"] = value
    return flat


def _unflatten_desc(model_cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    desc = dict(model_cfg)
    layers = []
    for idx in range(desc["num_layers"]):
        layer: dict[str, Any] = {"w_hr": None, "peephole": None}
        for key in ("w_ih", "w_hh", "b_ih", "b_hh", "w_hr", "peephole"):
            name = f"desc_l{idx}_{key}"
            if name in arrays:
                layer[key] = arrays[name]
        layer["input_size"] = desc["input_size"] if idx == 0 else (desc["proj_size"] or desc["hidden_size"])
        layers.append(layer)
    desc["layers"] = layers
    return desc


class ExportedModel(model_directory.ModelDirectory):
    """A model directory (:class:`~ernn.export.model_dir.ModelDirectory`: manifest, config, shape,
    formats) with its golden network and host-side head, every stored integer re-derived and compared."""

    def __init__(self, model_dir: str | Path) -> None:
        super().__init__(model_dir, verify=True)
        numerics = self.numerics
        with np.load(self.dir / "model.npz") as arrays:
            store = dict(arrays)
        self.head_weight, self.head_bias = store.pop("head_weight"), store.pop("head_bias")
        self.desc = desc = _unflatten_desc(self.config["model"], store)
        self.net = GoldenNetwork(desc, numerics)
        with np.load(self.dir / "params.npz") as arrays:
            stored = dict(arrays)
        fresh = _flatten_params(self.net.quantized_params())
        if set(stored) != set(fresh):
            raise ValueError(
                f"{self.dir / 'params.npz'}: holds {sorted(stored)}, the model needs {sorted(fresh)}"
            )
        for name, value in fresh.items():
            if stored[name].shape != value.shape or not np.array_equal(stored[name], value):
                raise ValueError(f"{self.dir / 'params.npz'}: '{name}' differs from the quantized model.npz")
        header_path = self.dir / "ernn_params.vh"
        engine = implementation(self.shape.structure.name, "export")  # ernn.export.structure
        try:
            engine.check_header(header_path.read_text(), self.net, self.hardware["lanes"])
        except ValueError as exc:
            raise ValueError(f"{header_path}: {exc}") from exc
        self.mean = np.asarray(self.config["data"]["mean"], dtype=np.float32)
        self.std = np.asarray(self.config["data"]["std"], dtype=np.float32)
        self.input_shift = int(self.config["data"].get("input_shift", 0))

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """Users' features -> the model's input: the training statistics, then the input shift (the
        power of two folded into layer 0's weights, :mod:`ernn.export.input_shift`)."""
        return ((x - self.mean) / self.std / float(1 << self.input_shift)).astype(np.float32)

    def head(self, outputs: np.ndarray) -> np.ndarray:
        """Class scores from the last layer's (dequantized) outputs, on the host."""
        return outputs @ self.head_weight.T + self.head_bias


def export_random(
    out: str | Path,
    *,
    cell: str = "lstm",
    input_size: int = 12,
    hidden_size: int = 32,
    num_layers: int = 1,
    proj_size: int = 0,
    peephole: bool = False,
    block_size: int = 8,
    lanes: int | None = None,
    data_bits: int = 16,
    seed: int = 0,
    num_sequences: int = 2,
    force: bool = False,
    dsp_pack: bool = False,
    structure: str = "circulant",
    csb_block: int = 32,
    prune_rate: float = 12 / 13,
    csb_red_rows: int | str | None = None,
) -> Path:
    """Export a model with PyTorch's random initial weights (no training) on synthetic data.

    For hardware benchmarks and tests of shapes nobody trains here (e.g. the 1024-unit TIMIT LSTMP of
    the E-RNN paper): the weights follow ``nn.LSTM`` / ``nn.GRU``'s initialisation, uniform in
    ±1/sqrt(hidden), projected onto the block-circulant set; the data set is seeded Gaussian noise
    (``num_sequences`` short test sequences become the test vectors, and the test split is kept in the
    model as ``data/test.npz``). The untrained run is written to a temporary folder and removed: the model
    records its manifest digest only.

    ``structure`` "csb": the initial dense weights projected onto CSB blocks of ``csb_block`` at
    ``prune_rate`` (the ADMM hard projection, ``to_structure``: the kernels a CSB run's projection
    gives, not trained ones), exported for the CSB engine (``lanes`` PEs, ``csb_red_rows`` as in
    :func:`export`; ``block_size`` unused).
    """
    import tempfile

    import torch

    out = output_dir.check_output_dir(out, model_directory.KIND, force=force)
    rng = np.random.default_rng(seed)

    def split(n: int) -> data.Split:
        lengths = rng.integers(2, 6, n)
        x = rng.normal(size=(n, 5, input_size)).astype(np.float32)
        x[np.arange(5)[None] >= lengths[:, None]] = 0
        return data.Split(x, lengths, rng.integers(0, 2, n))

    if structure not in ("circulant", "csb"):
        raise ValueError(f"export_random: structure {structure!r} is not 'circulant' or 'csb'")
    with tempfile.TemporaryDirectory(prefix="ernn-random-run-") as tmp:
        folder = Path(tmp)
        data.save_npz(folder / "train.npz", split(4))
        data.save_npz(folder / "test.npz", split(max(2, num_sequences)))
        kinds: dict[str, Any] = (
            {"structure": "csb", "csb_block": csb_block, "prune_rate": prune_rate, "mode": "admm"}
            if structure == "csb"
            else {"block_size": block_size, "mode": "direct"}
        )
        cfg = train.TrainConfig(
            cell=cell,
            hidden_size=hidden_size,
            num_layers=num_layers,
            proj_size=proj_size,
            peephole=peephole,
            epochs=1,
            seed=seed,
            train_file=str(folder / "train.npz"),
            test_file=str(folder / "test.npz"),
            **kinds,
        ).validate()
        ds = data.load(cfg.task, cfg.train_file, cfg.test_file)
        torch.manual_seed(seed)
        if structure == "csb":  # dense initial weights, then the hard projection onto CSB
            dense = train.build_model(cfg, ds.num_features, ds.num_classes, block_size=1)
            model = train.SequenceModel(
                dense.rnn.to_structure(cfg.structure_params()), ds.num_classes, cfg.task
            )
            model.head.load_state_dict(dense.head.state_dict())
        else:
            model = train.build_model(cfg, ds.num_features, ds.num_classes, block_size)
        run = runs.save_run(folder / "run", cfg, ds, model, {"untrained": True})
        return export(
            run,
            out,
            data_bits=data_bits,
            num_sequences=num_sequences,
            force=force,
            dataset=ds,
            lanes=lanes,
            bundle_test_data=True,
            dsp_pack=dsp_pack,
            csb_red_rows=csb_red_rows,
        )
