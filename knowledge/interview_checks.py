"""Load interview.yaml and eligibility.yaml and check their cross-references (called from the loader).

Checks: every answer key has a question and every choice, condition and rule value is in the public
schema; `ask_if` only looks at earlier questions; every rule's programme and source exists; every
programme has rules; text placeholders are ones the bot fills in.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from knowledge.interview_models import (
    ANSWER_KEYS,
    ANSWER_SCHEMA,
    AnswerKey,
    AnswerValue,
    ConditionalText,
    EligibilitySpec,
    InterviewSpec,
    describe_allowed,
    is_allowed,
    is_boolean_key,
)

if TYPE_CHECKING:
    from knowledge.loader import _Collector

INTERVIEW_FILE = "interview.yaml"
ELIGIBILITY_FILE = "eligibility.yaml"

# The `{fields}` the bot fills in, per text. A text may use fewer, never others.
INTERVIEW_TEXT_FIELDS: Mapping[str, frozenset[str]] = {
    "reask": frozenset({"prompt", "hint"}),
    "reask_again": frozenset({"prompt", "hint"}),
    "already_running": frozenset({"prompt"}),
    "button_gone": frozenset({"prompt"}),
    "unavailable": frozenset({"hub_contact"}),
    "summary": frozenset({"summary"}),
    "hub": frozenset({"hub_contact"}),
    "next_step": frozenset({"step"}),
    "got_it": frozenset({"summary"}),
    "taken_back": frozenset({"summary"}),
    "welcome_back": frozenset({"prompt"}),
    "school_confirm": frozenset({"school"}),
    "school_not_found": frozenset({"school"}),
    "school_closed": frozenset({"school"}),
    "headline_one": frozenset({"programme"}),
    "headline_many": frozenset({"count", "programmes"}),
    "headline_possible": frozenset({"programmes"}),
    "outside_england": frozenset({"where"}),
    "possibly": frozenset({"condition"}),
    "local_hub": frozenset({"hub", "url"}),
}
ELIGIBILITY_TEXT_FIELDS: Mapping[str, frozenset[str]] = {
    "missing": frozenset({"key", "allowed", "programmes"}),
    "missing_unused": frozenset({"key", "allowed"}),
    "invalid": frozenset({"key", "value", "allowed"}),
    "unknown_key": frozenset({"key"}),
    "unclear": frozenset({"programmes", "reason"}),
    "next_step": frozenset({"step"}),
}


def load_interview(
    c: _Collector, source_ids: set[str], programme_ids: set[str]
) -> tuple[InterviewSpec | None, EligibilitySpec | None]:
    """Both files, or neither (a knowledge set without the programme finder, like the test fixtures)."""
    if not (c.directory / INTERVIEW_FILE).exists() and not (c.directory / ELIGIBILITY_FILE).exists():
        return None, None
    raw = c.read(INTERVIEW_FILE)
    interview = c.model(INTERVIEW_FILE, "", raw, InterviewSpec) if raw is not None else None
    raw = c.read(ELIGIBILITY_FILE)
    eligibility = c.model(ELIGIBILITY_FILE, "", raw, EligibilitySpec) if raw is not None else None
    if interview is not None:
        _check_interview(c, interview)
    if eligibility is not None:
        _check_eligibility(c, eligibility, source_ids, programme_ids)
    return interview, eligibility


def _add(c: _Collector, file: str, where: str, message: str) -> None:
    from knowledge.loader import Problem

    c.problems.append(Problem(file, where, message))


def _check_value(c: _Collector, file: str, where: str, key: AnswerKey, value: AnswerValue) -> None:
    if not is_allowed(key, value):
        _add(c, file, where, f"{value!r} is not an allowed value of '{key}' ({describe_allowed(key)})")


def _check_conditions(
    c: _Collector,
    file: str,
    where: str,
    conditions: Mapping[AnswerKey, Iterable[AnswerValue]],
    known: Iterable[str] = ANSWER_KEYS,
) -> None:
    known_keys = set(known)
    for key, values in conditions.items():
        if key not in known_keys:
            _add(c, file, f"{where}.{key}", f"'{key}' is not asked before this point")
            continue
        for value in values:
            _check_value(c, file, f"{where}.{key}", key, value)


def _check_placeholders(
    c: _Collector, file: str, prefix: str, texts: Mapping[str, str], allowed: Mapping[str, frozenset[str]]
) -> None:
    for name, text in texts.items():
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as exc:
            _add(c, file, f"{prefix}.{name}", f"bad {{placeholder}}: {exc}")
            continue
        unknown = fields - allowed.get(name, frozenset())
        if unknown:
            _add(c, file, f"{prefix}.{name}", f"unknown placeholder(s) {sorted(unknown)}")


def _phrase_key(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def _check_interview(c: _Collector, spec: InterviewSpec) -> None:
    f = INTERVIEW_FILE
    ids = [q.id for q in spec.questions]
    for dup, count in Counter(ids).items():
        if count > 1:
            _add(c, f, "questions", f"duplicate question '{dup}' ({count} times)")
    for key in ANSWER_KEYS:
        if key not in ids:
            _add(c, f, "questions", f"no question for answer key '{key}'")
    for index, question in enumerate(spec.questions):
        where = f"questions[{index}] ({question.id})"
        values = [ch.value for ch in question.choices]
        for ch_index, choice in enumerate(question.choices):
            _check_value(c, f, f"{where}.choices[{ch_index}].value", question.id, choice.value)
            for key, value in choice.implies.items():
                if key == question.id:
                    _add(
                        c, f, f"{where}.choices[{ch_index}].implies", "a choice cannot imply its own question"
                    )
                _check_value(c, f, f"{where}.choices[{ch_index}].implies.{key}", key, value)
        if len({repr(v) for v in values}) != len(values):
            _add(c, f, f"{where}.choices", "the same value appears twice")
        if is_boolean_key(question.id):
            if {repr(v) for v in values} != {"True", "False"}:
                _add(c, f, f"{where}.choices", "a yes/no question needs exactly the values true and false")
        elif question.yes_no:
            _add(
                c,
                f,
                f"{where}.yes_no",
                "only yes/no (true/false) questions can use the shared yes/no phrases",
            )
        _check_conditions(c, f, f"{where}.ask_if", question.ask_if, known=ids[:index])
        owner: dict[str, AnswerValue] = {}
        for choice in question.choices:
            for phrase in (choice.label, *choice.synonyms, *choice.mentions):
                said = _phrase_key(phrase)
                if said in owner and repr(owner[said]) != repr(choice.value):
                    _add(
                        c,
                        f,
                        f"{where}.choices",
                        f"'{phrase}' stands for both {owner[said]!r} and {choice.value!r}",
                    )
                owner.setdefault(said, choice.value)
    lookup = spec.school_lookup
    for name, value in lookup.phases.items():
        _check_value(c, f, f"school_lookup.phases.{name}", "phase", value)
    for name, value in lookup.countries_by_type.items():
        _check_value(c, f, f"school_lookup.countries_by_type.{name}", "country", value)
    _check_value(c, f, "school_lookup.outside_england_country", "country", lookup.outside_england_country)
    for index, also in enumerate(spec.also_answers):
        for key, value in also.answers.items():
            _check_value(c, f, f"also_answers[{index}].answers.{key}", key, value)
    _check_placeholders(c, f, "texts", spec.texts.model_dump(), INTERVIEW_TEXT_FIELDS)


def _check_eligibility(
    c: _Collector, spec: EligibilitySpec, source_ids: set[str], programme_ids: set[str]
) -> None:
    f = ELIGIBILITY_FILE

    def source(where: str, src: str) -> None:
        if src not in source_ids:
            _add(c, f, where, f"unknown source '{src}'")

    def conditional(where: str, items: Iterable[ConditionalText]) -> None:
        for index, item in enumerate(items):
            _check_conditions(c, f, f"{where}[{index}].when", item.when)
            source(f"{where}[{index}].source", item.source)

    covered = [p.programme for p in spec.programmes]
    for dup, count in Counter(covered).items():
        if count > 1:
            _add(c, f, "programmes", f"duplicate programme '{dup}' ({count} times)")
    for missing in sorted(programme_ids - set(covered)):
        _add(c, f, "programmes", f"programme '{missing}' (programmes.yaml) has no eligibility rules")
    for index, entry in enumerate(spec.programmes):
        where = f"programmes[{index}] ({entry.programme})"
        if entry.programme not in programme_ids:
            _add(c, f, f"{where}.programme", f"unknown programme '{entry.programme}'")
        for r_index, rule in enumerate(entry.rules):
            rw = f"{where}.rules[{r_index}]"
            source(f"{rw}.source", rule.source)
            seen: list[AnswerValue] = []
            groups = [("values", rule.values)]
            groups += [(f"caveats[{i}]", o.values) for i, o in enumerate(rule.caveats)]
            groups += [(f"silent[{i}]", o.values) for i, o in enumerate(rule.silent)]
            for label, values in groups:
                for value in values:
                    _check_value(c, f, f"{rw}.{label}", rule.field, value)
                    if any(repr(value) == repr(s) for s in seen):
                        _add(c, f, f"{rw}.{label}", f"{value!r} is listed twice in this rule")
                    seen.append(value)
            if rule.op == "not_in" and (rule.caveats or rule.silent):
                _add(c, f, rw, "caveats and silent values need `op: in`")
            covers_all = rule.op == "in" and all(
                any(repr(v) == repr(s) for s in seen) for v in ANSWER_SCHEMA[rule.field]
            )
            if rule.reason_fail is None and not covers_all:
                _add(c, f, f"{rw}.reason_fail", "needed: some allowed values fail this rule")
        conditional(f"{where}.notes", entry.notes)
        conditional(f"{where}.next_steps", entry.next_steps)
        if entry.next_steps[-1].when:
            _add(c, f, f"{where}.next_steps", "the last next step must have no `when` (it is the default)")
        if entry.deadline is not None:
            _check_conditions(c, f, f"{where}.deadline.when", entry.deadline.when)
            source(f"{where}.deadline.source", entry.deadline.source)
        if entry.offered_for is not None:
            source(f"{where}.offered_for.source", entry.offered_for.source)
    conditional("notes", spec.notes)
    _check_placeholders(c, f, "texts", spec.texts.model_dump(), ELIGIBILITY_TEXT_FIELDS)
