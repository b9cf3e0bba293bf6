"""Formal checks of formal/ (ernn.verify.formal: Yosys + yosys-smtbmc + z3): each proof passes on the RTL,
and each property fails on a deliberately broken copy of the module (a check that cannot fail is a defect).

The fast checks (seconds) run in the default suite, the slow ones (wider multipliers, the three-multiplier
forms inside the butterfly and the MAC) with ``pytest -m slow``. Every property of every check is shown to
fail on its mutant; the default suite does this once per distinct (wrapper, property, mutant) and the long
suite for every parameter set.
"""

from __future__ import annotations

import dataclasses

import pytest

from ernn.verify import formal

CHECKS = formal.CHECKS


def _param(check: formal.Check, *values: object) -> object:
    marks = [pytest.mark.slow] if check.slow else []
    return pytest.param(check, *values, id="-".join([check.name, *map(str, values)]), marks=marks)


def _mutant_cases() -> list[object]:
    seen: set[tuple[str, str, str]] = set()
    cases = []
    for check in CHECKS:
        for prop in check.properties:
            mutant = formal.mutant_for(check, prop)
            key = (check.top, prop, mutant.name)
            case = _param(check, prop)
            if key in seen and not check.slow:
                case = pytest.param(check, prop, id=f"{check.name}-{prop}", marks=[pytest.mark.slow])
            seen.add(key)
            cases.append(case)
    return cases


@pytest.mark.parametrize("check", [_param(c) for c in CHECKS])
def test_proof(check: formal.Check, tmp_path):
    result = formal.run_check(check, tmp_path)
    assert result.status == "proven", formal.describe(result) + f"\nlogs: {result.work_dir}"
    assert result.failed == [] and result.step is None


@pytest.mark.parametrize(("check", "prop"), _mutant_cases())
def test_property_fails_on_its_mutant(check: formal.Check, prop: str, tmp_path):
    mutant = formal.mutant_for(check, prop)
    result = formal.run_check(check, tmp_path, only=[prop], mutant=mutant)
    assert result.status == "failed", f"{prop} holds on the mutant '{mutant.name}': it cannot catch it"
    assert result.failed == [prop]
    assert result.step is not None and 0 <= result.step <= check.depth
    assert (tmp_path / "trace.vcd").is_file()


def test_every_property_has_a_mutant_that_applies():
    for check in CHECKS:
        assert len(set(check.properties)) == len(check.properties), check.name
        for prop in check.properties:
            mutant = formal.mutant_for(check, prop)
            assert prop in mutant.violates and mutant.file in check.rtl


def test_full_check_on_a_mutant_names_the_property_and_step(tmp_path):
    """The whole check (all properties, BMC then induction) on a skid buffer that drops a beat."""
    check = formal.check_by_name("axis_skid_3")
    mutant = next(m for m in formal.mutants_for(check) if m.name == "skid beat dropped on drain")
    result = formal.run_check(check, tmp_path, mutant=mutant)
    assert result.status == "failed" and not result.passed
    assert "no_drop" in result.failed and result.step is not None
    assert "FAILED" in formal.describe(result) and "no_drop" in formal.describe(result)


def test_property_list_must_match_the_wrapper(tmp_path):
    check = formal.check_by_name("round_sat_8_3_4")
    missing = dataclasses.replace(check, properties=("round_sat_exact",))
    with pytest.raises(formal.FormalToolError, match="yosys failed"):
        formal.run_check(missing, tmp_path / "missing")
    renamed = dataclasses.replace(check, properties=("round_sat_exact", "no_overflow"))
    with pytest.raises(formal.FormalToolError, match="yosys failed"):
        formal.run_check(renamed, tmp_path / "renamed")


def test_mutant_text_must_exist_once(tmp_path):
    check = formal.check_by_name("round_sat_8_3_4")
    stale = formal.Mutant("stale", "ernn_round_sat.v", "no such text", "x", ("round_sat_exact",))
    with pytest.raises(ValueError, match="exactly once"):
        formal.run_check(check, tmp_path, mutant=stale)


def test_induction_that_does_not_close_is_reported_bounded(tmp_path):
    """Without its lemmas the skid buffer's induction does not close at k = 1: 'bounded', never 'proven'."""
    check = formal.check_by_name("axis_skid_3")
    public = tuple(p for p in check.properties if not p.startswith("inv_"))
    result = formal.run_check(check, tmp_path, only=public, k=1)
    assert result.status == "bounded" and result.passed
    assert result.induction_open, formal.describe(result)


def test_accumulator_width_rule_needs_symmetric_weights(tmp_path):
    """ACC_W = X_W + W_W + clog2(Q) (ernn_pe's check, golden accumulator_word) holds Q products only while
    w never holds the most negative code (cmac_*_wsym proves it then; fit_frac gives exported spectra
    |w| <= 2**(W_W-1) - 1). For any w the corner x = w = -2**(W-1) (1 + j) makes every imaginary product
    +2**(X_W+W_W-1), and Q of them wrap: the check finds it."""
    check = formal.check_by_name("cmac_3x3_acc8_4m_wsym")
    any_w = dataclasses.replace(check, name="cmac_any_w", params={**check.params, "W_SYMMETRIC": 0})
    result = formal.run_check(any_w, tmp_path, only=["exact_im"])
    assert result.status == "failed" and result.failed == ["exact_im"], formal.describe(result)


def test_rmac_pair_split_needs_the_low_field_sign(tmp_path):
    """ernn_rmac_pair's high field is x w_b only with the low field's sign added back (a negative x w_a
    borrows one from it): without the correction the whole check (MREG = 1, BMC then induction) fails at the
    split of the multiplier register, before the accumulators see it."""
    check = formal.check_by_name("rmac_pair_4x3_acc9_m1_rs2")
    mutant = next(
        m for m in formal.mutants_for(check) if m.name == "split: high field without the low field's sign"
    )
    result = formal.run_check(check, tmp_path, mutant=mutant)
    assert result.status == "failed" and "inv_split" in result.failed, formal.describe(result)


def test_rmac_pair_rounding_constant_must_fit_the_contract():
    """exact_a/b leave 2**(ACC_W-3) for the rounding constant: a wider one is refused, not a failing proof."""
    with pytest.raises(ValueError, match="ROUND_SHIFT must be in 0 .. ACC_W - 2"):
        formal._rmac_pair(4, 3, 9, 0, 8)
