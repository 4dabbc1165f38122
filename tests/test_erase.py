"""Privacy and operators: erase a person, retention purge, stale drafts, the tickets CLI, and logs
without personal data. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import logging
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import ManualClock
from bot.engine import Engine
from bot.enquiry import EnquiryFlow
from bot.logs import JsonFormatter
from bot.messages import ConversationKey
from bot.outbox import EmailChannel, OutboxWorker
from bot.privacy import has_placeholder, mask_personal
from bot.settings import Settings
from bot.store.base import TranscriptEntry
from bot.store.sql import SqlStore
from bot.store.tickets import DeliveryTarget, NewTicket, TicketStore
from knowledge.loader import Knowledge, load_knowledge
from tests.enquiry_fixtures import ROUTES, SUSSEX_EMAIL, make_enquiry_knowledge_dir
from tests.helpers import Conversation
from tests.local_smtp import LocalSmtp

EMAIL = [DeliveryTarget("email", SUSSEX_EMAIL)]
LEASE = dt.timedelta(seconds=60)


@pytest.fixture(scope="module")
def knowledge(small_knowledge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Knowledge:
    return load_knowledge(make_enquiry_knowledge_dir(small_knowledge_dir, tmp_path_factory.mktemp("k")))


async def ticket_for(
    store: SqlStore, user: str, *, name: str = "Ada Lovelace", hub: str | None = "sussex", conv: str = "c1"
) -> str:
    async with store.conversation(ConversationKey("web", "", user, conv)) as slot:
        slot.save({"version": 1, "last_question": f"a question from {name}"})
        assert slot.tickets is not None
        return await slot.tickets.create(
            NewTicket(
                owner_ref=f"web:{user}",
                platform="web",
                hub_id=hub,
                destination="Sussex Maths Hub" if hub else "NCETM national Maths Hubs team",
                manual_routing=hub is None,
                routing_reason="confirmed" if hub else "la_unmapped",
                suggested_hub_id=None,
                local_authority="West Sussex",
                school_urn=None,
                school="Some School, Leeds",
                programme="development-work-group",
                name=name,
                email=f"{user}@example.org",
                role="Teacher of maths",
                question=f"Question from {name}",
            ),
            EMAIL,
        )


async def deliver_all(store: SqlStore) -> None:
    tickets = TicketStore(store)
    for claimed in await tickets.claim(100, LEASE):
        assert await tickets.complete(claimed.job)


async def cli(store: SqlStore, *args: str) -> tuple[int, str]:
    """Run `python -m bot ...` against this store's database (in a thread: the CLI runs its own loop)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = await asyncio.to_thread(main, ["--database-url", store.url, *args], clock=store.clock)
    return code, out.getvalue()


# -- erase -------------------------------------------------------------------------------------------


async def test_erase_deletes_undelivered_and_anonymises_delivered_tickets(store: SqlStore) -> None:
    delivered = await ticket_for(store, "a", conv="c1")
    await deliver_all(store)
    pending = await ticket_for(store, "a", conv="c2")
    theirs = await ticket_for(store, "b", name="Grace Hopper")

    code, output = await cli(store, "erase", "--user", "web:a")
    assert code == 0
    assert "erased 2 conversation(s)" in output
    assert "deleted 1 undelivered ticket(s)" in output and "anonymised 1 delivered ticket(s)" in output

    tickets = TicketStore(store)
    assert await tickets.get(pending) is None
    kept, jobs = await tickets.get(delivered) or (None, [])
    assert kept is not None and kept.anonymised_at is not None
    assert (kept.name, kept.email, kept.role, kept.question, kept.owner_ref) == (
        None,
        None,
        None,
        None,
        "erased",
    )
    assert (kept.hub_id, kept.programme, kept.status) == ("sussex", "development-work-group", "delivered")
    assert [j.status for j in jobs] == ["delivered"]
    other, _ = await tickets.get(theirs) or (None, [])
    assert other is not None and other.name == "Grace Hopper"
    for conv in ("c1", "c2"):
        async with store.conversation(ConversationKey("web", "", "a", conv)) as slot:
            assert slot.state is None
    async with store.conversation(ConversationKey("web", "", "b", "c1")) as slot:
        assert slot.state is not None
    async with store.conversation(ConversationKey("web", "", "a", "c3")) as slot:
        assert slot.tickets is not None
        assert await slot.tickets.status_for_owner(delivered, "web:a") is None  # no longer theirs


async def test_erase_needs_a_platform(store: SqlStore) -> None:
    code, _ = await cli(store, "erase", "--user", "just-an-id")
    assert code == 2


async def test_an_erased_ticket_in_flight_is_not_marked_delivered(store: SqlStore) -> None:
    reference = await ticket_for(store, "a")
    tickets = TicketStore(store)
    [claimed] = await tickets.claim(5, LEASE)
    await tickets.erase_owner("web:a")
    assert await tickets.complete(claimed.job) is False  # the worker learns it lost the ticket
    assert await tickets.get(reference) is None


# -- retention and drafts ----------------------------------------------------------------------------


async def test_purge_removes_old_delivered_tickets_only(store: SqlStore, clock: ManualClock) -> None:
    clock.advance(days=-400)
    old = await ticket_for(store, "a", conv="c1")
    await deliver_all(store)
    clock.advance(days=400)
    recent = await ticket_for(store, "b", conv="c2")
    await deliver_all(store)
    stuck = await ticket_for(store, "c", conv="c3")
    tickets = TicketStore(store)
    [claimed] = await tickets.claim(5, LEASE)
    await tickets.fail(claimed.job, "boom", None)  # dead-lettered: kept for operators

    code, output = await cli(store, "tickets", "purge", "--older-than-days", "365")
    assert code == 0 and "purged 1 delivered ticket(s)" in output
    assert await tickets.get(old) is None
    assert await tickets.get(recent) is not None and await tickets.get(stuck) is not None


async def test_worker_housekeeping_applies_the_retention_setting(
    store: SqlStore, knowledge: Knowledge, clock: ManualClock
) -> None:
    old = await ticket_for(store, "a")
    recent = await ticket_for(store, "b")
    [first, second] = await TicketStore(store).claim(5, LEASE)
    assert await TicketStore(store).complete(first.job)
    clock.advance(days=40)
    assert await TicketStore(store).complete(second.job)
    worker = OutboxWorker(TicketStore(store), {}, lambda: knowledge, retention=dt.timedelta(days=30))
    await worker.housekeeping()
    assert await TicketStore(store).get(old) is None  # delivered 40 days ago, kept for 30
    assert await TicketStore(store).get(recent) is not None  # delivered just now


async def test_unfinished_enquiries_are_cleared_when_stale(
    store: SqlStore, knowledge: Knowledge, clock: ManualClock
) -> None:
    engine = Engine(knowledge, store, flows=[EnquiryFlow(ROUTES)])
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("Ada Lovelace")
    await chat.say("ada@example.org")
    tickets = TicketStore(store)
    clock.advance(minutes=59)
    assert await tickets.discard_enquiry_drafts(dt.timedelta(hours=1)) == 0
    clock.advance(minutes=2)
    assert await tickets.discard_enquiry_drafts(dt.timedelta(hours=1)) == 1
    async with store.conversation(chat.key) as slot:
        assert slot.state is not None and slot.state["flow"] is None
        assert "ada@example.org" not in json.dumps(slot.state)
    await chat.say("Teacher of maths")  # the conversation carries on normally
    assert chat.last


# -- operators' CLI ----------------------------------------------------------------------------------


async def test_tickets_list_show_retry_export(store: SqlStore) -> None:
    first = await ticket_for(store, "a", name='=HYPERLINK("http://evil")')
    second = await ticket_for(store, "b", name="Grace Hopper", hub=None)
    tickets = TicketStore(store)
    for claimed in await tickets.claim(5, LEASE):
        if claimed.ticket.reference == second:
            await tickets.fail(claimed.job, "SMTP 550: mailbox unavailable", None)
        else:
            await tickets.complete(claimed.job)

    code, listing = await cli(store, "tickets", "list")
    assert code == 0 and first in listing and second in listing
    assert "Grace" not in listing and "@example.org" not in listing.replace(
        SUSSEX_EMAIL, ""
    )  # no personal data
    code, as_json = await cli(store, "tickets", "list", "--status", "failed", "--json")
    [failed] = json.loads(as_json)
    assert failed["reference"] == second and failed["hub_id"] == "default" and failed["manual_routing"]

    code, shown = await cli(store, "tickets", "show", second.lower().replace("-", " "))
    assert code == 0 and "Grace Hopper" in shown and "SMTP 550: mailbox unavailable" in shown
    code, _ = await cli(store, "tickets", "show", "LLME-2026-999999")
    assert code == 1

    code, retried = await cli(store, "tickets", "retry", second)
    assert code == 0 and "1 delivery job(s) queued" in retried
    ticket, [job] = await tickets.get(second) or (None, [])
    assert ticket is not None and ticket.status == "pending" and (job.status, job.attempts) == ("pending", 0)

    code, exported = await cli(store, "tickets", "export", "--hub", "sussex")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["reference"] for r in rows] == [first]
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil")'  # no formula runs in a spreadsheet
    assert rows[0]["email"] == "a@example.org" and rows[0]["status"] == "delivered"
    code, exported = await cli(store, "tickets", "export", "--hub", "default")
    assert [r["reference"] for r in csv.DictReader(io.StringIO(exported))] == [second]


async def test_worker_once_from_the_cli_delivers(
    store: SqlStore, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = await ticket_for(store, "a")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with LocalSmtp() as smtp:
            monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
            monkeypatch.setenv("SMTP_PORT", str(smtp.port))
            monkeypatch.setenv("LOG_LEVEL", "WARNING")
            code, _ = await cli(store, "--knowledge-dir", str(knowledge.directory), "worker", "--once")
    finally:
        root.handlers[:], root.level = handlers, level
    assert code == 0
    assert [m.reference for m in smtp.messages] == [reference]
    ticket, _ = await TicketStore(store).get(reference) or (None, [])
    assert ticket is not None and ticket.status == "delivered"


# -- logs ------------------------------------------------------------------------------------------


async def test_logs_carry_ids_but_no_personal_data(
    store: SqlStore, knowledge: Knowledge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    engine = Engine(knowledge, store, flows=[EnquiryFlow(ROUTES)])
    chat = Conversation(engine)
    await chat.say("talk to someone")
    await chat.press("flow:enquiry:consent:yes")
    await chat.say("Zaphod Beeblebrox")
    await chat.say("zaphod@example.org")
    await chat.press("flow:enquiry:role:0")
    await chat.say("Heart of Gold School, Leeds")
    await chat.press("flow:enquiry:programme:none")
    await chat.say("Is improbability on the syllabus?")
    await chat.press("flow:enquiry:confirm")
    with LocalSmtp() as smtp:
        email = EmailChannel(Settings(smtp_host="127.0.0.1", smtp_port=smtp.port))
        worker = OutboxWorker(TicketStore(store), {"email": email}, lambda: knowledge)
        assert await worker.run_once() == 1
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(r) for r in caplog.records if r.levelno >= logging.INFO)
    assert "ticket_created" in logged and "delivery_ok" in logged and '"ticket_id"' in logged
    for personal in ("Zaphod", "zaphod@example.org", "Heart of Gold", "improbability"):
        assert personal not in logged


# -- the learning tables: what people typed, linked to them only by a pseudonymous key ----------------


async def test_erase_removes_the_persons_unanswered_questions_feedback_and_picks(
    store: SqlStore, knowledge: Knowledge
) -> None:
    engine = Engine(knowledge, store, flows=[EnquiryFlow(ROUTES)])
    for user in ("a", "b"):
        chat = Conversation(engine, key=ConversationKey("web", "", user, f"conv-{user}"))
        await chat.say(f"do you sell pencils to school {user}?")  # unanswered
        await chat.say("is the work group free?")
        if chat.answered():
            await chat.press(f"feedback:down:{chat.answered()}")
    before = await store.signals()
    assert {s.kind for s in before} >= {"unanswered"}

    code, _ = await cli(store, "erase", "--user", "web:a")
    assert code == 0
    after = await store.signals()
    assert not [s for s in after if "school a" in s.question]  # everything "a" typed is gone
    assert [s for s in after if "school b" in s.question]  # and nobody else's


async def test_the_learning_tables_are_purged_after_their_retention(
    store: SqlStore, knowledge: Knowledge, clock: ManualClock
) -> None:
    engine = Engine(knowledge, store, flows=[EnquiryFlow(ROUTES)])
    await Conversation(engine).say("do you sell pencils?")
    clock.advance(days=40)
    await Conversation(engine).say("do you sell rulers?")
    worker = OutboxWorker(TicketStore(store), {}, lambda: knowledge, learning_retention=dt.timedelta(days=30))
    await worker.housekeeping()
    assert [s.question for s in await store.signals()] == ["do you sell rulers?"]


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("My pupil Jamie Smith (DOB 03/05/2012) finds ratio hard, can the DWG help?", ["Jamie", "2012"]),
        ("Is the work group free? Smith, Jane", ["Smith", "Jane"]),
        ("please email jane dot smith at leeds dot sch dot uk", ["jane", "smith"]),
        ("my NI number is AB 12 34 56 C", ["AB 12"]),
        ("his UPN is A12345678901B", ["A12345678901B"]),
        ("can my son Alex join the specialist programme?", ["Alex"]),
        ("our student, Priya, was born 3 May 2011", ["Priya", "2011"]),
    ],
)
def test_redaction_hides_names_and_identifiers_before_anything_is_stored(
    text: str, hidden: list[str]
) -> None:
    masked = mask_personal(text)
    for part in hidden:
        assert part not in masked, masked
    assert has_placeholder(masked)


@pytest.mark.parametrize(
    "text",
    [
        "Is the development work group free?",
        "the 2025 deadline was 28/04/2025, is there another one?",
        "what happens at the hub at 4pm on 12 May 2026?",
        "I'm Head of Maths at a school in Leeds, England",
    ],
)
def test_redaction_leaves_ordinary_questions_alone(text: str) -> None:
    assert mask_personal(text) == text


async def test_web_transcripts_are_purged_after_their_retention(
    store: SqlStore, knowledge: Knowledge, clock: ManualClock
) -> None:
    old, recent = ConversationKey("web", "", "a", "c-old"), ConversationKey("web", "", "a", "c-new")
    await store.add_transcript(old, [TranscriptEntry("user", {"text": "my name is Ada"})])
    clock.advance(days=31)
    await store.add_transcript(recent, [TranscriptEntry("user", {"text": "is it free?"})])
    worker = OutboxWorker(
        TicketStore(store), {}, lambda: knowledge, transcript_retention=dt.timedelta(days=30)
    )
    await worker.housekeeping()
    assert await store.transcript(old) == []
    assert [e.body for e in await store.transcript(recent)] == [{"text": "is it free?"}]
