"""Testbench of rtl/ernn_top.v: every output of every time step equals GoldenNetwork.run_stream, bit for bit.

Models (``ernn_top_models.Case``): LSTM and GRU trained on JapaneseVowels for a few epochs, and models with
PyTorch's random initial weights in shapes nobody trains here: 1-2 layers, projection on/off, peepholes
on/off, k = 4, 8, 16, hidden sizes that are not multiples of k, and P (MAC lanes) below, equal to and
above the k/2 + 1 bins, multiples of them (rounds of whole row blocks) and not. Each is exported
(``ernn export``: memories in the PE's layout for its P, and in the header the job table the controller
steps through) and run through cocotb (``ernn.sim.rtl``: cocotbext-axi source and sink, one AXI-Stream
frame per sequence) on Icarus and Verilator.

Stimulus (seeded; the seed is printed and ``ERNN_SEED`` reproduces it): the exporter's test vectors (real
test sequences), random sequences back to back in several styles (N(0, 1) features, full-scale random,
zeros, impulses, alternating signs, constant extremes), a long full-scale saturating stream; random tvalid
gaps and tready back-pressure; a reset in the middle of a sequence. Every output is compared; on a mismatch
the failure names the first divergence: time step, layer, block and unit of h_t (from the h-memory writes),
and, when the matvec already differs, the gate, block and sample of its output (from the gate-buffer
writes), with the seed. A header whose weight depth or job table does not fit the datapath must stop
elaboration with an ``$error`` naming it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from ernn_tbutil import seed_for
from ernn_top_models import (
    MODEL_ROOT,
    Case,
    first_frame_flags,
    golden_layers,
    model_dir,
    random_stream,
    saturating_stream,
    vector_stream,
)

from ernn.export import layout as hw_layout
from ernn.export.writer import ExportedModel
from ernn.golden.matvec import input_spectra, output_blocks
from ernn.golden.network import GoldenNetwork
from ernn.sim import rtl as rtl_sim
from ernn.sim import runner as rtl_runner

# ------------------------------------------------------------------------------------------------------
# models
JV_LSTM = Case("jv_lstm", trained=True)  # the embedded default: LSTM 12 -> 32, k 8, default P
JV_GRU = Case("jv_gru", cell="gru", trained=True, lanes=3)  # P = 3 does not divide the 5 bins
LSTMP_PEEP = Case(
    "lstmp_peep_2l_k4",
    input_size=10,
    hidden_size=20,
    proj_size=6,
    peephole=True,
    num_layers=2,
    block_size=4,
    lanes=3,  # = the 3 bins: rounds of whole row blocks (no gearbox lane muxes)
    seed=1,
)
GRU_2L_K16 = Case(
    "gru_2l_k16", cell="gru", input_size=20, hidden_size=40, num_layers=2, block_size=16, lanes=6, seed=2
)
LSTM_PEEP_K16 = Case(
    "lstm_peep_k16", input_size=7, hidden_size=24, peephole=True, block_size=16, lanes=9, seed=3
)
JV_LSTM_P7 = Case("jv_lstm_p7", trained=True, lanes=7)
GRU_K4 = Case("gru_k4", cell="gru", input_size=6, hidden_size=8, block_size=4, lanes=4, seed=4)
# slow variants
LSTMP_K32 = Case(
    "lstmp_k32", input_size=40, hidden_size=96, proj_size=40, num_layers=2, block_size=32, lanes=24, seed=5
)
GRU_3L_K8 = Case(
    "gru_3l_k8", cell="gru", input_size=12, hidden_size=30, num_layers=3, block_size=8, lanes=5, seed=6
)
LSTM_K64 = Case("lstm_k64", input_size=64, hidden_size=64, block_size=64, lanes=33, seed=7)
# the exporter's GRU order in, rz, hn with the layers pipelined (schedule.gru_in_first, layer_skew)
GRU_2L_IN_FIRST = Case(
    "gru_2l_in_first", cell="gru", input_size=6, hidden_size=4, num_layers=2, block_size=4, lanes=8, seed=8
)
# 8-bit data with the MAC multiplies packed two weight products to one (export --dsp-pack: weight spectra
# narrowed to 7 bits at k = 8) and real lanes for bins 0 and k/2 (P = 2 row blocks of 5 bins): SR1's
# packed design point (docs/performance.md) at a size that simulates in seconds
PACK8_LSTMP = Case(
    "pack8_lstmp_peep_2l_k8",
    input_size=12,
    hidden_size=24,
    proj_size=16,
    peephole=True,
    num_layers=2,
    block_size=8,
    lanes=10,
    data_bits=8,
    dsp_pack=True,
    seed=9,
)

#: (case, stimulus, frames, valid-gap probability, ready-stall probability)
DEFAULT = [
    (JV_LSTM, "vectors", 0, 0.3, 0.3),
    (JV_LSTM, "saturating", 200, 0.1, 0.2),
    (JV_GRU, "vectors", 0, 0.2, 0.4),
    (GRU_2L_K16, "random", 30, 0.4, 0.4),
    (PACK8_LSTMP, "random", 40, 0.3, 0.3),  # LSTMP with peepholes, 2 layers (lstmp_peep_2l_k4: slow)
]
SLOW = [
    (LSTMP_PEEP, "random", 40, 0.3, 0.3),
    (JV_LSTM, "saturating", 1000, 0.05, 0.05),
    (JV_LSTM_P7, "random", 200, 0.3, 0.3),
    (LSTM_PEEP_K16, "random", 60, 0.5, 0.5),
    (LSTMP_K32, "random", 60, 0.3, 0.3),
    (GRU_3L_K8, "random", 80, 0.3, 0.3),
    (LSTM_K64, "random", 30, 0.3, 0.3),
    (GRU_K4, "saturating", 4000, 0.2, 0.2),
    (GRU_2L_IN_FIRST, "random", 60, 0.3, 0.3),
]


def _ids(params):
    return [f"{c.name}-{s}" for c, s, *_ in params]


# ------------------------------------------------------------------------------------------------------
# checking
def _unpack_block(word: str, width: int, count: int) -> np.ndarray:
    return np.array(rtl_runner.unpack(int(word), width, count), dtype=np.int64)


def rtl_layers(raw: dict, seg: int, net: GoldenNetwork, steps: int) -> list[np.ndarray]:
    """h_t of every layer as the RTL wrote it to its h memory, (steps, out) per layer (missing = -1)."""
    k = net.numerics.block_size
    out = net.info.output_size
    qh = -(-out // k)
    layers = [np.full((steps, out), -1, dtype=np.int64) for _ in net.layers]
    words = raw[f"h_data{seg}"]
    for idx, word in enumerate(words):
        stage, blk = divmod(idx, qh)
        t, layer = divmod(stage, len(net.layers))
        if t >= steps:
            break
        vals = _unpack_block(word, net.numerics.data.word, k)
        n = min(k, out - blk * k)
        layers[layer][t, blk * k : blk * k + n] = vals[:n]
    return layers


def golden_gates(net: GoldenNetwork, layer: int, x: np.ndarray, h_prev: np.ndarray) -> np.ndarray:
    """The matvec outputs the RTL's gate buffer holds for one layer step: (4, p k) Q(ifft_out), uncropped
    (LSTM i, f, g, o; GRU r, z, in, hn), composed from the golden model's functions as QuantizedLayer.step."""
    lay = net.layers[layer]
    cfg = net.numerics
    k = cfg.block_size
    rows = -(-lay.hidden_size // k) * k
    ax_r, ax_i = lay.input_acc(x[None])
    hr, hi = input_spectra(h_prev[None], lay.w_hh.shape[2], cfg)
    ah_r, ah_i = lay.w_hh.mac(hr, hi)
    if lay.cell == "lstm":
        return output_blocks(ax_r + ah_r, ax_i + ah_i, rows, cfg)[0]
    acc_r = np.concatenate(
        (ax_r[..., :2, :, :] + ah_r[..., :2, :, :], ax_r[..., 2:, :, :], ah_r[..., 2:, :, :]), -3
    )
    acc_i = np.concatenate(
        (ax_i[..., :2, :, :] + ah_i[..., :2, :, :], ax_i[..., 2:, :, :], ah_i[..., 2:, :, :]), -3
    )
    return output_blocks(acc_r, acc_i, rows, cfg)[0]


def locate(raw: dict, seg: int, net: GoldenNetwork, frames: np.ndarray, last: np.ndarray, seed: int) -> str:
    """Where the RTL first diverged from the golden model: step, layer, block, unit; gate if the matvec did."""
    steps = len(frames)
    gold = golden_layers(net, frames, last)
    rtl = rtl_layers(raw, seg, net, steps)
    k = net.numerics.block_size
    first = first_frame_flags(last)
    for t in range(steps):
        for layer, (g, r) in enumerate(zip(gold, rtl, strict=True)):
            bad = np.flatnonzero(g[t] != r[t])
            if not bad.size:
                continue
            u = int(bad[0])
            where = (
                f"time step {t}, layer {layer}, block {u // k}, unit {u}: h_t = {int(r[t, u])}, golden "
                f"{int(g[t, u])} ({bad.size} of {g.shape[1]} units differ)"
            )
            # the gate pre-activations (matvec outputs) of this layer step, from the gate-buffer writes
            x = frames[t] if layer == 0 else gold[layer - 1][t]
            h_prev = np.zeros(net.info.output_size, dtype=np.int64) if first[t] else gold[layer][t - 1]
            want = golden_gates(net, layer, x, h_prev)
            p = -(-net.info.hidden_size // k)
            stage = t * len(net.layers) + layer
            ydata, yw = raw[f"y_data{seg}"], raw[f"y_writes{seg}"]
            lo = stage * 4 * p
            names = "ifgo" if net.info.cell == "lstm" else ("r", "z", "in", "hn")
            for idx in range(lo, min(lo + 4 * p, len(ydata))):
                _, slot, blk = (int(v) for v in yw[idx])
                got = _unpack_block(ydata[idx], net.numerics.ifft_out.word, k)
                exp = want[slot, blk * k : (blk + 1) * k]
                diff = np.flatnonzero(got != exp)
                if diff.size:
                    n = int(diff[0])
                    return (
                        f"{where}; the matvec already differs: gate {names[slot]}, block {blk}, sample {n} "
                        f"(unit {blk * k + n}): {int(got[n])}, golden {int(exp[n])} (seed {seed})"
                    )
            return f"{where}; every gate pre-activation matches: the cell update or projection diverged (seed {seed})"
    return f"the outputs differ but every layer's h memory matches the golden model (seed {seed})"


def check_segment(
    raw: dict, seg: int, net: GoldenNetwork, frames, last, seed: int, count: int | None = None
) -> None:
    """The RTL's outputs of one stimulus segment (the first ``count``, or all) equal the golden model's."""
    expected, _ = net.run_stream(frames, last)
    got = raw[f"out_data{seg}"]
    n = len(frames) if count is None else count
    assert len(got) == n, f"segment {seg}: {len(got)} outputs, expected {n} (seed {seed})"
    if not np.array_equal(got, expected[:n]):
        bad = np.argwhere(got != expected[:n])[0]
        msg = f"output of time step {bad[0]}, unit {bad[1]}: got {got[tuple(bad)]}, expected {expected[tuple(bad)]}"
        wave = f"waveform {raw['waves']}" if "waves" in raw else "ERNN_WAVES=1 records the waveform"
        msg += f" (output beat at simulated time {int(raw[f'out_time{seg}'][bad[0]])} ns; {wave})"
        raise AssertionError(
            f"ernn_top diverged: {msg}; first divergence: {locate(raw, seg, net, frames, last, seed)}"
        )
    np.testing.assert_array_equal(
        raw[f"out_last{seg}"], last[:n], err_msg=f"tlast not mirrored (seed {seed})"
    )
    cyc_in, cyc_out = raw[f"in_cycle{seg}"], raw[f"out_cycle{seg}"]
    assert np.all(np.diff(cyc_out) > 0) and np.all(cyc_out[: len(cyc_in)] > cyc_in[: len(cyc_out)]), (
        f"output cycles must increase and follow their inputs (seed {seed})"
    )


def damaged_copy(case: Case, tag: str) -> Path:
    """A fresh copy of ``case``'s model directory to damage, at a stable path (the simulators' builds are
    reused across sessions)."""
    broken = MODEL_ROOT / f"{case.name}-{tag}"
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(model_dir(case), broken, ignore=shutil.ignore_patterns("run", "tb_case.json"))
    return broken


def _stimulus(case: Case, kind: str, frames: int, model: Path, net: GoldenNetwork, seed: int):
    rng = np.random.default_rng(seed)
    if kind == "vectors":
        return vector_stream(model)
    if kind == "saturating":
        return saturating_stream(net, rng, frames)
    return random_stream(net, rng, frames)


def run_case(sim, case, kind, frames, p_gap, p_stall, seed, tmp_path) -> None:
    model = model_dir(case)
    net = ExportedModel(model).net
    x, last = _stimulus(case, kind, frames, model, net, seed)
    print(f"{case.name} ({kind}, {len(x)} frames) on {sim}, seed {seed} (ERNN_SEED={seed} reproduces it)")
    raw = rtl_sim.simulate(
        model,
        [{"frames": x, "last": last, "reset_after": -1}],
        sim=sim,
        work_dir=tmp_path,
        seed=seed,
        valid_gap_prob=p_gap,
        ready_stall_prob=p_stall,
        probe=True,
    )
    check_segment(raw, 0, net, x, last, seed)


# ------------------------------------------------------------------------------------------------------
# tests
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("case", "kind", "frames", "p_gap", "p_stall"), DEFAULT, ids=_ids(DEFAULT))
def test_ernn_top(sim, case, kind, frames, p_gap, p_stall, request, tmp_path) -> None:
    run_case(sim, case, kind, frames, p_gap, p_stall, seed_for(request.node.nodeid), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("case", "kind", "frames", "p_gap", "p_stall"), SLOW, ids=_ids(SLOW))
def test_ernn_top_slow(sim, case, kind, frames, p_gap, p_stall, request, tmp_path) -> None:
    run_case(sim, case, kind, frames, p_gap, p_stall, seed_for(request.node.nodeid), tmp_path)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_reset_in_mid_sequence(sim, request, tmp_path) -> None:
    """A reset while a sequence is in flight: the outputs before it are right, the next stream starts clean."""
    seed = seed_for(request.node.nodeid)
    model = model_dir(LSTMP_PEEP)
    net = ExportedModel(model).net
    rng = np.random.default_rng(seed)
    xa, la = random_stream(net, rng, 24, styles=("moderate", "full"))
    la[:] = False
    la[-1] = True  # one long sequence: the reset hits its middle
    cut = int(rng.integers(3, 12))
    xb, lb = random_stream(net, rng, 16)
    print(f"reset after {cut} of {len(xa)} outputs, seed {seed}")
    raw = rtl_sim.simulate(
        model,
        [{"frames": xa, "last": la, "reset_after": cut}, {"frames": xb, "last": lb, "reset_after": -1}],
        sim=sim,
        work_dir=tmp_path,
        seed=seed,
        valid_gap_prob=0.2,
        ready_stall_prob=0.2,
        probe=True,
    )
    check_segment(raw, 0, net, xa, la, seed, count=cut)
    check_segment(raw, 1, net, xb, lb, seed)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_run_rtl_default_model(sim, request, tmp_path) -> None:
    """The run_rtl API on the embedded default model: outputs, TLAST, cycle stamps, steady-state cycles per
    step within 1.25x of the ideal (ceil(complex MACs / P) + pipeline latency) when nothing stalls."""
    model = model_dir(JV_LSTM)
    exported = ExportedModel(model)
    x, last = vector_stream(model)
    res = rtl_sim.run_rtl(model, x, last, sim=sim, work_dir=tmp_path, seed=seed_for(request.node.nodeid))
    expected, _ = exported.net.run_stream(x, last)
    np.testing.assert_array_equal(res.outputs, expected)
    np.testing.assert_array_equal(res.last_out, last)
    assert res.outputs.dtype == np.int64 and res.in_cycles.shape == res.out_cycles.shape == (len(x),)
    assert np.all(np.diff(res.in_cycles) > 0) and np.all(res.out_cycles > res.in_cycles)
    assert res.cycles_total > res.out_cycles[-1] and res.sim == sim and res.wall_seconds > 0
    lanes = exported.config["hardware"]["lanes"]
    model_cycles = hw_layout.cycle_model(exported.net.info, lanes)
    ratio = res.cycles_per_step / model_cycles.ideal
    print(f"{res.cycles_per_step} cycles/step, ideal {model_cycles.ideal}, ratio {ratio:.3f}")
    assert ratio <= 1.25


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_weight_depth_mismatch_is_refused(sim, tmp_path) -> None:
    """A header whose weight-memory depth does not match the layout for its P stops elaboration."""
    broken = damaged_copy(GRU_K4, f"bad-depth-{sim}")
    header = (broken / "ernn_params.vh").read_text()
    depth = int(header.split("ERNN_W_DEPTH = ")[1].split(";")[0])
    (broken / "ernn_params.vh").write_text(
        header.replace(f"ERNN_W_DEPTH = {depth};", f"ERNN_W_DEPTH = {depth + 1};")
    )
    rtl_sim.prepare_build(broken, sim)
    rtl_runner.expect_elaboration_error(
        rtl_sim.TOPLEVEL, rtl_sim.build_params(broken), r"W_DEPTH = \d+, but this model", sim=sim
    )


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        # job 1's weight region moved one word onto job 2's
        ("w_base", r"ernn_job_table job 2: its weight words"),
        # job 0 reads one spectrum slot more than the PE has
        ("read_count", r"ernn_job_table job 0: its loads or reads leave the \d+ spectrum slots"),
        # the W_hn h job moved before the layer's second job (hn must come last)
        ("order", r"ernn_job_table job 1 is out of order"),
        # job 0 reads one slot less than it loads (its loads go to the slots it reads, from read_base)
        ("load_read", r"ernn_job_table job 0: .*, it loads other slots than it reads"),
    ],
)
def test_job_table_mismatch_is_refused(sim, damage, message) -> None:
    """A header whose job table does not fit the datapath it drives stops elaboration naming the job (the
    checks of rtl/ernn_job_table.v; the schedule itself is the exporter's, ernn.export.schedule)."""
    broken = damaged_copy(GRU_K4, f"bad-jobs-{damage}-{sim}")
    header = (broken / "ernn_params.vh").read_text()
    table = hw_layout.parse_job_table(header)
    bad = list(table)
    if damage == "w_base":
        bad[1] = dataclasses.replace(bad[1], w_base=bad[1].w_base + 1)
    elif damage == "read_count":
        slots = int(header.split("ERNN_XBUF_DEPTH = ")[1].split(";")[0])
        bad[0] = dataclasses.replace(bad[0], read_count=slots + 1 - bad[0].read_base)
    elif damage == "load_read":
        assert bad[0].load_count >= 2
        bad[0] = dataclasses.replace(bad[0], read_count=bad[0].load_count - 1)
    else:
        bad[1], bad[2] = bad[2], bad[1]
    damaged = header.replace(
        "\n".join(hw_layout.job_table_lines(table)), "\n".join(hw_layout.job_table_lines(bad))
    )
    assert damaged != header
    (broken / "ernn_params.vh").write_text(damaged)
    rtl_sim.prepare_build(broken, sim)
    rtl_runner.expect_elaboration_error(rtl_sim.TOPLEVEL, rtl_sim.build_params(broken), message, sim=sim)


@pytest.mark.parametrize(
    ("damage", "message"), [("bias", "the cell update"), ("weights", "the matvec already differs")]
)
def test_divergence_report_names_the_place(damage, message, request, tmp_path) -> None:
    """A corrupted memory word makes the check fail with the step, layer, unit (and gate) and the seed."""
    seed = seed_for(request.node.nodeid)
    sim = rtl_runner.simulators()[0]
    net = ExportedModel(model_dir(GRU_K4)).net
    broken = damaged_copy(GRU_K4, f"bad-{damage}-{sim}")
    name = {"bias": "cell_bias.mem", "weights": "pe_weights.mem"}[damage]
    words = (broken / "mem" / name).read_text().split()
    words[0] = f"{int(words[0], 16) ^ (1 << 9):0{len(words[0])}x}"  # one bit of block 0's first field
    (broken / "mem" / name).write_text("\n".join(words) + "\n")
    x, last = random_stream(net, np.random.default_rng(seed), 6, styles=("moderate",))
    raw = rtl_sim.simulate(
        broken,
        [{"frames": x, "last": last, "reset_after": -1}],
        sim=sim,
        work_dir=tmp_path / "work",
        seed=seed,
        probe=True,
        verify=False,
    )
    with pytest.raises(AssertionError) as err:
        check_segment(raw, 0, net, x, last, seed)
    text = str(err.value)
    print(text)
    assert "time step 0, layer 0, block 0" in text and message in text and f"seed {seed}" in text
    assert f"simulated time {int(raw['out_time0'][0])} ns" in text


@pytest.mark.parametrize(
    "case",
    [JV_LSTM, JV_GRU, LSTMP_PEEP, GRU_2L_K16, LSTM_PEEP_K16, GRU_K4, PACK8_LSTMP],
    ids=lambda c: c.name,
)
@pytest.mark.parametrize("top", ["ernn_top", "ernn_selftest"])
def test_verilator_lint_clean(case, top) -> None:
    """verilator --lint-only -Wall accepts ernn_top and the self-test harness around it for every model
    shape and test-vector count (lstmp_peep_2l_k4 has 8 frames, a power of two) (waivers are in the RTL,
    justified)."""
    rtl_runner.setup_simulator("verilator")
    model = model_dir(case)
    cmd = [
        "verilator",
        "--lint-only",
        "-Wall",
        f"-I{model}",
        f"-I{rtl_runner.RTL_DIR}",
        "--top-module",
        top,
        str(rtl_runner.RTL_DIR / f"{top}.v"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"verilator lint of {top} ({case.name}):\n{proc.stderr[-4000:]}"


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
