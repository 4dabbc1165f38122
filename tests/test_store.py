"""One store test suite, run against every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from bot.clock import ManualClock
from bot.messages import ConversationKey
from bot.store.base import FeedbackRecord, TranscriptEntry, UnansweredRecord
from bot.store.sql import SqlStore, normalise_url
from bot.store.tickets import DeliveryTarget, NewTicket, TicketStore, find_reference
from tests.conftest import T0

KEY = ConversationKey("slack", "T1", "U1", "D1")


async def test_new_conversation_has_no_state(store: SqlStore) -> None:
    async with store.conversation(KEY) as slot:
        assert slot.state is None


async def test_state_round_trip(store: SqlStore) -> None:
    async with store.conversation(KEY) as slot:
        slot.save({"version": 1, "last_faq": "dwg-cost", "nested": {"a": [1, 2]}})
    async with store.conversation(KEY) as slot:
        assert slot.state == {"version": 1, "last_faq": "dwg-cost", "nested": {"a": [1, 2]}}


async def test_conversations_are_keyed_by_every_part(store: SqlStore) -> None:
    others = [
        ConversationKey("teams", "T1", "U1", "D1"),
        ConversationKey("slack", "T2", "U1", "D1"),
        ConversationKey("slack", "T1", "U2", "D1"),
        ConversationKey("slack", "T1", "U1", "D2"),
    ]
    async with store.conversation(KEY) as slot:
        slot.save({"version": 1, "who": "original"})
    for other in others:
        async with store.conversation(other) as slot:
            assert slot.state is None


async def test_not_saving_keeps_previous_state(store: SqlStore) -> None:
    async with store.conversation(KEY) as slot:
        slot.save({"version": 1, "n": 1})
    async with store.conversation(KEY) as slot:
        pass
    async with store.conversation(KEY) as slot:
        assert slot.state == {"version": 1, "n": 1}


async def test_error_inside_rolls_back_state_and_records(store: SqlStore) -> None:
    try:
        async with store.conversation(KEY) as slot:
            slot.save({"version": 1, "n": 2})
            slot.record(UnansweredRecord("lost?", "lost"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with store.conversation(KEY) as slot:
        assert slot.state is None
    assert await store.unanswered() == []


async def test_updates_to_one_conversation_are_serialised(store: SqlStore) -> None:
    async with store.conversation(KEY) as slot:
        slot.save({"version": 1, "n": 0})

    async def increment() -> None:
        async with store.conversation(KEY) as slot:
            assert slot.state is not None
            current = slot.state["n"]
            await asyncio.sleep(0)  # give the others every chance to interleave
            slot.save({"version": 1, "n": current + 1})

    await asyncio.gather(*(increment() for _ in range(25)))
    async with store.conversation(KEY) as slot:
        assert slot.state == {"version": 1, "n": 25}


async def test_updates_from_two_store_instances_are_serialised(store: SqlStore) -> None:
    """Two processes on one database (here: two engines, so no shared in-process lock): the database
    itself queues their updates to one conversation, and none is lost."""
    other = SqlStore(store.url)
    async with store.conversation(KEY) as slot:
        slot.save({"version": 1, "n": 0})

    async def increment(s: SqlStore) -> None:
        async with s.conversation(KEY) as slot:
            assert slot.state is not None
            current = slot.state["n"]
            await asyncio.sleep(0.001)  # hold the conversation while the other engine tries
            slot.save({"version": 1, "n": current + 1})

    try:
        await asyncio.gather(*(increment(s) for _ in range(10) for s in (store, other)))
    finally:
        await other.close()
    async with store.conversation(KEY) as slot:
        assert slot.state == {"version": 1, "n": 20}


async def test_unanswered_grouped_and_counted(store: SqlStore) -> None:
    for question, normalised in [
        ("Do you do primary?", "do you do primary"),
        ("do you do primary", "do you do primary"),
        ("what about A level", "what about a level"),
    ]:
        async with store.conversation(KEY) as slot:
            slot.record(UnansweredRecord(question, normalised))
    rows = await store.unanswered()
    assert [(r.count, r.question.lower()) for r in rows] == [
        (2, "do you do primary?"),
        (1, "what about a level"),
    ] or [(r.count, r.question.lower()) for r in rows] == [
        (2, "do you do primary"),
        (1, "what about a level"),
    ]


async def test_feedback_summary(store: SqlStore) -> None:
    async with store.conversation(KEY) as slot:
        slot.record(FeedbackRecord("dwg-cost", True, "is it free"))
        slot.record(FeedbackRecord("dwg-cost", False, None))
        slot.record(FeedbackRecord("dwg-cost", True, None))
        slot.record(FeedbackRecord("specialist-ect", False, None))
    summary = {(s.faq_id, s.helpful, s.not_helpful) for s in await store.feedback()}
    assert summary == {("dwg-cost", 2, 1), ("specialist-ect", 0, 1)}


async def test_erase_user_removes_only_their_conversations(store: SqlStore) -> None:
    mine = [ConversationKey("slack", "T1", "U1", "D1"), ConversationKey("slack", "T1", "U1", "C9")]
    theirs = ConversationKey("slack", "T1", "U2", "D1")
    for key in [*mine, theirs]:
        async with store.conversation(key) as slot:
            slot.save({"version": 1})
    assert await store.erase_user("slack:T1:U1") == 2
    for key in mine:
        async with store.conversation(key) as slot:
            assert slot.state is None
    async with store.conversation(theirs) as slot:
        assert slot.state == {"version": 1}


async def test_transcripts_keep_order_per_conversation_cap_and_erase(
    store: SqlStore, clock: ManualClock
) -> None:
    mine = ConversationKey("web", "", "u1", "c1")
    other_conversation = ConversationKey("web", "", "u1", "c2")
    other_user = ConversationKey("web", "", "u2", "c1")  # same conversation id, someone else
    assert await store.transcript(mine) == []
    await store.add_transcript(mine, [])  # nothing to write is fine
    for n in range(3):
        await store.add_transcript(
            mine,
            [TranscriptEntry("user", {"text": f"q{n}"}), TranscriptEntry("bot", {"text": f"a{n}", "n": n})],
        )
        clock.advance(60)
    await store.add_transcript(other_conversation, [TranscriptEntry("user", {"text": "elsewhere"})])
    await store.add_transcript(other_user, [TranscriptEntry("user", {"text": "not yours"})])

    entries = await store.transcript(mine)
    assert [(e.role, e.body["text"]) for e in entries] == [
        (role, f"{letter}{n}") for n in range(3) for role, letter in (("user", "q"), ("bot", "a"))
    ]
    assert entries[1].body == {"text": "a0", "n": 0}
    assert entries[0].created_at is not None and entries[0].created_at == T0
    assert entries[-1].created_at == T0 + dt.timedelta(minutes=2)
    assert [e.body["text"] for e in await store.transcript(mine, limit=3)] == ["a1", "q2", "a2"]
    assert [e.body["text"] for e in await store.transcript(other_user)] == ["not yours"]

    assert await store.erase_user("web:u1") >= 7
    assert await store.transcript(mine) == []
    assert await store.transcript(other_conversation) == []
    assert [e.body["text"] for e in await store.transcript(other_user)] == ["not yours"]


async def test_ping(store: SqlStore) -> None:
    assert await store.ping() is True


async def test_migrations_are_idempotent(store: SqlStore) -> None:
    await store.open()
    await store.open()
    assert await store.ping()


def test_database_urls_are_normalised() -> None:
    assert normalise_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalise_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"


async def test_unreachable_database_pings_false() -> None:
    store = SqlStore("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_timeout=1)
    try:
        assert await store.ping() is False
    finally:
        await store.close()


async def test_claim_event_is_true_once_per_event(store: SqlStore) -> None:
    assert await store.claim_event("slack", "Ev01") is True
    assert await store.claim_event("slack", "Ev01") is False
    assert await store.claim_event("slack", "Ev02") is True
    assert await store.claim_event("teams", "Ev01") is True  # the source is part of the key


async def test_concurrent_claims_of_one_event_have_one_winner(store: SqlStore) -> None:
    results = await asyncio.gather(*(store.claim_event("slack", "EvRace") for _ in range(20)))
    assert results.count(True) == 1


async def test_claims_are_shared_between_store_instances(store: SqlStore) -> None:
    """Two processes behind one URL see each other's claims (here: two engines on one database)."""
    other = SqlStore(store.url)
    try:
        assert await store.claim_event("slack", "EvShared") is True
        assert await other.claim_event("slack", "EvShared") is False
    finally:
        await other.close()


# -- enquiry tickets (bot/store/tickets.py) ---------------------------------------------------------


def _ticket(owner: str = "slack:T1:U1") -> NewTicket:
    return NewTicket(
        owner_ref=owner,
        platform="slack",
        hub_id=None,
        destination="NCETM national Maths Hubs team",
        manual_routing=True,
        routing_reason="school_unknown",
        suggested_hub_id=None,
        local_authority=None,
        school_urn=None,
        school="Some School, Leeds",
        programme=None,
        name="Ada",
        email="ada@example.org",
        role=None,
        question="Is it free?",
    )


async def test_a_ticket_commits_and_rolls_back_with_its_conversation(store: SqlStore) -> None:
    try:
        async with store.conversation(KEY) as slot:
            assert slot.tickets is not None
            await slot.tickets.create(_ticket(), [DeliveryTarget("email", "hub@example.org")])
            slot.save({"version": 1, "n": 1})
            raise RuntimeError("the reply never reached the teacher")
    except RuntimeError:
        pass
    assert await TicketStore(store).list_tickets() == []
    async with store.conversation(KEY) as slot:
        assert slot.state is None and slot.tickets is not None
        reference = await slot.tickets.create(_ticket(), [DeliveryTarget("email", "hub@example.org")])
        slot.save({"version": 1, "n": 1})
    [(ticket, [job])] = await TicketStore(store).list_tickets()
    assert ticket.reference == reference and (job.channel, job.status) == ("email", "pending")
    async with store.conversation(KEY) as slot:
        assert slot.tickets is not None
        assert (await slot.tickets.status_for_owner(reference, "slack:T1:U1")) is not None
        assert await slot.tickets.status_for_owner(reference, "slack:T1:U2") is None


async def test_ticket_references_are_unique_across_store_instances(store: SqlStore) -> None:
    others = [SqlStore(store.url) for _ in range(3)]

    async def create(s: SqlStore, n: int) -> str:
        async with s.conversation(ConversationKey("web", "", f"u{n}", "c")) as slot:
            assert slot.tickets is not None
            return await slot.tickets.create(_ticket(f"web:u{n}"), [])

    try:
        references = await asyncio.gather(*(create(s, n) for n, s in enumerate([store, *others] * 5)))
    finally:
        for other in others:
            await other.close()
    assert len(set(references)) == 20
    assert all(re.fullmatch(r"LLME-\d{4}-\d{6}", r) for r in references)


def test_references_are_found_in_loose_spelling() -> None:
    assert find_reference("status of llme 2026 123 please") == "LLME-2026-000123"
    assert find_reference("LLME-2026-1234567") == "LLME-2026-1234567"
    assert find_reference("no reference here") is None


# -- learning from use (bot/suggestions.py) ------------------------------------------------------


async def test_picks_commit_and_roll_back_with_their_conversation(store: SqlStore) -> None:
    from bot.store.base import PickRecord

    try:
        async with store.conversation(KEY) as slot:
            slot.record(PickRecord("dwg-cost", "lost pick?", "lost pick"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert await store.signals() == []
    for question in ("is it free?", "is it free?", "Is it free"):
        async with store.conversation(KEY) as slot:
            slot.record(PickRecord("dwg-cost", question, "is it free"))
    async with store.conversation(KEY) as slot:
        slot.record(PickRecord("specialist-cost", "is it free?", "is it free"))
        slot.record(FeedbackRecord("dwg-time", False, "how long is it"))
        slot.record(FeedbackRecord("dwg-time", False, None))  # no question: nothing to suggest
        slot.record(FeedbackRecord("dwg-time", True, "how long is it"))  # a thumbs up suggests nothing
        slot.record(UnansweredRecord("do you sell pencils", "do you sell pencils"))
    counted = sorted((s.kind, s.faq_id or "", s.question, s.count) for s in await store.signals())
    assert counted == [
        ("pick", "dwg-cost", "Is it free", 1),
        ("pick", "dwg-cost", "is it free?", 2),
        ("pick", "specialist-cost", "is it free?", 1),
        ("thumbs_down", "dwg-time", "how long is it", 1),
        ("unanswered", "", "do you sell pencils", 1),
    ]
    assert all(s.first_seen <= s.last_seen for s in await store.signals())


async def test_suggestion_reviews_are_saved_and_replaced(store: SqlStore) -> None:
    import datetime as dt

    from bot.store.base import SuggestionReview

    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    await store.save_review(SuggestionReview("u-1234abcd", "unanswered", "rejected", None, None, at))
    await store.save_review(SuggestionReview("p-1234abcd", "pick", "accepted", "dwg-cost", "is it free?", at))
    later = at + dt.timedelta(hours=1)
    await store.save_review(
        SuggestionReview("u-1234abcd", "unanswered", "accepted", "dwg-time", "how long", later)
    )
    reviews = await store.reviews()
    assert set(reviews) == {"u-1234abcd", "p-1234abcd"}
    assert (reviews["u-1234abcd"].status, reviews["u-1234abcd"].faq_id) == ("accepted", "dwg-time")
    assert reviews["p-1234abcd"].wording == "is it free?"
