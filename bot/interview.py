"""The "Which programme fits me?" interview: a pure state machine over interview.yaml, and the Flow around it.

`begin` and `advance` are pure: (state, input) -> (state, replies), with the knowledge, today's date and
the text normaliser passed in. `InterviewFlow` plugs them into the engine, which stores the state; it
adds the idle check (offer "carry on or start again?", or expire) using the engine's clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from rapidfuzz import fuzz, process

from bot.eligibility import Outcome, Possible, Verdict, evaluate_with_unknowns
from bot.flows import FlowContext, FlowResult
from bot.interview_reading import Reading, local_authority_in, read_message, school_name_in
from bot.messages import Choice, Reply
from bot.normalise import clean_user_text
from bot.routing import find_school, lookup_school, route, route_local_authority
from bot.settings import Settings
from bot.state import FlowState
from knowledge.hubs import School
from knowledge.interview_models import (
    AnswerValue,
    EligibilitySpec,
    InterviewQuestion,
    InterviewSpec,
    answer_key,
    conditions_hold,
    same_value,
    valid_answer,
)
from knowledge.loader import Knowledge

FLOW_NAME = "interview"
ACTION_PREFIX = f"flow:{FLOW_NAME}:"
RESUME_STEP = "resume"
SCHOOL_STEP = "school"  # "Is that St Paul's Academy, Greenwich?" is being asked
DATA_VERSION = 1
FUZZY_CUTOFF = 84.0  # rapidfuzz ratio: "secondry" -> "secondary", "Englnd" -> "England"
FUZZY_MIN_LENGTH = 4  # shorter typed words are too easily confused ("no" / "on")
FUZZY_MIN_PHRASE = 3  # but a typed "yess" may still mean "yes"
WHOLE_CUTOFF = 90.0  # a whole message this close to a phrase is that phrase, misspelt
WHOLE_MIN_LENGTH = 6
MIN_QUESTION_WORDS = 3  # "is the dwg free" is a question; "is" alone is not


# -- state -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InterviewState:
    """Where an interview is. `given_at` says at which question each answer was given, so "back" can
    take back everything said there (an "I'm an NQT" answers two questions at once)."""

    step: str  # the question being asked, or RESUME_STEP while "carry on or start again?" is offered
    answers: Mapping[str, AnswerValue] = field(default_factory=dict)
    given_at: Mapping[str, str] = field(default_factory=dict)
    unsure: tuple[str, ...] = ()  # questions answered "not sure": left unanswered, not asked again
    history: tuple[str, ...] = ()  # questions answered, in order, for "back"
    reasks: int = 0  # unclear answers in a row to the current question
    paused: str | None = None  # the question to return to after the resume offer or the school check
    implied: Mapping[str, str] = field(default_factory=dict)  # answer -> the answer that implied it
    school: str | None = None  # the URN of the school the user confirmed
    offered: tuple[str, ...] = ()  # URNs offered for confirmation
    hub: str | None = None  # the user's Maths Hub, when routing is confident

    def to_flow(self, started_at: dt.datetime, now: dt.datetime) -> FlowState:
        data: dict[str, Any] = {
            "version": DATA_VERSION,
            "answers": dict(self.answers),
            "given_at": dict(self.given_at),
            "unsure": list(self.unsure),
            "reasks": self.reasks,
            "paused": self.paused,
            "implied": dict(self.implied),
            "school": self.school,
            "offered": list(self.offered),
            "hub": self.hub,
        }
        return FlowState(
            name=FLOW_NAME,
            step=self.step,
            data=data,
            history=list(self.history),
            started_at=started_at,
            updated_at=now,
        )

    @classmethod
    def from_flow(cls, flow: FlowState) -> InterviewState | None:
        """The saved interview, or None when its shape is unusable (then the interview starts again)."""
        data = flow.data
        try:
            if data.get("version") != DATA_VERSION:
                return None
            answers = {str(k): v for k, v in dict(data["answers"]).items() if valid_answer(str(k), v)}
            return cls(
                step=flow.step,
                answers=answers,
                given_at={str(k): str(v) for k, v in dict(data["given_at"]).items()},
                unsure=tuple(str(u) for u in data["unsure"]),
                history=tuple(flow.history),
                reasks=int(data["reasks"]),
                paused=None if data.get("paused") is None else str(data["paused"]),
                implied={str(k): str(v) for k, v in dict(data.get("implied") or {}).items()},
                school=None if data.get("school") is None else str(data["school"]),
                offered=tuple(str(u) for u in data.get("offered") or ()),
                hub=None if data.get("hub") is None else str(data["hub"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


# -- inputs and outputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Typed:
    text: str


@dataclass(frozen=True)
class Pressed:
    value: str  # a button value, "flow:interview:..."


Event = Typed | Pressed


@dataclass(frozen=True)
class Turn:
    state: InterviewState | None  # None: the interview is over
    replies: tuple[Reply, ...] = ()
    consumed: bool = True  # False: not an answer (a question for the FAQ); the state is unchanged
    recommended: str | None = None  # the first programme that fits, once the interview is over


@dataclass(frozen=True)
class InterviewContext:
    """What the pure core reads: the knowledge, today's date and the text normaliser."""

    knowledge: Knowledge
    spec: InterviewSpec
    eligibility: EligibilitySpec
    today: dt.date
    normalise: Callable[[str], str]

    @classmethod
    def of(
        cls, knowledge: Knowledge, today: dt.date, normalise: Callable[[str], str]
    ) -> InterviewContext | None:
        if knowledge.interview is None or knowledge.eligibility is None:
            return None
        return cls(knowledge, knowledge.interview, knowledge.eligibility, today, normalise)

    @property
    def local_authorities(self) -> Mapping[str, str]:
        """Every local authority a Maths Hub lists, normalised -> its GIAS spelling (all in England)."""
        cached = _LA_CACHE.get(id(self.knowledge))
        if cached is None or cached[0] is not self.knowledge:
            data = self.knowledge.enquiry
            names = {la for hub in data.hubs.hubs for la in hub.local_authorities} if data else set()
            cached = (self.knowledge, {self.normalise(la): la for la in names if self.normalise(la)})
            _LA_CACHE.clear()
            _LA_CACHE[id(self.knowledge)] = cached
        return cached[1]


_LA_CACHE: dict[int, tuple[Knowledge, dict[str, str]]] = {}


# -- understanding free text -------------------------------------------------------------------


class _Unsure:
    def __repr__(self) -> str:
        return "UNSURE"


UNSURE = _Unsure()
Meaning = AnswerValue | _Unsure


@dataclass(frozen=True)
class Match:
    kind: Literal["answer", "unsure", "ambiguous", "none"]
    value: AnswerValue | None = None


def _phrases(
    ctx: InterviewContext, question: InterviewQuestion, with_unsure: bool = True
) -> list[tuple[str, Meaning]]:
    """Every phrase that answers `question`, normalised the same way as the user's text."""
    yes_no = ctx.spec.phrases
    out: list[tuple[str, Meaning]] = []
    for choice in question.choices:
        phrases: list[str] = [choice.label, *choice.synonyms]
        if question.yes_no and choice.value is True:
            phrases += yes_no.yes
        elif question.yes_no and choice.value is False:
            phrases += yes_no.no
        out += [(ctx.normalise(p), choice.value) for p in phrases]
    if with_unsure:
        out += [(ctx.normalise(p), UNSURE) for p in yes_no.unsure]
    return [(p, v) for p, v in out if p]


def _patterns(question: InterviewQuestion) -> list[tuple[str, Meaning]]:
    return [(pattern, choice.value) for choice in question.choices for pattern in choice.patterns]


def _spans(
    text: str, phrases: Iterable[tuple[str, Meaning]], patterns: Iterable[tuple[str, Meaning]]
) -> list[Meaning]:
    """The meanings found in `text`: longest phrase first, overlapping shorter ones dropped, so
    "i dont think so" means no although it contains "think so"."""
    found: list[tuple[int, int, Meaning]] = []
    for phrase, meaning in phrases:
        for m in re.finditer(rf"(?<!\S){re.escape(phrase)}(?!\S)", text):
            found.append((m.start(), m.end(), meaning))
    for pattern, meaning in patterns:
        for m in re.finditer(pattern, text):
            found.append((m.start(), m.end(), meaning))
    found.sort(key=lambda s: (s[0] - s[1], s[0]))
    chosen: list[tuple[int, int, Meaning]] = []
    for start, end, meaning in found:
        if all(end <= c_start or start >= c_end for c_start, c_end, _ in chosen):
            chosen.append((start, end, meaning))
    return [meaning for _, _, meaning in chosen]


def _distinct(meanings: Iterable[Meaning]) -> list[Meaning]:
    out: list[Meaning] = []
    for meaning in meanings:
        if not any(same_value(meaning, m) for m in out):
            out.append(meaning)
    return out


def _as_match(meanings: Sequence[Meaning]) -> Match:
    if len(meanings) > 1:
        return Match("ambiguous")
    if not meanings:
        return Match("none")
    only = meanings[0]
    if isinstance(only, _Unsure):
        return Match("unsure")
    return Match("answer", only)


def match_answer(ctx: InterviewContext, question: InterviewQuestion, text: str) -> Match:
    """Read `text` (normalised) as an answer to `question`: exact phrases first, then typo-tolerant."""
    if question.yes_no and _is_one_of(ctx, text, ctx.spec.phrases.yes_alone):
        return Match("answer", True)
    phrases = _phrases(ctx, question)
    exact = _distinct(m for p, m in phrases if p == text)
    if exact:
        return _as_match(exact)
    # A misspelt whole answer ("head of departmnt") beats the short phrase inside it ("head").
    close = process.extractOne(
        text,
        [p for p, _ in phrases if len(p) >= WHOLE_MIN_LENGTH],
        scorer=fuzz.ratio,
        score_cutoff=WHOLE_CUTOFF,
    )
    if close is not None:
        return _as_match(_distinct(m for p, m in phrases if p == close[0]))
    meanings = _distinct(_spans(text, phrases, _patterns(question)))
    if meanings:
        return _as_match(meanings)
    return _as_match(_distinct(_fuzzy(text, phrases)))


def _fuzzy(text: str, phrases: Sequence[tuple[str, Meaning]]) -> list[Meaning]:
    single = {p: m for p, m in phrases if " " not in p and len(p) >= FUZZY_MIN_PHRASE}
    multi = {p: m for p, m in phrases if " " in p}
    out: list[Meaning] = []
    if multi:
        best = process.extractOne(text, list(multi), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if best is not None:
            out.append(multi[best[0]])
    for word in text.split():
        if len(word) < FUZZY_MIN_LENGTH or not single:
            continue
        best = process.extractOne(word, list(single), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if best is not None:
            out.append(single[best[0]])
    return out


def looks_like_question(ctx: InterviewContext, text: str) -> bool:
    words = text.split()
    starts = {ctx.normalise(w) for w in ctx.spec.phrases.question_starts}
    return len(words) >= MIN_QUESTION_WORDS and words[0] in starts


def _is_one_of(ctx: InterviewContext, text: str, phrases: Iterable[str]) -> bool:
    return bool(text) and text in {ctx.normalise(p) for p in phrases}


# -- the state machine -------------------------------------------------------------------------


def value_token(value: AnswerValue) -> str:
    return str(value).lower() if isinstance(value, bool) else value


def _choice_value(question: InterviewQuestion, token: str) -> AnswerValue | None:
    return next((c.value for c in question.choices if value_token(c.value) == token), None)


def next_question(spec: InterviewSpec, state: InterviewState) -> InterviewQuestion | None:
    """The first question not yet answered whose `ask_if` holds."""
    for question in spec.questions:
        if question.id in state.answers or question.id in state.unsure:
            continue
        if conditions_hold(question.ask_if, state.answers):
            return question
    return None


def question_reply(
    ctx: InterviewContext, question: InterviewQuestion, state: InterviewState, text: str | None = None
) -> Reply:
    choices = [
        Choice(c.label, f"{ACTION_PREFIX}answer:{question.id}:{value_token(c.value)}")
        for c in question.choices
    ]
    if question.unsure is not None:
        choices.append(Choice(question.unsure.label, f"{ACTION_PREFIX}unsure:{question.id}"))
    if state.history:
        choices.append(Choice(ctx.spec.texts.back_label, f"{ACTION_PREFIX}back"))
    return Reply(text or question.prompt, choices=tuple(choices), kind="question")


def resume_reply(ctx: InterviewContext) -> Reply:
    texts = ctx.spec.texts
    return Reply(
        texts.resume_offer,
        choices=(
            Choice(texts.carry_on_label, f"{ACTION_PREFIX}resume"),
            Choice(texts.start_again_label, f"{ACTION_PREFIX}restart"),
        ),
        kind="question",
    )


def reprompt(ctx: InterviewContext, state: InterviewState) -> list[Reply]:
    if state.step == RESUME_STEP:
        return [resume_reply(ctx)]
    if state.step == SCHOOL_STEP:
        return [school_reply(ctx, state)]
    question = ctx.spec.question(state.step)
    return [question_reply(ctx, question, state)] if question is not None else []


def begin(
    ctx: InterviewContext, prefill: Mapping[str, object] | None = None, lead: Sequence[Reply] | None = None
) -> Turn:
    """A new interview: the intro and the first question (answers already known are not asked)."""
    answers = {k: v for k, v in (prefill or {}).items() if isinstance(v, bool | str) and valid_answer(k, v)}
    state = InterviewState(step="", answers=answers, given_at=dict.fromkeys(answers, "prefill"))
    return _ask_next(ctx, state, [*(lead or ()), Reply(ctx.spec.texts.intro)])


def pause(state: InterviewState) -> InterviewState:
    if state.step == RESUME_STEP:
        return state
    return replace(state, step=RESUME_STEP, paused=state.step)


def advance(ctx: InterviewContext, state: InterviewState, event: Event) -> Turn:
    """One input -> the new state and the replies."""
    if isinstance(event, Pressed) and event.value.startswith(f"{ACTION_PREFIX}details:"):
        return Turn(state, (*details(ctx, event.value), *reprompt(ctx, state)))
    if state.step == RESUME_STEP:
        return _resume_step(ctx, state, event)
    if state.step == SCHOOL_STEP:
        return _school_step(ctx, state, event)
    question = ctx.spec.question(state.step)
    if question is None:
        return begin(ctx, lead=[Reply(ctx.spec.texts.lost_track)])
    if isinstance(event, Pressed):
        return _pressed(ctx, state, question, event.value)
    return _typed(ctx, state, question, event.text)


def _pressed(ctx: InterviewContext, state: InterviewState, question: InterviewQuestion, value: str) -> Turn:
    kind, _, rest = value.removeprefix(ACTION_PREFIX).partition(":")
    if kind == "back":
        return _back(ctx, state, question)
    if kind == "restart":
        return restart(ctx)
    if kind == "resume":
        return Turn(state, tuple(reprompt(ctx, state)))
    if kind == "unsure" and rest == question.id and question.unsure is not None:
        return _accept_unsure(ctx, state, question)
    if kind == "answer":
        question_id, _, token = rest.partition(":")
        if question_id == question.id:
            chosen = _choice_value(question, token)
            if chosen is not None:
                return _accept(ctx, state, question, chosen, {})
        elif question_id in state.answers and (earlier := ctx.spec.question(question_id)) is not None:
            chosen = _choice_value(earlier, token)
            if chosen is not None:
                return _correct(ctx, state, earlier, chosen)
    text = ctx.spec.texts.button_gone.format(prompt=question.prompt)
    return Turn(state, (question_reply(ctx, question, state, text),))


def _typed(ctx: InterviewContext, state: InterviewState, question: InterviewQuestion, raw: str) -> Turn:
    text = ctx.normalise(raw)
    phrases = ctx.spec.phrases
    texts = ctx.spec.texts
    if _is_one_of(ctx, text, phrases.back):
        return _back(ctx, state, question)
    if _is_one_of(ctx, text, ctx.knowledge.lexicon.intents.get("fit", ())):
        reply = texts.already_running.format(prompt=question.prompt)
        return Turn(state, (question_reply(ctx, question, state, reply),))
    if _is_one_of(ctx, text, ctx.knowledge.lexicon.greetings):
        # The web page greets on load: after a reload, show where we were.
        reply = texts.welcome_back.format(prompt=question.prompt)
        return Turn(state, (question_reply(ctx, question, state, reply),))
    if looks_like_question(ctx, text):
        return Turn(state, consumed=False)

    reading = read_message(ctx.spec, ctx.normalise, question, raw)
    if question.yes_no and _is_one_of(ctx, text, phrases.yes_alone):
        reading.answers[question.id] = True
        reading.generic.add(question.id)
    if reading.denied:  # "no, I'm not the HoD": the "no" is about the correction, not this question
        for key in list(reading.generic):
            reading.answers.pop(key, None)
    area = local_authority_in(text, ctx.local_authorities)
    if area is not None and "country" not in reading.answers and "country" not in reading.denied:
        reading.answers["country"] = "england"

    # A school named in the message ("I teach at St Paul's Academy in Greenwich"), or, at the first
    # question, the whole message: look it up in the school list. A whole message that names a school
    # is that school ("Kingsgate Junior School" is not an answer "primary").
    name = school_name_in(raw)
    whole = False
    exact = text in {p for p, _ in _phrases(ctx, question)}  # "sixth form college" is an answer
    if name is None and question.id == ctx.spec.questions[0].id and state.school is None and not exact:
        name, whole = raw, True
    school_turn: tuple[list[School], list[School]] = ([], [])
    if name is not None and state.school is None:
        school_turn = _find_schools(ctx, name)
    if whole and school_turn[1] and not school_turn[0]:
        closed = Reply(texts.school_closed.format(school=_school_label(school_turn[1][0])))
        return Turn(replace(state, reasks=0), (closed, question_reply(ctx, question, state)))
    if whole and school_turn[0]:
        return _offer_school(ctx, state, school_turn[0], [])
    if school_turn[0]:  # the school will answer these; what else the message says still counts
        for key in ("phase", "country", "school_funding"):
            reading.answers.pop(key, None)

    current: AnswerValue | None = reading.answers.get(question.id)
    unsure = question.id in reading.unsure and question.unsure is not None
    undecided = current is None and not unsure and question.id not in reading.ambiguous
    if undecided and not reading.denied and not school_turn[0] and (reading.empty or not question.yes_no):
        match = match_answer(ctx, question, text)
        if match.kind == "answer":
            current = match.value
        elif match.kind == "unsure" and question.unsure is not None:
            unsure = True
    answered = current is not None or unsure
    new, removed = _changes(ctx, state, question, reading, answered)
    other_unsure = tuple(
        k
        for k in sorted(reading.unsure)
        if k != question.id
        and k not in state.answers
        and k not in state.unsure
        and (q := ctx.spec.question(k)) is not None
        and q.unsure is not None
    )
    if area is not None and state.hub is None and ctx.knowledge.enquiry is not None:
        routed = route_local_authority(ctx.knowledge.enquiry, area)
        if not routed.manual_routing:
            state = replace(state, hub=routed.hub_id)

    if not (answered or new or removed or other_unsure or school_turn[0]):
        if raw.rstrip().endswith("?"):
            return Turn(state, consumed=False)
        lead: list[Reply] = []
        if school_turn[1]:
            lead.append(Reply(texts.school_closed.format(school=_school_label(school_turn[1][0]))))
        elif name is not None and (not whole or _looks_like_school(ctx, text)):
            lead.append(Reply(texts.school_not_found.format(school=" ".join(name.split())[:80])))
        if lead:
            return Turn(replace(state, reasks=0), (*lead, question_reply(ctx, question, state)))
        return _reask(ctx, state, question)

    before = state
    if removed:
        state = _remove(state, removed)
    given: dict[str, AnswerValue] = dict(new)
    if current is not None:
        given[question.id] = current
    state = _record(ctx, state, given, at=question.id)
    unsure_keys = (*other_unsure, *((question.id,) if unsure and current is None else ()))
    state = replace(
        state,
        unsure=(*state.unsure, *unsure_keys),
        history=(*state.history, question.id),
        reasks=0,
    )
    lead = []
    if removed:
        taken = {k: before.answers[k] for k in removed if k in before.answers}
        lead.append(Reply(texts.taken_back.format(summary=answers_summary(ctx.spec, taken))))
    told: dict[str, AnswerValue] = {q.id: given[q.id] for q in ctx.spec.questions if q.id in given}
    if (len(told) > 1 or new or removed) and told and not school_turn[0]:
        lead.append(
            Reply(
                texts.got_it.format(summary=answers_summary(ctx.spec, told)), data={"got_it": ",".join(told)}
            )
        )
    if school_turn[0]:
        return _offer_school(ctx, state, school_turn[0], lead)
    return _ask_next(ctx, state, lead)


def _changes(
    ctx: InterviewContext,
    state: InterviewState,
    question: InterviewQuestion,
    reading: Reading,
    answered: bool,
) -> tuple[dict[str, AnswerValue], tuple[str, ...]]:
    """What the message adds or changes besides the question asked, and the answers it takes back."""
    removed = tuple(
        key
        for key, values in reading.denied.items()
        if key in state.answers and any(same_value(state.answers[key], v) for v in values)
    )
    new: dict[str, AnswerValue] = {}
    for key, value in reading.answers.items():
        if key == question.id or not valid_answer(key, value):
            continue
        if key not in state.answers or key in removed:
            if key not in state.unsure or key in reading.answers:
                new[key] = value
        elif (
            not same_value(state.answers[key], value)
            and key not in reading.generic
            # A different answer to an earlier question is a correction when the message says so, or
            # when it doesn't answer the question being asked ("actually I'm a deputy head").
            and (reading.correcting or not answered or state.given_at.get(key) == "prefill")
        ):
            new[key] = value
    return new, removed


def _remove(state: InterviewState, keys: Iterable[str]) -> InterviewState:
    gone = set(keys)
    gone |= {k for k, source in state.implied.items() if source in gone}
    answers = {k: v for k, v in state.answers.items() if k not in gone}
    return replace(
        state,
        answers=answers,
        given_at={k: v for k, v in state.given_at.items() if k in answers},
        implied={k: v for k, v in state.implied.items() if k in answers},
    )


def _looks_like_school(ctx: InterviewContext, text: str) -> bool:
    words = set(text.split())
    return bool(words & {"school", "academy", "college", "high"})


def _record(
    ctx: InterviewContext, state: InterviewState, new: Mapping[str, AnswerValue], at: str
) -> InterviewState:
    """Add answers (and what each implies, unless already answered), noting where they were given."""
    changed = [k for k, v in new.items() if k in state.answers and not same_value(state.answers[k], v)]
    state = _remove(state, [k for k, source in state.implied.items() if source in changed])
    answers = dict(state.answers)
    given_at = dict(state.given_at)
    implied_by = dict(state.implied)
    for key, value in new.items():
        answers[key] = value
        given_at[key] = at
        implied_by.pop(key, None)
        question = ctx.spec.question(key)
        choice = next((c for c in question.choices if same_value(c.value, value)), None) if question else None
        for implied_key, implied in (choice.implies if choice else {}).items():
            if implied_key not in answers:
                answers[implied_key] = implied
                given_at[implied_key] = at
                implied_by[implied_key] = key
    return replace(state, answers=answers, given_at=given_at, implied=implied_by)


def _accept(
    ctx: InterviewContext,
    state: InterviewState,
    question: InterviewQuestion,
    value: AnswerValue,
    extra: Mapping[str, AnswerValue],
) -> Turn:
    state = _record(
        ctx,
        state,
        {question.id: value, **{k: v for k, v in extra.items() if k != question.id}},
        at=question.id,
    )
    state = replace(state, unsure=tuple(u for u in state.unsure if u != question.id))
    state = replace(state, history=(*state.history, question.id), reasks=0)
    return _ask_next(ctx, state, [])


def _accept_unsure(ctx: InterviewContext, state: InterviewState, question: InterviewQuestion) -> Turn:
    state = replace(
        state, unsure=(*state.unsure, question.id), history=(*state.history, question.id), reasks=0
    )
    return _ask_next(ctx, state, [])


def _correct(
    ctx: InterviewContext, state: InterviewState, question: InterviewQuestion, value: AnswerValue
) -> Turn:
    """A button of an earlier question pressed again: change that answer and carry on from there."""
    state = _remove(state, [k for k in state.answers if state.given_at.get(k) == question.id])
    state = _record(ctx, state, {question.id: value}, at=question.id)
    return _ask_next(ctx, replace(state, reasks=0), [])


def _back(ctx: InterviewContext, state: InterviewState, question: InterviewQuestion) -> Turn:
    if not state.history:
        return Turn(state, (Reply(ctx.spec.texts.back_at_start), question_reply(ctx, question, state)))
    previous = state.history[-1]
    target = ctx.spec.question(previous)
    if target is None:
        return begin(ctx, lead=[Reply(ctx.spec.texts.lost_track)])
    answers = {k: v for k, v in state.answers.items() if state.given_at.get(k) != previous}
    state = InterviewState(
        step=previous,
        answers=answers,
        given_at={k: v for k, v in state.given_at.items() if k in answers},
        unsure=tuple(u for u in state.unsure if u != previous),
        history=state.history[:-1],
        implied={k: v for k, v in state.implied.items() if k in answers},
        school=state.school if state.given_at.get("school") != previous else None,
        hub=state.hub,
    )
    return Turn(state, (question_reply(ctx, target, state),))


def _reask(ctx: InterviewContext, state: InterviewState, question: InterviewQuestion) -> Turn:
    texts = ctx.spec.texts
    state = replace(state, reasks=state.reasks + 1)
    template = texts.reask if state.reasks < 2 else texts.reask_again
    text = template.format(prompt=question.prompt, hint=question.hint)
    return Turn(state, (question_reply(ctx, question, state, text),))


def _ask_next(ctx: InterviewContext, state: InterviewState, lead: list[Reply]) -> Turn:
    # Outside England nothing else can change the answer (every programme is for schools in England).
    question = next_question(ctx.spec, state) if _outside_england(ctx, state) is None else None
    if question is None:
        outcome = outcome_of(ctx, state)
        eligible = outcome.recommendation.eligible
        first = eligible[0].programme_id if eligible else None
        if first is None and outcome.possible:
            first = outcome.possible[0].verdict.programme_id
        return Turn(None, (*lead, *render(ctx, state, outcome)), recommended=first)
    state = replace(state, step=question.id, reasks=0)
    return Turn(state, (*lead, question_reply(ctx, question, state)))


def _resume_step(ctx: InterviewContext, state: InterviewState, event: Event) -> Turn:
    resumed = replace(state, step=state.paused or "", paused=None)
    question = ctx.spec.question(resumed.step)
    if question is None:
        return begin(ctx, lead=[Reply(ctx.spec.texts.lost_track)])
    if isinstance(event, Pressed):
        kind = event.value.removeprefix(ACTION_PREFIX).partition(":")[0]
        if kind == "restart":
            return restart(ctx)
        if kind == "resume":
            return Turn(resumed, (question_reply(ctx, question, resumed),))
        return advance(ctx, resumed, event)  # a button of the question itself: carry on with it
    text = ctx.normalise(event.text)
    if _is_one_of(ctx, text, ctx.spec.phrases.carry_on):
        return Turn(resumed, (question_reply(ctx, question, resumed),))
    if _is_one_of(ctx, text, ctx.spec.phrases.start_again):
        return restart(ctx)
    if _is_one_of(ctx, text, ctx.knowledge.lexicon.greetings):
        return Turn(state, (resume_reply(ctx),))
    if _is_one_of(ctx, text, ctx.spec.phrases.back):
        return _back(ctx, resumed, question)
    if looks_like_question(ctx, text) or event.text.rstrip().endswith("?"):
        return Turn(state, consumed=False)
    return Turn(state, (resume_reply(ctx),))


# -- restart and the school list -----------------------------------------------------------------


def restart(ctx: InterviewContext) -> Turn:
    """Start the questions again; the main menu stays one tap away."""
    texts = ctx.spec.texts
    lead = Reply(texts.restarted, choices=(Choice(texts.main_menu_label, "menu:cancel"),))
    return begin(ctx, lead=[lead])


def _find_schools(ctx: InterviewContext, name: str) -> tuple[list[School], list[School]]:
    """Live schools the text finds, and (when there are none) the closed ones it finds."""
    data = ctx.knowledge.enquiry
    if data is None:
        return [], []
    matches = [m.school for m in lookup_school(data, name)]
    live = set(data.establishment.live_statuses)
    open_ = [s for s in matches if s.status in live]
    closest = sorted(matches, key=lambda s: -fuzz.ratio(s.name.lower(), name.lower()))
    return (open_, []) if open_ else ([], closest)


def _school_label(school: School) -> str:
    return f"{school.name}, {school.local_authority}"


def school_reply(ctx: InterviewContext, state: InterviewState) -> Reply:
    texts = ctx.spec.texts
    data = ctx.knowledge.enquiry
    schools = [s for urn in state.offered if data and (s := find_school(data, urn)) is not None]
    none = Choice(texts.school_none_label, f"{ACTION_PREFIX}school:none")
    if len(schools) == 1:
        text = texts.school_confirm.format(school=_school_label(schools[0]))
        yes = Choice(texts.school_yes_label, f"{ACTION_PREFIX}school:{schools[0].urn}")
        return Reply(text, choices=(yes, none), kind="question")
    choices = [Choice(_school_label(s), f"{ACTION_PREFIX}school:{s.urn}") for s in schools]
    return Reply(texts.school_pick, choices=(*choices, none), kind="question")


def _offer_school(
    ctx: InterviewContext, state: InterviewState, schools: Sequence[School], lead: list[Reply]
) -> Turn:
    following = next_question(ctx.spec, state)
    paused = following.id if following is not None else state.step
    state = replace(state, step=SCHOOL_STEP, paused=paused, offered=tuple(s.urn for s in schools), reasks=0)
    return Turn(state, (*lead, school_reply(ctx, state)))


def school_answers(ctx: InterviewContext, school: School) -> dict[str, AnswerValue]:
    """What the school list says about a school: phase, funding and country (GIAS type and phase)."""
    data = ctx.knowledge.enquiry
    lookup = ctx.spec.school_lookup
    out: dict[str, AnswerValue] = {}
    if data is None:
        return out
    if school.establishment_type in lookup.special_types:
        out["phase"] = "special"
    elif school.phase in lookup.phases:
        out["phase"] = lookup.phases[school.phase]
    if school.establishment_type in lookup.countries_by_type:
        out["country"] = lookup.countries_by_type[school.establishment_type]
    elif school.local_authority in data.establishment.outside_england_las:
        out["country"] = lookup.outside_england_country
    else:
        out["country"] = "england"
    kind = data.type_by_name.get(school.establishment_type)
    if kind is not None and kind.funding == "state_funded":
        out["school_funding"] = "state"
    elif kind is not None and kind.funding == "not_state_funded":
        out["school_funding"] = "independent"
    return out


def _school_step(ctx: InterviewContext, state: InterviewState, event: Event) -> Turn:
    resumed = replace(state, step=state.paused or ctx.spec.questions[0].id, paused=None, offered=())
    question = ctx.spec.question(resumed.step)
    if question is None:
        return begin(ctx, lead=[Reply(ctx.spec.texts.lost_track)])
    texts = ctx.spec.texts
    picked: str | None = None
    if isinstance(event, Pressed):
        kind, _, rest = event.value.removeprefix(ACTION_PREFIX).partition(":")
        if kind == "school":
            picked = rest
        elif kind == "restart":
            return restart(ctx)
        else:
            return advance(ctx, resumed, event)
    else:
        text = ctx.normalise(event.text)
        if _is_one_of(ctx, text, ctx.spec.phrases.yes) and len(state.offered) == 1:
            picked = state.offered[0]
        elif _is_one_of(ctx, text, ctx.spec.phrases.no):
            picked = "none"
        elif _is_one_of(ctx, text, ctx.spec.phrases.back):
            return Turn(resumed, (question_reply(ctx, question, resumed),))
        else:  # another try, or an answer to the question
            return advance(ctx, resumed, event)
    if picked == "none":
        return Turn(resumed, (Reply(texts.school_declined), question_reply(ctx, question, resumed)))
    data = ctx.knowledge.enquiry
    school = find_school(data, picked) if data is not None and picked in state.offered else None
    if school is None or data is None:
        return Turn(state, (school_reply(ctx, state),))
    given = {k: v for k, v in school_answers(ctx, school).items() if k not in resumed.answers}
    routed = route(data, school)
    hub = routed.hub_id if not routed.manual_routing else resumed.hub
    at = resumed.step
    confirmed = _record(ctx, replace(resumed, school=school.urn, hub=hub), given, at=at)
    confirmed = replace(
        confirmed,
        given_at={**confirmed.given_at, "school": at},
        history=(*confirmed.history, at),
    )
    summary = ", ".join(p for p in (school.name, answers_summary(ctx.spec, given)) if p)
    return _ask_next(
        ctx, confirmed, [Reply(texts.got_it.format(summary=summary), data={"school": school.urn})]
    )


# -- the recommendation ------------------------------------------------------------------------


def answers_summary(spec: InterviewSpec, answers: Mapping[str, AnswerValue]) -> str:
    parts: list[str] = []
    for question in spec.questions:
        if question.id not in answers:
            continue
        choice = next((c for c in question.choices if same_value(c.value, answers[question.id])), None)
        if choice is not None:
            parts.append(choice.summary or choice.label)
    return ", ".join(parts)


def outcome_of(ctx: InterviewContext, state: InterviewState) -> Outcome:
    unknown = tuple(k for u in state.unsure if (k := answer_key(u)) is not None)
    return evaluate_with_unknowns(
        ctx.eligibility, ctx.knowledge.programmes, state.answers, unknown, ctx.today
    )


def _dated_texts(ctx: InterviewContext) -> set[str]:
    """The remarks that depend on a date (an offer's year, an application deadline): said once."""
    out: set[str] = set()
    for entry in ctx.eligibility.programmes:
        if entry.offered_for is not None:
            out.add(entry.offered_for.after)
        if entry.deadline is not None:
            out |= {entry.deadline.before, entry.deadline.after}
    return out


def _condition(ctx: InterviewContext, possible: Possible) -> str:
    options: list[str] = []
    for values in possible.when:
        parts: list[str] = []
        for key, value in values.items():
            question = ctx.spec.question(key)
            choice = (
                next((c for c in question.choices if same_value(c.value, value)), None) if question else None
            )
            parts.append(choice.condition or choice.summary or choice.label if choice else str(value))
        options.append(" and ".join(parts))
    return " or ".join(options)


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _outside_england(ctx: InterviewContext, state: InterviewState) -> str | None:
    """Where the school is, when that is not England ("in Wales")."""
    country = state.answers.get("country")
    if country is None or same_value(country, "england"):
        return None
    question = ctx.spec.question("country")
    choice = next((c for c in question.choices if same_value(c.value, country)), None) if question else None
    return (choice.summary or choice.label) if choice else str(country)


def _hub_line(ctx: InterviewContext, state: InterviewState) -> str:
    texts = ctx.spec.texts
    data = ctx.knowledge.enquiry
    hub = next((h for h in data.hubs.hubs if h.id == state.hub), None) if data and state.hub else None
    if hub is not None and hub.website is not None:
        return texts.local_hub.format(hub=hub.display_name, url=str(hub.website))
    return texts.hub.format(hub_contact=ctx.knowledge.texts.hub_contact)


def render(ctx: InterviewContext, state: InterviewState, outcome: Outcome) -> list[Reply]:
    """The recommendation in a few lines: a headline, one line of why per programme, the next step;
    everything else one tap away (the details button)."""
    texts = ctx.spec.texts
    recommendation = outcome.recommendation
    dated = _dated_texts(ctx)
    eligible = recommendation.eligible
    outside = _outside_england(ctx, state)
    lines = [texts.summary.format(summary=answers_summary(ctx.spec, state.answers))]
    data = {
        "headline": "",
        "eligible": ",".join(v.programme_id for v in eligible),
        "possible": ",".join(p.verdict.programme_id for p in outcome.possible),
    }
    if outside is not None:
        data["headline"] = texts.outside_england.format(where=outside)
        lines.append(data["headline"])
    else:
        if len(eligible) == 1:
            data["headline"] = texts.headline_one.format(programme=eligible[0].short_name)
        elif eligible:
            names = _join([v.short_name for v in eligible])
            data["headline"] = texts.headline_many.format(count=len(eligible), programmes=names)
        elif outcome.possible:
            names = _join([p.verdict.short_name for p in outcome.possible])
            data["headline"] = texts.headline_possible.format(programmes=names)
        else:
            data["headline"] = texts.headline_none
        lines.append(data["headline"])
        for verdict in eligible:
            why = next(
                (r for r in verdict.reasons if r not in dated), verdict.reasons[0] if verdict.reasons else ""
            )
            lines.append(f"- {verdict.short_name}: {why}".rstrip(": "))
        if outcome.possible:
            if eligible:
                lines.append(texts.possibly_heading)
            for possible in outcome.possible:
                condition = texts.possibly.format(condition=_condition(ctx, possible))
                lines.append(f"- {possible.verdict.short_name}: {condition}")
        step = next(
            (v.next_step for v in (*eligible, *(p.verdict for p in outcome.possible)) if v.next_step), None
        )
        if step:
            lines.append("")
            lines.append(texts.next_step.format(step=step))
        lines.append(_hub_line(ctx, state))
    buttons = [Choice(texts.details_label, f"{ACTION_PREFIX}details:{encode_answers(state)}")]
    if outside is None:
        buttons.append(Choice(texts.contact_label, "menu:contact"))
    buttons += [Choice(texts.restart_label, "menu:fit"), Choice(texts.ask_label, "menu:ask")]
    return [Reply("\n".join(lines), choices=tuple(buttons), data=data)]


def details(ctx: InterviewContext, value: str) -> list[Reply]:
    """Everything behind the recommendation: every reason, every next step, what doesn't fit and why,
    what can't be told, and the notes (each dated remark once)."""
    state = decode_answers(value.removeprefix(f"{ACTION_PREFIX}details:"))
    outcome = outcome_of(ctx, state)
    recommendation = outcome.recommendation
    texts = ctx.spec.texts
    dated = _dated_texts(ctx)
    said_dates: list[str] = []
    outside = _outside_england(ctx, state)

    def reasons(verdict: Verdict, *extra: str) -> str:
        kept = []
        for reason in verdict.reasons:
            if reason in dated:
                if reason not in said_dates:
                    said_dates.append(reason)
            else:
                kept.append(reason)
        return f"- {verdict.short_name}: " + " ".join(p for p in (*kept, *extra) if p)

    lines = [texts.summary.format(summary=answers_summary(ctx.spec, state.answers)), ""]
    if recommendation.eligible:
        lines.append(texts.eligible_heading)
        lines += [
            reasons(v, texts.next_step.format(step=v.next_step) if v.next_step else "")
            for v in recommendation.eligible
        ]
    if outcome.possible:
        lines.append(texts.possibly_heading)
        for possible in outcome.possible:
            condition = texts.possibly.format(condition=_condition(ctx, possible))
            lines.append(reasons(possible.verdict, condition[0].upper() + condition[1:]))
    if not recommendation.eligible and not outcome.possible:
        lines.append(texts.none_eligible)
    replies = [Reply("\n".join(lines))]
    if recommendation.not_eligible:
        excluded = [texts.not_eligible_heading, *(_excluded(v) for v in recommendation.not_eligible)]
        replies.append(Reply("\n".join(excluded)))
    closing: list[str] = []
    unclear = _unclear_lines(ctx, state, recommendation.unclear)
    if unclear:
        closing += [texts.unclear_heading, *unclear, ""]
    if said_dates:
        closing += [texts.dates_heading, *(f"- {d}" for d in said_dates), ""]
    if recommendation.notes:
        closing += [texts.notes_heading, *(f"- {note}" for note in recommendation.notes), ""]
    if outside is None:
        closing.append(_hub_line(ctx, state))
    if closing:
        replies.append(Reply("\n".join(closing).strip()))
    return replies


def encode_answers(state: InterviewState) -> str:
    """The answers in a button value, so "details" works whenever it is pressed (the interview is over)."""
    parts = [f"{k}={value_token(v)}" for k, v in state.answers.items()]
    parts += [f"{k}=?" for k in state.unsure]
    if state.hub:
        parts.append(f"hub={state.hub}")
    return ",".join(parts)


def decode_answers(text: str) -> InterviewState:
    answers: dict[str, AnswerValue] = {}
    unsure: list[str] = []
    hub: str | None = None
    for part in text.split(","):
        key, _, token = part.partition("=")
        if key == "hub" and re.fullmatch(r"[a-z0-9-]{1,60}", token):
            hub = token
        elif token == "?" and answer_key(key) is not None:
            unsure.append(key)
        else:
            value: AnswerValue = {"true": True, "false": False}.get(token, token)
            if valid_answer(key, value):
                answers[key] = value
    return InterviewState(step="", answers=answers, unsure=tuple(unsure), hub=hub)


def _excluded(verdict: Verdict) -> str:
    """The first rule that excludes a programme: one clear reason reads better than every one."""
    return f"- {verdict.short_name}: {verdict.reasons[0]}" if verdict.reasons else f"- {verdict.short_name}"


def _unclear_lines(ctx: InterviewContext, state: InterviewState, unclear: Sequence[Verdict]) -> list[str]:
    groups: dict[str, list[Verdict]] = {}
    for verdict in unclear:
        for reason in verdict.reasons:
            groups.setdefault(reason, []).append(verdict)
    lines = [
        f"- {', '.join(v.short_name for v in verdicts)}: {reason}" for reason, verdicts in groups.items()
    ]
    by_key: dict[str, list[Verdict]] = {}
    for verdict in unclear:
        if not verdict.reasons:  # undecided only because an answer is missing ("not sure")
            for missing in verdict.missing:
                by_key.setdefault(missing, []).append(verdict)
    for name, verdicts in by_key.items():
        question = ctx.spec.question(name)
        unsure = question.unsure if question is not None and name in state.unsure else None
        note = unsure.note if unsure is not None else ctx.spec.texts.missing_answer
        lines.append(f"- {', '.join(v.short_name for v in verdicts)}: {note}")
    return lines


# -- the Flow ----------------------------------------------------------------------------------


IdleStatus = Literal["active", "resume", "expired"]


def idle_status(
    updated_at: dt.datetime, now: dt.datetime, resume_after: dt.timedelta, expire_after: dt.timedelta
) -> IdleStatus:
    idle = now - updated_at
    if idle >= expire_after:
        return "expired"
    if idle >= resume_after:
        return "resume"
    return "active"


class InterviewFlow:
    """The interview as an engine flow: started by the "fit" intent or the "menu:fit" button."""

    name = FLOW_NAME
    intents: Sequence[str] = ("fit",)

    def __init__(
        self,
        *,
        resume_after: dt.timedelta = dt.timedelta(minutes=30),
        expire_after: dt.timedelta = dt.timedelta(hours=24),
    ) -> None:
        self.resume_after = resume_after
        self.expire_after = expire_after

    @classmethod
    def from_settings(cls, settings: Settings) -> InterviewFlow:
        return cls(
            resume_after=dt.timedelta(minutes=settings.interview_resume_after_minutes),
            expire_after=dt.timedelta(hours=settings.interview_expire_after_hours),
        )

    async def start(self, ctx: FlowContext, seed: dict[str, Any]) -> FlowResult:
        ictx = InterviewContext.of(ctx.knowledge, ctx.today, ctx.normalise)
        if ictx is None:
            return self._unavailable(ctx)
        return self._result(begin(ictx, prefill=seed), ctx.now, ctx.now)

    async def step(self, ctx: FlowContext, flow: FlowState) -> FlowResult:
        ictx = InterviewContext.of(ctx.knowledge, ctx.today, ctx.normalise)
        if ictx is None:
            return self._unavailable(ctx)
        state = InterviewState.from_flow(flow)
        if state is None:
            return self._result(begin(ictx, lead=[Reply(ictx.spec.texts.lost_track)]), ctx.now, ctx.now)
        status = idle_status(flow.updated_at, ctx.now, self.resume_after, self.expire_after)
        if status == "expired":
            return FlowResult(None, [self._expired(ctx, ictx)])
        if status == "resume" and state.step != RESUME_STEP:
            return self._result(Turn(pause(state), (resume_reply(ictx),)), flow.started_at, ctx.now)
        turn = advance(ictx, state, self._event(ctx))
        if turn.recommended is not None:
            # Follow-up questions and "contact my hub" after the recommendation are about this programme.
            ctx.conversation.last_programme = turn.recommended
        if not turn.consumed:
            # A question for the FAQ still counts as activity, so the idle clock restarts.
            flow.updated_at = ctx.now
        return self._result(turn, flow.started_at, ctx.now)

    async def restart(self, ctx: FlowContext, flow: FlowState) -> FlowResult:
        """ "Restart" during the interview starts the questions again (not the whole conversation)."""
        ictx = InterviewContext.of(ctx.knowledge, ctx.today, ctx.normalise)
        if ictx is None:
            return self._unavailable(ctx)
        return self._result(restart(ictx), ctx.now, ctx.now)

    async def act(self, ctx: FlowContext) -> list[Reply] | None:
        """A button of a finished interview ("why, and the other programmes")."""
        ictx = InterviewContext.of(ctx.knowledge, ctx.today, ctx.normalise)
        action = ctx.action or ""
        if ictx is None or not action.startswith(f"{ACTION_PREFIX}details:"):
            return None
        return details(ictx, action)

    def reprompt(self, ctx: FlowContext, flow: FlowState) -> list[Reply]:
        ictx = InterviewContext.of(ctx.knowledge, ctx.today, ctx.normalise)
        state = InterviewState.from_flow(flow)
        if ictx is None or state is None:
            return []
        return reprompt(ictx, state)

    @staticmethod
    def _event(ctx: FlowContext) -> Event:
        # The engine has already turned a typed "2" or a typed button label into that button's value.
        if ctx.action is not None and ctx.action.startswith(ACTION_PREFIX):
            return Pressed(ctx.action)
        if ctx.inbound.action is not None:
            return Pressed(ctx.inbound.action)
        return Typed(clean_user_text(ctx.inbound.text or ""))

    @staticmethod
    def _result(turn: Turn, started_at: dt.datetime, now: dt.datetime) -> FlowResult:
        flow = turn.state.to_flow(started_at, now) if turn.state is not None else None
        return FlowResult(flow, list(turn.replies), consumed=turn.consumed)

    @staticmethod
    def _expired(ctx: FlowContext, ictx: InterviewContext) -> Reply:
        texts = ctx.knowledge.texts
        menu = (
            Choice(texts.menu_fit, "menu:fit"),
            Choice(texts.menu_contact, "menu:contact"),
            Choice(texts.menu_help, "menu:help"),
        )
        return Reply(ictx.spec.texts.expired, choices=menu)

    @staticmethod
    def _unavailable(ctx: FlowContext) -> FlowResult:
        texts = ctx.knowledge.texts
        return FlowResult(None, [Reply(texts.contact_hub.format(hub_contact=texts.hub_contact))])
