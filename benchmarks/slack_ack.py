"""Slack ack latency: signed requests to POST /slack/events at a fixed rate, on loopback.

    python -m benchmarks.slack_ack [--rate 200] [--seconds 10] [--json]

The real server (create_app: engine, SQLite store, every front end, INFO logging) runs in a child
process so the load generator does not share its event loop. Slack's Web API is MockSlack (from
tests/adapters/slack) in this process, answering every call at once. Requests are sent open-loop: one
every 1/rate seconds whatever the answers do, so a slow server cannot slow the load down and hide its
own latency (no coordinated omission).

"ack" is the HTTP round trip Slack sees: signature check, bolt's dispatch, our listener, the 200.
"reply" is from sending the request to the bot's Web API call arriving at the mock: the work done
after the ack (claim the event, engine turn with its database transaction, render, chat.* call).

Scenarios, each run for --seconds:
- url_verification   bolt's own answer: signature check and dispatch only (the floor)
- other bot's DM     an event we ignore after the ack
- DM question        a new question in a new conversation each time: the full path
- retried DM         Slack's retry (X-Slack-Retry-Num) of an event already handled: dropped by the claim
- button click       a choice pressed on one of our messages: chat.update, engine, chat.postMessage
- slash command      /mastery <question>: answered with chat.postEphemeral

Everything stays on 127.0.0.1 and every loop is bounded by --seconds x --rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.scaleout import PostgresDatabases
from benchmarks.stats import p99
from tests.adapters.slack.mock_slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    MockSlack,
    body_for,
    load,
    signed_headers,
)

TARGET_P99_MS = 50.0
QUESTIONS = (
    "Is the DWG free?",
    "how long does the specialist programme take?",
    "can an ECT join the development work group",
    "what is the capital of peru",
    "hello",
)


@dataclass
class Request:
    body: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    reply_channel: str | None = None  # the channel the bot's reply goes to, to time it


@dataclass
class Result:
    scenario: str
    rate: float
    requests: int
    errors: int
    ack_p50_ms: float
    ack_p99_ms: float
    ack_max_ms: float
    late_sends: int  # requests the generator sent more than 5 ms after their slot
    replies: int
    expected_replies: int
    reply_p50_ms: float | None
    reply_p99_ms: float | None
    replies_per_second: float | None  # how fast the work after the ack got done over the run

    @property
    def ack_ok(self) -> bool:
        return self.errors == 0 and self.ack_p99_ms < TARGET_P99_MS


# -- request makers --------------------------------------------------------------------------------
def _event(template: str, n: int, *, text: str | None = None) -> tuple[dict[str, Any], str]:
    payload: dict[str, Any] = load(template)
    channel = f"DB{n:08d}"
    payload["event_id"] = f"EvBench{template[:6]}{n:08d}"
    payload["event"].update(channel=channel, ts=f"1700000000.{n:06d}", event_ts=f"1700000000.{n:06d}")
    if text is not None:
        payload["event"]["text"] = text
    return payload, channel


def url_verification(n: int) -> Request:
    return Request(*body_for(load("url_verification.json")))


def other_bot(n: int) -> Request:
    payload, _ = _event("message_bot_message.json", n)
    return Request(*body_for(payload))


def dm_question(n: int) -> Request:
    payload, channel = _event("message_im.json", n, text=QUESTIONS[n % len(QUESTIONS)])
    payload["event"]["user"] = f"UB{n % 500:06d}"
    return Request(*body_for(payload), reply_channel=channel)


def retried_dm(n: int) -> Request:
    payload, _ = _event("message_im.json", n, text=QUESTIONS[n % len(QUESTIONS)])
    payload["event"]["user"] = f"UB{n % 500:06d}"  # the same events dm_question sent (and answered)
    return Request(
        *body_for(payload), headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )


def button_click(n: int) -> Request:
    payload: dict[str, Any] = load("block_actions.json")
    channel = f"DK{n:08d}"
    ts = f"1700000001.{n:06d}"
    payload["container"].update(channel_id=channel, message_ts=ts)
    payload["channel"]["id"] = channel
    payload["message"]["ts"] = ts
    payload["user"]["id"] = f"UK{n % 500:06d}"
    return Request(*body_for(payload), reply_channel=channel)


def slash_command(n: int) -> Request:
    fields = dict(urllib.parse.parse_qsl(load("slash_command.txt")))
    channel = f"CS{n:08d}"
    fields.update(channel_id=channel, user_id=f"US{n % 500:06d}", text=QUESTIONS[n % len(QUESTIONS)])
    return Request(*body_for(urllib.parse.urlencode(fields)), reply_channel=channel)


SCENARIOS: dict[str, Callable[[int], Request]] = {
    "url_verification": url_verification,
    "other bot's DM": other_bot,
    "DM question": dm_question,
    "retried DM": retried_dm,
    "button click": button_click,
    "slash command": slash_command,
}


# -- the run ---------------------------------------------------------------------------------------
async def run_scenario(
    session: aiohttp.ClientSession,
    url: str,
    mock: MockSlack,
    name: str,
    rate: float,
    seconds: float,
    first: int = 0,
    label: str | None = None,
) -> Result:
    make = SCENARIOS[name]
    total = max(1, int(rate * seconds))
    requests = [make(n) for n in range(first, first + total)]  # built before the clock starts
    acks: list[float] = []
    sent_at: dict[str, float] = {}
    errors = late = 0
    calls_before = len(mock.calls)

    async def send(request: Request, slot: float) -> None:
        nonlocal errors, late
        headers = {**signed_headers(request.body, content_type=request.content_type), **request.headers}
        started = time.perf_counter()
        if started - slot > 0.005:
            late += 1
        if request.reply_channel:
            sent_at[request.reply_channel] = started
        try:
            async with session.post(url, data=request.body.encode(), headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
        except aiohttp.ClientError:
            errors += 1
        acks.append(time.perf_counter() - started)

    tasks: list[asyncio.Task[None]] = []
    begin = time.perf_counter()
    for n, request in enumerate(requests):
        slot = begin + n / rate
        delay = slot - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(request, slot)))
    await asyncio.gather(*tasks)

    expected = sum(1 for r in requests if r.reply_channel)
    reply_methods = ("chat.postMessage", "chat.postEphemeral")
    # Wait for the backlog to drain: as long as replies keep arriving (at most 10 minutes).
    seen, stalled_since, give_up = -1, time.perf_counter(), time.perf_counter() + 600
    while time.perf_counter() < give_up:
        arrived = [c for c in mock.calls[calls_before:] if c.method in reply_methods]
        if len(arrived) >= expected:
            break
        if len(arrived) != seen:
            seen, stalled_since = len(arrived), time.perf_counter()
        elif time.perf_counter() - stalled_since > 15:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # anything that should not have been sent has had time to arrive
    arrived = [c for c in mock.calls[calls_before:] if c.method in reply_methods]
    replies = sorted(c.at - sent_at[c.args["channel"]] for c in arrived if c.args.get("channel") in sent_at)
    done = max((c.at for c in arrived), default=begin) - begin
    ordered = sorted(acks)
    return Result(
        scenario=label or name,
        rate=rate,
        requests=len(acks),
        errors=errors,
        ack_p50_ms=statistics.median(ordered) * 1000,
        ack_p99_ms=p99(ordered) * 1000,
        ack_max_ms=ordered[-1] * 1000,
        late_sends=late,
        replies=len(arrived),
        expected_replies=expected,
        reply_p50_ms=statistics.median(replies) * 1000 if replies else None,
        reply_p99_ms=p99(replies) * 1000 if replies else None,
        replies_per_second=len(arrived) / done if arrived and done > 0 else None,
    )


async def benchmark(
    rate: float, seconds: float, scenarios: list[str], postgres_dsn: str | None = None
) -> list[Result]:
    mock = MockSlack()
    await mock.start()
    pg = PostgresDatabases(postgres_dsn) if postgres_dsn else None
    database = await pg.create() if pg is not None else None
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.slack_ack",
            "--serve",
            str(port),
            "--api-url",
            mock.api_url,
            "--db",
            database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=Path(__file__).parents[1],
        )
        url = f"http://127.0.0.1:{port}/slack/events"
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                await _wait_until_up(session, f"http://127.0.0.1:{port}/healthz", server)
                for name in ("other bot's DM", "DM question"):  # warm-up: bolt's auth.test, first queries
                    await run_scenario(session, url, mock, name, rate=50, seconds=0.2, first=90_000_000)
                results: list[Result] = []
                for name in scenarios:
                    result = await run_scenario(session, url, mock, name, rate, seconds)
                    results.append(result)
                    if name == "DM question" and result.replies_per_second:
                        # The same traffic at 80% of the rate the engine kept up with: acks when the
                        # server is busy but not overloaded.
                        below = max(1.0, round(0.8 * min(result.replies_per_second, rate)))
                        label = "DM question, 80% of capacity"
                        again = await run_scenario(
                            session, url, mock, name, below, seconds, 10_000_000, label
                        )
                        results.append(again)
                return results
        finally:
            server.terminate()
            try:
                async with asyncio.timeout(15):
                    await server.wait()
            except TimeoutError:
                server.kill()
                await server.wait()
            await mock.stop()
            if pg is not None:
                await pg.drop_all()


async def _wait_until_up(
    session: aiohttp.ClientSession, url: str, server: asyncio.subprocess.Process
) -> None:
    for _ in range(1200):  # up to a minute: start-up loads and indexes the knowledge
        if server.returncode is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("the server did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, api_url: str, database_url: str) -> int:
    """The child process: the real app, configured for Slack against the mock API."""
    from aiohttp import web

    from bot import logs
    from bot.app import create_app
    from bot.settings import Settings

    settings = Settings(
        database_url=database_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=None,
        slack_api_url=api_url,
    )
    logs.configure("INFO", "json")  # production logging, to stderr (discarded by the parent)
    web.run_app(create_app(settings), host="127.0.0.1", port=port, print=None, access_log=None)
    return 0


# -- output ----------------------------------------------------------------------------------------
def table(results: list[Result], database: str = "SQLite") -> str:
    def ms(value: float | None) -> str:
        return f"{value:.1f}" if value is not None else "-"

    columns = [
        ("scenario", 29),
        ("req/s", 5),
        ("requests", 8),
        ("errors", 6),
        ("ack p50 ms", 10),
        ("ack p99 ms", 10),
        ("ack max ms", 10),
        ("p99 < 50", 8),
        ("replies", 9),
        ("replies/s", 9),
        ("reply p50 ms", 12),
        ("reply p99 ms", 12),
    ]
    lines = [
        "| " + " | ".join(f"{name:<{width}}" for name, width in columns) + " |",
        "|" + "|".join("-" * (width + 2) for _, width in columns) + "|",
    ]
    for r in results:
        cells = [
            r.scenario,
            f"{r.rate:.0f}",
            str(r.requests),
            str(r.errors),
            f"{r.ack_p50_ms:.2f}",
            f"{r.ack_p99_ms:.2f}",
            f"{r.ack_max_ms:.2f}",
            "yes" if r.ack_ok else "NO",
            f"{r.replies}/{r.expected_replies}",
            f"{r.replies_per_second:.0f}" if r.replies_per_second else "-",
            ms(r.reply_p50_ms),
            ms(r.reply_p99_ms),
        ]
        lines.append(
            "| "
            + " | ".join(
                f"{c:<{w}}" if i == 0 else f"{c:>{w}}"
                for i, (c, (_, w)) in enumerate(zip(cells, columns, strict=True))
            )
            + " |"
        )
    late = sum(r.late_sends for r in results)
    lines.append("")
    lines.append(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"server in a child process, {database}; target ack p99 < {TARGET_P99_MS:.0f} ms. "
        f"Sends > 5 ms late: {late}."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each scenario (default 10)")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS), help="run only these")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="postgresql://postgres@127.0.0.1:5432/test",
        help="run the server on a fresh PostgreSQL database made through this admin DSN (default: SQLite)",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve, args.api_url, args.db)
    if not (1 <= args.rate <= 2000 and 0.1 <= args.seconds <= 120):
        parser.error("--rate must be 1..2000 and --seconds 0.1..120")
    logging.disable(logging.WARNING)
    results = asyncio.run(benchmark(args.rate, args.seconds, args.scenario or list(SCENARIOS), args.postgres))
    if args.json:
        print(json.dumps([{**asdict(r), "ack_ok": r.ack_ok} for r in results], indent=2))
    else:
        print(table(results, "PostgreSQL" if args.postgres else "SQLite"))
    return 0 if all(r.ack_ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
