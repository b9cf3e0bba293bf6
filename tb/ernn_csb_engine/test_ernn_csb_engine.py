"""Testbench of rtl/ernn_csb_engine.v: y = W x of a CSB matrix from the exporter's images, bit for bit with
the golden CSB matvec (``ernn.golden.csb.accumulate`` + ``finish``), with random input gaps and output
back-pressure, on Icarus and Verilator; and the images' elaboration checks naming the block.

The matrices are random weights projected onto CSB by the training stage (``ernn.train.csb``), quantized
by the golden model and written by ``ernn.export.csb.write_matrix``; the inputs are random Q(data)
vectors, full scale included. The expected outputs are computed here with the golden model and handed to
the cocotb side in the run's configuration. A mismatch names the first diverging vector and row, and the seed.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from ernn_tbutil import first_divergence, pause_generator, reset_dut, seed_for, sim_time_ns

from ernn.sim import runner as rtl_runner

TOPLEVEL = "ernn_csb_engine"

try:
    import cocotb

    @cocotb.test(timeout_time=20, timeout_unit="ms")
    async def csb_engine_matches_golden(dut) -> None:
        from cocotb.triggers import RisingEdge
        from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

        conf = rtl_runner.tb_config()
        seed, dw, ow = int(conf["seed"]), int(conf["data_w"]), int(conf["out_w"])
        xs, expected = conf["x"], np.asarray(conf["y"], dtype=np.int64)
        rng = np.random.default_rng(seed)
        source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, byte_lanes=1)
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, byte_lanes=1)
        source.set_pause_generator(pause_generator(rng, float(conf["p_gap"])))
        sink.set_pause_generator(pause_generator(rng, float(conf["p_stall"])))
        await reset_dut(dut)
        if conf.get("reset_at_clock") is not None:
            # a reset in the middle of a vector: nothing of it may come out, and the stream after the reset
            # starts clean (every vector right, none missing, none extra)
            await source.send(AxiStreamFrame(rtl_runner.to_unsigned(conf["x_cut"], dw)))
            for _ in range(int(conf["reset_at_clock"])):
                await RisingEdge(dut.clk)
            assert sink.empty(), "ernn_csb_engine: a vector came out before the reset, earlier than the model"
            dut.rst.value = 1
            for _ in range(2):
                await RisingEdge(dut.clk)
            dut.rst.value = 0
            source.clear()
            await RisingEdge(dut.clk)
        for x in xs:
            await source.send(AxiStreamFrame(rtl_runner.to_unsigned(x, dw)))
        got, done_ns = [], []
        for _ in xs:
            frame = await sink.recv()
            done_ns.append(sim_time_ns())
            got.append([rtl_runner.from_unsigned(int(w), ow) for w in frame.tdata])
        if conf.get("period") is not None:  # no gaps, no stalls: one vector every `period` clocks
            spacing = {(b - a) // 10 for a, b in itertools.pairwise(done_ns)}  # 10 ns clock
            assert spacing == {int(conf["period"])}, (
                f"vector spacing {spacing} clocks, the model {conf['period']}"
            )
        for _ in range(4):
            await RisingEdge(dut.clk)
        msg = first_divergence(np.array(got), expected, ("vector", "row"), seed, "ernn_csb_engine: ")
        assert msg is None, msg
        assert sink.empty(), "ernn_csb_engine: more vectors came out than went in"

except ImportError:  # pragma: no cover - pytest collection without cocotb installed fails in run()
    pass


def _matrix(gates: int, rows: int, cols: int, block: int, rate: float, seed: int):
    """A random CSB matrix quantized by the golden model, and its numerics."""
    import torch

    from ernn.golden import csb as gcsb
    from ernn.shape import ModelShape
    from ernn.shape.structures import CSB
    from ernn.train import csb as tcsb

    params = CSB(block, rate)
    rng = np.random.default_rng(seed)
    dense = tcsb.project(torch.from_numpy(rng.normal(size=(gates, rows, cols)) * 0.5), params).numpy()
    shape = ModelShape(cell="gru", input_size=cols, hidden_size=rows, structure=params)
    cfg = gcsb.numerics(shape, float(np.abs(dense).max()), 1.0, 0.0)
    return gcsb.quantize_matrix(gcsb.from_description(dense, params), cfg.weight_spectrum), cfg


def engine_params(m, cfg, folder: Path) -> dict[str, object]:
    """Verilog parameters of ernn_csb_engine for a golden CSBMatrix (images written into ``folder``)."""
    from ernn.export import csb as ecsb

    folder.mkdir(parents=True, exist_ok=True)
    staged = ecsb.write_matrix(m, folder, "m", cfg.weight_spectrum.word)  # staged by content hash
    return {
        "GATES": m.gates,
        "ROWS": m.rows,
        "COLS": m.cols,
        "BLOCK": m.block,
        "DATA_W": cfg.data.word,
        "W_W": cfg.weight_spectrum.word,
        "ACC_W": cfg.accumulator.word,
        "OUT_W": cfg.ifft_out.word,
        "SHIFT": cfg.accumulator.frac - cfg.ifft_out.frac,
        "COUNT_W": ecsb.count_word(m.block),
        "INDEX_W": ecsb.index_word(m.block),
        "ROWS_USED": int(m.row_index.size),
        "COLS_USED": int(m.col_index.size),
        "VALUES_USED": int(m.values.size),
        "COUNTS_FILE": staged["counts"],
        "ROWS_FILE": staged["rows"],
        "COLS_FILE": staged["cols"],
        "VALUES_FILE": staged["values"],
    }


# (gates, rows, cols, block, rate): an LSTM-like stack with a narrow last column block, a matrix with
# empty blocks at a high rate, a projection-like single gate
CASES = [(4, 16, 12, 8, 0.6), (1, 16, 16, 4, 0.85), (2, 8, 20, 8, 0.3)]


@pytest.mark.parametrize("sim", rtl_runner.simulators())
@pytest.mark.parametrize(("gates", "rows", "cols", "block", "rate"), CASES)
def test_ernn_csb_engine(sim, gates, rows, cols, block, rate, request, tmp_path) -> None:
    from ernn.golden import csb as gcsb

    seed = seed_for(request.node.nodeid)
    print(f"seed {seed} (set ERNN_SEED to reproduce)")
    m, cfg = _matrix(gates, rows, cols, block, rate, seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=(6, cols))
    x[0] = cfg.data.max_int  # full scale, both signs
    x[1] = cfg.data.min_int
    y = gcsb.finish(gcsb.accumulate(m, x, cfg), rows, cfg).reshape(len(x), gates * rows)
    params = engine_params(m, cfg, tmp_path)
    conf = {
        "seed": seed,
        "data_w": cfg.data.word,
        "out_w": cfg.ifft_out.word,
        "x": x.tolist(),
        "y": y.tolist(),
        "p_gap": 0.3,
        "p_stall": 0.3,
    }
    rtl_runner.run(TOPLEVEL, "test_ernn_csb_engine", params, sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_csb_engine_cycles(sim, request, tmp_path) -> None:
    """Without gaps and stalls a vector leaves every ernn.export.csb.engine_cycles clocks."""
    from ernn.export import csb as ecsb
    from ernn.golden import csb as gcsb

    seed = seed_for(request.node.nodeid)
    m, cfg = _matrix(1, 16, 16, 4, 0.85, 123)  # a matrix with empty blocks (one clock each)
    assert (m.counts[..., 0] == 0).any()
    x = np.random.default_rng(seed).integers(-4096, 4096, size=(4, 16))
    y = gcsb.finish(gcsb.accumulate(m, x, cfg), 16, cfg).reshape(len(x), 16)
    conf = {
        "seed": seed,
        "data_w": cfg.data.word,
        "out_w": cfg.ifft_out.word,
        "x": x.tolist(),
        "y": y.tolist(),
    }
    conf |= {"p_gap": 0.0, "p_stall": 0.0, "period": ecsb.engine_cycles(m)}
    rtl_runner.run(TOPLEVEL, "test_ernn_csb_engine", engine_params(m, cfg, tmp_path), sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_csb_engine_reset_mid_vector(sim, request, tmp_path) -> None:
    """A reset part-way through a vector (at a seeded clock inside its engine_cycles): that vector never
    comes out and the vectors after the reset are bit-exact, under gaps and back-pressure."""
    from ernn.export import csb as ecsb
    from ernn.golden import csb as gcsb

    seed = seed_for(request.node.nodeid)
    m, cfg = _matrix(4, 16, 12, 8, 0.6, seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=(5, 12))
    y = gcsb.finish(gcsb.accumulate(m, x, cfg), 16, cfg).reshape(len(x), 4 * 16)
    cut = int(rng.integers(2, ecsb.engine_cycles(m) - 1))
    print(f"seed {seed}: reset {cut} clocks into a vector of {ecsb.engine_cycles(m)}")
    conf = {
        "seed": seed,
        "data_w": cfg.data.word,
        "out_w": cfg.ifft_out.word,
        "x": x.tolist(),
        "y": y.tolist(),
        "x_cut": rng.integers(cfg.data.min_int, cfg.data.max_int + 1, size=12).tolist(),
        "reset_at_clock": cut,
        "p_gap": 0.3,
        "p_stall": 0.3,
    }
    rtl_runner.run(TOPLEVEL, "test_ernn_csb_engine", engine_params(m, cfg, tmp_path), sim=sim, config=conf)


@pytest.mark.parametrize("sim", rtl_runner.simulators())
def test_ernn_csb_engine_refuses_bad_images(sim, tmp_path) -> None:
    """Unsorted kept rows, an offset out of range and counts that disagree with the images stop the
    elaboration with a message naming the block."""
    from ernn.export import csb as ecsb

    m, cfg = _matrix(2, 16, 12, 8, 0.5, 7)  # 8-blocks; the last block column is 4 wide
    params = engine_params(m, cfg, tmp_path / "good")
    iw = ecsb.index_word(m.block)
    flat = m.counts.reshape(-1, 2)
    first = int(np.flatnonzero(flat[:, 0] >= 2)[0])
    g, rest = divmod(first, m.counts.shape[1] * m.counts.shape[2])
    i, j = divmod(rest, m.counts.shape[2])
    start = int(flat[:first, 0].sum())
    rows = m.row_index.copy()
    rows[start], rows[start + 1] = rows[start + 1], rows[start]
    bad = dict(params, ROWS_FILE=rtl_runner.write_memh(tmp_path / "rows-unsorted.mem", rows, iw))
    rtl_runner.expect_elaboration_error(
        TOPLEVEL,
        bad,
        rf"CSB block \(gate {g}, block row {i}, block column {j}\): kept row 1 .* not increasing",
        sim=sim,
    )
    # an offset that fits INDEX_W but lies outside a 4-wide last block column
    narrow = int(np.flatnonzero((flat[:, 1] >= 1) & (np.arange(len(flat)) % m.counts.shape[2] == 1))[0])
    g, rest = divmod(narrow, m.counts.shape[1] * m.counts.shape[2])
    i, j = divmod(rest, m.counts.shape[2])
    cols = m.col_index.copy()
    cols[int(flat[:narrow, 1].sum())] = 6
    bad = dict(params, COLS_FILE=rtl_runner.write_memh(tmp_path / "cols-range.mem", cols, iw))
    rtl_runner.expect_elaboration_error(
        TOPLEVEL,
        bad,
        rf"CSB block \(gate {g}, block row {i}, block column {j}\): kept column 0 \(offset 6\) out of range",
        sim=sim,
    )
    bad = dict(params, VALUES_USED=int(m.values.size) + 1)
    rtl_runner.expect_elaboration_error(TOPLEVEL, bad, r"the counts give .* values; the images hold", sim=sim)


if __name__ == "__main__":
    os.environ.setdefault("SIM", "icarus")
    rtl_runner.run_pytest_main()
