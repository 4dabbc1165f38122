"""Enquiry tickets and their outbox jobs, on the same engine and sessions as the conversation store.

Two halves:
- `SqlTicketSink` works inside a conversation's transaction (`slot.tickets`), so a ticket and its
  delivery jobs commit together with the conversation state, before the teacher sees the reference.
- `TicketStore` is for the outbox worker and operators: claim due jobs under a lease (several workers
  never take the same job), record the outcome, list/show/retry/export, erase and purge.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.clock import Clock
from bot.messages import ConversationKey
from bot.store.leases import claim_due
from bot.store.schema import ConversationRow, OutboxJobRow, TicketRow

if TYPE_CHECKING:
    from bot.store.sql import SqlStore

log = logging.getLogger(__name__)

REFERENCE = re.compile(r"\bLLME[\s-]*(\d{4})[\s-]*(\d{1,10})\b", re.IGNORECASE)
Channel = Literal["email", "webhook", "slack", "mailbox", "none"]
TicketState = Literal["pending", "delivered", "failed"]
ERASED_OWNER = "erased"


def format_reference(year: int, ticket_id: int) -> str:
    """LLME-<year>-<database id, at least 6 digits>: unique across processes because the id is."""
    return f"LLME-{year}-{ticket_id:06d}"


def find_reference(text: str) -> str | None:
    """The first reference in `text`, in canonical form ('llme 2026 123' -> 'LLME-2026-000123')."""
    match = REFERENCE.search(text)
    if match is None:
        return None
    return format_reference(int(match.group(1)), int(match.group(2)))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class DeliveryTarget:
    channel: Channel
    target: str  # email address, webhook URL, Slack channel id ('' for 'none')


@dataclass(frozen=True)
class NewTicket:
    owner_ref: str
    platform: str
    hub_id: str | None
    destination: str
    manual_routing: bool
    routing_reason: str
    suggested_hub_id: str | None
    local_authority: str | None
    school_urn: str | None
    school: str | None
    programme: str | None
    name: str
    email: str
    role: str | None
    question: str


@dataclass(frozen=True)
class Ticket:
    id: int
    reference: str
    owner_ref: str
    platform: str
    status: TicketState
    hub_id: str | None
    destination: str
    manual_routing: bool
    routing_reason: str
    suggested_hub_id: str | None
    local_authority: str | None
    school_urn: str | None
    school: str | None
    programme: str | None
    name: str | None
    email: str | None
    role: str | None
    question: str | None
    idempotency_key: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    anonymised_at: dt.datetime | None

    @classmethod
    def of(cls, row: TicketRow | Any) -> Ticket:
        """From an ORM row or a Core row (same attribute names)."""
        return cls(
            id=row.id,
            reference=row.reference or "",
            owner_ref=row.owner_ref,
            platform=row.platform,
            status=row.status,  # type: ignore[arg-type]
            hub_id=row.hub_id,
            destination=row.destination,
            manual_routing=row.manual_routing,
            routing_reason=row.routing_reason,
            suggested_hub_id=row.suggested_hub_id,
            local_authority=row.local_authority,
            school_urn=row.school_urn,
            school=row.school,
            programme=row.programme,
            name=row.name,
            email=row.email,
            role=row.role,
            question=row.question,
            idempotency_key=row.idempotency_key,
            created_at=_utc(row.created_at) or row.created_at,
            delivered_at=_utc(row.delivered_at),
            anonymised_at=_utc(row.anonymised_at),
        )


@dataclass(frozen=True)
class Job:
    id: int
    ticket_id: int
    channel: Channel
    target: str
    status: str  # pending | claimed | delivered | dead
    attempts: int
    next_attempt_at: dt.datetime
    claim_token: str | None
    last_error: str | None
    delivered_at: dt.datetime | None

    @classmethod
    def of(cls, row: OutboxJobRow) -> Job:
        return cls(
            id=row.id,
            ticket_id=row.ticket_id,
            channel=row.channel,  # type: ignore[arg-type]
            target=row.target,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=_utc(row.next_attempt_at) or row.next_attempt_at,
            claim_token=row.claim_token,
            last_error=row.last_error,
            delivered_at=_utc(row.delivered_at),
        )


@dataclass(frozen=True)
class ClaimedJob:
    job: Job
    ticket: Ticket


@dataclass(frozen=True)
class TicketStatus:
    """What the owner of a ticket may be told about it."""

    reference: str
    status: TicketState
    destination: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    retrying: bool = False  # still pending after at least one failed attempt


@dataclass(frozen=True)
class EraseResult:
    deleted: int
    anonymised: int


class TicketSink(Protocol):
    """Ticket writes inside a conversation's transaction (see `ConversationSlot.tickets`)."""

    async def create(self, ticket: NewTicket, targets: Sequence[DeliveryTarget]) -> str: ...

    async def status_for_owner(self, reference: str, owner_ref: str) -> TicketStatus | None: ...


class SqlTicketSink:
    """Core statements on the conversation's own connection and transaction (a session works too)."""

    def __init__(self, conn: AsyncConnection | AsyncSession, now: dt.datetime) -> None:
        self._conn = conn
        self._now = now  # the conversation's moment: the ticket is stamped with the message's time

    async def create(self, ticket: NewTicket, targets: Sequence[DeliveryTarget]) -> str:
        """Insert the ticket and one outbox job per target; returns the reference.

        Nothing is committed here: the conversation's transaction commits it with the new state.
        With no target configured, a 'none' job is kept so the ticket shows up as undeliverable.
        """
        now = self._now
        ticket_id = (
            await self._conn.execute(
                insert(TicketRow)
                .values(
                    owner_ref=ticket.owner_ref,
                    platform=ticket.platform,
                    status="pending",
                    hub_id=ticket.hub_id,
                    destination=ticket.destination,
                    manual_routing=ticket.manual_routing,
                    routing_reason=ticket.routing_reason,
                    suggested_hub_id=ticket.suggested_hub_id,
                    local_authority=ticket.local_authority,
                    school_urn=ticket.school_urn,
                    school=ticket.school,
                    programme=ticket.programme,
                    name=ticket.name,
                    email=ticket.email,
                    role=ticket.role,
                    question=ticket.question,
                    idempotency_key=uuid.uuid4().hex,
                    created_at=now,
                    updated_at=now,
                )
                .returning(TicketRow.id)
            )
        ).scalar_one()
        reference = format_reference(now.year, ticket_id)  # the database id makes it unique
        await self._conn.execute(
            update(TicketRow).where(TicketRow.id == ticket_id).values(reference=reference)
        )
        await self._conn.execute(
            insert(OutboxJobRow),
            [_job_values(ticket_id, target, now) for target in targets or (DeliveryTarget("none", ""),)],
        )
        log.info(
            "ticket_created",
            extra={"ticket_id": ticket_id, "hub_id": ticket.hub_id, "manual_routing": ticket.manual_routing},
        )
        return reference

    async def status_for_owner(self, reference: str, owner_ref: str) -> TicketStatus | None:
        tickets = TicketRow.__table__
        row = (
            await self._conn.execute(
                select(tickets).where(tickets.c.reference == reference, tickets.c.owner_ref == owner_ref)
            )
        ).one_or_none()
        if row is None:
            return None
        ticket = Ticket.of(row)
        jobs = OutboxJobRow.__table__
        tried = (
            await self._conn.execute(
                select(func.count())
                .select_from(jobs)
                .where(jobs.c.ticket_id == ticket.id, jobs.c.status != "delivered", jobs.c.attempts > 0)
            )
        ).scalar_one()
        return TicketStatus(
            ticket.reference,
            ticket.status,
            ticket.destination,
            ticket.created_at,
            ticket.delivered_at,
            retrying=ticket.status == "pending" and int(tried) > 0,
        )


def _job_values(ticket_id: int, target: DeliveryTarget, now: dt.datetime) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "channel": target.channel,
        "target": target.target,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def _new_job(ticket_id: int, target: DeliveryTarget, now: dt.datetime) -> OutboxJobRow:
    return OutboxJobRow(**_job_values(ticket_id, target, now))


def _due(now: dt.datetime) -> Any:
    """Pending and due, or claimed by a worker whose lease has run out (it crashed or hung)."""
    return or_(
        and_(OutboxJobRow.status == "pending", OutboxJobRow.next_attempt_at <= now),
        and_(OutboxJobRow.status == "claimed", OutboxJobRow.lease_until < now),
    )


class TicketStore:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    @property
    def clock(self) -> Clock:
        """The store's clock: claims, leases, retries and housekeeping read it, as ticket creation does."""
        return self._store.clock

    # -- worker --------------------------------------------------------------------------------
    async def claim(self, limit: int, lease: dt.timedelta) -> list[ClaimedJob]:
        """Take up to `limit` due jobs for this caller alone, until `now + lease`.

        Concurrent workers never share a job (bot/store/leases.py). Each claim counts as an attempt,
        so a job that keeps crashing workers still dead-letters.
        """
        now = self.clock.now()
        token = uuid.uuid4().hex
        claim = {
            "status": "claimed",
            "claim_token": token,
            "lease_until": now + lease,
            "attempts": OutboxJobRow.attempts + 1,
            "updated_at": now,
        }
        order = (OutboxJobRow.next_attempt_at, OutboxJobRow.id)
        async with self._store.writing() as session:
            await claim_due(session, self._store.dialect, OutboxJobRow, _due(now), order, limit, claim)
            rows = (
                await session.execute(
                    select(OutboxJobRow, TicketRow)
                    .join(TicketRow, TicketRow.id == OutboxJobRow.ticket_id)
                    .where(OutboxJobRow.claim_token == token)
                    .order_by(*order)
                )
            ).all()
        return [ClaimedJob(Job.of(job), Ticket.of(ticket)) for job, ticket in rows]

    async def complete(self, job: Job) -> bool:
        """Mark a claimed job delivered. False when the claim was lost (lease expired, ticket erased)."""
        now = self.clock.now()
        return await self._release(job, now, status="delivered", delivered_at=now, last_error=None)

    async def fail(self, job: Job, error: str, retry_in: dt.timedelta | None) -> bool:
        """Record a failed attempt: back to pending for `retry_in`, or dead-lettered when None."""
        now = self.clock.now()
        return await self._release(
            job,
            now,
            status="pending" if retry_in is not None else "dead",
            next_attempt_at=now + retry_in if retry_in is not None else now,
            last_error=error[:500],
        )

    async def _release(self, job: Job, now: dt.datetime, **values: Any) -> bool:
        """Give up a claim with the outcome in `values`, only if this worker still holds it."""
        async with self._store.writing() as session:
            result = await session.execute(
                update(OutboxJobRow)
                .where(OutboxJobRow.id == job.id, OutboxJobRow.claim_token == job.claim_token)
                .values(**values, lease_until=None, claim_token=None, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                return False
            await _refresh_ticket(session, job.ticket_id, now)
        return True

    # -- operators -----------------------------------------------------------------------------
    async def list_tickets(
        self, *, status: str | None = None, hub_id: str | None = None, limit: int = 100
    ) -> list[tuple[Ticket, list[Job]]]:
        stmt = select(TicketRow).order_by(TicketRow.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(TicketRow.status == status)
        if hub_id is not None:
            stmt = stmt.where(_hub_filter(hub_id))
        async with self._store.session() as session:
            tickets = [Ticket.of(r) for r in (await session.execute(stmt)).scalars().all()]
            jobs = await _jobs_for(session, [t.id for t in tickets])
        return [(t, jobs.get(t.id, [])) for t in tickets]

    async def get(self, reference: str) -> tuple[Ticket, list[Job]] | None:
        async with self._store.session() as session:
            row = (
                await session.execute(select(TicketRow).where(TicketRow.reference == reference))
            ).scalar_one_or_none()
            if row is None:
                return None
            jobs = await _jobs_for(session, [row.id])
        return Ticket.of(row), jobs.get(row.id, [])

    async def retry(self, reference: str, targets: Sequence[DeliveryTarget] = ()) -> int | None:
        """Put a ticket's dead (and waiting) jobs back in the queue now, with a fresh attempt count.

        A ticket stored while no channel was configured gets jobs for `targets` (today's routes).
        Returns how many jobs were queued, or None when there is no such ticket.
        """
        now = self.clock.now()
        async with self._store.writing() as session:
            row = (
                await session.execute(select(TicketRow).where(TicketRow.reference == reference))
            ).scalar_one_or_none()
            if row is None:
                return None
            jobs = (
                (await session.execute(select(OutboxJobRow).where(OutboxJobRow.ticket_id == row.id)))
                .scalars()
                .all()
            )
            unrouted = [j for j in jobs if j.channel == "none"]
            if unrouted and targets:
                for job in unrouted:
                    await session.delete(job)
                for target in targets:
                    session.add(_new_job(row.id, target, now))
            await session.flush()
            result = await session.execute(
                update(OutboxJobRow)
                .where(
                    OutboxJobRow.ticket_id == row.id,
                    OutboxJobRow.status.in_(("dead", "pending")),
                )
                .values(status="pending", attempts=0, next_attempt_at=now, last_error=None, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            await _refresh_ticket(session, row.id, now)
            ticket_id = row.id
        log.info("ticket_retry", extra={"ticket_id": ticket_id, "jobs": _rowcount(result)})
        return _rowcount(result)

    async def export(self, hub_id: str) -> list[Ticket]:
        """Every ticket routed to `hub_id` ('default' = the national route), oldest first."""
        async with self._store.session() as session:
            rows = (
                (await session.execute(select(TicketRow).where(_hub_filter(hub_id)).order_by(TicketRow.id)))
                .scalars()
                .all()
            )
        return [Ticket.of(r) for r in rows]

    # -- privacy -------------------------------------------------------------------------------
    async def erase_owner(self, owner_ref: str) -> EraseResult:
        """Delete a person's undelivered tickets; anonymise those already delivered to a hub.

        A delivered ticket keeps its reference, hub, programme, school, status and dates (for
        counting), and loses name, email, role, question and the link to the person. The hub's own
        copy is outside this system: the hub erases it on request.
        """
        now = self.clock.now()
        async with self._store.writing() as session:
            rows = (
                (await session.execute(select(TicketRow).where(TicketRow.owner_ref == owner_ref)))
                .scalars()
                .all()
            )
            deleted = anonymised = 0
            for row in rows:
                delivered_jobs = (
                    await session.execute(
                        select(func.count(OutboxJobRow.id)).where(
                            OutboxJobRow.ticket_id == row.id, OutboxJobRow.status == "delivered"
                        )
                    )
                ).scalar_one()
                # Jobs not yet delivered would only send an empty ticket now.
                await session.execute(
                    delete(OutboxJobRow).where(
                        OutboxJobRow.ticket_id == row.id, OutboxJobRow.status != "delivered"
                    )
                )
                if delivered_jobs:
                    row.name = row.email = row.role = row.question = None
                    row.owner_ref = ERASED_OWNER
                    row.anonymised_at = row.updated_at = now
                    row.status = "delivered"
                    anonymised += 1
                else:
                    await session.delete(row)
                    deleted += 1
        log.info("tickets_erased", extra={"deleted": deleted, "anonymised": anonymised})
        return EraseResult(deleted, anonymised)

    async def purge(self, age: dt.timedelta) -> int:
        """Delete delivered tickets delivered more than `age` ago (failed ones stay for operators)."""
        older_than = self.clock.now() - age
        async with self._store.writing() as session:
            ids = (
                (
                    await session.execute(
                        select(TicketRow.id).where(
                            TicketRow.status == "delivered",
                            func.coalesce(TicketRow.delivered_at, TicketRow.created_at) < older_than,
                        )
                    )
                )
                .scalars()
                .all()
            )
            if ids:
                await session.execute(delete(OutboxJobRow).where(OutboxJobRow.ticket_id.in_(ids)))
                await session.execute(delete(TicketRow).where(TicketRow.id.in_(ids)))
        if ids:
            log.info("tickets_purged", extra={"count": len(ids)})
        return len(ids)

    async def purge_learning(self, age: dt.timedelta) -> int:
        """The learning tables' retention (unanswered, feedback, picks): see SqlStore.purge_learning."""
        return await self._store.purge_learning(age)

    async def purge_transcripts(self, age: dt.timedelta) -> int:
        """The web transcripts' retention: see SqlStore.purge_transcripts."""
        return await self._store.purge_transcripts(age)

    async def discard_enquiry_drafts(self, age: dt.timedelta) -> int:
        """Clear unfinished enquiries (names, emails so far) from conversations idle for more than `age`."""
        older_than = self.clock.now() - age
        async with self._store.session() as session:
            rows = (
                await session.execute(
                    select(ConversationRow.key, ConversationRow.state).where(
                        ConversationRow.updated_at < older_than
                    )
                )
            ).all()
        keys = [key for key, state in rows if _enquiry_draft_since(state) is not None]
        cleared = 0
        for key in keys:
            platform, workspace, user_id, conversation_id = key.split("|", 3)
            async with self._store.conversation(
                ConversationKey(platform, workspace, user_id, conversation_id)
            ) as slot:
                since = _enquiry_draft_since(slot.state)
                if since is None or since >= older_than or slot.state is None:
                    continue  # finished or touched meanwhile
                slot.save({**slot.state, "flow": None, "choices": []})
                cleared += 1
        if cleared:
            log.info("enquiry_drafts_discarded", extra={"count": cleared})
        return cleared


def _enquiry_draft_since(state: Any) -> dt.datetime | None:
    """When an unfinished enquiry in a saved conversation state was last touched (None: there is none)."""
    flow = state.get("flow") if isinstance(state, dict) else None
    if not isinstance(flow, dict) or flow.get("name") != "enquiry":
        return None
    try:
        return _utc(dt.datetime.fromisoformat(str(flow.get("updated_at"))))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def _hub_filter(hub_id: str) -> Any:
    return TicketRow.hub_id.is_(None) if hub_id == "default" else TicketRow.hub_id == hub_id


async def _jobs_for(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, list[Job]]:
    if not ticket_ids:
        return {}
    rows = (
        (
            await session.execute(
                select(OutboxJobRow).where(OutboxJobRow.ticket_id.in_(ticket_ids)).order_by(OutboxJobRow.id)
            )
        )
        .scalars()
        .all()
    )
    out: dict[int, list[Job]] = {}
    for row in rows:
        out.setdefault(row.ticket_id, []).append(Job.of(row))
    return out


async def _refresh_ticket(session: AsyncSession, ticket_id: int, now: dt.datetime) -> None:
    """Derive the ticket's status from its jobs, under the ticket's row lock (jobs finish concurrently)."""
    row = (
        await session.execute(select(TicketRow).where(TicketRow.id == ticket_id).with_for_update())
    ).scalar_one_or_none()
    if row is None:
        return
    statuses = (
        (await session.execute(select(OutboxJobRow.status).where(OutboxJobRow.ticket_id == ticket_id)))
        .scalars()
        .all()
    )
    if statuses and all(s == "delivered" for s in statuses):
        status = "delivered"
    elif any(s == "dead" for s in statuses):
        status = "failed"
    else:
        status = "pending"
    if status != row.status:
        row.status = status
        row.updated_at = now
        if status == "delivered":
            row.delivered_at = now
        log.info("ticket_status", extra={"ticket_id": ticket_id, "status": status})


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
