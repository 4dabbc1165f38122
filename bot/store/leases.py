"""Claiming due rows under a lease: one implementation for every work queue (outbox, inbound events).

PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, then UPDATE those ids, so concurrent workers pass over
each other's rows. SQLite: one conditional UPDATE (SQLite runs one writer at a time, so it is atomic).
The caller reads back what it took by the claim token it put in `values`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def claim_due(
    session: AsyncSession,
    dialect: str,
    row: Any,
    due: Any,
    order: Sequence[Any],
    limit: int,
    values: dict[str, Any],
) -> None:
    """Mark up to `limit` rows of `row` matching `due` (in `order`) with `values`, inside `session`'s
    transaction."""
    if dialect == "postgresql":
        ids = (
            (
                await session.execute(
                    select(row.id).where(due).order_by(*order).limit(limit).with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        if not ids:
            return
        chosen: Any = ids
    else:
        chosen = select(row.id).where(due).order_by(*order).limit(limit)
    claim = update(row).where(row.id.in_(chosen), due).values(**values)
    await session.execute(claim.execution_options(synchronize_session=False))
