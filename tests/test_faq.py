"""FAQ matcher scoring on the small fixed knowledge set."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("tell me abt the dwg", "dwg-about"),
        ("wot is teching for mastry", "general-what-is-tfm"),
        ("hw mch is embeddng yr", "eys-cost"),
        ("is the specalist programme free plz", "specialist-cost"),
        ("hw long is the devlopment work grp", "dwg-duration"),
        ("how many yrs is the specialist programme", "specialist-duration"),
        ("is the dwg diff from the specialist programme", "general-workgroup-vs-specialist"),
        ("can our HoD support the dwg", "dwg-hod"),
        ("can a MAT join the dwg", "dwg-eligibility"),
        ("does the dwg help with our SoW", "dwg-involved"),
        ("what did the specialist programme look like in 23/24", "specialist-before-2025"),
    ],
)
def test_chat_shorthand_and_misspelt_programme_names(knowledge: Knowledge, text: str, faq_id: str) -> None:
    result = FaqMatcher(knowledge).match(text)
    assert result.outcome == "answer" and result.best is not None, (text, result.outcome)
    assert result.best.entry.id == faq_id


def test_shorthand_is_normalised_to_the_words_the_faq_uses(knowledge: Knowledge) -> None:
    normalise = FaqMatcher(knowledge).normaliser.normalise
    assert normalise("hw mch is embeddng yr") == normalise("how much is embedding year")
    assert normalise("our SENCo, HoM and a TA") == normalise(
        "our special educational needs coordinator, head of department and a teaching assistant"
    )
    assert normalise("KS1 KS2 KS5 SoW") == "key stage 1 key stage 2 key stage 5 scheme of work"
    # A school year however it is written: 23/24, 23-24, 2023/2024 and 2023/24 are one.
    assert {normalise(y) for y in ("23/24", "23-24", "2023/2024", "2023-24")} == {normalise("2023/24")}
    assert normalise("specalist") == normalise("specialist") and normalise("devlopment work grp") == (
        "development work group"
    )
