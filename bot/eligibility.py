"""Programme rule evaluator: which programmes fit a set of answers, why the others don't, what is unclear.

Pure: rules come from eligibility.yaml and today's date is passed in. A missing answer is never assumed:
the programmes that depend on it are reported as undecided. Used by the interview and by
`python -m bot recommend`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from knowledge.interview_models import (
    ANSWER_KEYS,
    ANSWER_SCHEMA,
    AnswerKey,
    AnswerValue,
    EligibilityRule,
    EligibilitySpec,
    ProgrammeEligibility,
    answer_key,
    conditions_hold,
    describe_allowed,
    is_allowed,
    same_value,
)
from knowledge.models import Programme

Status = Literal["eligible", "not_eligible", "unclear"]
RuleOutcome = Literal["pass", "caveat", "silent", "fail", "missing"]
Answers = Mapping[str, AnswerValue]


@dataclass(frozen=True)
class RuleResult:
    outcome: RuleOutcome
    text: str | None = None


@dataclass(frozen=True)
class Verdict:
    programme_id: str
    name: str
    short_name: str
    status: Status
    # eligible: why it fits; not_eligible: the rules that exclude it; unclear: what the seeds don't say
    reasons: tuple[str, ...]
    next_step: str | None = None
    missing: tuple[AnswerKey, ...] = ()  # answers it needs that were not given


@dataclass(frozen=True)
class Recommendation:
    verdicts: tuple[Verdict, ...]
    notes: tuple[str, ...]  # general notes for these answers

    def with_status(self, status: Status) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.status == status)

    @property
    def eligible(self) -> tuple[Verdict, ...]:
        return self.with_status("eligible")

    @property
    def not_eligible(self) -> tuple[Verdict, ...]:
        return self.with_status("not_eligible")

    @property
    def unclear(self) -> tuple[Verdict, ...]:
        return self.with_status("unclear")


def evaluate_rule(rule: EligibilityRule, answers: Answers) -> RuleResult:
    if rule.field not in answers:
        return RuleResult("missing")
    value = answers[rule.field]
    listed = any(same_value(value, v) for v in rule.values)
    if rule.op == "not_in":
        return RuleResult("fail", rule.reason_fail) if listed else RuleResult("pass", rule.reason_pass)
    if listed:
        return RuleResult("pass", rule.reason_pass)
    for caveat in rule.caveats:
        if any(same_value(value, v) for v in caveat.values):
            return RuleResult("caveat", caveat.text)
    for silent in rule.silent:
        if any(same_value(value, v) for v in silent.values):
            return RuleResult("silent", silent.text)
    return RuleResult("fail", rule.reason_fail)


def evaluate_programme(
    entry: ProgrammeEligibility, programme: Programme, answers: Answers, today: dt.date
) -> Verdict:
    results = [(rule, evaluate_rule(rule, answers)) for rule in entry.rules]
    missing = tuple(dict.fromkeys(rule.field for rule, r in results if r.outcome == "missing"))

    def texts(*outcomes: RuleOutcome) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.text for _, r in results if r.outcome in outcomes and r.text))

    def verdict(status: Status, reasons: tuple[str, ...], next_step: str | None = None) -> Verdict:
        return Verdict(
            programme.id, programme.name, programme.short_name, status, reasons, next_step, missing
        )

    if any(r.outcome == "fail" for _, r in results):
        return verdict("not_eligible", texts("fail"))
    if any(r.outcome == "silent" for _, r in results):
        return verdict("unclear", texts("silent"))
    if missing:
        return verdict("unclear", ())

    reasons = list(texts("pass", "caveat"))
    reasons += [note.text for note in entry.notes if conditions_hold(note.when, answers)]
    if entry.offered_for is not None and today > entry.offered_for.ends:
        reasons.append(entry.offered_for.after)
    next_step = next(s.text for s in entry.next_steps if conditions_hold(s.when, answers))
    deadline = entry.deadline
    if deadline is not None and conditions_hold(deadline.when, answers):
        if today > deadline.date:
            reasons.append(deadline.after)
            next_step = deadline.next_step_after
        else:
            reasons.append(deadline.before)
    return verdict("eligible", tuple(dict.fromkeys(reasons)), next_step)


def evaluate(
    spec: EligibilitySpec, programmes: Mapping[str, Programme], answers: Answers, today: dt.date
) -> Recommendation:
    """Every programme with rules, in the order of eligibility.yaml, and the general notes that apply."""
    verdicts = tuple(
        evaluate_programme(entry, programmes[entry.programme], answers, today)
        for entry in spec.programmes
        if entry.programme in programmes
    )
    notes = tuple(note.text for note in spec.notes if conditions_hold(note.when, answers))
    return Recommendation(verdicts, notes)


def unclear_groups(recommendation: Recommendation) -> list[tuple[str, list[Verdict]]]:
    """Undecided programmes grouped by what the seeds don't say, so each reason is said once."""
    groups: dict[str, list[Verdict]] = {}
    for verdict in recommendation.unclear:
        for reason in verdict.reasons:
            groups.setdefault(reason, []).append(verdict)
    return list(groups.items())


# -- answers from outside (the `recommend` command) ---------------------------------------------


def parse_answers(spec: EligibilitySpec, raw: Mapping[str, Any]) -> tuple[dict[str, AnswerValue], list[str]]:
    """Keep the valid answers (values matched without regard to case); every unknown key or invalid
    value becomes a note (and is not used)."""
    answers: dict[str, AnswerValue] = {}
    notes: list[str] = []
    texts = spec.texts
    for name, value in raw.items():
        key = answer_key(name)
        if key is None:
            notes.append(texts.unknown_key.format(key=name))
            continue
        if value is None:
            continue  # reported as missing
        if isinstance(value, str) and not is_allowed(key, value):
            value = value.strip().lower()  # "Secondary", " STATE " mean what they say
        if not is_allowed(key, value) or not isinstance(value, bool | str):
            shown = json.dumps(value, ensure_ascii=False)
            notes.append(texts.invalid.format(key=key, value=shown, allowed=describe_allowed(key)))
            continue
        answers[key] = value
    return answers, notes


def recommend(
    spec: EligibilitySpec, programmes: Mapping[str, Programme], raw: Mapping[str, Any], today: dt.date
) -> dict[str, Any]:
    """The `recommend` command's JSON: eligible and not eligible programmes with reasons, and notes."""
    answers, notes = parse_answers(spec, raw)
    result = evaluate(spec, programmes, answers, today)
    texts = spec.texts
    for key in ANSWER_KEYS:
        if key in answers:
            continue
        # Only programmes nothing else holds back: a seed-silent one stays unclear whatever the answer.
        blocked = [v.name for v in result.unclear if key in v.missing and not v.reasons]
        if blocked:
            notes.append(
                texts.missing.format(key=key, allowed=describe_allowed(key), programmes=", ".join(blocked))
            )
        else:
            notes.append(texts.missing_unused.format(key=key, allowed=describe_allowed(key)))
    for reason, verdicts in unclear_groups(result):
        notes.append(texts.unclear.format(programmes=", ".join(v.name for v in verdicts), reason=reason))
    notes.extend(result.notes)

    def eligible_reasons(v: Verdict) -> list[str]:
        return [*v.reasons, texts.next_step.format(step=v.next_step)] if v.next_step else list(v.reasons)

    return {
        "eligible": [
            {"programme_id": v.programme_id, "name": v.name, "reasons": eligible_reasons(v)}
            for v in result.eligible
        ],
        "not_eligible": [
            {"programme_id": v.programme_id, "name": v.name, "reasons": list(v.reasons)}
            for v in result.not_eligible
        ],
        "notes": notes,
    }


# -- answers left unknown ("not sure") ------------------------------------------------------------


@dataclass(frozen=True)
class Possible:
    """A programme that fits for some values of the unknown answers: `when` lists those values."""

    verdict: Verdict  # as it reads when it fits
    when: tuple[Mapping[AnswerKey, AnswerValue], ...]


@dataclass(frozen=True)
class Outcome:
    """A recommendation with some answers unknown: a programme whose rules hold whichever way they go
    is eligible, one that holds only for some values is `possible`."""

    recommendation: Recommendation
    possible: tuple[Possible, ...]


def evaluate_with_unknowns(
    spec: EligibilitySpec,
    programmes: Mapping[str, Programme],
    answers: Answers,
    unknown: tuple[AnswerKey, ...],
    today: dt.date,
) -> Outcome:
    base = evaluate(spec, programmes, answers, today)
    entries = {entry.programme: entry for entry in spec.programmes}
    verdicts: list[Verdict] = []
    possible: list[Possible] = []
    for verdict in base.verdicts:
        keys = tuple(k for k in verdict.missing if k in unknown)
        if verdict.status != "unclear" or verdict.reasons or not keys or len(keys) != len(verdict.missing):
            verdicts.append(verdict)
            continue
        entry, programme = entries[verdict.programme_id], programmes[verdict.programme_id]
        variants: list[tuple[dict[AnswerKey, AnswerValue], Verdict]] = []
        for values in _combinations(keys):
            combined: dict[str, AnswerValue] = dict(answers)
            for key, value in values.items():
                combined[key] = value
            variant = evaluate_programme(entry, programme, combined, today)
            variants.append((values, variant))
        fits = [(values, v) for values, v in variants if v.status == "eligible"]
        if len(fits) == len(variants):
            first = fits[0][1]
            common = tuple(r for r in first.reasons if all(r in v.reasons for _, v in fits))
            verdicts.append(replace(first, reasons=common, missing=keys))
        elif not fits and all(v.status == "not_eligible" for _, v in variants):
            verdicts.append(replace(variants[0][1], missing=keys))
        elif fits:
            possible.append(Possible(replace(fits[0][1], missing=keys), tuple(values for values, _ in fits)))
            verdicts.append(verdict)
        else:
            verdicts.append(verdict)
    possible_ids = {p.verdict.programme_id for p in possible}
    kept = tuple(v for v in verdicts if v.programme_id not in possible_ids)
    return Outcome(Recommendation(kept, base.notes), tuple(possible))


def _combinations(keys: tuple[AnswerKey, ...]) -> list[dict[AnswerKey, AnswerValue]]:
    out: list[dict[AnswerKey, AnswerValue]] = [{}]
    for key in keys:
        out = [{**combo, key: value} for combo in out for value in ANSWER_SCHEMA[key]]
    return out
