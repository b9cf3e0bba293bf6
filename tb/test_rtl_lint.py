"""`verilator --lint-only -Wall` is clean on every module of the circulant PE, of the cells, of the CSB
engine and of the TT training engine, for several parameter sets.

Every waiver in the RTL is a ``lint_off`` around one declaration with a comment that says why (pruned
outputs of the last FFT stage, bits dropped by rounding, inputs a configuration does not read).
Missing Verilator is a failure, not a skip.
"""

from __future__ import annotations

import subprocess

import pytest

from ernn.sim import runner as rtl_runner

FILES = '"/dev/null"'
# the modules of the circulant PE and of the cells (the controller has its own checks, tb/ernn_top)
PE_MODULES = (
    "ernn_delay",
    "ernn_round_sat",
    "ernn_cmul",
    "ernn_fft_bfly",
    "ernn_fft_stage",
    "ernn_fft",
    "ernn_ifft",
    "ernn_rom",
    "ernn_cmac",
    "ernn_rmac_pair",
    "ernn_cmac_array",
    "ernn_axis_skid",
    "ernn_sel",
    "ernn_pe",
    "ernn_cell_rnd",
    "ernn_act_pwl",
    "ernn_cell_front",
    "ernn_lstm_cell",
    "ernn_gru_cell",
    "ernn_csb_engine",
    "ernn_csb_pe",
    "ernn_add",
    "ernn_sum_tree",
    "ernn_csb_group",
    "ernn_csb_array",
    "ernn_state_ram",
    "ernn_tt_lfsr",
    "ernn_tt_engine",
    "ernn_tt_train_top",
)
# activation tables of the cells (their contents do not matter to the linter)
TABLES = {f"{kind}_{table}_FILE": FILES for kind in ("SIGMOID", "TANH") for table in ("VALUE", "SLOPE")}
ACT_TABLES = {"VALUE_FILE": FILES, "SLOPE_FILE": FILES}
LINT_CASES: list[tuple[str, dict[str, object]]] = [
    ("ernn_delay", {}),
    ("ernn_delay", {"DEPTH": 1, "WIDTH": 1}),
    ("ernn_delay", {"DEPTH": 10, "WIDTH": 37}),
    ("ernn_delay", {"DEPTH": 4, "WIDTH": 5, "VALID": 0}),
    ("ernn_delay", {"DEPTH": 1, "WIDTH": 2, "VALID": 0}),
    ("ernn_round_sat", {}),
    ("ernn_round_sat", {"IN_W": 30, "SHIFT": 5, "OUT_W": 12, "SYMMETRIC": 1}),
    ("ernn_round_sat", {"IN_W": 12, "SHIFT": -3, "OUT_W": 16}),
    ("ernn_cmul", {}),
    ("ernn_cmul", {"MUL3": 0, "CONJ": 1}),
    ("ernn_cmul", {"X_W": 12, "C_W": 7, "PACK": 1}),
    # MREG = 1 (registered products): the PE cases below cover the three-multiplier form
    ("ernn_cmul", {"X_W": 12, "C_W": 7, "PACK": 1, "MREG": 1}),
    ("ernn_fft_bfly", {}),
    ("ernn_fft_bfly", {"TW_KIND": 1, "INVERSE": 1, "LEVELS": 1, "OUT_IMAG": 0}),
    ("ernn_fft_bfly", {"TW_KIND": 0, "OUT_MINUS": 0}),
    ("ernn_fft_bfly", {"TW_KIND": 1, "INVERSE": 1, "LEVELS": 3}),
    ("ernn_fft_stage", {}),
    ("ernn_fft_stage", {"K": 4, "STAGE": 2, "INVERSE": 1, "IN_W": 23, "OUT_W": 19}),
    ("ernn_fft_stage", {"K": 32, "STAGE": 5, "IN_W": 20, "OUT_W": 21, "TW_FILE": FILES}),
    ("ernn_fft_stage", {"K": 64, "STAGE": 3, "INVERSE": 1, "IN_W": 23, "OUT_W": 23, "TW_FILE": FILES}),
    *[("ernn_fft", {"K": k, "OUT_W": 16 + k.bit_length() - 1, "TW_FILE": FILES}) for k in (4, 8, 16, 32, 64)],
    *[("ernn_ifft", {"K": k, "TW_FILE": FILES}) for k in (4, 8, 16, 32, 64)],
    ("ernn_rom", {"INIT_FILE": FILES}),
    ("ernn_cmac", {}),
    ("ernn_cmac", {"CMUL_3M": 0, "ACC_W": 37}),
    ("ernn_cmac", {"X_W": 12, "W_W": 7, "ACC_W": 22, "DSP_PACK": 1}),
    ("ernn_cmac", {"REAL": 1}),
    ("ernn_cmac", {"REAL": 1, "MREG": 1}),
    ("ernn_rmac_pair", {}),
    ("ernn_rmac_pair", {"MREG": 1, "ROUND_SHIFT": 5}),
    ("ernn_cmac_array", {"W_FILE": FILES}),
    ("ernn_cmac_array", {"P": 1, "W_DEPTH": 5, "W_FILE": FILES}),
    (
        "ernn_cmac_array",
        {"P": 3, "REAL_BINS": 3, "DSP_PACK": 1, "X_W": 12, "W_W": 7, "ACC_W": 22, "W_FILE": FILES},
    ),
    # three row blocks: the real lanes of the first two paired (ernn_rmac_pair), the third's alone
    (
        "ernn_cmac_array",
        {
            "P": 27,
            "REAL_BINS": 9,
            "DSP_PACK": 1,
            "MREG": 1,
            "X_W": 12,
            "W_W": 7,
            "ACC_W": 25,
            "W_FILE": FILES,
        },
    ),
    # SPLIT_LANE (ernn_pe SPLIT): lanes 6.. start a split run at 0
    ("ernn_cmac_array", {"P": 12, "SPLIT_LANE": 6, "MREG": 1, "ROUND_SHIFT": 5, "W_FILE": FILES}),
    ("ernn_axis_skid", {}),
    ("ernn_sel", {}),
    ("ernn_sel", {"N": 5, "W": 38, "SEL_W": 3}),
    ("ernn_sel", {"N": 1, "W": 4, "SEL_W": 1}),
    ("ernn_pe", {"W_FILE": FILES, "TW_FILE": FILES}),
    ("ernn_pe", {"K": 4, "P": 1, "FFT_W": 18, "IFFT_W": 21, "W_FILE": FILES}),
    ("ernn_pe", {"K": 32, "P": 7, "FFT_W": 21, "CMUL_3M": 0, "W_FILE": FILES, "TW_FILE": FILES}),
    ("ernn_pe", {"K": 8, "P": 16, "FFT_W": 19, "XBUF_DEPTH": 3, "W_FILE": FILES, "TW_FILE": FILES}),
    ("ernn_pe", {"K": 64, "P": 33, "FFT_W": 22, "ROWS_W": 1, "W_FILE": FILES, "TW_FILE": FILES}),
    # P a multiple of k/2 + 1: row-aligned rounds, no gearbox lane muxes, no bin rotation
    ("ernn_pe", {"K": 8, "P": 10, "FFT_W": 19, "W_FILE": FILES, "TW_FILE": FILES}),
    # the multiply and its post-adder in one clock (MREG = 0; the default registers the products)
    ("ernn_pe", {"K": 16, "P": 9, "FFT_W": 20, "MREG": 0, "W_FILE": FILES, "TW_FILE": FILES}),
    # SPLIT: last rounds over two lane groups, with the bins rotated (P 13 at k 4) and without (P 20 at k 8)
    ("ernn_pe", {"K": 4, "P": 13, "FFT_W": 18, "IFFT_W": 21, "SPLIT": 1, "W_FILE": FILES}),
    ("ernn_pe", {"K": 8, "P": 20, "FFT_W": 19, "SPLIT": 1, "W_FILE": FILES, "TW_FILE": FILES}),
    ("ernn_act_pwl", ACT_TABLES),
    ("ernn_act_pwl", {**ACT_TABLES, "LANES": 3, "IN_W": 8, "IN_F": 4, "RANGE_LOG2": 3, "SEG_BITS": 8}),
    ("ernn_cell_front", TABLES),
    ("ernn_cell_front", {**TABLES, "LSTM": 0, "LANES": 2}),
    ("ernn_cell_front", {**TABLES, "PEEPHOLE": 1, "LANES": 3, "USER_W": 5, "PASS_W": 7}),
    ("ernn_lstm_cell", TABLES),
    ("ernn_lstm_cell", {**TABLES, "PEEPHOLE": 1, "LANES": 2}),
    ("ernn_gru_cell", TABLES),
    ("ernn_gru_cell", {**TABLES, "LANES": 3, "USER_W": 4}),
    *[
        ("ernn_csb_engine", {f"{n}_FILE": FILES for n in ("COUNTS", "ROWS", "COLS", "VALUES")} | extra)
        for extra in (
            {},
            {"GATES": 4, "ROWS": 32, "COLS": 44, "BLOCK": 8, "COUNT_W": 4, "INDEX_W": 3, "ACC_W": 37},
            {
                "ROWS_USED": 300,
                "COLS_USED": 200,
                "VALUES_USED": 4000,
                "BLOCK": 32,
                "COUNT_W": 6,
                "INDEX_W": 5,
            },
        )
    ],
    ("ernn_csb_pe", {}),
    ("ernn_add", {"W": 1}),
    ("ernn_sum_tree", {"N": 1, "W": 5}),
    ("ernn_sum_tree", {"N": 5, "W": 13}),
    ("ernn_sum_tree", {"N": 24, "W": 43}),
    ("ernn_csb_group", {"P": 1, "Q": 1}),
    ("ernn_csb_group", {"P": 4, "Q": 4, "BLOCK": 32, "INDEX_W": 5}),
    *[
        ("ernn_csb_array", {f"{n}_FILE": FILES for n in ("EN", "VAL", "X", "TGT", "LENS")} | extra)
        for extra in (
            {},
            {"K": 1, "L": 1, "P": 1, "Q": 1},
            {"K": 8, "L": 4, "P": 4, "Q": 4, "GATES": 4, "ROWS": 64, "COLS": 153, "BLOCK": 32}
            | {"INDEX_W": 5, "X_W": 8, "STEPS": 900, "TILE_ROWS": 1, "LEN_W": 10, "MACS": 9000},
            {"ACC_W": 43, "SUM_W": 37},
        )
    ],
    ("ernn_tt_lfsr", {}),
    ("ernn_tt_lfsr", {"LANES": 1, "MAX_BITS": 2}),
    ("ernn_tt_engine", {"PROG_FILE": FILES}),
    ("ernn_tt_engine", {"PROG_FILE": FILES, "LANES": 3, "DW": 40, "MUL_W": 20, "AW": 12, "DEPTH": 3000}),
    ("ernn_tt_train_top", {"PROG_FILE": FILES}),
]


@pytest.mark.parametrize(
    ("top", "params"), LINT_CASES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(LINT_CASES)]
)
def test_verilator_lint_wall(top: str, params: dict[str, object]) -> None:
    rtl_runner.setup_simulator("verilator")
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", top]
    cmd += [f"-G{k}={v}" for k, v in params.items()]
    cmd += [str(rtl_runner.RTL_DIR / f"{m}.v") for m in PE_MODULES]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    warnings = [line for line in res.stderr.splitlines() if line.startswith("%")]
    assert res.returncode == 0 and not warnings, f"{' '.join(cmd)}\n{res.stderr}"
