"""The mutant generator and the score of ernn.verify.mutate (no simulator; tb/test_mutate_driver.py runs
mutants)."""

from __future__ import annotations

import pytest

from ernn.verify import mutate

MODULE = """\
// a comment with a + b and 1'b0 that must stay
module m #(parameter W = 4) (input wire clk, input wire rst, input wire a_valid, input wire a_ready,
    input wire [W-1:0] x, output reg [W-1:0] y, output wire fire);
initial begin
    if (W < 2) begin
        $error("W + 1 must be > 2");
        $finish;
    end
end
assign fire = a_valid && a_ready;
always @(posedge clk) begin
    if (rst) y <= {W{1'b0}};
    else if (x > 3) y <= over ? x + 1 : ~x;
end
// synthesis translate_off
always @(posedge clk) if (y == 0) $display("zero");
// synthesis translate_on
endmodule
"""


@pytest.fixture
def rtl(tmp_path):
    (tmp_path / "ernn_m.v").write_text(MODULE)
    return tmp_path


def test_every_operator_finds_its_edit(rtl) -> None:
    found = {(m.operator, m.original.strip(), m.replacement.strip()) for m in mutate.generate(rtl)}
    for edit in [
        ("arith", "+", "-"),
        ("relational", ">", ">="),
        ("logic", "&&", "||"),
        ("logic", "&& a_ready", ""),  # the handshake's second condition dropped
        ("negation", "~", ""),
        ("constant", "1'b0", "1'b1"),
        ("constant", "3", "4"),
        ("width", "-1", "- 2"),
        ("ternary", "over", "1'b0"),
        ("ternary", "over", "1'b1"),
    ]:
        assert edit in found, f"{edit} not generated"


def test_comments_checks_and_simulation_code_are_left_alone(rtl) -> None:
    lines = MODULE.splitlines()
    for m in mutate.generate(rtl):
        text = lines[m.line - 1]
        assert not text.lstrip().startswith("//"), m.describe()
        assert "$" not in text and "W < 2" not in text and "y == 0" not in text, m.describe()


def test_apply_edits_one_place_and_refuses_a_changed_file(rtl) -> None:
    (m,) = [x for x in mutate.generate(rtl) if x.operator == "logic" and x.replacement == "||"]
    out = m.apply(MODULE)
    assert out.replace("a_valid || a_ready", "a_valid && a_ready") == MODULE
    with pytest.raises(ValueError, match="is not at its offset"):
        m.apply("\n" + MODULE)


def test_ids_are_stable_and_samples_seeded(rtl) -> None:
    a, b = mutate.generate(rtl), mutate.generate(rtl)
    assert [m.id for m in a] == [m.id for m in b] and len({m.id for m in a}) == len(a)
    s1 = [m.id for m in mutate.sample(a, 5, seed=1)]
    assert s1 == [m.id for m in mutate.sample(a, 5, seed=1)]
    assert s1 != [m.id for m in mutate.sample(a, 5, seed=2)]
    assert len(mutate.sample(a, None, seed=1)) == len(a)


def test_score_leaves_out_equivalent_and_invalid() -> None:
    records = [{"status": s} for s in ["killed"] * 6 + ["timeout", "survived", "equivalent", "invalid"]]
    s = mutate.score(records)
    assert (s["killed"], s["timeout"], s["survived"], s["equivalent"], s["invalid"]) == (6, 1, 1, 1, 1)
    assert s["score"] == pytest.approx(6 / 8)  # a timeout is not counted as caught


def test_the_checkout_rtl_has_mutants_of_every_kind() -> None:
    mutants = mutate.generate()
    assert {m.operator for m in mutants} == set(mutate.OPERATORS)
    assert all(m.id in {x.id for x in mutants} for m in mutate.sample(mutants, 20, 3))
    # every mutant argued equivalent still exists: ids carry the line, so an edit above one moves it, and a
    # stale id would count an equivalent survivor against the score; the message names the candidates
    ids = {m.id for m in mutants}
    stale = {
        i: [m.id for m in mutants if m.id.split("-")[0] == i.split("-")[0] and m.operator == i.split("-")[2]]
        for i in mutate.EQUIVALENT
        if i not in ids
    }
    assert not stale, (
        f"EQUIVALENT ids that no longer exist (re-check the argument, then update the id): {stale}"
    )


def test_out_holding_a_users_files_is_refused(tmp_path, capsys) -> None:
    """--out must be new, empty or the tool's own: a run replaces source/ and work/ and resumes from mutants/."""
    mine = tmp_path / "mine"
    (mine / "source").mkdir(parents=True)
    (mine / "source" / "notes.v").write_text("the user's")
    assert mutate.main(["--out", str(mine), "--summary-only"]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (mine / "source" / "notes.v").read_text() == "the user's"
    assert sorted(p.name for p in mine.iterdir()) == ["source"]
    new = tmp_path / "new"
    assert mutate.main(["--out", str(new), "--summary-only", "--sample", "2"]) == 0
    assert (new / mutate.WORK_MARKER).exists() and (new / "summary.json").exists()
    assert mutate.main(["--out", str(new), "--summary-only", "--sample", "2"]) == 0  # its own: reused
