"""The coverage summary of ernn.verify.coverage and ernn.sim.funcov, on Verilator-format data written
here (tb/test_coverage_flow.py produces real data)."""

from __future__ import annotations

import json

from ernn.sim import funcov
from ernn.verify import coverage


def _point(file: str, line: int, kind: str, hier: str, comment: str, count: int) -> str:
    keys = {"f": file, "l": str(line), "t": kind, "page": f"v_{kind}/m", "o": comment, "h": hier}
    return "C '" + "".join(f"\x01{k}\x02{v}" for k, v in keys.items()) + f"' {count}"


def test_points_figures_and_uncovered_lines(tmp_path) -> None:
    a = [
        "# SystemC::Coverage-3",
        _point("/x/rtl/ernn_a.v", 10, "line", "top.a", "block", 3),
        _point("/x/rtl/ernn_a.v", 12, "line", "top.a", "block", 0),
        _point("/x/rtl/ernn_a.v", 14, "branch", "top.a", "if", 0),
        _point("/x/rtl/ernn_a.v", 14, "branch", "top.a", "else", 2),
        _point("/x/rtl/ernn_round_sat.v", 87, "toggle", "top.r0", "g_sat.over:0->1", 0),
        _point("/x/rtl/ernn_round_sat.v", 87, "toggle", "top.r1", "g_sat.over:0->1", 0),
    ]
    b = [_point("/x/rtl/ernn_round_sat.v", 87, "toggle", "top.r1", "g_sat.over:0->1", 4)]
    (tmp_path / "a.dat").write_text("\n".join(a) + "\n")
    (tmp_path / "b.dat").write_text("\n".join(b) + "\n")
    points = coverage.read_points([tmp_path / "a.dat", tmp_path / "b.dat"])
    fig = coverage.figures(points)
    assert fig["ernn_a.v"] == {"line": [1, 2], "branch": [1, 2], "toggle": [0, 0]}
    assert fig["all"]["toggle"] == [1, 2]  # r1's point is covered by b.dat, r0's by no run
    # line 14 has a reached branch arm: not an uncovered line; line 12 is
    assert coverage.uncovered_lines(points) == {"ernn_a.v": [12]}
    assert funcov.saturation_bins(points) == {"saturation/top.r0": 0, "saturation/top.r1": 4}


def test_functional_bins_merge_over_runs(tmp_path) -> None:
    (tmp_path / "funcov-1.json").write_text(
        json.dumps({"job_kind/gate": 3, "backpressure/m_axis (output vectors)": 1})
    )
    (tmp_path / "funcov-2.json").write_text(json.dumps({"job_kind/gate": 2}))
    merged = funcov.merge(sorted(tmp_path.glob("funcov-*.json")))
    assert merged["job_kind/gate"] == 5 and merged["job_kind/proj"] == 0
    assert set(funcov.all_bins()) <= set(merged)


def test_markdown_names_every_file_and_bin() -> None:
    summary = {
        "figures": {"all": {"line": [1, 2], "branch": [0, 0], "toggle": [3, 4]}},
        "functional": {"job_kind/gate": 5},
        "uncovered_lines": {"ernn_a.v": [12]},
    }
    text = coverage.markdown(summary)
    assert "1/2 (50.0 %)" in text and "| job_kind/gate | 5 |" in text and "`ernn_a.v`: 12" in text


def test_out_holding_a_users_files_is_refused(tmp_path, capsys) -> None:
    """--out must be new, empty or the tool's own: a run replaces dat/, annotated/ and html/ inside it."""
    mine = tmp_path / "mine"
    (mine / "html").mkdir(parents=True)
    (mine / "html" / "index.html").write_text("the user's")
    assert coverage.main(["--out", str(mine), "--report-only", "--tools", str(tmp_path / "tools")]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (mine / "html" / "index.html").read_text() == "the user's"
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert coverage.main(["--out", str(afile), "--report-only", "--tools", str(tmp_path / "tools")]) == 2
    assert "is a file" in capsys.readouterr().err
