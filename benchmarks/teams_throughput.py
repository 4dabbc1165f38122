"""Teams throughput and latency through POST /api/messages (local mode), with the web chat as baseline.

    python -m benchmarks.teams_throughput [--requests 400] [--concurrency 1 8] [--json]

Runs the real server (create_app: engine, SQLite store, every front end) on 127.0.0.1 and a mock Bot
Connector on 127.0.0.1 that answers every reply the bot sends. Latency is the whole HTTP request as
Teams sees it: authentication (local mode: none), the SDK turn, the engine with its state transaction,
rendering, and the bot's own HTTP calls back to the connector, which the SDK makes before it answers.

Scenarios, each over many conversations so per-conversation locks do not serialise the run:
- web /api/chat        the same questions through the web chat JSON API (baseline: engine + HTTP only)
- teams message        personal-chat questions -> answer cards sent to the connector
- teams button         Action.Submit presses (feedback) -> thank-you cards
- teams ignored        channel chatter without a mention (adapter + SDK overhead, nothing sent)

All traffic stays on loopback and every loop is bounded by --requests.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from benchmarks.stats import p99
from bot.app import create_app
from bot.settings import Settings

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "teams"
QUESTIONS = (
    "Is the DWG free?",
    "how long does the specialist programme take?",
    "can an ECT join the development work group",
    "what is the capital of peru",
    "hello",
)
CONVERSATIONS = 64


@dataclass
class Result:
    scenario: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    sent: int  # activities the bot posted to the mock connector

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Connector:
    """A Bot Connector that accepts every activity."""

    def __init__(self) -> None:
        self.count = 0
        self.app = web.Application()
        self.app.router.add_post("/v3/conversations/{cid}/activities", self.accept)
        self.app.router.add_post("/v3/conversations/{cid}/activities/{rid}", self.accept)

    async def accept(self, request: web.Request) -> web.Response:
        await request.read()
        self.count += 1
        return web.json_response({"id": f"a{self.count}"})


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def teams_message(service_url: str) -> Callable[[int], tuple[str, dict[str, Any]]]:
    template = load("personal_message")

    def make(n: int) -> tuple[str, dict[str, Any]]:
        activity = json.loads(json.dumps(template))
        activity.update(id=f"m{n}", serviceUrl=service_url, text=QUESTIONS[n % len(QUESTIONS)])
        activity["conversation"]["id"] = f"a:bench-{n % CONVERSATIONS}"
        return "/api/messages", activity

    return make


def teams_button(service_url: str) -> Callable[[int], tuple[str, dict[str, Any]]]:
    template = load("card_submit")

    def make(n: int) -> tuple[str, dict[str, Any]]:
        activity = json.loads(json.dumps(template))
        verdict = "up" if n % 2 else "down"
        activity.update(id=f"b{n}", serviceUrl=service_url, value={"action": f"feedback:{verdict}:dwg-cost"})
        activity["conversation"]["id"] = f"a:bench-{n % CONVERSATIONS}"
        return "/api/messages", activity

    return make


def teams_ignored(service_url: str) -> Callable[[int], tuple[str, dict[str, Any]]]:
    template = load("channel_without_mention")

    def make(n: int) -> tuple[str, dict[str, Any]]:
        activity = json.loads(json.dumps(template))
        activity.update(id=f"i{n}", serviceUrl=service_url)
        return "/api/messages", activity

    return make


def web_chat(_service_url: str) -> Callable[[int], tuple[str, dict[str, Any]]]:
    def make(n: int) -> tuple[str, dict[str, Any]]:
        body = {
            "conversation_id": f"bench-{n % CONVERSATIONS}",
            "user_id": "u",
            "text": QUESTIONS[n % len(QUESTIONS)],
        }
        return "/api/chat", body

    return make


SCENARIOS = {
    "web /api/chat": web_chat,
    "teams message": teams_message,
    "teams button": teams_button,
    "teams ignored": teams_ignored,
}


async def run_scenario(
    session: aiohttp.ClientSession,
    base: str,
    name: str,
    make: Callable[[int], tuple[str, dict[str, Any]]],
    requests: int,
    concurrency: int,
    connector: Connector,
) -> Result:
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while (n := next(counter)) < requests:
            path, body = make(n)
            started = time.perf_counter()
            async with session.post(base + path, json=body) as response:
                await response.read()
                if response.status >= 300:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    sent_before = connector.count
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    return Result(
        scenario=name,
        concurrency=concurrency,
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=p99(ordered) * 1000,
        sent=connector.count - sent_before,
    )


async def start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def benchmark(requests: int, concurrencies: list[int], warmup: int) -> list[Result]:
    connector = Connector()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            microsoft_app_id=None,
            microsoft_app_password=None,
            web_rate_limit_per_user=0,  # one benchmark user sends far more than a person would
        )
        connector_runner, connector_url = await start(connector.app)
        app_runner, base = await start(create_app(settings))
        results: list[Result] = []
        try:
            limits = aiohttp.TCPConnector(limit=max(concurrencies) * 2)
            async with aiohttp.ClientSession(connector=limits) as session:
                for name, factory in SCENARIOS.items():
                    make = factory(connector_url + "/")
                    await run_scenario(session, base, name, make, warmup, 1, connector)
                    for concurrency in concurrencies:
                        result = await run_scenario(
                            session, base, name, make, requests, concurrency, connector
                        )
                        results.append(result)
        finally:
            await app_runner.cleanup()
            await connector_runner.cleanup()
    return results


def table(results: list[Result]) -> str:
    header = (
        f"{'scenario':<16} {'conc':>4} {'requests':>8} {'act/s':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'sent':>6} {'errors':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.scenario:<16} {r.concurrency:>4} {r.requests:>8} {r.per_second:>8.1f} "
            f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.sent:>6} {r.errors:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per scenario and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if (
        args.requests < 1
        or args.requests > 100_000
        or min(args.concurrency) < 1
        or max(args.concurrency) > 256
    ):
        parser.error("--requests must be 1..100000 and --concurrency 1..256")
    logging.disable(logging.WARNING)  # the per-message info logs would dominate the timing
    results = asyncio.run(benchmark(args.requests, args.concurrency, args.warmup))
    if args.json:
        print(json.dumps([{**asdict(r), "per_second": r.per_second} for r in results], indent=2))
    else:
        print(table(results))
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
