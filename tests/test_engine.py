"""Conversation behaviour through the platform-free engine, on the small fixed knowledge set."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clock import ManualClock
from bot.engine import Engine
from bot.faq import MatcherConfig
from bot.messages import ConversationKey, Inbound
from bot.store.sql import SqlStore
from knowledge.loader import Knowledge
from tests.helpers import Conversation, midday


@pytest.fixture
def engine(small_knowledge: Knowledge, memory_store: SqlStore) -> Engine:
    return Engine(small_knowledge, memory_store)


async def test_greeting_offers_the_menu(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("Hello!")
    assert "Secondary Teaching for Mastery" in chat.text()
    assert {"menu:fit", "menu:contact", "menu:help"} <= set(chat.choice_values())


async def test_answers_with_source_link_and_feedback(engine: Engine) -> None:
    chat = Conversation(engine)
    replies = await chat.say("is the DWG free?")
    assert chat.answered() == "dwg-cost"
    answer = replies[0]
    assert "free" in answer.text
    assert answer.links and answer.links[0].url.startswith("https://")
    assert "feedback:up:dwg-cost" in chat.choice_values()


async def test_typos_and_abbreviations(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("can an NQT become a mastery specalist??")
    assert chat.answered() == "specialist-ect"


async def test_follow_up_uses_programme_last_discussed(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("Is the development work group free?")
    assert chat.answered() == "dwg-cost"
    await chat.say("how long does it take?")
    assert chat.answered() == "dwg-time"
    await chat.say("what about the specialist programme, how long is that?")
    assert chat.answered() == "specialist-time"
    await chat.say("and is it free?")
    assert chat.answered() == "specialist-cost"


async def test_dated_answer_after_the_deadline(
    small_knowledge: Knowledge, memory_store: SqlStore, clock: ManualClock
) -> None:
    engine = Engine(small_knowledge, memory_store)
    clock.set(midday(dt.date(2025, 4, 1)))
    before = Conversation(engine)
    await before.say("when is the specialist programme deadline?")
    assert "close at midnight on 28 April 2025" in before.text()
    clock.set(midday(dt.date(2026, 11, 30)))
    after = Conversation(engine)
    await after.say("when is the specialist programme deadline?")
    assert "closed" in after.text()
    assert "next one" in after.text()


async def test_ambiguous_question_offers_choices_and_pick_answers(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("is it free?")
    assert chat.last[0].kind == "disambiguation"
    values = chat.choice_values()
    assert "faq:dwg-cost" in values and "faq:specialist-cost" in values
    assert values[-1] == "faq:none"
    await chat.press("faq:specialist-cost")
    assert chat.answered() == "specialist-cost"


async def test_a_close_runner_up_is_offered_after_the_answer(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    replies = await chat.say("the specialist programme - free, how long")
    assert chat.answered() == "specialist-time"
    related = [r for r in replies if r.kind == "related"]
    assert [c.value for c in related[0].choices] == ["faq:specialist-cost"]
    await chat.press("faq:specialist-cost")
    assert chat.answered() == "specialist-cost"
    signals = await memory_store.signals()
    assert [(s.kind, s.faq_id) for s in signals] == [("pick", "specialist-cost")]


async def test_two_questions_in_one_message_get_two_answers(engine: Engine) -> None:
    chat = Conversation(engine)
    replies = await chat.say("the specialist programme - free? how long?")
    assert [r.faq_id for r in replies if r.kind == "answer"] == ["specialist-cost", "specialist-time"]


async def test_a_clear_answer_offers_no_related_questions(engine: Engine) -> None:
    replies = await Conversation(engine).say("how long is the development work group?")
    assert [r.kind for r in replies] == ["answer"]


async def test_did_you_mean_reads_right_for_one_candidate(
    engine: Engine, small_knowledge: Knowledge, memory_store: SqlStore
) -> None:
    texts = small_knowledge.texts
    chat = Conversation(engine)
    await chat.say("is it free?")
    assert chat.last[0].text == texts.did_you_mean
    # Never sure enough to answer: the one entry it can suggest is offered on its own.
    unsure = MatcherConfig(answer_threshold=1000, suggest_threshold=100)
    chat = Conversation(Engine(small_knowledge, memory_store, matcher_config=unsure))
    await chat.say("how long is the development work group?")
    assert chat.last[0].text == texts.did_you_mean_one
    assert chat.choice_values() == ["faq:dwg-time", "faq:none"]


async def test_typed_number_picks_a_choice(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("is it free?")
    first = chat.choice_values()[0]
    await chat.say("1")
    assert chat.answered() == first.removeprefix("faq:")


async def test_none_of_these_asks_to_rephrase_and_logs(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.say("is it free?")
    await chat.press("faq:none")
    assert "another way" in chat.text()
    assert [r.question for r in await memory_store.unanswered()] == ["is it free?"]


async def test_in_domain_question_without_an_answer_gets_the_hub_fallback_and_is_logged(
    engine: Engine, memory_store: SqlStore
) -> None:
    chat = Conversation(engine)
    replies = await chat.say("Does the work group run on Saturdays in Leeds?")
    assert replies[0].kind == "fallback"
    assert "don't know" in replies[0].text
    assert "maths-hubs" in replies[0].text
    assert "menu:contact" in chat.choice_values()
    await Conversation(engine).say("does the work group run on saturdays in leeds")
    rows = await memory_store.unanswered()
    assert rows[0].count == 2


@pytest.mark.parametrize(
    "text",
    [
        "What's the weather like in Leeds tomorrow?",
        "who won the football last night",
        "can I get a refund on my PGCE fees?",
        "any good resources for teaching GCSE history?",
        "recipe for a quick lasagne?",
    ],
)
async def test_plainly_off_topic_is_said_honestly_without_sending_them_to_a_hub(
    engine: Engine, small_knowledge: Knowledge, text: str
) -> None:
    chat = Conversation(engine)
    replies = await chat.say(text)
    assert [r.kind for r in replies] == ["fallback"]
    assert replies[0].text == small_knowledge.texts.off_topic
    assert "maths-hubs" not in replies[0].text
    assert "menu:contact" not in chat.choice_values()


async def test_another_subject_alongside_the_programmes_is_not_off_topic(
    engine: Engine, small_knowledge: Knowledge
) -> None:
    # A word of another subject does not make a question about the programmes off-topic.
    chat = Conversation(engine)
    await chat.say("can science teachers come to the maths hub work group in the evening?")
    assert chat.last[0].text != small_knowledge.texts.off_topic
    await chat.say("is the development work group free for our history department?")
    assert chat.answered() == "dwg-cost"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("ok", "acknowledged"),
        ("lol ok", "acknowledged"),
        ("Cool!", "acknowledged"),
        ("cheers", "you_are_welcome"),
        ("lol ok thanks", "you_are_welcome"),
        ("great, ta", "you_are_welcome"),
        ("brilliant thank you 👍", "you_are_welcome"),
        ("thanks so much for your help!", "you_are_welcome"),
        ("bye", "goodbye"),
        ("that's all", "goodbye"),
        ("no that's everything", "goodbye"),
        ("ok thanks, bye!", "goodbye"),
        ("good morning", "greeting"),
    ],
)
async def test_small_talk_gets_a_reply_in_kind(
    engine: Engine, small_knowledge: Knowledge, memory_store: SqlStore, text: str, kind: str
) -> None:
    chat = Conversation(engine)
    await chat.say("is the dwg free?")
    replies = await chat.say(text)
    assert replies[0].text == getattr(small_knowledge.texts, kind)
    assert all(r.kind == "message" for r in replies)
    assert await memory_store.unanswered() == []


async def test_small_talk_words_around_a_question_leave_it_a_question(
    engine: Engine, small_knowledge: Knowledge
) -> None:
    chat = Conversation(engine)
    await chat.say("ok thanks, and how long is the development work group?")
    assert chat.answered() == "dwg-time"
    await chat.say("no")  # on its own a filler is not small talk: "no" is not goodbye
    assert chat.last[0].text != small_knowledge.texts.goodbye


async def test_not_what_i_asked_logs_the_question_and_asks_to_rephrase(
    engine: Engine, small_knowledge: Knowledge, memory_store: SqlStore
) -> None:
    chat = Conversation(engine)
    await chat.say("what do mastery advocates do?")
    assert chat.answered() == "mastery-advocates"
    await chat.say("thanks but that's not what I asked")
    assert chat.answered() is None
    assert chat.last[0].text == small_knowledge.texts.rephrase
    assert [r.question for r in await memory_store.unanswered()] == ["what do mastery advocates do?"]


async def test_unanswered_questions_are_stored_without_personal_data(
    engine: Engine, memory_store: SqlStore
) -> None:
    await Conversation(engine).say("My name is Jane Doe, email jane@school.org.uk, do you sell pencils?")
    stored = (await memory_store.unanswered())[0].question
    assert "jane@school.org.uk" not in stored and "Jane Doe" not in stored
    assert "pencils" in stored


async def test_feedback_is_recorded(engine: Engine, memory_store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.say("is the dwg free")
    await chat.press("feedback:down:dwg-cost")
    assert "noted" in chat.text()
    await chat.press("feedback:up:dwg-cost")
    summary = await memory_store.feedback()
    assert [(s.faq_id, s.helpful, s.not_helpful) for s in summary] == [("dwg-cost", 1, 1)]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "didn't catch"),
        ("   \n\t ", "didn't catch"),
        ("x" * 4001, "too long"),
        ("🙂🙂🙂", "only read text"),
        ("\x00\x07\u200b", "didn't catch"),
    ],
)
async def test_bad_input_gets_a_friendly_reply(engine: Engine, text: str, fragment: str) -> None:
    replies = await Conversation(engine).say(text)
    assert len(replies) == 1
    assert fragment in replies[0].text.lower().replace("a bit long", "too long")


async def test_html_is_not_interpreted_and_not_answered(engine: Engine) -> None:
    replies = await Conversation(engine).say("<script>alert(1)</script>")
    assert replies[0].kind == "fallback"
    assert "<script>" not in replies[0].text


async def test_unknown_button_value(engine: Engine) -> None:
    chat = Conversation(engine)
    for value in ("faq:does-not-exist", "feedback:sideways:dwg-cost", "zzz", "flow:interview:phase"):
        await chat.press(value)
        assert "no longer active" in chat.text()


async def test_help_cancel_restart(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("help")
    assert "Here is what I can do" in chat.text()
    await chat.say("cancel")
    assert "nothing to cancel" in chat.text().lower()
    await chat.say("is the dwg free")
    await chat.say("start over")
    assert "start again" in chat.text().lower()
    async with engine.store.conversation(chat.key) as slot:  # the programme discussed before is forgotten
        assert slot.state is not None and slot.state["last_programme"] is None


async def test_corrupt_or_old_state_resets_politely(engine: Engine, memory_store: SqlStore) -> None:
    key = ConversationKey("web", "", "u", "broken")
    for bad in ({"version": 0, "whatever": 1}, {"version": 1, "choices": "not a list"}):
        async with memory_store.conversation(key) as slot:
            slot.save(bad)
        replies = await engine.handle(Inbound(key=key, text="is the dwg free"))
        assert "lost track" in replies[0].text
        assert any(r.faq_id == "dwg-cost" for r in replies)


async def test_contact_without_enquiry_flow_points_to_hub(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("I'd like to talk to someone")
    assert "maths-hubs" in chat.text()


async def test_one_conversation_processed_one_at_a_time(engine: Engine, memory_store: SqlStore) -> None:
    import asyncio

    chat = Conversation(engine)
    await asyncio.gather(*(chat.say("is the dwg free") for _ in range(20)))
    async with memory_store.conversation(chat.key) as slot:
        assert slot.state is not None and slot.state["last_faq"] == "dwg-cost"
