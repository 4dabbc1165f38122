"""SQLAlchemy async store: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) when the URL says so."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, bindparam, cast, delete, event, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from bot.clock import SYSTEM_CLOCK, Clock
from bot.messages import ConversationKey
from bot.privacy import user_key
from bot.store.base import (
    ConversationSlot,
    FeedbackRecord,
    FeedbackSummary,
    PickRecord,
    SignalKind,
    SignalSummary,
    SuggestionReview,
    TranscriptEntry,
    UnansweredRecord,
    UnansweredSummary,
)
from bot.store.schema import (
    ConversationRow,
    EventClaimRow,
    FeedbackRow,
    InboundEventRow,
    PickRow,
    SuggestionRow,
    TranscriptRow,
    UnansweredRow,
)
from bot.store.tickets import SqlTicketSink, _rowcount, _utc

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

_RECORD_TABLES: dict[type, type[FeedbackRow] | type[UnansweredRow] | type[PickRow]] = {
    FeedbackRecord: FeedbackRow,
    UnansweredRecord: UnansweredRow,
    PickRecord: PickRow,
}


def normalise_url(url: str) -> str:
    """Accept the URLs hosts hand out (postgres://, postgresql://) and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///") or url == "sqlite://":
        url = "sqlite+aiosqlite" + url[len("sqlite") :]
    return url


class _KeyedLocks:
    """One asyncio.Lock per conversation in this process; released locks are dropped."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class _WriterQueue:
    """SQLite's one writer, queued in this process: FIFO, with urgent writers (a platform waiting for
    its acknowledgement) served before the others. Waiting here costs nothing; waiting inside SQLite's
    busy handler costs sleeps of up to 100 ms."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def hold(self, *, urgent: bool = False) -> AsyncIterator[None]:
        if self._held:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._normal).append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._release()  # handed the lock just as we were cancelled: pass it on
                else:
                    with contextlib.suppress(ValueError):
                        (self._urgent if urgent else self._normal).remove(waiter)
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the lock passes straight to the next writer
                    return
        self._held = False


class SqlStore:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        health_timeout: float = 2.0,
        echo: bool = False,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.clock = clock
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        self.health_timeout = health_timeout
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            memory = parsed.database in (None, "", ":memory:")
            kwargs["connect_args"] = {"timeout": 30}
            if memory:
                kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(
                pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout, pool_pre_ping=True
            )
            if self.dialect == "postgresql":
                kwargs["connect_args"] = {"timeout": connect_timeout}  # asyncpg: connecting, incl. TLS
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._locks = _KeyedLocks()
        self._writer = _WriterQueue()
        # Built once: every message runs these two, and building them costs more than running them.
        table = ConversationRow
        upsert = self._insert(table).values(
            key=bindparam("b_key"),
            platform=bindparam("b_platform"),
            user_ref=bindparam("b_user_ref"),
            version=0,
            state=None,
            created_at=bindparam("b_now"),
            updated_at=bindparam("b_now"),
        )
        self._claim_conversation = upsert.on_conflict_do_update(
            index_elements=["key"], set_={"key": upsert.excluded.key}
        ).returning(table.state)
        self._save_conversation = (
            update(table)
            .where(table.key == bindparam("b_key"))
            .values(state=bindparam("b_state"), version=bindparam("b_version"), updated_at=bindparam("b_now"))
        )

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> SqlStore:
        """The store as configured: DATABASE_URL with the DB_POOL_* and DB_*_TIMEOUT settings."""
        return cls(
            settings.database_url,
            clock=clock,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            connect_timeout=settings.db_connect_timeout,
            health_timeout=settings.db_health_timeout,
        )

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file (None for PostgreSQL or an in-memory database)."""
        if self.dialect != "sqlite":
            return None
        database = make_url(self.url).database
        return Path(database) if database and database != ":memory:" else None

    @property
    def description(self) -> str:
        """Which database this is, for logs and operators: the file, or the URL without a password."""
        path = self.sqlite_file
        if path is not None:
            return str(path)
        return make_url(self.url).render_as_string(hide_password=True)

    async def open(self) -> None:
        from bot.migrate import upgrade

        await upgrade(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> bool:
        """Can we run a query now? Within `health_timeout` seconds, however the database fails: refused,
        a host that never answers, or a pool without a free connection."""
        try:
            async with asyncio.timeout(self.health_timeout):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            return True
        except Exception:  # any driver error or the timeout means "not reachable"
            log.warning("database ping failed", exc_info=True)
            return False

    def session(self) -> AsyncSession:
        return self._sessions()

    @asynccontextmanager
    async def writing(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction. On SQLite it waits its turn in this process's writer
        queue (`urgent`: ahead of the rest); PostgreSQL takes row locks as it goes."""
        async with self._write_turn(urgent), self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def writing_core(self, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """`writing` for Core statements on a bare connection: less overhead on a hot path."""
        async with self._write_turn(urgent), self.engine.begin() as conn:
            yield conn

    def _write_turn(self, urgent: bool) -> contextlib.AbstractAsyncContextManager[None]:
        return self._writer.hold(urgent=urgent) if self.dialect == "sqlite" else contextlib.nullcontext()

    def _insert(self, table: Any) -> Any:
        return pg_insert(table) if self.dialect == "postgresql" else sqlite_insert(table)

    @asynccontextmanager
    async def conversation(self, key: ConversationKey) -> AsyncIterator[ConversationSlot]:
        key_str = key.as_str()
        # SQLite has one writer at a time: queueing writers here avoids its busy-wait sleeps, which
        # otherwise add hundreds of milliseconds under concurrent load. PostgreSQL locks per row.
        held = self._writer.hold() if self.dialect == "sqlite" else self._locks.hold(key_str)
        async with held, self.engine.begin() as conn:
            now = self.clock.now()
            # One statement creates the row if needed, locks it (PostgreSQL holds the row lock until
            # commit; SQLite takes the database write lock) and returns the saved state: two
            # processes handling the same conversation queue here.
            claim = {"b_key": key_str, "b_platform": key.platform, "b_user_ref": key.user_ref, "b_now": now}
            state = (await conn.execute(self._claim_conversation, claim)).scalar_one()
            slot = ConversationSlot(key=key, state=state, now=now, tickets=SqlTicketSink(conn, now))
            yield slot
            if slot.new_state is not None:
                version = int(slot.new_state.get("version", 0))
                await conn.execute(
                    self._save_conversation,
                    {"b_key": key_str, "b_state": slot.new_state, "b_version": version, "b_now": now},
                )
            # Each record type has a table whose columns are the record's fields plus where, whose
            # (a pseudonymous key, for erasure) and when.
            person = user_key(key.user_ref)
            for record_type, row in _RECORD_TABLES.items():
                values = [
                    {**dataclasses.asdict(r), "platform": key.platform, "user_key": person, "created_at": now}
                    for r in slot.records
                    if type(r) is record_type
                ]
                if values:
                    await conn.execute(insert(row), values)

    async def unanswered(self, limit: int = 50) -> list[UnansweredSummary]:
        count = func.count(UnansweredRow.id).label("n")
        stmt = (
            select(func.min(UnansweredRow.question), count, func.max(UnansweredRow.created_at))
            .group_by(UnansweredRow.normalised)
            .order_by(count.desc(), func.max(UnansweredRow.created_at).desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        return [UnansweredSummary(question=q, count=n, last_seen=last) for q, n, last in rows]

    async def feedback(self) -> list[FeedbackSummary]:
        up = func.sum(func.cast(FeedbackRow.helpful, type_=ConversationRow.version.type))
        stmt = select(FeedbackRow.faq_id, up, func.count(FeedbackRow.id)).group_by(FeedbackRow.faq_id)
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        return [
            FeedbackSummary(faq_id=faq_id, helpful=int(ups or 0), not_helpful=int(total) - int(ups or 0))
            for faq_id, ups, total in sorted(rows)
        ]

    async def signals(self) -> list[SignalSummary]:
        out: list[SignalSummary] = []
        queries: list[tuple[SignalKind, Any, Any, Any, Any]] = [
            ("pick", PickRow.faq_id, PickRow.question, PickRow.created_at, None),
            (
                "thumbs_down",
                FeedbackRow.faq_id,
                FeedbackRow.question,
                FeedbackRow.created_at,
                (FeedbackRow.helpful.is_(False)) & FeedbackRow.question.is_not(None),
            ),
            ("unanswered", None, UnansweredRow.question, UnansweredRow.created_at, None),
        ]
        async with self._sessions() as session:
            for kind, faq_id, question, created, where in queries:
                columns = [question, func.count(), func.min(created), func.max(created)]
                grouping = [question]
                if faq_id is not None:
                    columns.insert(0, faq_id)
                    grouping.insert(0, faq_id)
                stmt = select(*columns).group_by(*grouping)
                if where is not None:
                    stmt = stmt.where(where)
                for row in (await session.execute(stmt)).all():
                    values = list(row) if faq_id is not None else [None, *row]
                    faq, text_, count, first, last = values
                    out.append(SignalSummary(kind, faq, text_, int(count), first, last))
        return out

    async def reviews(self) -> dict[str, SuggestionReview]:
        async with self._sessions() as session:
            rows = (await session.execute(select(SuggestionRow))).scalars().all()
        return {
            r.id: SuggestionReview(
                id=r.id,
                kind=r.kind,
                status="accepted" if r.status == "accepted" else "rejected",
                faq_id=r.faq_id,
                wording=r.wording,
                decided_at=r.decided_at,
            )
            for r in rows
        }

    async def save_review(self, review: SuggestionReview) -> None:
        values = {
            "kind": review.kind,
            "status": review.status,
            "faq_id": review.faq_id,
            "wording": review.wording,
            "decided_at": review.decided_at,
        }
        stmt = self._insert(SuggestionRow).values(id=review.id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_=values)
        async with self.writing() as session:
            await session.execute(stmt)

    async def add_transcript(self, key: ConversationKey, entries: list[TranscriptEntry]) -> None:
        if not entries:
            return
        now = self.clock.now()
        key_str, user_ref = key.as_str(), key.user_ref
        values = [
            {"key": key_str, "user_ref": user_ref, "role": e.role, "body": e.body, "created_at": now}
            for e in entries
        ]
        async with self.writing_core() as conn:
            await conn.execute(insert(TranscriptRow), values)

    async def transcript(self, key: ConversationKey, limit: int = 100) -> list[TranscriptEntry]:
        row = TranscriptRow
        stmt = (
            select(row.role, row.body, row.created_at)
            .where(row.key == key.as_str())
            .order_by(row.id.desc())
            .limit(max(0, limit))
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            TranscriptEntry("user" if role == "user" else "bot", dict(body), _utc(created))
            for role, body, created in reversed(rows)
        ]

    async def erase_user(self, user_ref: str) -> int:
        """Everything `user_ref` typed that is kept here: conversations and their web transcripts,
        their unanswered questions, feedback and picks (found by the pseudonymous key), and their
        events still waiting to be answered. Returns how many rows went."""
        person = user_key(user_ref)
        platform_user = user_ref.rsplit(":", 1)[-1]
        gone = 0
        async with self.writing() as session:
            statements = [
                delete(ConversationRow).where(ConversationRow.user_ref == user_ref),
                delete(TranscriptRow).where(TranscriptRow.user_ref == user_ref),
                *(delete(row).where(row.user_key == person) for row in _RECORD_TABLES.values()),
            ]
            if platform_user:
                source = user_ref.split(":", 1)[0]
                statements.append(
                    delete(InboundEventRow).where(
                        InboundEventRow.source == source,
                        cast(InboundEventRow.payload, Text).like(
                            f'%"{_like_escape(platform_user)}"%', escape="\\"
                        ),
                    )
                )
            for statement in statements:
                result = await session.execute(statement)
                gone += _rowcount(result)
        return gone

    async def purge_learning(self, age: dt.timedelta) -> int:
        """Delete unanswered questions, feedback and picks older than `age` (data minimisation)."""
        cutoff = self.clock.now() - age
        gone = 0
        async with self.writing() as session:
            for row in _RECORD_TABLES.values():
                result = await session.execute(delete(row).where(row.created_at < cutoff))
                gone += _rowcount(result)
        if gone:
            log.info("learning_records_purged", extra={"count": gone})
        return gone

    async def purge_transcripts(self, age: dt.timedelta) -> int:
        """Delete web transcript messages older than `age`: a reload restores recent conversations
        only, and what people typed (names, emails in an enquiry) is not kept for ever."""
        cutoff = self.clock.now() - age
        async with self.writing() as session:
            result = await session.execute(delete(TranscriptRow).where(TranscriptRow.created_at < cutoff))
        gone = _rowcount(result)
        if gone:
            log.info("transcripts_purged", extra={"count": gone})
        return gone

    async def claim_event(self, source: str, event_id: str) -> bool:
        async with self.writing() as session:
            return await self.claim_event_in(session, source, event_id)

    async def claim_event_in(
        self, session: AsyncSession | AsyncConnection, source: str, event_id: str
    ) -> bool:
        """`claim_event` inside the caller's transaction (it commits or rolls back with the rest)."""
        # The primary key decides: exactly one INSERT wins, across processes, without a read first.
        stmt = (
            self._insert(EventClaimRow)
            .values(source=source, event_id=event_id[:255], created_at=self.clock.now())
            .on_conflict_do_nothing(index_elements=["source", "event_id"])
        )
        result = await session.execute(stmt)
        return _rowcount(result) == 1


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is durable across a crash of the process (what kill -9 tests); only a power
    # cut can take the last commits. PostgreSQL is the choice where that matters.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def open_for_operator(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> SqlStore | None:
    """The store an operator command reads, said on stderr; None (after saying why) when it would
    only be a new, empty SQLite file: run from another folder, a command must not invent a database."""
    store = SqlStore(settings.database_url, clock=clock)
    path = store.sqlite_file
    if path is not None and not path.exists():
        print(
            f"no database at {path}: run this where the bot runs, or set DATABASE_URL",
            file=sys.stderr,
        )
        await store.close()
        return None
    print(f"database: {store.description}", file=sys.stderr)
    await store.open()
    return store


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
