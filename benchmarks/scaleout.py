"""Scale-out throughput: messages per second through POST /api/chat, one vs two web processes.

    python -m benchmarks.scaleout [--requests 1000] [--concurrency 16] [--json]

In one run, as child processes (`python -m bot serve`, the worker disabled), each on a new database:
- 1 web process on SQLite (the embedded default)
- 1 web process on PostgreSQL
- 2 web processes on PostgreSQL, the client sending round-robin (as a load balancer would)

The client is one aiohttp session on loopback: a fixed number of requests at a fixed concurrency, most
to distinct conversations and every fifth to one of a few "hot" conversations that are therefore
handled by both processes in turn (serialised by the database's row lock). Latency is the whole HTTP
request. The packaged knowledge is used, so each message does a real FAQ match.

PostgreSQL: TEST_POSTGRES_DSN or --postgres-dsn (default postgresql://postgres@127.0.0.1:5432/test) is
an admin connection used to create one database per setup, dropped afterwards. Without PostgreSQL the
SQLite row is still measured. Every process and database is cleaned up, also on errors and Ctrl-C; every
setup is bounded by --requests and by --budget seconds.

The client, the servers and PostgreSQL share this machine's CPUs, so the numbers compare setups on one
machine; they are not a capacity figure for a deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import aiohttp

from benchmarks.stats import p99

ROOT = Path(__file__).parents[1]
QUESTIONS = (
    "Is the DWG free?",
    "how long does the specialist programme take?",
    "can an ECT join the development work group",
    "what is a maths hub?",
    "what is the capital of peru",
    "hello",
)
HOT_CONVERSATIONS = 4
SETUPS = (("SQLite", "sqlite", 1), ("PostgreSQL", "postgresql", 1), ("PostgreSQL", "postgresql", 2))


@dataclass
class Result:
    setup: str
    processes: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebProcess:
    """`python -m bot serve` on a loopback port; output to a log file."""

    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PORT": str(self.port)}
        self.log_path = logs / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    async def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "serve"),
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=self._log,
        )

    async def wait_healthy(self, session: aiohttp.ClientSession, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process is None or self.process.returncode is not None:
                raise RuntimeError(f"{self.name} exited during start-up:\n{self.tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(self.url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} was not healthy within {within:.0f}s:\n{self.tail()}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


class PostgresDatabases:
    """Creates uniquely named databases through an admin connection and drops them all at the end."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn.replace("postgresql+asyncpg://", "postgresql://")
        self.created: list[str] = []

    async def reachable(self) -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(self.admin_dsn, timeout=3)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    async def _admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin_dsn, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create(self) -> str:
        name = f"mastery_bench_{uuid.uuid4().hex[:12]}"
        await self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return f"postgresql+asyncpg://{self.admin_dsn.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"

    async def drop_all(self) -> None:
        for name in self.created:
            with contextlib.suppress(Exception):
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def request_body(n: int) -> dict[str, str]:
    """Request n goes to process n % processes. Every fifth goes to a hot conversation; as n alternates
    odd and even there, each hot conversation is handled by both processes in turn."""
    conversation = f"hot-{(n // 5) % HOT_CONVERSATIONS}" if n % 5 == 0 else f"c-{n}"
    text = QUESTIONS[n % len(QUESTIONS)]
    return {"conversation_id": conversation, "user_id": f"u-{conversation}", "text": text}


async def drive(
    session: aiohttp.ClientSession, urls: list[str], requests: int, concurrency: int, offset: int = 0
) -> tuple[list[float], int, float]:
    """Send `requests` requests with `concurrency` in flight; returns latencies, errors, seconds."""
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0

    async def one_client() -> None:
        nonlocal errors
        while (i := next(counter)) < requests:
            n = offset + i
            body = request_body(n)
            started = time.perf_counter()
            try:
                async with session.post(urls[n % len(urls)] + "/api/chat", json=body) as response:
                    payload = await response.json() if response.status == 200 else None
                failed = payload is None or any(r.get("kind") == "error" for r in payload["replies"])
            except (aiohttp.ClientError, TimeoutError, ValueError):
                failed = True
            latencies.append(time.perf_counter() - started)
            errors += failed

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


async def run_setup(
    label: str, backend: str, processes: int, args: argparse.Namespace, tmp: Path, pg: PostgresDatabases
) -> Result:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}"
    else:
        url = await pg.create()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HOST": "127.0.0.1",
        "RUN_WORKER_IN_WEB": "false",
        "MIGRATE_ON_START": "true",
        "WEB_RATE_LIMIT_PER_USER": "0",  # the hot conversations send far more than a person would
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": str(args.pool_size),
        "DB_MAX_OVERFLOW": str(args.max_overflow),
    }
    env.pop("KNOWLEDGE_DIR", None)  # the packaged knowledge
    webs = [WebProcess(f"{backend}-{processes}-{n}", env, tmp) for n in range(processes)]
    limits = aiohttp.TCPConnector(limit=args.concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with aiohttp.ClientSession(connector=limits, timeout=timeout) as session:
            for web in webs:
                await web.start()
            await asyncio.gather(*(w.wait_healthy(session, 60) for w in webs))
            urls = [w.url for w in webs]
            await drive(session, urls, args.warmup * processes, 2, offset=10**6)  # not measured
            try:
                async with asyncio.timeout(args.budget):
                    latencies, errors, seconds = await drive(session, urls, args.requests, args.concurrency)
            except TimeoutError:
                return Result(label, processes, 0, args.requests, args.budget, 0.0, 0.0, "budget exceeded")
    finally:
        await asyncio.gather(*(w.stop() for w in webs), return_exceptions=True)
    ordered = sorted(latencies)
    return Result(
        setup=label,
        processes=processes,
        requests=len(ordered),
        errors=errors,
        seconds=seconds,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=p99(ordered) * 1000,
    )


async def benchmark(args: argparse.Namespace) -> list[Result]:
    pg = PostgresDatabases(args.postgres_dsn)
    pg_ok = await pg.reachable()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="mastery-scaleout-") as tmp:
        try:
            for label, backend, processes in SETUPS:
                if backend == "postgresql" and not pg_ok:
                    results.append(Result(label, processes, 0, 0, 0.0, 0.0, 0.0, "PostgreSQL not reachable"))
                    continue
                results.append(await run_setup(label, backend, processes, args, Path(tmp), pg))
        finally:
            await pg.drop_all()
    return results


def table(results: list[Result], concurrency: int) -> str:
    header = f"{'setup':<12} {'processes':>9} {'requests':>8} {'msgs/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    header += f" {'errors':>6}"
    lines = [header, "-" * len(header)]
    for r in results:
        line = (
            f"{r.setup:<12} {r.processes:>9} {r.requests:>8} {r.per_second:>8.1f} "
            f"{r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {r.errors:>6}"
        )
        lines.append(line + (f"  ({r.note})" if r.note else ""))
    lines.append(f"concurrency {concurrency}; client, servers and database share {os.cpu_count()} CPU(s)")
    lines.append("load average after the run (1/5/15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per setup")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per process first")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds allowed per setup")
    parser.add_argument("--pool-size", type=int, default=5, help="DB_POOL_SIZE of each web process")
    parser.add_argument("--max-overflow", type=int, default=10, help="DB_MAX_OVERFLOW of each web process")
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
        help="admin connection used to create and drop the benchmark databases",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if not (1 <= args.requests <= 100_000 and 1 <= args.concurrency <= 256 and 0 <= args.warmup <= 1000):
        parser.error("--requests must be 1..100000, --concurrency 1..256, --warmup 0..1000")
    results = asyncio.run(benchmark(args))
    if args.json:
        print(json.dumps([{**asdict(r), "per_second": r.per_second} for r in results], indent=2))
    else:
        print(table(results, args.concurrency))
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
