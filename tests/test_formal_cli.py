"""`python -m ernn.verify.formal` never writes into a folder of the user's without being told to."""

from ernn.verify import formal


def test_a_users_folder_is_refused_and_left_as_it_was(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "results.json").write_text("the user's")
    assert formal.main(["round_sat_8_3_4", "--out", str(mine)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert sorted(p.name for p in mine.iterdir()) == ["results.json"]
    assert (mine / "results.json").read_text() == "the user's"
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert formal.main(["round_sat_8_3_4", "--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_a_new_folder_is_claimed_and_reused(tmp_path):
    out = tmp_path / "new"
    formal.claim_work_folder(out)
    (out / "results.json").write_text("[]")  # what a run leaves
    formal.claim_work_folder(out)  # the next run may rewrite it
    assert (out / formal.WORK_MARKER).exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    formal.claim_work_folder(other, force=True)
    assert (other / "notes.txt").read_text() == "keep"
