"""Scale-out: several processes on one database.

- Migrations: processes that start together on an empty database (MIGRATE_ON_START) do not race.
- /healthz answers 503 within a bounded time when the database is down or hangs.
- PostgreSQL end to end: two `python -m bot serve` processes and two `python -m bot worker` processes on
  a fresh database; interleaved, concurrent messages for the same conversations through both servers;
  one worker SIGKILLed in the middle of an SMTP delivery; every ticket reaches a local SMTP server
  exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import itertools
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from bot.app import create_app
from bot.migrate import alembic_config
from bot.settings import Settings
from bot.store.schema import ConversationRow, OutboxJobRow, TicketRow, UnansweredRow
from bot.store.sql import SqlStore
from bot.store.tickets import find_reference
from tests.conftest import PG_ADMIN_DSN, _run
from tests.enquiry_fixtures import SUSSEX_EMAIL, make_enquiry_knowledge_dir
from tests.local_smtp import free_port

ROOT = Path(__file__).parents[1]
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
NOISE = "What is a Maths Hub?"  # an FAQ question: answered inside the enquiry flow, which then goes on
UNANSWERABLE = "what is the capital of peru"


@pytest.fixture
def fresh_database(postgres_dsn: str) -> Iterator[str]:
    """An empty PostgreSQL database of this test's own (postgres_dsn: skipped, or failed in CI, without
    PostgreSQL), dropped afterwards."""
    name = f"mastery_scale_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        _run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- processes -------------------------------------------------------------------------------------


class Proc:
    """`python -m bot ...` in a child process, its output in a log file (shown when a test fails)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = logs / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    async def start(self) -> Proc:
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", *self.args),
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=self._log,
        )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def exit_code(self, within: float) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), within)

    async def kill(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after a few seconds; always leaves no child behind."""
        if self.alive:
            assert self.process is not None
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                await self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 25) -> str:
        try:
            content = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return f"--- {self.name} ---\n" + "\n".join(content[-lines:])


async def wait_healthy(url: str, proc: Proc, within: float = 45.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        while time.monotonic() < deadline:
            if not proc.alive:
                raise AssertionError(f"{proc.name} exited during start-up\n{proc.tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{proc.name} was not healthy within {within}s\n{proc.tail()}")


# -- migrations ------------------------------------------------------------------------------------


async def _migrate_concurrently(url: str, tmp_path: Path, count: int) -> list[Proc]:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    procs = [Proc(f"migrate-{n}", ["migrate"], env, tmp_path) for n in range(count)]
    try:
        await asyncio.gather(*(p.start() for p in procs))
        codes = await asyncio.gather(*(p.exit_code(within=60) for p in procs))
    finally:
        for p in procs:
            await p.stop()
    assert codes == [0] * count, "\n".join(p.tail() for p in procs)
    return procs


async def test_processes_migrating_a_new_postgresql_database_together_do_not_race(
    fresh_database: str, tmp_path: Path
) -> None:
    await _migrate_concurrently(fresh_database, tmp_path, 4)
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == HEAD
        assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await conn.close()


async def test_processes_migrating_a_new_sqlite_file_together_do_not_race(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    await _migrate_concurrently(url, tmp_path, 3)
    store = SqlStore(url)
    try:
        async with store.engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        assert versions == [HEAD]
    finally:
        await store.close()


# -- /healthz --------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says anything: a database host that hangs."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError):
            await reader.read()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


async def _healthz(settings: Settings) -> tuple[int, dict[str, Any], float]:
    async with TestClient(TestServer(create_app(settings))) as client:
        started = time.monotonic()
        response = await client.get("/healthz")
        elapsed = time.monotonic() - started
        return response.status, await response.json(), elapsed


def _pg_settings(url: str, knowledge_dir: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=url,
        knowledge_dir=knowledge_dir,
        migrate_on_start=False,
        run_worker_in_web=False,
        **extra,
    )


async def test_healthz_is_503_within_the_health_timeout_when_the_database_hangs(
    small_knowledge_dir: Path,
) -> None:
    async with silent_server() as port:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/none"
        settings = _pg_settings(url, small_knowledge_dir, db_health_timeout=0.5, db_connect_timeout=20)
        status, body, elapsed = await _healthz(settings)
    assert (status, body["status"], body["database"]) == (503, "degraded", "unreachable")
    assert 0.4 < elapsed < 4.0  # the health timeout, not the 20 s connect timeout, decides


async def test_healthz_is_503_at_once_when_the_database_refuses(small_knowledge_dir: Path) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none"
    status, body, elapsed = await _healthz(_pg_settings(url, small_knowledge_dir))
    assert (status, body["database"]) == (503, "unreachable")
    assert elapsed < 4.0


async def test_healthz_is_200_on_postgresql(postgres_dsn: str, small_knowledge_dir: Path) -> None:
    status, body, _ = await _healthz(_pg_settings(postgres_dsn, small_knowledge_dir))
    assert (status, body["status"], body["database"]) == (200, "ok", "ok")


# -- two servers, two workers, one PostgreSQL ------------------------------------------------------


@dataclass
class Delivered:
    mail_from: str
    message: EmailMessage

    @property
    def reference(self) -> str:
        return str(self.message["X-Enquiry-Reference"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class SlowFirstHandler:
    """Accepts mail, but holds the first DATA for a long time: a worker can be killed mid-delivery.

    Like a real mail server, a message counts as received only once "250" is sent; when the client goes
    away first, aiosmtpd cancels the handler and the message is dropped (recorded as aborted).
    """

    hold_seconds: float = 30.0
    delivered: list[Delivered] = field(default_factory=list)
    aborted: list[Delivered] = field(default_factory=list)
    first_data: threading.Event = field(default_factory=threading.Event)
    first_from: str | None = None
    on_first_data: Callable[[], object] = lambda: None  # called from the SMTP server's thread
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        item = Delivered(str(envelope.mail_from), message)
        with self._lock:
            slow = not self.first_data.is_set()
            if slow:
                self.first_from = item.mail_from
                self.first_data.set()
        if slow:
            self.on_first_data()
            try:
                await asyncio.sleep(self.hold_seconds)
            except asyncio.CancelledError:
                self.aborted.append(item)
                raise
        self.delivered.append(item)
        return "250 Message accepted for delivery"


async def _chat(
    session: aiohttp.ClientSession, url: str, conversation: str, **body: str
) -> list[dict[str, Any]]:
    payload = {"conversation_id": conversation, "user_id": f"teacher-{conversation}", **body}
    async with session.post(url + "/api/chat", json=payload) as response:
        assert response.status == 200, await response.text()
        replies: list[dict[str, Any]] = (await response.json())["replies"]
    assert all(r["kind"] != "error" for r in replies), replies
    return replies


def _text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r["text"]) for r in replies)


# Each enquiry step: the message, and whether FAQ questions may arrive at the same time from the other
# server (true when both the step it answers and the next step answer a question from the FAQ and ask
# again, so the final state is the same whichever order the database serialises them in).
def enquiry_steps(n: int) -> list[tuple[dict[str, str], bool]]:
    return [
        ({"text": "I'd like to talk to someone"}, True),
        ({"action": "flow:enquiry:consent:yes"}, True),
        ({"text": f"Teacher Number{n}"}, True),
        ({"text": f"teacher{n}@example.org"}, True),
        ({"action": "flow:enquiry:role:0"}, True),
        ({"text": "Downland Test Academy"}, True),
        ({"action": "flow:enquiry:school:900001"}, False),
        ({"action": "flow:enquiry:programme:specialist-programme"}, False),
        ({"text": f"Question number {n}: can two of us join?"}, False),
        ({"action": "flow:enquiry:confirm"}, True),
    ]


async def test_two_servers_and_two_workers_on_postgresql(
    fresh_database: str, tmp_path: Path, small_knowledge_dir: Path
) -> None:
    (tmp_path / "knowledge").mkdir()
    enquiry_dir = make_enquiry_knowledge_dir(small_knowledge_dir, tmp_path / "knowledge")
    handler = SlowFirstHandler()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    base_env = {
        **os.environ,
        "DATABASE_URL": fresh_database,
        "MIGRATE_ON_START": "true",  # all four start on the empty database at once
        "KNOWLEDGE_DIR": str(enquiry_dir),
        "HOST": "127.0.0.1",
        "RUN_WORKER_IN_WEB": "false",
        "HUB_ROUTES": json.dumps({"sussex": {"email": SUSSEX_EMAIL}}),
        "ENQUIRY_DEFAULT_EMAIL": "national@example.org",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_TIMEOUT_SECONDS": "3",
        "WEBHOOK_TIMEOUT_SECONDS": "3",
        "OUTBOX_LEASE_SECONDS": "4",
        "OUTBOX_POLL_SECONDS": "0.1",
        "OUTBOX_BATCH_SIZE": "1",  # a killed worker has exactly one delivery in flight
        "OUTBOX_BACKOFF_SECONDS": "0.2",
        "OUTBOX_BACKOFF_MAX_SECONDS": "0.5",
        "DB_POOL_SIZE": "5",
        "DB_MAX_OVERFLOW": "10",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
    }
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    servers = [
        Proc(f"web-{n}", ["serve"], {**base_env, "PORT": str(p)}, tmp_path) for n, p in enumerate(ports)
    ]
    senders = {name: f"Outbox {name} <outbox-{name}@scaleout.test>" for name in ("a", "b")}
    workers = {
        name: Proc(f"worker-{name}", ["worker"], {**base_env, "SMTP_FROM": sender}, tmp_path)
        for name, sender in senders.items()
    }
    procs = [*servers, *workers.values()]
    killed: list[str] = []

    first_data = asyncio.Event()
    loop = asyncio.get_running_loop()
    handler.on_first_data = lambda: loop.call_soon_threadsafe(first_data.set)

    async def kill_the_worker_mid_delivery() -> None:
        """As soon as the first message is being received, SIGKILL the worker sending it."""
        await first_data.wait()
        name = next(n for n, s in senders.items() if f"outbox-{n}@" in (handler.first_from or ""))
        await workers[name].kill()
        killed.append(name)

    smtp.start()
    killer: asyncio.Task[None] | None = None
    try:
        await asyncio.gather(*(p.start() for p in procs))
        await asyncio.gather(*(wait_healthy(u, s) for u, s in zip(urls, servers, strict=True)))
        killer = asyncio.create_task(kill_the_worker_mid_delivery())
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            # 1. A burst for one conversation, spread over both servers at once: every message handled.
            burst = [NOISE, UNANSWERABLE] * 10
            results = await asyncio.gather(
                *(_chat(session, urls[i % 2], "burst", text=q) for i, q in enumerate(burst))
            )
            assert len(results) == 20

            # 2. Enquiries in four conversations at once; each step goes to the other server than the one
            # before, with FAQ questions for the same conversation arriving at the other server at the
            # same moment. A lost update (two processes acting on the same old state) would lose an
            # answer, and the flow would not reach a complete ticket.
            async def enquiry(n: int) -> str:
                conversation = f"enquiry-{n}"
                side = itertools.cycle((n % 2, 1 - n % 2))
                replies: list[dict[str, Any]] = []
                for body, noisy in enquiry_steps(n):
                    here = next(side)
                    calls = [_chat(session, urls[here], conversation, **body)]
                    if noisy:
                        calls += [_chat(session, urls[1 - here], conversation, text=NOISE) for _ in range(2)]
                    replies = (await asyncio.gather(*calls))[0]
                confirmed = _text(replies)
                reference = find_reference(confirmed)
                assert reference is not None, confirmed
                return reference

            references = await asyncio.gather(*(enquiry(n) for n in range(4)))
            assert len(set(references)) == 4

            # 3. Every ticket delivered once, even though one worker was killed while sending.
            for _ in range(300):  # the lease (4 s) runs out first, then the survivor delivers
                if len(handler.delivered) >= len(references):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.5)  # many more polls by the surviving worker: nothing else may arrive

            status = _text(await _chat(session, urls[1], "enquiry-0", text=f"status of {references[0]}?"))
            assert references[0] in status

        assert killed, "the first delivery never started"
        survivor = next(n for n in senders if n not in killed)
        assert workers[survivor].alive, workers[survivor].tail()
        assert all(s.alive for s in servers), "\n".join(s.tail() for s in servers)
        # Exactly once: one message per ticket, and no Message-ID (the idempotency key) twice.
        assert sorted(m.reference for m in handler.delivered) == sorted(references)
        assert len({m.message_id for m in handler.delivered}) == len(references)
        assert all(m.message["To"] == SUSSEX_EMAIL for m in handler.delivered)
        # The kill landed mid-delivery; after the lease the survivor sent that ticket.
        [aborted] = handler.aborted
        assert f"outbox-{killed[0]}@" in aborted.mail_from
        [redelivered] = [m for m in handler.delivered if m.message_id == aborted.message_id]
        assert f"outbox-{survivor}@" in redelivered.mail_from

        await _check_database(fresh_database, references, burst.count(UNANSWERABLE))
    finally:
        if killer is not None:
            killer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await killer
        await asyncio.gather(*(p.stop() for p in procs))
        smtp.stop()
        logs = "\n".join(p.tail(10) for p in procs)
        print(logs)  # shown by pytest when the test fails


async def _check_database(url: str, references: list[str], unanswerable: int) -> None:
    store = SqlStore(url)
    try:
        async with store.session() as session:
            tickets = {t.reference or "": t for t in (await session.execute(select(TicketRow))).scalars()}
            jobs = (await session.execute(select(OutboxJobRow))).scalars().all()
            rows = (await session.execute(select(ConversationRow.key, ConversationRow.state))).all()
            states: dict[str, Any] = {key: state for key, state in rows}
            unanswered = (
                await session.execute(
                    select(func.count(UnansweredRow.id)).where(UnansweredRow.question == UNANSWERABLE)
                )
            ).scalar_one()
    finally:
        await store.close()
    assert unanswered == unanswerable
    assert sorted(tickets) == sorted(references)
    assert {t.status for t in tickets.values()} == {"delivered"}
    assert {j.status for j in jobs} == {"delivered"} and len(jobs) == len(references)
    assert sorted(j.attempts for j in jobs) == [1] * (len(jobs) - 1) + [2]  # the killed worker's job
    owners = Counter(t.owner_ref for t in tickets.values())
    assert owners == Counter(f"web:teacher-enquiry-{n}" for n in range(len(references)))
    for ticket in tickets.values():
        n = ticket.owner_ref.removeprefix("web:teacher-enquiry-")
        assert (ticket.name, ticket.email, ticket.hub_id) == (
            f"Teacher Number{n}",
            f"teacher{n}@example.org",
            "sussex",
        )
        assert ticket.programme == "specialist-programme" and ticket.school_urn == "900001"
        assert ticket.question == f"Question number {n}: can two of us join?"
        state = states[f"web||teacher-enquiry-{n}|enquiry-{n}"]
        assert state is not None and state["flow"] is None  # the enquiry finished
