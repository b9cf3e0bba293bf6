"""Testbench of rtl/ernn_tt_train_top.v (ernn_tt_engine): N TT-MLP training steps in RTL leave exactly the
golden model's cores, biases and rank masks (golden.tt_train.mlp_step) after EVERY step, then an inference
pass gives golden.tt_train.mlp_predict's outputs, on Icarus and Verilator, with random gaps on the command
stream and back-pressure on the replies. The cocotb test here also runs the TT-GRU
(test_ernn_tt_train_gru.py): it only knows regions, words and steps.

The program ROM is compiled by ernn.export.tt_program from the golden configuration; the expected states
are computed with the golden model (tt_cases.run_config) and handed to the cocotb side in the run's
configuration. A mismatch names the step, the tensor (a core, a bias or a mask) and the word, and the
seed. Each step's status reply carries the engine's cycle count, checked against the program length
(tt_program.step_cycles).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from ernn_tbutil import first_divergence, pause_generator, reset_dut, seed_for
from tt_cases import run_config

from ernn.export.tt_program import compile_mlp
from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_tt_train_top"
CMD_WRITE, CMD_READ, CMD_STEP, CMD_INFER = 1, 2, 3, 4

try:
    import cocotb

    def _header(cmd: int, length: int, addr: int) -> int:
        return cmd << 28 | length << 16 | addr

    @cocotb.test(timeout_time=200, timeout_unit="ms")
    async def tt_train_matches_golden(dut) -> None:
        from cocotb.triggers import RisingEdge
        from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

        conf = rtl_runner.tb_config()
        seed = int(conf["seed"])
        rng = np.random.default_rng(seed)
        source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        source.set_pause_generator(pause_generator(rng, float(conf["p_gap"])))
        sink.set_pause_generator(pause_generator(rng, float(conf["p_stall"])))
        await reset_dut(dut)
        regions = conf["regions"]  # name -> (first address, words)

        async def write(name: str, values) -> None:
            addr, n = regions[name]
            words = rtl_runner.to_unsigned(np.asarray(values).reshape(-1), 32)
            assert len(words) == n, f"{name}: {len(words)} words for a region of {n}"
            await source.send(AxiStreamFrame([_header(CMD_WRITE, n, addr), *words]))

        async def read(name: str) -> np.ndarray:
            addr, n = regions[name]
            await source.send(AxiStreamFrame([_header(CMD_READ, n, addr)]))
            frame = await sink.recv()
            return np.array([rtl_runner.from_unsigned(int(w), 32) for w in frame.tdata])

        async def run(cmd: int) -> tuple[int, int]:
            await source.send(AxiStreamFrame([_header(cmd, 0, 0)]))
            frame = await sink.recv()
            assert len(frame.tdata) == 2, f"status reply of {len(frame.tdata)} words, expected 2"
            return int(frame.tdata[0]), int(frame.tdata[1])

        if conf.get("reset_at_clock") is not None:
            # a reset part-way through a training step: the run below (load, steps, read-back) must then be
            # the golden one from the start: step count, random source and results all begin again
            for name, values in conf["initial"].items():
                await write(name, values)
            for name, values in conf["steps"][0]["inputs"].items():
                await write(name, values)
            await source.send(AxiStreamFrame([_header(CMD_STEP, 0, 0)]))
            await source.wait()
            for _ in range(int(conf["reset_at_clock"])):
                await RisingEdge(dut.clk)
            assert sink.empty(), (
                "ernn_tt_train_top: the step finished before the reset, earlier than the model"
            )
            dut.rst.value = 1
            for _ in range(2):
                await RisingEdge(dut.clk)
            dut.rst.value = 0
            sink.clear()
            await RisingEdge(dut.clk)
        for name, values in conf["initial"].items():
            await write(name, values)
        for name, values in conf["initial"].items():  # the load reads back unchanged
            msg = first_divergence(
                await read(name),
                np.asarray(values).reshape(-1),
                ("word",),
                seed,
                f"ernn_tt_train_top: read-back of {name} before training: ",
            )
            assert msg is None, msg
        cycles = []
        for step, entry in enumerate(conf["steps"]):
            for name, values in entry["inputs"].items():
                await write(name, values)
            count, cyc = await run(CMD_STEP)
            assert count == step + 1, f"step {step}: the status counts {count} steps, expected {step + 1}"
            cycles.append(cyc)
            for name, values in entry["after"].items():
                msg = first_divergence(
                    await read(name),
                    np.asarray(values).reshape(-1),
                    ("word",),
                    seed,
                    f"ernn_tt_train_top: after step {step}, tensor {name}: ",
                )
                assert msg is None, msg
        assert set(cycles) == {int(conf["cycles"])}, f"cycles per step {cycles}, the program {conf['cycles']}"
        for name, values in conf["infer_inputs"].items():
            await write(name, values)
        await run(CMD_INFER)
        msg = first_divergence(
            await read("y"),
            np.asarray(conf["infer_y"]).reshape(-1),
            ("word",),
            seed,
            "ernn_tt_train_top: inference on the trained cores, y ",
        )
        assert msg is None, msg

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


def _initial(shapes, fmts, seed: int, prune_shift: int):
    from ernn.golden import tt_train as gt

    state = gt.random_state(shapes, fmts, seed)
    if prune_shift:
        for k in range(1, shapes["w"].cores):
            state.tensors[f"w{k - 1}"][..., -1] //= 4
            state.tensors[f"w{k}"][:, -1] //= 4
    return state


def _case(inputs, outputs, cores, rank, batch, lr_shift, prune_shift, steps, seed, tmp_path, prepare=None):
    """The run's parameters and configuration: a random TT-MLP, `steps` golden steps on random batches
    (lr_shift 3: a large rate, the cores saturate within a few steps; 6: the golden default). With
    prune_shift the last rank slice of every boundary starts at a quarter of its random value (1/16 of
    its energy), so that pruning happens within the steps (checked: a pruning case that prunes nothing
    proves nothing). ``prepare(state)`` edits the initial state (the program, and so the build, stays)."""
    from ernn.golden import tt_train as gt
    from ernn.golden.tt_formats import TTTrainFormats
    from ernn.shape.structures import TensorTrain

    fmts = TTTrainFormats(lr_shift=lr_shift, prune_shift=prune_shift, seed=seed & 0xFFFF)
    shapes = gt.mlp_shapes(inputs, outputs, TensorTrain(cores, rank))
    state = _initial(shapes, fmts, seed, prune_shift)
    if prepare:
        prepare(state)
    prog = compile_mlp(shapes["w"], batch, fmts)
    rng = np.random.default_rng(seed)
    batches = [
        (
            rng.integers(fmts.x.min_int, fmts.x.max_int + 1, size=(batch, inputs)),
            rng.integers(0, outputs, batch),
        )
        for _ in range(steps)
    ]
    params, conf = run_config(
        prog,
        tmp_path,
        seed,
        state,
        batches,
        lambda st, x, labels: gt.mlp_step(st, x, labels, fmts)[0],
        lambda st, x, _labels: gt.mlp_predict(st, x, fmts),
    )
    if prune_shift and not prepare:
        after = conf["steps"][-1]["after"]
        pruned = sum(int((1 - np.asarray(after[f"m{k}"])).sum()) for k in range(1, cores))
        assert pruned, f"the pruning case pruned nothing in {steps} steps (seed {seed}): choose another shape"
    return params, conf


# (inputs, outputs, cores, rank, batch, lr_shift, prune_shift): two cores with padded rows, three cores,
# rank pruning
CASES = [(12, 6, 2, 3, 3, 3, 0), (16, 8, 3, 2, 2, 6, 0), (12, 6, 2, 3, 3, 4, 1)]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("inputs", "outputs", "cores", "rank", "batch", "lr_shift", "prune_shift"), CASES)
def test_ernn_tt_train(
    sim, inputs, outputs, cores, rank, batch, lr_shift, prune_shift, request, tmp_path
) -> None:
    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    params, conf = _case(inputs, outputs, cores, rank, batch, lr_shift, prune_shift, 3, seed, tmp_path)
    rtl_runner.run(TOPLEVEL, "test_ernn_tt_train", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_tt_train_reset_mid_step(sim, request, tmp_path) -> None:
    """A reset at a seeded clock inside a training step, under gaps and back-pressure: no status comes out
    of the interrupted step, and the cores loaded afresh then train bit-exact with golden from step 1."""
    seed = seed_for(request.node.nodeid)
    params, conf = _case(12, 6, 2, 3, 3, 3, 0, 2, seed, tmp_path)
    conf["reset_at_clock"] = int(np.random.default_rng(seed).integers(5, int(conf["cycles"]) - 5))
    print(f"seed {seed}: reset {conf['reset_at_clock']} clocks into a step of {conf['cycles']}")
    rtl_runner.run(TOPLEVEL, "test_ernn_tt_train", params, sim=sim, config=conf)


def _zero_cores_slice_0_pruned(state) -> None:
    """Every core 0 (every slice energy 0, and no gradient reaches them) with slice 0 pruned: golden keeps
    the strongest *kept* slice, so slice 0 stays pruned (an earlier compiler revived it)."""
    for k in range(state.shapes["w"].cores):
        state.tensors[f"w{k}"][:] = 0
    state.masks["w_mask1"][:, 0] = 0


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_tt_train_prune_all_energies_zero(sim, request, tmp_path) -> None:
    """Pruning's edge case in RTL (the pruning case's program, so its build): every slice energy 0 and
    slice 0 pruned before the step; it must stay pruned after every step, as in golden."""
    seed = seed_for(request.node.nodeid)
    params, conf = _case(12, 6, 2, 3, 3, 4, 1, 2, seed, tmp_path, prepare=_zero_cores_slice_0_pruned)
    assert all(int(entry["after"]["m1"][0]) == 0 for entry in conf["steps"]), "golden revived slice 0"
    rtl_runner.run(TOPLEVEL, "test_ernn_tt_train", params, sim=sim, config=conf)


@pytest.mark.slow
@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(
    ("inputs", "outputs", "cores", "rank", "batch", "prune_shift"),
    [(16, 10, 2, 4, 4, 0), (13, 5, 2, 2, 4, 0), (32, 16, 3, 3, 2, 0), (16, 10, 2, 4, 4, 1)],
)
def test_ernn_tt_train_long(sim, inputs, outputs, cores, rank, batch, prune_shift, request, tmp_path) -> None:
    """More steps, a larger rank and a padded input side."""
    seed = seed_for(request.node.nodeid)
    params, conf = _case(inputs, outputs, cores, rank, batch, 6, prune_shift, 12, seed, tmp_path)
    rtl_runner.run(TOPLEVEL, "test_ernn_tt_train", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_tt_train_refuses_bad_parameters(sim, request, tmp_path) -> None:
    """A memory larger than its address width and a missing program stop the elaboration by name."""
    params, _ = _case(12, 6, 2, 3, 3, 6, 0, 1, seed_for(request.node.nodeid), tmp_path)
    rtl_runner.expect_elaboration_error(
        TOPLEVEL, dict(params, DEPTH=1 << params["AW"] + 1), r"ernn_tt_engine: DEPTH \d+ must fit AW", sim=sim
    )
    rtl_runner.expect_elaboration_error(
        TOPLEVEL, dict(params, PROG_FILE=""), r"ernn_tt_engine needs PROG_FILE", sim=sim
    )


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
