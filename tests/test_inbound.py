"""The durable inbound queue (bot/store/inbound.py) on every backend: stored before the acknowledgement,
claimed once under a lease, taken over after a crash, duplicates recognised, bounded."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.clock import ManualClock
from bot.store.inbound import InboundQueue, QueueFull
from bot.store.sql import SqlStore

LEASE = dt.timedelta(seconds=30)


def payload(n: int) -> dict[str, object]:
    return {"body": {"event_id": f"Ev{n}", "text": f"question {n}"}}


async def test_an_event_is_claimed_once_answered_and_gone_when_done(store: SqlStore) -> None:
    queue = InboundQueue(store, "slack")
    assert await queue.put("event", payload(1), "Ev1") is not None
    [event] = await queue.claim(5, LEASE)
    assert event.payload == payload(1) and event.replies is None and event.attempts == 1
    assert await queue.claim(5, LEASE) == []  # leased to us
    assert await queue.answered(event, [{"text": "hi"}], {**event.payload, "reply": {}})
    assert await queue.waiting() == 1
    assert await queue.done(event)
    assert await queue.waiting() == 0 and await queue.claim(5, LEASE) == []


async def test_a_platform_retry_of_a_stored_event_is_a_duplicate(store: SqlStore) -> None:
    queue = InboundQueue(store, "slack")
    assert await queue.put("event", payload(1), "Ev1") is not None
    assert await queue.put("event", payload(1), "Ev1") is None
    [event] = await queue.claim(5, LEASE)
    await queue.done(event)
    assert await queue.put("event", payload(1), "Ev1") is None  # still known once handled
    assert await queue.put("command", payload(2), None) is not None  # no platform id: always stored


async def test_a_crashed_workers_event_is_taken_over_after_the_lease_with_its_replies(
    store: SqlStore, clock: ManualClock
) -> None:
    queue = InboundQueue(store, "slack")
    await queue.put("event", payload(1), "Ev1")
    [first] = await queue.claim(1, LEASE)
    await queue.answered(
        first, [{"text": "the answer"}], {**first.payload, "reply": {"to": {"channel": "D1"}}}
    )
    # ... and the process dies before posting.
    clock.advance(29)
    assert await queue.claim(1, LEASE) == []
    clock.advance(2)
    [again] = await queue.claim(1, LEASE)
    assert again.id == first.id and again.replies == [{"text": "the answer"}]  # post, don't ask again
    assert again.payload["reply"] == {"to": {"channel": "D1"}}
    assert await queue.done(first) is False  # the old claim no longer counts
    assert await queue.done(again)


async def test_a_failed_attempt_is_retried_at_once_and_dead_after_max_attempts(store: SqlStore) -> None:
    queue = InboundQueue(store, "slack", max_attempts=2)
    await queue.put("event", payload(1), "Ev1")
    for _ in range(2):
        [event] = await queue.claim(1, LEASE)
        await queue.release(event, "ConnectionError")
    assert await queue.claim(1, LEASE) == []  # a third claim would exceed max_attempts: dead
    assert await queue.waiting() == 0


async def test_concurrent_workers_never_share_an_event(store: SqlStore) -> None:
    queue = InboundQueue(store, "slack")
    for n in range(12):
        await queue.put("event", payload(n), f"Ev{n}")
    others = [SqlStore(store.url, clock=store.clock) for _ in range(3)]
    try:
        queues = [queue, *(InboundQueue(s, "slack") for s in others)]
        claims = await asyncio.gather(*(q.claim(2, LEASE) for q in queues for _ in range(2)))
    finally:
        for other in others:
            await other.close()
    ids = [e.id for claim in claims for e in claim]
    assert len(ids) == len(set(ids)) == 12


async def test_the_queue_is_bounded(store: SqlStore) -> None:
    queue = InboundQueue(store, "slack", max_open=3)
    for n in range(3):
        await queue.put("event", payload(n), f"Ev{n}")
    with pytest.raises(QueueFull):
        await queue.put("event", payload(9), "Ev9")
    [event] = await queue.claim(1, LEASE)
    await queue.done(event)
    assert await queue.put("event", payload(9), "Ev9") is not None  # room again
    assert await queue.waiting() == 3
