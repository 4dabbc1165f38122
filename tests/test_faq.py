"""FAQ matcher scoring on the small fixed knowledge set."""

from __future__ import annotations

from bot.faq import FaqMatcher
from knowledge.loader import Knowledge


def _score(matcher: FaqMatcher, text: str, faq_id: str) -> float:
    result = matcher.match(text)
    assert result.best is not None and result.best.entry.id == faq_id, (text, result)
    return result.best.score


def test_everyday_filler_costs_less_than_words_from_another_subject(small_knowledge: Knowledge) -> None:
    # Words the FAQ never uses count by how informative they are in general English: chat around a
    # question should not push it into "I don't know", while a rare unrelated subject should.
    matcher = FaqMatcher(small_knowledge)
    plain = _score(matcher, "how long is the development work group?", "dwg-time")
    chatty = _score(matcher, "sorry, basically, how long is the development work group?", "dwg-time")
    elsewhere = _score(
        matcher, "how long is the development work group pension scheme for Ofsted inspectors?", "dwg-time"
    )
    assert plain - chatty <= 15
    assert plain - elsewhere >= 30


def test_only_filler_is_not_a_question(small_knowledge: Knowledge) -> None:
    assert FaqMatcher(small_knowledge).match("sorry, basically, honestly").outcome == "unknown"


def test_a_question_naming_no_programme_gets_the_general_answer(knowledge: Knowledge) -> None:
    matcher = FaqMatcher(knowledge)
    general = matcher.match("can an ECT apply?")
    assert general.outcome == "answer" and general.best is not None
    assert general.best.entry.id == "general-ect"
    named = matcher.match("can an ECT apply to the specialist programme?")
    assert named.best is not None and named.best.entry.id == "specialist-ect"
