"""The enquiry as a structured form (bot/enquiry_form.py): the conversation's rules, the same ticket."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.enquiry import EnquiryFlow
from bot.enquiry_form import EnquiryForm
from bot.messages import ConversationKey
from bot.store.sql import SqlStore
from bot.store.tickets import TicketStore
from knowledge.loader import Knowledge, load_knowledge
from tests.enquiry_fixtures import DEFAULT_EMAIL, ROUTES, SUSSEX_EMAIL, make_enquiry_knowledge_dir
from tests.helpers import Conversation

REFERENCE = re.compile(r"LLME-\d{4}-\d{6}")
KEY = ConversationKey("web", "", "user-1", "conv-form")
VALID = {
    "consent": "yes",
    "name": "  Ada   Lovelace ",
    "email": "Ada.Lovelace@Example.ORG",
    "role": "0",
    "school": "900001",
    "programme": "specialist-programme",
    "question": "Can two teachers from one department both apply?",
}


@pytest.fixture(scope="module")
def enquiry_knowledge(small_knowledge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Knowledge:
    return load_knowledge(make_enquiry_knowledge_dir(small_knowledge_dir, tmp_path_factory.mktemp("k")))


@pytest.fixture
def engine(enquiry_knowledge: Knowledge, store: SqlStore) -> Engine:
    return Engine(enquiry_knowledge, store, flows=[EnquiryFlow(ROUTES)])


@pytest.fixture
def form(engine: Engine) -> EnquiryForm:
    return EnquiryForm(engine, ROUTES)


def test_fields_come_from_the_enquiry_data(form: EnquiryForm, enquiry_knowledge: Knowledge) -> None:
    assert enquiry_knowledge.enquiry is not None
    t = enquiry_knowledge.enquiry.texts
    fields = {f.name: f for f in form.fields}
    assert list(fields) == ["consent", "name", "email", "role", "school", "programme", "question"]
    assert fields["consent"].kind == "consent" and fields["consent"].label == t.consent_question
    assert fields["name"].label == t.field_labels.name and fields["name"].max_length == t.limits.name
    assert [c.label for c in fields["role"].choices] == list(t.roles)
    assert fields["programme"].choices[-1].label == t.programme_other
    assert "specialist-programme" in [c.value for c in fields["programme"].choices]
    assert fields["question"].multiline and fields["question"].max_length == t.limits.question
    assert form.title == t.form_title


def test_valid_values_have_no_problems(form: EnquiryForm) -> None:
    assert form.validate(VALID) == {}


@pytest.mark.parametrize(
    ("changes", "field", "wording"),
    [
        ({"email": "ada@example"}, "email", "doesn't look like an email address"),
        ({"email": "not an address"}, "email", "doesn't look like an email address"),
        ({"name": "x" * 101}, "name", "a bit long for the name (the limit is 100"),
        ({"name": "ada@example.org"}, "name", "didn't catch a name"),
        ({"question": "q" * 2001}, "question", "limit is 2000"),
        ({"question": "Hi"}, "question", "say a little more"),
        ({"consent": ""}, "consent", "tick the box"),
        ({"consent": "no"}, "consent", "tick the box"),
        ({"role": "99"}, "role", "pick one of the options"),
        ({"programme": "made-up"}, "programme", "pick one of the options"),
        ({"school": ""}, "school", "fill this in"),
        ({"school": "a!"}, "school", "school's name and its town"),
    ],
)
def test_invalid_values_are_reported_under_their_field(
    form: EnquiryForm, changes: dict[str, str], field: str, wording: str
) -> None:
    problems = form.validate({**VALID, **changes})
    assert list(problems) == [field]
    assert wording in problems[field]


def test_the_form_and_the_conversation_give_the_same_message(form: EnquiryForm) -> None:
    """One rule, two ways in: the form shows the conversation's own wording."""
    problems = form.validate({**VALID, "email": "ada@example"})
    assert problems["email"].startswith("That doesn't look like an email address I can use (")


async def test_valid_submit_creates_the_ticket_in_the_conversation_transaction(
    form: EnquiryForm, store: SqlStore
) -> None:
    [reply] = await form.submit(KEY, VALID)
    found = REFERENCE.search(reply.text)
    assert found and reply.data == {"reference": found.group(0)}
    assert "reply to ada.lovelace@example.org" in reply.text.lower()
    [(ticket, jobs)] = await TicketStore(store).list_tickets()
    assert ticket.reference == found.group(0)
    assert (ticket.name, ticket.email) == ("Ada Lovelace", "Ada.Lovelace@example.org")
    assert ticket.role == "Teacher of maths"
    assert ticket.owner_ref == KEY.user_ref and ticket.platform == "web"
    assert ticket.school_urn == "900001" and ticket.hub_id == "sussex" and not ticket.manual_routing
    assert [(j.channel, j.target) for j in jobs] == [("email", SUSSEX_EMAIL)]
    async with store.conversation(KEY) as slot:  # the conversation's state was saved with it
        assert slot.state is not None


async def test_a_typed_school_goes_to_the_default_route(form: EnquiryForm, store: SqlStore) -> None:
    [reply] = await form.submit(KEY, {**VALID, "school": "Hillside Academy, Leeds", "programme": "none"})
    assert "national Maths Hubs team" in reply.text
    [(ticket, jobs)] = await TicketStore(store).list_tickets()
    assert ticket.manual_routing and ticket.school == "Hillside Academy, Leeds" and ticket.programme is None
    assert [j.target for j in jobs] == [DEFAULT_EMAIL]


async def test_without_consent_nothing_is_stored(form: EnquiryForm, store: SqlStore) -> None:
    replies = await form.submit(KEY, {**VALID, "consent": ""})
    assert [r.kind for r in replies] == ["error"]
    assert await TicketStore(store).list_tickets() == []
    async with store.conversation(KEY) as slot:
        assert slot.state is None


async def test_invalid_values_are_never_stored(form: EnquiryForm, store: SqlStore) -> None:
    replies = await form.submit(KEY, {**VALID, "email": "nope"})
    assert [r.kind for r in replies] == ["error"]
    assert await TicketStore(store).list_tickets() == []


async def test_html_is_kept_as_plain_text(form: EnquiryForm, store: SqlStore) -> None:
    question = "<script>alert('x')</script> <b>Can we join?</b> & more"
    await form.submit(KEY, {**VALID, "question": question, "name": "<i>Ada</i>"})
    [(ticket, _)] = await TicketStore(store).list_tickets()
    assert ticket.question == question and ticket.name == "<i>Ada</i>"


async def test_submitting_the_form_ends_a_half_done_enquiry_chat(engine: Engine, form: EnquiryForm) -> None:
    chat = Conversation(engine, key=KEY)
    replies = await chat.say("I'd like to talk to someone")
    assert replies[0].form == "enquiry"
    await chat.press("flow:enquiry:consent:yes")
    await form.submit(KEY, VALID)
    await chat.say("Ada Lovelace")
    assert "What's your name" not in chat.text() and "email address" not in chat.text()
