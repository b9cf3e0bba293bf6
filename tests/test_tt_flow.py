"""ernn/sim/tt_flow.py without the FPGA tools: the self-test's command stream and golden signature, the
refusals before any tool runs. The flows themselves (Yosys, nextpnr) are the slow tests at the end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ernn.sim import tt_flow, tt_train

SMALL = tt_train.TTTrainConfig(inputs=8, outputs=4, cores=2, rank=2, batch=2, steps=2)


def test_signature_is_the_boards_fold() -> None:
    assert tt_flow.signature([]) == 0
    assert tt_flow.signature([5]) == 5
    # rotl(5, 1) ^ 0x80000000 = 10 ^ 0x80000000; then rotl of that (bit 31 wraps to bit 0) ^ 1
    assert tt_flow.signature([5, 0x80000000]) == 0x8000000A
    assert tt_flow.signature([5, 0x80000000, 1]) == ((0x8000000A << 1) & 0xFFFFFFFF | 1) ^ 1
    assert tt_flow.signature([1, 2]) != tt_flow.signature([2, 1])  # the order counts


def test_selftest_stream_follows_the_protocol() -> None:
    """Commands parse back into the top's protocol (headers and payload lengths), the replies are the
    golden step's: status words, the trained words after the last step, the inference's."""
    prep = tt_train.prepare(SMALL)
    commands, replies = tt_flow.selftest_stream(prep)
    regions = prep.regions()
    by_addr = {addr: name for name, (addr, _) in regions.items()}
    i, seen, reads = 0, [], []
    while i < len(commands):
        cmd, length, addr = commands[i] >> 28, commands[i] >> 16 & 0xFFF, commands[i] & 0xFFFF
        seen.append((cmd, by_addr.get(addr)))
        if cmd == tt_train.CMD_READ:
            reads.append((by_addr[addr], length))
        i += 1 + (length if cmd == tt_train.CMD_WRITE else 0)
    assert i == len(commands)
    assert [c for c, _ in seen].count(tt_train.CMD_STEP) == SMALL.steps
    assert [c for c, _ in seen].count(tt_train.CMD_INFER) == 1
    assert [name for name, _ in reads] == [*prep.trained, "y"]
    cycles = tt_train.step_cycles(prep.program)
    assert replies[:4] == [1, cycles, 2, cycles]
    want = np.concatenate([prep.golden[-1][n].reshape(-1) for n in prep.trained])
    got = np.array(replies[4 : 4 + want.size], dtype=np.int64)
    assert np.array_equal(np.where(got >= 1 << 31, got - (1 << 32), got), want)
    assert len(replies) == 4 + want.size + 2 + prep.infer_y.size


def test_board_images_and_parameters(tmp_path) -> None:
    prep = tt_train.prepare(SMALL)
    params = tt_flow.board_images(prep, tmp_path)
    commands, replies = tt_flow.selftest_stream(prep)
    assert params["CMD_WORDS"] == len(commands) and params["REPLY_WORDS"] == len(replies)
    assert params["EXPECT"] == tt_flow.signature(replies)
    lines = (tmp_path / tt_flow.COMMAND_FILE).read_text().split()
    assert [int(w, 16) for w in lines] == commands
    assert len((tmp_path / tt_flow.PROGRAM_FILE).read_text().split()) == len(prep.program.code)


def test_bad_requests_are_refused_before_any_tool(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tt_flow.of, "_run_tool", lambda *a, **k: pytest.fail("a tool ran"))
    with pytest.raises(ValueError, match="family must be one of"):
        tt_flow.yosys_estimate(SMALL, tmp_path / "o", family="xc9")
    with pytest.raises(ValueError, match="device must be one of"):
        tt_flow.ice40_bitstream(SMALL, tmp_path / "o", device="hx8k")
    with pytest.raises(ValueError, match="--rank must be a positive integer"):
        tt_flow.ecp5_bitstream(tt_train.TTTrainConfig(rank=0), tmp_path / "o")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="holds files that ernn did not write"):
        tt_flow.yosys_estimate(SMALL, tmp_path / "mine")
    assert tt_flow.main(["synth", "--rank", "0", "--out", str(tmp_path / "o")]) == 2


@pytest.mark.slow
def test_ice40_bitstream_of_the_self_test(tmp_path) -> None:
    """The smallest ladder configuration on the UP5K: placed, routed, packed; Fmax and cells reported."""
    dw, mul_w = tt_flow.WIDTHS["ice40"]
    config = tt_train.TTTrainConfig(
        inputs=8, outputs=4, cores=2, rank=2, batch=2, steps=2, dw=dw, mul_w=mul_w
    )
    r = tt_flow.ice40_bitstream(config, tmp_path / "ice40")
    report = json.loads((tmp_path / "ice40" / "report.json").read_text())
    assert report["bitstream_bytes"] == r["bitstream_bytes"] > 0
    assert 0 < report["utilisation"]["ICESTORM_LC"]["used"] <= 5280
    assert all(f["fmax_mhz"] > 0 for f in report["fmax"].values())
