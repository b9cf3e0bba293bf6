"""Quantization-aware fine-tuning (ernn.train.qat): its forward pass is the golden model, bit for bit; its
gradients flow; ``ernn train --qat-bits`` validates, runs, records and exports consistently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ernn import cli, data
from ernn.export import input_shift as export_shift
from ernn.export import writer as export
from ernn.golden.activation import activate, activation_table
from ernn.golden.formats import NumericsConfig
from ernn.golden.network import GoldenNetwork, numerics_for_model
from ernn.sim import inference
from ernn.train import models, qat
from ernn.train import run_directory as runs
from ernn.train import trainer as train


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny tensors: more threads only add contention on the shared machine
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _random_rnn(cell: str, seed: int, scale: float, **kw) -> models._CirculantRNNBase:
    torch.manual_seed(seed)
    rnn = models.build(cell, input_size=5, hidden_size=12, block_size=4, batch_first=True, **kw)
    with torch.no_grad():
        for p in rnn.parameters():
            p.mul_(scale)  # large weights: gate, IFFT and input saturations are exercised too
    return rnn


def _assert_same(ours: np.ndarray, golden: np.ndarray, what: str) -> None:
    if not np.array_equal(ours, golden):
        seq, t, unit = np.argwhere(ours != golden)[0]
        pytest.fail(
            f"{what}: first difference at sequence {seq}, step {t}, unit {unit}: "
            f"QAT forward {ours[seq, t, unit]}, golden {golden[seq, t, unit]}"
        )


def _compare(rnn, x: np.ndarray, lengths: np.ndarray, bits: int, what: str, input_shift: int = 0):
    """QAT forward vs the golden model of the same weights; returns the golden result."""
    desc = rnn.describe()
    if input_shift:
        desc = export_shift.scale_desc(desc, input_shift)
    golden = GoldenNetwork(desc, numerics_for_model(desc, bits)).run(
        x / np.float32(1 << input_shift), lengths
    )
    out, cfg = qat.quantized_forward(
        rnn, torch.from_numpy(x), torch.from_numpy(lengths), bits, input_shift=input_shift
    )
    assert cfg == golden.numerics
    ours = torch.round(out.detach() * 2.0**cfg.data.frac).to(torch.int64).numpy()
    _assert_same(ours, golden.output_int, what)
    return golden


CASES = [
    ("lstm", {}),
    ("lstm", {"peephole": True, "proj_size": 6, "num_layers": 2}),
    ("gru", {"num_layers": 2}),
]


@pytest.mark.parametrize("bits", [8, 12, 16])
@pytest.mark.parametrize(("cell", "kw"), CASES, ids=["lstm", "lstm_peep_proj_2l", "gru_2l"])
def test_forward_is_the_golden_model_bit_for_bit(cell, kw, bits):
    seed = 7
    rnn = _random_rnn(cell, seed, 10.0, **kw)
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(6, 9, 5)) * 6).astype(np.float32)
    lengths = np.array([9, 3, 5, 1, 9, 7])
    golden = _compare(rnn, x, lengths, bits, f"{cell} {kw} {bits}-bit, seed {seed}")
    saturated = {name.split("/")[-1] for name in golden.log.nonzero()}
    assert {"input", "gate_pre", "ifft_in"} <= saturated  # the clamps were exercised, not only the roundings


@pytest.mark.parametrize("bits", [8, 16])
def test_forward_follows_saturated_cell_state(bits):
    """Gates held open (i = f = 1, g = 1) let c grow by 1 per step, past the tanh input range (±16) and past
    Q(cell)'s ±128 (both at every width): those clamps, and the peephole terms, match too."""
    torch.manual_seed(0)
    rnn = models.build("lstm", input_size=4, hidden_size=4, block_size=4, batch_first=True, peephole=True)
    with torch.no_grad():
        rnn.bias_ih_l0.copy_(torch.tensor([20.0] * 12 + [-3.0] * 4))
        rnn.weight_peep_l0.mul_(0.05)
    x = np.random.default_rng(0).normal(size=(2, 140, 4)).astype(np.float32)
    lengths = np.array([140, 60])
    golden = _compare(rnn, x, lengths, bits, f"held-open LSTM, {bits}-bit")
    saturated = {name.split("/")[-1] for name in golden.log.nonzero()}
    assert {"tanh_c_in", "cell"} <= saturated


def test_forward_with_an_input_shift_is_the_shifted_export():
    rnn = _random_rnn("gru", 3, 2.0)
    x = (np.random.default_rng(3).normal(size=(4, 6, 5)) * 20).astype(np.float32)
    _compare(rnn, x, np.array([6, 2, 4, 5]), 8, "GRU with input shift 2", input_shift=2)


@pytest.mark.parametrize("bits", [8, 10, 12, 16])
@pytest.mark.parametrize("kind", ["sigmoid", "tanh"])
def test_activation_is_the_golden_table_on_every_code(kind, bits):
    cfg = NumericsConfig.for_data_bits(bits)
    table = activation_table(kind, cfg)
    codes = np.arange(cfg.gate.min_int, cfg.gate.max_int + 1, dtype=np.int64)
    pre = torch.from_numpy(codes).double() * 2.0**-cfg.gate.frac
    ours = torch.round(qat._activate(pre, table) * 2.0**cfg.act.frac).to(torch.int64).numpy()
    np.testing.assert_array_equal(ours, activate(codes, table))


def test_straight_through_gradients():
    # rounding: identity; saturation: 1 inside the range, 0 outside; activation: the float derivative
    cfg = NumericsConfig.for_data_bits(8)
    v = torch.tensor([-20.0, -0.3, 0.26, 5.0, 20.0], dtype=torch.float64, requires_grad=True)
    qat._sat(qat._rnd(v, 3), cfg.gate).sum().backward()
    lo, hi = cfg.gate.min_value, cfg.gate.max_value
    np.testing.assert_array_equal(v.grad.numpy(), ((v >= lo) & (v <= hi)).double().numpy())
    pre = torch.linspace(-6, 6, 97, dtype=torch.float64, requires_grad=True)
    qat._activate(pre, activation_table("sigmoid", cfg)).sum().backward()
    s = torch.sigmoid(pre.detach())
    torch.testing.assert_close(pre.grad, s * (1 - s))


@pytest.mark.parametrize(("cell", "kw"), CASES, ids=["lstm", "lstm_peep_proj_2l", "gru_2l"])
def test_gradients_reach_every_parameter(cell, kw):
    rnn = _random_rnn(cell, 1, 1.0, **kw)
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(3, 5, 5)).astype(np.float32))
    out, _ = qat.quantized_forward(rnn, x, torch.tensor([5, 2, 4]), 8)
    out.square().sum().backward()
    for name, p in rnn.named_parameters():
        assert p.grad is not None and bool(torch.isfinite(p.grad).all()), name
        assert float(p.grad.abs().sum()) > 0, name


def test_input_shift_rule_is_the_exporters():
    rng = np.random.default_rng(0)
    for scale in (1.0, 30.0, 300.0):
        x = (rng.standard_t(2, size=(40, 10, 3)) * scale).astype(np.float32)
        split = data.Split(x, np.full(40, 10), rng.integers(0, 2, 40))
        ds = data.Dataset("t", "classify", split, split, 2, np.zeros(3, np.float32), np.ones(3, np.float32))
        assert qat.export_input_shift(ds) == export_shift.choose(runs.input_range(ds))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"qat_bits": 4}, r"qat_bits must be 0 \(off\) or in \[6, 16\], got 4"),
        ({"qat_bits": 24}, r"qat_bits must be 0 \(off\) or in \[6, 16\], got 24"),
        ({"qat_bits": 8.0}, "qat_bits must be an integer"),
        ({"qat_bits": True}, "qat_bits must be an integer"),
        ({"qat_epochs": 0}, "qat_epochs must be an integer >= 1, got 0"),
        ({"qat_bits": 8, "qat_epochs": 1.5}, "qat_epochs must be an integer >= 1"),
        ({"qat_bits": 8, "block_size": 2}, r"qat_bits needs a block size in \[4, 64\]"),
        ({"qat_bits": 8, "mode": "dense", "block_size": 1}, r"qat_bits needs a block size in \[4, 64\]"),
    ],
)
def test_config_refuses_bad_qat_options(changes, message):
    with pytest.raises(ValueError, match=message):
        train.TrainConfig(**changes).validate()
    assert train.TrainConfig(qat_bits=8, qat_epochs=2).validate().qat_bits == 8


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("qat_data")
    centroids = rng.normal(size=(3, 6)) * 2

    def make(n):
        lengths = rng.integers(2, 7, n)
        y = rng.integers(0, 3, n)
        x = (rng.normal(size=(n, 6, 6)) + centroids[y][:, None, :]).astype(np.float32)
        x[np.arange(6)[None] >= lengths[:, None]] = 0
        return data.Split(x, lengths, y)

    data.save_npz(folder / "train.npz", make(48))
    data.save_npz(folder / "test.npz", make(24))
    return folder


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_train_with_qat_records_and_exports_consistently(cell, small_data, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--out", str(run), "--cell", cell, "--hidden-size", "8", "--block-size", "4"]
    args += ["--epochs", "2", "--qat-bits", "8", "--qat-epochs", "1", "--quiet"]
    args += ["--train", str(small_data / "train.npz"), "--test", str(small_data / "test.npz")]
    assert cli.main(args) == 0, capsys.readouterr().err
    metrics = json.loads((run / "metrics.json").read_text())
    record = metrics["qat"]
    assert (record["bits"], record["epochs"], record["input_shift"]) == (8, 1, 0)
    assert record["lr"] == pytest.approx(train.TrainConfig().lr * qat.LR_SCALE)
    assert [h["phase"] for h in metrics["history"]].count("qat") == 1
    assert record["float_accuracy_after"] == pytest.approx(metrics["test_accuracy"])
    assert record["formats_after"]["data"] == "Q8.4"
    assert json.loads((run / "config.json").read_text())["train"]["qat_bits"] == 8
    # the export is the fine-tuned float model, quantized as usual: its golden accuracy is the one QAT saw
    model_dir = export.export(run, tmp_path / "model", data_bits=8)
    report = inference.evaluate(
        export.ExportedModel(model_dir), data.load_npz(small_data / "test.npz", "classify")
    )
    assert report["float_accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert report["golden_accuracy"] == pytest.approx(record["quantized_accuracy_after"])


def test_benchmark_runs_and_writes_its_tables(small_data, tmp_path):
    """bench/qat_results.py end to end at toy sizes (QAT forced at one width with a negative threshold)."""
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, str(root / "bench/qat_results.py"), "--out", str(tmp_path / "out")]
    cmd += ["--runs", str(tmp_path / "runs"), "--train", str(small_data / "train.npz")]
    cmd += ["--test", str(small_data / "test.npz"), "--cells", "gru", "--bits", "8", "12"]
    cmd += ["--hidden-size", "8", "--block-size", "4", "--epochs", "2", "--qat-epochs", "1"]
    cmd += ["--threshold", "-101", "--suffix", "_toy"]  # every width: a PTQ loss is >= -100
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tmp_path)
    result = json.loads((tmp_path / "out/qat_results_toy.json").read_text())
    assert [(r["cell"], r["bits"]) for r in result["rows"]] == [("gru", 8), ("gru", 12)]
    for row in result["rows"]:
        assert row["ptq"]["qat_vs_golden_max_abs"] == 0.0
        assert row["qat"]["same_base_model"] and row["qat"]["forward_is_export"]
        assert row["qat"]["qat_vs_golden_max_abs"] == 0.0
    assert "| GRU | 8 |" in (tmp_path / "out/qat_results_toy.md").read_text()


def test_frames_task_fine_tunes_through_the_golden_formats(tmp_path):
    rng = np.random.default_rng(1)

    def make(n):
        lengths = rng.integers(2, 6, n)
        y = rng.integers(0, 3, (n, 5))
        x = (rng.normal(size=(n, 5, 4)) + y[..., None]).astype(np.float32)
        return data.Split(x, lengths, y)

    data.save_npz(tmp_path / "train.npz", make(24))
    data.save_npz(tmp_path / "test.npz", make(8))
    cfg = train.TrainConfig(hidden_size=8, block_size=4, mode="direct", task="frames", epochs=1, qat_bits=10)
    cfg.train_file, cfg.test_file, cfg.qat_epochs = str(tmp_path / "train.npz"), str(tmp_path / "test.npz"), 1
    model, metrics = train.train(cfg, quiet=True)
    assert metrics["qat"]["formats_after"]["data"] == "Q10.6"
    ds = data.load("frames", cfg.train_file, cfg.test_file)
    quantized = qat.QATModel(model, 10, 0)
    assert train.evaluate(quantized, ds.test, ds) == metrics["qat"]["quantized_accuracy_after"]
