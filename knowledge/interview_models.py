"""Models for the "Which programme fits me?" interview (interview.yaml) and the rules (eligibility.yaml).

`ANSWER_SCHEMA` is the interview's public schema: the answer keys and their allowed values, shared by the
interview, the rule evaluator and `python -m bot recommend`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Final, Literal

from pydantic import Field, StrictBool, field_validator

from knowledge.models import Frozen

AnswerKey = Literal[
    "phase", "school_funding", "country", "role", "ect", "dwg_last_year", "specialist_already"
]
# StrictBool first, so YAML `true` stays a bool and "true" stays a string (and is then rejected).
AnswerValue = StrictBool | str
Conditions = dict[AnswerKey, tuple[AnswerValue, ...]]

ANSWER_SCHEMA: Final[Mapping[AnswerKey, tuple[AnswerValue, ...]]] = {
    "phase": ("primary", "secondary", "all-through", "special", "post-16"),
    "school_funding": ("state", "independent"),
    "country": ("england", "wales", "scotland", "northern-ireland", "other"),
    "role": ("classroom-teacher", "head-of-department", "senior-leader", "teaching-assistant", "other"),
    "ect": (True, False),
    "dwg_last_year": (True, False),
    "specialist_already": (True, False),
}
ANSWER_KEYS: Final[tuple[AnswerKey, ...]] = tuple(ANSWER_SCHEMA)


def answer_key(name: str) -> AnswerKey | None:
    """`name` as an answer key, or None when it is not one."""
    return next((key for key in ANSWER_KEYS if key == name), None)


def valid_answer(name: str, value: object) -> bool:
    key = answer_key(name)
    return key is not None and is_allowed(key, value)


def is_boolean_key(key: AnswerKey) -> bool:
    return isinstance(ANSWER_SCHEMA[key][0], bool)


def is_allowed(key: AnswerKey, value: object) -> bool:
    """True when `value` is an allowed value of `key` (yes/no keys need a real bool, not 1 or "yes")."""
    if is_boolean_key(key):
        return type(value) is bool
    return isinstance(value, str) and value in ANSWER_SCHEMA[key]


def describe_allowed(key: AnswerKey) -> str:
    if is_boolean_key(key):
        return "true or false"
    return "one of " + ", ".join(str(v) for v in ANSWER_SCHEMA[key])


def conditions_hold(
    conditions: Mapping[AnswerKey, tuple[AnswerValue, ...]], answers: Mapping[str, object]
) -> bool:
    """Every condition's key is answered with one of its values (an unanswered key fails)."""
    for key, values in conditions.items():
        if key not in answers or not any(same_value(answers[key], v) for v in values):
            return False
    return True


def same_value(a: object, b: object) -> bool:
    """Equality that keeps True and 1 apart."""
    return type(a) is type(b) and a == b


# -- interview.yaml ----------------------------------------------------------------------------


class InterviewChoice(Frozen):
    value: AnswerValue
    label: str = Field(min_length=1, description="Button label")
    summary: str | None = Field(default=None, description="How the answer reads in the summary line")
    synonyms: tuple[str, ...] = Field(default=(), description="Free-text phrases for this value")
    patterns: tuple[str, ...] = Field(
        default=(), description="Regular expressions over the normalised text (e.g. school years)"
    )
    implies: dict[AnswerKey, AnswerValue] = Field(
        default_factory=dict, description="Other answers this one settles, so their questions are skipped"
    )
    mentions: tuple[str, ...] = Field(
        default=(),
        description="Phrases that give this answer anywhere in a message, whichever question is being asked",
    )
    condition: str | None = Field(
        default=None, description="The answer as a condition ('if ...') when it was left unknown"
    )

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from exc
        return value


class UnsureChoice(Frozen):
    """An "I'm not sure" answer: the key stays unanswered and the recommendation says what to find out."""

    label: str = Field(min_length=1)
    note: str = Field(min_length=1, description="Shown with the programmes that depend on this answer")


class InterviewQuestion(Frozen):
    id: AnswerKey
    prompt: str = Field(min_length=1)
    hint: str = Field(
        min_length=1, description="Added when the question is asked again after an unclear answer"
    )
    choices: tuple[InterviewChoice, ...] = Field(min_length=2)
    unsure: UnsureChoice | None = None
    yes_no: bool = Field(default=False, description="Add the shared yes/no phrases to the true/false choices")
    pick_up: bool = Field(
        default=False,
        description="Also take this answer, when it is unmistakable, from what is typed for another question",
    )
    ask_if: Conditions = Field(
        default_factory=dict,
        description="Ask only when every listed answer is one of these values (otherwise it is irrelevant)",
    )


class AlsoAnswer(Frozen):
    """A phrase in any free-text answer that also answers another question (e.g. "NQT" -> ect: true)."""

    phrases: tuple[str, ...] = Field(min_length=1)
    answers: dict[AnswerKey, AnswerValue] = Field(min_length=1)


class InterviewPhrases(Frozen):
    """Free-text vocabulary, matched after normalisation (see lexicon.yaml: "nqt" already reads as ECT)."""

    yes: tuple[str, ...] = Field(min_length=1)
    yes_alone: tuple[str, ...] = Field(default=(), description="Yes only as the whole message ('I am')")
    no: tuple[str, ...] = Field(min_length=1)
    unsure: tuple[str, ...] = Field(min_length=1)
    back: tuple[str, ...] = Field(min_length=1)
    carry_on: tuple[str, ...] = Field(min_length=1)
    start_again: tuple[str, ...] = Field(min_length=1)
    question_starts: tuple[str, ...] = Field(
        min_length=1, description="First words that make a message a question for the FAQ, not an answer"
    )
    negations: tuple[str, ...] = Field(
        min_length=1, description="Words that turn what follows them in the same clause around ('not HoD')"
    )
    clause_breaks: tuple[str, ...] = Field(
        default=(), description="Words that end a negation's reach ('not primary but secondary')"
    )
    corrections: tuple[str, ...] = Field(
        default=(), description="Words that say an earlier answer is being changed ('actually')"
    )


class SchoolLookup(Frozen):
    """How a school found in the packaged school list (GIAS) answers the interview's questions."""

    phases: dict[str, AnswerValue] = Field(
        default_factory=dict, description="GIAS 'PhaseOfEducation (name)' -> the phase answer"
    )
    special_types: tuple[str, ...] = Field(
        default=(), description="GIAS establishment types that are special schools (phase: special)"
    )
    countries_by_type: dict[str, AnswerValue] = Field(
        default_factory=dict, description="GIAS establishment types outside England -> the country answer"
    )
    outside_england_country: AnswerValue = Field(
        default="other", description="The country answer for a school whose LA is outside England"
    )


class InterviewTexts(Frozen):
    intro: str
    reask: str
    reask_again: str
    back_label: str
    back_at_start: str
    already_running: str
    button_gone: str
    resume_offer: str
    carry_on_label: str
    start_again_label: str
    restarted: str
    expired: str
    lost_track: str
    unavailable: str
    summary: str
    eligible_heading: str
    none_eligible: str
    not_eligible_heading: str
    unclear_heading: str
    missing_answer: str
    notes_heading: str
    next_step: str
    hub: str
    contact_label: str
    restart_label: str
    ask_label: str
    got_it: str
    taken_back: str
    welcome_back: str
    main_menu_label: str
    school_confirm: str
    school_pick: str
    school_yes_label: str
    school_none_label: str
    school_declined: str
    school_not_found: str
    school_closed: str
    headline_one: str
    headline_many: str
    headline_possible: str
    headline_none: str
    outside_england: str
    possibly: str
    possibly_heading: str
    local_hub: str
    details_label: str
    dates_heading: str


class InterviewSpec(Frozen):
    questions: tuple[InterviewQuestion, ...] = Field(min_length=1)
    phrases: InterviewPhrases
    also_answers: tuple[AlsoAnswer, ...] = ()
    school_lookup: SchoolLookup = Field(default_factory=SchoolLookup)
    texts: InterviewTexts

    def question(self, question_id: str) -> InterviewQuestion | None:
        return next((q for q in self.questions if q.id == question_id), None)


# -- eligibility.yaml --------------------------------------------------------------------------


class RuleOutcome(Frozen):
    values: tuple[AnswerValue, ...] = Field(min_length=1)
    text: str = Field(min_length=1)


class EligibilityRule(Frozen):
    """One condition a programme sets, with the seed it comes from.

    `op: in` passes for `values`, `op: not_in` passes for every other value. `caveats` pass with a
    remark; `silent` are values the seeds do not cover (the programme is then "ask your hub").
    """

    field: AnswerKey
    op: Literal["in", "not_in"] = "in"
    values: tuple[AnswerValue, ...] = Field(min_length=1)
    reason_pass: str | None = None
    reason_fail: str | None = Field(
        default=None, description="Required unless values, caveats and silent cover every allowed value"
    )
    caveats: tuple[RuleOutcome, ...] = ()
    silent: tuple[RuleOutcome, ...] = ()
    source: str = Field(description="Source id in sources.yaml")
    quote: str = Field(min_length=1, description="The seed's own words the rule rests on")


class ConditionalText(Frozen):
    when: Conditions = Field(default_factory=dict)
    text: str = Field(min_length=1)
    source: str


class Deadline(Frozen):
    date: dt.date = Field(description="Last day applications are accepted")
    when: Conditions = Field(default_factory=dict)
    before: str = Field(min_length=1, description="Said while the date has not passed")
    after: str = Field(min_length=1, description="Said once the date has passed")
    next_step_after: str = Field(min_length=1, description="Replaces the next step once the date has passed")
    source: str


class OfferYear(Frozen):
    """The academic year a seed describes an offer for; after `ends` the details are for a past year."""

    label: str
    ends: dt.date
    after: str = Field(min_length=1)
    source: str


class ProgrammeEligibility(Frozen):
    programme: str = Field(description="Programme id in programmes.yaml")
    rules: tuple[EligibilityRule, ...] = Field(min_length=1)
    notes: tuple[ConditionalText, ...] = Field(default=(), description="Extra reasons shown when it fits")
    next_steps: tuple[ConditionalText, ...] = Field(
        min_length=1, description="The first whose `when` holds is the next step; the last has no `when`"
    )
    deadline: Deadline | None = None
    offered_for: OfferYear | None = None


class EligibilityTexts(Frozen):
    missing: str
    missing_unused: str
    invalid: str
    unknown_key: str
    unclear: str
    next_step: str


class EligibilitySpec(Frozen):
    programmes: tuple[ProgrammeEligibility, ...] = Field(min_length=1)
    notes: tuple[ConditionalText, ...] = Field(
        default=(), description="General notes, shown when `when` holds"
    )
    texts: EligibilityTexts
