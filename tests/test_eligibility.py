"""The programme rules (eligibility.yaml) through the evaluator, on the real knowledge, with fixed dates."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.eligibility import Recommendation, evaluate, evaluate_rule, parse_answers, recommend
from knowledge.interview_models import ANSWER_SCHEMA, EligibilityRule, EligibilitySpec
from knowledge.loader import DATA_DIR, Knowledge, check_knowledge

TODAY = dt.date(2026, 11, 30)
BEFORE_DEADLINE = dt.date(2025, 4, 1)
IN_2023_24 = dt.date(2024, 3, 1)

EXPERIENCED_TEACHER: dict[str, Any] = {
    "phase": "secondary",
    "school_funding": "state",
    "country": "england",
    "role": "classroom-teacher",
    "ect": False,
    "dwg_last_year": False,
    "specialist_already": False,
}


@pytest.fixture(scope="module")
def rules(knowledge: Knowledge) -> EligibilitySpec:
    assert knowledge.eligibility is not None
    return knowledge.eligibility


def run(knowledge: Knowledge, today: dt.date = TODAY, **changes: Any) -> Recommendation:
    answers = {**EXPERIENCED_TEACHER, **changes}
    answers = {k: v for k, v in answers.items() if v is not None}
    assert knowledge.eligibility is not None
    return evaluate(knowledge.eligibility, knowledge.programmes, answers, today)


def ids(verdicts: Any) -> set[str]:
    return {v.programme_id for v in verdicts}


def reasons_of(result: Recommendation, programme_id: str) -> str:
    return " ".join(next(v for v in result.verdicts if v.programme_id == programme_id).reasons)


def test_every_programme_has_rules_and_every_rule_a_source(
    knowledge: Knowledge, rules: EligibilitySpec
) -> None:
    assert {p.programme for p in rules.programmes} == set(knowledge.programmes)
    for entry in rules.programmes:
        for rule in entry.rules:
            assert rule.source in knowledge.sources, (entry.programme, rule.field)
            assert knowledge.sources[rule.source].seed_file.endswith(".txt")
            assert rule.quote


def test_experienced_secondary_teacher(knowledge: Knowledge) -> None:
    result = run(knowledge)
    assert ids(result.eligible) == {"development-work-group", "specialist-programme", "pd-lead"}
    assert ids(result.not_eligible) == {
        "special-schools-work-group",
        "embedding-year-support",
        "embedding-sustaining-work-group",
        "tfm-work-group",
    }
    assert not result.unclear
    assert "previous year" in reasons_of(result, "embedding-year-support")
    dwg = next(v for v in result.eligible if v.programme_id == "development-work-group")
    assert dwg.next_step is not None and "Maths Hub" in dwg.next_step


def test_specialist_programme_does_not_take_ects(knowledge: Knowledge) -> None:
    result = run(knowledge, ect=True, specialist_already=None)
    assert "specialist-programme" in ids(result.not_eligible)
    assert "early career teachers" in reasons_of(result, "specialist-programme")
    assert "pd-lead" in ids(result.not_eligible)
    assert "development-work-group" in ids(result.eligible)
    assert "As an early career teacher you can be a Mastery Advocate" in reasons_of(
        result, "development-work-group"
    )


def test_department_that_did_a_dwg_last_year_moves_to_stage_two(knowledge: Knowledge) -> None:
    result = run(knowledge, role="head-of-department", dwg_last_year=True)
    assert {"embedding-year-support", "embedding-sustaining-work-group"} <= ids(result.eligible)
    assert "development-work-group" in ids(result.not_eligible)
    assert "Embedding Year Support" in reasons_of(result, "development-work-group")


@pytest.mark.parametrize("country", ["wales", "scotland", "northern-ireland", "other"])
def test_outside_england_nothing_fits(knowledge: Knowledge, country: str) -> None:
    result = run(knowledge, country=country)
    assert not result.eligible and not result.unclear
    assert "England" in reasons_of(result, "development-work-group")
    assert "England" in reasons_of(result, "specialist-programme")


def test_independent_school_nothing_fits(knowledge: Knowledge) -> None:
    result = run(knowledge, school_funding="independent")
    assert not result.eligible
    assert "state-funded" in reasons_of(result, "development-work-group")
    assert "state-funded" in reasons_of(result, "specialist-programme")


def test_special_school(knowledge: Knowledge) -> None:
    result = run(knowledge, phase="special")
    assert ids(result.eligible) == {"special-schools-work-group"}
    assert "development-work-group" in ids(result.unclear)
    assert "special schools" in reasons_of(result, "development-work-group")
    independent = run(knowledge, phase="special", school_funding="independent")
    assert "special-schools-work-group" in ids(independent.unclear)
    assert "independent or non-maintained" in reasons_of(independent, "special-schools-work-group")


def test_post_16_college_the_seeds_are_silent(knowledge: Knowledge) -> None:
    result = run(knowledge, phase="post-16", role=None, ect=None, dwg_last_year=None, specialist_already=None)
    assert not result.eligible
    assert ids(result.not_eligible) == {"special-schools-work-group"}
    assert "development-work-group" in ids(result.unclear)
    assert "sixth-form or further education colleges" in reasons_of(result, "development-work-group")


def test_primary_school(knowledge: Knowledge) -> None:
    result = run(knowledge, phase="primary")
    assert not result.eligible and not result.unclear
    assert "secondary schools" in reasons_of(result, "development-work-group")
    assert any("primary" in note for note in result.notes)


def test_all_through_fits_with_a_caveat(knowledge: Knowledge) -> None:
    result = run(knowledge, phase="all-through")
    assert "development-work-group" in ids(result.eligible)
    assert "all-through" in reasons_of(result, "development-work-group")


def test_teaching_assistant(knowledge: Knowledge) -> None:
    result = run(knowledge, role="teaching-assistant", ect=None, dwg_last_year=None, specialist_already=None)
    assert not result.eligible
    assert "teaching assistant" in reasons_of(result, "development-work-group")
    assert any("head of maths" in note for note in result.notes)


def test_other_role_is_silent_not_refused(knowledge: Knowledge) -> None:
    result = run(knowledge, role="other")
    assert "development-work-group" in ids(result.unclear)
    assert "other roles" in reasons_of(result, "development-work-group")


def test_senior_leader_caveat(knowledge: Knowledge) -> None:
    result = run(knowledge, role="senior-leader")
    assert "specialist-programme" in ids(result.eligible)
    assert "if you teach maths yourself" in reasons_of(result, "specialist-programme")


def test_existing_mastery_specialist(knowledge: Knowledge) -> None:
    result = run(knowledge, specialist_already=True)
    assert "specialist-programme" in ids(result.not_eligible)
    assert "already a Mastery Specialist" in reasons_of(result, "specialist-programme")
    assert {"tfm-work-group", "pd-lead"} <= ids(result.eligible)
    pd_lead = reasons_of(result, "pd-lead")
    assert "second year of your programme" in pd_lead
    assert "28 April 2025" not in pd_lead  # the application deadline is not theirs


def test_specialist_deadline_passed(knowledge: Knowledge) -> None:
    verdict = next(v for v in run(knowledge).eligible if v.programme_id == "specialist-programme")
    assert "closed at midnight on 28 April 2025" in " ".join(verdict.reasons)
    assert verdict.next_step is not None and "next round" in verdict.next_step


@pytest.mark.parametrize("today", [BEFORE_DEADLINE, dt.date(2025, 4, 28)])
def test_specialist_deadline_not_yet_passed(knowledge: Knowledge, today: dt.date) -> None:
    verdict = next(v for v in run(knowledge, today).eligible if v.programme_id == "specialist-programme")
    assert "close at midnight on 28 April 2025" in " ".join(verdict.reasons)
    assert verdict.next_step is not None and "NCETM website" in verdict.next_step


def test_2023_24_offers_are_a_past_year(knowledge: Knowledge) -> None:
    assert "2023/24, which has passed" in reasons_of(run(knowledge), "development-work-group")
    assert "2023/24" not in reasons_of(run(knowledge, IN_2023_24), "development-work-group")


def test_missing_answer_is_never_assumed(knowledge: Knowledge) -> None:
    result = run(knowledge, ect=None)
    verdict = next(v for v in result.verdicts if v.programme_id == "specialist-programme")
    assert verdict.status == "unclear"
    assert verdict.missing == ("ect",)
    result = run(knowledge, country=None)
    assert "development-work-group" in ids(result.unclear)


def test_evaluate_rule_outcomes(rules: EligibilitySpec) -> None:
    rule = EligibilityRule(
        field="phase",
        values=("secondary",),
        reason_fail="no",
        caveats=({"values": ("all-through",), "text": "caveat"},),
        silent=({"values": ("post-16",), "text": "silent"},),
        source="x",
        quote="q",
    )
    assert evaluate_rule(rule, {"phase": "secondary"}).outcome == "pass"
    assert evaluate_rule(rule, {"phase": "all-through"}).text == "caveat"
    assert evaluate_rule(rule, {"phase": "post-16"}).outcome == "silent"
    assert evaluate_rule(rule, {"phase": "primary"}).text == "no"
    assert evaluate_rule(rule, {}).outcome == "missing"
    not_in = EligibilityRule(
        field="ect", op="not_in", values=(True,), reason_fail="ect", source="x", quote="q"
    )
    assert evaluate_rule(not_in, {"ect": True}).outcome == "fail"
    assert evaluate_rule(not_in, {"ect": False}).outcome == "pass"


def test_parse_answers_is_strict(rules: EligibilitySpec) -> None:
    answers, notes = parse_answers(
        rules, {"phase": "middle", "ect": 1, "dwg_last_year": "yes", "country": "england", "favourite": "pi"}
    )
    assert answers == {"country": "england"}
    assert len(notes) == 4
    assert any("'phase'" in n and '"middle"' in n for n in notes)
    assert any("'ect'" in n and "true or false" in n for n in notes)
    assert any("favourite" in n for n in notes)


def test_recommend_json_shape(knowledge: Knowledge, rules: EligibilitySpec) -> None:
    result = recommend(rules, knowledge.programmes, {"phase": "secondary"}, TODAY)
    assert set(result) == {"eligible", "not_eligible", "notes"}
    assert result["eligible"] == []
    missing = [n for n in result["notes"] if n.startswith("Missing answer")]
    assert len(missing) == len(ANSWER_SCHEMA) - 1
    assert any("'country'" in n and "Development Work Group" in n for n in missing)


# -- rules that don't hang together are reported with file and field ---------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    for path in DATA_DIR.glob("*"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        (
            "- programme: pd-lead",
            "- programme: pd-leader",
            "programmes[5] (pd-leader).programme",
            "unknown programme",
        ),
        ("source: ncp23-12", "source: ncp99", ".source", "unknown source 'ncp99'"),
        (
            "values: [england]",
            "values: [england, mars]",
            "rules[0].values",
            "not an allowed value of 'country'",
        ),
        ("date: 2025-04-28", "date: 28 April", "deadline.date", "date"),
        ("field: dwg_last_year", "field: dwg_this_year", "rules.4.field", "Input should be"),
    ],
)
def test_broken_rules_are_reported(data_copy: Path, old: str, new: str, where: str, message: str) -> None:
    path = data_copy / "eligibility.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    knowledge, problems = check_knowledge(data_copy)
    assert knowledge is None
    assert any(
        p.file == "eligibility.yaml" and where in p.field and message in p.message for p in problems
    ), problems


def test_a_programme_without_rules_is_reported(data_copy: Path) -> None:
    path = data_copy / "programmes.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  - id: tfm-work-group", "  - id: new-programme", 1), encoding="utf-8")
    _, problems = check_knowledge(data_copy)
    messages = [str(p) for p in problems]
    assert any("'new-programme' (programmes.yaml) has no eligibility rules" in m for m in messages)
    assert any("unknown programme 'tfm-work-group'" in m for m in messages)
