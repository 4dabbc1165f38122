"""Durable delivery: a real SMTP server on 127.0.0.1, local webhook and Slack receivers, two workers at
once, crashed workers, retries and dead letters. Time is injected, so backoff and leases cost nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack.delivery import SlackChannel
from bot.app import SERVICES, create_app
from bot.clock import ManualClock
from bot.messages import ConversationKey
from bot.outbox import (
    DeliveryError,
    DeliveryRoutes,
    EmailChannel,
    EnquiryMessage,
    OutboxWorker,
    RetryPolicy,
    WebhookChannel,
    sign,
)
from bot.settings import HubRoute, Settings
from bot.store.sql import SqlStore
from bot.store.tickets import DeliveryTarget, NewTicket, TicketStore, find_reference
from knowledge.loader import Knowledge, load_knowledge
from tests.child_server import Server
from tests.conftest import T0
from tests.enquiry_fixtures import SUSSEX_EMAIL, make_enquiry_knowledge_dir
from tests.local_smtp import LocalSmtp, free_port

SECRET = "test-webhook-secret"


@pytest.fixture(scope="module")
def enquiry_dir(small_knowledge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_enquiry_knowledge_dir(small_knowledge_dir, tmp_path_factory.mktemp("k"))


@pytest.fixture(scope="module")
def knowledge(enquiry_dir: Path) -> Knowledge:
    return load_knowledge(enquiry_dir)


def smtp_settings(port: int, **extra: Any) -> Settings:
    return Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_seconds=5, **extra)


def worker(
    store: SqlStore,
    knowledge: Knowledge,
    channels: dict[str, Any],
    **options: Any,
) -> OutboxWorker:
    """A worker on `store`: it reads the time from the store's clock, as ticket creation does."""
    options.setdefault("policy", RetryPolicy(max_attempts=4, base_seconds=10, max_seconds=60))
    options.setdefault("lease", dt.timedelta(seconds=60))
    return OutboxWorker(TicketStore(store), channels, lambda: knowledge, **options)


async def new_ticket(
    store: SqlStore,
    targets: list[DeliveryTarget],
    *,
    user: str = "u1",
    question: str = "Can two of us apply?",
    name: str = "Ada Lovelace",
) -> str:
    """A ticket written the way the enquiry flow writes it: inside a conversation's transaction."""
    async with store.conversation(ConversationKey("web", "", user, f"c-{user}")) as slot:
        assert slot.tickets is not None
        return await slot.tickets.create(
            NewTicket(
                owner_ref=f"web:{user}",
                platform="web",
                hub_id="sussex",
                destination="Sussex Maths Hub",
                manual_routing=False,
                routing_reason="confirmed",
                suggested_hub_id=None,
                local_authority="West Sussex",
                school_urn="900001",
                school="Downland Test Academy (West Sussex, RH15 9ZZ)",
                programme="specialist-programme",
                name=name,
                email="ada@example.org",
                role="Head of maths department",
                question=question,
            ),
            targets,
        )


EMAIL_TO_SUSSEX = [DeliveryTarget("email", SUSSEX_EMAIL)]


# -- email -----------------------------------------------------------------------------------------


async def test_email_reaches_the_hub_address_with_reference_and_content(
    store: SqlStore, knowledge: Knowledge
) -> None:
    reference = await new_ticket(store, EMAIL_TO_SUSSEX, question="<b>Two</b> of us & a TA?")
    with LocalSmtp() as smtp:
        email = EmailChannel(smtp_settings(smtp.port))
        assert await worker(store, knowledge, {"email": email}).run_once() == 1
    [mail] = smtp.messages
    assert mail.rcpt_tos == [SUSSEX_EMAIL]
    assert mail.reference == reference
    assert reference in str(mail.message["Subject"])
    assert "Secondary Mastery Specialist Programme" in str(mail.message["Subject"])
    assert str(mail.message["Reply-To"]) == "ada@example.org"
    ticket, jobs = await TicketStore(store).get(reference) or (None, [])
    assert ticket is not None
    assert str(mail.message["Message-ID"]) == f"<{ticket.idempotency_key}@localhost>"
    plain, html = mail.part("plain"), mail.part("html")
    for text in ("Ada Lovelace", "Downland Test Academy", "Sussex Maths Hub", "<b>Two</b> of us & a TA?"):
        assert text in plain
    assert "&lt;b&gt;Two&lt;/b&gt; of us &amp; a TA?" in html and "<b>Two</b>" not in html
    assert ticket.status == "delivered" and ticket.delivered_at is not None
    assert [(j.status, j.attempts) for j in jobs] == [("delivered", 1)]


async def test_smtp_down_then_back_up_delivers_after_a_retry(
    store: SqlStore, knowledge: Knowledge, clock: ManualClock
) -> None:
    reference = await new_ticket(store, EMAIL_TO_SUSSEX)
    port = free_port()
    w = worker(store, knowledge, {"email": EmailChannel(smtp_settings(port))})
    assert await w.run_once() == 1  # nobody listening
    ticket, [job] = await TicketStore(store).get(reference) or (None, [])
    assert ticket is not None and ticket.status == "pending"
    assert (job.status, job.attempts) == ("pending", 1) and "SMTP unavailable" in (job.last_error or "")
    assert 5 <= (job.next_attempt_at - T0).total_seconds() <= 10  # backoff with jitter: 10s step
    assert await w.run_once() == 0  # not due yet
    with LocalSmtp(port) as smtp:
        clock.advance(11)
        assert await w.run_once() == 1
        assert await w.run_once() == 0
    assert [m.reference for m in smtp.messages] == [reference]
    ticket, [job] = await TicketStore(store).get(reference) or (None, [])
    assert ticket is not None and ticket.status == "delivered" and job.attempts == 2


async def test_unreachable_smtp_is_dead_lettered_after_max_attempts(
    store: SqlStore, knowledge: Knowledge, clock: ManualClock
) -> None:
    reference = await new_ticket(store, EMAIL_TO_SUSSEX)
    w = worker(store, knowledge, {"email": EmailChannel(smtp_settings(free_port()))})
    for _ in range(4):
        assert await w.run_once() == 1
        clock.advance(3600)
    assert await w.run_once() == 0  # given up
    ticket, [job] = await TicketStore(store).get(reference) or (None, [])
    assert ticket is not None and ticket.status == "failed"
    assert (job.status, job.attempts) == ("dead", 4)
    listed = await TicketStore(store).list_tickets(status="failed")
    assert [t.reference for t, _ in listed] == [reference]  # visible to operators


async def test_refused_recipient_is_dead_at_once_and_retry_delivers(
    store: SqlStore, knowledge: Knowledge
) -> None:
    reference = await new_ticket(store, EMAIL_TO_SUSSEX)
    with LocalSmtp(reject_rcpt="550 5.1.1 No such mailbox") as smtp:
        w = worker(store, knowledge, {"email": EmailChannel(smtp_settings(smtp.port))})
        assert await w.run_once() == 1
        ticket, [job] = await TicketStore(store).get(reference) or (None, [])
        assert ticket is not None and ticket.status == "failed"
        assert job.status == "dead" and job.attempts == 1 and "550" in (job.last_error or "")
        smtp.handler.reject_rcpt = None  # the hub fixed its mailbox
        assert await TicketStore(store).retry(reference) == 1
        assert await w.run_once() == 1
    assert [m.reference for m in smtp.messages] == [reference]
    ticket, _ = await TicketStore(store).get(reference) or (None, [])
    assert ticket is not None and ticket.status == "delivered"


async def test_a_ticket_without_any_channel_is_kept_and_can_be_routed_later(
    store: SqlStore, knowledge: Knowledge
) -> None:
    reference = await new_ticket(store, [])  # nothing configured at all
    with LocalSmtp() as smtp:
        w = worker(store, knowledge, {"email": EmailChannel(smtp_settings(smtp.port))})
        assert await w.run_once() == 1
        ticket, [job] = await TicketStore(store).get(reference) or (None, [])
        assert ticket is not None and ticket.status == "failed"
        assert job.channel == "none" and "no 'none' delivery channel" in (job.last_error or "")
        assert await TicketStore(store).retry(reference, EMAIL_TO_SUSSEX) == 1
        assert await w.run_once() == 1
    assert [m.rcpt_tos for m in smtp.messages] == [[SUSSEX_EMAIL]]


# -- several workers -------------------------------------------------------------------------------


async def test_two_workers_deliver_each_ticket_exactly_once(store: SqlStore, knowledge: Knowledge) -> None:
    references = [await new_ticket(store, EMAIL_TO_SUSSEX, user=f"u{i}") for i in range(24)]
    other = SqlStore(store.url, clock=store.clock)  # a second process: its own engine and connections
    try:
        with LocalSmtp() as smtp:
            settings = smtp_settings(smtp.port)

            async def drain(w: OutboxWorker) -> int:
                handled = 0
                while (n := await w.run_once()) > 0:
                    handled += n
                return handled

            first = worker(store, knowledge, {"email": EmailChannel(settings)}, batch_size=3)
            second = worker(other, knowledge, {"email": EmailChannel(settings)}, batch_size=3)
            counts = await asyncio.gather(drain(first), drain(second))
        assert sum(counts) == 24 and all(counts), counts  # both took part
        delivered = Counter(m.reference for m in smtp.messages)
        assert delivered == Counter(references)  # each exactly once
        for _, jobs in await TicketStore(store).list_tickets(limit=100):
            assert [(j.status, j.attempts) for j in jobs] == [("delivered", 1)]
    finally:
        await other.close()


async def test_concurrent_claims_never_share_a_job(store: SqlStore, knowledge: Knowledge) -> None:
    for i in range(10):
        await new_ticket(store, EMAIL_TO_SUSSEX, user=f"u{i}")
    stores = [SqlStore(store.url, clock=store.clock) for _ in range(4)]
    try:
        claims = await asyncio.gather(
            *(TicketStore(s).claim(3, dt.timedelta(seconds=60)) for s in stores for _ in range(2))
        )
    finally:
        for s in stores:
            await s.close()
    ids = [c.job.id for claim in claims for c in claim]
    assert len(ids) == len(set(ids)) == 10


async def test_a_crashed_workers_job_is_claimed_again_after_the_lease(
    store: SqlStore, knowledge: Knowledge, clock: ManualClock
) -> None:
    reference = await new_ticket(store, EMAIL_TO_SUSSEX)
    tickets = TicketStore(store)
    [crashed] = await tickets.claim(5, dt.timedelta(seconds=60))  # claimed, then the worker dies
    clock.advance(30)
    with LocalSmtp() as smtp:
        w = worker(store, knowledge, {"email": EmailChannel(smtp_settings(smtp.port))})
        assert await w.run_once() == 0  # still leased
        clock.advance(31)
        assert await w.run_once() == 1  # lease expired: taken over
    assert [m.reference for m in smtp.messages] == [reference]
    assert await tickets.complete(crashed.job) is False  # the old claim no longer counts
    ticket, [job] = await tickets.get(reference) or (None, [])
    assert ticket is not None and ticket.status == "delivered" and job.attempts == 2


async def test_a_job_that_keeps_crashing_workers_is_dead_lettered(
    store: SqlStore, knowledge: Knowledge, clock: ManualClock
) -> None:
    reference = await new_ticket(store, EMAIL_TO_SUSSEX)
    tickets = TicketStore(store)
    for _ in range(4):
        assert len(await tickets.claim(5, dt.timedelta(seconds=60))) == 1
        clock.advance(61)
    w = worker(store, knowledge, {"email": EmailChannel(smtp_settings(free_port()))})
    assert await w.run_once() == 1
    ticket, [job] = await tickets.get(reference) or (None, [])
    assert ticket is not None and ticket.status == "failed" and job.status == "dead"


# -- webhook and Slack ---------------------------------------------------------------------------


@dataclass
class Receiver:
    """A local HTTP receiver for webhook posts and Slack API calls; answers as its fields say."""

    client: TestClient
    status: int = 200
    slack: dict[str, Any] = field(default_factory=lambda: {"ok": True, "ts": "1.2"})
    seen: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    state: list[Receiver] = []

    async def hook(request: web.Request) -> web.Response:
        state[0].seen.append({"headers": dict(request.headers), "body": await request.read()})
        return web.Response(status=state[0].status)

    async def slack(request: web.Request) -> web.Response:
        state[0].seen.append({"headers": dict(request.headers), "body": await request.read()})
        return web.json_response(state[0].slack)

    app.router.add_post("/hook", hook)
    app.router.add_post("/api/chat.postMessage", slack)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        state.append(Receiver(client))
        yield state[0]


async def test_webhook_body_is_signed_and_verifiable(
    store: SqlStore, knowledge: Knowledge, receiver: Receiver
) -> None:
    url, seen = receiver.url("/hook"), receiver.seen
    reference = await new_ticket(store, [DeliveryTarget("webhook", url)], question="Is it <free>?")
    hook = WebhookChannel(lambda _: SECRET, timeout_seconds=5)
    assert await worker(store, knowledge, {"webhook": hook}).run_once() == 1
    await hook.close()
    [post] = seen
    body, headers = post["body"], post["headers"]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Signature-256"], expected)
    payload = json.loads(body)
    ticket, _ = await TicketStore(store).get(reference) or (None, [])
    assert ticket is not None and ticket.status == "delivered"
    assert headers["Idempotency-Key"] == payload["idempotency_key"] == ticket.idempotency_key
    assert payload["reference"] == reference and payload["hub"] == {
        "id": "sussex",
        "name": "Sussex Maths Hub",
    }
    assert payload["question"] == "Is it <free>?" and payload["enquirer"]["email"] == "ada@example.org"
    assert sign("wrong", body) != headers["X-Signature-256"]


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (429, False), (404, True), (400, True)])
async def test_webhook_errors_are_retried_or_dead_lettered(
    store: SqlStore,
    knowledge: Knowledge,
    receiver: Receiver,
    status: int,
    permanent: bool,
) -> None:
    receiver.status = status
    reference = await new_ticket(store, [DeliveryTarget("webhook", receiver.url("/hook"))])
    hook = WebhookChannel(lambda _: SECRET, timeout_seconds=5)
    await worker(store, knowledge, {"webhook": hook}).run_once()
    await hook.close()
    _, [job] = await TicketStore(store).get(reference) or (None, [])
    assert job.status == ("dead" if permanent else "pending")
    assert f"HTTP {status}" in (job.last_error or "")


async def test_slack_post_with_escaped_text(
    store: SqlStore, knowledge: Knowledge, receiver: Receiver
) -> None:
    seen = receiver.seen
    reference = await new_ticket(store, [DeliveryTarget("slack", "C0HUB")], question="<!channel> help?")
    slack = SlackChannel("xoxb-test", receiver.url("/api/"))
    assert await worker(store, knowledge, {"slack": slack}).run_once() == 1
    [call] = seen
    assert call["headers"]["Authorization"] == "Bearer xoxb-test"
    sent = json.loads(call["body"])
    assert sent["channel"] == "C0HUB" and reference in sent["text"]
    assert "&lt;!channel&gt; help?" in sent["text"] and "<!channel>" not in sent["text"]
    assert sent["metadata"]["event_payload"]["reference"] == reference
    receiver.slack = {"ok": False, "error": "channel_not_found"}
    other = await new_ticket(store, [DeliveryTarget("slack", "CGONE")], user="u2")
    await worker(store, knowledge, {"slack": slack}).run_once()
    _, [job] = await TicketStore(store).get(other) or (None, [])
    assert job.status == "dead" and "channel_not_found" in (job.last_error or "")


# -- policy and routes -----------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=30, max_seconds=600)
    rng = random.Random(7)
    for attempts, step in [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 600), (9, 600)]:
        delays = [policy.delay(attempts, rng) for _ in range(50)]
        assert all(step / 2 <= d <= step for d in delays)
        assert len({round(d, 3) for d in delays}) > 10  # jittered


def test_routes_per_hub_with_a_default() -> None:
    routes = DeliveryRoutes(
        {
            "sussex": HubRoute(
                email="s@example.org", webhook_url="https://hub.example.org/in", slack_channel="C1"
            )
        },
        HubRoute(email="n@example.org"),
        slack_enabled=False,
    )
    assert routes.targets_for("sussex") == [
        DeliveryTarget("email", "s@example.org"),
        DeliveryTarget("webhook", "https://hub.example.org/in"),  # Slack left out: not configured
    ]
    assert routes.targets_for("abacus-nw") == [DeliveryTarget("email", "n@example.org")]
    assert routes.targets_for(None) == [DeliveryTarget("email", "n@example.org")]


def test_unknown_hub_in_hub_routes_is_refused() -> None:
    settings = Settings(hub_routes={"nowhere-hub": HubRoute(email="x@example.org")})
    with pytest.raises(ValueError, match="nowhere-hub"):
        DeliveryRoutes.from_settings(settings, ["sussex"])


def test_email_is_built_with_safe_headers(knowledge: Knowledge) -> None:
    from bot.store.tickets import Ticket

    ticket = Ticket(
        id=1,
        reference="LLME-2026-000001",
        owner_ref="web:u",
        platform="web",
        status="pending",
        hub_id=None,
        destination="NCETM national Maths Hubs team",
        manual_routing=True,
        routing_reason="la_inferred",
        suggested_hub_id="surrey-plus",
        local_authority="Surrey",
        school_urn=None,
        school="Somewhere\r\nBcc: evil@example.org",
        programme=None,
        name="Eve",
        email="eve@example.org",
        role=None,
        question="Hello",
        idempotency_key="abc",
        created_at=T0,
        delivered_at=None,
        anonymised_at=None,
    )
    message = EnquiryMessage.of(ticket, knowledge)
    built = EmailChannel(Settings(smtp_from="Bot <bot@hubs.example.org>")).build(message, "n@example.org")
    assert str(built["Subject"]).startswith("[Manual routing] LLME-2026-000001")
    assert built["Bcc"] is None and built["Message-ID"] == "<abc@hubs.example.org>"
    assert "Surrey Plus Maths Hub" in message.plain()  # the suggestion helps whoever routes it


async def test_delivery_error_classification_is_exposed() -> None:
    assert DeliveryError("x").permanent is False
    assert DeliveryError("x", permanent=True).permanent is True


# -- through the web app ---------------------------------------------------------------------------


async def test_web_enquiry_email_arrives_at_the_hub(tmp_path: Path, enquiry_dir: Path) -> None:
    with LocalSmtp() as smtp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
            knowledge_dir=enquiry_dir,
            hub_routes={"sussex": HubRoute(email=SUSSEX_EMAIL)},
            enquiry_default_email="national@example.org",
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_timeout_seconds=5,
            outbox_poll_seconds=0.05,
        )
        async with TestClient(TestServer(create_app(settings))) as client:

            async def chat(**body: str) -> str:
                response = await client.post(
                    "/api/chat", json={"conversation_id": "c1", "user_id": "teacher-1", **body}
                )
                assert response.status == 200
                return "\n".join(r["text"] for r in (await response.json())["replies"])

            assert "Nothing is saved" in await chat(text="I'd like to talk to someone")
            await chat(action="flow:enquiry:consent:yes")
            await chat(text="Ada <Lovelace>")
            await chat(text="ada@example.org")
            await chat(action="flow:enquiry:role:1")
            await chat(text="Downland Test Academy")
            await chat(action="flow:enquiry:school:900001")
            await chat(action="flow:enquiry:programme:development-work-group")
            await chat(text="Wrong question")
            await chat(action="flow:enquiry:change")
            await chat(action="flow:enquiry:edit:question")
            summary = await chat(text="How many teachers can join the Work Group?")
            assert "Sussex Maths Hub" in summary and "Ada <Lovelace>" in summary  # JSON carries plain text
            confirmed = await chat(action="flow:enquiry:confirm")
            reference = find_reference(confirmed)
            assert reference is not None
            for _ in range(100):
                if smtp.messages:
                    break
                await asyncio.sleep(0.05)
            status = await chat(text=f"what's the status of {reference}?")
            found = await TicketStore(client.app[SERVICES].store).get(reference)
        [mail] = smtp.messages
    assert mail.rcpt_tos == [SUSSEX_EMAIL] and mail.reference == reference
    assert "How many teachers can join the Work Group?" in mail.part("plain")
    assert "Wrong question" not in mail.part("plain")
    assert "Ada &lt;Lovelace&gt;" in mail.part("html")
    assert found is not None and found[0].status == "delivered"
    assert reference in status and "delivered" in status


# -- a killed server -------------------------------------------------------------------------------


async def test_sigkill_after_confirm_then_restart_delivers_exactly_once(
    tmp_path: Path, enquiry_dir: Path
) -> None:
    smtp_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'killed.db'}",
        "KNOWLEDGE_DIR": str(enquiry_dir),
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "HUB_ROUTES": json.dumps({"sussex": {"email": SUSSEX_EMAIL}}),
        "ENQUIRY_DEFAULT_EMAIL": "national@example.org",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_TIMEOUT_SECONDS": "2",
        "WEBHOOK_TIMEOUT_SECONDS": "2",
        "OUTBOX_LEASE_SECONDS": "3",
        "OUTBOX_POLL_SECONDS": "0.1",
        "OUTBOX_BACKOFF_SECONDS": "0.2",
        "OUTBOX_BACKOFF_MAX_SECONDS": "0.5",
        "LOG_LEVEL": "WARNING",
    }
    server = Server(env, tmp_path)
    try:
        await server.start()
        async with aiohttp.ClientSession() as session:

            async def chat(**body: str) -> str:
                payload = {"conversation_id": "c1", "user_id": "teacher-9", **body}
                async with session.post(server.url + "/api/chat", json=payload) as response:
                    assert response.status == 200
                    return "\n".join(r["text"] for r in (await response.json())["replies"])

            await chat(text="talk to someone")
            await chat(action="flow:enquiry:consent:yes")
            await chat(text="Ada Lovelace")
            await chat(text="ada@example.org")
            await chat(action="flow:enquiry:role:0")
            await chat(text="Downland Test Academy")
            await chat(action="flow:enquiry:school:900001")
            await chat(action="flow:enquiry:programme:specialist-programme")
            await chat(text="Can we start in January?")
            confirmed = await chat(action="flow:enquiry:confirm")
        reference = find_reference(confirmed)
        assert reference is not None
        await server.kill()  # confirmed, not delivered (no SMTP server yet), and no clean shutdown

        with LocalSmtp(smtp_port) as smtp:
            await server.start()
            for _ in range(200):
                if smtp.messages:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # several more polls: nothing else may arrive
            await server.stop()
        assert [(m.reference, m.rcpt_tos) for m in smtp.messages] == [(reference, [SUSSEX_EMAIL])]
        assert "Can we start in January?" in smtp.messages[0].part("plain")
    finally:
        await server.stop()
