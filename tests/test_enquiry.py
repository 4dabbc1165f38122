"""The enquiry conversation through the engine, as scripts: consent, details, summary, edit, send, status."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.enquiry import EnquiryFlow
from bot.messages import ConversationKey
from bot.outbox import EnquiryMessage
from bot.store.sql import SqlStore
from bot.store.tickets import Job, Ticket, TicketStore
from knowledge.loader import Knowledge, load_knowledge
from tests.enquiry_fixtures import ROUTES, make_enquiry_knowledge_dir
from tests.helpers import Conversation

REFERENCE = re.compile(r"LLME-\d{4}-\d{6}")


@pytest.fixture(scope="module")
def enquiry_knowledge(small_knowledge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Knowledge:
    return load_knowledge(make_enquiry_knowledge_dir(small_knowledge_dir, tmp_path_factory.mktemp("k")))


@pytest.fixture
def engine(enquiry_knowledge: Knowledge, store: SqlStore) -> Engine:
    """Every conversation test runs on SQLite and PostgreSQL (tickets share the conversation's commit)."""
    return Engine(
        enquiry_knowledge,
        store,
        flows=[EnquiryFlow(ROUTES)],
    )


async def all_tickets(store: SqlStore) -> list[tuple[Ticket, list[Job]]]:
    return await TicketStore(store).list_tickets()


async def to_school_step(chat: Conversation, *, name: str = "Ada Lovelace") -> None:
    """Start an enquiry and answer with valid details up to the school question."""
    await chat.say("I'd like to talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say(name)
    await chat.say("ada@example.org")
    await chat.press("flow:enquiry:role:0")


async def to_summary(chat: Conversation, *, school: str = "Downland Test Academy") -> None:
    """Answer every step with valid details, up to the summary."""
    await to_school_step(chat)
    await chat.say(school)
    if "flow:enquiry:school:900001" in chat.choice_values():
        await chat.press("flow:enquiry:school:900001")
    await chat.press("flow:enquiry:programme:specialist-programme")
    await chat.say("Can two teachers from one department both apply?")
    assert "flow:enquiry:confirm" in chat.choice_values(), chat.text()


def reference_in(chat: Conversation) -> str:
    found = REFERENCE.search(chat.text())
    assert found, chat.text()
    return found.group(0)


# -- the whole conversation --------------------------------------------------------------------------


async def test_full_enquiry_is_routed_to_the_schools_hub(engine: Engine, store: SqlStore) -> None:
    chat = Conversation(engine)
    replies = await chat.say("I'd like to talk to someone")
    assert replies[0].form == "enquiry"
    assert "Nothing is saved unless you agree" in chat.text()
    assert chat.choice_values() == ["flow:enquiry:consent:yes", "flow:enquiry:consent:no"]

    await chat.press("flow:enquiry:consent:yes")
    assert "your name" in chat.text()
    await chat.say("Ada Lovelace")
    assert "email" in chat.text()
    await chat.say("Ada.Lovelace@Example.ORG")
    assert "flow:enquiry:role:0" in chat.choice_values()
    await chat.say("2")  # a typed number picks the second role
    assert "Which school" in chat.text()
    await chat.say("downland academy")
    assert chat.choice_values()[0] == "flow:enquiry:school:900001"
    assert "Downland Test Academy, RH15 9ZZ" in [c.label for r in chat.last for c in r.choices]
    await chat.press("flow:enquiry:school:900001")
    assert "Which programme" in chat.text()
    await chat.say("specialist programme")  # typed, matched on the programme's names
    assert "What would you like to ask" in chat.text()
    await chat.say("Can two teachers from one department both apply?")

    summary = chat.text()
    for expected in (
        "Ada Lovelace",
        "Ada.Lovelace@example.org",  # the domain is normalised, the local part kept
        "Head of maths department",
        "Downland Test Academy (West Sussex, RH15 9ZZ)",
        "Mastery Specialist Programme",
        "Can two teachers from one department both apply?",
        "It will go to Sussex Maths Hub.",
    ):
        assert expected in summary
    assert await all_tickets(store) == []  # nothing stored before confirming

    await chat.press("flow:enquiry:confirm")
    reference = reference_in(chat)
    assert "Sussex Maths Hub" in chat.text() and "Ada.Lovelace@example.org" in chat.text()

    [(ticket, jobs)] = await all_tickets(store)
    assert ticket.reference == reference
    assert (ticket.hub_id, ticket.manual_routing, ticket.routing_reason) == ("sussex", False, "confirmed")
    assert (ticket.name, ticket.email, ticket.school_urn) == (
        "Ada Lovelace",
        "Ada.Lovelace@example.org",
        "900001",
    )
    assert ticket.owner_ref == "web:user-1"
    assert [(j.channel, j.target, j.status) for j in jobs] == [("email", "sussex-hub@example.org", "pending")]
    async with store.conversation(chat.key) as slot:
        assert slot.state is not None and slot.state["flow"] is None  # the draft is gone


async def test_fallback_question_is_carried_into_the_enquiry(engine: Engine, store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.say("Do Maths Hubs run anything for trainee teachers in further education?")
    assert "menu:contact" in chat.choice_values()
    await chat.press("menu:contact")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("Grace Hopper")
    await chat.say("grace@example.org")
    await chat.say("Senior leader")  # a typed label picks that role
    await chat.say("Unlisted Community School, Leeds")  # name and town, not in the list
    await chat.press("flow:enquiry:programme:none")
    assert "Earlier you asked" in chat.text() and "trainee teachers in further education" in chat.text()
    await chat.press("flow:enquiry:question:keep")
    assert "national Maths Hubs team" in chat.text()  # no confident hub: the default route
    await chat.say("send it")
    reference_in(chat)
    [(ticket, jobs)] = await all_tickets(store)
    assert ticket.question == "Do Maths Hubs run anything for trainee teachers in further education?"
    assert (ticket.hub_id, ticket.manual_routing, ticket.routing_reason) == (None, True, "school_unknown")
    assert ticket.school == "Unlisted Community School, Leeds" and ticket.role == "Senior leader"
    assert [(j.channel, j.target) for j in jobs] == [("email", "national@example.org")]


async def test_edit_a_field_from_the_summary(engine: Engine, store: SqlStore) -> None:
    chat = Conversation(engine)
    await to_summary(chat)
    await chat.press("flow:enquiry:change")
    assert {
        f"flow:enquiry:edit:{f}" for f in ("name", "email", "role", "school", "programme", "question")
    } <= set(chat.choice_values())
    await chat.press("flow:enquiry:edit:email")
    assert "email" in chat.text()
    await chat.say("not an email")
    assert "doesn't look like an email" in chat.text()
    await chat.say("ada.l@school.example.org")
    summary = chat.text()  # straight back to the summary, nothing else asked again
    assert "ada.l@school.example.org" in summary and "- Email: ada@example.org" not in summary
    await chat.press("flow:enquiry:change")
    await chat.press("flow:enquiry:edit:school")
    await chat.say("Harbourside")
    await chat.press("flow:enquiry:school:900002")
    assert "national Maths Hubs team" in chat.text()  # Camden is not mapped to a hub
    await chat.press("flow:enquiry:change")
    await chat.press("flow:enquiry:edit:question")
    await chat.press("flow:enquiry:question:keep")  # keep the current question
    assert "Can two teachers from one department both apply?" in chat.text()
    await chat.press("flow:enquiry:confirm")
    [(ticket, _)] = await all_tickets(store)
    assert ticket.email == "ada.l@school.example.org" and ticket.school_urn == "900002"
    assert ticket.manual_routing and ticket.routing_reason == "la_unmapped"


async def test_cancel_at_the_summary_stores_nothing(engine: Engine, store: SqlStore) -> None:
    chat = Conversation(engine)
    await to_summary(chat)
    await chat.press("flow:enquiry:cancel")
    assert "cancelled that enquiry" in chat.text()
    assert await all_tickets(store) == []
    async with store.conversation(chat.key) as slot:
        assert slot.state is not None and slot.state["flow"] is None
        assert "Ada" not in str(slot.state)


async def test_saying_cancel_half_way_drops_the_draft(engine: Engine, store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("Ada Lovelace")
    await chat.say("cancel")
    assert "stopped" in chat.text()
    async with store.conversation(chat.key) as slot:
        assert slot.state is not None and "Ada" not in str(slot.state)
    assert await all_tickets(store) == []


@pytest.mark.parametrize("refusal", ["press", "no thanks"])
async def test_consent_refused_stores_nothing(engine: Engine, store: SqlStore, refusal: str) -> None:
    chat = Conversation(engine)
    await chat.say("talk to someone")
    if refusal == "press":
        await chat.press("flow:enquiry:consent:no")
    else:
        await chat.say(refusal)
    assert "I haven't saved anything" in chat.text()
    async with store.conversation(chat.key) as slot:
        assert slot.state is not None and slot.state["flow"] is None
    assert await all_tickets(store) == []
    await chat.say("Ada Lovelace")  # no longer in the flow: not taken as a name
    assert "Ada" not in str(await _state(store, chat.key))


async def _state(store: SqlStore, key: ConversationKey) -> object:
    async with store.conversation(key) as slot:
        return (slot.state or {}).get("flow")


async def test_unclear_consent_is_asked_again(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.say("hmm")
    assert "choose one of the options" in chat.text()
    assert chat.choice_values() == ["flow:enquiry:consent:yes", "flow:enquiry:consent:no"]
    await chat.say("1")
    assert "your name" in chat.text()


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "fragment"),
    [
        ("not-an-email", "doesn't look like an email"),
        ("two@@example.org", "doesn't look like an email"),
        ("<script>@example.org", "doesn't look like an email"),
        ("a@localhost", "doesn't look like an email"),
        ("a" * 250 + "@example.org", "a bit long for the email"),
        ("ada@exa mple.org", "doesn't look like an email"),
    ],
)
async def test_invalid_and_very_long_emails_are_asked_again(
    engine: Engine, email: str, fragment: str
) -> None:
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("Ada")
    await chat.say(email)
    assert fragment in chat.text()
    assert "What email address" in chat.text()  # the same question again
    await chat.say("ada@example.org")
    assert "What's your role" in chat.text()


async def test_a_message_over_the_engine_limit_is_refused_kindly(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("Ada")
    await chat.say("a" * 5000 + "@example.org")
    assert "a bit long" in chat.text()
    await chat.say("ada@example.org")
    assert "What's your role" in chat.text()


async def test_overlong_answers_are_asked_again(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("N" * 101)
    assert "limit is 100 characters" in chat.text()
    await chat.say("Ada")
    await chat.say("ada@example.org")
    await chat.say("R" * 101)
    assert "limit is 100 characters" in chat.text()
    await chat.press("flow:enquiry:role:0")
    await chat.say("S" * 201)
    assert "limit is 200 characters" in chat.text()
    await chat.say("Some School, Leeds")
    await chat.press("flow:enquiry:programme:none")
    await chat.say("Q" * 2001)
    assert "limit is 2000 characters" in chat.text()
    await chat.say("ok")
    assert "say a little more" in chat.text()
    await chat.say("A real question about the programme.")
    assert "Shall I send it?" in chat.text()


async def test_html_in_every_field_is_kept_as_plain_text(engine: Engine, store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("<b>Ada</b>")
    await chat.say("ada@example.org")
    await chat.say("<i>Head</i> of maths")
    await chat.say("<script>alert(1)</script> School, Leeds")
    await chat.press("flow:enquiry:programme:none")
    await chat.say('<img src=x onerror="alert(1)"> & is it free?')
    summary = chat.text()
    assert "<b>Ada</b>" in summary and "<script>alert(1)</script> School, Leeds" in summary  # plain text
    await chat.press("flow:enquiry:confirm")
    [(ticket, _)] = await all_tickets(store)
    assert ticket.name == "<b>Ada</b>" and ticket.role == "<i>Head</i> of maths"
    assert ticket.question == '<img src=x onerror="alert(1)"> & is it free?'

    rendered = EnquiryMessage.of(ticket, engine.knowledge)
    html = rendered.html()
    for raw in ("<b>Ada</b>", "<i>Head</i>", "<script>", "<img"):
        assert raw not in html
    for escaped in ("&lt;b&gt;Ada&lt;/b&gt;", "&lt;i&gt;Head&lt;/i&gt;", "&lt;script&gt;", "&lt;img src=x"):
        assert escaped in html
    assert "&lt;script&gt;" in rendered.slack_text() and "<script>" not in rendered.slack_text()
    assert "<b>Ada</b>" in rendered.plain()  # the plain-text part is just text


async def test_a_question_mid_flow_is_answered_then_the_step_asked_again(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("Is the development work group free?")
    assert chat.answered() == "dwg-cost"
    assert "back to where we were" in chat.text() and chat.last[-1].text == "What's your name?"
    await chat.say("Ada")
    assert "email" in chat.text()


async def test_school_not_listed_asks_for_name_and_town(engine: Engine, store: SqlStore) -> None:
    chat = Conversation(engine)
    await to_school_step(chat, name="Ada")
    await chat.say("Zebra")
    assert "couldn't find that school" in chat.text() and "town or postcode" in chat.text()
    await chat.say("Zebra Crossing High, LS1 4AP")
    assert "Which programme" in chat.text()
    await chat.press("flow:enquiry:change")  # a stale button: the step is asked again
    assert "Which programme" in chat.text()


async def test_picking_not_listed_after_a_search(engine: Engine) -> None:
    chat = Conversation(engine)
    await to_school_step(chat, name="Ada")
    await chat.say("Downland")
    await chat.press("flow:enquiry:school:none")
    assert "town or postcode" in chat.text()
    await chat.press("flow:enquiry:school:900001")  # stale button after "not listed"
    assert "town or postcode" in chat.text()


async def test_programme_is_prefilled_from_the_conversation(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("Is the mastery specialist programme free?")
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("Ada")
    await chat.say("ada@example.org")
    await chat.press("flow:enquiry:role:0")
    await chat.say("Some School, Leeds")
    assert "Is your enquiry about the Secondary Mastery Specialist Programme?" in chat.text()
    assert chat.choice_values()[0] == "flow:enquiry:programme:specialist-programme"


# -- confirming ------------------------------------------------------------------------------------


async def test_confirming_twice_makes_one_ticket(engine: Engine, store: SqlStore) -> None:
    chat = Conversation(engine)
    await to_summary(chat)
    await asyncio.gather(chat.press("flow:enquiry:confirm"), chat.press("flow:enquiry:confirm"))
    await chat.press("flow:enquiry:confirm")
    assert "no longer active" in chat.text()
    assert len(await all_tickets(store)) == 1


async def test_references_are_unique_and_sequential(engine: Engine, store: SqlStore) -> None:
    references = []
    for user in ("a", "b", "c"):
        chat = Conversation(engine, key=ConversationKey("web", "", user, f"conv-{user}"))
        await to_summary(chat)
        await chat.press("flow:enquiry:confirm")
        references.append(reference_in(chat))
    year = store.clock.now().year
    assert references == [f"LLME-{year}-00000{n}" for n in (1, 2, 3)]


async def test_an_abandoned_draft_expires(enquiry_knowledge: Knowledge, memory_store: SqlStore) -> None:
    engine = Engine(
        enquiry_knowledge, memory_store, flows=[EnquiryFlow(ROUTES, draft_expiry=dt.timedelta(0))]
    )
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    assert "more than a day old" in chat.text()
    assert chat.choice_values() == ["flow:enquiry:consent:yes", "flow:enquiry:consent:no"]


# -- status --------------------------------------------------------------------------------------


async def test_status_is_told_to_the_owner_only(engine: Engine) -> None:
    owner = Conversation(engine)
    await to_summary(owner)
    await owner.press("flow:enquiry:confirm")
    reference = reference_in(owner)
    number = reference.rsplit("-", 1)[1].lstrip("0")

    again = Conversation(engine, key=ConversationKey("web", "", "user-1", "another-conversation"))
    await again.say(f"What's the status of {reference}?")
    assert f"Enquiry {reference}" in again.text() and "Sussex Maths Hub" in again.text()
    assert again.last[0].data["status"] == "pending"  # not yet delivered: no worker has run
    await again.say(f"any news on llme {reference[5:9]} {number}")  # loose spelling
    assert f"Enquiry {reference}" in again.text()

    stranger = Conversation(engine, key=ConversationKey("web", "", "user-2", "conv-x"))
    await stranger.say(f"What's the status of {reference}?")
    assert "can't find an enquiry" in stranger.text()
    assert "Sussex" not in stranger.text()
    other_platform = Conversation(engine, key=ConversationKey("slack", "T1", "user-1", "D1"))
    await other_platform.say(f"status {reference}")
    assert "can't find an enquiry" in other_platform.text()
    await again.say("What's the status of LLME-2026-999999?")
    assert "can't find an enquiry LLME-2026-999999" in again.text()


async def test_status_question_mid_enquiry_then_carry_on(engine: Engine) -> None:
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("status of LLME-2026-000042?")
    assert "can't find an enquiry LLME-2026-000042" in chat.text()
    assert chat.last[-1].text == "What's your name?"


async def test_without_enquiry_knowledge_contact_points_to_the_hubs(
    small_knowledge: Knowledge, memory_store: SqlStore
) -> None:
    chat = Conversation(Engine(small_knowledge, memory_store, flows=[EnquiryFlow(ROUTES)]))
    await chat.say("talk to someone")
    assert "maths-hubs" in chat.text() and chat.choice_values() == []
    await chat.say("What's the status of LLME-2026-000001?")
    assert chat.last[0].kind in ("fallback", "answer", "disambiguation")  # no enquiries: the FAQ as usual


async def test_typed_not_sure_and_send_it_are_understood(engine: Engine, store: SqlStore) -> None:
    chat = Conversation(engine)
    await chat.say("Do hubs run anything for teaching assistants?")
    await chat.press("menu:contact")
    await chat.say("yes")
    await chat.say("Ada")
    await chat.say("ada@example.org")
    await chat.say("Teacher of maths")
    await chat.say("Some School, LS1 4AP")
    await chat.say("not sure")
    assert "Earlier you asked" in chat.text()
    await chat.say("send it")
    assert "- Question: Do hubs run anything for teaching assistants?" in chat.text()
    assert "- Programme: Something else or not sure" in chat.text()
