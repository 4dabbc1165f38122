"""Follow-ups: a message may leave out the programme or the topic of the last answer.

The conversation keeps both as separate slots. Naming only a programme keeps the topic ("and the
specialist one?"); naming only a topic keeps the programme ("and how much is it?"); "it" is the last
programme. Scripts on the real knowledge are the teachers' own examples from the issue.
"""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.store.sql import SqlStore
from knowledge.loader import Knowledge
from tests.helpers import Conversation


@pytest.fixture
def engine(knowledge: Knowledge, memory_store: SqlStore) -> Engine:
    return Engine(knowledge, memory_store)


@pytest.fixture
def small_engine(small_knowledge: Knowledge, memory_store: SqlStore) -> Engine:
    return Engine(small_knowledge, memory_store)


async def test_naming_another_programme_keeps_the_topic(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("is the dwg free?")
    assert chat.answered() == "dwg-cost"
    await chat.say("what about the specialist programme?")
    assert chat.answered() == "specialist-cost"
    await chat.say("and the embedding year?")
    assert chat.answered() == "eys-cost"


async def test_the_specialist_one_is_the_specialist_programme(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("how long does the dwg last?")
    assert chat.answered() == "dwg-duration"
    await chat.say("and the specialist one?")
    assert chat.answered() == "specialist-duration"


async def test_naming_only_a_topic_keeps_the_programme(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("what's the embedding year?")
    assert chat.answered() == "eys-about"
    await chat.say("and how much is it?")
    assert chat.answered() == "eys-cost"
    await chat.say("when's the deadline?")
    assert chat.answered() == "eys-dates"
    await chat.say("how long does it last?")
    assert chat.answered() == "eys-time"


async def test_who_leads_it_is_about_who_runs_the_programme(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("tell me about embedding year support")
    assert chat.answered() == "eys-about"
    await chat.say("who leads it?")
    assert chat.answered() == "eys-involved"


async def test_it_is_the_programme_discussed_last(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("tell me about the development work group")
    assert chat.answered() == "dwg-about"
    await chat.say("can ECTs do it?")
    assert chat.answered() == "dwg-ect"
    await chat.say("and the embedding year?")  # the topic (who can take part) carries over
    assert chat.answered() == "eys-eligibility"


async def test_a_general_question_after_a_programme_is_still_answered_generally(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("is the specialist programme free?")
    assert chat.answered() == "specialist-cost"
    await chat.say("what's a maths hub?")
    assert chat.answered() == "general-what-is-maths-hub"


async def test_asking_what_a_programme_is_does_not_carry_the_topic(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("is the dwg free?")
    await chat.say("what's the specialist programme?")
    assert chat.answered() == "specialist-about"


async def test_a_topic_the_new_programme_has_no_answer_for_is_said_plainly(
    engine: Engine, memory_store: SqlStore
) -> None:
    # Nothing in the knowledge says how long PD Lead accreditation takes on its own.
    chat = Conversation(engine)
    await chat.say("how long does embedding year support take?")
    assert chat.answered() == "eys-time"
    await chat.say("and the pd lead?")
    assert chat.last[0].kind == "fallback"
    assert chat.answered() is None
    assert "faq:pdlead-about" in chat.choice_values()  # what there is about it, one tap away
    assert "menu:contact" in chat.choice_values()
    assert [r.question for r in await memory_store.unanswered()] == ["and the pd lead?"]
    await chat.say("how much is it?")  # the programme named is now the one discussed
    assert chat.answered() == "pdlead-cost"


async def test_carrying_over_works_from_the_data_alone(small_engine: Engine) -> None:
    # The small fixed knowledge: two programmes with entries on the same topics.
    chat = Conversation(small_engine)
    await chat.say("can an NQT join the work group?")
    assert chat.answered() == "dwg-ect"
    await chat.say("what about the specialist one?")
    assert chat.answered() == "specialist-ect"
    await chat.say("and how long does it take?")
    assert chat.answered() == "specialist-time"
    await chat.say("and for the development work group?")
    assert chat.answered() == "dwg-time"


async def test_without_a_last_topic_a_programme_alone_is_a_question_about_it(small_engine: Engine) -> None:
    chat = Conversation(small_engine)
    await chat.say("what about the mastery advocates?")
    assert chat.answered() == "mastery-advocates"
