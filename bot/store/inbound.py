"""Durable inbound events: what a front end acknowledged and still has to answer.

A front end whose platform wants a fast acknowledgement (Slack: 3 seconds, and no resend once
acknowledged) writes the event here inside the request, then acknowledges. Workers (in any process)
claim due events under a lease, answer them, and mark them done, so a crash at any point after the
acknowledgement loses nothing:

    pending --claim--> claimed --engine answered--> answered --replies posted--> (deleted)
       ^                  |                            |
       +-- lease expires -+----------------------------+   (taken over by another worker)

An `answered` event keeps the replies, so a worker that takes over posts them rather than running the
engine a second time. An event that keeps failing is `dead` after `max_attempts` claims. An event with
a platform id is claimed in `event_claims` in the same transaction (the store's `claim_event` guard), so
a platform's retry of an event already taken is recognised, however long ago it was handled.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update

from bot.store.leases import claim_due
from bot.store.schema import InboundEventRow
from bot.store.tickets import _rowcount

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.store.sql import SqlStore

log = logging.getLogger(__name__)

OPEN = ("pending", "claimed", "answered")


@dataclass(frozen=True)
class InboundEvent:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    claim_token: str
    replies: list[Any] | None  # set once the engine has answered


class QueueFull(Exception):
    """More events are waiting than the queue may hold: the front end answers 503 (Slack retries)."""


class InboundQueue:
    def __init__(self, store: SqlStore, source: str, *, max_open: int = 5000, max_attempts: int = 5) -> None:
        self._store = store
        self.source = source
        self.max_open = max_open
        self.max_attempts = max_attempts
        self._open_count = 0
        self._counted_at: dt.datetime | None = None
        row = InboundEventRow
        self._insert = (  # built once: it runs for every event, inside the platform's request
            insert(row)
            .values(
                source=source,
                kind=bindparam("b_kind"),
                payload=bindparam("b_payload", type_=row.payload.type),
                status="pending",
                attempts=0,
                created_at=bindparam("b_now"),
                updated_at=bindparam("b_now"),
            )
            .returning(row.id)
        )

    @property
    def clock(self) -> Clock:
        return self._store.clock

    async def put(self, kind: str, payload: dict[str, Any], dedupe_key: str | None) -> int | None:
        """Store one event; its id, or None when the platform sent this event (`dedupe_key`) before.

        Raises QueueFull when `max_open` events are waiting (back-pressure instead of unbounded memory).
        This runs while the platform waits for its acknowledgement: Core statements, SQLite's writer
        queue jumped, and the queue's length read from the database at most once a second.
        """
        now = self.clock.now()
        if await self._open_events(now) >= self.max_open:
            raise QueueFull(f"more than {self.max_open} {self.source} events waiting")
        async with self._store.writing_core(urgent=True) as conn:
            if dedupe_key is not None and not await self._store.claim_event_in(conn, self.source, dedupe_key):
                return None
            values = {"b_kind": kind, "b_payload": payload, "b_now": now}
            event_id = (await conn.execute(self._insert, values)).scalar_one()
        self._open_count += 1
        return int(event_id)

    async def _open_events(self, now: dt.datetime) -> int:
        """How many events wait: counted at most once a second, and again whenever it looks full."""
        stale = self._counted_at is None or (now - self._counted_at).total_seconds() >= 1.0
        if stale or self._open_count >= self.max_open:
            self._open_count = await self.waiting()
            self._counted_at = now
        return self._open_count

    def _due(self, now: dt.datetime) -> Any:
        row = InboundEventRow
        return and_(
            row.source == self.source,
            or_(
                row.status == "pending",
                and_(row.status.in_(("claimed", "answered")), row.lease_until < now),
            ),
        )

    async def claim(self, limit: int, lease: dt.timedelta) -> list[InboundEvent]:
        """Take up to `limit` due events, oldest first, for this caller alone until `now + lease`."""
        now = self.clock.now()
        token = uuid.uuid4().hex
        row = InboundEventRow
        values = {
            "claim_token": token,
            "lease_until": now + lease,
            "attempts": row.attempts + 1,
            "updated_at": now,
            # An answered event stays answered: its replies are posted, the engine is not asked again.
            "status": func.coalesce(func.nullif(row.status, "pending"), "claimed"),
        }
        async with self._store.writing() as session:
            await claim_due(session, self._store.dialect, row, self._due(now), (row.id,), limit, values)
            rows = (
                (await session.execute(select(row).where(row.claim_token == token).order_by(row.id)))
                .scalars()
                .all()
            )
            events = []
            for r in rows:
                if r.attempts > self.max_attempts:
                    r.status, r.claim_token, r.lease_until = "dead", None, None
                    log.error(
                        "inbound_event_dead", extra={"source": self.source, "event": r.id, "kind": r.kind}
                    )
                    continue
                events.append(InboundEvent(r.id, r.kind, r.payload, r.attempts, token, r.replies))
        return events

    async def answered(self, event: InboundEvent, replies: list[Any], payload: dict[str, Any]) -> bool:
        """Keep the engine's replies (and how to post them, in `payload`) with the event, still ours
        to post. False if the claim was lost."""
        return await self._release(
            event, status="answered", replies=replies, payload=payload, keep_claim=True
        )

    async def done(self, event: InboundEvent) -> bool:
        """The event is fully handled: its row goes (the duplicate guard is its `event_claims` row)."""
        row = InboundEventRow
        async with self._store.writing() as session:
            result = await session.execute(
                delete(row).where(row.id == event.id, row.claim_token == event.claim_token)
            )
        return _rowcount(result) == 1

    async def release(self, event: InboundEvent, error: str) -> bool:
        """Give the event back after a failure: it is retried (by any worker) straight away."""
        status = "answered" if event.replies is not None else "pending"
        return await self._release(event, status=status, last_error=error[:500], keep_claim=False)

    async def _release(self, event: InboundEvent, *, keep_claim: bool, **values: Any) -> bool:
        row = InboundEventRow
        if not keep_claim:
            values.update(claim_token=None, lease_until=None)
        async with self._store.writing() as session:
            result = await session.execute(
                update(row)
                .where(row.id == event.id, row.claim_token == event.claim_token)
                .values(**values, updated_at=self.clock.now())
                .execution_options(synchronize_session=False)
            )
        return _rowcount(result) == 1

    async def waiting(self) -> int:
        row = InboundEventRow
        async with self._store.session() as session:
            count = (
                await session.execute(
                    select(func.count())
                    .select_from(row)
                    .where(row.source == self.source, row.status.in_(OPEN))
                )
            ).scalar_one()
        return int(count)
