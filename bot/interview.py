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

from bot.eligibility import Recommendation, Verdict, evaluate, unclear_groups
from bot.flows import FlowContext, FlowResult
from bot.messages import Choice, Reply
from bot.normalise import clean_user_text
from bot.settings import Settings
from bot.state import FlowState
from knowledge.interview_models import (
    AnswerValue,
    EligibilitySpec,
    InterviewQuestion,
    InterviewSpec,
    conditions_hold,
    same_value,
    valid_answer,
)
from knowledge.loader import Knowledge

FLOW_NAME = "interview"
ACTION_PREFIX = f"flow:{FLOW_NAME}:"
RESUME_STEP = "resume"
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
    paused: str | None = None  # the question to return to after the resume offer

    def to_flow(self, started_at: dt.datetime, now: dt.datetime) -> FlowState:
        data: dict[str, Any] = {
            "version": DATA_VERSION,
            "answers": dict(self.answers),
            "given_at": dict(self.given_at),
            "unsure": list(self.unsure),
            "reasks": self.reasks,
            "paused": self.paused,
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


def picked_up_answers(
    ctx: InterviewContext, state: InterviewState, current: str, text: str
) -> dict[str, AnswerValue]:
    """Unmistakable answers to other, unanswered questions in the same message ("a secondary academy in
    Leeds" answers three), exact phrases only, and none when the message contains a negation."""
    words = set(text.split())
    if words & {ctx.normalise(n) for n in ctx.spec.phrases.negations}:
        return {}
    out: dict[str, AnswerValue] = {}
    for question in ctx.spec.questions:
        if question.id == current or question.id in state.answers or not question.pick_up:
            continue
        meanings = _distinct(_spans(text, _phrases(ctx, question, with_unsure=False), _patterns(question)))
        if len(meanings) == 1 and not isinstance(meanings[0], _Unsure):
            out[question.id] = meanings[0]
    for also in ctx.spec.also_answers:
        if _spans(text, [(ctx.normalise(p), True) for p in also.phrases], ()):
            for key, value in also.answers.items():
                if key != current and key not in state.answers:
                    out.setdefault(key, value)
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
    if state.step == RESUME_STEP:
        return _resume_step(ctx, state, event)
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
        return begin(ctx, lead=[Reply(ctx.spec.texts.restarted)])
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
    if _is_one_of(ctx, text, phrases.back):
        return _back(ctx, state, question)
    if _is_one_of(ctx, text, ctx.knowledge.lexicon.intents.get("fit", ())):
        reply = ctx.spec.texts.already_running.format(prompt=question.prompt)
        return Turn(state, (question_reply(ctx, question, state, reply),))
    if looks_like_question(ctx, text):
        return Turn(state, consumed=False)
    match = match_answer(ctx, question, text)
    extra = picked_up_answers(ctx, state, question.id, text)
    if match.kind == "answer" and match.value is not None:
        return _accept(ctx, state, question, match.value, extra)
    if match.kind == "unsure" and question.unsure is not None:
        return _accept_unsure(ctx, _record(ctx, state, extra, at=question.id), question)
    if raw.rstrip().endswith("?") and not extra:
        return Turn(state, consumed=False)
    return _reask(ctx, _record(ctx, state, extra, at=question.id), question)


def _record(
    ctx: InterviewContext, state: InterviewState, new: Mapping[str, AnswerValue], at: str
) -> InterviewState:
    """Add answers (and what each implies, unless already answered), noting where they were given."""
    answers = dict(state.answers)
    given_at = dict(state.given_at)
    for key, value in new.items():
        answers[key] = value
        given_at[key] = at
        question = ctx.spec.question(key)
        choice = next((c for c in question.choices if same_value(c.value, value)), None) if question else None
        for implied_key, implied in (choice.implies if choice else {}).items():
            if implied_key not in answers:
                answers[implied_key] = implied
                given_at[implied_key] = at
    return replace(state, answers=answers, given_at=given_at)


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
    kept = {k: v for k, v in state.answers.items() if state.given_at.get(k) != question.id}
    given_at = {k: v for k, v in state.given_at.items() if k in kept}
    state = _record(
        ctx, replace(state, answers=kept, given_at=given_at), {question.id: value}, at=question.id
    )
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
    )
    return Turn(state, (question_reply(ctx, target, state),))


def _reask(ctx: InterviewContext, state: InterviewState, question: InterviewQuestion) -> Turn:
    texts = ctx.spec.texts
    state = replace(state, reasks=state.reasks + 1)
    template = texts.reask if state.reasks < 2 else texts.reask_again
    text = template.format(prompt=question.prompt, hint=question.hint)
    return Turn(state, (question_reply(ctx, question, state, text),))


def _ask_next(ctx: InterviewContext, state: InterviewState, lead: list[Reply]) -> Turn:
    question = next_question(ctx.spec, state)
    if question is None:
        recommendation = evaluate(ctx.eligibility, ctx.knowledge.programmes, state.answers, ctx.today)
        first = recommendation.eligible[0].programme_id if recommendation.eligible else None
        return Turn(None, (*lead, *render(ctx, state, recommendation)), recommended=first)
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
            return begin(ctx, lead=[Reply(ctx.spec.texts.restarted)])
        if kind == "resume":
            return Turn(resumed, (question_reply(ctx, question, resumed),))
        return advance(ctx, resumed, event)  # a button of the question itself: carry on with it
    text = ctx.normalise(event.text)
    if _is_one_of(ctx, text, ctx.spec.phrases.carry_on):
        return Turn(resumed, (question_reply(ctx, question, resumed),))
    if _is_one_of(ctx, text, ctx.spec.phrases.start_again):
        return begin(ctx, lead=[Reply(ctx.spec.texts.restarted)])
    if _is_one_of(ctx, text, ctx.spec.phrases.back):
        return _back(ctx, resumed, question)
    if looks_like_question(ctx, text) or event.text.rstrip().endswith("?"):
        return Turn(state, consumed=False)
    return Turn(state, (resume_reply(ctx),))


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


def render(ctx: InterviewContext, state: InterviewState, recommendation: Recommendation) -> list[Reply]:
    texts = ctx.spec.texts
    replies: list[Reply] = []

    fits = [texts.summary.format(summary=answers_summary(ctx.spec, state.answers)), ""]
    if recommendation.eligible:
        fits.append(texts.eligible_heading)
        fits += [
            _bullet(v, texts.next_step.format(step=v.next_step) if v.next_step else "")
            for v in recommendation.eligible
        ]
    else:
        fits.append(texts.none_eligible)
    replies.append(Reply("\n".join(fits)))

    if recommendation.not_eligible:
        lines = [texts.not_eligible_heading, *(_excluded(v) for v in recommendation.not_eligible)]
        replies.append(Reply("\n".join(lines)))

    closing: list[str] = []
    unclear = _unclear_lines(ctx, state, recommendation)
    if unclear:
        closing += [texts.unclear_heading, *unclear, ""]
    if recommendation.notes:
        closing += [texts.notes_heading, *(f"- {note}" for note in recommendation.notes), ""]
    closing.append(texts.hub.format(hub_contact=ctx.knowledge.texts.hub_contact))
    buttons = (
        Choice(texts.contact_label, "menu:contact"),
        Choice(texts.restart_label, "menu:fit"),
        Choice(texts.ask_label, "menu:ask"),
    )
    replies.append(Reply("\n".join(closing), choices=buttons))
    return replies


def _bullet(verdict: Verdict, *extra: str) -> str:
    return f"- {verdict.short_name}: " + " ".join(part for part in (*verdict.reasons, *extra) if part)


def _excluded(verdict: Verdict) -> str:
    """The first rule that excludes a programme: one clear reason reads better than every one."""
    return f"- {verdict.short_name}: {verdict.reasons[0]}" if verdict.reasons else f"- {verdict.short_name}"


def _unclear_lines(ctx: InterviewContext, state: InterviewState, recommendation: Recommendation) -> list[str]:
    lines = [
        f"- {', '.join(v.short_name for v in verdicts)}: {reason}"
        for reason, verdicts in unclear_groups(recommendation)
    ]
    by_key: dict[str, list[Verdict]] = {}
    for verdict in recommendation.unclear:
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
