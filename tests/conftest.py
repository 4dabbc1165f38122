"""Shared fixtures: stores for every backend, a small fixed knowledge set, engines."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from bot.clock import ManualClock
from bot.store.sql import SqlStore
from knowledge.loader import DATA_DIR, Knowledge, load_knowledge

FIXTURES = Path(__file__).parent / "fixtures"
T = TypeVar("T")
# The moment every test starts at unless it sets its own: tests never read the wall clock, so the
# suite passes whatever the date (CI runs it under libfaketime at dates years apart).
T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when an event loop is already running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _pg_reachable() -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return _run(probe())


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end.

    In CI (CI=true) a missing PostgreSQL is a failure, not a skip.
    """
    if not _pg_reachable():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN} (required in CI)")
        pytest.skip("PostgreSQL not reachable")
    name = f"mastery_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    _run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> ManualClock:
    """The test's clock, at T0: the stores below read it, and so does everything using them."""
    return ManualClock(T0)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[SqlStore]:
    """The same store tests run against every backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        s = SqlStore(url, clock=clock)
        await s.open()
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        s = SqlStore(dsn, clock=clock)
        await s.open()
        await _truncate(s)
    yield s
    await s.close()


async def _truncate(store: SqlStore) -> None:
    from sqlalchemy import text

    from bot.store.schema import Base

    async with store.engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def memory_store(clock: ManualClock) -> AsyncIterator[SqlStore]:
    s = SqlStore("sqlite+aiosqlite://", clock=clock)
    await s.open()
    yield s
    await s.close()


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    """The real, packaged knowledge."""
    return load_knowledge(DATA_DIR)


@pytest.fixture(scope="session")
def small_knowledge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fixed knowledge set (real texts, test FAQ) so engine tests do not move with content."""
    target = tmp_path_factory.mktemp("knowledge")
    for name in ("sources.yaml", "texts.yaml", "lexicon.yaml"):
        shutil.copy(DATA_DIR / name, target / name)
    for name in ("programmes.yaml", "faq.yaml"):
        shutil.copy(FIXTURES / "knowledge" / name, target / name)
    return target


@pytest.fixture(scope="session")
def small_knowledge(small_knowledge_dir: Path) -> Knowledge:
    return load_knowledge(small_knowledge_dir)
