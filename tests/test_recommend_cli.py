"""`python -m bot recommend`: interview answers as JSON on stdin, the recommendation as JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPERIENCED_TEACHER: dict[str, Any] = {
    "phase": "secondary",
    "school_funding": "state",
    "country": "england",
    "role": "classroom-teacher",
    "ect": False,
    "dwg_last_year": False,
    "specialist_already": False,
}


def recommend(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "recommend", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def run_json(answers: dict[str, Any], *args: str, exit_code: int = 0) -> dict[str, Any]:
    result = recommend(json.dumps(answers), *args)
    assert result.returncode == exit_code, result.stderr
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["programme_id"] for item in items}


def test_full_answers() -> None:
    output = run_json(EXPERIENCED_TEACHER, "--today", "2026-11-30")
    assert set(output) == {"eligible", "not_eligible", "notes"}
    for item in output["eligible"] + output["not_eligible"]:
        assert set(item) == {"programme_id", "name", "reasons"}
        assert item["reasons"] and all(isinstance(r, str) for r in item["reasons"])
    assert ids(output["eligible"]) == {"development-work-group", "specialist-programme", "pd-lead"}
    assert "embedding-year-support" in ids(output["not_eligible"])
    specialist = next(i for i in output["eligible"] if i["programme_id"] == "specialist-programme")
    assert any("closed at midnight on 28 April 2025" in r for r in specialist["reasons"])
    assert any(r.startswith("Next step:") and "next round" in r for r in specialist["reasons"])
    assert not any(n.startswith("Missing answer") for n in output["notes"])


def test_deadline_is_checked_against_the_given_date() -> None:
    output = run_json(EXPERIENCED_TEACHER, "--today", "2025-04-01")
    specialist = next(i for i in output["eligible"] if i["programme_id"] == "specialist-programme")
    assert any("close at midnight on 28 April 2025" in r for r in specialist["reasons"])
    assert any("NCETM website" in r for r in specialist["reasons"])


def test_ect_is_excluded_from_the_specialist_programme() -> None:
    output = run_json({**EXPERIENCED_TEACHER, "ect": True})
    excluded = next(i for i in output["not_eligible"] if i["programme_id"] == "specialist-programme")
    assert any("early career teachers" in r for r in excluded["reasons"])


def test_missing_keys_are_reported_not_assumed() -> None:
    answers = {k: v for k, v in EXPERIENCED_TEACHER.items() if k not in ("ect", "country")}
    output = run_json(answers)
    assert output["eligible"] == []  # every programme needs the country
    decided = ids(output["eligible"]) | ids(output["not_eligible"])
    assert "specialist-programme" not in decided  # needs ect and country
    notes = "\n".join(output["notes"])
    assert "Missing answer 'ect' (true or false)" in notes
    assert "Missing answer 'country'" in notes and "Secondary Mastery Specialist Programme" in notes


def test_empty_object_reports_every_key() -> None:
    output = run_json({})
    assert output["eligible"] == [] and output["not_eligible"] == []
    missing = [n for n in output["notes"] if n.startswith("Missing answer")]
    assert len(missing) == 7


def test_invalid_values_and_unknown_keys_are_reported_and_exit_1() -> None:
    output = run_json(
        {**EXPERIENCED_TEACHER, "ect": "no", "phase": "middle", "school": "Leeds High"}, exit_code=1
    )
    notes = "\n".join(output["notes"])
    assert "'ect' has the value \"no\"" in notes
    assert "'phase' has the value \"middle\"" in notes
    assert "'school'" in notes
    assert "development-work-group" not in ids(output["eligible"])  # phase treated as missing


def test_values_are_matched_whatever_their_case() -> None:
    shouted = {**EXPERIENCED_TEACHER, "phase": "Secondary", "school_funding": " STATE ", "country": "England"}
    assert run_json(shouted, "--today", "2026-11-30") == run_json(
        EXPERIENCED_TEACHER, "--today", "2026-11-30"
    )


def test_seeds_silent_for_a_sixth_form_college() -> None:
    output = run_json({"phase": "post-16", "country": "england", "school_funding": "state"})
    assert output["eligible"] == []
    assert any("sixth-form or further education colleges" in n for n in output["notes"])


@pytest.mark.parametrize("stdin", ["{not json", "", "[1, 2]", '"secondary"'])
def test_invalid_json_exits_2(stdin: str) -> None:
    result = recommend(stdin)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "recommend:" in result.stderr


def test_bad_date_is_a_usage_error() -> None:
    result = recommend("{}", "--today", "30/11/2026")
    assert result.returncode == 2
    assert "YYYY-MM-DD" in result.stderr
