"""ernn_top with the CSB unit (rtl/ernn_csb_unit.v) where the circulant PE is: CSB LSTM, LSTMP with peepholes,
GRU and 2-layer models, every output of every step bit-exact with GoldenNetwork.run_stream, with tvalid gaps,
back-pressure and a reset in the middle of a sequence; and `ernn report` on a CSB model directory (float,
golden and RTL accuracy, cycles per step against the MAC floor).

The models are small CSB runs trained for one epoch on a seeded synthetic task (``ernn.train`` with
``structure="csb"``: ADMM with the CSB projection, so the kernels are the pruned ones a real run gives) and
exported with 16 PEs in the unit's group array (2 x 2 groups of 2 x 2), cached under ``build/tb_models/csb_<case>`` and
re-exported when the case, the model format or the CSB compiler's sources change.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import MODEL_ROOT, _locked, random_stream
from test_ernn_top import check_segment

from ernn import cli, data
from ernn.export import writer as export
from ernn.export.writer import ExportedModel
from ernn.sim import rtl as rtl_sim
from ernn.sim import runner as rtl_runner
from ernn.train import run_directory as runs
from ernn.train import trainer as train

#: what a cached export depends on besides the case (the job matrices, schedule and program images)
SOURCES = [
    Path(__file__).resolve().parents[2] / "ernn" / "export" / name
    for name in ("csb.py", "csb_unit.py", "csb_program.py", "csb_schedule.py", "csb_merge.py")
]


@dataclass(frozen=True)
class CSBCase:
    """A small CSB model: cell, sizes, CSB block size M, prune rate, PEs of the unit's array, rows reduced per clock."""

    name: str
    cell: str = "lstm"
    input_size: int = 6
    hidden_size: int = 16
    num_layers: int = 1
    proj_size: int = 0
    peephole: bool = False
    block: int = 4
    rate: float = 0.6
    lanes: int = 16
    seed: int = 0
    red_rows: int = 1  # rows the group array reduces per clock (csb_unit.RED_ROWS)

    def key(self) -> str:
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in SOURCES)).hexdigest()[:16]
        return json.dumps(
            {**asdict(self), "format": export.FORMAT_VERSION, "sources": digest}, sort_keys=True
        )


CSB_LSTM = CSBCase("csb_lstm")  # k = 4: 4 x 4 row blocks from 2 + 4 input blocks
CSB_GRU = CSBCase("csb_gru", cell="gru", hidden_size=12, seed=1)  # H not a multiple of M: padded blocks
# k = 8, the W_hr job, and the array reducing 2 rows per clock (ERNN_CSB_RED_ROWS through ernn_top)
CSB_LSTMP = CSBCase("csb_lstmp_peep", proj_size=8, peephole=True, block=8, seed=2, red_rows=2)
CSB_GRU_2L = CSBCase("csb_gru_2l", cell="gru", hidden_size=8, num_layers=2, block=2, seed=3)  # M 2 -> k 4
CSB_LSTM_2L = CSBCase("csb_lstm_2l", hidden_size=12, num_layers=2, block=4, rate=0.75, seed=4)


def _split(rng: np.random.Generator, n: int, case: CSBCase, centroids: np.ndarray) -> data.Split:
    lengths = rng.integers(3, 7, n)
    y = rng.integers(0, len(centroids), n)
    x = (rng.normal(size=(n, 6, case.input_size)) + centroids[y][:, None, :]).astype(np.float32)
    x[np.arange(6)[None] >= lengths[:, None]] = 0
    return data.Split(x, lengths, y)


def csb_model_dir(case: CSBCase) -> Path:
    """The exported model of ``case`` (trained and exported on first use, then reused)."""
    out = MODEL_ROOT / case.name
    stamp = out / "tb_case.json"
    with _locked(MODEL_ROOT / f".{case.name}.lock"):
        if stamp.is_file() and stamp.read_text() == case.key():
            return out
        rng = np.random.default_rng(case.seed)
        centroids = rng.normal(size=(3, case.input_size))
        folder = MODEL_ROOT / f"{case.name}-data"
        folder.mkdir(parents=True, exist_ok=True)
        data.save_npz(folder / "train.npz", _split(rng, 48, case, centroids))
        data.save_npz(folder / "test.npz", _split(rng, 16, case, centroids))
        cfg = train.TrainConfig(
            cell=case.cell,
            hidden_size=case.hidden_size,
            num_layers=case.num_layers,
            proj_size=case.proj_size,
            peephole=case.peephole,
            structure="csb",
            csb_block=case.block,
            prune_rate=case.rate,
            mode="admm",
            epochs=1,
            seed=case.seed,
            train_file=str(folder / "train.npz"),
            test_file=str(folder / "test.npz"),
        ).validate()
        ds = data.load(cfg.task, cfg.train_file, cfg.test_file)
        model, metrics = train.train(cfg, ds, quiet=True)
        run = runs.save_run(folder / "run", cfg, ds, model, metrics, force=True)
        from ernn.export import csb_unit

        default, csb_unit.RED_ROWS = csb_unit.RED_ROWS, case.red_rows
        try:
            export.export(run, out, num_sequences=4, force=True, dataset=ds, lanes=case.lanes)
        finally:
            csb_unit.RED_ROWS = default
        stamp.write_text(case.key())
    return out


def run_with_reset(sim: str, case: CSBCase, frames: int, seed: int, tmp_path: Path) -> dict:
    """One long sequence cut by a reset after a random number of outputs, then a stream of random
    sequences; tvalid gaps and back-pressure at 0.3 throughout. Both segments bit-exact."""
    model = csb_model_dir(case)
    net = ExportedModel(model).net
    rng = np.random.default_rng(seed)
    xa, la = random_stream(net, rng, 10, styles=("moderate", "full"))
    la[:] = False
    la[-1] = True  # one sequence: the reset lands in its middle
    cut = int(rng.integers(2, 8))
    xb, lb = random_stream(net, rng, frames)
    print(f"{case.name} on {sim}, seed {seed} (ERNN_SEED={seed} reproduces it): reset after {cut} outputs")
    raw = rtl_sim.simulate(
        model,
        [{"frames": xa, "last": la, "reset_after": cut}, {"frames": xb, "last": lb, "reset_after": -1}],
        sim=sim,
        work_dir=tmp_path,
        seed=seed,
        valid_gap_prob=0.3,
        ready_stall_prob=0.3,
        probe=True,
    )
    check_segment(raw, 0, net, xa, la, seed, count=cut)
    check_segment(raw, 1, net, xb, lb, seed)
    return raw


#: every RTL test runs on both simulators in the default suite (a Verilator build of ernn_top with the CSB
#: unit costs 40-70 s on the shared machine: the price of that rule); the other models are slow
DEFAULT_SIMS = rtl_runner.simulators()


@pytest.mark.parametrize("sim", DEFAULT_SIMS)
def test_ernn_top_csb(sim, request, tmp_path) -> None:
    run_with_reset(sim, CSB_LSTM, 16, seed_for(request.node.nodeid), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize("case", [CSB_GRU, CSB_LSTMP, CSB_GRU_2L, CSB_LSTM_2L], ids=lambda c: c.name)
def test_ernn_top_csb_slow(sim, case, request, tmp_path) -> None:
    run_with_reset(sim, case, 40, seed_for(request.node.nodeid), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_report_on_a_csb_model(sim, tmp_path) -> None:
    """`ernn report` (ernn sim on the model's test split): RTL bit-exact with the golden model, the same
    accuracy, and cycles per step at least the MAC floor (ceil(kept MACs / PEs of one job array))."""
    model = csb_model_dir(CSB_GRU)
    out = tmp_path / "rep"
    assert (
        cli.main(["report", "--model", str(model), "--out", str(out), "--sequences", "8", "--sim", sim]) == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["bit_exact"] and summary["golden_accuracy"] == summary["rtl_accuracy"]
    config = json.loads((model / "config.json").read_text())
    floor = -(-config["hardware"]["csb_values"] // config["hardware"]["lanes"])
    assert summary["cycles_per_step"] >= floor
    print(
        f"{sim}: accuracy float {summary['float_accuracy']:.2f} % golden {summary['golden_accuracy']:.2f} % "
        f"RTL {summary['rtl_accuracy']:.2f} %; {summary['cycles_per_step']:.1f} clocks per step, MAC floor {floor}"
    )


@pytest.mark.parametrize("top", ["ernn_top", "ernn_selftest"])
@pytest.mark.parametrize("case", [CSB_LSTM, CSB_LSTMP], ids=lambda c: c.name)
def test_verilator_lint_clean_csb(case, top) -> None:
    """verilator --lint-only -Wall accepts ernn_top with the CSB unit, and the self-test around it (waivers
    in the RTL and, for the image sizes only readers of the header use, in the header: a waiver there that
    ended with lint_on cancelled the self-test's waiver of the whole header)."""
    rtl_runner.setup_simulator("verilator")
    model = csb_model_dir(case)
    cmd = ["verilator", "--lint-only", "-Wall", f"-I{model}", f"-I{rtl_runner.RTL_DIR}", "--top-module", top]
    if top == "ernn_selftest":
        cmd += [f'-GMEM_DIR="{model / "mem"}"', f'-GVEC_DIR="{model / "vectors"}"']
    proc = subprocess.run(
        [*cmd, str(rtl_runner.RTL_DIR / f"{top}.v")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, (
        f"verilator lint of {top} ({case.name}):\n{proc.stderr[-4000:]}"
    )
