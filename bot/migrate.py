"""Run the Alembic migrations in bot/migrations against an async engine (used at start-up and by the CLI)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
# PostgreSQL advisory lock key (any constant bigint; this one spells "mastmigr"). Processes that start
# together with MIGRATE_ON_START queue on it, so only one of them creates the schema at a time.
MIGRATION_LOCK_KEY = 0x6D6173746D696772


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with engine.begin() as conn:
        await _serialise(conn)
        await conn.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    async with engine.begin() as conn:
        await _serialise(conn)
        await conn.run_sync(run)


async def _serialise(conn: AsyncConnection) -> None:
    """One migrator at a time, across processes: take a lock before Alembic looks at the schema.

    The migration then runs in this same transaction (both databases have transactional DDL), so the
    lock is held until the new schema is committed, and a process that waited finds it up to date.
    PostgreSQL: a transaction-scoped advisory lock. SQLite: BEGIN IMMEDIATE takes the database's write
    lock at once (the driver would otherwise run each DDL statement in its own transaction, and two
    processes starting on a new file would both try to create the tables).
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
