"""Reading one free-text message as answers to several interview questions at once.

"I'm head of maths at a state academy in Leeds, and we did a DWG last year" answers four questions.
Pure functions over interview.yaml: phrases are found in the normalised text (per question, longest
first); a negation before a phrase in the same clause turns a yes/no answer around ("we didn't do a
DWG last year") and denies any other answer ("no, I'm not the HoD"); "not sure" next to a question's
phrase leaves that question unknown. Two different answers to one question are never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from knowledge.interview_models import AnswerValue, InterviewQuestion, InterviewSpec, same_value

FUZZY_WORD_CUTOFF = 88.0  # "acadmy" -> "academy", "independant" -> "independent"; not "leads" -> "leeds"
FUZZY_WORD_MIN = 5
SEGMENTS = re.compile(r"[,;.!?\n()]+|\s[-–]\s")
# A school named after "at", "from" or "called": capitalised words, "St Paul's Academy in Greenwich".
SCHOOL_NAME = re.compile(
    r"\b(?:at|from|called|attend)\s+(?:the\s+)?"
    r"((?:St\.?|Saint|[A-Z][\w'’&.-]*)(?:\s+(?:[A-Z0-9][\w'’&.-]*|of|the|and|de|upon|on|in|&))*)"
)

Norm = Callable[[str], str]


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    key: str  # a question id, or "" for a "not sure" phrase
    value: AnswerValue | None
    generic: bool = False  # a bare yes/no, which only the question being asked can take


@dataclass
class Reading:
    """What a message says. `generic`: keys whose answer rests only on a bare "yes"/"no"."""

    answers: dict[str, AnswerValue] = field(default_factory=dict)
    unsure: set[str] = field(default_factory=set)
    denied: dict[str, list[AnswerValue]] = field(default_factory=dict)
    ambiguous: set[str] = field(default_factory=set)
    generic: set[str] = field(default_factory=set)
    correcting: bool = False  # the message says it changes something ("actually", "sorry")

    @property
    def empty(self) -> bool:
        return not (self.answers or self.unsure or self.denied or self.ambiguous)


def _phrases_for(
    spec: InterviewSpec, question: InterviewQuestion, current: bool, norm: Norm
) -> list[tuple[str, AnswerValue, bool]]:
    out: list[tuple[str, AnswerValue, bool]] = []
    for choice in question.choices:
        said: list[str] = list(choice.mentions)
        if current or question.pick_up:
            said += [choice.label, *choice.synonyms]
        out += [(norm(p), choice.value, question.yes_no and p == choice.label) for p in said]
        if current and question.yes_no:
            generic = spec.phrases.yes if choice.value is True else spec.phrases.no
            out += [(norm(p), choice.value, True) for p in generic]
    for also in spec.also_answers:
        if question.id in also.answers:
            out += [(norm(p), also.answers[question.id], False) for p in also.phrases]
    return [(p, v, g) for p, v, g in out if p]


def _find(text: str, phrase: str) -> Iterable[int]:
    padded = f" {text} "
    start = padded.find(f" {phrase} ")
    while start != -1:
        yield start  # the index in `text` of the phrase (the padding shifts by one, the space by one)
        start = padded.find(f" {phrase} ", start + 1)


def _choose(spans: list[_Span]) -> list[_Span]:
    """Longest first, overlapping shorter ones dropped ("i dont think so" is no, not "think so")."""
    spans = sorted(spans, key=lambda s: (s.start - s.end, s.start, s.generic))
    chosen: list[_Span] = []
    for span in spans:
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return chosen


def read_message(spec: InterviewSpec, norm: Norm, current: InterviewQuestion | None, raw: str) -> Reading:
    reading = Reading()
    negations = {norm(n) for n in spec.phrases.negations}
    breaks = {norm(b) for b in spec.phrases.clause_breaks}
    corrections = [norm(c) for c in spec.phrases.corrections]
    unsure = [norm(p) for p in spec.phrases.unsure]
    found: dict[str, list[tuple[AnswerValue, bool]]] = {}
    for segment in SEGMENTS.split(raw):
        text = norm(segment)
        if not text:
            continue
        if any(True for c in corrections if c and any(_find(text, c))):
            reading.correcting = True
        spans: list[_Span] = []
        for question in spec.questions:
            is_current = current is not None and question.id == current.id
            phrases = _phrases_for(spec, question, is_current, norm)
            own = [_Span(i, i + len(p), question.id, v, g) for p, v, g in phrases for i in _find(text, p)]
            if is_current or question.pick_up:
                for choice in question.choices:
                    for pattern in choice.patterns:
                        own += [
                            _Span(m.start(), m.end(), question.id, choice.value)
                            for m in re.finditer(pattern, text)
                        ]
            spans += _choose(own)
        marks = _choose([_Span(i, i + len(p), "", None) for p in unsure if p for i in _find(text, p)])
        spans = [s for s in spans if not any(s.start < m.end and m.start < s.end for m in marks)]
        spans += _fuzzy_words(spec, norm, current, text, spans)
        # A phrase inside a longer one that carries a negation ("not an ECT") is part of that one.
        spans = [
            s
            for s in spans
            if not any(
                o is not s
                and o.key != s.key
                and o.start <= s.start
                and s.end <= o.end
                and (o.end - o.start) > (s.end - s.start)
                and _has(text[o.start : o.end], negations)
                for o in spans
            )
        ]
        words = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
        negation_at = [i for i, w in words if w in negations and not any(m.start <= i < m.end for m in marks)]
        bounds = [i for i, w in words if w in breaks]
        for span in spans:
            clause_start = max((b for b in bounds if b < span.start), default=-1)
            clause_end = min((b for b in bounds if b >= span.end), default=len(text) + 1)
            # A negation inside another question's phrase ("not independent") is that phrase's own.
            others = [(o.start, o.end) for o in spans if o.key != span.key and not o.generic]
            negated = any(
                clause_start < i < span.start and not any(a <= i < b for a, b in others) for i in negation_at
            )
            asked = spec.question(span.key)
            if asked is None or span.value is None:
                continue
            near_unsure = any(clause_start < m.start and m.end <= clause_end for m in marks)
            if near_unsure and not span.generic and asked.unsure is not None:
                reading.unsure.add(span.key)
                continue
            value: AnswerValue = span.value
            if negated:
                if (
                    isinstance(value, bool)
                    and not span.generic
                    and not _has(text[span.start : span.end], negations)
                ):
                    value = not value
                elif not span.generic and not _has(text[span.start : span.end], negations):
                    reading.denied.setdefault(span.key, []).append(value)
                    continue
            found.setdefault(span.key, []).append((value, span.generic))
        if marks and current is not None and current.unsure is not None and not spans:
            reading.unsure.add(current.id)
    for key, values in found.items():
        if key in reading.unsure:
            continue
        distinct: list[AnswerValue] = []
        for value, _ in values:
            if not any(same_value(value, d) for d in distinct):
                distinct.append(value)
        if len(distinct) > 1:
            reading.ambiguous.add(key)
            continue
        reading.answers[key] = distinct[0]
        if all(generic for _, generic in values):
            reading.generic.add(key)
    return reading


def _has(text: str, words: set[str]) -> bool:
    return any(w in words for w in text.split())


def _fuzzy_words(
    spec: InterviewSpec, norm: Norm, current: InterviewQuestion | None, text: str, spans: list[_Span]
) -> list[_Span]:
    """Misspelt single words ("secondry", "acadmy") for questions whose phrases count in any message."""
    single: dict[str, tuple[str, AnswerValue]] = {}
    for question in spec.questions:
        is_current = current is not None and question.id == current.id
        if not (question.pick_up or is_current) or question.yes_no:
            continue
        for phrase, value, generic in _phrases_for(spec, question, is_current, norm):
            if not generic and " " not in phrase and len(phrase) >= FUZZY_WORD_MIN:
                single.setdefault(phrase, (question.id, value))
    out: list[_Span] = []
    if not single:
        return out
    taken = {s.key for s in spans}
    for m in re.finditer(r"\S+", text):
        word = m.group()
        if len(word) < FUZZY_WORD_MIN or any(s.start <= m.start() < s.end for s in spans):
            continue
        best = process.extractOne(word, list(single), scorer=fuzz.ratio, score_cutoff=FUZZY_WORD_CUTOFF)
        if best is not None and single[best[0]][0] not in taken:
            key, value = single[best[0]]
            out.append(_Span(m.start(), m.end(), key, value))
    return out


def school_name_in(raw: str) -> str | None:
    """The school a message names after "at"/"from" ("I teach at St Paul's Academy in Greenwich")."""
    for match in SCHOOL_NAME.finditer(raw):
        name = match.group(1).strip(" '’.")
        if len(name) >= 3 and not name.lower().startswith(("i ", "im ", "i'm")):
            return name
    return None


def local_authority_in(text: str, names: Mapping[str, str]) -> str | None:
    """A local authority named after "in", "near", "from" or "at" (normalised text; `names` maps each
    normalised LA name to its GIAS spelling), longest first, or the whole message."""
    if text in names:
        return names[text]
    for key in sorted(names, key=len, reverse=True):
        for before in ("in", "near", "from", "at", "of"):
            if any(True for _ in _find(text, f"{before} {key}")):
                return names[key]
    return None
