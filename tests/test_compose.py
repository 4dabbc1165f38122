"""Answers made of several FAQ entries: comparisons of programmes and two-part questions."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock, local_date
from bot.compose import Composer
from bot.engine import Engine
from bot.faq import answer_text
from bot.messages import Reply
from bot.store.sql import SqlStore
from knowledge.loader import Knowledge
from tests.helpers import Conversation


@pytest.fixture
def engine(knowledge: Knowledge, memory_store: SqlStore) -> Engine:
    return Engine(knowledge, memory_store)


def _sides(replies: list[Reply]) -> dict[str, list[str]]:
    """Comparison replies by topic: the entries each one puts side by side."""
    return {r.data["topic"]: r.data["faq_ids"].split() for r in replies if "faq_ids" in r.data}


def _answered(replies: list[Reply]) -> list[str]:
    return [r.faq_id for r in replies if r.kind == "answer" and r.faq_id is not None]


async def test_a_comparison_puts_each_programmes_entries_side_by_side(
    engine: Engine, knowledge: Knowledge, clock: ManualClock
) -> None:
    chat = Conversation(engine)
    replies = await chat.say("What's the difference between the DWG and the Specialist Programme?")
    # The entry written about this comparison answers first; the programmes' facts follow.
    assert chat.answered() == "general-workgroup-vs-specialist"
    sides = _sides(replies)
    assert list(sides) == ["eligibility", "involved", "time", "cost", "apply"]
    for topic, ids in sides.items():
        entries = [knowledge.faq_by_id[i] for i in ids]
        assert [e.programme for e in entries] == ["development-work-group", "specialist-programme"]
        assert all(e.topic == topic for e in entries)
    assert sides["cost"] == ["dwg-cost", "specialist-cost"]
    for reply in replies:
        if "faq_ids" in reply.data:
            assert reply.links and all(link.url.startswith("https://") for link in reply.links)
            for faq_id in reply.data["faq_ids"].split():  # each entry's own answer, word for word
                assert answer_text(knowledge.faq_by_id[faq_id], local_date(clock.now())) in reply.text


async def test_any_two_programmes_compare_without_an_entry_written_for_the_pair(
    engine: Engine, knowledge: Knowledge
) -> None:
    replies = await Conversation(engine).say("how is the embedding year different from the dwg?")
    sides = _sides(replies)
    assert list(sides) == ["eligibility", "involved", "time", "cost", "apply"]
    assert sides["cost"] == ["eys-cost", "dwg-cost"]
    for ids in sides.values():
        assert [knowledge.faq_by_id[i].programme for i in ids] == [
            "embedding-year-support",
            "development-work-group",
        ]


async def test_an_entry_written_about_another_pair_is_not_given(engine: Engine) -> None:
    # The general Work Group vs Specialist Programme entry says nothing about Embedding Year Support.
    chat = Conversation(engine)
    replies = await chat.say("What's the difference between the DWG and the embedding year?")
    assert chat.answered() != "general-workgroup-vs-specialist"
    assert _sides(replies)["cost"] == ["dwg-cost", "eys-cost"]


async def test_it_in_a_comparison_is_the_programme_discussed_last(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("tell me about the embedding year")
    replies = await chat.say("how is it different from the specialist programme?")
    assert _sides(replies)["cost"] == ["eys-cost", "specialist-cost"]


async def test_a_comparison_of_one_aspect_gives_only_that_aspect(engine: Engine) -> None:
    replies = await Conversation(engine).say("is the dwg or the specialist programme cheaper?")
    assert _sides(replies) == {"cost": ["dwg-cost", "specialist-cost"]}


async def test_a_programme_with_nothing_on_an_aspect_says_so(engine: Engine, knowledge: Knowledge) -> None:
    # The knowledge has no entry on applying for PD Lead accreditation on its own.
    replies = await Conversation(engine).say("pd lead vs the specialist programme: how do we apply?")
    (apply,) = [r for r in replies if r.data.get("topic") == "apply"]
    assert [knowledge.faq_by_id[i].programme for i in apply.data["faq_ids"].split()] == [
        "specialist-programme"
    ]
    assert knowledge.texts.comparison_missing in apply.text


async def test_a_two_part_question_answers_both_parts_each_with_its_source(engine: Engine) -> None:
    chat = Conversation(engine)
    replies = await chat.say("is the dwg free and can an ECT join it?")
    assert _answered(replies) == ["dwg-cost", "dwg-ect"]
    answers = [r for r in replies if r.kind == "answer"]
    assert all(r.links and r.feedback for r in answers)
    await chat.say("and the specialist one?")  # the last part's topic carries on
    assert chat.answered() == "specialist-ect"


async def test_two_questions_in_two_sentences(engine: Engine) -> None:
    replies = await Conversation(engine).say("how long is the specialist programme? and how do we apply")
    assert _answered(replies) == ["specialist-duration", "specialist-apply"]


async def test_one_question_with_and_in_it_is_one_question(engine: Engine) -> None:
    replies = await Conversation(engine).say(
        "can an ECT and a head of department both be advocates in the dwg?"
    )
    assert len(_answered(replies)) == 1


async def test_a_part_without_a_clear_answer_leaves_the_message_one_question(engine: Engine) -> None:
    replies = await Conversation(engine).say("is the dwg free and can we bring a cake?")
    assert _answered(replies) == ["dwg-cost"]


def test_clauses_split_only_before_a_new_question(knowledge: Knowledge) -> None:
    composer = Composer(knowledge.lexicon)
    assert composer.clauses("is the dwg free and can an ECT join it?") == [
        "is the dwg free",
        "can an ECT join it?",
    ]
    assert composer.clauses("is it free? when does it start?") == ["is it free", "when does it start?"]
    assert composer.clauses("can ECTs and heads of department apply?") == [
        "can ECTs and heads of department apply?"
    ]
    assert composer.clauses("free? and") == ["free? and"]
